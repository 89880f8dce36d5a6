//! Passwords, sign-in state and login rate limiting.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hearth_core::Role;
use hearth_db::Account;
use tower_sessions::Session;

use crate::session_store::ACCOUNT_KEY;
use crate::{AppError, AppState};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Hashes with argon2id (the crate's defaults: 19 MiB, 2 passes) on a blocking thread.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("hashing: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

/// Checks a password against a stored hash. With no hash (unknown username) a dummy hash is
/// checked anyway, so response time does not reveal which usernames exist.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| AppError::Internal(format!("stored hash: {e}")))?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && ok)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

/// argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Jx4W4GfMmsz7tvqEfQyn6J8TPtDQ4gbjV0qd3Ztbq9k";

/// A password's problems, if any, in words for a person.
pub fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Some(format!(
            "Use at least {MIN_PASSWORD_CHARS} characters for your password"
        ))
    } else if n > MAX_PASSWORD_CHARS {
        Some(format!(
            "Use at most {MAX_PASSWORD_CHARS} characters for your password"
        ))
    } else {
        None
    }
}

/// Rate limiter for sign-in and join attempts, keyed by client address and by username.
pub struct AttemptLimiter {
    inner: DefaultKeyedRateLimiter<String>,
}

impl AttemptLimiter {
    pub fn new(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            inner: RateLimiter::keyed(Quota::per_minute(n)),
        }
    }

    /// Counts one attempt against each key; refuses if any key is over its quota.
    pub fn check(&self, keys: &[String]) -> Result<(), AppError> {
        let mut over = false;
        for k in keys {
            over |= self.inner.check_key(k).is_err();
        }
        if over {
            Err(AppError::TooManyAttempts)
        } else {
            Ok(())
        }
    }

    /// Drops state for keys that are back to a full quota, so memory stays bounded.
    pub fn forget_idle(&self) {
        self.inner.retain_recent();
    }
}

/// The client address for rate limiting: the socket peer, or the last `X-Forwarded-For` hop
/// when configured to sit behind a proxy.
pub struct ClientAddr(pub Option<IpAddr>);

impl<S> FromRequestParts<S> for ClientAddr
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        if state.config.behind_proxy
            && let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Ok(ClientAddr(Some(ip)));
        }
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The signed-in person. Extracting it from a request without a session redirects to sign-in.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub account: Account,
    pub session: Session,
}

impl<S> FromRequestParts<S> for CurrentUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let session = Session::from_request_parts(parts, &state)
            .await
            .map_err(|(_, m)| AppError::Internal(m.to_owned()))?;
        let account = signed_in(&state, &session)
            .await?
            .ok_or(AppError::LoginRequired)?;
        Ok(CurrentUser { account, session })
    }
}

/// Session key holding the day the session was last used (UTC).
const SEEN_KEY: &str = "seen";
/// Session key, on a shared computer's session, holding when it was last used (Unix seconds).
const SHARED_KEY: &str = "shared_seen";
/// A shared computer's session ends after this long unused.
pub const SHARED_IDLE: chrono::Duration = chrono::Duration::minutes(30);
/// How often a shared session records its use: the idle limit is kept to within this.
const SHARED_MARK: chrono::Duration = chrono::Duration::minutes(5);

/// Makes the signed-in session one for a shared computer: its cookie lasts only as long as the
/// browser, and it ends after [`SHARED_IDLE`] unused.
pub async fn make_shared(state: &AppState, session: &Session) -> Result<(), AppError> {
    session.set_expiry(Some(tower_sessions::Expiry::OnSessionEnd));
    session
        .insert(SHARED_KEY, state.clock.now().timestamp())
        .await?;
    Ok(())
}

/// The signed-in account, if any. A session whose account is gone is treated as signed out.
///
/// A session is saved only when it changes, and saving is what moves its expiry; so the first
/// use each day records the day, which saves it: a session in use stays signed in, one unused
/// for the idle period expires, and reading pages costs at most one write a day.
pub async fn signed_in(state: &AppState, session: &Session) -> Result<Option<Account>, AppError> {
    let Some(id) = session.get::<i64>(ACCOUNT_KEY).await? else {
        return Ok(None);
    };
    if let Some(seen) = session.get::<i64>(SHARED_KEY).await? {
        let now = state.clock.now();
        let idle = now - chrono::DateTime::from_timestamp(seen, 0).unwrap_or(now);
        if idle > SHARED_IDLE {
            session.flush().await?;
            return Ok(None);
        }
        if idle > SHARED_MARK {
            session.insert(SHARED_KEY, now.timestamp()).await?;
        }
    }
    match state.db.account(id).await {
        Ok(a) => {
            // The instance's clock. tower-sessions computes the expiry this moves from the
            // system clock itself; outside tests the two are the same clock.
            let today = state.clock.now().date_naive().to_string();
            if session.get::<String>(SEEN_KEY).await?.as_deref() != Some(today.as_str()) {
                session.insert(SEEN_KEY, today).await?;
            }
            Ok(Some(a))
        }
        Err(hearth_db::DbError::NotFound) => {
            session.flush().await?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// A signed-in facilitator; anyone else gets 403 (or is sent to sign in).
#[derive(Debug, Clone)]
pub struct Facilitator(pub CurrentUser);

impl<S> FromRequestParts<S> for Facilitator
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.account.role == Role::Facilitator {
            Ok(Facilitator(user))
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Starts a signed-in session with a fresh id (no session fixation).
pub async fn sign_in(session: &Session, account_id: i64) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(ACCOUNT_KEY, account_id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_verify_and_unknown_users_never_match() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse battery".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong password!".into(), Some(h))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("anything at all".into(), None)
                .await
                .unwrap()
        );
    }

    #[test]
    fn password_rules_are_explained() {
        assert!(password_problem("short").unwrap().contains("at least 10"));
        assert!(
            password_problem(&"x".repeat(129))
                .unwrap()
                .contains("at most")
        );
        assert!(password_problem("long enough pass").is_none());
    }

    #[test]
    fn limiter_refuses_after_the_quota_for_any_key() {
        let l = AttemptLimiter::new(2);
        let keys = vec!["ip:1".to_owned(), "user:a".to_owned()];
        assert!(l.check(&keys).is_ok());
        assert!(l.check(&keys).is_ok());
        assert!(l.check(&keys).is_err());
        assert!(l.check(&["ip:2".to_owned()]).is_ok());
    }
}
