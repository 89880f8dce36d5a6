use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    ExpressionMethods, NullableExpressionMethods, OptionalExtension, QueryDsl, Queryable,
    Selectable, SelectableHelper,
};
use diesel_async::RunQueryDsl;
use hearth_core::{CheckinAnswers, IsoWeek};

use crate::pool::group_commit::write_body;
use crate::prepared::reuse;
use crate::schema::{checkin_notes, checkins};
use crate::{Db, DbError, from_db_time, parse_week, to_db_time, with_conn};

/// One member's check-in for one week, note included. Only ever loaded for its author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckin {
    pub week: IsoWeek,
    pub answers: CheckinAnswers,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A check-in's answer columns: never its note, nor whose it is.
#[derive(Queryable, Selectable)]
#[diesel(table_name = checkins, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct AnswerRecord {
    who5_1: i32,
    who5_2: i32,
    who5_3: i32,
    who5_4: i32,
    who5_5: i32,
    burnout: i32,
    paid_hours: i32,
    unpaid_hours: i32,
    funding_hours: i32,
    time_pressure: i32,
}

impl AnswerRecord {
    /// The answers, re-checked: a corrupted row is an error, never a figure.
    pub(crate) fn answers(self, note: Option<String>) -> Result<CheckinAnswers, DbError> {
        let small = |v: i32| {
            // Never the value: this error may be logged.
            u8::try_from(v)
                .map_err(|_| DbError::InvalidData("a stored answer is out of range".into()))
        };
        CheckinAnswers::new(
            [
                small(self.who5_1)?,
                small(self.who5_2)?,
                small(self.who5_3)?,
                small(self.who5_4)?,
                small(self.who5_5)?,
            ],
            small(self.burnout)?,
            small(self.paid_hours)?,
            small(self.unpaid_hours)?,
            small(self.funding_hours)?,
            small(self.time_pressure)?,
            note,
        )
        .map_err(|e| DbError::InvalidData(e.to_string()))
    }
}

/// A check-in with its note, for its author.
#[derive(Queryable, Selectable)]
#[diesel(table_name = checkins, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct CheckinRecord {
    week: String,
    #[diesel(embed)]
    answers: AnswerRecord,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    // The note is in a table of its own, joined (left) for its author only.
    #[diesel(
        select_expression = checkin_notes::note.nullable(),
        select_expression_type = diesel::dsl::Nullable<checkin_notes::note>,
    )]
    note: Option<String>,
}

impl TryFrom<CheckinRecord> for StoredCheckin {
    type Error = DbError;
    fn try_from(r: CheckinRecord) -> Result<Self, DbError> {
        Ok(StoredCheckin {
            week: parse_week(&r.week)?,
            answers: r.answers.answers(r.note)?,
            created_at: from_db_time(r.created_at),
            updated_at: from_db_time(r.updated_at),
        })
    }
}

/// A check-in as written.
struct NewCheckin {
    account_id: i64,
    week: String,
    who5: [i32; 5],
    burnout: i32,
    paid_hours: i32,
    unpaid_hours: i32,
    funding_hours: i32,
    time_pressure: i32,
    now: NaiveDateTime,
    note: Option<String>,
}

