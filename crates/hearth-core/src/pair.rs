//! Secure aggregation across a hub pair: two hubs run by different organisations sum the
//! groups' counts without either of them seeing any group's counts, and add noise once, to the
//! sum, instead of every group adding its own.
//!
//! A group's counts for a period become one Prio3 measurement (`Prio3SumVec` of the `prio`
//! crate, the IETF VDAF draft): [`shard`] splits it into a leader's and a helper's share, each
//! alone uniformly random. Each hub checks the report's validity proof together with the other
//! ([`Verifier`]: one exchange of verifier shares), so a report with any entry outside
//! `0..=MAX_RESPONDENTS` is refused by both and no group can add more than its bound. Each hub
//! sums its output shares per batch ([`Accumulator`]) and adds discrete Gaussian noise of the
//! plan's σ to its aggregate share before it leaves ([`Accumulator::release`]), so the released
//! sum stays private even if one hub is dishonest. [`unshard`] adds the two noisy aggregate
//! shares into the released sums ([`PairSums`]).
//!
//! The measurement, in the order of the signal table: respondents, every count of every signal
//! (0 where the group does not share the signal), then for each signal the respondents of a
//! group that withholds it (0 where it shares it). So the respondents behind signal s are
//! `respondents − withheld(s)`, and a member's answers change at most `1 + TABLE.len()` entries
//! by one each: that is the sensitivity every release is charged for ([`SENSITIVITY_SQ`]).
//!
//! Accounting (zCDP): a release with noise σ on each hub costs each member of each group in it
//! Δ²/(2σ²) with Δ² = [`SENSITIVITY_SQ`], counting one hub's noise only (the other may be the
//! dishonest one). A group's report enters one release per dimension of the [`PairPlan`]
//! (network, its region, its first focus, its size band); a year costs
//! periods × releases × Δ²/(2σ²), and the plan's σ is the least with which a year fits the
//! level's budget. Sums over several releases (rolling windows, a region from its parts) are
//! post-processing and cost nothing more.

use prio::codec::{Encode, ParameterizedDecode};
use prio::field::{Field128, FieldElement, FieldElementWithInteger};
use prio::vdaf::prio3::{
    Prio3, Prio3InputShare, Prio3PublicShare, Prio3SumVec, Prio3VerifierMessage,
    Prio3VerifierShare, Prio3VerifyState, optimal_chunk_length,
};
use prio::vdaf::{
    Aggregatable, AggregateShare, Aggregator, Client, Collector, OutputShare, VerifyTransition,
};
use rand_core::{CryptoRng, RngCore};

use crate::noise::{Sigma, discrete_gaussian};
use crate::report::{ReportPeriod, TrueCounts};
use crate::sector::{GroupProfile, MinGroups, Point, Segment, Series, Sums};
use crate::sharing::{Cadence, PrivacyLevel, Rho, SignalSet, least_sigma};
use crate::signal::{N_COUNTS, Signal, TABLE};

/// The most any entry of a group's measurement may be: a group reports at most this many
/// respondents through a pair. It bounds what one group can add to a sum, not privacy.
pub const MAX_RESPONDENTS: i64 = 127;
/// Entries of a measurement: respondents, every count, then one "withheld" per signal.
pub const MEASUREMENT_LEN: usize = N_COUNTS + TABLE.len();
/// A member changes at most this many entries, each by one: Δ² of every release.
pub const SENSITIVITY_SQ: u32 = 1 + TABLE.len() as u32;
/// The application context both hubs and every group bind their proofs to.
const CTX: &[u8] = b"hearth pair report v1";
const BITS: usize = 7;
pub const NONCE_LEN: usize = 16;
pub const VERIFY_KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PairError {
    #[error("{0} respondents is above the {MAX_RESPONDENTS} a group may report through a pair")]
    TooManyRespondents(i64),
    #[error("a share does not decode: {0}")]
    Malformed(String),
    #[error("the report's proof does not hold: it is outside its bounds or was altered")]
    Invalid,
    #[error("the two aggregate shares do not belong together")]
    Mismatched,
}

/// Which of the two hubs: the leader shows the sector, the helper may have no page of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HubRole {
    Leader,
    Helper,
}

