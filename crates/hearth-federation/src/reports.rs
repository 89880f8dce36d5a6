//! Reports over the wire. A group makes each period's report when the period closes
//! ([`make_due_reports`]), keeps it for a facilitator's approval or sends it at once, and a hub
//! validates and stores what arrives. `Create` carries a new report, `Update` the same period's
//! report again (replacing what the hub holds), and `Delete` of the group's reports collection
//! asks the hub to erase every report from the group.

use std::collections::{BTreeMap, HashSet};

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::kinds::activity::{CreateType, DeleteType, UndoType, UpdateType};
use activitypub_federation::traits::Activity;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hearth_core::report::NoisyCounts;
use hearth_core::report::{NoisyReport, ReportPeriod, SCHEMA_VERSION, make_report};
use hearth_core::sharing::{BudgetCheck, Rho, Signal, SignalSet, check_budget};
use hearth_core::signal::RESPONDENTS;
use hearth_core::{InstanceRole, IsoWeek};
use hearth_db::{
    DbError, MembershipState, NewOutbox, NewSharedReport, ReceivedReport, ReportState,
};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::activities::{new_activity_id, outbox_item};
use crate::actor::Peer;
use crate::protocol::{Follow, Undo};
use crate::{FedContext, FedError};

/// The one object type a report has.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum WellbeingReportType {
    WellbeingReport,
}

/// How the counts were noised.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum NoiseMechanism {
    DiscreteGaussian,
}

/// A group's report for one period: noisy counts and how they were noised, nothing else.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WellbeingReport {
    #[serde(rename = "type")]
    pub kind: WellbeingReportType,
    pub id: Url,
    pub attributed_to: Url,
    pub to: Vec<Url>,
    pub schema_version: u32,
    /// `YYYY-MM` or `YYYY-Www`.
    pub period: String,
    pub noise_mechanism: NoiseMechanism,
    pub noise_sigma: f64,
    /// What this report cost in zero-concentrated DP.
    pub privacy_cost_rho: f64,
    /// `respondents`, then each shared signal under its JSON term.
    #[serde(flatten)]
    pub counts: ReportCounts,
}

/// A report's counts as they travel: `respondents`, then each shared signal under its JSON
/// term ([`Signal::wire`]), a number for a signal of one count and an array in count order for
/// one of several. Values are kept as they arrived; [`WellbeingReport::validate`] checks them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportCounts {
    pub respondents: i64,
    pub signals: BTreeMap<Signal, Vec<i64>>,
}

impl Serialize for ReportCounts {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = ser.serialize_map(Some(1 + self.signals.len()))?;
        m.serialize_entry(RESPONDENTS, &self.respondents)?;
        for (signal, values) in &self.signals {
            match values.as_slice() {
                [one] if signal.width() == 1 => m.serialize_entry(signal.wire(), one)?,
                many => m.serialize_entry(signal.wire(), many)?,
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ReportCounts {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = ReportCounts;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a report's counts")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ReportCounts, A::Error> {
                use serde::de::Error;
                let mut respondents = None;
                let mut signals = BTreeMap::new();
                let mut seen = SignalSet::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == RESPONDENTS {
                        if respondents.is_some() {
                            return Err(A::Error::duplicate_field(RESPONDENTS));
                        }
                        respondents = Some(map.next_value::<i64>()?);
                        continue;
                    }
                    let Some(signal) = Signal::from_wire(&key) else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        continue;
                    };
                    if seen.contains(signal) {
                        return Err(A::Error::duplicate_field(signal.wire()));
                    }
                    seen.insert(signal);
                    // A null is an absent signal, as an optional field would read it.
                    let values = if signal.width() == 1 {
                        map.next_value::<Option<i64>>()?.map(|v| vec![v])
                    } else {
                        map.next_value::<Option<Vec<i64>>>()?
                    };
                    if let Some(v) = values {
                        signals.insert(signal, v);
                    }
                }
                Ok(ReportCounts {
                    respondents: respondents.ok_or_else(|| A::Error::missing_field(RESPONDENTS))?,
                    signals,
                })
            }
        }
        de.deserialize_map(Visit)
    }
}

impl ReportCounts {
    /// The wire form of a report's noisy counts.
    pub fn of(c: &NoisyCounts) -> Self {
        ReportCounts {
            respondents: c.respondents(),
            signals: c.iter().map(|(s, v)| (s, v.to_vec())).collect(),
        }
    }
}

