//! Reports: the noisy counts a group sends a hub for one closed period.
//!
//! Only what is computed here ever leaves an instance about its members. Inputs are the
//! consenting members' check-ins in the period, keyed by an opaque member number that never
//! reaches the output; each member contributes once (their latest check-in in the period). The
//! output holds the period label, the noise parameters and noisy integer counts, nothing else.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use rand_core::{CryptoRng, RngCore};

use crate::checkin::CheckinAnswers;
use crate::noise::{Sigma, discrete_gaussian};
use crate::period::{IsoWeek, WeekClose};
use crate::sharing::{Cadence, Rho, SharingSettings, Signal, SignalSet};
use crate::signal::Counts;
pub use crate::signal::{hours_band, is_heavy_funding_load};

/// The report format this build writes (and the newest it reads).
pub const SCHEMA_VERSION: u32 = 1;

/// The period a report covers: a calendar month (weeks belong to the month holding their
/// Thursday, as ISO 8601 assigns weeks to years) or one ISO week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReportPeriod {
    Month { year: i32, month: u32 },
    Week(IsoWeek),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a report period (expected YYYY-MM or YYYY-Www): {0:?}")]
pub struct BadPeriod(pub String);

impl ReportPeriod {
    /// The period of `cadence` that `week` belongs to.
    pub fn of_week(week: IsoWeek, cadence: Cadence) -> Self {
        match cadence {
            Cadence::Week => ReportPeriod::Week(week),
            Cadence::Month => {
                let thursday = week.monday() + chrono::Days::new(3);
                ReportPeriod::Month {
                    year: thursday.year(),
                    month: thursday.month(),
                }
            }
        }
    }

    pub fn cadence(self) -> Cadence {
        match self {
            ReportPeriod::Month { .. } => Cadence::Month,
            ReportPeriod::Week(_) => Cadence::Week,
        }
    }

    /// The weeks whose check-ins count towards this period.
    pub fn weeks(self) -> Vec<IsoWeek> {
        match self {
            ReportPeriod::Week(w) => vec![w],
            ReportPeriod::Month { year, month } => {
                let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN);
                let mut w = IsoWeek::of_date(first).previous();
                let mut out = Vec::new();
                for _ in 0..8 {
                    if ReportPeriod::of_week(w, Cadence::Month) == self {
                        out.push(w);
                    }
                    w = w.next();
                }
                out
            }
        }
    }

    /// When the period closes: when its last week closes for the group.
    pub fn closes_at(self, tz: Tz, close: WeekClose) -> DateTime<Utc> {
        self.weeks()
            .last()
            .map(|w| w.closes_at(tz, close))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// The periods of `cadence` that closed after `since` and by `now`, oldest first, looking
    /// at no more than `limit` periods (so a long-idle instance catches up in bounded work).
    pub fn closed_between(
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        cadence: Cadence,
        (tz, close): (Tz, WeekClose),
        limit: usize,
    ) -> Vec<ReportPeriod> {
        let mut out = Vec::new();
        let mut period = ReportPeriod::of_week(IsoWeek::containing(since, tz), cadence);
        for _ in 0..limit {
            let closes = period.closes_at(tz, close);
            if closes > now {
                break;
            }
            if closes > since {
                out.push(period);
            }
            period = period.next();
        }
        out
    }

    pub fn next(self) -> Self {
        match self {
            ReportPeriod::Week(w) => ReportPeriod::Week(w.next()),
            ReportPeriod::Month { year, month: 12 } => ReportPeriod::Month {
                year: year + 1,
                month: 1,
            },
            ReportPeriod::Month { year, month } => ReportPeriod::Month {
                year,
                month: month + 1,
            },
        }
    }

    /// The calendar year whose budget the report is charged to (the ISO year for weeks).
    pub fn budget_year(self) -> i32 {
        match self {
            ReportPeriod::Month { year, .. } => year,
            ReportPeriod::Week(w) => w.year(),
        }
    }

    /// The first period of the next budget year: when sending resumes after the cap.
    pub fn first_of_next_year(self) -> Self {
        let year = self.budget_year() + 1;
        match self {
            ReportPeriod::Month { .. } => ReportPeriod::Month { year, month: 1 },
            ReportPeriod::Week(_) => ReportPeriod::Week(
                IsoWeek::new(year, 1).unwrap_or(IsoWeek::of_date(NaiveDate::MIN)),
            ),
        }
    }

    /// "November 2026" or "week of 23 Nov 2026".
    pub fn human_label(self) -> String {
        match self {
            ReportPeriod::Week(w) => w.human_label(),
            ReportPeriod::Month { year, month } => NaiveDate::from_ymd_opt(year, month, 1)
                .map(|d| d.format("%B %Y").to_string())
                .unwrap_or_default(),
        }
    }
}

