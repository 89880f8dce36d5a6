//! CSRF protection for every state-changing request: a per-session token, rendered into each
//! form as `csrf_token` and checked here before any handler runs.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::AppError;

/// Session key holding the CSRF token.
pub const SESSION_KEY: &str = "csrf";
pub const FIELD: &str = "csrf_token";
/// Forms are small; anything bigger is refused before it is parsed.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The session's token, made on first use.
pub async fn token(session: &Session) -> Result<String, AppError> {
    if let Some(t) = session.get::<String>(SESSION_KEY).await? {
        return Ok(t);
    }
    let t = crate::tokens::new_token();
    session.insert(SESSION_KEY, &t).await?;
    Ok(t)
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Middleware: refuses any POST without the session's token, leaving state untouched.
pub async fn guard(session: Session, req: Request, next: Next) -> Response {
    // The inbox is for servers, authenticated by HTTP signatures rather than cookies; an
    // unsubscribe link carries its own secret and is posted by mail programs (RFC 8058).
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || req.uri().path() == "/inbox"
        || req.uri().path().starts_with("/reminders/stop/")
    {
        return next.run(req).await;
    }
    let expected = match session.get::<String>(SESSION_KEY).await {
        Ok(t) => t,
        Err(e) => return AppError::from(e).into_response(),
    };
    let (parts, body) = req.into_parts();
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return AppError::BadRequest(
            "Forms must be sent as application/x-www-form-urlencoded.".into(),
        )
        .into_response();
    }
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return AppError::BadRequest("The form was too large.".into()).into_response();
    };
    let given = form_field(&bytes, FIELD).unwrap_or_default();
    let ok = expected
        .as_deref()
        .is_some_and(|e| !given.is_empty() && bool::from(e.as_bytes().ct_eq(given.as_bytes())));
    if !ok {
        return AppError::BadRequest(
            "This form has expired or came from somewhere else. Go back, reload the page and try again."
                .into(),
        )
        .into_response();
    }
    next.run(Request::from_parts(parts, Body::from(without_nul(&bytes))))
        .await
}

/// A form body without NUL characters (`%00`, or a raw zero byte): no one types one, SQLite
/// would keep it and PostgreSQL refuses it, so every form is stored the same on both by
/// dropping it here, once, for all of them. (`%2500` is a literal "%00" and stays.)
fn without_nul(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i..].starts_with(b"%00") {
            i += 3;
        } else {
            if body[i] != 0 {
                out.push(body[i]);
            }
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_are_dropped_and_nothing_else() {
        assert_eq!(without_nul(b"note=a%00b&x=%2500\0c"), b"note=ab&x=%2500c");
        assert_eq!(without_nul(b"plain=text"), b"plain=text");
    }

    #[test]
    fn form_fields_are_found_after_decoding() {
        assert_eq!(
            form_field(b"a=1&csrf_token=x%2By&b=2", FIELD).as_deref(),
            Some("x+y")
        );
        assert_eq!(form_field(b"a=1", FIELD), None);
    }
}
