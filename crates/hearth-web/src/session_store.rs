//! Sessions for tower-sessions, stored in Hearth's own database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hearth_db::{Db, SessionRow};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// Session key holding the signed-in account's id.
pub const ACCOUNT_KEY: &str = "account_id";
/// The session cookie's name.
pub const COOKIE_NAME: &str = "hearth_session";

#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn to_chrono(t: time::OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn to_time(t: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp())
        .map(|o| o + time::Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos())))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn to_row(record: &Record) -> session_store::Result<SessionRow> {
    Ok(SessionRow {
        id: record.id.to_string(),
        account_id: record
            .data
            .get(ACCOUNT_KEY)
            .and_then(serde_json::Value::as_i64),
        data: serde_json::to_string(&record.data).map_err(backend)?,
        expires_at: to_chrono(record.expiry_date),
    })
}

#[async_trait]
impl SessionStore for DbSessionStore {
    /// Inserts under a fresh id, drawing again on the (astronomically unlikely) collision, so
    /// a new session can never overwrite someone else's.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            if self
                .db
                .create_session(&to_row(record)?)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.db
            .save_session(&to_row(record)?)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        // Session expiry follows the session crate's clock (real time), not the app clock.
        let now = to_chrono(time::OffsetDateTime::now_utc());
        let Some(row) = self
            .db
            .load_session(&id.to_string(), now)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&row.data).map_err(backend)?,
            expiry_date: to_time(row.expires_at),
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.db
            .delete_session(&id.to_string())
            .await
            .map_err(backend)
    }
}

/// A signed-in session made without a browser, for load tools such as `hearth bench`: what a
/// client sends to act as that account.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    /// The `Cookie` header value.
    pub cookie: String,
    /// The CSRF token its forms carry.
    pub csrf: String,
}

/// Stores a session signed in as `account_id`, as signing in would, valid for `days`.
pub async fn open_session(
    db: &Db,
    account_id: i64,
    days: i64,
) -> session_store::Result<OpenedSession> {
    let csrf = crate::tokens::new_token();
    let mut data = std::collections::HashMap::new();
    data.insert(ACCOUNT_KEY.to_owned(), serde_json::Value::from(account_id));
    data.insert(
        crate::csrf::SESSION_KEY.to_owned(),
        serde_json::Value::from(csrf.clone()),
    );
    let mut record = Record {
        id: Id::default(),
        data,
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::days(days),
    };
    DbSessionStore::new(db.clone()).create(&mut record).await?;
    Ok(OpenedSession {
        cookie: format!("{COOKIE_NAME}={}", record.id),
        csrf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_conversions_round_trip() {
        let t = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
            + time::Duration::microseconds(123_456);
        assert_eq!(to_time(to_chrono(t)), t);
    }
}
