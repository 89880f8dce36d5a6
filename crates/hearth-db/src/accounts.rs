use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable, SelectableHelper,
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use hearth_core::Role;

use crate::schema::{accounts, invites};
use crate::{Db, DbError, from_db_time, to_db_time, with_conn};

/// A person with an account. Carries no answers and no password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// What joining by invite needs. `password_hash` is already hashed by the caller.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
}

/// An `accounts` row without its password hash.
#[derive(Queryable, Selectable)]
#[diesel(table_name = accounts, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct AccountRecord {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    created_at: NaiveDateTime,
}

impl TryFrom<AccountRecord> for Account {
    type Error = DbError;
    fn try_from(r: AccountRecord) -> Result<Self, DbError> {
        Ok(Account {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            role: parse_role(&r.role)?,
            created_at: from_db_time(r.created_at),
        })
    }
}

/// A stored role name (`Role::as_str`) read back.
pub(crate) fn parse_role(s: &str) -> Result<Role, DbError> {
    s.parse()
        .map_err(|e: hearth_core::role::UnknownRole| DbError::InvalidData(e.to_string()))
}

impl Db {
    /// Uses the invite whose token hashes to `token_hash` and creates the account it was for,
    /// in one transaction: the invite is claimed by a single `UPDATE … RETURNING`, so two people
    /// racing for one invite cannot both join, and a clashing username leaves the invite unused.
    pub async fn join_with_invite(
        &self,
        token_hash: &str,
        new: &NewAccount,
        now: DateTime<Utc>,
    ) -> Result<Account, DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        let row = with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let role: Option<String> = diesel::update(invites::table)
                    .filter(invites::token_hash.eq(token_hash))
                    .filter(invites::used_at.is_null())
                    .filter(invites::expires_at.gt(now))
                    .set(invites::used_at.eq(now))
                    .returning(invites::role)
                    .get_result(c)
                    .await
                    .optional()?;
                let Some(role) = role else {
                    return Err(DbError::NotFound);
                };
                let row: AccountRecord = diesel::insert_into(accounts::table)
                    .values((
                        accounts::username.eq(&new.username),
                        accounts::display_name.eq(&new.display_name),
                        accounts::role.eq(&role),
                        accounts::password_hash.eq(&new.password_hash),
                        accounts::created_at.eq(now),
                    ))
                    .returning(AccountRecord::as_returning())
                    .get_result(c)
                    .await
                    .map_err(|e| DbError::unique(e, "That username"))?;
                diesel::update(invites::table)
                    .filter(invites::token_hash.eq(token_hash))
                    .set(invites::used_by.eq(row.id))
                    .execute(c)
                    .await?;
                Ok(row)
            })
            .await)?;
        row.try_into()
    }

    pub async fn account(&self, id: i64) -> Result<Account, DbError> {
        if let Some(a) = self.cache.accounts.get(&id) {
            return Ok(a);
        }
        let start = self.cache.accounts.start_read();
        let mut conn = self.conn().await?;
        let row: AccountRecord = with_conn!(&mut conn, |c| accounts::table
            .find(id)
            .select(AccountRecord::as_select())
            .first(c)
            .await)?;
        let account = Account::try_from(row)?;
        self.cache.accounts.keep(start, id, account.clone());
        Ok(account)
    }

    /// The account and its password hash, for logging in.
    pub async fn credentials(&self, username: &str) -> Result<Option<(Account, String)>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<(AccountRecord, String)> = with_conn!(&mut conn, |c| accounts::table
            .filter(accounts::username.eq(username))
            .select((AccountRecord::as_select(), accounts::password_hash))
            .first(c)
            .await
            .optional())?;
        row.map(|(a, h)| Ok((a.try_into()?, h))).transpose()
    }

    pub async fn password_hash(&self, id: i64) -> Result<String, DbError> {
        let mut conn = self.conn().await?;
        Ok(with_conn!(&mut conn, |c| accounts::table
            .find(id)
            .select(accounts::password_hash)
            .first(c)
            .await)?)
    }

    pub async fn set_password_hash(&self, id: i64, hash: &str) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        let n = with_conn!(&mut conn, |c| diesel::update(accounts::table.find(id))
            .set(accounts::password_hash.eq(hash))
            .execute(c)
            .await)?;
        if n == 0 {
            Err(DbError::NotFound)
        } else {
            Ok(())
        }
    }

    pub async fn record_login(&self, id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| diesel::update(accounts::table.find(id))
            .set(accounts::last_login_at.eq(Some(to_db_time(now))))
            .execute(c)
            .await)?;
        Ok(())
    }

    pub async fn count_accounts(&self) -> Result<i64, DbError> {
        let mut conn = self.conn().await?;
        Ok(with_conn!(&mut conn, |c| accounts::table
            .count()
            .get_result(c)
            .await)?)
    }
}