/// A new report for a hub.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateReport {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: CreateType,
    pub actor: ObjectId<Peer>,
    pub to: Vec<Url>,
    pub object: WellbeingReport,
}

/// The same period's report again: the hub replaces what it holds.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateReport {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UpdateType,
    pub actor: ObjectId<Peer>,
    pub to: Vec<Url>,
    pub object: WellbeingReport,
}

/// Erase every report from the sending group: the object is the group's reports collection.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteReports {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: DeleteType,
    pub actor: ObjectId<Peer>,
    pub to: Vec<Url>,
    pub object: Url,
}

/// Largest |count| a hub accepts: far beyond any group, small enough to sum safely.
const MAX_ABS_COUNT: i64 = 1_000_000;

impl WellbeingReport {
    /// The wire object for a report made on this instance for `hub`.
    pub fn from_report(id: Url, group: Url, hub: Url, r: &NoisyReport) -> Self {
        WellbeingReport {
            kind: WellbeingReportType::WellbeingReport,
            id,
            attributed_to: group,
            to: vec![hub],
            schema_version: SCHEMA_VERSION,
            period: r.period.to_string(),
            noise_mechanism: NoiseMechanism::DiscreteGaussian,
            noise_sigma: r.sigma.as_f64(),
            privacy_cost_rho: r.rho.as_f64(),
            counts: ReportCounts::of(&r.counts),
        }
    }

    /// The signals this report carries.
    pub fn signals(&self) -> SignalSet {
        self.counts.signals.keys().copied().collect()
    }

    /// Checks a received report against the format and the rules a sender must keep, and
    /// turns it into what the hub stores. `today` bounds the period: no report for a period
    /// that has not begun.
    pub fn validate(&self, today: chrono::NaiveDate) -> Result<ReceivedReport, FedError> {
        let bad = |m: String| Err(FedError::Invalid(m));
        if self.schema_version != SCHEMA_VERSION {
            return bad(format!(
                "schemaVersion {} is not supported (this hub reads {SCHEMA_VERSION})",
                self.schema_version
            ));
        }
        let period: ReportPeriod = self
            .period
            .parse()
            .map_err(|e: hearth_core::report::BadPeriod| FedError::Invalid(e.to_string()))?;
        let starts = period
            .weeks()
            .first()
            .map(|w| w.monday())
            .unwrap_or(chrono::NaiveDate::MAX);
        if starts > today {
            return bad(format!("period {period} has not begun"));
        }
        let tenths = (self.noise_sigma * 10.0).round();
        if !(10.0..=10_000.0).contains(&tenths) || (tenths / 10.0 - self.noise_sigma).abs() > 1e-9 {
            return bad(format!(
                "noiseSigma {} is not a σ from 1.0 to 1000.0",
                self.noise_sigma
            ));
        }
        let sigma = hearth_core::noise::Sigma::from_tenths(tenths as u32)
            .map_err(|e| FedError::Invalid(e.to_string()))?;
        let rho = Rho::of_report(self.signals().touched_counts(), sigma);
        if (self.privacy_cost_rho - rho.as_f64()).abs() > 1e-6 {
            return bad(format!(
                "privacyCostRho {} does not match σ and the signals sent ({rho})",
                self.privacy_cost_rho
            ));
        }
        // Any number of respondents, negative included: noise alone protects members, and a
        // rule on the count would bias the sector's sums.
        let mut counts: Vec<(String, i64)> = vec![(RESPONDENTS.into(), self.counts.respondents)];
        for (signal, values) in &self.counts.signals {
            let names = signal.def().counts;
            if values.len() != names.len() {
                return bad(format!(
                    "{} has {} values, not {}",
                    signal.wire(),
                    values.len(),
                    names.len()
                ));
            }
            counts.extend(
                names
                    .iter()
                    .map(|(name, _)| (*name).to_owned())
                    .zip(values.iter().copied()),
            );
        }
        if let Some((name, v)) = counts.iter().find(|(_, v)| v.abs() > MAX_ABS_COUNT) {
            return bad(format!("{name} {v} is out of range"));
        }
        Ok(ReceivedReport {
            object_id: self.id.to_string(),
            period: period.to_string(),
            schema_version: i32::try_from(self.schema_version).unwrap_or(i32::MAX),
            sigma_tenths: i32::try_from(sigma.tenths()).unwrap_or(i32::MAX),
            rho,
            counts,
            segments: Vec::new(),
        })
    }
}