impl HubRole {
    fn id(self) -> usize {
        match self {
            HubRole::Leader => 0,
            HubRole::Helper => 1,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            HubRole::Leader => "leader",
            HubRole::Helper => "helper",
        }
    }
    pub fn parse(s: &str) -> Option<HubRole> {
        match s {
            "leader" => Some(HubRole::Leader),
            "helper" => Some(HubRole::Helper),
            _ => None,
        }
    }
}

fn vdaf() -> Prio3SumVec {
    // The parameters are constants within prio's limits; a failure here is a build-time
    // mistake that every test would show.
    match Prio3::new_sum_vec(
        2,
        MAX_RESPONDENTS as u128,
        MEASUREMENT_LEN,
        optimal_chunk_length(BITS * MEASUREMENT_LEN),
    ) {
        Ok(v) => v,
        Err(e) => unreachable!("Prio3SumVec parameters are constants: {e}"),
    }
}

/// A group's report to a pair: the nonce and public share go to both hubs, each input share to
/// its own hub only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairReport {
    pub nonce: [u8; NONCE_LEN],
    pub public_share: Vec<u8>,
    pub leader_share: Vec<u8>,
    pub helper_share: Vec<u8>,
}

impl PairReport {
    pub fn share_for(&self, role: HubRole) -> &[u8] {
        match role {
            HubRole::Leader => &self.leader_share,
            HubRole::Helper => &self.helper_share,
        }
    }
}

/// The measurement of a group's exact counts, with signals it withholds zeroed and marked.
fn measurement(counts: &TrueCounts, signals: SignalSet) -> Result<Vec<u128>, PairError> {
    let respondents = counts.respondents();
    if !(0..=MAX_RESPONDENTS).contains(&respondents) {
        return Err(PairError::TooManyRespondents(respondents));
    }
    let mut m = Vec::with_capacity(MEASUREMENT_LEN);
    m.push(respondents);
    for s in Signal::all() {
        let shared = signals.contains(s);
        m.extend(counts.get(s).iter().map(|&c| if shared { c } else { 0 }));
    }
    for s in Signal::all() {
        m.push(if signals.contains(s) { 0 } else { respondents });
    }
    // Every count is of respondents, so never above them; clamp defensively.
    Ok(m.into_iter()
        .map(|v| v.clamp(0, respondents) as u128)
        .collect())
}

/// Splits a group's exact counts into the two hubs' shares. The counts themselves never leave
/// this function; prio draws the shares' randomness from the operating system.
pub fn shard(
    counts: &TrueCounts,
    signals: SignalSet,
    nonce: [u8; NONCE_LEN],
) -> Result<PairReport, PairError> {
    let vdaf = vdaf();
    let m = measurement(counts, signals)?;
    let (public, inputs) = vdaf
        .shard(CTX, &m, &nonce)
        .map_err(|e| PairError::Malformed(e.to_string()))?;
    let enc = |r: Result<Vec<u8>, _>| {
        r.map_err(|e: prio::codec::CodecError| PairError::Malformed(e.to_string()))
    };
    let [leader, helper] = <[_; 2]>::try_from(inputs)
        .map_err(|_| PairError::Malformed("prio made other than two shares".into()))?;
    Ok(PairReport {
        nonce,
        public_share: enc(public.get_encoded())?,
        leader_share: enc(leader.get_encoded())?,
        helper_share: enc(helper.get_encoded())?,
    })
}

/// One hub's half of checking reports, with the verify key the two hubs share.
pub struct Verifier {
    vdaf: Prio3SumVec,
    role: HubRole,
    verify_key: [u8; VERIFY_KEY_LEN],
}

/// A report whose check this hub has begun, and the verifier share to send the other hub.
pub struct Started {
    state: Prio3VerifyState<Field128, 32>,
    share: Prio3VerifierShare<Field128, 32>,
    pub verifier_share: Vec<u8>,
}

/// A report's checked contribution to this hub's sum.
#[derive(Clone, Debug)]
pub struct Checked(OutputShare<Field128>);

