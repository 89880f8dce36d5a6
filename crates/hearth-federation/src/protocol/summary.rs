//! A hub's sector summary on the wire: a `Create` of a `Note` any fediverse account can read,
//! with the figures attached in Hearth's vocabulary, and the checks a group makes of one.

use activitypub_federation::kinds::activity::{CreateType, UpdateType};
use activitypub_federation::kinds::object::NoteType;
use hearth_core::report::{ReportPeriod, SCHEMA_VERSION};
use hearth_core::sector::Segment;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::FedError;

pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// One figure: a measure's pooled share in one segment, with its 95 % interval.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Figure {
    pub segment: String,
    pub measure: String,
    pub share: f64,
    pub interval_low: f64,
    pub interval_high: f64,
    pub groups: u32,
    /// `pair` for a figure a hub pair released (noise added once to the sum); absent for one
    /// from the hub's own reports. (Not `source`, which ActivityStreams already defines.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation: Option<String>,
}

/// The summary: a readable Note with the figures attached.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SectorSummary {
    #[serde(rename = "type")]
    pub kind: NoteType,
    pub id: Url,
    pub attributed_to: Url,
    pub to: Vec<Url>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Url>,
    pub content: String,
    /// When the summary first went out; absent from hubs of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<chrono::DateTime<chrono::Utc>>,
    /// When later reports last changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<chrono::DateTime<chrono::Utc>>,
    /// The summary's page for people (its id, answered with HTML for a browser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    pub schema_version: u32,
    pub period: String,
    pub sector_figures: Vec<Figure>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSummary {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: CreateType,
    pub actor: Url,
    pub to: Vec<Url>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Url>,
    pub object: SectorSummary,
}

/// A published summary that later reports changed: the same Note, same id and addressing,
/// with new figures and `updated`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSummary {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UpdateType,
    pub actor: Url,
    pub to: Vec<Url>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Url>,
    pub object: SectorSummary,
}

impl SectorSummary {
    pub(crate) fn check(&self, actor: &Url) -> Result<(), FedError> {
        if self.attributed_to != *actor || self.id.host_str() != actor.host_str() {
            return Err(FedError::Invalid(
                "a hub can only send its own summary".into(),
            ));
        }
        if self.schema_version != SCHEMA_VERSION {
            return Err(FedError::Invalid(format!(
                "schemaVersion {} is not supported",
                self.schema_version
            )));
        }
        self.period
            .parse::<ReportPeriod>()
            .map_err(|e| FedError::Invalid(e.to_string()))?;
        for f in &self.sector_figures {
            let ok = [f.share, f.interval_low, f.interval_high]
                .iter()
                .all(|x| (0.0..=1.0).contains(x))
                && f.interval_low <= f.share
                && f.share <= f.interval_high
                && f.groups >= hearth_core::sector::MIN_GROUPS
                && Segment::parse(&f.segment).is_some()
                && hearth_core::sector::Measure::parse(&f.measure).is_some();
            if !ok {
                return Err(FedError::Invalid(format!(
                    "figure {} {} is out of range",
                    f.segment, f.measure
                )));
            }
        }
        Ok(())
    }
}
