//! The hub side of sharing: the reports member groups sent (`received_reports`, counts in
//! long form in `received_report_counts`), stored, replaced and erased together with their
//! share of the sector rollups.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use hearth_core::sharing::Rho;

use crate::pool::group_commit::write_body;
use crate::prepared::{Rows, Value};
use crate::rollups::{rollup_apply, rollup_bump, rollup_prune};
use crate::schema::{received_report_counts, received_reports};
use crate::sharing::nanos;
use crate::{Db, DbError, from_db_time, to_db_time, with_conn};

/// A report as a hub received it: validated by the federation layer before it gets here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedReport {
    pub object_id: String,
    pub period: String,
    pub schema_version: i32,
    pub sigma_tenths: i32,
    pub rho: Rho,
    /// (signal, noisy count); signal names are the report's JSON terms.
    pub counts: Vec<(String, i64)>,
    /// The sector segments the sending group is in now (`network`, `region:…`, …): the report
    /// counts in these for good.
    pub segments: Vec<String>,
}

/// What storing a received report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Replaced,
    /// The same report (same id) again: nothing changed.
    Unchanged,
}

/// Per group at a hub: how many reports are held and when the last one arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportActivity {
    pub reports: i64,
    pub last_received: DateTime<Utc>,
}

/// A stored report about to be replaced or erased: what taking it out of the rollups needs.
#[derive(Queryable, Selectable)]
#[diesel(table_name = received_reports, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct OldReport {
    id: i64,
    period: String,
    sigma_tenths: i32,
    segments: String,
}

/// Takes the received reports `$filter` picks out of the sector rollups and deletes them (their
/// counts go with them, by cascade), inside the caller's transaction; evaluates to how many.
/// Rollup rows left empty stay for the caller's `rollup_prune!`.
macro_rules! remove_reports {
    ($c:expr, $filter:expr) => {{
        // An update that changes nothing, to read the rows as a write: see `store_report!`.
        let old: Vec<OldReport> = diesel::update(received_reports::table.filter($filter))
            .set(received_reports::updated_at.eq(received_reports::updated_at))
            .returning(OldReport::as_returning())
            .get_results($c)
            .await?;
        for o in &old {
            let counts: Vec<(String, i64)> = received_report_counts::table
                .filter(received_report_counts::report_id.eq(o.id))
                .select((
                    received_report_counts::signal,
                    received_report_counts::value,
                ))
                .load($c)
                .await?;
            rollup_apply!($c, &o.segments, &o.period, o.sigma_tenths, &counts, -1);
            // By id, so exactly the reports taken out go (a statement kept prepared).
            diesel::delete(received_reports::table.find(o.id))
                .execute($c)
                .await?;
        }
        old.len()
    }};
}

/// Stores a received report on connection `$c` (either backend), inside the caller's
/// transaction: see [`Db::store_received_report`].
macro_rules! store_report {
    ($c:expr, $peer_id:expr, $r:expr, $replace:expr, $now:expr, $rho:expr, $segments:expr, $activity:expr) => {{
        let c = $c;
        let r = &$r;
        let (peer_id, replace, now, rho, segments) = ($peer_id, $replace, $now, $rho, &$segments);
        // Writes come first so SQLite takes its write lock before any read (a read
        // then a write in one transaction fails under concurrent writers).
        let activity: Option<&str> = $activity;
        if let Some(id) = activity {
            crate::federation::record_received!(c, id, now)?;
        }
        let removed = if replace {
            remove_reports!(
                c,
                received_reports::peer_id
                    .eq(peer_id)
                    .and(received_reports::period.eq(&r.period))
                    .or(received_reports::object_id.eq(&r.object_id))
            )
        } else {
            0
        };
        if removed > 0 {
            rollup_prune!(c);
        }
        let id: Option<i64> = diesel::insert_into(received_reports::table)
            .values((
                received_reports::peer_id.eq(peer_id),
                received_reports::object_id.eq(&r.object_id),
                received_reports::period.eq(&r.period),
                received_reports::schema_version.eq(r.schema_version),
                received_reports::sigma_tenths.eq(r.sigma_tenths),
                received_reports::rho_nanos.eq(rho),
                received_reports::received_at.eq(now),
                received_reports::updated_at.eq(now),
                received_reports::segments.eq(&segments),
            ))
            .on_conflict_do_nothing()
            .returning(received_reports::id)
            .get_result(c)
            .await
            .optional()?;
        let Some(id) = id else {
            let same: Option<i64> = received_reports::table
                .filter(received_reports::object_id.eq(&r.object_id))
                .filter(received_reports::peer_id.eq(peer_id))
                .filter(received_reports::period.eq(&r.period))
                .select(received_reports::id)
                .first(c)
                .await
                .optional()?;
            return match same {
                Some(_) => Ok(Stored::Unchanged),
                None => Err(DbError::Conflict("A report for this period")),
            };
        };
        let outcome = if removed == 0 {
            Stored::New
        } else {
            Stored::Replaced
        };
        if !r.counts.is_empty() {
            Rows {
                head: "INSERT INTO received_report_counts (report_id, signal, value) VALUES ",
                width: 3,
                values: r
                    .counts
                    .iter()
                    .flat_map(|(signal, value)| {
                        [
                            Value::BigInt(id),
                            Value::Text(signal),
                            Value::BigInt(*value),
                        ]
                    })
                    .collect(),
                tail: "",
            }
            .execute(c)
            .await?;
        }
        rollup_apply!(c, segments, &r.period, r.sigma_tenths, &r.counts, 1);
        rollup_bump!(c);
        Ok::<_, DbError>(outcome)
    }};
}

