//! The group side of sharing: per hub, what is shared (`hub_sharing`); the audit log and the
//! budget ledger in one (`shared_reports`); and the consenting members' check-ins a report is
//! computed from (`contributions`).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use hearth_core::IsoWeek;
use hearth_core::report::Contribution;
use hearth_core::sharing::{Cadence, PrivacyLevel, Rho, SharingSettings, SignalSet};

use crate::checkins::AnswerRecord;
use crate::federation::insert_outbox;
use crate::group_pairs::{decline_awaiting, stop_pairs, stop_pairs_of};
use crate::schema::{
    checkins, hub_sharing, memberships, network_consents, outbox, peer_old_keys, peers,
    shared_reports,
};
use crate::{Db, DbError, NewOutbox, from_db_time, parse_week, to_db_time, with_conn};

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
    pub(crate) fn parse(s: &str) -> Result<Self, DbError> {
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
    /// The exact JSON that is signed and sent, when a report was made; for a pair, what left
    /// (ids and sizes, never the shares).
    pub activity: Option<String>,
    /// Shared through a hub pair; `hub_actor` is then the pair's id.
    pub through_pair: bool,
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
    /// Shared through a hub pair; `hub_actor` is then the pair's id.
    pub through_pair: bool,
    /// How its delivery stands: one that arrived wins, then one still being tried, then one
    /// given up (or refused by the hub); `None` while nothing was queued.
    pub delivery: Option<crate::DeliveryState>,
}

/// A `shared_reports` row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = shared_reports, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct SharedRecord {
    id: i64,
    hub_actor: String,
    hub_name: String,
    period: String,
    budget_year: i32,
    state: String,
    rho_nanos: i64,
    object_id: Option<String>,
    activity: Option<String>,
    created_at: NaiveDateTime,
    decided_at: Option<NaiveDateTime>,
    erasure_requested_at: Option<NaiveDateTime>,
    through_pair: bool,
}

impl SharedRecord {
    /// The audit log's row, with how its delivery stands (read from the outbox beside it).
    fn into_report(self, delivery: Option<crate::DeliveryState>) -> Result<SharedReport, DbError> {
        let rho = self.rho_nanos;
        Ok(SharedReport {
            id: self.id,
            hub_actor: self.hub_actor,
            hub_name: self.hub_name,
            period: self.period,
            budget_year: self.budget_year,
            state: ReportState::parse(&self.state)?,
            rho: Rho(u64::try_from(rho).map_err(|_| DbError::InvalidData(format!("ρ {rho}")))?),
            object_id: self.object_id,
            activity: self.activity,
            created_at: from_db_time(self.created_at),
            decided_at: self.decided_at.map(from_db_time),
            erasure_requested_at: self.erasure_requested_at.map(from_db_time),
            through_pair: self.through_pair,
            delivery,
        })
    }
}

/// A check-in as a report counts it: whose and which week (to keep one per member), the
/// answers, never the note.
#[derive(Queryable, Selectable)]
#[diesel(table_name = checkins, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct ContributionRecord {
    account_id: i64,
    week: String,
    #[diesel(embed)]
    answers: AnswerRecord,
}

/// A `hub_sharing` row without its peer id and update time.
#[derive(Queryable, Selectable)]
#[diesel(table_name = hub_sharing, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct SharingRecord {
    enabled: bool,
    signals: String,
    cadence: String,
    level: String,
    automatic: bool,
    enabled_at: Option<NaiveDateTime>,
}

impl TryFrom<SharingRecord> for Sharing {
    type Error = DbError;
    fn try_from(r: SharingRecord) -> Result<Self, DbError> {
        let bad = |e: hearth_core::sharing::BadSharing| DbError::InvalidData(e.to_string());
        Ok(Sharing {
            settings: SharingSettings {
                enabled: r.enabled,
                signals: SignalSet::parse(&r.signals).map_err(bad)?,
                cadence: Cadence::parse(&r.cadence).map_err(bad)?,
                level: PrivacyLevel::parse(&r.level).map_err(bad)?,
                automatic: r.automatic,
            },
            enabled_at: r.enabled_at.map(from_db_time),
        })
    }
}

