//! A hub pair on the wire. The leader offers the pair to the helper (`Offer` of a `HubPair`,
//! the only message that carries the verify key, and only to the helper); the helper's staff
//! answer (`Accept` or `Reject` of the `Offer`). A group sends each hub its own share of a
//! report (`Create` of a `PairShare`). The hubs then check and sum in four steps, each a
//! `Create` delivered through the outbox, so a hub that is down gets them when it is back:
//! the leader's verifier shares (`PairAggregation`), the helper's verdicts (`PairVerdicts`),
//! the leader's request for one batch (`PairCollection`) and the helper's noisy aggregate
//! share of it (`PairAggregateShare`). The steps follow DAP's aggregation and collection jobs.

use activitypub_federation::kinds::activity::{AcceptType, CreateType, OfferType, RejectType};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hearth_core::noise::Sigma;
use hearth_core::pair::{Dimension, NONCE_LEN, PairPlan, VERIFY_KEY_LEN, dimensions_from_slugs};
use hearth_core::report::ReportPeriod;
use hearth_core::sharing::Cadence;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::FedError;

/// The most reports one aggregation step carries, so each stays well inside an inbox's limit.
pub const REPORTS_PER_STEP: usize = 100;
/// Largest base64 text of one share or verifier share a hub accepts.
const MAX_SHARE_CHARS: usize = 16 * 1024;

pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn decode(text: &str, what: &str) -> Result<Vec<u8>, FedError> {
    if text.len() > MAX_SHARE_CHARS {
        return Err(FedError::Invalid(format!("{what} is too long")));
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| FedError::Invalid(format!("{what} is not base64url")))
}

pub fn decode_nonce(text: &str) -> Result<[u8; NONCE_LEN], FedError> {
    <[u8; NONCE_LEN]>::try_from(decode(text, "nonce")?)
        .map_err(|_| FedError::Invalid(format!("a nonce is {NONCE_LEN} bytes")))
}

pub fn decode_verify_key(text: &str) -> Result<[u8; VERIFY_KEY_LEN], FedError> {
    <[u8; VERIFY_KEY_LEN]>::try_from(decode(text, "verifyKey")?)
        .map_err(|_| FedError::Invalid(format!("a verify key is {VERIFY_KEY_LEN} bytes")))
}

fn period(s: &str) -> Result<ReportPeriod, FedError> {
    s.parse()
        .map_err(|_| FedError::Invalid(format!("{s:?} is not a period")))
}

macro_rules! object_type {
    ($t:ident) => {
        #[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
        pub enum $t {
            $t,
        }
    };
}
object_type!(HubPair);
object_type!(PairShare);
object_type!(PairAggregation);
object_type!(PairVerdicts);
object_type!(PairCollection);
object_type!(PairAggregateShare);

/// What two hubs agree to aggregate, and how.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HubPairObject {
    #[serde(rename = "type")]
    pub kind: HubPair,
    pub id: Url,
    pub leader: Url,
    pub helper: Url,
    pub cadence: String,
    pub dimensions: Vec<String>,
    /// The noise each hub adds to each entry of its aggregate share.
    pub noise_sigma: f64,
    pub min_groups: u32,
    /// Only in the `Offer` to the helper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_key: Option<String>,
}

impl HubPairObject {
    pub fn new(id: Url, leader: Url, helper: Url, plan: &PairPlan, min_groups: u32) -> Self {
        HubPairObject {
            kind: HubPair::HubPair,
            id,
            leader,
            helper,
            cadence: plan.cadence.slug().to_owned(),
            dimensions: plan
                .dimensions
                .iter()
                .map(|d| d.slug().to_owned())
                .collect(),
            noise_sigma: plan.sigma.as_f64(),
            min_groups,
            verify_key: None,
        }
    }

