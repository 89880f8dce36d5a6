use askama::Template;
use axum::extract::State;
use axum::response::Response;
use tower_sessions::Session;

use super::{Nav, render};
use crate::auth::signed_in;
use crate::{AppError, AppState};

#[derive(Template)]
#[template(path = "support.html")]
pub struct SupportPage {
    pub nav: Nav,
}

/// Reachable signed in or not: someone may need it before they can sign in.
pub async fn show(State(state): State<AppState>, session: Session) -> Result<Response, AppError> {
    let account = signed_in(&state, &session).await?;
    render(&SupportPage {
        nav: Nav::for_account(&state, account.as_ref()).await?,
    })
}
