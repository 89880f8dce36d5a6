//! A hub's side of a hub pair: the pair itself (`hub_pairs`, proposed by the leader's staff and
//! accepted by the helper's), this hub's half of each group's report (`pair_shares`), what it
//! released for each batch (`pair_batches`), and at the leader the released sums
//! (`pair_releases`). No table holds a group's counts: a share is random on its own, and a
//! batch's sums exist only with both hubs' noise on them.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable, SelectableHelper,
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use hearth_core::noise::Sigma;
use hearth_core::pair::{HubRole, PairPlan, dimensions_from_slugs, dimensions_to_slugs};
use hearth_core::sharing::Cadence;

use crate::federation::{NewOutbox, NewPeer, PeerRecord, PeerRow, insert_outbox, upsert_peer};
use crate::schema::{
    hub_pairs, outbox, pair_batches, pair_releases, pair_shares, peer_old_keys, peers,
};
use crate::{Db, DbError, from_db_time, to_db_time, with_conn};

/// Where a pair stands, the same on both hubs once they agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairState {
    /// The leader has proposed it; the helper's staff have not answered.
    Proposed,
    Accepted,
    Declined,
    /// Either hub ended it; nothing more is aggregated.
    Ended,
}

impl PairState {
    pub fn as_str(self) -> &'static str {
        match self {
            PairState::Proposed => "proposed",
            PairState::Accepted => "accepted",
            PairState::Declined => "declined",
            PairState::Ended => "ended",
        }
    }
    pub const ALL: [PairState; 4] = [
        PairState::Proposed,
        PairState::Accepted,
        PairState::Declined,
        PairState::Ended,
    ];
    pub fn parse(s: &str) -> Option<PairState> {
        PairState::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A pair to store: what both hubs agree on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPair {
    pub pair_url: String,
    pub role: HubRole,
    /// base64url of the 32-byte key the two hubs check proofs with.
    pub verify_key: String,
    pub plan: PairPlan,
    pub min_groups: u32,
}

/// A pair as this hub holds it, with the other hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubPair {
    pub id: i64,
    pub pair_url: String,
    pub role: HubRole,
    pub other: PeerRow,
    pub state: PairState,
    pub verify_key: String,
    pub plan: PairPlan,
    pub min_groups: u32,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = hub_pairs, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct PairRecord {
    id: i64,
    pair_url: String,
    role: String,
    state: String,
    verify_key: String,
    cadence: String,
    dimensions: String,
    sigma_tenths: i32,
    min_groups: i32,
    created_at: NaiveDateTime,
    decided_at: Option<NaiveDateTime>,
}

/// A pair's plan as its columns store it; `None` if any is not valid.
pub(crate) fn plan_of(cadence: &str, dimensions: &str, sigma_tenths: i32) -> Option<PairPlan> {
    Some(PairPlan {
        cadence: Cadence::parse(cadence).ok()?,
        dimensions: dimensions_from_slugs(dimensions)?,
        sigma: Sigma::from_tenths(u32::try_from(sigma_tenths).ok()?).ok()?,
    })
}

fn to_pair((p, peer): (PairRecord, PeerRecord)) -> Result<HubPair, DbError> {
    let bad = |what: &str| DbError::InvalidData(format!("hub_pairs.{what} of pair {}", p.id));
    Ok(HubPair {
        id: p.id,
        role: HubRole::parse(&p.role).ok_or_else(|| bad("role"))?,
        state: PairState::parse(&p.state).ok_or_else(|| bad("state"))?,
        plan: plan_of(&p.cadence, &p.dimensions, p.sigma_tenths).ok_or_else(|| bad("plan"))?,
        min_groups: u32::try_from(p.min_groups).map_err(|_| bad("min_groups"))?,
        pair_url: p.pair_url,
        verify_key: p.verify_key,
        other: peer.into(),
        created_at: from_db_time(p.created_at),
        decided_at: p.decided_at.map(from_db_time),
    })
}

/// What storing a group's share did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareStored {
    New,
    /// The same share (same nonce) again: nothing changed.
    Replayed,
    /// The group already sent another share for this period: refused.
    Duplicate,
    /// The period's aggregation has begun: refused.
    Late,
}

