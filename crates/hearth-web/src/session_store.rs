//! Sessions for tower-sessions: signed-in sessions stored in Hearth's own database, anonymous
//! ones (a visitor's sign-in or join form, holding only its CSRF token) in memory, so that
//! requests from no one in particular never write to the disk.

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
    anonymous: std::sync::Arc<Anonymous>,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            anonymous: std::sync::Arc::default(),
        }
    }
}

/// Sessions with no account, in memory, at most [`Anonymous::MAX`]: in two generations, the
/// older dropped whole when the newer fills half, so a flood of visitors costs a bounded amount
/// of memory and no disk (the oldest forms then say they expired, and a reload mends them).
#[derive(Debug, Default)]
struct Anonymous(std::sync::Mutex<[std::collections::HashMap<Id, Record>; 2]>);

impl Anonymous {
    const MAX: usize = 20_000;

    fn get(&self, id: &Id) -> Option<Record> {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g[0].get(id).or_else(|| g[1].get(id)).cloned()
    }

    fn put(&self, record: &Record) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g[1].remove(&record.id);
        if g[0].len() >= Self::MAX / 2 && !g[0].contains_key(&record.id) {
            let newer = std::mem::take(&mut g[0]);
            g[1] = newer;
        }
        g[0].insert(record.id, record.clone());
    }

    fn remove(&self, id: &Id) -> bool {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let a = g[0].remove(id).is_some();
        let b = g[1].remove(id).is_some();
        a || b
    }

    fn contains(&self, id: &Id) -> bool {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g[0].contains_key(id) || g[1].contains_key(id)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g[0].len() + g[1].len()
    }
}

fn is_anonymous(record: &Record) -> bool {
    !record.data.contains_key(ACCOUNT_KEY)
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
        if is_anonymous(record) {
            while self.anonymous.contains(&record.id) {
                record.id = Id::default();
            }
            self.anonymous.put(record);
            return Ok(());
        }
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
        if is_anonymous(record) {
            self.anonymous.put(record);
            return Ok(());
        }
        // Signed in from here on: kept on disk, and no longer in memory.
        self.anonymous.remove(&record.id);
        self.db
            .save_session(&to_row(record)?)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(r) = self.anonymous.get(id) {
            return Ok((r.expiry_date > time::OffsetDateTime::now_utc()).then_some(r));
        }
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
        if self.anonymous.remove(id) {
            return Ok(());
        }
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

    fn record(n: u64) -> Record {
        let mut data = std::collections::HashMap::new();
        data.insert("csrf".to_owned(), serde_json::Value::from(n));
        Record {
            id: Id::default(),
            data,
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::days(1),
        }
    }

    #[test]
    fn anonymous_sessions_stay_within_their_bound_and_the_newest_are_kept() {
        let a = Anonymous::default();
        let first = record(0);
        a.put(&first);
        let mut last = first.clone();
        for n in 1..(Anonymous::MAX as u64 * 2) {
            last = record(n);
            a.put(&last);
            assert!(a.len() <= Anonymous::MAX);
        }
        assert!(a.get(&last.id).is_some());
        assert!(a.get(&first.id).is_none(), "the oldest went first");
        assert!(a.remove(&last.id));
        assert!(a.get(&last.id).is_none());
    }

    #[test]
    fn time_conversions_round_trip() {
        let t = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
            + time::Duration::microseconds(123_456);
        assert_eq!(to_time(to_chrono(t)), t);
    }
}
