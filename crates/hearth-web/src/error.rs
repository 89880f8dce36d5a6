//! One error type for the web layer, rendered once as an HTML page with a way back.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::pages::render_with_status;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("sign in required")]
    LoginRequired,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("too many attempts")]
    TooManyAttempts,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<hearth_db::DbError> for AppError {
    fn from(e: hearth_db::DbError) -> Self {
        match e {
            hearth_db::DbError::NotFound => AppError::NotFound,
            other => AppError::Internal(other.to_string()),
        }
    }
}

/// Federation's failures as a page sees them, mapped here once: what is not there is not
/// found, what federation refuses is a bad request with its reason, anything else is internal
/// (logged, never shown). A page with words of its own for one case matches that case first.
impl From<hearth_federation::FedError> for AppError {
    fn from(e: hearth_federation::FedError) -> Self {
        use hearth_federation::FedError;
        match e {
            FedError::Db(e) => e.into(),
            FedError::NotAllowed(m) => AppError::BadRequest(m),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        AppError::Internal(format!("session: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub nav: crate::pages::Nav,
    pub status: u16,
    pub title: &'static str,
    pub message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            AppError::LoginRequired => return Redirect::to("/login").into_response(),
            AppError::BadRequest(m) => (
                StatusCode::BAD_REQUEST,
                "Something in the request was not right",
                m,
            ),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "You cannot see this page",
                "This page is for facilitators, or belongs to someone else.".to_owned(),
            ),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "If you typed the address, check it is correct.".to_owned(),
            ),
            AppError::TooManyAttempts => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                "Wait a minute, then try again.".to_owned(),
            ),
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sorry, something went wrong",
                    "Nothing you did caused this. Try again in a moment.".to_owned(),
                )
            }
        };
        render_with_status(
            status,
            &ErrorPage {
                nav: crate::pages::Nav::default(),
                status: status.as_u16(),
                title,
                message,
            },
        )
    }
}