impl fmt::Display for ReportPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportPeriod::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            ReportPeriod::Week(w) => write!(f, "{w}"),
        }
    }
}

impl FromStr for ReportPeriod {
    type Err = BadPeriod;
    fn from_str(s: &str) -> Result<Self, BadPeriod> {
        if s.contains("-W") {
            return s
                .parse()
                .map(ReportPeriod::Week)
                .map_err(|_| BadPeriod(s.to_owned()));
        }
        let bad = || BadPeriod(s.to_owned());
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(ReportPeriod::Month { year, month })
    }
}

/// One check-in that may count towards a report, from a member who consented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    /// Opaque; used only to keep one contribution per member, never copied into the output.
    pub member: i64,
    pub week: IsoWeek,
    pub answers: CheckinAnswers,
}

/// Exact counts over one contribution per member. Never stored, never sent: only noisy copies
/// leave this module.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrueCounts(Counts);

impl TrueCounts {
    /// Counts one contribution per member: each member's latest check-in in the period.
    pub fn of(contributions: &[Contribution]) -> TrueCounts {
        let mut latest: BTreeMap<i64, &Contribution> = BTreeMap::new();
        for c in contributions {
            latest
                .entry(c.member)
                .and_modify(|e| {
                    if c.week > e.week {
                        *e = c;
                    }
                })
                .or_insert(c);
        }
        let mut t = Counts::default();
        for c in latest.values() {
            t.tally(&c.answers);
        }
        TrueCounts(t)
    }
    /// Known counts, for tests and benchmarks: `respondents`, every signal's counts 0.
    pub fn new(respondents: i64) -> TrueCounts {
        let mut c = Counts::default();
        c.set_respondents(respondents);
        TrueCounts(c)
    }
    /// The same with `signal`'s counts set to `values` (as many as both hold).
    pub fn with(mut self, signal: Signal, values: &[i64]) -> TrueCounts {
        for (slot, v) in self.0.of_mut(signal).iter_mut().zip(values) {
            *slot = *v;
        }
        self
    }
    pub fn respondents(&self) -> i64 {
        self.0.respondents()
    }
    /// A signal's exact counts.
    pub fn get(&self, s: Signal) -> &[i64] {
        self.0.of(s)
    }
}

/// The noisy counts of a report; signals the group does not share are absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoisyCounts {
    signals: SignalSet,
    values: Counts,
}

impl NoisyCounts {
    /// Counts as drawn: respondents and the given signals' counts. For tests and examples;
    /// reports are made by [`make_report`].
    pub fn new(respondents: i64, signals: &[(Signal, &[i64])]) -> NoisyCounts {
        let mut values = Counts::default();
        values.set_respondents(respondents);
        let mut set = SignalSet::default();
        for (s, v) in signals {
            set.insert(*s);
            for (slot, x) in values.of_mut(*s).iter_mut().zip(v.iter()) {
                *slot = *x;
            }
        }
        NoisyCounts {
            signals: set,
            values,
        }
    }
    pub fn respondents(&self) -> i64 {
        self.values.respondents()
    }
    pub fn signals(&self) -> SignalSet {
        self.signals
    }
    /// A shared signal's noisy counts; `None` when the group does not share it.
    pub fn get(&self, s: Signal) -> Option<&[i64]> {
        self.signals.contains(s).then(|| self.values.of(s))
    }
    /// Every shared signal with its counts, in table order.
    pub fn iter(&self) -> impl Iterator<Item = (Signal, &[i64])> + '_ {
        self.signals.iter().map(|s| (s, self.values.of(s)))
    }
    /// Every number in the report, in a fixed order (for tests and checks).
    pub fn values(&self) -> Vec<i64> {
        let mut v = vec![self.respondents()];
        for (_, c) in self.iter() {
            v.extend_from_slice(c);
        }
        v
    }
}

/// A report ready to be previewed and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoisyReport {
    pub period: ReportPeriod,
    pub signals: SignalSet,
    pub sigma: Sigma,
    pub rho: Rho,
    pub counts: NoisyCounts,
}