impl Db {
    /// Stores a report a member group sent, and adds it to the sector rollups, in one
    /// transaction. A `Create` (`replace` false) for a period that already holds a different
    /// report is a `Conflict`; an `Update` replaces it (taking the old one out of the rollups).
    pub async fn store_received_report(
        &self,
        peer_id: i64,
        r: &ReceivedReport,
        replace: bool,
        now: DateTime<Utc>,
    ) -> Result<Stored, DbError> {
        self.store_report_of_activity(peer_id, r, replace, now, None)
            .await
    }

    /// [`Db::store_received_report`], recording in the same transaction that the activity
    /// `activity_id`, which carried the report, was received (see [`Db::record_received`]).
    pub async fn store_report_of_activity(
        &self,
        peer_id: i64,
        r: &ReceivedReport,
        replace: bool,
        now: DateTime<Utc>,
        activity_id: Option<&str>,
    ) -> Result<Stored, DbError> {
        let now = to_db_time(now);
        let rho = nanos(r.rho)?;
        let segments = r.segments.join(",");
        // Reports arrive many at once: on SQLite, queued and committed together.
        let r = r.clone();
        let activity_id = activity_id.map(str::to_owned);
        self.write_batched(
            write_body!(self, |c| store_report!(
                c,
                peer_id,
                r,
                replace,
                now,
                rho,
                segments,
                activity_id.as_deref()
            )),
            || {},
        )
        .await
    }

    /// Erases every report a group sent this hub (its counts go with them) and takes them out
    /// of the sector rollups, in one transaction; returns how many.
    pub async fn erase_received_reports(&self, peer_id: i64) -> Result<usize, DbError> {
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let removed = remove_reports!(c, received_reports::peer_id.eq(peer_id));
                rollup_prune!(c);
                Ok::<_, DbError>(removed)
            })
            .await)
    }

    /// Reports held per group: how many and when the last arrived.
    pub async fn report_activity(&self) -> Result<HashMap<i64, ReportActivity>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(i64, NaiveDateTime)> = with_conn!(&mut conn, |c| received_reports::table
            .select((received_reports::peer_id, received_reports::updated_at))
            .load(c)
            .await)?;
        let mut out: HashMap<i64, ReportActivity> = HashMap::new();
        for (peer, at) in rows {
            let at = from_db_time(at);
            let e = out.entry(peer).or_insert(ReportActivity {
                reports: 0,
                last_received: at,
            });
            e.reports += 1;
            e.last_received = e.last_received.max(at);
        }
        Ok(out)
    }

    /// Every received report of one group: (object id, period, counts by signal), by period.
    pub async fn received_reports_of(
        &self,
        peer_id: i64,
    ) -> Result<Vec<(String, String, Vec<(String, i64)>)>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(i64, String, String)> = with_conn!(&mut conn, |c| received_reports::table
            .filter(received_reports::peer_id.eq(peer_id))
            .order(received_reports::period)
            .select((
                received_reports::id,
                received_reports::object_id,
                received_reports::period,
            ))
            .load(c)
            .await)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let counts: Vec<(i64, String, i64)> =
            with_conn!(&mut conn, |c| received_report_counts::table
                .filter(received_report_counts::report_id.eq_any(&ids))
                .order((
                    received_report_counts::report_id,
                    received_report_counts::signal
                ))
                .select((
                    received_report_counts::report_id,
                    received_report_counts::signal,
                    received_report_counts::value,
                ))
                .load(c)
                .await)?;
        let mut by_report: HashMap<i64, Vec<(String, i64)>> = HashMap::new();
        for (id, signal, value) in counts {
            by_report.entry(id).or_default().push((signal, value));
        }
        Ok(rows
            .into_iter()
            .map(|(id, oid, period)| (oid, period, by_report.remove(&id).unwrap_or_default()))
            .collect())
    }
}
