use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use hearth_core::aggregate::WeekTotals;
use hearth_core::{CheckinAnswers, IsoWeek};

use crate::schema::{checkins, week_aggregates};
use crate::{Db, DbError, from_db_time, to_db_time, with_conn};

/// A week's aggregate, frozen when the week closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrozenWeek {
    pub week: IsoWeek,
    pub closed_at: DateTime<Utc>,
    pub totals: WeekTotals,
}

type TotalsRow = (
    String,
    chrono::NaiveDateTime,
    (i32, i32, i32, i32, i32, i32, i32, i32),
);

/// WHO-5 items, then burnout, paid, unpaid, funding hours and time pressure.
pub(crate) type AnswerRow = ((i32, i32, i32, i32, i32), (i32, i32, i32, i32, i32));

type Who5Columns = (
    checkins::who5_1,
    checkins::who5_2,
    checkins::who5_3,
    checkins::who5_4,
    checkins::who5_5,
);
type OtherAnswerColumns = (
    checkins::burnout,
    checkins::paid_hours,
    checkins::unpaid_hours,
    checkins::funding_hours,
    checkins::time_pressure,
);

/// The answer columns of a check-in (never its note), in [`AnswerRow`] order.
pub(crate) const ANSWER_COLUMNS: (Who5Columns, OtherAnswerColumns) = (
    (
        checkins::who5_1,
        checkins::who5_2,
        checkins::who5_3,
        checkins::who5_4,
        checkins::who5_5,
    ),
    (
        checkins::burnout,
        checkins::paid_hours,
        checkins::unpaid_hours,
        checkins::funding_hours,
        checkins::time_pressure,
    ),
);

/// Answers from a stored row, re-checked (a corrupted row is an error, never a figure).
pub(crate) fn answers_from_row(row: AnswerRow) -> Result<CheckinAnswers, DbError> {
    let ((a, b, cc, d, e), (burnout, paid, unpaid, funding, tp)) = row;
    let small = |v: i32| u8::try_from(v).map_err(|_| DbError::InvalidData(format!("{v}")));
    CheckinAnswers::new(
        [small(a)?, small(b)?, small(cc)?, small(d)?, small(e)?],
        small(burnout)?,
        small(paid)?,
        small(unpaid)?,
        small(funding)?,
        small(tp)?,
        None,
    )
    .map_err(|e| DbError::InvalidData(e.to_string()))
}

fn count(v: i32) -> Result<u32, DbError> {
    u32::try_from(v).map_err(|_| DbError::InvalidData(format!("negative total {v}")))
}

fn int(v: u32) -> Result<i32, DbError> {
    i32::try_from(v).map_err(|_| DbError::InvalidData(format!("total {v} too large")))
}

impl Db {
    /// Every member's answers for `week`, without who gave them and without notes: the only
    /// query that reads check-ins across members, for freezing the week's aggregate.
    pub async fn answers_for_week(&self, week: IsoWeek) -> Result<Vec<CheckinAnswers>, DbError> {
        let mut conn = self.conn().await?;
        let week = week.to_string();
        let rows: Vec<AnswerRow> = with_conn!(&mut conn, |c| checkins::table
            .filter(checkins::week.eq(&week))
            .select(ANSWER_COLUMNS)
            .load(c)
            .await)?;
        rows.into_iter().map(answers_from_row).collect()
    }

    /// How many members have checked in for `week` so far.
    pub async fn respondents_so_far(&self, week: IsoWeek) -> Result<i64, DbError> {
        let mut conn = self.conn().await?;
        let week = week.to_string();
        Ok(with_conn!(&mut conn, |c| checkins::table
            .filter(checkins::week.eq(&week))
            .count()
            .get_result(c)
            .await)?)
    }

    /// Stores `totals` as `week`'s aggregate unless one is already frozen. Returns whether this
    /// call froze it. A frozen aggregate is never updated.
    pub async fn freeze_week(
        &self,
        week: IsoWeek,
        totals: &WeekTotals,
        closed_at: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let mut conn = self.write_conn().await?;
        let week = week.to_string();
        let values = (
            week_aggregates::week.eq(&week),
            week_aggregates::closed_at.eq(to_db_time(closed_at)),
            week_aggregates::respondents.eq(int(totals.respondents)?),
            week_aggregates::who5_pct_sum.eq(int(totals.who5_pct_sum)?),
            week_aggregates::low_wellbeing.eq(int(totals.low_wellbeing)?),
            week_aggregates::burnout.eq(int(totals.burnout)?),
            week_aggregates::time_pressure.eq(int(totals.time_pressure)?),
            week_aggregates::paid_sum.eq(int(totals.paid_sum)?),
            week_aggregates::unpaid_sum.eq(int(totals.unpaid_sum)?),
            week_aggregates::funding_sum.eq(int(totals.funding_sum)?),
        );
        let n = with_conn!(&mut conn, |c| diesel::insert_into(week_aggregates::table)
            .values(values)
            .on_conflict(week_aggregates::week)
            .do_nothing()
            .execute(c)
            .await)?;
        Ok(n == 1)
    }

    /// Every frozen week, oldest first.
    pub async fn frozen_weeks(&self) -> Result<Vec<FrozenWeek>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<TotalsRow> = with_conn!(&mut conn, |c| week_aggregates::table
            .order(week_aggregates::week.asc())
            .select((
                week_aggregates::week,
                week_aggregates::closed_at,
                (
                    week_aggregates::respondents,
                    week_aggregates::who5_pct_sum,
                    week_aggregates::low_wellbeing,
                    week_aggregates::burnout,
                    week_aggregates::time_pressure,
                    week_aggregates::paid_sum,
                    week_aggregates::unpaid_sum,
                    week_aggregates::funding_sum,
                ),
            ))
            .load(c)
            .await)?;
        rows.into_iter()
            .map(|(week, closed_at, (r, w, l, b, t, p, u, f))| {
                Ok(FrozenWeek {
                    week: week.parse().map_err(|e: hearth_core::period::BadIsoWeek| {
                        DbError::InvalidData(e.to_string())
                    })?,
                    closed_at: from_db_time(closed_at),
                    totals: WeekTotals {
                        respondents: count(r)?,
                        who5_pct_sum: count(w)?,
                        low_wellbeing: count(l)?,
                        burnout: count(b)?,
                        time_pressure: count(t)?,
                        paid_sum: count(p)?,
                        unpaid_sum: count(u)?,
                        funding_sum: count(f)?,
                    },
                })
            })
            .collect()
    }

    /// The newest frozen week, if any.
    pub async fn latest_frozen_week(&self) -> Result<Option<IsoWeek>, DbError> {
        let mut conn = self.conn().await?;
        let w: Option<String> = with_conn!(&mut conn, |c| week_aggregates::table
            .select(diesel::dsl::max(week_aggregates::week))
            .first(c)
            .await)?;
        w.map(|w| {
            w.parse()
                .map_err(|e: hearth_core::period::BadIsoWeek| DbError::InvalidData(e.to_string()))
        })
        .transpose()
    }
}