/// Writes a [`NewCheckin`] on connection `$c` (either backend), inside the caller's transaction.
/// The upsert comes first: the write lock is taken by the first statement, so SQLite never has
/// to upgrade a read lock under concurrency.
macro_rules! write_checkin {
    ($c:expr, $row:expr) => {{
        let c = $c;
        let r = &$row;
        let w = r.who5;
        let id: i64 = reuse!(
            diesel::insert_into(checkins::table)
                .values((
                    checkins::account_id.eq(r.account_id),
                    checkins::week.eq(&r.week),
                    checkins::who5_1.eq(w[0]),
                    checkins::who5_2.eq(w[1]),
                    checkins::who5_3.eq(w[2]),
                    checkins::who5_4.eq(w[3]),
                    checkins::who5_5.eq(w[4]),
                    checkins::burnout.eq(r.burnout),
                    checkins::paid_hours.eq(r.paid_hours),
                    checkins::unpaid_hours.eq(r.unpaid_hours),
                    checkins::funding_hours.eq(r.funding_hours),
                    checkins::time_pressure.eq(r.time_pressure),
                    checkins::created_at.eq(r.now),
                    checkins::updated_at.eq(r.now),
                ))
                .on_conflict((checkins::account_id, checkins::week))
                .do_update()
                .set((
                    checkins::who5_1.eq(w[0]),
                    checkins::who5_2.eq(w[1]),
                    checkins::who5_3.eq(w[2]),
                    checkins::who5_4.eq(w[3]),
                    checkins::who5_5.eq(w[4]),
                    checkins::burnout.eq(r.burnout),
                    checkins::paid_hours.eq(r.paid_hours),
                    checkins::unpaid_hours.eq(r.unpaid_hours),
                    checkins::funding_hours.eq(r.funding_hours),
                    checkins::time_pressure.eq(r.time_pressure),
                    checkins::updated_at.eq(r.now),
                ))
                .returning(checkins::id),
        )
        .get_result(&mut *c)
        .await?;
        match &r.note {
            Some(n) => {
                reuse!(
                    diesel::insert_into(checkin_notes::table)
                        .values((checkin_notes::checkin_id.eq(id), checkin_notes::note.eq(n)))
                        .on_conflict(checkin_notes::checkin_id)
                        .do_update()
                        .set(checkin_notes::note.eq(n)),
                )
                .execute(&mut *c)
                .await?;
            }
            None => {
                diesel::delete(checkin_notes::table.find(id))
                    .execute(&mut *c)
                    .await?;
            }
        }
        Ok::<_, DbError>(())
    }};
}

impl Db {
    /// Saves `answers` as `account_id`'s check-in for `week`: the first submission creates it,
    /// later ones in the same week replace it. Which week may be written is the caller's rule.
    pub async fn save_checkin(
        &self,
        account_id: i64,
        week: IsoWeek,
        answers: &CheckinAnswers,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let row = NewCheckin {
            account_id,
            week: week.to_string(),
            who5: answers.who5().map(i32::from),
            burnout: i32::from(answers.burnout()),
            paid_hours: i32::from(answers.paid_hours()),
            unpaid_hours: i32::from(answers.unpaid_hours()),
            funding_hours: i32::from(answers.funding_hours()),
            time_pressure: i32::from(answers.time_pressure()),
            now: to_db_time(now),
            note: answers.note().map(str::to_owned),
        };
        // Check-ins arrive many at once: on SQLite, queued and committed together.
        let cache = self.cache.clone();
        self.write_batched(write_body!(self, |c| write_checkin!(c, row)), move || {
            cache.checkins.forget(&(account_id, week))
        })
        .await
    }

    /// `account_id`'s own check-in for `week`.
    pub async fn own_checkin(
        &self,
        account_id: i64,
        week: IsoWeek,
    ) -> Result<Option<StoredCheckin>, DbError> {
        if let Some(kept) = self.cache.checkins.get(&(account_id, week)) {
            return Ok(kept);
        }
        let start = self.cache.checkins.start_read();
        let mut conn = self.conn().await?;
        let label = week.to_string();
        let row: Option<CheckinRecord> = with_conn!(&mut conn, |c| checkins::table
            .left_join(checkin_notes::table)
            .filter(checkins::account_id.eq(account_id))
            .filter(checkins::week.eq(&label))
            .select(CheckinRecord::as_select())
            .first(c)
            .await
            .optional())?;
        // A corrupt row reads as no check-in, so its author can simply check in again.
        let checkin = row.and_then(|r| {
            crate::aggregates::valid_only(std::iter::once(StoredCheckin::try_from(r)), &label).pop()
        });
        self.cache
            .checkins
            .keep(start, (account_id, week), checkin.clone());
        Ok(checkin)
    }

    /// All of `account_id`'s own check-ins, oldest first.
    pub async fn own_checkins(&self, account_id: i64) -> Result<Vec<StoredCheckin>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<CheckinRecord> = with_conn!(&mut conn, |c| checkins::table
            .left_join(checkin_notes::table)
            .filter(checkins::account_id.eq(account_id))
            .order(checkins::week.asc())
            .select(CheckinRecord::as_select())
            .load(c)
            .await)?;
        Ok(crate::aggregates::valid_only(
            rows.into_iter().map(StoredCheckin::try_from),
            "a member's history",
        ))
    }
}
