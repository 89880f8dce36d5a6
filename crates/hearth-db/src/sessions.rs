use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable, SelectableHelper,
};
use diesel_async::RunQueryDsl;

use crate::prepared::reuse;
use crate::schema::sessions;
use crate::{Db, DbError, from_db_time, to_db_time, with_conn};

/// A stored web session. `data` is the session crate's serialised record; `account_id` is kept
/// beside it so erasing an account also removes every session it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub account_id: Option<i64>,
    pub data: String,
    pub expires_at: DateTime<Utc>,
}

/// A `sessions` row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct SessionRecord {
    id: String,
    account_id: Option<i64>,
    data: String,
    expires_at: NaiveDateTime,
}

impl From<SessionRecord> for SessionRow {
    fn from(r: SessionRecord) -> Self {
        SessionRow {
            id: r.id,
            account_id: r.account_id,
            data: r.data,
            expires_at: from_db_time(r.expires_at),
        }
    }
}

impl Db {
    pub async fn save_session(&self, s: &SessionRow) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        let expires = to_db_time(s.expires_at);
        with_conn!(&mut conn, |c| reuse!(
            diesel::insert_into(sessions::table)
                .values((
                    sessions::id.eq(&s.id),
                    sessions::account_id.eq(s.account_id),
                    sessions::data.eq(&s.data),
                    sessions::expires_at.eq(expires),
                ))
                .on_conflict(sessions::id)
                .do_update()
                .set((
                    sessions::account_id.eq(s.account_id),
                    sessions::data.eq(&s.data),
                    sessions::expires_at.eq(expires),
                ))
        )
        .execute(c)
        .await)?;
        self.cache.sessions.forget(s.id.as_str());
        Ok(())
    }

    /// Inserts a new session; `false` if the id is already taken (the caller picks another).
    pub async fn create_session(&self, s: &SessionRow) -> Result<bool, DbError> {
        let mut conn = self.write_conn().await?;
        let n = with_conn!(&mut conn, |c| diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(&s.id),
                sessions::account_id.eq(s.account_id),
                sessions::data.eq(&s.data),
                sessions::expires_at.eq(to_db_time(s.expires_at)),
            ))
            .on_conflict(sessions::id)
            .do_nothing()
            .execute(c)
            .await)?;
        Ok(n == 1)
    }

    /// A session that has not expired by `now`.
    pub async fn load_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRow>, DbError> {
        if let Some(row) = self.cache.sessions.get(id) {
            return Ok((row.expires_at > now).then_some(row));
        }
        let start = self.cache.sessions.start_read();
        let mut conn = self.conn().await?;
        let row: Option<SessionRecord> = with_conn!(&mut conn, |c| sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::expires_at.gt(to_db_time(now)))
            .select(SessionRecord::as_select())
            .first(c)
            .await
            .optional())?;
        let row = row.map(SessionRow::from);
        if let Some(r) = &row {
            self.cache.sessions.keep(start, r.id.clone(), r.clone());
        }
        Ok(row)
    }

    pub async fn delete_session(&self, id: &str) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| diesel::delete(
            sessions::table.filter(sessions::id.eq(id))
        )
        .execute(c)
        .await)?;
        self.cache.sessions.forget(id);
        Ok(())
    }

    /// Ends every session of an account except `keep` (after a password change).
    pub async fn delete_other_sessions(
        &self,
        account_id: i64,
        keep: Option<&str>,
    ) -> Result<usize, DbError> {
        let mut conn = self.write_conn().await?;
        let keep = keep.unwrap_or("").to_owned();
        let n = with_conn!(&mut conn, |c| diesel::delete(
            sessions::table
                .filter(sessions::account_id.eq(account_id))
                .filter(sessions::id.ne(&keep))
        )
        .execute(c)
        .await)?;
        self.cache
            .sessions
            .forget_where(|_, s| s.account_id == Some(account_id) && s.id != keep);
        Ok(n)
    }

    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<usize, DbError> {
        let mut conn = self.write_conn().await?;
        let n = with_conn!(&mut conn, |c| diesel::delete(
            sessions::table.filter(sessions::expires_at.le(to_db_time(now)))
        )
        .execute(c)
        .await)?;
        self.cache.sessions.forget_where(|_, s| s.expires_at <= now);
        Ok(n)
    }
}
