//! A group's side of hub pairs: learn which pairs a hub leads ([`refresh`], from the `pairs` of
//! its actor document), share through one ([`enable`]), and at each period's close split the
//! group's exact counts into one share per hub ([`make_due`], called by the report maker). A
//! report waiting for approval holds nothing: its shares are made when a facilitator approves
//! it ([`approve`]), from the same frozen check-ins, so the two shares, which together are the
//! counts, are never stored.

use std::collections::HashSet;

use activitypub_federation::config::Data;
use activitypub_federation::fetch::fetch_object_http;
use activitypub_federation::fetch::object_id::ObjectId;
use chrono::{DateTime, Utc};
use hearth_core::pair::{HubRole, NONCE_LEN, PairPlan, shard};
use hearth_core::report::{ReportPeriod, TrueCounts};
use hearth_core::sector::GroupProfile;
use hearth_core::sharing::{BudgetCheck, Rho, SignalSet, check_budget};
use hearth_db::{
    DbError, GroupPair, MembershipState, NewOutbox, NewSharedReport, OfferedPair, ReportState,
    SharedReport,
};
use serde::Serialize;
use url::Url;

use crate::actor::Peer;
use crate::group_sharing::{MAX_PERIODS_PER_CALL, MadeReports};
use crate::protocol::ActorJson;
use crate::protocol::pair::{CreatePair, PairShare, PairShareObject, encode};
use crate::sending::{new_activity_id, outbox_item};
use crate::{FedContext, FedError};

/// Fetches the actor document of the hub the group belongs to as `peer_id` and brings the pairs
/// it leads in step with what it lists (see [`hearth_db::Db::sync_group_pairs`]). Returns how
/// many pairs it offers.
pub async fn refresh(data: &Data<FedContext>, peer_id: i64) -> Result<usize, FedError> {
    let m = data
        .db
        .membership(peer_id)
        .await?
        .filter(|m| m.state == MembershipState::Accepted)
        .ok_or_else(|| FedError::NotAllowed("this group is not a member of that hub".into()))?;
    let leader = Peer::from_row(&m.peer)?;
    let actor: ActorJson = fetch_object_http(&leader.id, data).await?.object;
    if actor.id != leader.id {
        return Err(FedError::Invalid(
            "the hub answered with another actor".into(),
        ));
    }
    let mut offers = Vec::new();
    for p in actor.pairs {
        // Only pairs this hub leads, named on its own origin, with a helper elsewhere.
        let (plan, min_groups) = p.plan()?;
        if p.leader != leader.id
            || p.id.origin() != leader.id.origin()
            || p.helper.origin() == leader.id.origin()
        {
            continue;
        }
        offers.push(OfferedPair {
            pair_url: p.id.to_string(),
            helper_actor: p.helper.to_string(),
            plan,
            min_groups,
        });
    }
    data.db
        .sync_group_pairs(peer_id, &offers, data.now())
        .await?;
    tracing::info!(hub = %leader.id, pairs = offers.len(), "hub pairs looked up");
    Ok(offers.len())
}

/// The pair's helper as a stored peer, fetched the first time: the group trusts it because the
/// hub it belongs to named it.
async fn helper_of(data: &Data<FedContext>, pair: &GroupPair) -> Result<Peer, FedError> {
    let url = Url::parse(&pair.helper_actor).map_err(|e| FedError::Invalid(e.to_string()))?;
    if let Some(row) = data.db.peer_by_url(url.as_str()).await? {
        return Peer::from_row(&row);
    }
    data.allow_domain(&url);
    let peer = ObjectId::<Peer>::from(url).dereference(data).await?;
    if !peer.kind.is_hub() {
        return Err(FedError::Invalid("the pair's helper is not a hub".into()));
    }
    data.db.save_peer(&peer.to_new_peer(data.now())).await?;
    Ok(peer)
}

/// A facilitator's choice for a pair: share through it (fetching its helper first) or stop;
/// periods that close after `since` are reported (the clock's now, except in the demo, which
/// makes up history).
pub async fn enable(
    data: &Data<FedContext>,
    pair_id: i64,
    (enabled, signals, automatic): (bool, SignalSet, bool),
    since: DateTime<Utc>,
) -> Result<(), FedError> {
    let pair = data
        .db
        .group_pair(pair_id)
        .await?
        .ok_or(FedError::Db(DbError::NotFound))?;
    if enabled {
        helper_of(data, &pair).await?;
    }
    data.db
        .set_group_pair_sharing(pair_id, enabled, signals, automatic, since)
        .await?;
    Ok(())
}