fn require_hub(data: &FedContext, what: &str) -> Result<(), FedError> {
    if data.role == InstanceRole::Hub {
        Ok(())
    } else {
        Err(FedError::NotAllowed(format!(
            "{what} is only accepted by a hub"
        )))
    }
}

/// Checks what every report activity must satisfy at a hub: addressed to this hub, the object
/// the sender's own and on its own domain, the sender an accepted member group.
async fn verify_report(
    data: &FedContext,
    actor: &Url,
    to: &[Url],
    object: &WellbeingReport,
) -> Result<hearth_db::PeerRow, FedError> {
    require_hub(data, "A report")?;
    let hub = data.actor_url();
    if !to.contains(&hub) || !object.to.contains(&hub) {
        return Err(FedError::Invalid(
            "the report is not addressed to this hub".into(),
        ));
    }
    if object.attributed_to != *actor || object.id.host_str() != actor.host_str() {
        return Err(FedError::Invalid(
            "a group can only send its own reports".into(),
        ));
    }
    match crate::inbox::membership_of(data, actor.as_str()).await? {
        Some(m) if m.state == MembershipState::Accepted => Ok(m.peer),
        _ => Err(FedError::NotAllowed(
            "only member groups may send reports".into(),
        )),
    }
}

async fn store(
    data: &FedContext,
    activity: &Url,
    actor: &Url,
    to: &[Url],
    object: &WellbeingReport,
    replace: bool,
) -> Result<(), FedError> {
    let peer = verify_report(data, actor, to, object).await?;
    let mut received = object.validate(data.now().date_naive())?;
    // The report counts in the segments the group is in now, for good.
    received.segments = peer
        .group_profile()
        .segments()
        .iter()
        .map(hearth_core::sector::Segment::key)
        .collect();
    // The activity is recorded as received in the report's own transaction.
    let outcome = data
        .db
        .store_report_of_activity(
            peer.id,
            &received,
            replace,
            data.now(),
            Some(activity.as_str()),
        )
        .await?;
    crate::inbox::mark_recorded();
    tracing::info!(group = %actor, period = %received.period, ?outcome, "report received");
    Ok(())
}

/// `Create` and `Update` of a report differ only in whether the stored report is replaced.
macro_rules! report_activity {
    ($t:ty, $replace:expr) => {
        #[async_trait::async_trait]
        impl Activity for $t {
            type DataType = FedContext;
            type Error = FedError;
            fn id(&self) -> &Url {
                &self.id
            }
            fn actor(&self) -> &Url {
                self.actor.inner()
            }
            async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
                verify_report(data, self.actor.inner(), &self.to, &self.object)
                    .await
                    .map(|_| ())
            }
            async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
                store(
                    data,
                    &self.id,
                    self.actor.inner(),
                    &self.to,
                    &self.object,
                    $replace,
                )
                .await
            }
        }
    };
}

report_activity!(CreateReport, false);
report_activity!(UpdateReport, true);

/// The collection of a group's reports, which a `Delete` names to erase them all.
pub fn reports_collection(actor: &Url) -> Url {
    let mut u = actor.clone();
    u.set_path("/reports");
    u.set_query(None);
    u
}

#[async_trait::async_trait]
impl Activity for DeleteReports {
    type DataType = FedContext;
    type Error = FedError;
    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        self.actor.inner()
    }
    async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
        require_hub(data, "Delete")?;
        if self.object != reports_collection(self.actor.inner()) {
            return Err(FedError::Invalid(
                "a group can only ask to erase its own reports collection".into(),
            ));
        }
        Ok(())
    }
    /// Erases every report from the group, whether or not it is still a member.
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        let Some(peer) = data.db.peer_by_url(self.actor.inner().as_str()).await? else {
            return Ok(());
        };
        let n = data.db.erase_received_reports(peer.id).await?;
        tracing::info!(group = %self.actor.inner(), erased = n, "reports erased on request");
        Ok(())
    }
}

/// What [`make_due_reports`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MadeReports {
    pub sent: usize,
    pub awaiting_approval: usize,
    pub over_budget: usize,
}

/// At most this many periods are decided per hub in one call (ten years of weeks), so a
/// long-idle instance catches up in bounded work.
const MAX_PERIODS_PER_CALL: usize = 530;

