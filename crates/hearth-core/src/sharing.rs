//! What a group shares with a hub, and what it costs in privacy.
//!
//! A report is a set of noisy counts; each consenting member adds at most 1 to each count, and
//! to exactly one hours band. Accounting is zero-concentrated DP: a report whose counts a member
//! can touch `d` of, with discrete Gaussian noise σ, costs ρ = d / (2σ²); reports add up. The
//! instance keeps a yearly ledger per hub and makes no report that would pass [`YEARLY_CAP`].
//!
//! ρ is kept in billionths, rounded *up* on every report, so the ledger's integer sums never
//! undercount what was spent and the cap check is exact.

use crate::noise::Sigma;
pub use crate::signal::{HOURS_BANDS, Signal};

/// Yearly privacy budget per group and hub: ρ ≤ 1, about ε ≈ 8.4 at δ = 10⁻⁶.
pub const YEARLY_CAP: Rho = Rho(1_000_000_000);
/// The δ every ε shown to people is stated at.
pub const DELTA: f64 = 1e-6;

/// A zCDP cost in billionths of ρ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Rho(pub u64);

impl Rho {
    /// d / (2σ²), rounded up to the next billionth: σ² = tenths²/100, so
    /// ρ = 100·d / (2·tenths²) = 50·d / tenths².
    pub fn of_report(touched_counts: u32, sigma: Sigma) -> Rho {
        let num = 50u128 * 1_000_000_000 * u128::from(touched_counts);
        let den = u128::from(sigma.tenths()).pow(2);
        Rho(u64::try_from(num.div_ceil(den)).unwrap_or(u64::MAX))
    }
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    pub fn saturating_add(self, other: Rho) -> Rho {
        Rho(self.0.saturating_add(other.0))
    }
    pub fn saturating_mul(self, n: u32) -> Rho {
        Rho(self.0.saturating_mul(u64::from(n)))
    }
    /// The (ε, δ)-DP guarantee this ρ implies: ε = ρ + 2·√(ρ·ln(1/δ)).
    pub fn epsilon(self, delta: f64) -> f64 {
        let r = self.as_f64();
        r + 2.0 * (r * (1.0 / delta).ln()).sqrt()
    }
    /// The share of the yearly cap, 0–100.
    pub fn percent_of_cap(self) -> f64 {
        (self.as_f64() / YEARLY_CAP.as_f64() * 100.0).min(100.0)
    }
}

impl std::fmt::Display for Rho {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3}", self.as_f64())
    }
}

/// A set of [`Signal`]s, stored as a comma-separated list of slugs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct SignalSet(u32);

impl SignalSet {
    pub fn all() -> Self {
        Signal::all().collect()
    }
    pub fn contains(self, s: Signal) -> bool {
        self.0 & s.bit() != 0
    }
    pub fn insert(&mut self, s: Signal) {
        self.0 |= s.bit();
    }
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        Signal::all().filter(move |s| self.contains(*s))
    }
    /// How many counts one member can add 1 to: respondents and one per signal (see
    /// [`crate::signal::SignalDef::tally`]).
    pub fn touched_counts(self) -> u32 {
        1 + self.iter().count() as u32
    }
    /// How many numbers a report carries: respondents and every chosen signal's counts.
    pub fn reported_counts(self) -> u32 {
        1 + self.iter().map(|s| s.width() as u32).sum::<u32>()
    }
    pub fn to_slugs(self) -> String {
        self.iter().map(Signal::slug).collect::<Vec<_>>().join(",")
    }
    pub fn parse(s: &str) -> Result<Self, BadSharing> {
        s.split(',')
            .filter(|x| !x.is_empty())
            .map(|x| Signal::parse(x).ok_or_else(|| BadSharing(format!("unknown signal {x:?}"))))
            .collect()
    }
}

impl FromIterator<Signal> for SignalSet {
    fn from_iter<I: IntoIterator<Item = Signal>>(iter: I) -> Self {
        let mut s = SignalSet::default();
        for x in iter {
            s.insert(x);
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadSharing(pub String);

/// How often a group reports to a hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Cadence {
    #[default]
    Month,
    Week,
}

impl Cadence {
    pub fn slug(self) -> &'static str {
        match self {
            Cadence::Month => "month",
            Cadence::Week => "week",
        }
    }
    pub fn parse(s: &str) -> Result<Self, BadSharing> {
        match s {
            "month" => Ok(Cadence::Month),
            "week" => Ok(Cadence::Week),
            other => Err(BadSharing(format!("unknown cadence {other:?}"))),
        }
    }
    /// At most this many reports a year (ISO years have 52 or 53 weeks).
    pub fn periods_per_year(self) -> u32 {
        match self {
            Cadence::Month => 12,
            Cadence::Week => 53,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Cadence::Month => "Once a month",
            Cadence::Week => "Every week",
        }
    }
}

/// Named privacy levels. Each is a yearly budget; the noise follows from it, the signals and the
/// cadence ([`SharingSettings::sigma`]), so fewer signals or a lower cadence buy less noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum PrivacyLevel {
    /// A quarter of the yearly cap: ρ = 0.25 a year.
    Strongest,
    /// Half the cap: ρ = 0.5 a year.
    Strong,
    /// The whole cap: ρ = 1 a year, the least noise.
    #[default]
    Standard,
}

