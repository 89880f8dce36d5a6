//! A group's side of sharing: make each period's report when it closes ([`make_due_reports`]),
//! keep it for a facilitator's approval or send it at once, send it again, ask a hub to erase
//! what it holds, leave with erasure, and serve a sent report to its hub alone.

use std::collections::HashSet;

use activitypub_federation::kinds::activity::{CreateType, DeleteType, UndoType, UpdateType};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hearth_core::InstanceRole;
use hearth_core::report::{NoisyReport, ReportPeriod, make_report};
use hearth_core::sharing::{BudgetCheck, Rho, check_budget};
use hearth_db::{DbError, MembershipState, NewOutbox, NewSharedReport, ReportState};
use rand_core::{CryptoRng, RngCore};
use url::Url;

use crate::actor::Peer;
use crate::protocol::report::{
    CreateReport, DeleteReports, UpdateReport, WellbeingReport, reports_collection,
};
use crate::protocol::{Follow, Undo};
use crate::sending::{new_activity_id, outbox_item};
use crate::{FedContext, FedError};

/// What [`make_due_reports`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MadeReports {
    pub sent: usize,
    pub awaiting_approval: usize,
    pub over_budget: usize,
}

impl MadeReports {
    /// Counts what became of one period's report.
    pub(crate) fn count(&mut self, state: ReportState) {
        match state {
            ReportState::Sent => self.sent += 1,
            ReportState::AwaitingApproval => self.awaiting_approval += 1,
            ReportState::OverBudget => self.over_budget += 1,
            // Made no more; reports recorded as suppressed before stay in the log.
            ReportState::Declined | ReportState::Suppressed => {}
        }
    }
}

/// At most this many periods are decided per hub or pair in one call (ten years of weeks), so
/// a long-idle instance catches up in bounded work.
pub(crate) const MAX_PERIODS_PER_CALL: usize = 530;

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
        let due = ReportPeriod::closed_between(
            enabled_at,
            now,
            s.cadence,
            (tz, close),
            MAX_PERIODS_PER_CALL,
        );
        for period in due.into_iter().filter(|p| !done.contains(&p.to_string())) {
            made.count(make_one(ctx, &hub, period, &s, rng).await?);
        }
    }
    crate::group_pairs::make_due(ctx, now, &mut made).await?;
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
        through_pair: false,
    };
    let spent = ctx.db.budget_spent(hub.id.as_str(), year).await?;
    if let BudgetCheck::OverCap { .. } = check_budget(spent, s.rho_per_report()) {
        ctx.db.record_report(&row, &[], ctx.now()).await?;
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
    let send = if s.automatic {
        std::slice::from_ref(&item)
    } else {
        &[]
    };
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
        actor: ctx.actor_url(),
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

/// A facilitator approves a report: the previewed JSON is queued byte for byte (a pair's
/// report is made now, see [`crate::group_pairs::approve`]).
pub async fn approve(ctx: &FedContext, report_id: i64) -> Result<(), FedError> {
    let r = ctx
        .db
        .shared_report(report_id)
        .await?
        .ok_or(FedError::Db(DbError::NotFound))?;
    if r.through_pair {
        return crate::group_pairs::approve(ctx, &r).await;
    }
    let activity = r
        .activity
        .as_deref()
        .filter(|_| r.state == ReportState::AwaitingApproval)
        .ok_or(FedError::Db(DbError::NotFound))?;
    let hub = member_hub(ctx, &r.hub_actor).await?;
    let item = stored_item(activity, "Create", &hub.inbox)?;
    ctx.db
        .approve_report(report_id, &[item], None, ctx.now())
        .await?;
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
        .filter(|_| {
            r.state == ReportState::Sent && r.erasure_requested_at.is_none() && !r.through_pair
        })
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
        actor: ctx.actor_url(),
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
        actor: ctx.actor_url(),
        object: Follow {
            id: Url::parse(&m.follow_id).map_err(|e| FedError::Invalid(e.to_string()))?,
            kind: activitypub_federation::kinds::activity::FollowType::Follow,
            actor: ctx.actor_url(),
            object: hub.id.clone(),
        }
        .into(),
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
                FedError::Unsigned | FedError::Signature(_) => StatusCode::UNAUTHORIZED,
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
    let object = activity
        .get("object")
        .ok_or_else(|| FedError::Invalid("stored report has no object".into()))?;
    Ok(serde_json::to_string(&crate::vocab::with_context(object)?)?)
}
