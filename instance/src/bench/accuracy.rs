//! `hearth bench --accuracy`: what a hub can see at the size of real groups, through the code a
//! report really travels. Each simulated group has 8 members who consented; each member is burnt
//! out with the sector's true rate. The group's instance makes its report with `make_report`
//! (every signal, the least-noise level, the operating system's noise source), the hub checks it
//! with `WellbeingReport::validate`, and the sector's figure and interval come from
//! `sector::series`, the hub's own formula. A rise is "detected" when the hub's reading says the
//! interval excludes no change, as the sector page would.
//!
//! The pair path does what a hub pair does with the same groups: each group's exact counts are
//! split by `pair::shard`, both hubs check every report's proof (`pair::Verifier`), sum their
//! shares and add the plan's noise (`Accumulator::release`), and the released sums are read
//! with `Point::with_respondents_noise`. The same run prints what that costs (CPU per report
//! beside the `prio` crate's own calls for the same measurement; 10,000 reports for one period)
//! and the statistics of the released noise.

use std::collections::BTreeMap;

use std::time::Instant;

use hearth_core::CheckinAnswers;
use hearth_core::pair::{
    Accumulator, Dimension, HubRole, MAX_RESPONDENTS, MEASUREMENT_LEN, NONCE_LEN, PairPlan,
    PairReport, VERIFY_KEY_LEN, Verifier, shard, unshard,
};
use hearth_core::report::{Contribution, ReportPeriod, TrueCounts, make_report};
use hearth_core::sector::{GroupReport, MinGroups, Point, Series, Sums, Z95, series};
use hearth_core::sharing::{Cadence, PrivacyLevel, SharingSettings, Signal, SignalSet};
use hearth_federation::protocol::report::WellbeingReport;
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
    pub pair: BTreeMap<String, Accuracy>,
}

