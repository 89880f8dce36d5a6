//! Email reminders: the group's reminder day and the addresses members gave for them. An
//! address is read only for its own account's page, or by the sender, which gets addresses
//! and unsubscribe tokens and nothing else about anyone.

use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable,
    SelectableHelper,
};
use diesel_async::RunQueryDsl;

use crate::schema::{reminder_emails, reminder_settings};
use crate::{Db, DbError, to_db_time, with_conn};

/// Monday: the day reminders go out unless the group chooses another.
pub const DEFAULT_REMINDER_WEEKDAY: u8 = 1;

/// One member's reminder address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderEmail {
    pub account_id: i64,
    pub address: String,
    /// The secret in the one-click unsubscribe link.
    pub stop_token: String,
    /// The ISO week (`2026-W48`) of the last reminder sent.
    pub last_sent_week: Option<String>,
}

/// A `reminder_emails` row without when it was made.
#[derive(Queryable, Selectable)]
#[diesel(table_name = reminder_emails, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct ReminderRecord {
    account_id: i64,
    address: String,
    stop_token: String,
    last_sent_week: Option<String>,
}

impl From<ReminderRecord> for ReminderEmail {
    fn from(r: ReminderRecord) -> Self {
        ReminderEmail {
            account_id: r.account_id,
            address: r.address,
            stop_token: r.stop_token,
            last_sent_week: r.last_sent_week,
        }
    }
}

impl Db {
    /// The ISO weekday (1 = Monday) reminders go out on.
    pub async fn reminder_weekday(&self) -> Result<u8, DbError> {
        let mut conn = self.conn().await?;
        let day: Option<i32> = with_conn!(&mut conn, |c| reminder_settings::table
            .select(reminder_settings::weekday)
            .first(c)
            .await
            .optional())?;
        Ok(day
            .and_then(|d| u8::try_from(d).ok())
            .unwrap_or(DEFAULT_REMINDER_WEEKDAY))
    }

    pub async fn set_reminder_weekday(&self, weekday: u8) -> Result<(), DbError> {
        if !(1..=7).contains(&weekday) {
            return Err(DbError::InvalidData(format!(
                "weekday {weekday} is not 1 to 7"
            )));
        }
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| diesel::insert_into(reminder_settings::table)
            .values((
                reminder_settings::id.eq(1),
                reminder_settings::weekday.eq(i32::from(weekday)),
            ))
            .on_conflict(reminder_settings::id)
            .do_update()
            .set(reminder_settings::weekday.eq(i32::from(weekday)))
            .execute(c)
            .await)?;
        Ok(())
    }

    /// The account's own reminder address, if it gave one.
    pub async fn reminder_email(&self, account_id: i64) -> Result<Option<ReminderEmail>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<ReminderRecord> = with_conn!(&mut conn, |c| reminder_emails::table
            .filter(reminder_emails::account_id.eq(account_id))
            .select(ReminderRecord::as_select())
            .first(c)
            .await
            .optional())?;
        Ok(row.map(ReminderEmail::from))
    }

    /// Sets the account's address. A changed address gets `new_token` (so a link sent to the
    /// old address stops nothing of the new one's); the same address keeps its token.
    pub async fn set_reminder_email(
        &self,
        account_id: i64,
        address: &str,
        new_token: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        // Create if absent, then change only a different address (a write first, so SQLite
        // never upgrades a read lock).
        with_conn!(&mut conn, |c| diesel::insert_into(reminder_emails::table)
            .values((
                reminder_emails::account_id.eq(account_id),
                reminder_emails::address.eq(address),
                reminder_emails::stop_token.eq(new_token),
                reminder_emails::created_at.eq(to_db_time(now)),
            ))
            .on_conflict(reminder_emails::account_id)
            .do_nothing()
            .execute(c)
            .await)?;
        with_conn!(&mut conn, |c| diesel::update(
            reminder_emails::table
                .filter(reminder_emails::account_id.eq(account_id))
                .filter(reminder_emails::address.ne(address))
        )
        .set((
            reminder_emails::address.eq(address),
            reminder_emails::stop_token.eq(new_token),
            reminder_emails::created_at.eq(to_db_time(now)),
            reminder_emails::last_sent_week.eq(None::<String>),
        ))
        .execute(c)
        .await)?;
        Ok(())
    }

    /// Forgets the account's address; `true` if it had one.
    pub async fn remove_reminder_email(&self, account_id: i64) -> Result<bool, DbError> {
        let mut conn = self.write_conn().await?;
        let n = with_conn!(&mut conn, |c| diesel::delete(
            reminder_emails::table.filter(reminder_emails::account_id.eq(account_id))
        )
        .execute(c)
        .await)?;
        Ok(n > 0)
    }

    /// The address an unsubscribe token stops, if the token is current.
    pub async fn reminder_by_token(&self, token: &str) -> Result<Option<ReminderEmail>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<ReminderRecord> = with_conn!(&mut conn, |c| reminder_emails::table
            .filter(reminder_emails::stop_token.eq(token))
            .select(ReminderRecord::as_select())
            .first(c)
            .await
            .optional())?;
        Ok(row.map(ReminderEmail::from))
    }

    /// Unsubscribes by token (the address is forgotten); `true` if the token was current.
    pub async fn stop_reminders_by_token(&self, token: &str) -> Result<bool, DbError> {
        let mut conn = self.write_conn().await?;
        let n = with_conn!(&mut conn, |c| diesel::delete(
            reminder_emails::table.filter(reminder_emails::stop_token.eq(token))
        )
        .execute(c)
        .await)?;
        Ok(n > 0)
    }

    /// Addresses not yet reminded for `week`.
    pub async fn reminders_due(&self, week: &str) -> Result<Vec<ReminderEmail>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<ReminderRecord> = with_conn!(&mut conn, |c| reminder_emails::table
            .filter(
                reminder_emails::last_sent_week
                    .is_null()
                    .or(reminder_emails::last_sent_week.ne(week)),
            )
            .order(reminder_emails::account_id.asc())
            .select(ReminderRecord::as_select())
            .load(c)
            .await)?;
        Ok(rows.into_iter().map(ReminderEmail::from).collect())
    }

    /// Records that `account_id` was reminded for `week`.
    pub async fn mark_reminded(&self, account_id: i64, week: &str) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| diesel::update(
            reminder_emails::table.filter(reminder_emails::account_id.eq(account_id))
        )
        .set(reminder_emails::last_sent_week.eq(week))
        .execute(c)
        .await)?;
        Ok(())
    }
}
