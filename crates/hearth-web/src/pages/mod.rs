//! Handlers and their page structs, one module per area.

pub mod account;
pub mod actor;
pub mod assets;
pub mod checkin;
pub mod group;
pub mod group_pairs;
pub mod health;
pub mod history;
pub mod home;
pub mod hub;
pub mod hubs;
pub mod invites;
pub mod join;
pub mod login;
pub mod members;
pub mod pairs;
pub mod reminders;
pub mod sector;
pub mod settings;
pub mod sharing;

pub mod support;

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use hearth_core::Role;
use hearth_db::Account;

use crate::auth::CurrentUser;
use crate::{AppError, AppState};

/// What the layout needs to draw the navigation and the check-in reminder.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    pub signed_in: bool,
    pub facilitator: bool,
    /// This week's check-in is not done yet: every page says so.
    pub due: bool,
    /// A network hub: hub pages instead of check-ins.
    pub hub: bool,
}

impl Nav {
    pub async fn for_account(state: &AppState, a: Option<&Account>) -> Result<Self, AppError> {
        let hub = state.role == hearth_core::InstanceRole::Hub;
        let Some(a) = a else {
            return Ok(Self {
                hub,
                ..Self::default()
            });
        };
        let due = if hub {
            false
        } else {
            let week = current_week(state).await?;
            state.db.own_checkin(a.id, week).await?.is_none()
        };
        Ok(Self {
            signed_in: true,
            facilitator: a.role == Role::Facilitator,
            due,
            hub,
        })
    }

    pub async fn for_user(state: &AppState, u: &CurrentUser) -> Result<Self, AppError> {
        Self::for_account(state, Some(&u.account)).await
    }

    /// For the check-in form itself, which never shows the reminder (no query needed).
    pub fn on_checkin_form(state: &AppState, u: &CurrentUser) -> Self {
        Self {
            signed_in: true,
            facilitator: u.account.role == Role::Facilitator,
            due: false,
            hub: state.role == hearth_core::InstanceRole::Hub,
        }
    }
}

/// The week in progress, in the group's time zone.
pub async fn current_week(state: &AppState) -> Result<hearth_core::IsoWeek, AppError> {
    let settings = state.settings().await?;
    Ok(hearth_core::IsoWeek::containing(
        state.clock.now(),
        settings.timezone,
    ))
}

/// Renders a page with 200 OK.
pub fn render(page: &impl Template) -> Result<Response, AppError> {
    Ok(render_with_status(StatusCode::OK, page))
}

/// Renders a page with the given status. A template that fails to render is a bug: log it
/// and answer with a bare 500 rather than loop through the error page again.
pub fn render_with_status(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut r = (status, Html(html)).into_response();
            // Pages can hold personal answers: never let a shared cache keep them.
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
        }
    }
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// Formats a date for people: "28 Nov 2026".
pub fn human_date(t: chrono::DateTime<chrono::Utc>, tz: hearth_core::Tz) -> String {
    t.with_timezone(&tz).format("%-d %b %Y").to_string()
}

/// Formats a moment for people: "28 Nov 2026, 14:05".
pub fn human_datetime(t: chrono::DateTime<chrono::Utc>, tz: hearth_core::Tz) -> String {
    t.with_timezone(&tz).format("%-d %b %Y, %H:%M").to_string()
}
