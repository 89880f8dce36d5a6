//! `hearth bench --accuracy`: what a hub can see at the size of real groups, through the code a
//! report really travels. Each simulated group has 8 members who consented; each member is burnt
//! out with the sector's true rate. The group's instance makes its report with `make_report`
//! (every signal, the least-noise level, the operating system's noise source), the hub checks it
//! with `WellbeingReport::validate`, and the sector's figure and interval come from
//! `sector::series`, the hub's own formula. A rise is "detected" when the hub's reading says the
//! interval excludes no change, as the sector page would.
//!
//! Only the single-hub path exists so far; a hub pair (secure aggregation) is reported as absent.

use std::collections::BTreeMap;

use hearth_core::CheckinAnswers;
use hearth_core::report::{Contribution, ReportPeriod, make_report};
use hearth_core::sector::{GroupReport, MinGroups, Series, Z95, series};
use hearth_core::sharing::{SharingSettings, Signal};
use hearth_federation::protocol::report::WellbeingReport;
use rand::Rng;
use serde::Serialize;
use url::Url;

/// Respondents per simulated group: a typical user-led group's week.
const RESPONDENTS: i64 = 8;
/// The true burnout rate, and the rise a hub should see.
const BASE_RATE: f64 = 0.30;
const RISEN_RATE: f64 = 0.45;

/// One row of the accuracy table (points are percentage points).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Accuracy {
    pub half_width_points: f64,
    pub mean_error_points: f64,
    /// How often the 95 % interval held the true rate.
    pub coverage: f64,
    /// How often a 30 → 45 % rise between two months was read as beyond noise.
    pub detected: f64,
}

/// `--json`'s object: `single` and `pair`, each by number of groups.
#[derive(Debug, Serialize)]
pub struct AccuracyFigures {
    pub single: BTreeMap<String, Accuracy>,
    /// `None` until secure aggregation across a hub pair exists.
    pub pair: Option<BTreeMap<String, Accuracy>>,
}

fn member_answers(burnt_out: bool) -> anyhow::Result<CheckinAnswers> {
    // Everything but burnout is held at a plain middle answer: only burnout is measured here.
    let burnout = if burnt_out { 4 } else { 1 };
    Ok(CheckinAnswers::new([3; 5], burnout, 10, 4, 1, 2, None)?)
}

/// One month's network figure for `groups` groups at `rate`, and the series behind it.
fn month(
    groups: usize,
    rate: f64,
    period: ReportPeriod,
    settings: &SharingSettings,
    today: chrono::NaiveDate,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> anyhow::Result<Vec<GroupReport>> {
    let week = period
        .weeks()
        .first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("a period without weeks"))?;
    let (hub, mut reports) = (Url::parse("https://hub.example/actor")?, Vec::new());
    for g in 0..groups {
        let contributions = (0..RESPONDENTS)
            .map(|m| {
                Ok(Contribution {
                    member: m,
                    week,
                    answers: member_answers(rng.gen_bool(rate))?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let report = make_report(period, settings, &contributions, rng);
        let origin = format!("https://group-{g}.example");
        let wire = WellbeingReport::from_report(
            Url::parse(&format!("{origin}/reports/{period}"))?,
            Url::parse(&format!("{origin}/actor"))?,
            hub.clone(),
            &report,
        );
        let received = wire.validate(today)?;
        reports.push(GroupReport {
            group: i64::try_from(g)?,
            period,
            sigma: f64::from(u32::try_from(received.sigma_tenths)?) / 10.0,
            counts: received.counts.into_iter().collect(),
        });
    }
    Ok(reports)
}

fn burnout_network(s: &[Series]) -> Option<&Series> {
    let burnout = Signal::Burnout.measure()?;
    s.iter()
        .find(|s| s.measure == burnout && s.segment == hearth_core::sector::Segment::Network)
}

/// `runs` simulated pairs of months for a segment of `groups` groups.
pub fn simulate(groups: usize, runs: usize) -> anyhow::Result<Accuracy> {
    let settings = SharingSettings {
        enabled: true,
        ..SharingSettings::default()
    };
    let (before, after): (ReportPeriod, ReportPeriod) = ("2026-10".parse()?, "2026-11".parse()?);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap_or_default();
    let mut rng = rand::rngs::OsRng;
    let (mut width, mut error, mut covered, mut detected, mut points) = (0.0, 0.0, 0, 0, 0);
    for _ in 0..runs {
        let mut reports = month(groups, BASE_RATE, before, &settings, today, &mut rng)?;
        reports.extend(month(
            groups, RISEN_RATE, after, &settings, today, &mut rng,
        )?);
        let all = series(&reports, &BTreeMap::new(), MinGroups::default());
        let s =
            burnout_network(&all).ok_or_else(|| anyhow::anyhow!("no network burnout series"))?;
        let [a, b] = s.points.as_slice() else {
            anyhow::bail!("expected two months, got {}", s.points.len());
        };
        for (p, truth) in [(a, BASE_RATE), (b, RISEN_RATE)] {
            width += Z95 * p.variance.sqrt();
            error += p.share - truth;
            covered += usize::from(p.low <= truth && truth <= p.high);
            points += 1;
        }
        // The hub's reading: the rise is beyond noise when it exceeds 1.96 standard errors.
        let d = b.share - a.share;
        detected += usize::from(d > 0.0 && d > Z95 * (a.variance + b.variance).sqrt());
    }
    let n = points as f64;
    Ok(Accuracy {
        half_width_points: 100.0 * width / n,
        mean_error_points: 100.0 * error / n,
        coverage: covered as f64 / n,
        detected: detected as f64 / runs as f64,
    })
}

/// Runs the table for 25 and 100 groups and prints it (or, with `json`, one object).
pub fn run(json: bool, runs: usize) -> anyhow::Result<AccuracyFigures> {
    let mut single = BTreeMap::new();
    for groups in [25, 100] {
        single.insert(groups.to_string(), simulate(groups, runs)?);
    }
    let figures = AccuracyFigures { single, pair: None };
    if json {
        println!("{}", serde_json::to_string(&figures)?);
    } else {
        println!(
            "hearth bench --accuracy: groups of {RESPONDENTS}, burnout {:.0} % then {:.0} %, {runs} simulated pairs of months",
            BASE_RATE * 100.0,
            RISEN_RATE * 100.0
        );
        println!(
            "{:<8} {:>7} {:>12} {:>12} {:>9} {:>9}",
            "path", "groups", "half-width", "mean error", "coverage", "detected"
        );
        for (groups, a) in &figures.single {
            println!(
                "{:<8} {:>7} {:>9.1} pt {:>9.2} pt {:>9.3} {:>9.3}",
                "single", groups, a.half_width_points, a.mean_error_points, a.coverage, a.detected
            );
        }
        println!("pair     (no hub pair yet: secure aggregation is not built)");
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small enough to run in a test: the path works end to end and the figures are sane.
    #[test]
    fn a_small_simulation_runs_through_the_real_path() {
        let a = simulate(10, 20).unwrap();
        assert!(a.half_width_points > 0.0 && a.half_width_points < 100.0);
        assert!((0.0..=1.0).contains(&a.coverage) && (0.0..=1.0).contains(&a.detected));
        assert!(a.mean_error_points.abs() < 20.0, "{a:?}");
    }
}