/// This group's profile, as the hubs segment it.
pub async fn profile(ctx: &FedContext) -> Result<GroupProfile, FedError> {
    let settings = ctx
        .db
        .group_settings()
        .await?
        .ok_or_else(|| FedError::Invalid("instance not initialised".into()))?;
    Ok(GroupProfile {
        region: settings.profile.region.map(str::to_owned),
        focuses: settings
            .profile
            .focuses
            .iter()
            .map(|f| (*f).to_owned())
            .collect(),
        size_band: settings.profile.size_band.map(str::to_owned),
    })
}

/// What one period's report through `plan` costs each member: a release per batch it enters.
pub fn period_cost(plan: &PairPlan, profile: &GroupProfile) -> Rho {
    plan.release_cost()
        .saturating_mul(plan.segments_of(profile).len() as u32)
}

/// The pair's leader and helper, if the group is still a member of the leader.
async fn hubs_of(ctx: &FedContext, pair: &GroupPair) -> Result<Option<(Peer, Peer)>, FedError> {
    let Some(m) = ctx.db.membership(pair.leader_peer_id).await? else {
        return Ok(None);
    };
    if m.state != MembershipState::Accepted {
        return Ok(None);
    }
    let Some(helper) = ctx.db.peer_by_url(&pair.helper_actor).await? else {
        return Ok(None);
    };
    Ok(Some((Peer::from_row(&m.peer)?, Peer::from_row(&helper)?)))
}

/// Makes every pair report that has come due, as [`crate::group_sharing::make_due_reports`]
/// does for hubs: each period of the pair's cadence that closed after sharing was turned on.
pub async fn make_due(
    ctx: &FedContext,
    now: DateTime<Utc>,
    made: &mut MadeReports,
) -> Result<(), FedError> {
    let Some(group) = ctx.db.group_settings().await? else {
        return Ok(());
    };
    let (tz, close) = (group.timezone, group.close);
    for pair in ctx.db.group_pairs().await? {
        let (true, true, Some(enabled_at)) = (pair.offered, pair.enabled, pair.enabled_at) else {
            continue;
        };
        let Some((leader, helper)) = hubs_of(ctx, &pair).await? else {
            continue;
        };
        let done: HashSet<String> = ctx
            .db
            .reported_periods(&pair.pair_url)
            .await?
            .into_iter()
            .collect();
        let due = ReportPeriod::closed_between(
            enabled_at,
            now,
            pair.plan.cadence,
            (tz, close),
            MAX_PERIODS_PER_CALL,
        );
        for period in due.into_iter().filter(|p| !done.contains(&p.to_string())) {
            made.count(make_one(ctx, &pair, &leader, &helper, period).await?);
        }
    }
    Ok(())
}

/// How the audit log names a pair: its leader's name and its helper's host.
pub fn pair_name(leader: &str, helper_actor: &str) -> String {
    format!(
        "{leader} with {} (hub pair)",
        crate::actor::host_of(helper_actor)
    )
}

async fn make_one(
    ctx: &FedContext,
    pair: &GroupPair,
    leader: &Peer,
    helper: &Peer,
    period: ReportPeriod,
) -> Result<ReportState, FedError> {
    let year = period.budget_year();
    let cost = period_cost(&pair.plan, &profile(ctx).await?);
    let mut row = NewSharedReport {
        hub_actor: pair.pair_url.clone(),
        hub_name: pair_name(&leader.name, &pair.helper_actor),
        period: period.to_string(),
        budget_year: year,
        state: ReportState::OverBudget,
        rho: Rho(0),
        object_id: None,
        activity: None,
        through_pair: true,
    };
    let spent = ctx.db.budget_spent(&pair.pair_url, year).await?;
    if let BudgetCheck::OverCap { .. } = check_budget(spent, cost) {
        ctx.db.record_report(&row, &[], ctx.now()).await?;
        tracing::info!(pair = %pair.pair_url, %period, "pair report not made: the year's privacy budget is spent");
        return Ok(ReportState::OverBudget);
    }
    let counts = counts_of(ctx, period).await?;
    if counts.respondents() > hearth_core::pair::MAX_RESPONDENTS {
        // A pair report carries at most 127 people; nothing leaves and nothing is spent.
        row.state = ReportState::Suppressed;
        ctx.db.record_report(&row, &[], ctx.now()).await?;
        return Ok(row.state);
    }
    // The cost is charged when the period is decided, as for a hub: a declined report's
    // cost stays spent, so approving or not tells the hubs nothing the ledger does not.
    row.rho = cost;
    let send = if pair.automatic {
        let (items, what_left) = share_items(
            ctx,
            (&pair_url(pair)?, pair.signals),
            leader,
            helper,
            period,
            &counts,
        )?;
        row.state = ReportState::Sent;
        row.activity = Some(what_left);
        items
    } else {
        row.state = ReportState::AwaitingApproval;
        Vec::new()
    };
    ctx.db.record_report(&row, &send, ctx.now()).await?;
    tracing::info!(pair = %pair.pair_url, %period, state = row.state.as_str(), "pair report made");
    Ok(row.state)
}

