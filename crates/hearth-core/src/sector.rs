//! The sector's picture at a hub: pooled shares over member groups' noisy reports, with
//! intervals that carry both the privacy noise and sampling error, for the whole network and by
//! segment (region, community focus, size band), shown only where enough groups contribute.
//!
//! For one measure, segment and period, over the contributing groups i:
//! X = Σ xᵢ (noisy count with the trait), N = Σ nᵢ (noisy respondents), p̂ = X / N. Each noisy
//! count is its true value plus independent noise of known variance σᵢ², so
//! Var(noise in X) = Var(noise in N) = Σ σᵢ², and the respondents are treated as a sample of the
//! sector's people (binomial variance N·p(1−p)). By the delta method
//! Var(p̂) ≈ (N·p(1−p) + (1 + p²)·Σσᵢ²) / N², and the 95 % interval is p̂ ± 1.96·√Var(p̂),
//! clipped to [0, 1].

use std::collections::{BTreeMap, BTreeSet};

use crate::report::ReportPeriod;

/// The fewest groups a hub shows any figure for, and the default.
pub const MIN_GROUPS: u32 = 5;
/// z for a two-sided 95 % interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Shares and interval ends leave a hub (exports, summaries) rounded to whole percentage points:
/// a full-precision float hands back its numerator and denominator (261/520), which helps
/// anyone subtracting one segment from another.
pub fn published(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub use crate::signal::Measure;

/// A slice of the network.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    Network,
    Region(String),
    Focus(String),
    SizeBand(String),
}

impl Segment {
    /// `network`, `region:uk-north-west`, …: stable keys for exports and acknowledgements.
    pub fn key(&self) -> String {
        match self {
            Segment::Network => "network".into(),
            Segment::Region(r) => format!("region:{r}"),
            Segment::Focus(f) => format!("focus:{f}"),
            Segment::SizeBand(s) => format!("size:{s}"),
        }
    }
    pub fn parse(s: &str) -> Option<Segment> {
        if s == "network" {
            return Some(Segment::Network);
        }
        let (kind, value) = s.split_once(':')?;
        let value = value.to_owned();
        match kind {
            "region" => Some(Segment::Region(value)),
            "focus" => Some(Segment::Focus(value)),
            "size" => Some(Segment::SizeBand(value)),
            _ => None,
        }
    }
    /// In words: "the whole network", "North West", "peer support groups", "groups of 6–10".
    pub fn describe(&self) -> String {
        use crate::profile::{FOCUSES, REGIONS, SIZE_BANDS, label};
        match self {
            Segment::Network => "the whole network".into(),
            Segment::Region(r) => label(&REGIONS, r).unwrap_or(r.as_str()).to_owned(),
            Segment::Focus(f) => format!("{} groups", label(&FOCUSES, f).unwrap_or(f.as_str())),
            Segment::SizeBand(s) => {
                format!("groups of {}", label(&SIZE_BANDS, s).unwrap_or(s.as_str()))
            }
        }
    }
}

/// The coarse profile a group chose: what segments it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupProfile {
    pub region: Option<String>,
    pub focuses: Vec<String>,
    pub size_band: Option<String>,
}

impl GroupProfile {
    pub fn segments(&self) -> Vec<Segment> {
        let mut s = vec![Segment::Network];
        s.extend(self.region.clone().map(Segment::Region));
        s.extend(self.focuses.iter().cloned().map(Segment::Focus));
        s.extend(self.size_band.clone().map(Segment::SizeBand));
        s
    }
}

/// One received report, as the hub holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupReport {
    pub group: i64,
    pub period: ReportPeriod,
    pub sigma: f64,
    /// Noisy counts by stored name (`respondents`, `burnout`, …).
    pub counts: BTreeMap<String, i64>,
}

/// Sums over the groups contributing to one point. Kept so rollups can add them up later.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sums {
    pub groups: u32,
    pub respondents: i64,
    pub count: i64,
    /// Σ σᵢ²: the noise variance of each of the two sums.
    pub noise_variance: f64,
}