impl Checked {
    /// Bytes to keep until the report's batches are released.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.get_encoded().unwrap_or_default()
    }
    pub fn from_bytes(bytes: &[u8]) -> Result<Checked, PairError> {
        OutputShare::get_decoded_with_param(&(&vdaf(), &()), bytes)
            .map(Checked)
            .map_err(|e| PairError::Malformed(e.to_string()))
    }
}

impl Verifier {
    pub fn new(role: HubRole, verify_key: [u8; VERIFY_KEY_LEN]) -> Verifier {
        Verifier {
            vdaf: vdaf(),
            role,
            verify_key,
        }
    }

    /// Decodes this hub's share of a report and begins its check.
    pub fn start(
        &self,
        nonce: &[u8; NONCE_LEN],
        public_share: &[u8],
        input_share: &[u8],
    ) -> Result<Started, PairError> {
        let malformed = |e: prio::codec::CodecError| PairError::Malformed(e.to_string());
        let public = Prio3PublicShare::get_decoded_with_param(&self.vdaf, public_share)
            .map_err(malformed)?;
        let input =
            Prio3InputShare::get_decoded_with_param(&(&self.vdaf, self.role.id()), input_share)
                .map_err(malformed)?;
        let (state, share) = self
            .vdaf
            .verify_init(
                &self.verify_key,
                CTX,
                self.role.id(),
                &(),
                nonce,
                &public,
                &input,
            )
            .map_err(|_| PairError::Invalid)?;
        Ok(Started {
            state,
            verifier_share: share.get_encoded().map_err(malformed)?,
            share,
        })
    }

    /// The helper, given the leader's verifier share: decides the report, and returns the
    /// message the leader needs to finish it. A report that fails is refused by both.
    pub fn decide(
        &self,
        started: Started,
        leader_share: &[u8],
    ) -> Result<(Checked, Vec<u8>), PairError> {
        let malformed = |e: prio::codec::CodecError| PairError::Malformed(e.to_string());
        let own = started.share;
        let theirs = Prio3VerifierShare::get_decoded_with_param(&started.state, leader_share)
            .map_err(malformed)?;
        let shares = match self.role {
            HubRole::Leader => [own, theirs],
            HubRole::Helper => [theirs, own],
        };
        let message = self
            .vdaf
            .verifier_shares_to_message(CTX, &(), shares)
            .map_err(|_| PairError::Invalid)?;
        let bytes = message.get_encoded().map_err(malformed)?;
        Ok((self.finish_with(started.state, message)?, bytes))
    }

    /// The leader, given the helper's message: finishes the report.
    pub fn finish(&self, started: Started, message: &[u8]) -> Result<Checked, PairError> {
        let message = Prio3VerifierMessage::get_decoded_with_param(&started.state, message)
            .map_err(|e| PairError::Malformed(e.to_string()))?;
        self.finish_with(started.state, message)
    }

    fn finish_with(
        &self,
        state: Prio3VerifyState<Field128, 32>,
        message: Prio3VerifierMessage<32>,
    ) -> Result<Checked, PairError> {
        match self.vdaf.verify_next(CTX, state, message) {
            Ok(VerifyTransition::Finish(out)) => Ok(Checked(out)),
            // Prio3 has one round; anything else is a report that does not verify.
            Ok(VerifyTransition::Continue(..)) | Err(_) => Err(PairError::Invalid),
        }
    }
}

/// One hub's running sum of checked reports for one batch (segment × period).
pub struct Accumulator {
    share: AggregateShare<Field128>,
    reports: u32,
}

impl Default for Accumulator {
    fn default() -> Self {
        Accumulator {
            share: AggregateShare::from(vec![Field128::zero(); MEASUREMENT_LEN]),
            reports: 0,
        }
    }
}

fn field(n: i64) -> Field128 {
    let magnitude = Field128::from(u128::from(n.unsigned_abs()));
    if n < 0 { -magnitude } else { magnitude }
}