/// Makes every report that has come due: for each accepted hub with sharing on, each period
/// that closed after sharing was turned on and has no report yet. The budget is checked and
/// the cost recorded before anything is queued; automatic sharing queues the `Create` in the
/// same transaction.
pub async fn make_due_reports<R: RngCore + CryptoRng>(
    ctx: &FedContext,
    now: DateTime<Utc>,
    rng: &mut R,
) -> Result<MadeReports, FedError> {
    let mut made = MadeReports::default();
    if ctx.role != InstanceRole::Group {
        return Ok(made);
    }
    let Some(group) = ctx.db.group_settings().await? else {
        return Ok(made);
    };
    let (tz, close) = (group.timezone, group.close);
    for m in ctx.db.memberships().await? {
        if m.state != MembershipState::Accepted {
            continue;
        }
        let sharing = ctx.db.sharing(m.peer.id).await?;
        let (s, Some(enabled_at)) = (sharing.settings, sharing.enabled_at) else {
            continue;
        };
        if !s.enabled {
            continue;
        }
        let hub = Peer::from_row(&m.peer)?;
        let done: HashSet<String> = ctx
            .db
            .reported_periods(hub.id.as_str())
            .await?
            .into_iter()
            .collect();
        let mut period = ReportPeriod::of_week(IsoWeek::containing(enabled_at, tz), s.cadence);
        for _ in 0..MAX_PERIODS_PER_CALL {
            let closes = period.closes_at(tz, close);
            if closes > now {
                break;
            }
            if closes > enabled_at && !done.contains(&period.to_string()) {
                match make_one(ctx, &hub, period, &s, rng).await? {
                    ReportState::Sent => made.sent += 1,
                    ReportState::AwaitingApproval => made.awaiting_approval += 1,
                    ReportState::OverBudget => made.over_budget += 1,
                    // Made no more; reports recorded as suppressed before stay in the log.
                    ReportState::Declined | ReportState::Suppressed => {}
                }
            }
            period = period.next();
        }
    }
    if made.sent > 0 {
        ctx.wake_outbox();
    }
    Ok(made)
}

async fn make_one<R: RngCore + CryptoRng>(
    ctx: &FedContext,
    hub: &Peer,
    period: ReportPeriod,
    s: &hearth_core::sharing::SharingSettings,
    rng: &mut R,
) -> Result<ReportState, FedError> {
    let year = period.budget_year();
    let mut row = NewSharedReport {
        hub_actor: hub.id.to_string(),
        hub_name: hub.name.clone(),
        period: period.to_string(),
        budget_year: year,
        state: ReportState::OverBudget,
        rho: Rho(0),
        object_id: None,
        activity: None,
    };
    let spent = ctx.db.budget_spent(hub.id.as_str(), year).await?;
    if let BudgetCheck::OverCap { .. } = check_budget(spent, s.rho_per_report()) {
        ctx.db.record_report(&row, None, ctx.now()).await?;
        tracing::info!(hub = %hub.id, %period, "report not made: the year's privacy budget is spent");
        return Ok(ReportState::OverBudget);
    }
    let contributions = ctx.db.contributions(&period.weeks()).await?;
    let report = make_report(period, s, &contributions, rng);
    let (object_id, item) = report_create(ctx, hub, &report)?;
    row.rho = report.rho;
    row.object_id = Some(object_id.to_string());
    row.activity = Some(item.payload.clone());
    row.state = if s.automatic {
        ReportState::Sent
    } else {
        ReportState::AwaitingApproval
    };
    let send = s.automatic.then_some(&item);
    // Stamped by the instance's clock, whatever `now` the caller judged due periods by.
    ctx.db.record_report(&row, send, ctx.now()).await?;
    tracing::info!(hub = %hub.id, %period, state = row.state.as_str(), "report made");
    Ok(row.state)
}