/// The plan the pair path runs: monthly, network and region, the least-noise level.
fn plan() -> PairPlan {
    PairPlan::new(
        Cadence::Month,
        vec![Dimension::Network, Dimension::Region],
        PrivacyLevel::Standard,
    )
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
    let (hub, mut reports) = (Url::parse("https://hub.example/actor")?, Vec::new());
    for g in 0..groups {
        let contributions = group_contributions(rate, period, rng)?;
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

/// One simulated group's exact counts for a month: `RESPONDENTS` members at `rate`.
/// One simulated group's check-ins for `period`: each of its members burnt out with
/// probability `rate`.
fn group_contributions(
    rate: f64,
    period: ReportPeriod,
    rng: &mut impl rand::Rng,
) -> anyhow::Result<Vec<Contribution>> {
    let week = period
        .weeks()
        .first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("a period without weeks"))?;
    (0..RESPONDENTS)
        .map(|m| {
            Ok(Contribution {
                member: m,
                week,
                answers: member_answers(rng.gen_bool(rate))?,
            })
        })
        .collect()
}

fn group_counts(
    rate: f64,
    period: ReportPeriod,
    rng: &mut impl rand::Rng,
) -> anyhow::Result<TrueCounts> {
    Ok(TrueCounts::of(&group_contributions(rate, period, rng)?))
}

fn nonce(rng: &mut impl rand::Rng) -> [u8; NONCE_LEN] {
    let mut n = [0; NONCE_LEN];
    rng.fill(&mut n);
    n
}

/// Both hubs' work on one batch: check every report, sum, add noise, release; then unshard.
fn aggregate(
    reports: &[PairReport],
    leader: &Verifier,
    helper: &Verifier,
    plan: &PairPlan,
) -> anyhow::Result<hearth_core::pair::PairSums> {
    let (mut a, mut b) = (Accumulator::default(), Accumulator::default());
    for r in reports {
        let l = leader.start(&r.nonce, &r.public_share, &r.leader_share)?;
        let h = helper.start(&r.nonce, &r.public_share, &r.helper_share)?;
        let (hc, message) = helper.decide(h, &l.verifier_share)?;
        a.add(&leader.finish(l, &message)?);
        b.add(&hc);
    }
    let n = a.reports();
    let mut os = rand::rngs::OsRng;
    Ok(unshard(
        &a.release(plan.sigma, &mut os),
        &b.release(plan.sigma, &mut os),
        n,
    )?)
}

fn verifiers() -> (Verifier, Verifier) {
    let mut key = [0; VERIFY_KEY_LEN];
    rand::Rng::fill(&mut rand::rngs::OsRng, &mut key);
    (
        Verifier::new(HubRole::Leader, key),
        Verifier::new(HubRole::Helper, key),
    )
}

/// What the released noise looked like: every value an integer by construction.
#[derive(Debug, Default)]
pub struct NoiseStats {
    pub draws: usize,
    pub mean: f64,
    pub variance: f64,
    pub expected_variance: f64,
}

/// `runs` simulated pairs of months through a hub pair, and the released noise's statistics.
pub fn simulate_pair(groups: usize, runs: usize) -> anyhow::Result<(Accuracy, NoiseStats)> {
    let plan = plan();
    let (leader, helper) = verifiers();
    let (before, after): (ReportPeriod, ReportPeriod) = ("2026-10".parse()?, "2026-11".parse()?);
    let mut rng = rand::rngs::OsRng;
    let v = plan.sum_variance();
    let (mut width, mut error, mut covered, mut detected, mut points) = (0.0, 0.0, 0, 0, 0);
    let (mut noise_sum, mut noise_sq, mut draws) = (0.0, 0.0, 0usize);
    for _ in 0..runs {
        let mut month_points = Vec::new();
        for (period, rate) in [(before, BASE_RATE), (after, RISEN_RATE)] {
            let mut reports = Vec::new();
            let (mut true_resp, mut true_burnout) = (0, 0);
            for _ in 0..groups {
                let counts = group_counts(rate, period, &mut rng)?;
                true_resp += counts.respondents();
                true_burnout += counts.get(Signal::Burnout)[0];
                reports.push(shard(&counts, SignalSet::all(), nonce(&mut rng))?);
            }
            let sums = aggregate(&reports, &leader, &helper, &plan)?;
            let count = sums.counts_of(Signal::Burnout)[0];
            for noise in [sums.respondents() - true_resp, count - true_burnout] {
                noise_sum += noise as f64;
                noise_sq += (noise as f64).powi(2);
                draws += 1;
            }
            let s = Sums {
                groups: u32::try_from(groups)?,
                respondents: sums.respondents_of(Signal::Burnout),
                count,
                noise_variance: v,
            };
            // The respondents behind burnout are a difference of two released sums.
            let p = Point::with_respondents_noise(period, s, 2.0 * v)
                .ok_or_else(|| anyhow::anyhow!("no respondents released"))?;
            month_points.push((p, rate));
        }
        for (p, truth) in &month_points {
            width += Z95 * p.variance.sqrt();
            error += p.share - truth;
            covered += usize::from(p.low <= *truth && *truth <= p.high);
            points += 1;
        }
        let [(a, _), (b, _)] = month_points.as_slice() else {
            anyhow::bail!("expected two months");
        };
        let d = b.share - a.share;
        detected += usize::from(d > 0.0 && d > Z95 * (a.variance + b.variance).sqrt());
    }
    let n = points as f64;
    let mean = noise_sum / draws as f64;
    Ok((
        Accuracy {
            half_width_points: 100.0 * width / n,
            mean_error_points: 100.0 * error / n,
            coverage: covered as f64 / n,
            detected: detected as f64 / runs as f64,
        },
        NoiseStats {
            draws,
            mean,
            variance: noise_sq / draws as f64 - mean * mean,
            expected_variance: v,
        },
    ))
}

/// What a pair report costs, beside the `prio` crate's own calls for the same measurement.
#[derive(Debug)]
pub struct Cost {
    pub shard_us: f64,
    pub prio_shard_us: f64,
    pub check_us: [f64; 2],
    pub prio_check_us: [f64; 2],
    /// Both hubs' whole work on 10,000 reports of one period, on this one machine.
    pub ten_thousand_s: f64,
}

fn prio_rates(reps: usize) -> anyhow::Result<(f64, [f64; 2])> {
    use prio::vdaf::prio3::{Prio3, optimal_chunk_length};
    use prio::vdaf::{Aggregator, Client};
    let bits = (u128::BITS - (MAX_RESPONDENTS as u128).leading_zeros()) as usize;
    let vdaf = Prio3::new_sum_vec(
        2,
        MAX_RESPONDENTS as u128,
        MEASUREMENT_LEN,
        optimal_chunk_length(bits * MEASUREMENT_LEN),
    )?;
    let m: Vec<u128> = (0..MEASUREMENT_LEN as u128).map(|i| i % 8).collect();
    let key = [7u8; 32];
    let ctx = b"bench";
    let mut shards = Vec::new();
    let t = Instant::now();
    for i in 0..reps {
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&(i as u64).to_le_bytes());
        shards.push((nonce, vdaf.shard(ctx, &m, &nonce)?));
    }
    let shard_us = t.elapsed().as_secs_f64() * 1e6 / reps as f64;
    let mut check = [0.0; 2];
    for (nonce, (public, inputs)) in &shards {
        let mut states = Vec::new();
        let mut shares = Vec::new();
        for (id, input) in inputs.iter().enumerate() {
            let t = Instant::now();
            let (st, sh) = vdaf.verify_init(&key, ctx, id, &(), nonce, public, input)?;
            check[id] += t.elapsed().as_secs_f64();
            states.push(st);
            shares.push(sh);
        }
        let t = Instant::now();
        let msg = vdaf.verifier_shares_to_message(ctx, &(), shares)?;
        check[1] += t.elapsed().as_secs_f64();
        for (id, st) in states.into_iter().enumerate() {
            let t = Instant::now();
            vdaf.verify_next(ctx, st, msg.clone())?;
            check[id] += t.elapsed().as_secs_f64();
        }
    }
    Ok((shard_us, check.map(|c| c * 1e6 / reps as f64)))
}

