use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::scoring;
use hearth_db::DbError;
use serde::{Deserialize, Serialize};

use super::{Nav, human_datetime, render, render_with_status};
use crate::auth::{CurrentUser, hash_password, password_problem, verify_password};
use crate::{AppError, AppState, csrf};

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub nav: Nav,
    pub csrf: String,
    pub display_name: String,
    pub username: String,
    pub role: &'static str,
    pub notice: Option<&'static str>,
    pub errors: Vec<(&'static str, String)>,
    pub consent_granted: bool,
    pub consent_changed: Option<String>,
    /// This year's privacy budget per hub (group instances only).
    pub budgets: Vec<super::sharing::BudgetRow>,
    /// Email reminders, when this instance sends email (group instances only).
    pub reminders: Option<super::reminders::AccountReminders>,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    pub done: Option<String>,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub new_password_confirm: String,
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    pub share: String,
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    pub password: String,
}

pub(super) async fn page(
    state: &AppState,
    user: &CurrentUser,
    notice: Option<&'static str>,
    errors: Vec<(&'static str, String)>,
) -> Result<AccountPage, AppError> {
    let consent = state.db.consent(user.account.id).await?;
    let tz = state.settings().await?.timezone;
    Ok(AccountPage {
        nav: Nav::for_user(state, user).await?,
        csrf: csrf::token(&user.session).await?,
        display_name: user.account.display_name.clone(),
        username: user.account.username.clone(),
        role: user.account.role.as_str(),
        notice,
        errors,
        consent_granted: consent.is_some_and(|c| c.granted),
        consent_changed: consent.map(|c| human_datetime(c.changed_at, tz)),
        budgets: if state.role == hearth_core::InstanceRole::Group {
            super::sharing::budgets(state).await?
        } else {
            Vec::new()
        },
        reminders: super::reminders::for_account(state, user.account.id).await?,
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AccountQuery>,
) -> Result<Response, AppError> {
    let notice = match q.done.as_deref() {
        Some("password") => {
            Some("Your password has been changed. Other devices have been signed out.")
        }
        Some("consent-on") => {
            Some("Thank you. Your check-ins may now count towards what the group shares.")
        }
        Some("consent-off") => {
            Some("Your check-ins will not count towards anything the group shares from now on.")
        }
        Some("reminders-on") => Some("Weekly reminders will go to that address."),
        Some("reminders-off") => {
            Some("No more reminders will be sent, and your address is forgotten.")
        }
        _ => None,
    };
    render(&page(&state, &user, notice, Vec::new()).await?)
}

pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    state
        .limiter
        .check(&[format!("user:{}", user.account.username)])?;
    let mut errors = Vec::new();
    let hash = state.db.password_hash(user.account.id).await?;
    if !verify_password(form.current_password, Some(hash)).await? {
        errors.push((
            "current_password",
            "Your current password is not right".to_owned(),
        ));
    }
    if let Some(p) = password_problem(&form.new_password) {
        errors.push(("new_password", p));
    } else if form.new_password != form.new_password_confirm {
        errors.push((
            "new_password_confirm",
            "The two new passwords are not the same".to_owned(),
        ));
    }
    if !errors.is_empty() {
        return Ok(render_with_status(
            StatusCode::BAD_REQUEST,
            &page(&state, &user, None, errors).await?,
        ));
    }
    let new_hash = hash_password(form.new_password).await?;
    state
        .db
        .set_password_hash(user.account.id, &new_hash)
        .await?;
    // A changed password should lock out anyone else who had it.
    let keep = user.session.id().map(|id| id.to_string());
    state
        .db
        .delete_other_sessions(user.account.id, keep.as_deref())
        .await?;
    tracing::info!(account_id = user.account.id, "password changed");
    Ok(Redirect::to("/account?done=password").into_response())
}

/// Turns network sharing on or off. Off is the default; the time of each change is kept.
pub async fn set_consent(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<ConsentForm>,
) -> Result<Response, AppError> {
    let granted = match form.share.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(AppError::BadRequest("Choose yes or no.".into())),
    };
    state
        .db
        .set_consent(user.account.id, granted, state.clock.now())
        .await?;
    tracing::info!(
        account_id = user.account.id,
        granted,
        "network consent changed"
    );
    Ok(Redirect::to(if granted {
        "/account?done=consent-on"
    } else {
        "/account?done=consent-off"
    })
    .into_response())
}

/// Everything Hearth holds about one person, for their own download.
#[derive(Serialize)]
pub struct Export {
    pub exported_at: String,
    pub account: ExportAccount,
    pub network_sharing: ExportConsent,
    /// The address weekly reminders go to, if any.
    pub reminder_email: Option<String>,
    pub checkins: Vec<ExportCheckin>,
}

#[derive(Serialize)]
pub struct ExportAccount {
    pub display_name: String,
    pub username: String,
    pub role: &'static str,
    pub joined: String,
}

#[derive(Serialize)]
pub struct ExportConsent {
    pub granted: bool,
    pub changed_at: Option<String>,
}

#[derive(Serialize)]
pub struct ExportCheckin {
    pub week: String,
    pub who5_items: [u8; 5],
    pub who5_percentage: u8,
    pub burnout: u8,
    pub paid_hours: u8,
    pub unpaid_hours: u8,
    pub funding_hours: u8,
    pub time_pressure: u8,
    pub note: Option<String>,
    pub first_saved: String,
    pub last_saved: String,
}

async fn export(state: &AppState, user: &CurrentUser) -> Result<Export, AppError> {
    let consent = state.db.consent(user.account.id).await?;
    let checkins = state.db.own_checkins(user.account.id).await?;
    Ok(Export {
        exported_at: state.clock.now().to_rfc3339(),
        account: ExportAccount {
            display_name: user.account.display_name.clone(),
            username: user.account.username.clone(),
            role: user.account.role.as_str(),
            joined: user.account.created_at.to_rfc3339(),
        },
        network_sharing: ExportConsent {
            granted: consent.is_some_and(|c| c.granted),
            changed_at: consent.map(|c| c.changed_at.to_rfc3339()),
        },
        reminder_email: state
            .db
            .reminder_email(user.account.id)
            .await?
            .map(|r| r.address),
        checkins: checkins
            .into_iter()
            .map(|c| ExportCheckin {
                week: c.week.to_string(),
                who5_items: c.answers.who5(),
                who5_percentage: scoring::who5_percentage(&c.answers),
                burnout: c.answers.burnout(),
                paid_hours: c.answers.paid_hours(),
                unpaid_hours: c.answers.unpaid_hours(),
                funding_hours: c.answers.funding_hours(),
                time_pressure: c.answers.time_pressure(),
                note: c.answers.note().map(str::to_owned),
                first_saved: c.created_at.to_rfc3339(),
                last_saved: c.updated_at.to_rfc3339(),
            })
            .collect(),
    })
}

/// A file download that no cache keeps. `disposition` names the file.
pub fn download(content_type: &'static str, disposition: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

pub async fn export_json(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let data = export(&state, &user).await?;
    let body =
        serde_json::to_string_pretty(&data).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(download(
        "application/json",
        "attachment; filename=\"hearth-my-data.json\"",
        body,
    ))
}

pub async fn export_csv(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let data = export(&state, &user).await?;
    let mut w = crate::csv_out::Writer::new(&[
        "week",
        "who5_1",
        "who5_2",
        "who5_3",
        "who5_4",
        "who5_5",
        "who5_percentage",
        "burnout",
        "paid_hours",
        "unpaid_hours",
        "funding_hours",
        "time_pressure",
        "note",
        "first_saved",
        "last_saved",
    ]);
    for c in &data.checkins {
        let mut row: Vec<String> = vec![c.week.clone()];
        row.extend(c.who5_items.iter().map(u8::to_string));
        row.extend(
            [
                c.who5_percentage,
                c.burnout,
                c.paid_hours,
                c.unpaid_hours,
                c.funding_hours,
                c.time_pressure,
            ]
            .iter()
            .map(u8::to_string),
        );
        row.push(c.note.clone().unwrap_or_default());
        row.push(c.first_saved.clone());
        row.push(c.last_saved.clone());
        w.row(&row);
    }
    Ok(download(
        "text/csv; charset=utf-8",
        "attachment; filename=\"hearth-my-checkins.csv\"",
        w.finish(),
    ))
}

#[derive(Template)]
#[template(path = "account_delete.html")]
pub struct DeletePage {
    pub nav: Nav,
    pub csrf: String,
    pub error: Option<String>,
}

pub async fn delete_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    render(&DeletePage {
        nav: Nav::for_user(&state, &user).await?,
        csrf: csrf::token(&user.session).await?,
        error: None,
    })
}

/// Deletes the signed-in person's account and everything that is theirs, after their password.
pub async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<DeleteForm>,
) -> Result<Response, AppError> {
    state
        .limiter
        .check(&[format!("user:{}", user.account.username)])?;
    let hash = state.db.password_hash(user.account.id).await?;
    let error = if !verify_password(form.password, Some(hash)).await? {
        Some("Your password is not right".to_owned())
    } else {
        match state.db.delete_account(user.account.id).await {
            Ok(()) => {
                tracing::info!(account_id = user.account.id, "account deleted by its owner");
                user.session.flush().await?;
                return Ok(Redirect::to("/?deleted=1").into_response());
            }
            Err(DbError::Conflict(_)) => Some(
                "You are the group's only facilitator. Make someone else a facilitator first, on the Members page."
                    .to_owned(),
            ),
            Err(e) => return Err(e.into()),
        }
    };
    Ok(render_with_status(
        StatusCode::BAD_REQUEST,
        &DeletePage {
            nav: Nav::for_user(&state, &user).await?,
            csrf: csrf::token(&user.session).await?,
            error,
        },
    ))
}
