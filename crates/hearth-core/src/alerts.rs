//! Noise-aware alerts on sector series: is the newest point worse than the series' own past by
//! more than noise, sampling and ordinary ups and downs explain?
//!
//! Each point's variance (privacy noise plus sampling, from [`crate::sector`]) is known. Of the
//! spread the baseline shows, that much is measurement; the rest, τ², is the series' own
//! period-to-period variation. A point is standardised against the baseline mean with
//! √(τ² + its own variance), so a noisier point needs a larger rise to count.
//!
//! - While history is short (fewer than [`EWMA_MIN_HISTORY`] earlier points) the test is
//!   EARS-C2: the baseline is up to seven points ending two periods before the newest (the gap
//!   keeps a slow rise out of its own baseline).
//! - With longer history it is an EWMA (λ = 0.3) of the standardised points since the baseline,
//!   scaled to unit variance; a CUSUM (k = 0.5) over the same points is kept as evidence.
//! - Every test gives a one-sided p-value; across all segments and measures tested at once,
//!   Benjamini–Hochberg keeps the expected share of false alarms among alerts at 5 %.
//!
//! Higher is worse for every measure the hub follows, so only rises alert.

use crate::report::ReportPeriod;
use crate::sector::{Measure, Segment, Series};

/// Earlier points needed before the EWMA replaces EARS-C2.
pub const EWMA_MIN_HISTORY: usize = 10;
/// Points kept out of the baseline just before the newest.
pub const GUARD: usize = 2;
/// EARS-C2's baseline length.
pub const C2_BASELINE: usize = 7;
pub const EWMA_LAMBDA: f64 = 0.3;
pub const CUSUM_K: f64 = 0.5;
/// CUSUM decision interval shown beside its value (h = 4 with k = 0.5: about 170 periods
/// between false alarms for one series).
pub const CUSUM_H: f64 = 4.0;
/// Benjamini–Hochberg false discovery rate.
pub const FDR: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    EarsC2,
    Ewma,
}

impl Method {
    pub fn label(self) -> &'static str {
        match self {
            Method::EarsC2 => "EARS-C2 (short history)",
            Method::Ewma => "EWMA",
        }
    }
}

/// The test of one series at its newest point, with everything needed to show why.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    pub segment: Segment,
    pub measure: Measure,
    pub period: ReportPeriod,
    pub method: Method,
    pub latest: f64,
    pub baseline_mean: f64,
    /// √(τ² + the newest point's variance + the baseline mean's): the spread the newest point
    /// is judged against.
    pub baseline_sd: f64,
    pub statistic: f64,
    pub p_value: f64,
    /// CUSUM since the baseline (only with long history).
    pub cusum: Option<f64>,
    /// The statistic the newest point needed to reach, after the false-discovery control.
    pub threshold: f64,
    pub alert: bool,
}

/// Φ(x), the standard normal distribution function (Abramowitz–Stegun 7.1.26 on erf;
/// |error| < 1.5·10⁻⁷, plenty for a p-value).
pub fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x) / 2.0).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// The z with P(Z > z) = p, by bisection on [`normal_cdf`].
pub fn upper_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-10.0f64, 10.0f64);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if 1.0 - normal_cdf(mid) > p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

fn mean_var(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = if xs.len() > 1 {
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, v)
}

/// Tests one series at its newest point; `None` when there is too little history.
fn test(s: &Series) -> Option<Test> {
    let n = s.points.len();
    let latest = s.points.last()?;
    let history = &s.points[..n - 1];
    if history.len() < GUARD + 3 {
        return None;
    }
    let long = history.len() >= EWMA_MIN_HISTORY;
    let base_end = history.len() - GUARD;
    let base_start = if long {
        0
    } else {
        base_end.saturating_sub(C2_BASELINE)
    };
    let base = &history[base_start..base_end];
    let shares: Vec<f64> = base.iter().map(|p| p.share).collect();
    let (mu, var) = mean_var(&shares);
    let measurement = base.iter().map(|p| p.variance).sum::<f64>() / base.len() as f64;
    let tau2 = (var - measurement).max(0.0);
    // The baseline mean is itself an estimate: its variance joins every comparison with it.
    let mean_error = (tau2 + measurement) / base.len() as f64;
    let spread = |variance: f64| (tau2 + variance + mean_error).sqrt().max(1e-9);
    let z = |share: f64, variance: f64| (share - mu) / spread(variance);
    let sd_latest = spread(latest.variance);
    let (method, statistic, cusum) = if long {
        // The monitored points: the guard band and the newest.
        let mut e = 0.0;
        let mut c = 0.0f64;
        let mut k = 0;
        for p in &s.points[base_end..] {
            let zi = z(p.share, p.variance);
            e = EWMA_LAMBDA * zi + (1.0 - EWMA_LAMBDA) * e;
            c = (c + zi - CUSUM_K).max(0.0);
            k += 1;
        }
        let sd_e =
            (EWMA_LAMBDA / (2.0 - EWMA_LAMBDA) * (1.0 - (1.0 - EWMA_LAMBDA).powi(2 * k))).sqrt();
        (Method::Ewma, e / sd_e, Some(c))
    } else {
        (Method::EarsC2, z(latest.share, latest.variance), None)
    };
    Some(Test {
        segment: s.segment.clone(),
        measure: s.measure,
        period: latest.period,
        method,
        latest: latest.share,
        baseline_mean: mu,
        baseline_sd: sd_latest,
        statistic,
        p_value: 1.0 - normal_cdf(statistic),
        cusum,
        threshold: f64::INFINITY,
        alert: false,
    })
}