/// Computes a period's report: exact counts, then independent discrete Gaussian noise on each
/// count. A report is made whatever the number of respondents: the noise protects members, and
/// any rule on the count would leak a little and bias the hub's sums. Noisy counts are kept as
/// drawn, negative ones included, so sums at the hub stay unbiased.
pub fn make_report<R: RngCore + CryptoRng>(
    period: ReportPeriod,
    settings: &SharingSettings,
    contributions: &[Contribution],
    rng: &mut R,
) -> NoisyReport {
    let sigma = settings.sigma();
    let mut noise = || discrete_gaussian(rng, sigma);
    make_report_with_noise(period, settings, TrueCounts::of(contributions), &mut noise)
}

/// [`make_report`] with the noise source given: tests pass a known offset to prove that every
/// count goes through the noise and nothing exact slips out.
pub fn make_report_with_noise(
    period: ReportPeriod,
    settings: &SharingSettings,
    truth: TrueCounts,
    noise: &mut dyn FnMut() -> i64,
) -> NoisyReport {
    let s = settings.signals;
    let mut values = Counts::default();
    values.set_respondents(truth.respondents() + noise());
    for signal in s.iter() {
        for (slot, v) in values.of_mut(signal).iter_mut().zip(truth.get(signal)) {
            *slot = v + noise();
        }
    }
    NoisyReport {
        period,
        signals: s,
        sigma: settings.sigma(),
        rho: settings.rho_per_report(),
        counts: NoisyCounts { signals: s, values },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkin::tests::answers;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn week(s: &str) -> IsoWeek {
        s.parse().unwrap()
    }

    #[test]
    fn months_hold_the_weeks_whose_thursday_they_hold() {
        let nov = ReportPeriod::Month {
            year: 2026,
            month: 11,
        };
        // 2026-W44 starts Mon 26 Oct; its Thursday is 29 Oct: October. W45 (Thu 5 Nov) is
        // November's first; W49 (Thu 3 Dec) belongs to December.
        let weeks: Vec<String> = nov.weeks().iter().map(ToString::to_string).collect();
        assert_eq!(
            weeks,
            ["2026-W45", "2026-W46", "2026-W47", "2026-W48"].map(String::from)
        );
        assert_eq!(
            ReportPeriod::of_week(week("2026-W49"), Cadence::Month).to_string(),
            "2026-12"
        );
        // Across a year end: 2026-W53 (Thu 31 Dec) is December 2026.
        assert_eq!(
            ReportPeriod::of_week(week("2026-W53"), Cadence::Month).to_string(),
            "2026-12"
        );
        let jan = ReportPeriod::Month {
            year: 2027,
            month: 1,
        };
        assert_eq!(jan.weeks().first().unwrap().to_string(), "2027-W01");
        // Every week of a year lands in exactly one month.
        let mut w = week("2026-W01");
        let mut seen = 0;
        for m in 1..=12 {
            for x in (ReportPeriod::Month {
                year: 2026,
                month: m,
            })
            .weeks()
            {
                assert_eq!(x, w);
                w = w.next();
                seen += 1;
            }
        }
        assert_eq!(seen, 53);
    }

    #[test]
    fn periods_parse_print_and_step() {
        for s in ["2026-11", "2026-W07", "2027-01"] {
            assert_eq!(s.parse::<ReportPeriod>().unwrap().to_string(), s);
        }
        for bad in ["2026-13", "2026-1", "26-11", "2026-W60", "x", ""] {
            assert!(bad.parse::<ReportPeriod>().is_err(), "{bad}");
        }
        let dec: ReportPeriod = "2026-12".parse().unwrap();
        assert_eq!(dec.next().to_string(), "2027-01");
        assert_eq!(dec.first_of_next_year().to_string(), "2027-01");
        assert_eq!(dec.human_label(), "December 2026");
        let w: ReportPeriod = "2026-W53".parse().unwrap();
        assert_eq!(w.first_of_next_year().to_string(), "2027-W01");
        assert!(w < w.next());
    }

    #[test]
    fn a_month_closes_when_its_last_week_closes() {
        let nov: ReportPeriod = "2026-11".parse().unwrap();
        let close = WeekClose::default();
        assert_eq!(
            nov.closes_at(chrono_tz::Europe::London, close),
            week("2026-W48").closes_at(chrono_tz::Europe::London, close)
        );
    }

    fn c(member: i64, w: &str, a: CheckinAnswers) -> Contribution {
        Contribution {
            member,
            week: week(w),
            answers: a,
        }
    }

    #[test]
    fn each_member_counts_once_with_their_latest_check_in() {
        let low_burnt = answers([1, 1, 1, 1, 1], 4, 4); // 20 %, burnout 4, time pressure
        let fine = answers([5, 5, 5, 5, 5], 1, 0);
        let t = TrueCounts::of(&[
            c(1, "2026-W45", fine.clone()),
            c(1, "2026-W47", low_burnt.clone()),
            c(1, "2026-W46", fine.clone()),
            c(2, "2026-W45", fine.clone()),
        ]);
        assert_eq!(t.respondents(), 2);
        for s in [Signal::LowWellbeing, Signal::Burnout, Signal::TimePressure] {
            assert_eq!(t.get(s), &[1], "{s:?}");
        }
        assert_eq!(t.get(Signal::HoursBands).iter().sum::<i64>(), 2);
    }

    #[test]
    fn reports_carry_only_the_chosen_signals_and_their_cost() {
        let group: Vec<Contribution> = (0..40)
            .map(|m| c(m, "2026-W46", answers([2; 5], 3, 2)))
            .collect();
        let settings = SharingSettings {
            enabled: true,
            signals: [Signal::Burnout, Signal::HoursBands].into_iter().collect(),
            ..SharingSettings::default()
        };
        let mut rng = StdRng::seed_from_u64(3);
        let r = make_report("2026-11".parse().unwrap(), &settings, &group, &mut rng);
        assert!(r.counts.get(Signal::LowWellbeing).is_none());
        assert!(r.counts.get(Signal::TimePressure).is_none());
        assert!(r.counts.get(Signal::Burnout).is_some());
        assert!(r.counts.get(Signal::HoursBands).is_some());
        assert_eq!(r.counts.values().len(), 7);
        assert_eq!(r.rho, Rho::of_report(3, settings.sigma()));
        assert_eq!(r.sigma, settings.sigma());
    }

    /// Every period gets a report, however few answered, and what small groups send is
    /// unbiased: over many reports of a group of 3, the noisy respondents average 3.
    #[test]
    fn small_groups_are_reported_without_bias() {
        let settings = SharingSettings {
            enabled: true,
            ..SharingSettings::default()
        };
        let three: Vec<Contribution> = (0..3)
            .map(|m| c(m, "2026-W46", answers([2; 5], 3, 2)))
            .collect();
        let mut rng = StdRng::seed_from_u64(9);
        let n = 4_000;
        let mut sum = 0;
        for _ in 0..n {
            let r = make_report("2026-11".parse().unwrap(), &settings, &three, &mut rng);
            assert_eq!(r.rho, settings.rho_per_report());
            sum += r.counts.respondents();
        }
        let mean = sum as f64 / f64::from(n);
        // σ = 6.5: the mean of 4,000 draws is within 3 · 6.5 / √4000 ≈ 0.31 of the truth.
        assert!((mean - 3.0).abs() < 0.31, "mean {mean}");
    }

    /// noisy − true has the same distribution whatever the true count: mean 0 and variance σ²
    /// for a count of 0 and a count of 1,000.
    #[test]
    fn noise_is_independent_of_the_true_value() {
        let settings = SharingSettings {
            enabled: true,
            ..SharingSettings::default()
        };
        let noise_at = |truth: i64, seed: u64| -> Vec<i64> {
            let mut rng = StdRng::seed_from_u64(seed);
            let t = TrueCounts::new(1_000).with(Signal::LowWellbeing, &[truth]);
            (0..20_000)
                .filter_map(|_| {
                    let mut noise = || discrete_gaussian(&mut rng, settings.sigma());
                    make_report_with_noise("2026-11".parse().unwrap(), &settings, t, &mut noise)
                        .counts
                        .get(Signal::LowWellbeing)
                        .map(|v| v[0] - truth)
                })
                .collect()
        };
        let moments = |v: &[i64]| {
            let n = v.len() as f64;
            let m = v.iter().sum::<i64>() as f64 / n;
            (
                m,
                v.iter().map(|x| (*x as f64 - m).powi(2)).sum::<f64>() / n,
            )
        };
        let (m0, v0) = moments(&noise_at(0, 21));
        let (m1, v1) = moments(&noise_at(1_000, 22));
        let s2 = 42.25;
        for (m, v) in [(m0, v0), (m1, v1)] {
            assert!(m.abs() < 0.25, "mean {m}");
            assert!((v - s2).abs() / s2 < 0.05, "variance {v}");
        }
        assert!((m0 - m1).abs() < 0.3);
    }
}