impl Accumulator {
    pub fn add(&mut self, report: &Checked) {
        // Both hold MEASUREMENT_LEN elements of one field; merging cannot fail.
        if self.share.accumulate(&report.0).is_ok() {
            self.reports += 1;
        }
    }
    pub fn reports(&self) -> u32 {
        self.reports
    }
    /// The aggregate share with this hub's own noise on every entry, ready to leave the hub.
    pub fn release<R: RngCore + CryptoRng>(self, sigma: Sigma, rng: &mut R) -> Vec<u8> {
        let noisy: Vec<Field128> = self
            .share
            .as_ref()
            .iter()
            .map(|x| *x + field(discrete_gaussian(rng, sigma)))
            .collect();
        AggregateShare::from(noisy)
            .get_encoded()
            .unwrap_or_default()
    }
}

#[cfg(test)]
impl Accumulator {
    /// The aggregate share without noise: only to check sums exactly.
    fn exact(self) -> Vec<u8> {
        self.share.get_encoded().unwrap_or_default()
    }
}

/// A released batch: the sums of every entry over its groups, each with both hubs' noise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairSums {
    values: Vec<i64>,
}

/// Adds the two hubs' noisy aggregate shares into the released sums.
pub fn unshard(leader: &[u8], helper: &[u8], reports: u32) -> Result<PairSums, PairError> {
    let vdaf = vdaf();
    let decode = |b: &[u8]| {
        AggregateShare::<Field128>::get_decoded_with_param(&(&vdaf, &()), b)
            .map_err(|e| PairError::Malformed(e.to_string()))
    };
    let sums: Vec<u128> = vdaf
        .unshard(&(), [decode(leader)?, decode(helper)?], reports as usize)
        .map_err(|_| PairError::Mismatched)?;
    let p = Field128::modulus();
    // Noise can take a sum below zero, which the field holds as p − x.
    let values = sums
        .into_iter()
        .map(|v| {
            if v > p / 2 {
                -i64::try_from(p - v).unwrap_or(i64::MAX)
            } else {
                i64::try_from(v).unwrap_or(i64::MAX)
            }
        })
        .collect();
    Ok(PairSums { values })
}

impl PairSums {
    /// Every entry, in the measurement's order (to store; read back with [`PairSums::from_values`]).
    pub fn values(&self) -> &[i64] {
        &self.values
    }
    /// Sums as stored; `None` unless there is one per entry of the measurement.
    pub fn from_values(values: Vec<i64>) -> Option<PairSums> {
        (values.len() == MEASUREMENT_LEN).then_some(PairSums { values })
    }
    /// All respondents of the batch's groups.
    pub fn respondents(&self) -> i64 {
        self.values[0]
    }
    /// The respondents behind a signal: those of groups that share it.
    pub fn respondents_of(&self, s: Signal) -> i64 {
        self.respondents() - self.values[N_COUNTS + s as usize]
    }
    /// A signal's summed counts.
    pub fn counts_of(&self, s: Signal) -> &[i64] {
        let start = 1 + Signal::all()
            .take_while(|x| *x != s)
            .map(Signal::width)
            .sum::<usize>();
        &self.values[start..start + s.width()]
    }
}

/// The dimensions a pair releases each period. Each costs every member one release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Network,
    Region,
    Focus,
    SizeBand,
}

impl Dimension {
    pub const ALL: [Dimension; 4] = [
        Dimension::Network,
        Dimension::Region,
        Dimension::Focus,
        Dimension::SizeBand,
    ];
    pub fn slug(self) -> &'static str {
        match self {
            Dimension::Network => "network",
            Dimension::Region => "region",
            Dimension::Focus => "focus",
            Dimension::SizeBand => "size",
        }
    }
    pub fn parse(s: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.slug() == s)
    }
    /// How the sharing and pair pages name it.
    pub fn label(self) -> &'static str {
        match self {
            Dimension::Network => "the whole network",
            Dimension::Region => "each region",
            Dimension::Focus => "each community focus (a group's first)",
            Dimension::SizeBand => "each size band",
        }
    }
}

/// `network,region`: a plan's dimensions as stored and sent.
pub fn dimensions_to_slugs(dims: &[Dimension]) -> String {
    dims.iter().map(|d| d.slug()).collect::<Vec<_>>().join(",")
}

/// The dimensions of `network,region`; `None` if any is unknown, repeated, or none is given.
pub fn dimensions_from_slugs(s: &str) -> Option<Vec<Dimension>> {
    let mut dims = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let d = Dimension::parse(part)?;
        if dims.contains(&d) {
            return None;
        }
        dims.push(d);
    }
    (!dims.is_empty()).then_some(dims)
}

