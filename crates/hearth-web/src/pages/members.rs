//! Member management for facilitators: names, roles, when people joined and last signed in.
//! Never anything about anyone's check-ins.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::{IsoWeek, Role};
use hearth_db::DbError;
use serde::Deserialize;

use super::{Nav, human_date, render, render_with_status};
use crate::auth::Facilitator;
use crate::{AppError, AppState, csrf};

pub struct MemberRow {
    pub id: i64,
    pub name: String,
    pub role: &'static str,
    pub is_facilitator: bool,
    pub joined: String,
    pub last_active: String,
    pub is_you: bool,
}

#[derive(Template)]
#[template(path = "members.html")]
pub struct MembersPage {
    pub nav: Nav,
    pub csrf: String,
    pub members: Vec<MemberRow>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    pub role: String,
}

async fn page(
    state: &AppState,
    f: &Facilitator,
    notice: Option<String>,
    error: Option<String>,
) -> Result<MembersPage, AppError> {
    let tz = state.settings().await?.timezone;
    let members = state
        .db
        .list_members()
        .await?
        .into_iter()
        .map(|m| MemberRow {
            id: m.id,
            is_you: m.id == f.0.account.id,
            name: m.display_name,
            role: m.role.as_str(),
            is_facilitator: m.role == Role::Facilitator,
            joined: human_date(m.joined, tz),
            // A week, not a moment: enough to see who is still around, no more.
            last_active: m
                .last_sign_in
                .map(|t| IsoWeek::containing(t, tz).human_label())
                .unwrap_or_else(|| "not since joining".into()),
        })
        .collect();
    Ok(MembersPage {
        nav: Nav::for_user(state, &f.0).await?,
        csrf: csrf::token(&f.0.session).await?,
        members,
        notice,
        error,
    })
}

pub async fn list(State(state): State<AppState>, f: Facilitator) -> Result<Response, AppError> {
    render(&page(&state, &f, None, None).await?)
}

pub async fn set_role(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
    Form(form): Form<RoleForm>,
) -> Result<Response, AppError> {
    let role: Role = form
        .role
        .parse()
        .map_err(|e: hearth_core::role::UnknownRole| AppError::BadRequest(e.to_string()))?;
    match state.db.set_role(id, role).await {
        Ok(()) => {
            tracing::info!(by = f.0.account.id, account_id = id, %role, "role changed");
            Ok(Redirect::to("/members").into_response())
        }
        Err(DbError::Conflict(_)) => Ok(render_with_status(
            StatusCode::BAD_REQUEST,
            &page(
                &state,
                &f,
                None,
                Some("The group needs at least one facilitator. Make someone else a facilitator first.".into()),
            )
            .await?,
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "member_remove.html")]
pub struct RemovePage {
    pub nav: Nav,
    pub csrf: String,
    pub id: i64,
    pub name: String,
}

pub async fn confirm_remove(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    if id == f.0.account.id {
        return Ok(Redirect::to("/account/delete").into_response());
    }
    let account = state.db.account(id).await?;
    render(&RemovePage {
        nav: Nav::for_user(&state, &f.0).await?,
        csrf: csrf::token(&f.0.session).await?,
        id,
        name: account.display_name,
    })
}

/// Removing a member erases them: their account and everything that is theirs.
pub async fn remove(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    if id == f.0.account.id {
        return Err(AppError::BadRequest(
            "To delete your own account, use Delete my account on your account page.".into(),
        ));
    }
    let name = state.db.account(id).await?.display_name;
    match state.db.delete_account(id).await {
        Ok(()) => {
            tracing::info!(
                by = f.0.account.id,
                account_id = id,
                "member removed and erased"
            );
            render(
                &page(
                    &state,
                    &f,
                    Some(format!("{name} was removed, with all their data.")),
                    None,
                )
                .await?,
            )
        }
        Err(DbError::Conflict(_)) => Ok(render_with_status(
            StatusCode::BAD_REQUEST,
            &page(
                &state,
                &f,
                None,
                Some("The group needs at least one facilitator.".into()),
            )
            .await?,
        )),
        Err(e) => Err(e.into()),
    }
}