/// The `Create` that carries `report` to `hub`, as the outbox row that sends it, with the new
/// report's id.
pub fn report_create(
    ctx: &FedContext,
    hub: &Peer,
    report: &NoisyReport,
) -> Result<(Url, NewOutbox), FedError> {
    // Ids come from the OS generator like activity ids, never from the noise generator.
    let object_id = new_activity_id(ctx, "report");
    let object_id = ctx.url(&object_id.path().replace("/activities/report/", "/reports/"));
    let object =
        WellbeingReport::from_report(object_id.clone(), ctx.actor_url(), hub.id.clone(), report);
    let id = new_activity_id(ctx, "create");
    let create = CreateReport {
        id: id.clone(),
        kind: CreateType::Create,
        actor: ctx.actor_url().into(),
        to: vec![hub.id.clone()],
        object,
    };
    Ok((object_id, outbox_item(&create, &id, "Create", &hub.inbox)?))
}

/// The hub a stored report is for, if the group is still a member.
async fn member_hub(ctx: &FedContext, hub_actor: &str) -> Result<Peer, FedError> {
    match ctx.db.membership_by_actor(hub_actor).await? {
        Some(m) if m.state == MembershipState::Accepted => Peer::from_row(&m.peer),
        _ => Err(FedError::NotAllowed(
            "this group is no longer a member of that hub".into(),
        )),
    }
}

/// The stored activity of a report, as the outbox row that sends exactly those bytes.
fn stored_item(activity: &str, kind: &str, inbox: &Url) -> Result<NewOutbox, FedError> {
    let v: serde_json::Value = serde_json::from_str(activity)?;
    let id = v
        .get("id")
        .and_then(|i| i.as_str())
        .ok_or_else(|| FedError::Invalid("stored report has no id".into()))?;
    Ok(NewOutbox {
        activity_id: id.to_owned(),
        activity_type: kind.to_owned(),
        inbox: inbox.to_string(),
        payload: activity.to_owned(),
    })
}

/// A facilitator approves a report: the previewed JSON is queued byte for byte.
pub async fn approve(ctx: &FedContext, report_id: i64) -> Result<(), FedError> {
    let r = ctx
        .db
        .shared_report(report_id)
        .await?
        .ok_or(FedError::Db(DbError::NotFound))?;
    let activity = r
        .activity
        .as_deref()
        .filter(|_| r.state == ReportState::AwaitingApproval)
        .ok_or(FedError::Db(DbError::NotFound))?;
    let hub = member_hub(ctx, &r.hub_actor).await?;
    let item = stored_item(activity, "Create", &hub.inbox)?;
    ctx.db.approve_report(report_id, &item, ctx.now()).await?;
    ctx.wake_outbox();
    Ok(())
}

/// Sends a report the hub already had again, as an `Update` of the same object (a hub that
/// lost it, or holds an older copy, replaces it). The numbers are the same, so this spends no
/// privacy budget.
pub async fn send_again(ctx: &FedContext, report_id: i64) -> Result<(), FedError> {
    let r = ctx
        .db
        .shared_report(report_id)
        .await?
        .ok_or(FedError::Db(DbError::NotFound))?;
    let activity = r
        .activity
        .as_deref()
        .filter(|_| r.state == ReportState::Sent && r.erasure_requested_at.is_none())
        .ok_or(FedError::Db(DbError::NotFound))?;
    let hub = member_hub(ctx, &r.hub_actor).await?;
    let create: CreateReport = serde_json::from_str(activity)?;
    let id = new_activity_id(ctx, "update");
    let update = UpdateReport {
        id: id.clone(),
        kind: UpdateType::Update,
        actor: create.actor,
        to: create.to,
        object: create.object,
    };
    let item = outbox_item(&update, &id, "Update", &hub.inbox)?;
    ctx.db.enqueue(&[item], ctx.now()).await?;
    ctx.wake_outbox();
    Ok(())
}

fn delete_item(ctx: &FedContext, hub: &Peer) -> Result<NewOutbox, FedError> {
    let id = new_activity_id(ctx, "delete");
    let delete = DeleteReports {
        id: id.clone(),
        kind: DeleteType::Delete,
        actor: ctx.actor_url().into(),
        to: vec![hub.id.clone()],
        object: reports_collection(&ctx.actor_url()),
    };
    outbox_item(&delete, &id, "Delete", &hub.inbox)
}

/// Asks a hub to erase every report this group has sent it.
pub async fn request_erasure(ctx: &FedContext, peer_id: i64) -> Result<(), FedError> {
    let m = ctx
        .db
        .membership(peer_id)
        .await?
        .ok_or(FedError::Db(DbError::NotFound))?;
    let hub = Peer::from_row(&m.peer)?;
    let item = delete_item(ctx, &hub)?;
    ctx.db
        .request_erasure(hub.id.as_str(), &item, ctx.now())
        .await?;
    ctx.wake_outbox();
    Ok(())
}

