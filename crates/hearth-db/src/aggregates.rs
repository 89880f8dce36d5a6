use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{ExpressionMethods, QueryDsl, Queryable, Selectable, SelectableHelper};
use diesel_async::RunQueryDsl;
use hearth_core::aggregate::{MinCount, WeekFigures, WeekTotals};
use hearth_core::{CheckinAnswers, IsoWeek};

use crate::checkins::AnswerRecord;
use crate::schema::{checkins, week_aggregates};
use crate::{Db, DbError, from_db_time, parse_week, to_db_time, with_conn};

/// A week's aggregate, frozen when the week closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrozenWeek {
    pub week: IsoWeek,
    pub closed_at: DateTime<Utc>,
    pub totals: WeekTotals,
    /// k when the week closed.
    pub min_count: MinCount,
}

impl FrozenWeek {
    /// The k this week is shown under: the larger of k at its close and k now, so lowering k
    /// never reveals a week that was hidden when people answered.
    pub fn k(&self, now: MinCount) -> MinCount {
        self.min_count.max(now)
    }
    /// Its figures, if it has at least [`FrozenWeek::k`] answers.
    pub fn figures(&self, now: MinCount) -> Option<WeekFigures> {
        self.totals.figures(self.k(now))
    }
    /// Whether it has at least [`FrozenWeek::k`] answers.
    pub fn shown(&self, now: MinCount) -> bool {
        self.totals.respondents >= u32::from(self.k(now).get())
    }
}

/// A `week_aggregates` row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = week_aggregates, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct FrozenRecord {
    week: String,
    closed_at: NaiveDateTime,
    respondents: i32,
    who5_pct_sum: i32,
    low_wellbeing: i32,
    burnout: i32,
    time_pressure: i32,
    paid_sum: i32,
    unpaid_sum: i32,
    funding_sum: i32,
    min_count: i32,
}

impl TryFrom<FrozenRecord> for FrozenWeek {
    type Error = DbError;
    fn try_from(r: FrozenRecord) -> Result<Self, DbError> {
        Ok(FrozenWeek {
            week: parse_week(&r.week)?,
            closed_at: from_db_time(r.closed_at),
            totals: WeekTotals {
                respondents: count(r.respondents)?,
                who5_pct_sum: count(r.who5_pct_sum)?,
                low_wellbeing: count(r.low_wellbeing)?,
                burnout: count(r.burnout)?,
                time_pressure: count(r.time_pressure)?,
                paid_sum: count(r.paid_sum)?,
                unpaid_sum: count(r.unpaid_sum)?,
                funding_sum: count(r.funding_sum)?,
            },
            min_count: MinCount::new(i64::from(r.min_count))
                .map_err(|e| DbError::InvalidData(format!("week_aggregates.min_count: {e}")))?,
        })
    }
}

fn count(v: i32) -> Result<u32, DbError> {
    u32::try_from(v).map_err(|_| DbError::InvalidData(format!("negative total {v}")))
}

fn int(v: u32) -> Result<i32, DbError> {
    i32::try_from(v).map_err(|_| DbError::InvalidData(format!("total {v} too large")))
}

/// The rows that pass validation: one corrupt row (a hand edit, a damaged page) neither stops
/// a week freezing nor breaks a page. It is logged by what was read (`rows_of`: a week, a
/// member's history) alone, never its values or its author.
pub(crate) fn valid_only<T>(
    rows: impl Iterator<Item = Result<T, DbError>>,
    rows_of: &str,
) -> Vec<T> {
    let mut skipped = 0;
    let valid = rows
        .filter_map(|r| r.map_err(|_| skipped += 1).ok())
        .collect();
    if skipped > 0 {
        tracing::warn!(
            rows_of,
            skipped,
            "stored check-ins that fail validation are left out (a damaged or hand-edited database)"
        );
    }
    valid
}

impl Db {
    /// Every member's answers for `week`, without who gave them and without notes: the only
    /// query that reads check-ins across members, for freezing the week's aggregate.
    pub async fn answers_for_week(&self, week: IsoWeek) -> Result<Vec<CheckinAnswers>, DbError> {
        let mut conn = self.conn().await?;
        let week = week.to_string();
        let rows: Vec<AnswerRecord> = with_conn!(&mut conn, |c| checkins::table
            .filter(checkins::week.eq(&week))
            .select(AnswerRecord::as_select())
            .load(c)
            .await)?;
        Ok(valid_only(rows.into_iter().map(|r| r.answers(None)), &week))
    }

    /// Stores `totals` as `week`'s aggregate unless one is already frozen. Returns whether this
    /// call froze it. A frozen aggregate is never updated.
    pub async fn freeze_week(
        &self,
        week: IsoWeek,
        totals: &WeekTotals,
        min_count: MinCount,
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
            week_aggregates::min_count.eq(i32::from(min_count.get())),
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
        let rows: Vec<FrozenRecord> = with_conn!(&mut conn, |c| week_aggregates::table
            .order(week_aggregates::week.asc())
            .select(FrozenRecord::as_select())
            .load(c)
            .await)?;
        rows.into_iter().map(FrozenWeek::try_from).collect()
    }

    /// The newest frozen week, if any.
    pub async fn latest_frozen_week(&self) -> Result<Option<IsoWeek>, DbError> {
        let mut conn = self.conn().await?;
        let w: Option<String> = with_conn!(&mut conn, |c| week_aggregates::table
            .select(diesel::dsl::max(week_aggregates::week))
            .first(c)
            .await)?;
        w.as_deref().map(parse_week).transpose()
    }
}
