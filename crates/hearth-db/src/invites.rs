use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable, SelectableHelper,
};
use diesel_async::RunQueryDsl;
use hearth_core::Role;

use crate::accounts::parse_role;
use crate::schema::invites;
use crate::{Db, DbError, from_db_time, to_db_time, with_conn};

/// An invite as facilitators see it. The token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    pub id: i64,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub status: InviteStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteStatus {
    Open,
    Used,
    Expired,
}

/// An `invites` row without its token hash and who made or used it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = invites, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct InviteRecord {
    id: i64,
    role: String,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

impl InviteRecord {
    /// The invite as it stands at `now` (open, used or expired).
    fn into_invite(self, now: DateTime<Utc>) -> Result<Invite, DbError> {
        let expires_at = from_db_time(self.expires_at);
        Ok(Invite {
            id: self.id,
            role: parse_role(&self.role)?,
            created_at: from_db_time(self.created_at),
            expires_at,
            status: if self.used_at.is_some() {
                InviteStatus::Used
            } else if expires_at <= now {
                InviteStatus::Expired
            } else {
                InviteStatus::Open
            },
        })
    }
}

impl Db {
    pub async fn create_invite(
        &self,
        token_hash: &str,
        role: Role,
        created_by: Option<i64>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<i64, DbError> {
        let mut conn = self.write_conn().await?;
        let id = with_conn!(&mut conn, |c| diesel::insert_into(invites::table)
            .values((
                invites::token_hash.eq(token_hash),
                invites::role.eq(role.as_str()),
                invites::created_by.eq(created_by),
                invites::created_at.eq(to_db_time(now)),
                invites::expires_at.eq(to_db_time(expires_at)),
            ))
            .returning(invites::id)
            .get_result(c)
            .await)?;
        Ok(id)
    }

    /// The invite for a token hash, whatever its state, so the join page can say why it fails.
    pub async fn invite_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Invite>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<InviteRecord> = with_conn!(&mut conn, |c| invites::table
            .filter(invites::token_hash.eq(token_hash))
            .select(InviteRecord::as_select())
            .first(c)
            .await
            .optional())?;
        row.map(|r| r.into_invite(now)).transpose()
    }

    /// Every invite, newest first.
    pub async fn list_invites(&self, now: DateTime<Utc>) -> Result<Vec<Invite>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<InviteRecord> = with_conn!(&mut conn, |c| invites::table
            .select(InviteRecord::as_select())
            .order(invites::id.desc())
            .load(c)
            .await)?;
        rows.into_iter().map(|r| r.into_invite(now)).collect()
    }

    /// Revokes an unused invite by deleting it. A used invite is history and stays.
    pub async fn revoke_invite(&self, id: i64) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        let n = with_conn!(&mut conn, |c| diesel::delete(
            invites::table
                .filter(invites::id.eq(id))
                .filter(invites::used_at.is_null())
        )
        .execute(c)
        .await)?;
        if n == 0 {
            Err(DbError::NotFound)
        } else {
            Ok(())
        }
    }
}
