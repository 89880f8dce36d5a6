use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::{Nav, render};
use crate::auth::{ClientAddr, sign_in, signed_in, verify_password};
use crate::{AppError, AppState, csrf};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub nav: Nav,
    pub csrf: String,
    pub username: String,
    pub shared: bool,
    pub error: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    /// "yes" on a shared computer: the session ends with the browser, or when idle.
    #[serde(default)]
    pub shared: String,
}

pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    if signed_in(&state, &session).await?.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    render(&LoginPage {
        nav: Nav::default(),
        csrf: csrf::token(&session).await?,
        username: String::new(),
        shared: false,
        error: None,
    })
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    addr: ClientAddr,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let username = form.username.trim().to_lowercase();
    let mut keys = vec![format!("user:{username}")];
    if let Some(ip) = addr.0 {
        keys.push(format!("ip:{ip}"));
    }
    state.limiter.check(&keys)?;
    let found = state.db.credentials(&username).await?;
    let (account, hash) = match found {
        Some((a, h)) => (Some(a), Some(h)),
        None => (None, None),
    };
    // Always verify, even for unknown usernames, so timing does not reveal who has an account.
    let ok = !form.password.is_empty() & verify_password(form.password, hash).await?;
    if let Some(account) = account.filter(|_| ok) {
        sign_in(&session, account.id).await?;
        if form.shared == "yes" {
            crate::auth::make_shared(&state, &session).await?;
        }
        state.db.record_login(account.id, state.clock.now()).await?;
        tracing::info!(account_id = account.id, "signed in");
        return Ok(Redirect::to("/").into_response());
    }
    let page = LoginPage {
        nav: Nav::default(),
        csrf: csrf::token(&session).await?,
        username,
        shared: form.shared == "yes",
        error: Some("The username or password is not right.".into()),
    };
    Ok(super::render_with_status(
        axum::http::StatusCode::UNAUTHORIZED,
        &page,
    ))
}

pub async fn logout(session: Session) -> Result<Response, AppError> {
    session.flush().await?;
    Ok(Redirect::to("/").into_response())
}
