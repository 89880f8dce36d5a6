//! A group's side of hub pairs: the pairs its hubs offer (`group_pairs`, kept in step with what
//! each leader lists) and what the group shares through each. The reports themselves go to the
//! audit log and ledger in `shared_reports`, keyed by the pair's id, like a hub's.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable, SelectableHelper,
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use hearth_core::pair::{PairPlan, dimensions_to_slugs};
use hearth_core::sharing::SignalSet;

use crate::pairs::plan_of;
use crate::schema::{group_pairs, shared_reports};
use crate::sharing::ReportState;
use crate::{Db, DbError, from_db_time, to_db_time, with_conn};

/// A pair as its leader lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedPair {
    pub pair_url: String,
    pub helper_actor: String,
    pub plan: PairPlan,
    pub min_groups: u32,
}

/// A pair offered to this group, with what the group shares through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPair {
    pub id: i64,
    pub leader_peer_id: i64,
    pub pair_url: String,
    pub helper_actor: String,
    pub plan: PairPlan,
    pub min_groups: u32,
    /// The leader still lists it.
    pub offered: bool,
    pub enabled: bool,
    pub signals: SignalSet,
    pub automatic: bool,
    pub enabled_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = group_pairs, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct GroupPairRecord {
    id: i64,
    leader_peer_id: i64,
    pair_url: String,
    helper_actor: String,
    cadence: String,
    dimensions: String,
    sigma_tenths: i32,
    min_groups: i32,
    offered: bool,
    enabled: bool,
    signals: String,
    automatic: bool,
    enabled_at: Option<NaiveDateTime>,
}

impl TryFrom<GroupPairRecord> for GroupPair {
    type Error = DbError;
    fn try_from(r: GroupPairRecord) -> Result<Self, DbError> {
        let bad = |what: &str| DbError::InvalidData(format!("group_pairs.{what} of pair {}", r.id));
        Ok(GroupPair {
            plan: plan_of(&r.cadence, &r.dimensions, r.sigma_tenths).ok_or_else(|| bad("plan"))?,
            min_groups: u32::try_from(r.min_groups).map_err(|_| bad("min_groups"))?,
            signals: SignalSet::parse(&r.signals).map_err(|_| bad("signals"))?,
            id: r.id,
            leader_peer_id: r.leader_peer_id,
            pair_url: r.pair_url,
            helper_actor: r.helper_actor,
            offered: r.offered,
            enabled: r.enabled,
            automatic: r.automatic,
            enabled_at: r.enabled_at.map(from_db_time),
        })
    }
}

/// Declines reports awaiting approval for `pair_urls`, in the caller's transaction.
macro_rules! decline_awaiting {
    ($c:expr, $pair_urls:expr, $now:expr) => {{
        let pair_urls: &[String] = $pair_urls;
        diesel::update(
            shared_reports::table
                .filter(shared_reports::hub_actor.eq_any(pair_urls))
                .filter(shared_reports::state.eq(ReportState::AwaitingApproval.as_str())),
        )
        .set((
            shared_reports::state.eq(ReportState::Declined.as_str()),
            shared_reports::decided_at.eq($now),
        ))
        .execute($c)
        .await?;
    }};
}

/// Turns sharing off for `pair_urls` and declines their reports awaiting approval, in the
/// caller's transaction.
macro_rules! stop_pairs {
    ($c:expr, $pair_urls:expr, $now:expr) => {{
        let pair_urls: &[String] = $pair_urls;
        if !pair_urls.is_empty() {
            diesel::update(group_pairs::table.filter(group_pairs::pair_url.eq_any(pair_urls)))
                .set((
                    group_pairs::enabled.eq(false),
                    group_pairs::enabled_at.eq(None::<NaiveDateTime>),
                ))
                .execute($c)
                .await?;
            decline_awaiting!($c, pair_urls, $now);
        }
    }};
}

/// A group leaves the hub `leader_peer_id`: sharing through the pairs it leads stops, in the
/// caller's transaction.
macro_rules! stop_pairs_of {
    ($c:expr, $leader_peer_id:expr, $now:expr) => {{
        use chrono::NaiveDateTime;
        use $crate::schema::{group_pairs, shared_reports};
        use $crate::sharing::ReportState;
        let urls: Vec<String> = group_pairs::table
            .filter(group_pairs::leader_peer_id.eq($leader_peer_id))
            .select(group_pairs::pair_url)
            .load($c)
            .await?;
        stop_pairs!($c, &urls, $now);
    }};
}
pub(crate) use {decline_awaiting, stop_pairs, stop_pairs_of};

