//! Reports: a group's sharing settings per hub, its audit log and budget ledger
//! (`shared_reports`), the consenting members' check-ins a report is computed from, and at a
//! hub the reports it received.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::{AsyncConnection, RunQueryDsl};
use hearth_core::IsoWeek;
use hearth_core::report::Contribution;
use hearth_core::sharing::{Cadence, PrivacyLevel, Rho, SharingSettings, SignalSet};

use crate::aggregates::{ANSWER_COLUMNS, AnswerRow, answers_from_row};

use crate::federation::insert_outbox;
use crate::prepared::{Rows, Value, reuse};
use crate::schema::{
    checkins, hub_sharing, memberships, network_consents, outbox, received_report_counts,
    received_reports, sector_rollups, sector_version, shared_reports,
};
use crate::{Db, DbError, NewOutbox, from_db_time, to_db_time, with_conn};

/// A group's sharing settings for a hub, with when sharing was last turned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sharing {
    pub settings: SharingSettings,
    pub enabled_at: Option<DateTime<Utc>>,
}

/// What became of a period's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportState {
    AwaitingApproval,
    Sent,
    Declined,
    Suppressed,
    OverBudget,
}

impl ReportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::AwaitingApproval => "awaiting_approval",
            ReportState::Sent => "sent",
            ReportState::Declined => "declined",
            ReportState::Suppressed => "suppressed",
            ReportState::OverBudget => "over_budget",
        }
    }
    fn parse(s: &str) -> Result<Self, DbError> {
        Ok(match s {
            "awaiting_approval" => ReportState::AwaitingApproval,
            "sent" => ReportState::Sent,
            "declined" => ReportState::Declined,
            "suppressed" => ReportState::Suppressed,
            "over_budget" => ReportState::OverBudget,
            other => return Err(DbError::InvalidData(format!("report state {other:?}"))),
        })
    }
}

/// A report to record: what was made for a hub and period, and what it spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSharedReport {
    pub hub_actor: String,
    pub hub_name: String,
    pub period: String,
    pub budget_year: i32,
    pub state: ReportState,
    pub rho: Rho,
    pub object_id: Option<String>,
    /// The exact JSON that is signed and sent, when a report was made.
    pub activity: Option<String>,
}

/// One row of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedReport {
    pub id: i64,
    pub hub_actor: String,
    pub hub_name: String,
    pub period: String,
    pub budget_year: i32,
    pub state: ReportState,
    pub rho: Rho,
    pub object_id: Option<String>,
    pub activity: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub erasure_requested_at: Option<DateTime<Utc>>,
    /// How its delivery stands: one that arrived wins, then one still being tried, then one
    /// given up (or refused by the hub); `None` while nothing was queued.
    pub delivery: Option<crate::DeliveryState>,
}

type SharedTuple = (
    i64,
    String,
    String,
    String,
    i32,
    String,
    i64,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

const SHARED_COLUMNS: (
    shared_reports::id,
    shared_reports::hub_actor,
    shared_reports::hub_name,
    shared_reports::period,
    shared_reports::budget_year,
    shared_reports::state,
    shared_reports::rho_nanos,
    shared_reports::object_id,
    shared_reports::activity,
    shared_reports::created_at,
    shared_reports::decided_at,
    shared_reports::erasure_requested_at,
) = (
    shared_reports::id,
    shared_reports::hub_actor,
    shared_reports::hub_name,
    shared_reports::period,
    shared_reports::budget_year,
    shared_reports::state,
    shared_reports::rho_nanos,
    shared_reports::object_id,
    shared_reports::activity,
    shared_reports::created_at,
    shared_reports::decided_at,
    shared_reports::erasure_requested_at,
);

fn to_shared(
    t: SharedTuple,
    delivery: Option<crate::DeliveryState>,
) -> Result<SharedReport, DbError> {
    let (id, hub_actor, hub_name, period, budget_year, state, rho, object_id, activity, c, d, e) =
        t;
    Ok(SharedReport {
        id,
        hub_actor,
        hub_name,
        period,
        budget_year,
        state: ReportState::parse(&state)?,
        rho: Rho(u64::try_from(rho).map_err(|_| DbError::InvalidData(format!("ρ {rho}")))?),
        object_id,
        activity,
        created_at: from_db_time(c),
        decided_at: d.map(from_db_time),
        erasure_requested_at: e.map(from_db_time),
        delivery,
    })
}

fn nanos(r: Rho) -> Result<i64, DbError> {
    i64::try_from(r.0).map_err(|_| DbError::InvalidData(format!("ρ {r} too large")))
}

/// The `activity_id` of a stored activity JSON, to find its delivery.
fn activity_id(json: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()?
        .get("id")?
        .as_str()
        .map(str::to_owned)
}

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

/// A stored report about to be replaced or erased: id, period, σ in tenths, segments.
type OldReport = (i64, String, i32, String);

const OLD_COLUMNS: (
    received_reports::id,
    received_reports::period,
    received_reports::sigma_tenths,
    received_reports::segments,
) = (
    received_reports::id,
    received_reports::period,
    received_reports::sigma_tenths,
    received_reports::segments,
);

/// Adds (`sign` 1) or takes out (`sign` −1) one report's counts in every segment it counts
/// in, inside the caller's transaction.
macro_rules! rollup_apply {
    ($c:expr, $segments:expr, $period:expr, $sigma_tenths:expr, $counts:expr, $sign:expr) => {{
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
                head: ROLLUP_UPSERT_HEAD,
                width: 7,
                values,
                tail: ROLLUP_UPSERT_TAIL,
            }
            .execute($c)
            .await?;
        }
    }};
}