/// A share to store, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPairShare {
    pub period: String,
    pub nonce: String,
    pub public_share: String,
    pub input_share: String,
}

/// Where a share stands in its period's aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareState {
    Received,
    /// At the leader: sent to the helper for checking, no verdict yet.
    Sent,
    /// Both hubs checked its proof; `output_share` is its contribution.
    Checked,
    /// Its proof failed at either hub: it adds nothing.
    Refused,
}

impl ShareState {
    pub fn as_str(self) -> &'static str {
        match self {
            ShareState::Received => "received",
            ShareState::Sent => "sent",
            ShareState::Checked => "checked",
            ShareState::Refused => "refused",
        }
    }
    pub const ALL: [ShareState; 4] = [
        ShareState::Received,
        ShareState::Sent,
        ShareState::Checked,
        ShareState::Refused,
    ];
    pub fn parse(s: &str) -> Option<ShareState> {
        ShareState::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A stored share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairShare {
    pub id: i64,
    pub peer_id: i64,
    pub period: String,
    pub nonce: String,
    pub public_share: String,
    pub input_share: String,
    pub state: ShareState,
    pub output_share: Option<String>,
    /// Segments of the batches this hub released it in.
    pub batches: Vec<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = pair_shares, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct ShareRecord {
    id: i64,
    peer_id: i64,
    period: String,
    nonce: String,
    public_share: String,
    input_share: String,
    state: String,
    output_share: Option<String>,
    batches: String,
}

impl TryFrom<ShareRecord> for PairShare {
    type Error = DbError;
    fn try_from(r: ShareRecord) -> Result<Self, DbError> {
        Ok(PairShare {
            state: ShareState::parse(&r.state).ok_or_else(|| {
                DbError::InvalidData(format!("pair_shares.state of share {}", r.id))
            })?,
            id: r.id,
            peer_id: r.peer_id,
            period: r.period,
            nonce: r.nonce,
            public_share: r.public_share,
            input_share: r.input_share,
            output_share: r.output_share,
            batches: r
                .batches
                .split(',')
                .filter(|b| !b.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }
}

/// What this hub released for one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairBatch {
    pub segment: String,
    pub period: String,
    pub reports: u32,
    /// base64url of this hub's noisy aggregate share.
    pub aggregate_share: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = pair_batches, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct BatchRecord {
    segment: String,
    period: String,
    reports: i32,
    aggregate_share: String,
}

impl From<BatchRecord> for PairBatch {
    fn from(b: BatchRecord) -> Self {
        PairBatch {
            segment: b.segment,
            period: b.period,
            reports: u32::try_from(b.reports).unwrap_or(0),
            aggregate_share: b.aggregate_share,
        }
    }
}

/// A batch's released sums, at the leader.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRelease {
    pub pair_id: i64,
    pub segment: String,
    pub period: String,
    pub groups: u32,
    pub sigma: Sigma,
    /// Every entry of the measurement, both hubs' noise on each.
    pub sums: Vec<i64>,
    pub released_at: DateTime<Utc>,
}

impl PairRelease {
    /// The release as the sector reads it; `None` if its segment, period or sums are not valid.
    pub fn to_release(&self) -> Option<hearth_core::pair::Release> {
        Some(hearth_core::pair::Release {
            segment: hearth_core::sector::Segment::parse(&self.segment)?,
            period: self.period.parse().ok()?,
            groups: self.groups,
            sums: hearth_core::pair::PairSums::from_values(self.sums.clone())?,
            sigma: self.sigma,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = pair_releases, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct ReleaseRecord {
    pair_id: i64,
    segment: String,
    period: String,
    groups: i32,
    sigma_tenths: i32,
    sums: String,
    released_at: NaiveDateTime,
}

impl TryFrom<ReleaseRecord> for PairRelease {
    type Error = DbError;
    fn try_from(r: ReleaseRecord) -> Result<Self, DbError> {
        let bad = |what: &str| {
            DbError::InvalidData(format!(
                "pair_releases.{what} of {} {}",
                r.segment, r.period
            ))
        };
        Ok(PairRelease {
            groups: u32::try_from(r.groups).map_err(|_| bad("groups"))?,
            sigma: u32::try_from(r.sigma_tenths)
                .ok()
                .and_then(|t| Sigma::from_tenths(t).ok())
                .ok_or_else(|| bad("sigma_tenths"))?,
            sums: serde_json::from_str(&r.sums).map_err(|_| bad("sums"))?,
            released_at: from_db_time(r.released_at),
            pair_id: r.pair_id,
            segment: r.segment,
            period: r.period,
        })
    }
}

impl Db {
    /// Stores a pair with the other hub and the activities it causes, in one transaction. A
    /// pair already stored under the same URL is left as it is and returned.
    pub async fn save_pair(
        &self,
        other: &NewPeer,
        pair: &NewPair,
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<HubPair, DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        let id: i64 = with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let p = upsert_peer!(c, other)?;
                let inserted = diesel::insert_into(hub_pairs::table)
                    .values((
                        hub_pairs::pair_url.eq(&pair.pair_url),
                        hub_pairs::role.eq(pair.role.as_str()),
                        hub_pairs::peer_id.eq(p.id),
                        hub_pairs::state.eq(PairState::Proposed.as_str()),
                        hub_pairs::verify_key.eq(&pair.verify_key),
                        hub_pairs::cadence.eq(pair.plan.cadence.slug()),
                        hub_pairs::dimensions.eq(dimensions_to_slugs(&pair.plan.dimensions)),
                        hub_pairs::sigma_tenths.eq(pair.plan.sigma.tenths() as i32),
                        hub_pairs::min_groups.eq(pair.min_groups as i32),
                        hub_pairs::created_at.eq(now),
                    ))
                    .on_conflict(hub_pairs::pair_url)
                    .do_nothing()
                    .execute(c)
                    .await?;
                if inserted > 0 {
                    insert_outbox!(c, send, now);
                }
                hub_pairs::table
                    .filter(hub_pairs::pair_url.eq(&pair.pair_url))
                    .select(hub_pairs::id)
                    .first::<i64>(c)
                    .await
                    .map_err(DbError::from)
            })
            .await)?;
        self.pair(id)
            .await?
            .ok_or_else(|| DbError::InvalidData(format!("pair {id} vanished")))
    }

    pub async fn pair(&self, id: i64) -> Result<Option<HubPair>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<(PairRecord, PeerRecord)> = with_conn!(&mut conn, |c| hub_pairs::table
            .inner_join(peers::table)
            .filter(hub_pairs::id.eq(id))
            .select((PairRecord::as_select(), PeerRecord::as_select()))
            .first(c)
            .await
            .optional())?;
        row.map(to_pair).transpose()
    }

    pub async fn pair_by_url(&self, pair_url: &str) -> Result<Option<HubPair>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<(PairRecord, PeerRecord)> = with_conn!(&mut conn, |c| hub_pairs::table
            .inner_join(peers::table)
            .filter(hub_pairs::pair_url.eq(pair_url))
            .select((PairRecord::as_select(), PeerRecord::as_select()))
            .first(c)
            .await
            .optional())?;
        row.map(to_pair).transpose()
    }

    /// Every pair this hub is in or was asked into, newest first.
    pub async fn pairs(&self) -> Result<Vec<HubPair>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(PairRecord, PeerRecord)> = with_conn!(&mut conn, |c| hub_pairs::table
            .inner_join(peers::table)
            .order(hub_pairs::id.desc())
            .select((PairRecord::as_select(), PeerRecord::as_select()))
            .load(c)
            .await)?;
        rows.into_iter().map(to_pair).collect()
    }

    /// Moves a pair from `from` to `to` with the activities that tell the other hub, in one
    /// transaction; `false` (and nothing sent) if it was not in `from`.
    pub async fn change_pair(
        &self,
        id: i64,
        from: &[PairState],
        to: PairState,
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let now = to_db_time(now);
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let n = diesel::update(
                    hub_pairs::table
                        .filter(hub_pairs::id.eq(id))
                        .filter(hub_pairs::state.eq_any(&from)),
                )
                .set((
                    hub_pairs::state.eq(to.as_str()),
                    hub_pairs::decided_at.eq(now),
                ))
                .execute(c)
                .await?;
                if n > 0 {
                    insert_outbox!(c, send, now);
                }
                Ok::<_, DbError>(n > 0)
            })
            .await)
    }

    /// Stores a group's share for a period: once per group and period, and only until the
    /// period's aggregation begins (a share of it is checked, or a batch of it released).
    pub async fn store_pair_share(
        &self,
        pair_id: i64,
        peer_id: i64,
        share: &NewPairShare,
        now: DateTime<Utc>,
    ) -> Result<ShareStored, DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let same: Option<(i64, String)> = pair_shares::table
                    .filter(pair_shares::pair_id.eq(pair_id))
                    .filter(pair_shares::nonce.eq(&share.nonce))
                    .select((pair_shares::peer_id, pair_shares::input_share))
                    .first(c)
                    .await
                    .optional()?;
                if let Some((peer, input)) = same {
                    return Ok(if peer == peer_id && input == share.input_share {
                        ShareStored::Replayed
                    } else {
                        ShareStored::Duplicate
                    });
                }
                let begun: i64 = pair_shares::table
                    .filter(pair_shares::pair_id.eq(pair_id))
                    .filter(pair_shares::period.eq(&share.period))
                    .filter(pair_shares::state.ne(ShareState::Received.as_str()))
                    .count()
                    .get_result(c)
                    .await?;
                let released: i64 = pair_batches::table
                    .filter(pair_batches::pair_id.eq(pair_id))
                    .filter(pair_batches::period.eq(&share.period))
                    .count()
                    .get_result(c)
                    .await?;
                if begun > 0 || released > 0 {
                    return Ok(ShareStored::Late);
                }
                let n = diesel::insert_into(pair_shares::table)
                    .values((
                        pair_shares::pair_id.eq(pair_id),
                        pair_shares::peer_id.eq(peer_id),
                        pair_shares::period.eq(&share.period),
                        pair_shares::nonce.eq(&share.nonce),
                        pair_shares::public_share.eq(&share.public_share),
                        pair_shares::input_share.eq(&share.input_share),
                        pair_shares::state.eq(ShareState::Received.as_str()),
                        pair_shares::batches.eq(""),
                        pair_shares::received_at.eq(now),
                    ))
                    .on_conflict((
                        pair_shares::pair_id,
                        pair_shares::peer_id,
                        pair_shares::period,
                    ))
                    .do_nothing()
                    .execute(c)
                    .await?;
                Ok::<_, DbError>(if n > 0 {
                    ShareStored::New
                } else {
                    ShareStored::Duplicate
                })
            })
            .await)
    }

    /// This hub's shares of a period, oldest first.
    pub async fn pair_shares(&self, pair_id: i64, period: &str) -> Result<Vec<PairShare>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<ShareRecord> = with_conn!(&mut conn, |c| pair_shares::table
            .filter(pair_shares::pair_id.eq(pair_id))
            .filter(pair_shares::period.eq(period))
            .order(pair_shares::id.asc())
            .select(ShareRecord::as_select())
            .load(c)
            .await)?;
        rows.into_iter().map(PairShare::try_from).collect()
    }

    /// The periods with shares not yet checked, oldest first.
    pub async fn pair_periods_waiting(&self, pair_id: i64) -> Result<Vec<String>, DbError> {
        let mut conn = self.conn().await?;
        with_conn!(&mut conn, |c| pair_shares::table
            .filter(pair_shares::pair_id.eq(pair_id))
            .filter(pair_shares::state.eq(ShareState::Received.as_str()))
            .select(pair_shares::period)
            .distinct()
            .order(pair_shares::period.asc())
            .load(c)
            .await)
        .map_err(DbError::from)
    }

    /// Marks shares as sent to the helper for checking (the leader's side), with the step that
    /// sends them, in one transaction.
    pub async fn mark_pair_shares_sent(
        &self,
        pair_id: i64,
        nonces: &[String],
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                diesel::update(
                    pair_shares::table
                        .filter(pair_shares::pair_id.eq(pair_id))
                        .filter(pair_shares::nonce.eq_any(nonces))
                        .filter(pair_shares::state.eq(ShareState::Received.as_str())),
                )
                .set(pair_shares::state.eq(ShareState::Sent.as_str()))
                .execute(c)
                .await?;
                insert_outbox!(c, send, now);
                Ok::<_, DbError>(())
            })
            .await)
    }

    /// One share by its nonce.
    pub async fn pair_share(
        &self,
        pair_id: i64,
        nonce: &str,
    ) -> Result<Option<PairShare>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<ShareRecord> = with_conn!(&mut conn, |c| pair_shares::table
            .filter(pair_shares::pair_id.eq(pair_id))
            .filter(pair_shares::nonce.eq(nonce))
            .select(ShareRecord::as_select())
            .first(c)
            .await
            .optional())?;
        row.map(PairShare::try_from).transpose()
    }

    /// Records the outcome of checking shares: each becomes checked with its output share, or
    /// refused, with the step that tells the other hub, in one transaction; a share already
    /// decided keeps its first outcome.
    pub async fn decide_pair_shares(
        &self,
        pair_id: i64,
        outcomes: &[(String, Option<String>)],
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                for (nonce, output) in outcomes {
                    let state = if output.is_some() {
                        ShareState::Checked
                    } else {
                        ShareState::Refused
                    };
                    diesel::update(
                        pair_shares::table
                            .filter(pair_shares::pair_id.eq(pair_id))
                            .filter(pair_shares::nonce.eq(nonce))
                            .filter(pair_shares::state.eq_any([
                                ShareState::Received.as_str(),
                                ShareState::Sent.as_str(),
                            ])),
                    )
                    .set((
                        pair_shares::state.eq(state.as_str()),
                        pair_shares::output_share.eq(output),
                    ))
                    .execute(c)
                    .await?;
                }
                insert_outbox!(c, send, now);
                Ok::<_, DbError>(())
            })
            .await)
    }

    pub async fn pair_batch(
        &self,
        pair_id: i64,
        segment: &str,
        period: &str,
    ) -> Result<Option<PairBatch>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<BatchRecord> = with_conn!(&mut conn, |c| pair_batches::table
            .filter(pair_batches::pair_id.eq(pair_id))
            .filter(pair_batches::segment.eq(segment))
            .filter(pair_batches::period.eq(period))
            .select(BatchRecord::as_select())
            .first(c)
            .await
            .optional())?;
        Ok(row.map(PairBatch::from))
    }

    /// Keeps what this hub released for a batch, notes the batch on each of its shares and
    /// queues the step that sends it, in one transaction. The first release stands: a second
    /// call for the same batch changes nothing, sends nothing, and returns the first with
    /// `false`.
    pub async fn save_pair_batch(
        &self,
        pair_id: i64,
        batch: &PairBatch,
        nonces: &[String],
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<(PairBatch, bool), DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        let new = with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let n = diesel::insert_into(pair_batches::table)
                    .values((
                        pair_batches::pair_id.eq(pair_id),
                        pair_batches::segment.eq(&batch.segment),
                        pair_batches::period.eq(&batch.period),
                        pair_batches::reports.eq(batch.reports as i32),
                        pair_batches::aggregate_share.eq(&batch.aggregate_share),
                        pair_batches::released_at.eq(now),
                    ))
                    .on_conflict((
                        pair_batches::pair_id,
                        pair_batches::segment,
                        pair_batches::period,
                    ))
                    .do_nothing()
                    .execute(c)
                    .await?;
                if n > 0 {
                    for nonce in nonces {
                        let row: Option<String> = pair_shares::table
                            .filter(pair_shares::pair_id.eq(pair_id))
                            .filter(pair_shares::nonce.eq(nonce))
                            .select(pair_shares::batches)
                            .first(c)
                            .await
                            .optional()?;
                        let Some(old) = row else { continue };
                        let joined = if old.is_empty() {
                            batch.segment.clone()
                        } else {
                            format!("{old},{}", batch.segment)
                        };
                        diesel::update(
                            pair_shares::table
                                .filter(pair_shares::pair_id.eq(pair_id))
                                .filter(pair_shares::nonce.eq(nonce)),
                        )
                        .set(pair_shares::batches.eq(joined))
                        .execute(c)
                        .await?;
                    }
                    insert_outbox!(c, send, now);
                }
                Ok::<_, DbError>(n > 0)
            })
            .await)?;
        drop(conn);
        let stored = self
            .pair_batch(pair_id, &batch.segment, &batch.period)
            .await?
            .ok_or_else(|| DbError::InvalidData("a saved batch vanished".into()))?;
        Ok((stored, new))
    }

    /// A pair this hub is in with `actor_url`, proposed or accepted, if any.
    pub async fn pair_with(&self, actor_url: &str) -> Result<Option<HubPair>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<(PairRecord, PeerRecord)> = with_conn!(&mut conn, |c| hub_pairs::table
            .inner_join(peers::table)
            .filter(peers::actor_url.eq(actor_url))
            .filter(
                hub_pairs::state
                    .eq_any([PairState::Proposed.as_str(), PairState::Accepted.as_str(),])
            )
            .select((PairRecord::as_select(), PeerRecord::as_select()))
            .first(c)
            .await
            .optional())?;
        row.map(to_pair).transpose()
    }

    /// Stores a batch's released sums; `false` if the batch was released before (the first
    /// release stands).
    pub async fn save_pair_release(&self, r: &PairRelease) -> Result<bool, DbError> {
        let sums = serde_json::to_string(&r.sums)
            .map_err(|e| DbError::InvalidData(format!("sums do not serialise: {e}")))?;
        let mut conn = self.write_conn().await?;
        let n = with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let n = diesel::insert_into(pair_releases::table)
                    .values((
                        pair_releases::pair_id.eq(r.pair_id),
                        pair_releases::segment.eq(&r.segment),
                        pair_releases::period.eq(&r.period),
                        pair_releases::groups.eq(r.groups as i32),
                        pair_releases::sigma_tenths.eq(r.sigma.tenths() as i32),
                        pair_releases::sums.eq(&sums),
                        pair_releases::released_at.eq(to_db_time(r.released_at)),
                    ))
                    .on_conflict((
                        pair_releases::pair_id,
                        pair_releases::segment,
                        pair_releases::period,
                    ))
                    .do_nothing()
                    .execute(c)
                    .await?;
                // The sector pages read releases beside the rollups: their cache goes too.
                if n > 0 {
                    crate::rollups::rollup_bump!(c);
                }
                Ok::<_, DbError>(n)
            })
            .await)?;
        Ok(n > 0)
    }

    /// The releases of every pair this hub leads (accepted, or ended after releasing), each
    /// pair with its own: a sector source apart from the single-hub reports.
    pub async fn led_pair_releases(&self) -> Result<Vec<(HubPair, Vec<PairRelease>)>, DbError> {
        let mut out = Vec::new();
        for p in self.pairs().await? {
            if p.role == HubRole::Leader
                && matches!(p.state, PairState::Accepted | PairState::Ended)
            {
                let releases = self.pair_releases(p.id).await?;
                out.push((p, releases));
            }
        }
        Ok(out)
    }

    /// Which groups each (segment, period) of a pair's releases holds: the senders of the
    /// checked shares released in that segment's batch.
    pub async fn pair_segment_groups(
        &self,
        pair_id: i64,
    ) -> Result<hearth_core::sector::SegmentGroups, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(i64, String, String)> = with_conn!(&mut conn, |c| pair_shares::table
            .filter(pair_shares::pair_id.eq(pair_id))
            .filter(pair_shares::state.eq(ShareState::Checked.as_str()))
            .select((
                pair_shares::peer_id,
                pair_shares::period,
                pair_shares::batches
            ))
            .load(c)
            .await)?;
        let mut out = hearth_core::sector::SegmentGroups::new();
        for (peer, period, batches) in rows {
            let Ok(period) = period.parse() else {
                continue;
            };
            for s in batches
                .split(',')
                .filter_map(hearth_core::sector::Segment::parse)
            {
                out.entry((s, period)).or_default().insert(peer);
            }
        }
        Ok(out)
    }

    /// Every release of a pair, by period then segment.
    pub async fn pair_releases(&self, pair_id: i64) -> Result<Vec<PairRelease>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<ReleaseRecord> = with_conn!(&mut conn, |c| pair_releases::table
            .filter(pair_releases::pair_id.eq(pair_id))
            .order((pair_releases::period.asc(), pair_releases::segment.asc()))
            .select(ReleaseRecord::as_select())
            .load(c)
            .await)?;
        rows.into_iter().map(PairRelease::try_from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_state_reads_back() {
        for s in ShareState::ALL {
            assert_eq!(ShareState::parse(s.as_str()), Some(s));
        }
        for s in PairState::ALL {
            assert_eq!(PairState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ShareState::parse("lost"), None);
        assert_eq!(PairState::parse("lost"), None);
    }
}
