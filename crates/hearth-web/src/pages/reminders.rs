//! Email reminders: a member's own address (on their account page) and the one-click link
//! that stops them, which every reminder carries and which needs no sign-in.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::InstanceRole;
use hearth_core::reminder::parse_address;
use serde::Deserialize;

use super::{Nav, render, render_with_status};
use crate::auth::CurrentUser;
use crate::{AppError, AppState};

/// The reminders section of the account page.
pub struct AccountReminders {
    /// Where reminders go now.
    pub address: Option<String>,
    pub day: &'static str,
    /// What was typed, when it was refused.
    pub input: String,
    pub error: Option<String>,
}

fn day_name(weekday: u8) -> &'static str {
    super::settings::WEEKDAYS
        .get(usize::from(weekday.clamp(1, 7)) - 1)
        .copied()
        .unwrap_or("Monday")
}

/// The section, on a group instance that sends email.
pub async fn for_account(
    state: &AppState,
    account_id: i64,
) -> Result<Option<AccountReminders>, AppError> {
    if state.role != InstanceRole::Group || !state.config.email {
        return Ok(None);
    }
    Ok(Some(AccountReminders {
        address: state
            .db
            .reminder_email(account_id)
            .await?
            .map(|r| r.address),
        day: day_name(state.db.reminder_weekday().await?),
        input: String::new(),
        error: None,
    }))
}

#[derive(Deserialize)]
pub struct ReminderForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub stop: String,
}

/// `POST /account/reminders`: start, change or stop one's own reminders.
pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<ReminderForm>,
) -> Result<Response, AppError> {
    if !state.config.email {
        return Err(AppError::NotFound);
    }
    let id = user.account.id;
    if form.stop == "yes" {
        state.db.remove_reminder_email(id).await?;
        tracing::info!(account_id = id, "email reminders stopped");
        return Ok(Redirect::to("/account?done=reminders-off").into_response());
    }
    // The mail library's own parser is stricter than the shape check; an address it refuses
    // could never be sent to.
    let parsed = parse_address(&form.email).and_then(|a| {
        a.parse::<lettre::Address>().map(|_| a).map_err(|_| {
            hearth_core::reminder::BadAddress("Enter an email address like name@example.org")
        })
    });
    match parsed {
        Ok(address) => {
            state
                .db
                .set_reminder_email(id, &address, &crate::tokens::new_token(), state.clock.now())
                .await?;
            tracing::info!(account_id = id, "email reminders set");
            Ok(Redirect::to("/account?done=reminders-on").into_response())
        }
        Err(e) => {
            let mut page = super::account::page(&state, &user, None, Vec::new()).await?;
            if let Some(r) = page.reminders.as_mut() {
                r.input = form.email;
                r.error = Some(e.to_string());
            }
            Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "reminders_stop.html")]
pub struct StopPage {
    pub nav: Nav,
    pub token: String,
    /// The address the link stops, partly hidden; none when the link is no longer current.
    pub address: Option<String>,
    pub stopped: bool,
}

/// `a***@example.org`: enough to recognise one's own address, not to learn someone's.
fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// `GET /reminders/stop/{token}`: a page with one button. Opening a link changes nothing, so
/// mail scanners that follow links cannot stop someone's reminders.
pub async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let address = state
        .db
        .reminder_by_token(&token)
        .await?
        .map(|r| masked(&r.address));
    let status = if address.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    Ok(render_with_status(
        status,
        &StopPage {
            nav: Nav::for_account(&state, None).await?,
            token,
            address,
            stopped: false,
        },
    ))
}

/// `POST /reminders/stop/{token}`: stops them (also the RFC 8058 one-click POST that mail
/// programs send). The token is the authority, so no session or CSRF token is needed.
pub async fn stop(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let stopped = state.db.stop_reminders_by_token(&token).await?;
    if stopped {
        tracing::info!("email reminders stopped from a link");
    }
    render(&StopPage {
        nav: Nav::for_account(&state, None).await?,
        token,
        address: None,
        stopped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked_and_days_named() {
        assert_eq!(masked("sam@example.org"), "s***@example.org");
        assert_eq!(day_name(1), "Monday");
        assert_eq!(day_name(7), "Sunday");
    }
}