/// The rollup upsert, around its rows.
const ROLLUP_UPSERT_HEAD: &str = "INSERT INTO sector_rollups \
     (segment, measure, period, groups, respondents, total, sigma_sq_hundredths) VALUES ";
const ROLLUP_UPSERT_TAIL: &str = " ON CONFLICT (segment, measure, period) DO UPDATE SET \
     groups = sector_rollups.groups + excluded.groups, \
     respondents = sector_rollups.respondents + excluded.respondents, \
     total = sector_rollups.total + excluded.total, \
     sigma_sq_hundredths = sector_rollups.sigma_sq_hundredths + excluded.sigma_sq_hundredths";

/// Drops rollup rows no report counts in any more, and bumps the rollups' version.
macro_rules! rollup_prune {
    ($c:expr) => {{
        diesel::delete(sector_rollups::table.filter(sector_rollups::groups.le(0)))
            .execute($c)
            .await?;
        rollup_bump!($c);
    }};
}

/// Marks the rollups changed, so cached sector pictures are computed again.
macro_rules! rollup_bump {
    ($c:expr) => {{
        reuse!(
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
        let old: Vec<OldReport> = if replace {
            diesel::update(
                received_reports::table.filter(
                    received_reports::peer_id
                        .eq(peer_id)
                        .and(received_reports::period.eq(&r.period))
                        .or(received_reports::object_id.eq(&r.object_id)),
                ),
            )
            .set(received_reports::updated_at.eq(received_reports::updated_at))
            .returning(OLD_COLUMNS)
            .get_results(c)
            .await?
        } else {
            Vec::new()
        };
        for o in &old {
            let counts: Vec<(String, i64)> = received_report_counts::table
                .filter(received_report_counts::report_id.eq(o.0))
                .select((
                    received_report_counts::signal,
                    received_report_counts::value,
                ))
                .load(c)
                .await?;
            rollup_apply!(c, &o.3, &o.1, o.2, &counts, -1);
            diesel::delete(received_reports::table.find(o.0))
                .execute(c)
                .await?;
        }
        if !old.is_empty() {
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
        let outcome = if old.is_empty() {
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
    /// The sharing settings for a hub; defaults (off) when never set.
    pub async fn sharing(&self, peer_id: i64) -> Result<Sharing, DbError> {
        let mut conn = self.conn().await?;
        type Row = (bool, String, String, String, bool, Option<NaiveDateTime>);
        let row: Option<Row> = with_conn!(&mut conn, |c| hub_sharing::table
            .find(peer_id)
            .select((
                hub_sharing::enabled,
                hub_sharing::signals,
                hub_sharing::cadence,
                hub_sharing::level,
                hub_sharing::automatic,
                hub_sharing::enabled_at,
            ))
            .first(c)
            .await
            .optional())?;
        let Some((enabled, signals, cadence, level, automatic, enabled_at)) = row else {
            return Ok(Sharing {
                settings: SharingSettings::default(),
                enabled_at: None,
            });
        };
        let bad = |e: hearth_core::sharing::BadSharing| DbError::InvalidData(e.to_string());
        Ok(Sharing {
            settings: SharingSettings {
                enabled,
                signals: SignalSet::parse(&signals).map_err(bad)?,
                cadence: Cadence::parse(&cadence).map_err(bad)?,
                level: PrivacyLevel::parse(&level).map_err(bad)?,
                automatic,
            },
            enabled_at: enabled_at.map(from_db_time),
        })
    }

    /// Saves sharing settings for a hub the group belongs to. Turning sharing on stamps
    /// `enabled_at` (kept while it stays on); turning it off clears it.
    pub async fn set_sharing(
        &self,
        peer_id: i64,
        s: &SharingSettings,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
        let before = self.sharing(peer_id).await?;
        let enabled_at = match (s.enabled, before.enabled_at) {
            (false, _) => None,
            (true, Some(at)) if before.settings.enabled => Some(to_db_time(at)),
            (true, _) => Some(now),
        };
        let values = (
            hub_sharing::enabled.eq(s.enabled),
            hub_sharing::signals.eq(s.signals.to_slugs()),
            hub_sharing::cadence.eq(s.cadence.slug()),
            hub_sharing::level.eq(s.level.slug()),
            hub_sharing::automatic.eq(s.automatic),
            hub_sharing::enabled_at.eq(enabled_at),
            hub_sharing::updated_at.eq(now),
        );
        let mut conn = self.write_conn().await?;
        let n = with_conn!(&mut conn, |c| diesel::insert_into(hub_sharing::table)
            .values((hub_sharing::peer_id.eq(peer_id), values.clone()))
            .on_conflict(hub_sharing::peer_id)
            .do_update()
            .set(values.clone())
            .execute(c)
            .await);
        match n {
            Ok(_) => Ok(()),
            // The hub is not a stored peer.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            )) => Err(DbError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// ρ already recorded for `hub_actor` in `year`: the ledger's sum.
    pub async fn budget_spent(&self, hub_actor: &str, year: i32) -> Result<Rho, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<i64> = with_conn!(&mut conn, |c| shared_reports::table
            .filter(shared_reports::hub_actor.eq(hub_actor))
            .filter(shared_reports::budget_year.eq(year))
            .select(shared_reports::rho_nanos)
            .load(c)
            .await)?;
        let total: u64 = rows
            .into_iter()
            .map(|r| u64::try_from(r).unwrap_or(0))
            .fold(0u64, u64::saturating_add);
        Ok(Rho(total))
    }

    /// Periods already decided for a hub (any state), so each is computed once.
    pub async fn reported_periods(&self, hub_actor: &str) -> Result<Vec<String>, DbError> {
        let mut conn = self.conn().await?;
        Ok(with_conn!(&mut conn, |c| shared_reports::table
            .filter(shared_reports::hub_actor.eq(hub_actor))
            .select(shared_reports::period)
            .load(c)
            .await)?)
    }

    /// Records a period's report with its cost, and queues `send` with it when it goes at once,
    /// in one transaction. Returns false (and records nothing) when the period already has a
    /// report for this hub.
    pub async fn record_report(
        &self,
        r: &NewSharedReport,
        send: Option<&NewOutbox>,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let now = to_db_time(now);
        let rho = nanos(r.rho)?;
        let decided = (r.state != ReportState::AwaitingApproval).then_some(now);
        let send: Vec<NewOutbox> = send.cloned().into_iter().collect();
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let n = diesel::insert_into(shared_reports::table)
                    .values((
                        shared_reports::hub_actor.eq(&r.hub_actor),
                        shared_reports::hub_name.eq(&r.hub_name),
                        shared_reports::period.eq(&r.period),
                        shared_reports::budget_year.eq(r.budget_year),
                        shared_reports::state.eq(r.state.as_str()),
                        shared_reports::rho_nanos.eq(rho),
                        shared_reports::object_id.eq(&r.object_id),
                        shared_reports::activity.eq(&r.activity),
                        shared_reports::created_at.eq(now),
                        shared_reports::decided_at.eq(decided),
                    ))
                    .on_conflict((shared_reports::hub_actor, shared_reports::period))
                    .do_nothing()
                    .execute(c)
                    .await?;
                if n == 0 {
                    return Ok(false);
                }
                insert_outbox!(c, &send, now);
                Ok::<_, DbError>(true)
            })
            .await)
    }

    /// The audit log, newest first, with whether each sent report was delivered.
    pub async fn shared_reports(&self) -> Result<Vec<SharedReport>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<SharedTuple> = with_conn!(&mut conn, |c| shared_reports::table
            .order((shared_reports::period.desc(), shared_reports::id.desc()))
            .select(SHARED_COLUMNS)
            .load(c)
            .await)?;
        let sent: Vec<(String, String)> = with_conn!(&mut conn, |c| outbox::table
            .filter(outbox::activity_type.eq_any(["Create", "Update"]))
            .select((outbox::activity_id, outbox::state))
            .load(c)
            .await)?;
        // Per activity, the best state any of its deliveries (first send, sent again) reached.
        let rank = |s: crate::DeliveryState| match s {
            crate::DeliveryState::Delivered => 3,
            crate::DeliveryState::Pending => 2,
            crate::DeliveryState::Failed => 1,
        };
        let mut best: std::collections::HashMap<String, crate::DeliveryState> =
            std::collections::HashMap::new();
        for (id, state) in sent {
            let state = crate::federation::parse_delivery_state(&state)?;
            let e = best.entry(id).or_insert(state);
            if rank(state) > rank(*e) {
                *e = state;
            }
        }
        rows.into_iter()
            .map(|t| {
                let delivery =
                    t.8.as_deref()
                        .and_then(activity_id)
                        .and_then(|id| best.get(&id).copied());
                to_shared(t, delivery)
            })
            .collect()
    }

    pub async fn shared_report(&self, id: i64) -> Result<Option<SharedReport>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<SharedTuple> = with_conn!(&mut conn, |c| shared_reports::table
            .find(id)
            .select(SHARED_COLUMNS)
            .first(c)
            .await
            .optional())?;
        row.map(|t| to_shared(t, None)).transpose()
    }

    pub async fn shared_report_by_object(
        &self,
        object_id: &str,
    ) -> Result<Option<SharedReport>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<SharedTuple> = with_conn!(&mut conn, |c| shared_reports::table
            .filter(shared_reports::object_id.eq(object_id))
            .select(SHARED_COLUMNS)
            .first(c)
            .await
            .optional())?;
        row.map(|t| to_shared(t, None)).transpose()
    }

    /// A facilitator approves a report awaiting approval: it is marked sent and its activity
    /// queued together. `NotFound` unless it was awaiting approval.
    pub async fn approve_report(
        &self,
        id: i64,
        send: &NewOutbox,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.decide_report(id, ReportState::Sent, Some(send), now)
            .await
    }

    /// A facilitator declines a report awaiting approval: it is never sent (its cost stays
    /// spent: its noise was drawn).
    pub async fn decline_report(&self, id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
        self.decide_report(id, ReportState::Declined, None, now)
            .await
    }

    async fn decide_report(
        &self,
        id: i64,
        to: ReportState,
        send: Option<&NewOutbox>,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
        let send: Vec<NewOutbox> = send.cloned().into_iter().collect();
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let n = diesel::update(
                    shared_reports::table
                        .find(id)
                        .filter(shared_reports::state.eq(ReportState::AwaitingApproval.as_str())),
                )
                .set((
                    shared_reports::state.eq(to.as_str()),
                    shared_reports::decided_at.eq(now),
                ))
                .execute(c)
                .await?;
                if n == 0 {
                    return Err(DbError::NotFound);
                }
                insert_outbox!(c, &send, now);
                Ok(())
            })
            .await)
    }

    /// Asks a hub to erase every report this group sent it: stamps the sent reports and queues
    /// `send` (the Delete) together.
    pub async fn request_erasure(
        &self,
        hub_actor: &str,
        send: &NewOutbox,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
        let send = [send.clone()];
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                diesel::update(
                    shared_reports::table
                        .filter(shared_reports::hub_actor.eq(hub_actor))
                        .filter(shared_reports::state.eq(ReportState::Sent.as_str())),
                )
                .set(shared_reports::erasure_requested_at.eq(now))
                .execute(c)
                .await?;
                insert_outbox!(c, &send, now);
                Ok::<_, DbError>(())
            })
            .await)
    }

    /// A group leaves a hub: the membership and sharing settings go, reports still awaiting
    /// approval are declined, sent ones are marked for erasure when asked, and `send` (the
    /// Delete, then the Undo) is queued — all in one transaction. The audit log and ledger stay.
    pub async fn leave_hub(
        &self,
        peer_id: i64,
        hub_actor: &str,
        erase: bool,
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        let r = with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let n = diesel::delete(memberships::table.filter(memberships::peer_id.eq(peer_id)))
                    .execute(c)
                    .await?;
                if n == 0 {
                    return Err(DbError::NotFound);
                }
                diesel::delete(hub_sharing::table.filter(hub_sharing::peer_id.eq(peer_id)))
                    .execute(c)
                    .await?;
                diesel::update(
                    shared_reports::table
                        .filter(shared_reports::hub_actor.eq(hub_actor))
                        .filter(shared_reports::state.eq(ReportState::AwaitingApproval.as_str())),
                )
                .set((
                    shared_reports::state.eq(ReportState::Declined.as_str()),
                    shared_reports::decided_at.eq(now),
                ))
                .execute(c)
                .await?;
                if erase {
                    diesel::update(
                        shared_reports::table
                            .filter(shared_reports::hub_actor.eq(hub_actor))
                            .filter(shared_reports::state.eq(ReportState::Sent.as_str())),
                    )
                    .set(shared_reports::erasure_requested_at.eq(now))
                    .execute(c)
                    .await?;
                }
                insert_outbox!(c, send, now);
                Ok(())
            })
            .await);
        self.forget_memberships();
        r
    }

    /// Check-ins in `weeks` from members who currently consent to sharing, without notes.
    /// Members who withdrew consent or deleted their account are absent.
    pub async fn contributions(&self, weeks: &[IsoWeek]) -> Result<Vec<Contribution>, DbError> {
        let labels: Vec<String> = weeks.iter().map(ToString::to_string).collect();
        let mut conn = self.conn().await?;
        let rows: Vec<(i64, String, AnswerRow)> = with_conn!(&mut conn, |c| checkins::table
            .filter(
                checkins::account_id.eq_any(
                    network_consents::table
                        .filter(network_consents::granted.eq(true))
                        .select(network_consents::account_id),
                ),
            )
            .filter(checkins::week.eq_any(&labels))
            .select((checkins::account_id, checkins::week, ANSWER_COLUMNS))
            .load(c)
            .await)?;
        rows.into_iter()
            .map(|(member, week, answers)| {
                Ok(Contribution {
                    member,
                    week: week.parse().map_err(|e: hearth_core::period::BadIsoWeek| {
                        DbError::InvalidData(e.to_string())
                    })?,
                    answers: answers_from_row(answers)?,
                })
            })
            .collect()
    }

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
        if self.backend() == crate::Backend::Sqlite {
            // Reports arrive many at once: queued and committed together.
            let r = r.clone();
            let activity_id = activity_id.map(str::to_owned);
            return self
                .queued
                .run(
                    self,
                    Box::new(move |c| {
                        Box::pin(async move {
                            store_report!(
                                c,
                                peer_id,
                                r,
                                replace,
                                now,
                                rho,
                                segments,
                                activity_id.as_deref()
                            )
                        })
                    }),
                    Box::new(|| {}),
                )
                .await;
        }
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| store_report!(
                c,
                peer_id,
                r,
                replace,
                now,
                rho,
                segments,
                activity_id
            ))
            .await)
    }

    /// Erases every report a group sent this hub (its counts go with them) and takes them out
    /// of the sector rollups, in one transaction; returns how many.
    pub async fn erase_received_reports(&self, peer_id: i64) -> Result<usize, DbError> {
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let old: Vec<OldReport> = diesel::update(
                    received_reports::table.filter(received_reports::peer_id.eq(peer_id)),
                )
                .set(received_reports::updated_at.eq(received_reports::updated_at))
                .returning(OLD_COLUMNS)
                .get_results(c)
                .await?;
                for o in &old {
                    let counts: Vec<(String, i64)> = received_report_counts::table
                        .filter(received_report_counts::report_id.eq(o.0))
                        .select((
                            received_report_counts::signal,
                            received_report_counts::value,
                        ))
                        .load(c)
                        .await?;
                    rollup_apply!(c, &o.3, &o.1, o.2, &counts, -1);
                }
                diesel::delete(
                    received_reports::table.filter(received_reports::peer_id.eq(peer_id)),
                )
                .execute(c)
                .await?;
                rollup_prune!(c);
                Ok::<_, DbError>(old.len())
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