pub const PRIVACY_LEVELS: [PrivacyLevel; 3] = [
    PrivacyLevel::Strongest,
    PrivacyLevel::Strong,
    PrivacyLevel::Standard,
];

impl PrivacyLevel {
    pub fn slug(self) -> &'static str {
        match self {
            PrivacyLevel::Strongest => "strongest",
            PrivacyLevel::Strong => "strong",
            PrivacyLevel::Standard => "standard",
        }
    }
    pub fn parse(s: &str) -> Result<Self, BadSharing> {
        PRIVACY_LEVELS
            .into_iter()
            .find(|l| l.slug() == s)
            .ok_or_else(|| BadSharing(format!("unknown privacy level {s:?}")))
    }
    pub fn label(self) -> &'static str {
        match self {
            PrivacyLevel::Strongest => "Strongest privacy (most noise)",
            PrivacyLevel::Strong => "Strong privacy",
            PrivacyLevel::Standard => "Standard (least noise)",
        }
    }
    /// What a full year of reports may spend at this level; never more than [`YEARLY_CAP`].
    pub fn yearly_budget(self) -> Rho {
        match self {
            PrivacyLevel::Strongest => Rho(YEARLY_CAP.0 / 4),
            PrivacyLevel::Strong => Rho(YEARLY_CAP.0 / 2),
            PrivacyLevel::Standard => YEARLY_CAP,
        }
    }
}

/// The most noise any setting asks for, in tenths (σ = 1000), the most a hub accepts.
const MAX_SIGMA_TENTHS: u32 = 10_000;

/// A group's sharing settings for one hub. Off until a facilitator turns it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SharingSettings {
    pub enabled: bool,
    pub signals: SignalSet,
    pub cadence: Cadence,
    pub level: PrivacyLevel,
    /// Send without a facilitator's approval.
    pub automatic: bool,
}

impl Default for SharingSettings {
    fn default() -> Self {
        SharingSettings {
            enabled: false,
            signals: SignalSet::all(),
            cadence: Cadence::Month,
            level: PrivacyLevel::Standard,
            automatic: false,
        }
    }
}

impl SharingSettings {
    /// The noise on every count: the smallest σ, in tenths, with which a full year of reports
    /// (every period of the cadence, with these signals) fits the level's yearly budget.
    pub fn sigma(&self) -> Sigma {
        least_sigma(
            self.signals.touched_counts(),
            self.cadence.periods_per_year(),
            self.level.yearly_budget(),
        )
    }
    /// What one report costs.
    pub fn rho_per_report(&self) -> Rho {
        Rho::of_report(self.signals.touched_counts(), self.sigma())
    }
    /// What a full year of reports would cost, before the cap.
    pub fn rho_per_year(&self) -> Rho {
        self.rho_per_report()
            .saturating_mul(self.cadence.periods_per_year())
    }
}

/// The least σ, in tenths, with which `releases` releases a year, each changed by a member in
/// at most `touched` counts by one (Δ² = touched), fit `budget`:
/// releases · touched / (2σ²) ≤ budget, each release's ρ rounded up as the ledger rounds it.
pub fn least_sigma(touched: u32, releases: u32, budget: Rho) -> Sigma {
    let fits = |tenths: u32| {
        Sigma::from_tenths(tenths)
            .is_ok_and(|s| Rho::of_report(touched, s).saturating_mul(releases) <= budget)
    };
    // Start just below the real root and step up to the first tenth that fits (rounding ρ up
    // per release can cost a step).
    let root = (f64::from(releases) * f64::from(touched) / (2.0 * budget.as_f64())).sqrt();
    let mut tenths = ((root * 10.0).floor() as u32).clamp(10, MAX_SIGMA_TENTHS);
    while tenths > 10 && fits(tenths - 1) {
        tenths -= 1;
    }
    while tenths < MAX_SIGMA_TENTHS && !fits(tenths) {
        tenths += 1;
    }
    Sigma::from_tenths(tenths).unwrap_or_else(|_| unreachable!("clamped to Sigma's range"))
}

/// The ledger's verdict on a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetCheck {
    Fits,
    /// It would pass the cap: no report is made this year.
    OverCap {
        spent: Rho,
        cost: Rho,
    },
}

