use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Nav, render, render_with_status};
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
    pub changed: bool,
    pub errors: Vec<(&'static str, String)>,
}

#[derive(Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    pub changed: Option<String>,
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

async fn page(
    user: &CurrentUser,
    changed: bool,
    errors: Vec<(&'static str, String)>,
) -> Result<AccountPage, AppError> {
    Ok(AccountPage {
        nav: Nav::for_user(user),
        csrf: csrf::token(&user.session).await?,
        display_name: user.account.display_name.clone(),
        username: user.account.username.clone(),
        role: user.account.role.as_str(),
        changed,
        errors,
    })
}

pub async fn show(user: CurrentUser, Query(q): Query<AccountQuery>) -> Result<Response, AppError> {
    render(&page(&user, q.changed.is_some(), Vec::new()).await?)
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
            &page(&user, false, errors).await?,
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
    Ok(Redirect::to("/account?changed=1").into_response())
}