/// A group leaves a hub: `Undo` of its Follow, preceded by a `Delete` of its reports when it
/// asks for erasure; sharing settings go and reports awaiting approval are declined.
pub async fn leave(ctx: &FedContext, peer_id: i64, erase: bool) -> Result<(), FedError> {
    let m = ctx
        .db
        .membership(peer_id)
        .await?
        .ok_or(FedError::Db(DbError::NotFound))?;
    let hub = Peer::from_row(&m.peer)?;
    let mut send = Vec::new();
    if erase {
        send.push(delete_item(ctx, &hub)?);
    }
    let id = new_activity_id(ctx, "undo");
    let undo = Undo {
        id: id.clone(),
        kind: UndoType::Undo,
        actor: ctx.actor_url().into(),
        object: Follow {
            id: Url::parse(&m.follow_id).map_err(|e| FedError::Invalid(e.to_string()))?,
            kind: activitypub_federation::kinds::activity::FollowType::Follow,
            actor: ctx.actor_url().into(),
            object: hub.id.clone().into(),
        },
    };
    send.push(outbox_item(&undo, &id, "Undo", &hub.inbox)?);
    ctx.db
        .leave_hub(peer_id, hub.id.as_str(), erase, &send, ctx.now())
        .await?;
    ctx.wake_outbox();
    Ok(())
}

/// `GET /reports/{id}`: a sent report, for the hub it was sent to alone, proven by an HTTP
/// signature with that hub's key. Anyone else gets 401 (unsigned) or 404.
pub async fn fetch_report(ctx: &FedContext, path_and_query: &str, headers: &HeaderMap) -> Response {
    match signed_report(ctx, path_and_query, headers).await {
        Ok(json) => (
            [(
                axum::http::header::CONTENT_TYPE,
                activitypub_federation::FEDERATION_CONTENT_TYPE,
            )],
            json,
        )
            .into_response(),
        Err(e) => {
            let status = match e {
                FedError::Unsigned => StatusCode::UNAUTHORIZED,
                _ => StatusCode::NOT_FOUND,
            };
            (status, status.canonical_reason().unwrap_or_default()).into_response()
        }
    }
}