/// Checks a report's cost against what this year's ledger already holds for the hub.
pub fn check_budget(spent_this_year: Rho, cost: Rho) -> BudgetCheck {
    if spent_this_year.saturating_add(cost) <= YEARLY_CAP {
        BudgetCheck::Fits
    } else {
        BudgetCheck::OverCap {
            spent: spent_this_year,
            cost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rho_follows_the_formula_and_rounds_up() {
        let s = Sigma::from_tenths(65).unwrap();
        // 7 / (2 · 42.25) = 0.0828402366…
        assert_eq!(Rho::of_report(7, s), Rho(82_840_237));
        assert_eq!(
            Rho::of_report(1, Sigma::from_tenths(10).unwrap()),
            Rho(500_000_000)
        );
        let all = SharingSettings::default();
        assert_eq!(all.signals.touched_counts(), 7);
        assert_eq!(all.signals.reported_counts(), 11);
    }

    /// σ follows from the budget, the signals and the cadence: 12 monthly reports with all 7
    /// counts at ρ = 1 a year need σ ≥ √42 ≈ 6.48; respondents and burnout alone σ ≥ √12 ≈ 3.46.
    #[test]
    fn sigma_is_the_least_noise_with_which_a_year_fits_the_level() {
        let all = SharingSettings::default();
        let tenths = |s: SharingSettings| s.sigma().tenths();
        assert_eq!(tenths(all), 65);
        let burnout = SharingSettings {
            signals: [Signal::Burnout].into_iter().collect(),
            ..all
        };
        assert_eq!(tenths(burnout), 35);
        let strong = SharingSettings {
            level: PrivacyLevel::Strong,
            ..all
        };
        let strongest = SharingSettings {
            level: PrivacyLevel::Strongest,
            ..all
        };
        assert_eq!((tenths(strong), tenths(strongest)), (92, 130));
        let weekly = SharingSettings {
            cadence: Cadence::Week,
            ..all
        };
        // √(53 · 7 / 2) ≈ 13.6.
        assert_eq!(tenths(weekly), 137);
        for level in PRIVACY_LEVELS {
            for cadence in [Cadence::Month, Cadence::Week] {
                for signals in [SignalSet::default(), SignalSet::all(), burnout.signals] {
                    let s = SharingSettings {
                        level,
                        cadence,
                        signals,
                        ..all
                    };
                    let year = s
                        .rho_per_report()
                        .saturating_mul(cadence.periods_per_year());
                    assert!(year <= level.yearly_budget(), "{s:?}");
                    // One tenth less would not fit: σ is the least that does.
                    let less = Sigma::from_tenths(s.sigma().tenths() - 1).unwrap();
                    let over = Rho::of_report(signals.touched_counts(), less)
                        .saturating_mul(cadence.periods_per_year());
                    assert!(over > level.yearly_budget(), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn epsilon_is_the_zcdp_conversion() {
        let r = Rho(1_000_000_000);
        let expected = 1.0 + 2.0 * (1e6f64).ln().sqrt();
        assert!((r.epsilon(DELTA) - expected).abs() < 1e-12);
        assert!((r.epsilon(DELTA) - 8.43).abs() < 0.01);
        assert_eq!(Rho(0).epsilon(DELTA), 0.0);
    }

    #[test]
    fn the_cap_stops_exactly_at_the_report_that_would_pass_it() {
        let s = SharingSettings::default();
        let cost = s.rho_per_report();
        let mut spent = Rho(0);
        let mut made = 0;
        while check_budget(spent, cost) == BudgetCheck::Fits {
            spent = spent.saturating_add(cost);
            made += 1;
        }
        assert_eq!(made, 12);
        assert!(spent <= YEARLY_CAP);
        assert!(spent.saturating_add(cost) > YEARLY_CAP);
        // Exactly at the cap still fits.
        assert_eq!(
            check_budget(Rho(600_000_000), Rho(400_000_000)),
            BudgetCheck::Fits
        );
        assert!(matches!(
            check_budget(Rho(600_000_001), Rho(400_000_000)),
            BudgetCheck::OverCap { .. }
        ));
    }

    #[test]
    fn signal_sets_round_trip_and_refuse_unknown_slugs() {
        let s = SignalSet::parse("burnout,hours_bands").unwrap();
        assert!(s.contains(Signal::Burnout) && s.contains(Signal::HoursBands));
        assert_eq!(s.touched_counts(), 3);
        assert_eq!(s.reported_counts(), 7);
        assert_eq!(SignalSet::parse(&s.to_slugs()).unwrap(), s);
        assert_eq!(SignalSet::parse("").unwrap(), SignalSet::default());
        assert!(SignalSet::parse("burnout,names").is_err());
        assert_eq!(SignalSet::all().to_slugs().split(',').count(), 6);
    }

    #[test]
    fn levels_order_by_budget() {
        let budgets: Vec<Rho> = PRIVACY_LEVELS.iter().map(|l| l.yearly_budget()).collect();
        assert!(budgets.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(budgets[2], YEARLY_CAP);
        for l in PRIVACY_LEVELS {
            assert_eq!(PrivacyLevel::parse(l.slug()).unwrap(), l);
        }
        assert!(Cadence::parse("fortnight").is_err());
    }
}