/// What a pair releases and with how much noise: the same for every group in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairPlan {
    pub cadence: Cadence,
    pub dimensions: Vec<Dimension>,
    /// Noise each hub adds to each entry of its aggregate share.
    pub sigma: Sigma,
}

impl PairPlan {
    /// The plan with the least noise with which a year of releases fits `level`'s budget.
    pub fn new(cadence: Cadence, dimensions: Vec<Dimension>, level: PrivacyLevel) -> PairPlan {
        let releases = cadence.periods_per_year() * dimensions.len().max(1) as u32;
        PairPlan {
            cadence,
            sigma: least_sigma(SENSITIVITY_SQ, releases, level.yearly_budget()),
            dimensions,
        }
    }
    /// What one release costs each member of each group in it.
    pub fn release_cost(&self) -> Rho {
        Rho::of_report(SENSITIVITY_SQ, self.sigma)
    }
    /// The batches a group's report enters in one period: one per dimension it has a value
    /// in; of several focuses, the first.
    pub fn segments_of(&self, profile: &GroupProfile) -> Vec<Segment> {
        self.dimensions
            .iter()
            .filter_map(|d| match d {
                Dimension::Network => Some(Segment::Network),
                Dimension::Region => profile.region.clone().map(Segment::Region),
                Dimension::Focus => profile.focuses.first().cloned().map(Segment::Focus),
                Dimension::SizeBand => profile.size_band.clone().map(Segment::SizeBand),
            })
            .collect()
    }
    /// What a year of this group's reports costs its members.
    pub fn yearly_cost(&self, profile: &GroupProfile) -> Rho {
        self.release_cost()
            .saturating_mul(self.segments_of(profile).len() as u32)
            .saturating_mul(self.cadence.periods_per_year())
    }
    /// The noise variance of each released sum: both hubs' noise.
    pub fn sum_variance(&self) -> f64 {
        2.0 * self.sigma.as_f64().powi(2)
    }
}

/// A released batch, as the sector reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub segment: Segment,
    pub period: ReportPeriod,
    pub groups: u32,
    pub sums: PairSums,
    /// Each hub's noise on each released sum.
    pub sigma: Sigma,
}

