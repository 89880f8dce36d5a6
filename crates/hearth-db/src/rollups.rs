//! A hub's sector rollups (`sector_rollups`): sums per segment, measure and period over every
//! report held, changed only inside the transaction that stores, replaces or erases a report,
//! by exactly that report's counts; and their version (`sector_version`), bumped in the same
//! transaction, which tells cached sector pictures to be computed again.

use std::collections::BTreeMap;

use diesel::{OptionalExtension, QueryDsl, Queryable, Selectable, SelectableHelper};
use diesel_async::RunQueryDsl;
use hearth_core::report::ReportPeriod;
use hearth_core::sector::{Measure, Segment, Sums};

use crate::schema::{sector_rollups, sector_version};
use crate::{Db, DbError, with_conn};

/// Adds (`sign` 1) or takes out (`sign` −1) one report's counts in every segment it counts
/// in, inside the caller's transaction.
macro_rules! rollup_apply {
    ($c:expr, $segments:expr, $period:expr, $sigma_tenths:expr, $counts:expr, $sign:expr) => {{
        use $crate::prepared::{Rows, Value};
        let counts: &[(String, i64)] = $counts;
        let sign: i64 = $sign;
        let respondents = counts
            .iter()
            .find(|(s, _)| s == hearth_core::signal::RESPONDENTS)
            .map(|(_, v)| *v)
            .unwrap_or(0);
        let sigma_sq = i64::from($sigma_tenths) * i64::from($sigma_tenths);
        // Every segment and measure in one statement: one upsert per row was most of a
        // received report's writing. Rows are summed per key first, as one-by-one upserts
        // would (PostgreSQL refuses a statement that touches a row twice).
        let mut rows: std::collections::BTreeMap<(&str, &str), i64> = Default::default();
        for segment in $segments.split(',').filter(|s| !s.is_empty()) {
            for (measure, value) in counts
                .iter()
                .filter(|(s, _)| hearth_core::sector::Measure::parse(s).is_some())
            {
                *rows.entry((segment, measure.as_str())).or_default() += *value;
            }
        }
        if !rows.is_empty() {
            let period: &str = $period;
            let mut values = Vec::with_capacity(rows.len() * 7);
            for ((segment, measure), total) in rows {
                values.extend([
                    Value::Text(segment),
                    Value::Text(measure),
                    Value::Text(period),
                    Value::Integer(sign as i32),
                    Value::BigInt(sign * respondents),
                    Value::BigInt(sign * total),
                    Value::BigInt(sign * sigma_sq),
                ]);
            }
            Rows {
                head: $crate::rollups::ROLLUP_UPSERT_HEAD,
                width: 7,
                values,
                tail: $crate::rollups::ROLLUP_UPSERT_TAIL,
            }
            .execute($c)
            .await?;
        }
    }};
}

/// The rollup upsert, around its rows.
pub(crate) const ROLLUP_UPSERT_HEAD: &str = "INSERT INTO sector_rollups \
     (segment, measure, period, groups, respondents, total, sigma_sq_hundredths) VALUES ";
pub(crate) const ROLLUP_UPSERT_TAIL: &str = " ON CONFLICT (segment, measure, period) DO UPDATE SET \
     groups = sector_rollups.groups + excluded.groups, \
     respondents = sector_rollups.respondents + excluded.respondents, \
     total = sector_rollups.total + excluded.total, \
     sigma_sq_hundredths = sector_rollups.sigma_sq_hundredths + excluded.sigma_sq_hundredths";

/// Drops rollup rows no report counts in any more, and bumps the rollups' version.
macro_rules! rollup_prune {
    ($c:expr) => {{
        use $crate::schema::sector_rollups;
        diesel::delete(sector_rollups::table.filter(sector_rollups::groups.le(0)))
            .execute($c)
            .await?;
        $crate::rollups::rollup_bump!($c);
    }};
}

/// Marks the rollups changed, so cached sector pictures are computed again.
macro_rules! rollup_bump {
    ($c:expr) => {{
        use $crate::schema::sector_version;
        $crate::prepared::reuse!(
            diesel::insert_into(sector_version::table)
                .values((
                    sector_version::id.eq(1i64),
                    sector_version::version.eq(1i64),
                ))
                .on_conflict(sector_version::id)
                .do_update()
                .set(sector_version::version.eq(sector_version::version + 1i64)),
        )
        .execute($c)
        .await?;
    }};
}

pub(crate) use {rollup_apply, rollup_bump, rollup_prune};

/// A `sector_rollups` row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = sector_rollups, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct RollupRecord {
    segment: String,
    measure: String,
    period: String,
    groups: i32,
    respondents: i64,
    total: i64,
    sigma_sq_hundredths: i64,
}

impl Db {
    /// The sector rollups: sums per segment, measure and period over every report held.
    pub async fn sector_sums(
        &self,
    ) -> Result<BTreeMap<(Segment, Measure, ReportPeriod), Sums>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<RollupRecord> = with_conn!(&mut conn, |c| sector_rollups::table
            .select(RollupRecord::as_select())
            .load(c)
            .await)?;
        let bad = |what: &str| DbError::InvalidData(format!("rollup {what}"));
        let mut out = BTreeMap::new();
        for r in rows {
            let key = (
                Segment::parse(&r.segment).ok_or_else(|| bad(&r.segment))?,
                Measure::parse(&r.measure).ok_or_else(|| bad(&r.measure))?,
                r.period
                    .parse::<ReportPeriod>()
                    .map_err(|_| bad(&r.period))?,
            );
            out.insert(
                key,
                Sums {
                    groups: u32::try_from(r.groups).map_err(|_| bad("groups"))?,
                    respondents: r.respondents,
                    count: r.total,
                    noise_variance: r.sigma_sq_hundredths as f64 / 100.0,
                },
            );
        }
        Ok(out)
    }

    /// The rollups' version: it changes with every report stored, replaced or erased.
    pub async fn sector_version(&self) -> Result<i64, DbError> {
        let mut conn = self.conn().await?;
        let v: Option<i64> = with_conn!(&mut conn, |c| sector_version::table
            .find(1i64)
            .select(sector_version::version)
            .first(c)
            .await
            .optional())?;
        Ok(v.unwrap_or(0))
    }
}