async fn signed_report(
    ctx: &FedContext,
    path_and_query: &str,
    headers: &HeaderMap,
) -> Result<String, FedError> {
    let object_id = ctx.url(path_and_query.split('?').next().unwrap_or_default());
    let r = ctx
        .db
        .shared_report_by_object(object_id.as_str())
        .await?
        .filter(|r| r.state == ReportState::Sent && r.erasure_requested_at.is_none())
        .ok_or(FedError::Db(DbError::NotFound))?;
    let hub = ctx
        .db
        .peer_by_url(&r.hub_actor)
        .await?
        .ok_or(FedError::Db(DbError::NotFound))?;
    crate::signing::verify_request(
        "GET",
        path_and_query,
        headers,
        &r.hub_actor,
        &hub.public_key_pem,
    )?;
    let activity: serde_json::Value = serde_json::from_str(r.activity.as_deref().unwrap_or("{}"))?;
    let mut object = activity
        .get("object")
        .cloned()
        .ok_or_else(|| FedError::Invalid("stored report has no object".into()))?;
    if let Some(o) = object.as_object_mut() {
        o.insert("@context".into(), crate::vocab::context());
    }
    Ok(serde_json::to_string(&object)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_core::sharing::SharingSettings;

    fn report() -> WellbeingReport {
        let s = SharingSettings::default();
        let r = NoisyReport {
            period: "2026-11".parse().unwrap_or_else(|_| unreachable!()),
            signals: SignalSet::all(),
            sigma: s.sigma(),
            rho: s.rho_per_report(),
            counts: NoisyCounts::new(
                12,
                &[
                    (Signal::LowWellbeing, &[-3]),
                    (Signal::Burnout, &[4]),
                    (Signal::TimePressure, &[7]),
                    (Signal::UnpaidHours, &[9]),
                    (Signal::FundingPaperwork, &[1]),
                    (Signal::HoursBands, &[1, 2, 3, 4, 5]),
                ],
            ),
        };
        let u = |s: &str| Url::parse(s).unwrap_or_else(|_| unreachable!());
        WellbeingReport::from_report(
            u("https://g.example/reports/1"),
            u("https://g.example/actor"),
            u("https://h.example/actor"),
            &r,
        )
    }

    fn today() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap_or_default()
    }

    #[test]
    fn a_valid_report_becomes_eleven_counts() {
        let r = report().validate(today()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.counts.len(), 11);
        assert_eq!(r.period, "2026-11");
        assert_eq!(r.sigma_tenths, 65);
        assert!(r.counts.contains(&("low_wellbeing".to_owned(), -3)));
        assert!(r.counts.contains(&("hours_31_plus".to_owned(), 5)));
        // A small group's report counts whatever its noisy number of respondents.
        let mut small = report();
        small.counts.respondents = -2;
        let r = small.validate(today()).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.counts.contains(&("respondents".to_owned(), -2)));
    }

    #[test]
    fn counts_are_read_by_their_terms_from_the_table() {
        let json = serde_json::to_value(report()).unwrap_or_default();
        let mut o = json.as_object().cloned().unwrap_or_default();
        // A null is an absent signal; an unknown term is ignored.
        o.insert("burnout".into(), serde_json::Value::Null);
        o.insert("someFutureTerm".into(), 3.into());
        let back: WellbeingReport = serde_json::from_value(serde_json::Value::Object(o.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!back.signals().contains(Signal::Burnout));
        assert_eq!(back.counts.signals.len(), 5);
        // A yes/no signal sent as an array, or bands as a number, is refused.
        o.insert("burnout".into(), serde_json::json!([1]));
        assert!(
            serde_json::from_value::<WellbeingReport>(serde_json::Value::Object(o.clone()))
                .is_err()
        );
        o.remove("burnout");
        o.insert("hoursBands".into(), 4.into());
        assert!(
            serde_json::from_value::<WellbeingReport>(serde_json::Value::Object(o.clone()))
                .is_err()
        );
        o.remove("hoursBands");
        o.remove("respondents");
        assert!(serde_json::from_value::<WellbeingReport>(serde_json::Value::Object(o)).is_err());
        // A repeated term is refused, as a repeated field is.
        let text = serde_json::to_string(&report()).unwrap_or_default();
        let twice = text.replacen("\"burnout\":4", "\"burnout\":4,\"burnout\":5", 1);
        assert_ne!(twice, text);
        assert!(serde_json::from_str::<WellbeingReport>(&twice).is_err());
    }

    #[test]
    fn invalid_reports_are_refused_with_a_reason() {
        type Change = Box<dyn Fn(&mut WellbeingReport)>;
        let cases: Vec<(&str, Change)> = vec![
            ("schemaVersion", Box::new(|r| r.schema_version = 2)),
            (
                "not a report period",
                Box::new(|r| r.period = "2026-13".into()),
            ),
            ("has not begun", Box::new(|r| r.period = "2027-01".into())),
            ("noiseSigma", Box::new(|r| r.noise_sigma = 6.55)),
            ("noiseSigma", Box::new(|r| r.noise_sigma = 0.5)),
            ("privacyCostRho", Box::new(|r| r.privacy_cost_rho = 0.01)),
            // Dropping a signal changes what ρ must be.
            (
                "privacyCostRho",
                Box::new(|r| {
                    r.counts.signals.remove(&Signal::Burnout);
                }),
            ),
            (
                "hoursBands",
                Box::new(|r| {
                    r.counts.signals.insert(Signal::HoursBands, vec![1, 2, 3]);
                }),
            ),
            (
                "out of range",
                Box::new(|r| {
                    r.counts
                        .signals
                        .insert(Signal::TimePressure, vec![2_000_000]);
                }),
            ),
        ];
        for (needle, change) in cases {
            let mut r = report();
            change(&mut r);
            match r.validate(today()) {
                Err(FedError::Invalid(m)) => assert!(m.contains(needle), "{needle}: {m}"),
                other => panic!("{needle}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_wire_format_round_trips() {
        let json = serde_json::to_value(report()).unwrap_or_default();
        assert_eq!(json["type"], "WellbeingReport");
        assert_eq!(json["noiseMechanism"], "DiscreteGaussian");
        assert_eq!(json["hoursBands"], serde_json::json!([1, 2, 3, 4, 5]));
        let back: WellbeingReport = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, report());
        assert_eq!(back.signals(), SignalSet::all());
    }
}