/// Every measure's series from a pair's releases, as [`crate::sector::series_from_sums`] makes
/// them from a single hub's reports: a batch with fewer than `min` groups is not shown. A
/// measure's share is over the respondents who shared its signal; the count carries both hubs'
/// noise (2σ²) and those respondents, the difference of two released sums, twice that.
pub fn series(releases: &[Release], min: MinGroups) -> Vec<Series> {
    let mut by: std::collections::BTreeMap<(Segment, crate::signal::Measure), Vec<Point>> =
        std::collections::BTreeMap::new();
    for r in releases.iter().filter(|r| r.groups >= min.get()) {
        let v = 2.0 * r.sigma.as_f64().powi(2);
        for m in crate::signal::Measure::all() {
            let s = m.signal();
            let Some(&count) = r.sums.counts_of(s).first() else {
                continue;
            };
            let sums = Sums {
                groups: r.groups,
                respondents: r.sums.respondents_of(s),
                count,
                noise_variance: v,
            };
            if let Some(p) = Point::with_respondents_noise(r.period, sums, 2.0 * v) {
                by.entry((r.segment.clone(), m)).or_default().push(p);
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// Releases become series like a hub's: below m hidden, the share over the respondents who
    /// shared the signal, the variance both hubs' noise plus sampling.
    #[test]
    fn releases_become_series_with_the_pair_s_variance() {
        let sigma = Sigma::from_tenths(92).unwrap();
        let mut values = vec![0i64; MEASUREMENT_LEN];
        values[0] = 100;
        let b = 1 + Signal::all()
            .take_while(|s| *s != Signal::Burnout)
            .map(Signal::width)
            .sum::<usize>();
        values[b] = 30;
        let sums = PairSums::from_values(values).unwrap();
        let release = |segment: Segment, groups: u32| Release {
            segment,
            period: "2026-11".parse().unwrap(),
            groups,
            sums: sums.clone(),
            sigma,
        };
        let all = series(
            &[
                release(Segment::Network, 12),
                release(Segment::Region("uk-wales".into()), 4),
            ],
            MinGroups::default(),
        );
        assert!(
            all.iter().all(|s| s.segment == Segment::Network),
            "4 < m is hidden"
        );
        let burnout = all
            .iter()
            .find(|s| s.measure.signal() == Signal::Burnout)
            .unwrap();
        let p = burnout.points[0];
        assert!((p.share - 0.30).abs() < 1e-12);
        let v = 2.0 * 9.2f64.powi(2);
        let expected = (100.0 * 0.3 * 0.7 + v + 0.09 * 2.0 * v) / 100.0f64.powi(2);
        assert!((p.variance - expected).abs() < 1e-12);
        assert_eq!(p.sums.groups, 12);
    }

    /// Alerts read a pair's series with the pair's variance: a rise from 30 % to 45 % over
    /// 100 groups of 8 is an alert through a pair (noise 2σ² on each sum), while the same
    /// shares from single reports (each group's σ = 6.5 on every count) are within the noise.
    #[test]
    fn alerts_see_through_a_pair_what_single_reports_hide() {
        let month = |i: u32| -> ReportPeriod { format!("2025-{:02}", i % 12 + 1).parse().unwrap() };
        let shares: Vec<f64> = (0..12).map(|i| if i == 11 { 0.45 } else { 0.30 }).collect();
        let b = 1 + Signal::all()
            .take_while(|s| *s != Signal::Burnout)
            .map(Signal::width)
            .sum::<usize>();
        let releases: Vec<Release> = (0..12u32)
            .map(|i| {
                let mut values = vec![0i64; MEASUREMENT_LEN];
                values[0] = 800;
                values[b] = (800.0 * shares[i as usize]).round() as i64;
                Release {
                    segment: Segment::Network,
                    period: month(i),
                    groups: 100,
                    sums: PairSums::from_values(values).unwrap(),
                    sigma: Sigma::from_tenths(92).unwrap(),
                }
            })
            .collect();
        let burnout = |all: Vec<Series>| -> Vec<Series> {
            all.into_iter()
                .filter(|s| s.measure.signal() == Signal::Burnout)
                .collect()
        };
        let pair = burnout(series(&releases, MinGroups::default()));
        assert!(crate::alerts::detect(&pair).iter().any(|t| t.alert));
        // The same shares as a single hub holds them: 100 groups' noise, σ = 6.5 each.
        let single: Vec<Series> = pair
            .iter()
            .map(|s| Series {
                points: s
                    .points
                    .iter()
                    .map(|p| {
                        Point::from_sums(
                            p.period,
                            Sums {
                                noise_variance: 100.0 * 6.5f64.powi(2),
                                ..p.sums
                            },
                        )
                        .unwrap()
                    })
                    .collect(),
                ..s.clone()
            })
            .collect();
        assert!(!crate::alerts::detect(&single).iter().any(|t| t.alert));
    }

    fn counts(respondents: i64, burnout: i64) -> TrueCounts {
        TrueCounts::new(respondents)
            .with(Signal::Burnout, &[burnout])
            .with(Signal::HoursBands, &[1, 2, 3, 0, respondents - 6])
    }

    /// Both hubs check one report; the leader's and helper's checked shares.
    fn check(
        leader: &Verifier,
        helper: &Verifier,
        r: &PairReport,
    ) -> Result<(Checked, Checked), PairError> {
        let l = leader.start(&r.nonce, &r.public_share, &r.leader_share)?;
        let h = helper.start(&r.nonce, &r.public_share, &r.helper_share)?;
        let (hc, message) = helper.decide(h, &l.verifier_share)?;
        Ok((leader.finish(l, &message)?, hc))
    }

    fn pair() -> (Verifier, Verifier) {
        let key = [7u8; VERIFY_KEY_LEN];
        (
            Verifier::new(HubRole::Leader, key),
            Verifier::new(HubRole::Helper, key),
        )
    }

    #[test]
    fn sums_of_checked_reports_are_the_true_sums_plus_noise_only() {
        let (leader, helper) = pair();
        let (mut a, mut b) = (Accumulator::default(), Accumulator::default());
        let mut want_resp = 0;
        let mut want_burnout = 0;
        for g in 0..12u8 {
            let n = 6 + i64::from(g % 10);
            let burnt = i64::from(g % 4);
            want_resp += n;
            want_burnout += burnt;
            let r = shard(&counts(n, burnt), SignalSet::all(), [g; NONCE_LEN]).unwrap();
            let (l, h) = check(&leader, &helper, &r).unwrap();
            a.add(&l);
            b.add(&h);
        }
        assert_eq!((a.reports(), b.reports()), (12, 12));
        let sums = unshard(&a.exact(), &b.exact(), 12).unwrap();
        assert_eq!(sums.respondents(), want_resp);
        assert_eq!(sums.counts_of(Signal::Burnout), &[want_burnout]);
        assert_eq!(sums.respondents_of(Signal::Burnout), want_resp);
    }

    #[test]
    fn a_checked_report_keeps_through_its_bytes() {
        let (leader, helper) = pair();
        let r = shard(&counts(9, 2), SignalSet::all(), [5; NONCE_LEN]).unwrap();
        let (l, h) = check(&leader, &helper, &r).unwrap();
        let (mut a, mut b) = (Accumulator::default(), Accumulator::default());
        a.add(&Checked::from_bytes(&l.to_bytes()).unwrap());
        b.add(&Checked::from_bytes(&h.to_bytes()).unwrap());
        let sums = unshard(&a.exact(), &b.exact(), 1).unwrap();
        assert_eq!(sums.counts_of(Signal::Burnout), &[2]);
        assert!(Checked::from_bytes(&[1, 2, 3]).is_err());
    }

    #[test]
    fn one_share_alone_says_nothing_of_the_counts() {
        // Two very different groups: each hub's share is as long and as random either way.
        let x = shard(&counts(6, 0), SignalSet::all(), [1; NONCE_LEN]).unwrap();
        let y = shard(&counts(120, 120), SignalSet::all(), [1; NONCE_LEN]).unwrap();
        assert_eq!(x.leader_share.len(), y.leader_share.len());
        assert_eq!(x.helper_share.len(), y.helper_share.len());
        assert_ne!(x.leader_share, y.leader_share);
        // The helper's share is a seed: it cannot depend on the counts at all.
        assert_eq!(x.helper_share.len(), 64);
    }

    #[test]
    fn a_withheld_signal_adds_nothing_and_its_respondents_are_left_out() {
        let (leader, helper) = pair();
        let (mut a, mut b) = (Accumulator::default(), Accumulator::default());
        let only_hours: SignalSet = [Signal::HoursBands].into_iter().collect();
        for (i, set) in [SignalSet::all(), only_hours].into_iter().enumerate() {
            let r = shard(&counts(10, 4), set, [i as u8; NONCE_LEN]).unwrap();
            let (l, h) = check(&leader, &helper, &r).unwrap();
            a.add(&l);
            b.add(&h);
        }
        let sums = unshard(&a.exact(), &b.exact(), 2).unwrap();
        assert_eq!(sums.counts_of(Signal::Burnout), &[4]);
        assert_eq!(sums.respondents_of(Signal::Burnout), 10);
        assert_eq!(sums.respondents_of(Signal::HoursBands), 20);
    }

    #[test]
    fn a_share_pushed_outside_its_bounds_or_altered_is_refused_by_both() {
        let (leader, helper) = pair();
        let r = shard(&counts(10, 4), SignalSet::all(), [3; NONCE_LEN]).unwrap();
        // Flip one bit anywhere in either share: the proof no longer holds.
        for (role, at) in [
            (HubRole::Leader, 0),
            (HubRole::Leader, 500),
            (HubRole::Helper, 0),
        ] {
            let mut bad = r.clone();
            match role {
                HubRole::Leader => bad.leader_share[at] ^= 1,
                HubRole::Helper => bad.helper_share[at] ^= 1,
            }
            assert_eq!(
                check(&leader, &helper, &bad).err(),
                Some(PairError::Invalid)
            );
        }
        // Another nonce than the one the group proved for.
        let mut replayed = r.clone();
        replayed.nonce[0] ^= 1;
        assert_eq!(
            check(&leader, &helper, &replayed).err(),
            Some(PairError::Invalid)
        );
        // Hubs that do not share a verify key cannot verify anything.
        let stranger = Verifier::new(HubRole::Helper, [8; VERIFY_KEY_LEN]);
        assert_eq!(
            check(&leader, &stranger, &r).err(),
            Some(PairError::Invalid)
        );
        // The honest report passes.
        assert!(check(&leader, &helper, &r).is_ok());
    }

    #[test]
    fn a_group_above_the_bound_cannot_shard() {
        assert_eq!(
            shard(&counts(128, 0), SignalSet::all(), [0; NONCE_LEN]).err(),
            Some(PairError::TooManyRespondents(128))
        );
    }

    #[test]
    fn truncated_or_foreign_bytes_are_malformed_not_panics() {
        let (leader, _) = pair();
        let r = shard(&counts(10, 4), SignalSet::all(), [4; NONCE_LEN]).unwrap();
        let short = &r.leader_share[..10];
        assert!(matches!(
            leader.start(&r.nonce, &r.public_share, short),
            Err(PairError::Malformed(_))
        ));
        assert!(matches!(
            leader.start(&r.nonce, &r.public_share, &r.helper_share),
            Err(PairError::Malformed(_))
        ));
        assert!(matches!(
            unshard(&[1, 2, 3], &[4], 1),
            Err(PairError::Malformed(_))
        ));
    }

    #[test]
    fn the_released_noise_is_both_hubs_noise_and_centred() {
        let mut rng = StdRng::seed_from_u64(9);
        let sigma = Sigma::from_tenths(92).unwrap();
        let runs = 400;
        let mut total = 0.0;
        let mut squares = 0.0;
        for _ in 0..runs {
            let sums = unshard(
                &Accumulator::default().release(sigma, &mut rng),
                &Accumulator::default().release(sigma, &mut rng),
                0,
            )
            .unwrap();
            let v = sums.respondents() as f64;
            total += v;
            squares += v * v;
        }
        let mean = total / f64::from(runs);
        let variance = squares / f64::from(runs) - mean * mean;
        let want = 2.0 * 9.2f64.powi(2);
        assert!(mean.abs() < 2.0, "mean {mean}");
        assert!(
            (variance / want - 1.0).abs() < 0.2,
            "variance {variance} vs {want}"
        );
    }

    #[test]
    fn dimensions_round_trip_and_refuse_what_is_not_one() {
        let dims = vec![Dimension::Network, Dimension::Region, Dimension::SizeBand];
        assert_eq!(
            dimensions_from_slugs(&dimensions_to_slugs(&dims)),
            Some(dims)
        );
        assert_eq!(dimensions_from_slugs("network,network"), None);
        assert_eq!(dimensions_from_slugs("network,planet"), None);
        assert_eq!(dimensions_from_slugs(""), None);
    }

    #[test]
    fn a_plan_fits_a_year_of_releases_in_the_levels_budget() {
        let plan = PairPlan::new(
            Cadence::Month,
            vec![Dimension::Network, Dimension::Region],
            PrivacyLevel::Standard,
        );
        // 12 months × 2 releases × 7 / (2σ²) ≤ 1 → σ ≥ √84 ≈ 9.17.
        assert_eq!(plan.sigma.tenths(), 92);
        let profile = GroupProfile {
            region: Some("uk-north-west".into()),
            focuses: vec!["peer-support".into(), "survivor-led".into()],
            size_band: None,
        };
        assert_eq!(
            plan.segments_of(&profile),
            vec![Segment::Network, Segment::Region("uk-north-west".into())]
        );
        assert!(plan.yearly_cost(&profile) <= PrivacyLevel::Standard.yearly_budget());
        // A year of a plan with one more dimension would not fit at this σ.
        let wider = PairPlan {
            dimensions: vec![Dimension::Network, Dimension::Region, Dimension::Focus],
            ..plan.clone()
        };
        assert!(wider.yearly_cost(&profile) > PrivacyLevel::Standard.yearly_budget());
    }
}