pub(crate) fn nanos(r: Rho) -> Result<i64, DbError> {
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

impl Db {
    /// The sharing settings for a hub; defaults (off) when never set.
    pub async fn sharing(&self, peer_id: i64) -> Result<Sharing, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<SharingRecord> = with_conn!(&mut conn, |c| hub_sharing::table
            .find(peer_id)
            .select(SharingRecord::as_select())
            .first(c)
            .await
            .optional())?;
        match row {
            Some(r) => r.try_into(),
            None => Ok(Sharing {
                settings: SharingSettings::default(),
                enabled_at: None,
            }),
        }
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

    /// Every address at which this group knew the hub at `hub_actor`: its own, and that of
    /// every peer with the same key, now or before a rotation. The ledger follows the hub's key,
    /// so the same hub under a new address gets no new budget. (A pair's id is not a peer: it
    /// is its own ledger.)
    pub async fn same_hub(&self, hub_actor: &str) -> Result<Vec<String>, DbError> {
        let mut conn = self.conn().await?;
        let urls: Vec<String> = with_conn!(&mut conn, |c| {
            async {
                let me: Option<(i64, String)> = peers::table
                    .filter(peers::actor_url.eq(hub_actor))
                    .select((peers::id, peers::public_key_pem))
                    .first(c)
                    .await
                    .optional()?;
                let Some((id, pem)) = me else {
                    return Ok::<Vec<String>, DbError>(Vec::new());
                };
                let mut keys: Vec<String> = peer_old_keys::table
                    .filter(peer_old_keys::peer_id.eq(id))
                    .select(peer_old_keys::public_key_pem)
                    .load(c)
                    .await?;
                keys.push(pem);
                let rotated: Vec<i64> = peer_old_keys::table
                    .filter(peer_old_keys::public_key_pem.eq_any(&keys))
                    .select(peer_old_keys::peer_id)
                    .load(c)
                    .await?;
                Ok(peers::table
                    .filter(
                        peers::public_key_pem
                            .eq_any(&keys)
                            .or(peers::id.eq_any(&rotated)),
                    )
                    .select(peers::actor_url)
                    .load(c)
                    .await?)
            }
            .await
        })?;
        let mut all = vec![hub_actor.to_owned()];
        all.extend(urls.into_iter().filter(|u| u != hub_actor));
        Ok(all)
    }

    /// ρ already recorded for the hub at `hub_actor` (under any address it had) in `year`: the
    /// ledger's sum.
    pub async fn budget_spent(&self, hub_actor: &str, year: i32) -> Result<Rho, DbError> {
        let same = self.same_hub(hub_actor).await?;
        let mut conn = self.conn().await?;
        let rows: Vec<i64> = with_conn!(&mut conn, |c| shared_reports::table
            .filter(shared_reports::hub_actor.eq_any(&same))
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

    /// Periods already decided for a hub (any state, under any address it had), so each is
    /// computed once.
    pub async fn reported_periods(&self, hub_actor: &str) -> Result<Vec<String>, DbError> {
        let same = self.same_hub(hub_actor).await?;
        let mut conn = self.conn().await?;
        Ok(with_conn!(&mut conn, |c| shared_reports::table
            .filter(shared_reports::hub_actor.eq_any(&same))
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
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let now = to_db_time(now);
        let rho = nanos(r.rho)?;
        let decided = (r.state != ReportState::AwaitingApproval).then_some(now);
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
                        shared_reports::through_pair.eq(r.through_pair),
                    ))
                    .on_conflict((shared_reports::hub_actor, shared_reports::period))
                    .do_nothing()
                    .execute(c)
                    .await?;
                if n == 0 {
                    return Ok(false);
                }
                insert_outbox!(c, send, now);
                Ok::<_, DbError>(true)
            })
            .await)
    }

    /// The audit log, newest first, with whether each sent report was delivered.
    pub async fn shared_reports(&self) -> Result<Vec<SharedReport>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<SharedRecord> = with_conn!(&mut conn, |c| shared_reports::table
            .order((shared_reports::period.desc(), shared_reports::id.desc()))
            .select(SharedRecord::as_select())
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
            let state = crate::DeliveryState::parse(&state)?;
            let e = best.entry(id).or_insert(state);
            if rank(state) > rank(*e) {
                *e = state;
            }
        }
        rows.into_iter()
            .map(|r| {
                let delivery = r
                    .activity
                    .as_deref()
                    .and_then(activity_id)
                    .and_then(|id| best.get(&id).copied());
                r.into_report(delivery)
            })
            .collect()
    }

    pub async fn shared_report(&self, id: i64) -> Result<Option<SharedReport>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<SharedRecord> = with_conn!(&mut conn, |c| shared_reports::table
            .find(id)
            .select(SharedRecord::as_select())
            .first(c)
            .await
            .optional())?;
        row.map(|r| r.into_report(None)).transpose()
    }

    pub async fn shared_report_by_object(
        &self,
        object_id: &str,
    ) -> Result<Option<SharedReport>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<SharedRecord> = with_conn!(&mut conn, |c| shared_reports::table
            .filter(shared_reports::object_id.eq(object_id))
            .select(SharedRecord::as_select())
            .first(c)
            .await
            .optional())?;
        row.map(|r| r.into_report(None)).transpose()
    }

    /// A facilitator approves a report awaiting approval: it is marked sent and its activities
    /// queued together; `activity`, when given, is stored as what left (a pair's report is made
    /// only now). `NotFound` unless it was awaiting approval.
    pub async fn approve_report(
        &self,
        id: i64,
        send: &[NewOutbox],
        activity: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        self.decide_report(id, ReportState::Sent, send, activity, now)
            .await
    }

    /// A facilitator declines a report awaiting approval: it is never sent (its cost stays
    /// spent: its noise was drawn).
    pub async fn decline_report(&self, id: i64, now: DateTime<Utc>) -> Result<(), DbError> {
        self.decide_report(id, ReportState::Declined, &[], None, now)
            .await
    }

    async fn decide_report(
        &self,
        id: i64,
        to: ReportState,
        send: &[NewOutbox],
        activity: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
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
                if let Some(a) = activity {
                    diesel::update(shared_reports::table.find(id))
                        .set(shared_reports::activity.eq(a))
                        .execute(c)
                        .await?;
                }
                insert_outbox!(c, send, now);
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
                stop_pairs_of!(c, peer_id, now);
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
        let rows: Vec<ContributionRecord> = with_conn!(&mut conn, |c| checkins::table
            .filter(
                checkins::account_id.eq_any(
                    network_consents::table
                        .filter(network_consents::granted.eq(true))
                        .select(network_consents::account_id),
                ),
            )
            .filter(checkins::week.eq_any(&labels))
            .select(ContributionRecord::as_select())
            .load(c)
            .await)?;
        let contributions = rows.into_iter().map(|r| {
            Ok(Contribution {
                member: r.account_id,
                week: parse_week(&r.week)?,
                answers: r.answers.answers(None)?,
            })
        });
        Ok(crate::aggregates::valid_only(
            contributions,
            &labels.join(","),
        ))
    }
}