    /// The plan it describes, checked: a known cadence and dimensions, a σ in tenths, m ≥ 5.
    pub fn plan(&self) -> Result<(PairPlan, u32), FedError> {
        let bad = |what: &str| FedError::Invalid(format!("the pair's {what} is not valid"));
        let cadence = Cadence::parse(&self.cadence).map_err(|_| bad("cadence"))?;
        let dimensions: Vec<Dimension> =
            dimensions_from_slugs(&self.dimensions.join(",")).ok_or_else(|| bad("dimensions"))?;
        let tenths = (self.noise_sigma * 10.0).round();
        if !(1.0..=10_000.0).contains(&tenths) || (tenths / 10.0 - self.noise_sigma).abs() > 1e-9 {
            return Err(bad("noiseSigma"));
        }
        let sigma = Sigma::from_tenths(tenths as u32).map_err(|_| bad("noiseSigma"))?;
        if self.min_groups < hearth_core::sector::MIN_GROUPS {
            return Err(bad("minGroups"));
        }
        Ok((
            PairPlan {
                cadence,
                dimensions,
                sigma,
            },
            self.min_groups,
        ))
    }
}

/// The leader offers a pair to the helper.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferPair {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: OfferType,
    pub actor: Url,
    pub to: Vec<Url>,
    pub object: HubPairObject,
}

/// Either hub ends the pair (or the leader withdraws its offer): nothing more is checked or
/// released, and the leader no longer lists it for its groups. The object is the pair as
/// agreed, without the verify key.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndPair {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: activitypub_federation::kinds::activity::DeleteType,
    pub actor: Url,
    pub to: Vec<Url>,
    pub object: HubPairObject,
}

/// The helper's staff take the pair.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AcceptPair {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: AcceptType,
    pub actor: Url,
    pub to: Vec<Url>,
    pub object: OfferPair,
}

/// The helper's staff decline the pair.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectPair {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: RejectType,
    pub actor: Url,
    pub to: Vec<Url>,
    pub object: OfferPair,
}

/// One hub's share of a group's report for a period: random on its own.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PairShareObject {
    #[serde(rename = "type")]
    pub kind: PairShare,
    pub id: Url,
    pub attributed_to: Url,
    pub to: Vec<Url>,
    /// The pair's id.
    pub pair: Url,
    pub period: String,
    pub nonce: String,
    pub public_share: String,
    pub input_share: String,
}

impl PairShareObject {
    /// The checks a hub makes before storing a share: its own group's, addressed to this hub,
    /// a period, a nonce, shares of a sane size.
    pub fn check(&self, actor: &Url, hub: &Url) -> Result<ReportPeriod, FedError> {
        if self.attributed_to != *actor || self.id.host_str() != actor.host_str() {
            return Err(FedError::Invalid(
                "a group can only send its own shares".into(),
            ));
        }
        if !self.to.contains(hub) {
            return Err(FedError::Invalid(
                "the share is not addressed to this hub".into(),
            ));
        }
        decode_nonce(&self.nonce)?;
        decode(&self.public_share, "publicShare")?;
        decode(&self.input_share, "inputShare")?;
        period(&self.period)
    }
}

/// One report's leader verifier share.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReportToCheck {
    pub nonce: String,
    pub verifier_share: String,
}

/// The leader asks the helper to check reports of a period.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PairAggregationObject {
    #[serde(rename = "type")]
    pub kind: PairAggregation,
    pub id: Url,
    pub pair: Url,
    pub period: String,
    pub reports: Vec<ReportToCheck>,
}

/// The helper's verdict on one report: the message that finishes it, or none (refused).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PairVerdictsObject {
    #[serde(rename = "type")]
    pub kind: PairVerdicts,
    pub id: Url,
    pub pair: Url,
    pub period: String,
    pub verdicts: Vec<Verdict>,
}

/// The leader asks for the helper's share of one batch: these reports, this segment and period.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PairCollectionObject {
    #[serde(rename = "type")]
    pub kind: PairCollection,
    pub id: Url,
    pub pair: Url,
    pub period: String,
    pub segment: String,
    pub nonces: Vec<String>,
}

