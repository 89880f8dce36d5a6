use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_db::{DbError, InviteStatus, NewAccount};
use serde::Deserialize;
use tower_sessions::Session;

use super::{Nav, render, render_with_status};
use crate::auth::{ClientAddr, hash_password, password_problem, sign_in};
use crate::tokens::{hash_token, looks_like_token};
use crate::{AppError, AppState, csrf};

#[derive(Template)]
#[template(path = "join.html")]
pub struct JoinPage {
    pub nav: Nav,
    pub csrf: String,
    pub group_name: String,
    pub role: &'static str,
    pub role_is_facilitator: bool,
    pub display_name: String,
    pub username: String,
    pub errors: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "invite_gone.html")]
pub struct InviteGonePage {
    pub nav: Nav,
    pub reason: &'static str,
}

#[derive(Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

pub const MAX_DISPLAY_NAME_CHARS: usize = 60;

/// Checks a username: 3–32 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn username_problem(u: &str) -> Option<String> {
    let ok_chars = u
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    let ok_start = u.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if !(3..=32).contains(&u.len()) || !ok_chars || !ok_start {
        Some("Choose a username of 3 to 32 lowercase letters, numbers, dots, dashes or underscores, starting with a letter or number".into())
    } else {
        None
    }
}

fn gone(reason: &'static str) -> Response {
    render_with_status(
        StatusCode::GONE,
        &InviteGonePage {
            nav: Nav::default(),
            reason,
        },
    )
}

/// Looks the invite up; `Err(response)` is the page to show when it cannot be used.
async fn usable_invite(
    state: &AppState,
    token: &str,
) -> Result<Result<hearth_core::Role, Response>, AppError> {
    if !looks_like_token(token) {
        return Err(AppError::NotFound);
    }
    let invite = state
        .db
        .invite_by_token_hash(&hash_token(token), state.clock.now())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(match invite.status {
        InviteStatus::Open => Ok(invite.role),
        InviteStatus::Used => Err(gone(
            "This invite link has already been used. Each link works once.",
        )),
        InviteStatus::Expired => Err(gone("This invite link has expired.")),
    })
}

async fn group_name(state: &AppState) -> Result<String, AppError> {
    Ok(state
        .db
        .group_settings()
        .await?
        .map(|s| s.name)
        .unwrap_or_default())
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let role = match usable_invite(&state, &token).await? {
        Ok(role) => role,
        Err(page) => return Ok(page),
    };
    render(&JoinPage {
        nav: Nav::default(),
        csrf: csrf::token(&session).await?,
        group_name: group_name(&state).await?,
        role: role.as_str(),
        role_is_facilitator: role == hearth_core::Role::Facilitator,
        display_name: String::new(),
        username: String::new(),
        errors: Vec::new(),
    })
}

pub async fn submit(
    State(state): State<AppState>,
    session: Session,
    addr: ClientAddr,
    Path(token): Path<String>,
    Form(form): Form<JoinForm>,
) -> Result<Response, AppError> {
    if let Some(ip) = addr.0 {
        state.limiter.check(&[format!("ip:{ip}")])?;
    }
    let role = match usable_invite(&state, &token).await? {
        Ok(role) => role,
        Err(page) => return Ok(page),
    };
    let display_name = form.display_name.trim().to_owned();
    let username = form.username.trim().to_lowercase();
    let mut errors = Vec::new();
    if display_name.is_empty() {
        errors.push((
            "display_name",
            "Enter your name, as the group knows you".to_owned(),
        ));
    } else if display_name.chars().count() > MAX_DISPLAY_NAME_CHARS
        || display_name.chars().any(char::is_control)
    {
        errors.push((
            "display_name",
            format!("Use at most {MAX_DISPLAY_NAME_CHARS} characters for your name"),
        ));
    }
    if let Some(p) = username_problem(&username) {
        errors.push(("username", p));
    }
    if let Some(p) = password_problem(&form.password) {
        errors.push(("password", p));
    } else if form.password != form.password_confirm {
        errors.push((
            "password_confirm",
            "The two passwords are not the same".to_owned(),
        ));
    }
    if errors.is_empty() {
        let new = NewAccount {
            username: username.clone(),
            display_name: display_name.clone(),
            password_hash: hash_password(form.password).await?,
        };
        match state
            .db
            .join_with_invite(&hash_token(&token), &new, state.clock.now())
            .await
        {
            Ok(account) => {
                sign_in(&session, account.id).await?;
                tracing::info!(account_id = account.id, role = %account.role, "joined by invite");
                return Ok(Redirect::to("/").into_response());
            }
            Err(DbError::Conflict(_)) => errors.push((
                "username",
                "That username is taken: choose another".to_owned(),
            )),
            // Used or expired between showing the form and submitting it.
            Err(DbError::NotFound) => return Ok(gone("This invite link is no longer valid.")),
            Err(e) => return Err(e.into()),
        }
    }
    let page = JoinPage {
        nav: Nav::default(),
        csrf: csrf::token(&session).await?,
        group_name: group_name(&state).await?,
        role: role.as_str(),
        role_is_facilitator: role == hearth_core::Role::Facilitator,
        display_name,
        username,
        errors,
    };
    Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
}

#[cfg(test)]
mod tests {
    use super::username_problem;

    #[test]
    fn usernames_follow_the_stated_rules() {
        for ok in ["sam", "sam.o-k_1", "1abc"] {
            assert!(username_problem(ok).is_none(), "{ok}");
        }
        for bad in ["ab", "Sam", "sam smith", ".sam", "sám", &"a".repeat(33)] {
            assert!(username_problem(bad).is_some(), "{bad}");
        }
    }
}