impl Sums {
    pub fn add(&mut self, respondents: i64, count: i64, sigma: f64) {
        self.groups += 1;
        self.respondents += respondents;
        self.count += count;
        self.noise_variance += sigma * sigma;
    }
}

/// A pooled share with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub period: ReportPeriod,
    pub sums: Sums,
    pub share: f64,
    /// Variance of the share (noise and sampling).
    pub variance: f64,
    pub low: f64,
    pub high: f64,
}

impl Point {
    /// The share and interval from sums, or `None` when the noisy respondents are too few to
    /// divide by (only possible in a segment of very small groups).
    pub fn from_sums(period: ReportPeriod, sums: Sums) -> Option<Point> {
        Point::with_respondents_noise(period, sums, sums.noise_variance)
    }
    /// The same where the respondents' sum carries other noise than the count's (a hub pair's
    /// respondents behind a signal are the difference of two released sums):
    /// Var(p̂) ≈ (N·p(1−p) + Var(noise in X) + p²·Var(noise in N)) / N².
    pub fn with_respondents_noise(
        period: ReportPeriod,
        sums: Sums,
        respondents_variance: f64,
    ) -> Option<Point> {
        if sums.respondents < 1 {
            return None;
        }
        let n = sums.respondents as f64;
        let p = (sums.count as f64 / n).clamp(0.0, 1.0);
        let variance =
            (n * p * (1.0 - p) + sums.noise_variance + p * p * respondents_variance) / (n * n);
        let half = Z95 * variance.sqrt();
        Some(Point {
            period,
            sums,
            share: p,
            variance,
            low: (p - half).max(0.0),
            high: (p + half).min(1.0),
        })
    }
}

/// One measure in one segment over time, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub segment: Segment,
    pub measure: Measure,
    pub points: Vec<Point>,
}

/// The smallest number of groups a segment or period needs before anything of it is shown.
/// Never below [`MIN_GROUPS`]: a hub may raise it, not lower it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MinGroups(u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the minimum number of groups must be a whole number from {MIN_GROUPS} to 1000")]
pub struct BadMinGroups;