/// The helper's noisy aggregate share of one batch.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PairAggregateShareObject {
    #[serde(rename = "type")]
    pub kind: PairAggregateShare,
    pub id: Url,
    pub pair: Url,
    pub period: String,
    pub segment: String,
    pub reports: u32,
    pub aggregate_share: String,
}

/// Every pair step travels as a `Create` of its object.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePair<T> {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: CreateType,
    pub actor: Url,
    pub to: Vec<Url>,
    pub object: T,
}

pub type CreatePairShare = CreatePair<PairShareObject>;
pub type CreatePairAggregation = CreatePair<PairAggregationObject>;
pub type CreatePairVerdicts = CreatePair<PairVerdictsObject>;
pub type CreatePairCollection = CreatePair<PairCollectionObject>;
pub type CreatePairAggregateShare = CreatePair<PairAggregateShareObject>;

impl PairAggregationObject {
    pub fn check(&self) -> Result<ReportPeriod, FedError> {
        if self.reports.len() > REPORTS_PER_STEP {
            return Err(FedError::Invalid("too many reports in one step".into()));
        }
        for r in &self.reports {
            decode_nonce(&r.nonce)?;
            decode(&r.verifier_share, "verifierShare")?;
        }
        period(&self.period)
    }
}

impl PairVerdictsObject {
    pub fn check(&self) -> Result<ReportPeriod, FedError> {
        if self.verdicts.len() > REPORTS_PER_STEP {
            return Err(FedError::Invalid("too many verdicts in one step".into()));
        }
        for v in &self.verdicts {
            decode_nonce(&v.nonce)?;
            if let Some(m) = &v.message {
                decode(m, "message")?;
            }
        }
        period(&self.period)
    }
}

impl PairCollectionObject {
    pub fn check(&self) -> Result<ReportPeriod, FedError> {
        hearth_core::sector::Segment::parse(&self.segment)
            .ok_or_else(|| FedError::Invalid(format!("{:?} is not a segment", self.segment)))?;
        for n in &self.nonces {
            decode_nonce(n)?;
        }
        period(&self.period)
    }
}

impl PairAggregateShareObject {
    pub fn check(&self) -> Result<ReportPeriod, FedError> {
        hearth_core::sector::Segment::parse(&self.segment)
            .ok_or_else(|| FedError::Invalid(format!("{:?} is not a segment", self.segment)))?;
        decode(&self.aggregate_share, "aggregateShare")?;
        period(&self.period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_core::sharing::PrivacyLevel;

    fn object() -> HubPairObject {
        let plan = PairPlan::new(
            Cadence::Month,
            vec![Dimension::Network, Dimension::Region],
            PrivacyLevel::Standard,
        );
        HubPairObject::new(
            Url::parse("https://lead.example/pairs/1").unwrap(),
            Url::parse("https://lead.example/actor").unwrap(),
            Url::parse("https://help.example/actor").unwrap(),
            &plan,
            5,
        )
    }

    #[test]
    fn a_pair_object_gives_back_its_plan_and_refuses_a_bad_one() {
        let o = object();
        let (plan, m) = o.plan().unwrap();
        assert_eq!(plan.sigma.tenths(), 92);
        assert_eq!(m, 5);
        for bad in [
            HubPairObject {
                min_groups: 4,
                ..o.clone()
            },
            HubPairObject {
                noise_sigma: 9.25,
                ..o.clone()
            },
            HubPairObject {
                noise_sigma: -1.0,
                ..o.clone()
            },
            HubPairObject {
                cadence: "daily".into(),
                ..o.clone()
            },
            HubPairObject {
                dimensions: vec![],
                ..o.clone()
            },
        ] {
            assert!(bad.plan().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn nonces_and_keys_have_their_exact_length() {
        assert!(decode_nonce(&encode(&[0; 16])).is_ok());
        assert!(decode_nonce(&encode(&[0; 15])).is_err());
        assert!(decode_verify_key(&encode(&[0; 32])).is_ok());
        assert!(decode_nonce("not base64!").is_err());
        assert!(decode(&"A".repeat(MAX_SHARE_CHARS + 1), "x").is_err());
    }
}
