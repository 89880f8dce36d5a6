use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::Role;
use hearth_db::InviteStatus;
use serde::Deserialize;

use super::{Nav, human_date, human_datetime, render};
use crate::auth::Facilitator;
use crate::{AppError, AppState, csrf};

/// How long an invite link made in the web works.
pub const INVITE_DAYS: i64 = 7;

pub struct InviteRow {
    pub id: i64,
    pub created: String,
    pub role: &'static str,
    pub state: String,
    pub revocable: bool,
}

#[derive(Template)]
#[template(path = "invites.html")]
pub struct InvitesPage {
    pub nav: Nav,
    pub csrf: String,
    pub new_link: Option<String>,
    pub new_expires: String,
    pub invites: Vec<InviteRow>,
}

#[derive(Deserialize)]
pub struct NewInviteForm {
    #[serde(default)]
    pub role: String,
}

async fn page(
    state: &AppState,
    f: &Facilitator,
    new_link: Option<(String, String)>,
) -> Result<Response, AppError> {
    let tz = state.settings().await?.timezone;
    let invites = state
        .db
        .list_invites(state.clock.now())
        .await?
        .into_iter()
        .map(|i| InviteRow {
            id: i.id,
            created: human_datetime(i.created_at, tz),
            role: i.role.as_str(),
            state: match i.status {
                InviteStatus::Open => format!("Open until {}", human_date(i.expires_at, tz)),
                InviteStatus::Used => "Used".to_owned(),
                InviteStatus::Expired => "Expired".to_owned(),
            },
            revocable: i.status != InviteStatus::Used,
        })
        .collect();
    let (new_link, new_expires) = match new_link {
        Some((l, e)) => (Some(l), e),
        None => (None, String::new()),
    };
    render(&InvitesPage {
        nav: Nav::for_user(state, &f.0).await?,
        csrf: csrf::token(&f.0.session).await?,
        new_link,
        new_expires,
        invites,
    })
}

pub async fn list(State(state): State<AppState>, f: Facilitator) -> Result<Response, AppError> {
    page(&state, &f, None).await
}

/// Makes a single-use link. The token is shown once, in this response, and stored only hashed.
pub async fn create(
    State(state): State<AppState>,
    f: Facilitator,
    Form(form): Form<NewInviteForm>,
) -> Result<Response, AppError> {
    let role: Role = form
        .role
        .parse()
        .map_err(|e: hearth_core::role::UnknownRole| AppError::BadRequest(e.to_string()))?;
    let now = state.clock.now();
    let expires = now + chrono::Duration::days(INVITE_DAYS);
    let link = crate::setup::invite_link(
        &state.db,
        &state.config,
        role,
        INVITE_DAYS,
        Some(f.0.account.id),
        now,
    )
    .await?;
    tracing::info!(by = f.0.account.id, %role, "invite created");
    let tz = state.settings().await?.timezone;
    page(&state, &f, Some((link, human_datetime(expires, tz)))).await
}

pub async fn revoke(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    state.db.revoke_invite(id).await?;
    tracing::info!(by = f.0.account.id, invite = id, "invite revoked");
    Ok(Redirect::to("/invites").into_response())
}