fn pair_url(pair: &GroupPair) -> Result<Url, FedError> {
    Url::parse(&pair.pair_url).map_err(|e| FedError::Invalid(e.to_string()))
}

/// The period's exact counts: one contribution per consenting member, from frozen check-ins.
async fn counts_of(ctx: &FedContext, period: ReportPeriod) -> Result<TrueCounts, FedError> {
    Ok(TrueCounts::of(
        &ctx.db.contributions(&period.weeks()).await?,
    ))
}

/// A facilitator approves a pair report: its shares are made now from the period's frozen
/// check-ins and queued with the approval.
pub async fn approve(ctx: &FedContext, r: &SharedReport) -> Result<(), FedError> {
    if r.state != ReportState::AwaitingApproval {
        return Err(FedError::Db(DbError::NotFound));
    }
    let pair = ctx
        .db
        .group_pair_by_url(&r.hub_actor)
        .await?
        .filter(|p| p.offered && p.enabled)
        .ok_or_else(|| {
            FedError::NotAllowed("this group no longer shares through that pair".into())
        })?;
    let (leader, helper) = hubs_of(ctx, &pair).await?.ok_or_else(|| {
        FedError::NotAllowed("this group is no longer a member of that hub".into())
    })?;
    let period: ReportPeriod = r
        .period
        .parse()
        .map_err(|e: hearth_core::report::BadPeriod| FedError::Invalid(e.0))?;
    let counts = counts_of(ctx, period).await?;
    let (items, what_left) = share_items(
        ctx,
        (&pair_url(&pair)?, pair.signals),
        &leader,
        &helper,
        period,
        &counts,
    )?;
    ctx.db
        .approve_report(r.id, &items, Some(&what_left), ctx.now())
        .await?;
    ctx.wake_outbox();
    Ok(())
}

/// What the audit log keeps of a pair report: where each share went and how large it was,
/// never the shares.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WhatLeft {
    /// The leader's `Create`, whose delivery the log shows.
    id: Url,
    #[serde(rename = "type")]
    kind: &'static str,
    pair: Url,
    period: String,
    nonce: String,
    shares: Vec<ShareSent>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShareSent {
    to: Url,
    activity: Url,
    input_share_bytes: usize,
}

/// Splits `counts` into the two hubs' shares: the two `Create`s to queue and what the audit log
/// keeps. The counts and shares go no further than the outbox rows.
pub fn share_items(
    ctx: &FedContext,
    (pair_url, signals): (&Url, SignalSet),
    leader: &Peer,
    helper: &Peer,
    period: ReportPeriod,
    counts: &TrueCounts,
) -> Result<(Vec<NewOutbox>, String), FedError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
    let report = shard(counts, signals, nonce).map_err(|e| FedError::Invalid(e.to_string()))?;
    let mut items = Vec::new();
    let mut shares = Vec::new();
    for (hub, role) in [(leader, HubRole::Leader), (helper, HubRole::Helper)] {
        let object = PairShareObject {
            kind: PairShare::PairShare,
            id: ctx.url(&format!(
                "/pair-shares/{}/{}",
                encode(&nonce),
                role.as_str()
            )),
            attributed_to: ctx.actor_url(),
            to: vec![hub.id.clone()],
            pair: pair_url.clone(),
            period: period.to_string(),
            nonce: encode(&nonce),
            public_share: encode(&report.public_share),
            input_share: encode(report.share_for(role)),
        };
        let id = new_activity_id(ctx, "create");
        let create = CreatePair {
            id: id.clone(),
            kind: activitypub_federation::kinds::activity::CreateType::Create,
            actor: ctx.actor_url(),
            to: vec![hub.id.clone()],
            object,
        };
        items.push(outbox_item(&create, &id, "Create", &hub.inbox)?);
        shares.push(ShareSent {
            to: hub.id.clone(),
            activity: id,
            input_share_bytes: report.share_for(role).len(),
        });
    }
    let what_left = WhatLeft {
        id: shares[0].activity.clone(),
        kind: "PairShares",
        pair: pair_url.clone(),
        period: period.to_string(),
        nonce: encode(&nonce),
        shares,
    };
    Ok((items, serde_json::to_string(&what_left)?))
}