/// Tests every series at its newest point and decides alerts with Benjamini–Hochberg across
/// all of them. Returns every test (alerting or not), alerts first, then by p-value.
pub fn detect(series: &[Series]) -> Vec<Test> {
    let mut tests: Vec<Test> = series.iter().filter_map(test).collect();
    let m = tests.len();
    tests.sort_by(|a, b| a.p_value.total_cmp(&b.p_value));
    // Largest rank i with p(i) ≤ i/m · q; ranks up to it are discoveries.
    let cut = (1..=m)
        .rev()
        .find(|&i| tests[i - 1].p_value <= i as f64 / m as f64 * FDR)
        .unwrap_or(0);
    let threshold = if cut > 0 {
        upper_quantile(cut as f64 / m as f64 * FDR)
    } else {
        upper_quantile(FDR / m.max(1) as f64)
    };
    for (i, t) in tests.iter_mut().enumerate() {
        t.alert = i < cut;
        t.threshold = threshold;
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::{Sigma, discrete_gaussian};
    use crate::sector::{GroupProfile, GroupReport, MinGroups, series};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;

    #[test]
    fn the_normal_distribution_is_right_where_it_matters() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-3.0) - 0.001_349_9).abs() < 1e-6);
        assert!((upper_quantile(0.05) - 1.644_854).abs() < 1e-4);
    }

    const REGIONS: [&str; 6] = [
        "uk-north-west",
        "uk-london",
        "uk-wales",
        "uk-scotland",
        "uk-east",
        "uk-south-west",
    ];

    /// A network of 360 groups of 20–40 people in 6 regions over `months` months; in the North
    /// West the true burnout rate rises from 20 % to 60 % over the last four months, elsewhere
    /// it stays 20 %.
    /// (With σ = 6.5 on every count, a region needs dozens of groups before a rise of this size
    /// stands out from the noise: that is the price of local noise.)
    fn network(seed: u64, months: u32, worsening: bool) -> Vec<Series> {
        let mut rng = StdRng::seed_from_u64(seed);
        let sigma = Sigma::from_tenths(65).unwrap_or_else(|_| unreachable!());
        let mut profiles = BTreeMap::new();
        let mut reports = Vec::new();
        for g in 0..360i64 {
            let region = REGIONS[(g % 6) as usize];
            profiles.insert(
                g,
                GroupProfile {
                    region: Some(region.to_owned()),
                    focuses: vec![],
                    size_band: None,
                },
            );
            for m in 0..months {
                let late = m + 4 >= months;
                let rate = if worsening && region == "uk-north-west" && late {
                    0.2 + 0.4 * f64::from(m + 5 - months) / 4.0
                } else {
                    0.2
                };
                let n: i64 = rng.gen_range(20..=40);
                let k = (0..n).filter(|_| rng.gen_bool(rate)).count() as i64;
                let period = ReportPeriod::Month {
                    year: 2024 + (m / 12) as i32,
                    month: m % 12 + 1,
                };
                reports.push(GroupReport {
                    group: g,
                    period,
                    sigma: 6.5,
                    counts: [
                        (
                            "respondents".to_owned(),
                            n + discrete_gaussian(&mut rng, sigma),
                        ),
                        ("burnout".to_owned(), k + discrete_gaussian(&mut rng, sigma)),
                    ]
                    .into_iter()
                    .collect(),
                });
            }
        }
        series(&reports, &profiles, MinGroups::default())
    }

    fn alerting(tests: &[Test]) -> Vec<String> {
        tests
            .iter()
            .filter(|t| t.alert)
            .map(|t| t.segment.key())
            .collect()
    }

    #[test]
    fn a_worsening_region_alerts_and_steady_ones_stay_quiet() {
        for (seed, months) in [(1u64, 8u32), (2, 8), (3, 24), (4, 24)] {
            let tests = detect(&network(seed, months, true));
            let fired = alerting(&tests);
            assert!(
                fired.contains(&"region:uk-north-west".to_owned()),
                "seed {seed}, {months} months: {fired:?}"
            );
            for f in &fired {
                assert!(
                    f == "region:uk-north-west" || f == "network",
                    "seed {seed}: a steady segment alerted: {fired:?}"
                );
            }
            let t = tests
                .iter()
                .find(|t| t.segment.key() == "region:uk-north-west")
                .unwrap_or_else(|| unreachable!());
            let expected = if months >= 12 {
                Method::Ewma
            } else {
                Method::EarsC2
            };
            assert_eq!(t.method, expected);
            assert!(t.latest > t.baseline_mean);
            assert_eq!(t.cusum.is_some(), months >= 12);
        }
    }

    #[test]
    fn noise_alone_rarely_alarms() {
        let mut false_alarms = 0;
        let mut tested = 0;
        for seed in 0..40 {
            let tests = detect(&network(
                100 + seed,
                if seed % 2 == 0 { 8 } else { 24 },
                false,
            ));
            tested += tests.len();
            false_alarms += tests.iter().filter(|t| t.alert).count();
        }
        eprintln!("{false_alarms} false alarms in {tested} tests of steady series");
        // 7 series per run, 40 runs: at 5 % per test without control we would expect ~14.
        assert!(tested >= 250, "{tested}");
        assert!(
            false_alarms <= 4,
            "{false_alarms} false alarms in {tested} tests"
        );
    }
}