impl MinGroups {
    pub fn new(m: i64) -> Result<Self, BadMinGroups> {
        u32::try_from(m)
            .ok()
            .filter(|m| (MIN_GROUPS..=1000).contains(m))
            .map(MinGroups)
            .ok_or(BadMinGroups)
    }
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for MinGroups {
    fn default() -> Self {
        MinGroups(MIN_GROUPS)
    }
}

/// The sums for every (segment, measure, period) the reports touch, before any hiding.
pub fn sums(
    reports: &[GroupReport],
    profiles: &BTreeMap<i64, GroupProfile>,
) -> BTreeMap<(Segment, Measure, ReportPeriod), Sums> {
    let mut out: BTreeMap<(Segment, Measure, ReportPeriod), Sums> = BTreeMap::new();
    for r in reports {
        let Some(&respondents) = r.counts.get(crate::signal::RESPONDENTS) else {
            continue;
        };
        let segments = profiles
            .get(&r.group)
            .map(GroupProfile::segments)
            .unwrap_or_else(|| vec![Segment::Network]);
        for m in Measure::all() {
            let Some(&count) = r.counts.get(m.slug()) else {
                continue;
            };
            for s in &segments {
                out.entry((s.clone(), m, r.period))
                    .or_default()
                    .add(respondents, count, r.sigma);
            }
        }
    }
    out
}

/// Every series with at least `min` groups behind each point shown; segments with no such
/// point are left out entirely. The whole network comes first, then segments by key.
pub fn series(
    reports: &[GroupReport],
    profiles: &BTreeMap<i64, GroupProfile>,
    min: MinGroups,
) -> Vec<Series> {
    series_from_sums(&sums(reports, profiles), min)
}

/// [`series`] from sums already added up (a rollup).
pub fn series_from_sums(
    sums: &BTreeMap<(Segment, Measure, ReportPeriod), Sums>,
    min: MinGroups,
) -> Vec<Series> {
    let mut by: BTreeMap<(Segment, Measure), Vec<Point>> = BTreeMap::new();
    for ((segment, measure, period), s) in sums {
        if s.groups < min.get() {
            continue;
        }
        if let Some(p) = Point::from_sums(*period, *s) {
            by.entry((segment.clone(), *measure)).or_default().push(p);
        }
    }
    by.into_iter()
        .map(|((segment, measure), mut points)| {
            points.sort_by_key(|p| p.period);
            Series {
                segment,
                measure,
                points,
            }
        })
        .collect()
}

/// The groups behind each (segment, period).
pub type SegmentGroups = BTreeMap<(Segment, ReportPeriod), BTreeSet<i64>>;

/// `series` without the segments whose groups are, period by period, the same as an earlier
/// segment's (network first): "peer support groups" that are the whole network is the whole
/// network shown again, and a page of repeats hides what differs.
pub fn distinct_segments(series: Vec<Series>, groups: &SegmentGroups) -> Vec<Series> {
    let signature = |seg: &Segment| -> Vec<(ReportPeriod, &BTreeSet<i64>)> {
        groups
            .iter()
            .filter(|((s, _), _)| s == seg)
            .map(|((_, p), g)| (*p, g))
            .collect()
    };
    let mut kept = Vec::new();
    let mut dropped = BTreeSet::new();
    for seg in shown_segments(&series) {
        let sig = signature(&seg);
        if !sig.is_empty() && kept.contains(&sig) {
            dropped.insert(seg);
        } else {
            kept.push(sig);
        }
    }
    series
        .into_iter()
        .filter(|s| !dropped.contains(&s.segment))
        .collect()
}

/// What a hub shows of its own reports (pages, exports, summaries alike): every series with
/// at least m groups behind each point, each segment once, and no two figures that differ by
/// fewer than m groups.
pub fn shown_series(
    sums: &BTreeMap<(Segment, Measure, ReportPeriod), Sums>,
    groups: &SegmentGroups,
    min: MinGroups,
) -> Vec<Series> {
    suppress_differences(
        distinct_segments(series_from_sums(sums, min), groups),
        groups,
        min,
    )
}

/// Secondary suppression: no combination of the figures shown for a period, with any weights,
/// may depend on 1 to m − 1 groups alone, or adding and subtracting them gives away those few
/// groups' sums (the network minus a region holding all but one group is that one group's
/// report; so is the network minus two focuses that leave one group in neither). The test is
/// exact over every weighting (`disclosure::isolating_combination`). Each violation hides, of the
/// figures the combination uses, the most specific one (fewest groups, never the network),
/// until none is left.
pub fn suppress_differences(
    series: Vec<Series>,
    groups: &SegmentGroups,
    min: MinGroups,
) -> Vec<Series> {
    let m = min.get() as usize;
    let periods: BTreeSet<ReportPeriod> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.period))
        .collect();
    let mut hidden: BTreeSet<(Segment, ReportPeriod)> = BTreeSet::new();
    for period in periods {
        let empty = BTreeSet::new();
        let set = |s: &Segment| groups.get(&(s.clone(), period)).unwrap_or(&empty);
        let mut shown: Vec<Segment> = series
            .iter()
            .filter(|s| s.points.iter().any(|p| p.period == period))
            .map(|s| s.segment.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        while let Some(victim) = violation(&shown, &set, m) {
            shown.retain(|s| *s != victim);
            hidden.insert((victim, period));
        }
    }
    series
        .into_iter()
        .map(|mut s| {
            s.points
                .retain(|p| !hidden.contains(&(s.segment.clone(), p.period)));
            s
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// The figure to hide next among `shown`, if some combination of them isolates a few groups.
fn violation<'a>(
    shown: &[Segment],
    set: &impl Fn(&Segment) -> &'a BTreeSet<i64>,
    m: usize,
) -> Option<Segment> {
    let rows: Vec<&BTreeSet<i64>> = shown.iter().map(set).collect();
    let found = crate::disclosure::isolating_combination(&rows, m)?;
    let specific = |it: &mut dyn Iterator<Item = &Segment>| {
        it.filter(|s| **s != Segment::Network)
            .min_by_key(|s| set(s).len())
            .cloned()
    };
    specific(&mut found.rows.iter().map(|&i| &shown[i])).or_else(|| specific(&mut shown.iter()))
}

/// Segments that have at least one point shown, network first.
pub fn shown_segments(series: &[Series]) -> Vec<Segment> {
    let set: BTreeSet<Segment> = series.iter().map(|s| s.segment.clone()).collect();
    set.into_iter().collect()
}

/// How the latest point compares with the one before, in words that say whether noise could
/// explain it: "burnout share rose from 31% to 38% in the North West; the interval excludes no
/// change".
pub fn reading(s: &Series) -> Option<String> {
    let [.., a, b] = s.points.as_slice() else {
        return None;
    };
    let d = b.share - a.share;
    let se = (a.variance + b.variance).sqrt();
    let pct = |x: f64| format!("{:.0}%", x * 100.0);
    let verb = if d > 0.0 {
        "rose"
    } else if d < 0.0 {
        "fell"
    } else {
        "stayed"
    };
    let place = match &s.segment {
        Segment::Network => "across the network".to_owned(),
        Segment::Region(_) => format!("in {}", s.segment.describe()),
        other => format!("among {}", other.describe()),
    };
    let verdict = if d.abs() > Z95 * se {
        "the interval excludes no change"
    } else {
        "within what noise and sampling can explain"
    };
    Some(if verb == "stayed" {
        format!(
            "{} stayed at {} {place} from {} to {}",
            capitalise(s.measure.label()),
            pct(b.share),
            a.period.human_label(),
            b.period.human_label()
        )
    } else {
        format!(
            "{} {verb} from {} to {} {place} ({} to {}); {verdict}",
            capitalise(s.measure.label()),
            pct(a.share),
            pct(b.share),
            a.period.human_label(),
            b.period.human_label()
        )
    })
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over 200 random networks of small groups, no two figures shown for a period differ by 1 to
    /// m − 1 groups, no partition's shown cells leave 1 to m − 1 groups of the network, and no
    /// weighting of all of them isolates a few groups (checked by removing each small set).
    #[test]
    fn no_shown_figures_differ_by_fewer_than_m_groups() {
        use rand::{Rng, SeedableRng};
        let m = MinGroups::default();
        let period: ReportPeriod = "2026-11".parse().unwrap();
        let measure = Measure::all().next().unwrap();
        for seed in 0..200u64 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut groups = SegmentGroups::new();
            for g in 0..rng.gen_range(5..40i64) {
                let mut segments = vec![Segment::Network];
                if rng.gen_bool(0.9) {
                    segments.push(Segment::Region(format!("r{}", rng.gen_range(0..4))));
                }
                segments.push(Segment::SizeBand(format!("s{}", rng.gen_range(0..3))));
                for f in 0..4 {
                    if rng.gen_bool(0.4) {
                        segments.push(Segment::Focus(format!("f{f}")));
                    }
                }
                for s in segments {
                    groups.entry((s, period)).or_default().insert(g);
                }
            }
            let series: Vec<Series> = groups
                .iter()
                .filter(|(_, g)| g.len() >= m.get() as usize)
                .map(|((segment, p), g)| Series {
                    segment: segment.clone(),
                    measure,
                    points: vec![
                        Point::from_sums(
                            *p,
                            Sums {
                                groups: g.len() as u32,
                                respondents: 8 * g.len() as i64,
                                count: g.len() as i64,
                                noise_variance: 1.0,
                            },
                        )
                        .unwrap(),
                    ],
                })
                .collect();
            let before = series.iter().any(|s| s.segment == Segment::Network);
            let shown = suppress_differences(distinct_segments(series, &groups), &groups, m);
            let segs: Vec<&Segment> = shown.iter().map(|s| &s.segment).collect();
            assert_eq!(
                segs.contains(&&Segment::Network),
                before,
                "the network is never hidden"
            );
            let set = |s: &Segment| groups.get(&(s.clone(), period)).unwrap();
            let rows: Vec<&BTreeSet<i64>> = segs.iter().map(|s| set(s)).collect();
            assert_eq!(
                crate::disclosure::isolating_combination(&rows, 5),
                None,
                "seed {seed}"
            );
            for (i, a) in segs.iter().enumerate() {
                for b in &segs[i + 1..] {
                    let d = set(a).symmetric_difference(set(b)).count();
                    assert!(
                        d == 0 || d >= 5,
                        "seed {seed}: {a:?} and {b:?} differ by {d}"
                    );
                }
            }
            if before {
                let all = set(&Segment::Network);
                for region in [true, false] {
                    let covered: BTreeSet<i64> = segs
                        .iter()
                        .filter(|s| {
                            if region {
                                matches!(s, Segment::Region(_))
                            } else {
                                matches!(s, Segment::SizeBand(_))
                            }
                        })
                        .flat_map(|s| set(s).iter().copied())
                        .collect();
                    if !covered.is_empty() {
                        let rest = all.difference(&covered).count();
                        assert!(rest == 0 || rest >= 5, "seed {seed}: {rest} groups left");
                    }
                }
            }
        }
    }

    /// A segment whose groups are another's, period by period, is not shown again.
    #[test]
    fn segments_with_the_same_groups_are_shown_once() {
        let period: ReportPeriod = "2026-11".parse().unwrap();
        let point = Point::from_sums(
            period,
            Sums {
                groups: 6,
                respondents: 50,
                count: 10,
                noise_variance: 1.0,
            },
        )
        .unwrap();
        let series = |segment: Segment| Series {
            segment,
            measure: Measure::all().next().unwrap(),
            points: vec![point],
        };
        let focus = Segment::Focus("peer-support".into());
        let region = Segment::Region("uk-north-west".into());
        let all: BTreeSet<i64> = (1..=6).collect();
        let mut groups = SegmentGroups::new();
        groups.insert((Segment::Network, period), all.clone());
        groups.insert((focus.clone(), period), all);
        groups.insert((region.clone(), period), (1..=5).collect());
        let shown = distinct_segments(
            vec![
                series(Segment::Network),
                series(focus),
                series(region.clone()),
            ],
            &groups,
        );
        let segments: Vec<Segment> = shown.into_iter().map(|s| s.segment).collect();
        assert_eq!(segments, vec![Segment::Network, region]);
    }

    #[test]
    fn published_shares_are_whole_percentage_points() {
        assert_eq!(published(0.501_923_076_923_076_9), 0.50);
        assert_eq!(published(0.125), 0.13);
        assert_eq!(published(1.0), 1.0);
        assert_eq!(published(0.0), 0.0);
        // Rounding keeps an interval's order.
        let (lo, p, hi) = (0.234, 0.2349, 0.236);
        assert!(published(lo) <= published(p) && published(p) <= published(hi));
    }
    use crate::noise::{Sigma, discrete_gaussian};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn burnout() -> Measure {
        crate::signal::Signal::Burnout.measure().unwrap()
    }

    fn month(m: u32) -> ReportPeriod {
        ReportPeriod::Month {
            year: 2026,
            month: m,
        }
    }

    fn report(group: i64, period: ReportPeriod, n: i64, burnout: i64) -> GroupReport {
        GroupReport {
            group,
            period,
            sigma: 6.5,
            counts: [
                ("respondents".to_owned(), n),
                ("burnout".to_owned(), burnout),
            ]
            .into_iter()
            .collect(),
        }
    }

    fn profiles(n: i64) -> BTreeMap<i64, GroupProfile> {
        (0..n)
            .map(|g| {
                (
                    g,
                    GroupProfile {
                        region: Some(
                            if g % 2 == 0 {
                                "uk-north-west"
                            } else {
                                "uk-london"
                            }
                            .into(),
                        ),
                        focuses: vec!["peer-support".into()],
                        size_band: None,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn fewer_than_m_groups_show_nothing() {
        let reports: Vec<GroupReport> = (0..6).map(|g| report(g, month(10), 10, 3)).collect();
        let s = series(&reports, &profiles(6), MinGroups::default());
        // Network and peer support have 6 groups; each region only 3.
        let keys: Vec<String> = shown_segments(&s).iter().map(Segment::key).collect();
        assert_eq!(keys, vec!["network", "focus:peer-support"]);
        assert!(
            s.iter()
                .all(|x| x.points.iter().all(|p| p.sums.groups >= 5))
        );
        let s = series(&reports[..4], &profiles(6), MinGroups::default());
        assert!(s.is_empty());
        assert!(MinGroups::new(4).is_err());
        assert_eq!(
            series(&reports, &profiles(6), MinGroups::new(7).unwrap()),
            vec![]
        );
    }

    #[test]
    fn the_interval_widens_with_noise() {
        let s = Sums {
            groups: 5,
            respondents: 50,
            count: 10,
            noise_variance: 0.0,
        };
        let quiet = Point::from_sums(month(1), s).unwrap();
        let noisy = Point::from_sums(
            month(1),
            Sums {
                noise_variance: 5.0 * 42.25,
                ..s
            },
        )
        .unwrap();
        assert!((quiet.share - 0.2).abs() < 1e-12);
        assert!((quiet.variance - 0.2 * 0.8 / 50.0).abs() < 1e-12);
        assert!(noisy.high - noisy.low > quiet.high - quiet.low);
        assert!(
            Point::from_sums(
                month(1),
                Sums {
                    respondents: 0,
                    ..s
                }
            )
            .is_none()
        );
    }

    /// Synthetic sectors of known truth: the 95 % intervals cover the true pooled share about
    /// 95 % of the time, noise and sampling included.
    #[test]
    fn intervals_cover_the_truth_about_as_often_as_they_claim() {
        let mut rng = StdRng::seed_from_u64(95);
        let sigma = Sigma::from_tenths(65).unwrap();
        let truth = 0.3;
        let runs = 2_000;
        let mut covered = 0;
        for _ in 0..runs {
            let mut reports = Vec::new();
            for g in 0..20 {
                // Each group's people are a sample from a sector where 30 % are burnt out.
                let n: i64 = rng.gen_range(6..=15);
                let k: i64 = (0..n).filter(|_| rng.gen_bool(truth)).count() as i64;
                reports.push(report(
                    g,
                    month(1),
                    n + discrete_gaussian(&mut rng, sigma),
                    k + discrete_gaussian(&mut rng, sigma),
                ));
            }
            let s = series(&reports, &BTreeMap::new(), MinGroups::default());
            let p = s[0].points[0];
            covered += usize::from(p.low <= truth && truth <= p.high);
        }
        let rate = covered as f64 / runs as f64;
        eprintln!("95% intervals covered the truth in {covered} of {runs} runs ({rate:.3})");
        assert!((0.93..=0.975).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn readings_say_whether_noise_could_explain_a_change() {
        let mk = |share: f64, m: u32| {
            Point::from_sums(
                month(m),
                Sums {
                    groups: 100,
                    respondents: 1_000,
                    count: (share * 1_000.0) as i64,
                    noise_variance: 100.0 * 42.25,
                },
            )
            .unwrap()
        };
        let s = Series {
            segment: Segment::Region("uk-north-west".into()),
            measure: burnout(),
            points: vec![mk(0.2, 9), mk(0.45, 10)],
        };
        let r = reading(&s).unwrap();
        assert!(
            r.starts_with("Burnout share rose from 20% to 45% in North West (England)"),
            "{r}"
        );
        assert!(r.ends_with("the interval excludes no change"), "{r}");
        let s = Series {
            points: vec![mk(0.2, 9), mk(0.24, 10)],
            ..s
        };
        assert!(
            reading(&s)
                .unwrap()
                .contains("noise and sampling can explain")
        );
    }

    #[test]
    fn segment_keys_round_trip() {
        for s in [
            Segment::Network,
            Segment::Region("uk-london".into()),
            Segment::Focus("women".into()),
            Segment::SizeBand("6-10".into()),
        ] {
            assert_eq!(Segment::parse(&s.key()), Some(s));
        }
        assert_eq!(Segment::parse("planet:mars"), None);
    }
}
