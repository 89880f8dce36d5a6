//! A hub's view of its groups: requests to approve or decline, members, deliveries.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::profile::{FOCUSES, REGIONS, SIZE_BANDS, label};
use hearth_db::MembershipState;
use hearth_federation::membership;
use hearth_federation::protocol::GroupProfile;
use serde::Deserialize;

use super::hubs::{DeliveryRow, delivery_rows};
use super::{Nav, human_datetime, render};
use crate::auth::{CurrentUser, Facilitator};
use crate::{AppError, AppState, csrf};

pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub profile: String,
    pub since: String,
    /// "3 reports, the last on 2 Dec 2026", or that none has arrived.
    pub reports: String,
}

/// A fediverse account that follows the hub to read its summaries.
pub struct ReaderRow {
    pub name: String,
    /// `@name@host`, or the actor's address where its username is not known.
    pub handle: String,
    pub address: String,
    pub since: String,
}

/// An account's handle from its `preferredUsername` and actor address.
fn handle(username: Option<&str>, actor_url: &str) -> String {
    let host = url::Url::parse(actor_url).ok().and_then(|u| {
        u.host_str()
            .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
    });
    match (username, host) {
        (Some(user), Some(host)) => format!("@{user}@{host}"),
        _ => actor_url.to_owned(),
    }
}

#[derive(Template)]
#[template(path = "hub_groups.html")]
pub struct GroupsPage {
    pub nav: Nav,
    pub csrf: String,
    pub can_decide: bool,
    pub auto_accept: bool,
    pub pending: Vec<GroupRow>,
    pub members: Vec<GroupRow>,
    pub declined: Vec<GroupRow>,
    pub deliveries: Vec<DeliveryRow>,
    /// Fediverse accounts following the hub to read its public summaries.
    pub readers: Vec<ReaderRow>,
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    pub decision: String,
}

#[derive(Deserialize)]
pub struct HubSettingsForm {
    #[serde(default)]
    pub auto_accept: String,
}

/// The profile a group chose, in words; never anything about its people.
fn describe(profile_json: &str) -> String {
    let p: GroupProfile = serde_json::from_str(profile_json).unwrap_or_default();
    let mut parts = Vec::new();
    if let Some(r) = p.region.as_deref().and_then(|r| label(&REGIONS, r)) {
        parts.push(r.to_owned());
    }
    let focus: Vec<&str> = p
        .community_focus
        .iter()
        .filter_map(|f| label(&FOCUSES, f))
        .collect();
    if !focus.is_empty() {
        parts.push(focus.join(", "));
    }
    if let Some(s) = p.size_band.as_deref().and_then(|s| label(&SIZE_BANDS, s)) {
        parts.push(s.to_owned());
    }
    if parts.is_empty() {
        "No profile chosen".into()
    } else {
        parts.join(" · ")
    }
}

pub async fn groups(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    let tz = settings.timezone;
    let (mut pending, mut members, mut declined) = (Vec::new(), Vec::new(), Vec::new());
    let activity = state.db.report_activity().await?;
    for m in state.db.memberships().await? {
        let row = GroupRow {
            id: m.peer.id,
            name: m.peer.name.clone(),
            address: m.peer.actor_url.clone(),
            profile: describe(&m.peer.profile),
            since: human_datetime(m.updated_at, tz),
            reports: match activity.get(&m.peer.id) {
                Some(a) => format!(
                    "{} report{}, the last on {}",
                    a.reports,
                    if a.reports == 1 { "" } else { "s" },
                    super::human_date(a.last_received, tz)
                ),
                None => "No reports yet".to_owned(),
            },
        };
        match m.state {
            MembershipState::Pending => pending.push(row),
            MembershipState::Accepted => members.push(row),
            MembershipState::Rejected => declined.push(row),
        }
    }
    render(&GroupsPage {
        nav: Nav::for_user(&state, &user).await?,
        csrf: csrf::token(&user.session).await?,
        can_decide: user.account.role == hearth_core::Role::Facilitator,
        auto_accept: settings.hub_auto_accept,
        pending,
        members,
        declined,
        deliveries: delivery_rows(
            state.db.recent_outbox(50).await?,
            &state.db.peer_names_by_inbox().await?,
            tz,
        ),
        readers: state
            .db
            .readers()
            .await?
            .into_iter()
            .map(|(p, since)| ReaderRow {
                name: p.name,
                handle: handle(p.username.as_deref(), &p.actor_url),
                address: p.actor_url,
                since: super::human_date(since, tz),
            })
            .collect(),
    })
}

pub async fn decide(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
    Form(form): Form<DecideForm>,
) -> Result<Response, AppError> {
    let accept = match form.decision.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return Err(AppError::BadRequest("Choose accept or decline.".into())),
    };
    membership::decide(&state.fed(), id, accept)
        .await
        .map_err(|e| match e {
            hearth_federation::FedError::Db(hearth_db::DbError::NotFound) => {
                AppError::BadRequest("That request is not waiting for a decision any more.".into())
            }
            other => other.into(),
        })?;
    tracing::info!(
        by = f.0.account.id,
        peer = id,
        accept,
        "join request decided"
    );
    Ok(Redirect::to("/groups").into_response())
}

pub async fn settings(
    State(state): State<AppState>,
    f: Facilitator,
    Form(form): Form<HubSettingsForm>,
) -> Result<Response, AppError> {
    let mut settings = state.settings().await?;
    settings.hub_auto_accept = match form.auto_accept.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(AppError::BadRequest("Choose yes or no.".into())),
    };
    state.save_settings(&settings).await?;
    tracing::info!(
        by = f.0.account.id,
        auto_accept = settings.hub_auto_accept,
        "hub settings changed"
    );
    Ok(Redirect::to("/groups").into_response())
}
