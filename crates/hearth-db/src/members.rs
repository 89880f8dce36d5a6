use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable,
    SelectableHelper,
};
use diesel_async::RunQueryDsl;
use hearth_core::Role;

use crate::accounts::parse_role;
use crate::schema::{accounts, network_consents};
use crate::{Db, DbError, from_db_time, to_db_time, with_conn};

diesel::alias!(accounts as others: OtherAccounts);

/// A member as the member list shows them: never any answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSummary {
    pub id: i64,
    pub display_name: String,
    pub role: Role,
    pub joined: DateTime<Utc>,
    pub last_sign_in: Option<DateTime<Utc>>,
}

/// A member's current choice about network sharing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consent {
    pub granted: bool,
    pub changed_at: DateTime<Utc>,
}

/// The `accounts` columns the member list shows.
#[derive(Queryable, Selectable)]
#[diesel(table_name = accounts, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct MemberRecord {
    id: i64,
    display_name: String,
    role: String,
    created_at: NaiveDateTime,
    last_login_at: Option<NaiveDateTime>,
}

impl TryFrom<MemberRecord> for MemberSummary {
    type Error = DbError;
    fn try_from(r: MemberRecord) -> Result<Self, DbError> {
        Ok(MemberSummary {
            id: r.id,
            display_name: r.display_name,
            role: parse_role(&r.role)?,
            joined: from_db_time(r.created_at),
            last_sign_in: r.last_login_at.map(from_db_time),
        })
    }
}

impl Db {
    /// Everyone with an account, facilitators first, then by name.
    pub async fn list_members(&self) -> Result<Vec<MemberSummary>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<MemberRecord> = with_conn!(&mut conn, |c| accounts::table
            .select(MemberRecord::as_select())
            .order((
                accounts::role.asc(),
                accounts::display_name.asc(),
                accounts::id.asc()
            ))
            .load(c)
            .await)?;
        rows.into_iter().map(MemberSummary::try_from).collect()
    }

    /// Changes a role. Refused (`Conflict`) when it would leave the group without a
    /// facilitator; one statement, so two facilitators demoting each other cannot both win.
    pub async fn set_role(&self, id: i64, role: Role) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        let another_facilitator = diesel::dsl::exists(
            others
                .filter(others.field(accounts::role).eq(Role::Facilitator.as_str()))
                .filter(others.field(accounts::id).ne(id)),
        );
        let n = match role {
            Role::Facilitator => {
                with_conn!(&mut conn, |c| diesel::update(accounts::table.find(id))
                    .set(accounts::role.eq(role.as_str()))
                    .execute(c)
                    .await)?
            }
            Role::Member => with_conn!(&mut conn, |c| diesel::update(
                accounts::table.filter(accounts::id.eq(id)).filter(
                    accounts::role
                        .eq(Role::Member.as_str())
                        .or(another_facilitator)
                )
            )
            .set(accounts::role.eq(role.as_str()))
            .execute(c)
            .await)?,
        };
        self.cache.accounts.forget(&id);
        if n == 1 {
            return Ok(());
        }
        self.account(id).await?;
        Err(DbError::Conflict("The last facilitator"))
    }

    /// Deletes an account and, by cascade, every row that is theirs: check-ins, notes,
    /// sessions, consent, and invites they made. Refused (`Conflict`) for the last facilitator
    /// while anyone else has an account.
    pub async fn delete_account(&self, id: i64) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        let another_facilitator = diesel::dsl::exists(
            others
                .filter(others.field(accounts::role).eq(Role::Facilitator.as_str()))
                .filter(others.field(accounts::id).ne(id)),
        );
        let anyone_else = diesel::dsl::exists(others.filter(others.field(accounts::id).ne(id)));
        let n = with_conn!(&mut conn, |c| diesel::delete(
            accounts::table.filter(accounts::id.eq(id)).filter(
                accounts::role
                    .eq(Role::Member.as_str())
                    .or(another_facilitator)
                    .or(diesel::dsl::not(anyone_else))
            )
        )
        .execute(c)
        .await)?;
        // The delete cascaded to the account's sessions.
        self.cache.accounts.forget(&id);
        self.cache
            .sessions
            .forget_where(|_, s| s.account_id == Some(id));
        self.cache
            .checkins
            .forget_where(|(account, _), _| *account == id);
        if n == 1 {
            return Ok(());
        }
        self.account(id).await?;
        Err(DbError::Conflict("The last facilitator"))
    }

    pub async fn consent(&self, account_id: i64) -> Result<Option<Consent>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<(bool, NaiveDateTime)> = with_conn!(&mut conn, |c| {
            network_consents::table
                .find(account_id)
                .select((network_consents::granted, network_consents::changed_at))
                .first(c)
                .await
                .optional()
        })?;
        Ok(row.map(|(granted, at)| Consent {
            granted,
            changed_at: from_db_time(at),
        }))
    }

    pub async fn set_consent(
        &self,
        account_id: i64,
        granted: bool,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        let now = to_db_time(now);
        with_conn!(&mut conn, |c| diesel::insert_into(network_consents::table)
            .values((
                network_consents::account_id.eq(account_id),
                network_consents::granted.eq(granted),
                network_consents::changed_at.eq(now),
            ))
            .on_conflict(network_consents::account_id)
            .do_update()
            .set((
                network_consents::granted.eq(granted),
                network_consents::changed_at.eq(now),
            ))
            .execute(c)
            .await)?;
        Ok(())
    }
}