impl Db {
    /// Brings the pairs offered by the hub `leader_peer_id` in step with what it lists now: new
    /// ones are stored (sharing off), listed ones are offered again, and those no longer listed
    /// stop. A pair whose plan changed stops too, so a facilitator chooses it again knowingly.
    /// Reports awaiting approval for a pair that stopped are declined.
    pub async fn sync_group_pairs(
        &self,
        leader_peer_id: i64,
        offers: &[OfferedPair],
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
        let before = self.group_pairs_of(leader_peer_id).await?;
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let mut stopped = Vec::new();
                for old in &before {
                    let listed = offers.iter().find(|o| o.pair_url == old.pair_url);
                    let same = listed.is_some_and(|o| {
                        o.plan == old.plan
                            && o.min_groups == old.min_groups
                            && o.helper_actor == old.helper_actor
                    });
                    if !same && (old.offered || old.enabled) {
                        stopped.push(old.pair_url.clone());
                    }
                }
                for o in offers {
                    let values = (
                        group_pairs::helper_actor.eq(&o.helper_actor),
                        group_pairs::cadence.eq(o.plan.cadence.slug()),
                        group_pairs::dimensions.eq(dimensions_to_slugs(&o.plan.dimensions)),
                        group_pairs::sigma_tenths.eq(o.plan.sigma.tenths() as i32),
                        group_pairs::min_groups.eq(o.min_groups as i32),
                        group_pairs::offered.eq(true),
                        group_pairs::updated_at.eq(now),
                    );
                    diesel::insert_into(group_pairs::table)
                        .values((
                            group_pairs::leader_peer_id.eq(leader_peer_id),
                            group_pairs::pair_url.eq(&o.pair_url),
                            group_pairs::enabled.eq(false),
                            group_pairs::signals.eq(SignalSet::all().to_slugs()),
                            group_pairs::automatic.eq(false),
                            values.clone(),
                        ))
                        .on_conflict(group_pairs::pair_url)
                        .do_update()
                        .set(values)
                        .execute(c)
                        .await?;
                }
                let listed: Vec<&str> = offers.iter().map(|o| o.pair_url.as_str()).collect();
                diesel::update(
                    group_pairs::table
                        .filter(group_pairs::leader_peer_id.eq(leader_peer_id))
                        .filter(group_pairs::pair_url.ne_all(&listed)),
                )
                .set((
                    group_pairs::offered.eq(false),
                    group_pairs::updated_at.eq(now),
                ))
                .execute(c)
                .await?;
                stop_pairs!(c, &stopped, now);
                Ok::<_, DbError>(())
            })
            .await)
    }

    /// Every pair offered to this group, by any hub, oldest first.
    pub async fn group_pairs(&self) -> Result<Vec<GroupPair>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<GroupPairRecord> = with_conn!(&mut conn, |c| group_pairs::table
            .order(group_pairs::id)
            .select(GroupPairRecord::as_select())
            .load(c)
            .await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The pairs led by the hub `leader_peer_id`, oldest first.
    pub async fn group_pairs_of(&self, leader_peer_id: i64) -> Result<Vec<GroupPair>, DbError> {
        Ok(self
            .group_pairs()
            .await?
            .into_iter()
            .filter(|p| p.leader_peer_id == leader_peer_id)
            .collect())
    }

    pub async fn group_pair(&self, id: i64) -> Result<Option<GroupPair>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<GroupPairRecord> = with_conn!(&mut conn, |c| group_pairs::table
            .find(id)
            .select(GroupPairRecord::as_select())
            .first(c)
            .await
            .optional())?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn group_pair_by_url(&self, pair_url: &str) -> Result<Option<GroupPair>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<GroupPairRecord> = with_conn!(&mut conn, |c| group_pairs::table
            .filter(group_pairs::pair_url.eq(pair_url))
            .select(GroupPairRecord::as_select())
            .first(c)
            .await
            .optional())?;
        row.map(TryInto::try_into).transpose()
    }

    /// What the group shares through an offered pair. Turning sharing on stamps `enabled_at`
    /// (kept while it stays on); turning it off clears it and declines reports awaiting
    /// approval. `NotFound` for a pair no longer offered, unless sharing is being turned off.
    pub async fn set_group_pair_sharing(
        &self,
        id: i64,
        enabled: bool,
        signals: SignalSet,
        automatic: bool,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let before = self.group_pair(id).await?.ok_or(DbError::NotFound)?;
        if enabled && !before.offered {
            return Err(DbError::NotFound);
        }
        let now = to_db_time(now);
        let enabled_at = match (enabled, before.enabled_at) {
            (false, _) => None,
            (true, Some(at)) if before.enabled => Some(to_db_time(at)),
            (true, _) => Some(now),
        };
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                diesel::update(group_pairs::table.find(id))
                    .set((
                        group_pairs::enabled.eq(enabled),
                        group_pairs::signals.eq(signals.to_slugs()),
                        group_pairs::automatic.eq(automatic),
                        group_pairs::enabled_at.eq(enabled_at),
                        group_pairs::updated_at.eq(now),
                    ))
                    .execute(c)
                    .await?;
                if !enabled {
                    decline_awaiting!(c, std::slice::from_ref(&before.pair_url), now);
                }
                Ok::<_, DbError>(())
            })
            .await)
    }
}