/// Times Hearth's sharding and checking beside prio's own, and a 10,000-report period.
pub fn cost(reps: usize) -> anyhow::Result<Cost> {
    let (prio_shard_us, prio_check_us) = prio_rates(reps)?;
    let mut rng = rand::rngs::OsRng;
    let period: ReportPeriod = "2026-10".parse()?;
    let counts = group_counts(BASE_RATE, period, &mut rng)?;
    let t = Instant::now();
    let reports = (0..reps)
        .map(|_| shard(&counts, SignalSet::all(), nonce(&mut rng)))
        .collect::<Result<Vec<_>, _>>()?;
    let shard_us = t.elapsed().as_secs_f64() * 1e6 / reps as f64;
    let (leader, helper) = verifiers();
    let mut check = [0.0; 2];
    for r in &reports {
        let t = Instant::now();
        let l = leader.start(&r.nonce, &r.public_share, &r.leader_share)?;
        check[0] += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let h = helper.start(&r.nonce, &r.public_share, &r.helper_share)?;
        let (_, message) = helper.decide(h, &l.verifier_share)?;
        check[1] += t.elapsed().as_secs_f64();
        let t = Instant::now();
        leader.finish(l, &message)?;
        check[0] += t.elapsed().as_secs_f64();
    }
    let many = (0..10_000)
        .map(|_| shard(&counts, SignalSet::all(), nonce(&mut rng)))
        .collect::<Result<Vec<_>, _>>()?;
    let t = Instant::now();
    aggregate(&many, &leader, &helper, &plan())?;
    Ok(Cost {
        shard_us,
        prio_shard_us,
        check_us: check.map(|c| c * 1e6 / reps as f64),
        prio_check_us,
        ten_thousand_s: t.elapsed().as_secs_f64(),
    })
}

/// Runs the table for 25 and 100 groups and prints it (or, with `json`, one object).
pub fn run(json: bool, runs: usize) -> anyhow::Result<AccuracyFigures> {
    let (mut single, mut pair, mut noise) = (BTreeMap::new(), BTreeMap::new(), Vec::new());
    for groups in [25, 100] {
        single.insert(groups.to_string(), simulate(groups, runs)?);
        let (a, n) = simulate_pair(groups, runs)?;
        pair.insert(groups.to_string(), a);
        noise.push((groups, n));
    }
    let cost = cost(2_000)?;
    let figures = AccuracyFigures { single, pair };
    let plan = plan();
    println!(
        "hearth bench --accuracy: groups of {RESPONDENTS}, burnout {:.0} % then {:.0} %, {runs} simulated pairs of months",
        BASE_RATE * 100.0,
        RISEN_RATE * 100.0
    );
    println!(
        "single: every group adds σ = {} (monthly, every signal, standard level); pair: each hub adds σ = {} to each sum (network and region released monthly, standard level)",
        SharingSettings {
            enabled: true,
            ..SharingSettings::default()
        }
        .sigma(),
        plan.sigma
    );
    println!(
        "{:<8} {:>7} {:>12} {:>12} {:>9} {:>9}",
        "path", "groups", "half-width", "mean error", "coverage", "detected"
    );
    for (path, table) in [("single", &figures.single), ("pair", &figures.pair)] {
        for (groups, a) in table {
            println!(
                "{:<8} {:>7} {:>9.1} pt {:>9.2} pt {:>9.3} {:>9.3}",
                path, groups, a.half_width_points, a.mean_error_points, a.coverage, a.detected
            );
        }
    }
    for (groups, n) in &noise {
        println!(
            "pair noise, {groups} groups: {} integer draws, mean {:+.2}, variance {:.1} (2σ² = {:.1}, ratio {:.3})",
            n.draws,
            n.mean,
            n.variance,
            n.expected_variance,
            n.variance / n.expected_variance
        );
    }
    println!(
        "pair cost per report: shard {:.1} µs (prio alone {:.1} µs, ratio {:.2}); leader check {:.1} µs (prio {:.1}, ratio {:.2}); helper check {:.1} µs (prio {:.1}, ratio {:.2})",
        cost.shard_us,
        cost.prio_shard_us,
        cost.shard_us / cost.prio_shard_us,
        cost.check_us[0],
        cost.prio_check_us[0],
        cost.check_us[0] / cost.prio_check_us[0],
        cost.check_us[1],
        cost.prio_check_us[1],
        cost.check_us[1] / cost.prio_check_us[1],
    );
    println!(
        "pair: 10,000 reports of one period checked, summed, noised and released by both hubs in {:.2} s (target ≤ 60 s)",
        cost.ten_thousand_s
    );
    if json {
        println!("{}", serde_json::to_string(&figures)?);
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

    /// The pair path, end to end through sharding, both hubs' checks and their noise.
    #[test]
    fn a_small_pair_simulation_runs_through_the_real_path() {
        let (a, n) = simulate_pair(12, 10).unwrap();
        assert!(a.half_width_points > 0.0 && a.half_width_points < 100.0);
        assert!(a.mean_error_points.abs() < 20.0, "{a:?}");
        assert_eq!(n.draws, 40);
        assert!(n.variance > 0.0);
    }
}
