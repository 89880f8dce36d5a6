//! Peers, memberships, the durable outbox and received-activity ids.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, QueryableByName, Selectable,
    SelectableHelper,
};
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::pool::group_commit::write_body;
use crate::schema::{memberships, outbox, peer_old_keys, peers, readers, received_activities};
use crate::{Db, DbError, from_db_time, to_db_time, with_conn};

/// A remote actor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRow {
    pub id: i64,
    pub actor_url: String,
    pub kind: String,
    pub name: String,
    pub inbox: String,
    pub public_key_pem: String,
    /// JSON of the coarse profile a group actor carries; `{}` for others.
    pub profile: String,
    pub fetched_at: DateTime<Utc>,
    /// The actor's shared inbox, where it offers one.
    pub shared_inbox: Option<String>,
    /// Its `preferredUsername`, where known: with the host, its handle.
    pub username: Option<String>,
}

/// A remote actor to store or refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPeer {
    pub actor_url: String,
    pub kind: String,
    pub name: String,
    pub inbox: String,
    pub public_key_pem: String,
    pub profile: String,
    pub fetched_at: DateTime<Utc>,
    pub shared_inbox: Option<String>,
    pub username: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipState {
    Pending,
    Accepted,
    Rejected,
}

impl MembershipState {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipState::Pending => "pending",
            MembershipState::Accepted => "accepted",
            MembershipState::Rejected => "rejected",
        }
    }
    pub(crate) fn parse(s: &str) -> Result<Self, DbError> {
        match s {
            "pending" => Ok(Self::Pending),
            "accepted" => Ok(Self::Accepted),
            "rejected" => Ok(Self::Rejected),
            other => Err(DbError::InvalidData(format!("membership state {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub peer: PeerRow,
    pub state: MembershipState,
    pub follow_id: String,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An activity to deliver to one inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbox {
    pub activity_id: String,
    pub activity_type: String,
    pub inbox: String,
    pub payload: String,
}

/// How an outbox row's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Given up after its retries, or refused by the receiver.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
    pub(crate) fn parse(s: &str) -> Result<Self, DbError> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(DbError::InvalidData(format!("delivery state {other:?}"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub activity_id: String,
    pub activity_type: String,
    pub inbox: String,
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A `peers` row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = peers, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(crate) struct PeerRecord {
    pub(crate) id: i64,
    actor_url: String,
    kind: String,
    name: String,
    inbox: String,
    public_key_pem: String,
    profile: String,
    fetched_at: NaiveDateTime,
    shared_inbox: Option<String>,
    username: Option<String>,
}

impl From<PeerRecord> for PeerRow {
    fn from(p: PeerRecord) -> Self {
        PeerRow {
            id: p.id,
            actor_url: p.actor_url,
            kind: p.kind,
            name: p.name,
            inbox: p.inbox,
            public_key_pem: p.public_key_pem,
            profile: p.profile,
            fetched_at: from_db_time(p.fetched_at),
            shared_inbox: p.shared_inbox,
            username: p.username,
        }
    }
}

/// A `memberships` row without its peer id (the peer comes with it).
#[derive(Queryable, Selectable)]
#[diesel(table_name = memberships, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct MembershipFields {
    state: String,
    follow_id: String,
    requested_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A membership joined with its peer.
#[derive(Queryable, Selectable)]
#[diesel(table_name = memberships, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct MembershipRecord {
    #[diesel(embed)]
    peer: PeerRecord,
    #[diesel(embed)]
    membership: MembershipFields,
}

impl TryFrom<MembershipRecord> for Membership {
    type Error = DbError;
    fn try_from(r: MembershipRecord) -> Result<Self, DbError> {
        let m = r.membership;
        Ok(Membership {
            peer: r.peer.into(),
            state: MembershipState::parse(&m.state)?,
            follow_id: m.follow_id,
            requested_at: from_db_time(m.requested_at),
            updated_at: from_db_time(m.updated_at),
        })
    }
}

/// An `outbox` row as stored; also read by [`Db::next_deliveries`]' own SQL.
#[derive(Queryable, QueryableByName, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct OutboxRecord {
    id: i64,
    activity_id: String,
    activity_type: String,
    inbox: String,
    payload: String,
    state: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    delivered_at: Option<NaiveDateTime>,
}

impl TryFrom<OutboxRecord> for OutboxRow {
    type Error = DbError;
    fn try_from(r: OutboxRecord) -> Result<Self, DbError> {
        Ok(OutboxRow {
            id: r.id,
            activity_id: r.activity_id,
            activity_type: r.activity_type,
            inbox: r.inbox,
            payload: r.payload,
            state: DeliveryState::parse(&r.state)?,
            attempts: r.attempts,
            next_attempt_at: from_db_time(r.next_attempt_at),
            last_error: r.last_error,
            created_at: from_db_time(r.created_at),
            delivered_at: r.delivered_at.map(from_db_time),
        })
    }
}

/// Records an activity id as received, inside the caller's transaction; the number of rows
/// written (0: it already was).
macro_rules! record_received {
    ($c:expr, $id:expr, $now:expr) => {
        diesel::insert_into(crate::schema::received_activities::table)
            .values((
                crate::schema::received_activities::activity_id.eq($id),
                crate::schema::received_activities::received_at.eq($now),
            ))
            .on_conflict(crate::schema::received_activities::activity_id)
            .do_nothing()
            .execute($c)
            .await
    };
}
pub(crate) use record_received;

/// Stores a peer as fetched, inside the caller's transaction. A changed key keeps the previous one in `peer_old_keys` (written
/// first, while the row still holds it), so requests signed with it verify for a while yet.
macro_rules! upsert_peer {
    ($c:expr, $p:expr) => {{
        let p: &NewPeer = $p;
        let fetched = to_db_time(p.fetched_at);
        diesel::insert_into(peer_old_keys::table)
            .values(
                peers::table
                    .filter(peers::actor_url.eq(&p.actor_url))
                    .filter(peers::public_key_pem.ne(&p.public_key_pem))
                    .select((
                        peers::id,
                        peers::public_key_pem,
                        diesel::IntoSql::into_sql::<diesel::sql_types::Timestamp>(fetched),
                    )),
            )
            .into_columns((
                peer_old_keys::peer_id,
                peer_old_keys::public_key_pem,
                peer_old_keys::replaced_at,
            ))
            // A key that comes back and goes again starts its grace period again.
            .on_conflict((peer_old_keys::peer_id, peer_old_keys::public_key_pem))
            .do_update()
            .set(
                peer_old_keys::replaced_at.eq(diesel::upsert::excluded(peer_old_keys::replaced_at)),
            )
            .execute($c)
            .await?;
        diesel::insert_into(peers::table)
            .values((
                peers::actor_url.eq(&p.actor_url),
                peers::kind.eq(&p.kind),
                peers::name.eq(&p.name),
                peers::inbox.eq(&p.inbox),
                peers::public_key_pem.eq(&p.public_key_pem),
                peers::profile.eq(&p.profile),
                peers::fetched_at.eq(fetched),
                peers::shared_inbox.eq(&p.shared_inbox),
                peers::username.eq(&p.username),
            ))
            .on_conflict(peers::actor_url)
            .do_update()
            .set((
                peers::kind.eq(&p.kind),
                peers::name.eq(&p.name),
                peers::inbox.eq(&p.inbox),
                peers::public_key_pem.eq(&p.public_key_pem),
                peers::profile.eq(&p.profile),
                peers::fetched_at.eq(fetched),
                peers::shared_inbox.eq(&p.shared_inbox),
                peers::username.eq(&p.username),
            ))
            .returning(PeerRecord::as_returning())
            .get_result::<PeerRecord>($c)
            .await
    }};
}

macro_rules! insert_outbox {
    ($c:expr, $items:expr, $now:expr) => {{
        for item in $items {
            let item: &NewOutbox = item;
            diesel::insert_into(outbox::table)
                .values((
                    outbox::activity_id.eq(&item.activity_id),
                    outbox::activity_type.eq(&item.activity_type),
                    outbox::inbox.eq(&item.inbox),
                    outbox::payload.eq(&item.payload),
                    outbox::state.eq(crate::DeliveryState::Pending.as_str()),
                    outbox::attempts.eq(0),
                    outbox::next_attempt_at.eq($now),
                    outbox::created_at.eq($now),
                ))
                .on_conflict((outbox::activity_id, outbox::inbox))
                .do_nothing()
                .execute($c)
                .await?;
        }
    }};
}
pub(crate) use insert_outbox;
pub(crate) use upsert_peer;

impl Db {
    pub async fn peer_by_url(&self, actor_url: &str) -> Result<Option<PeerRow>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<PeerRecord> = with_conn!(&mut conn, |c| peers::table
            .filter(peers::actor_url.eq(actor_url))
            .select(PeerRecord::as_select())
            .first(c)
            .await
            .optional())?;
        Ok(row.map(PeerRow::from))
    }

    pub async fn peer_by_id(&self, id: i64) -> Result<Option<PeerRow>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<PeerRecord> = with_conn!(&mut conn, |c| peers::table
            .filter(peers::id.eq(id))
            .select(PeerRecord::as_select())
            .first(c)
            .await
            .optional())?;
        Ok(row.map(PeerRow::from))
    }

    /// Stores a peer whose activity this instance has accepted (a group sending a pair share
    /// to a helper hub, which has no membership for it).
    pub async fn save_peer(&self, p: &NewPeer) -> Result<PeerRow, DbError> {
        let mut conn = self.write_conn().await?;
        let row = with_conn!(&mut conn, |c| c
            .transaction(async |c| upsert_peer!(c, p).map_err(DbError::from))
            .await)?;
        self.forget_memberships();
        Ok(row.into())
    }

    /// Refreshes a peer this instance already knows; unknown actors are not stored, so a
    /// request that is then refused leaves no trace.
    pub async fn refresh_known_peer(&self, p: &NewPeer) -> Result<Option<PeerRow>, DbError> {
        if self.peer_by_url(&p.actor_url).await?.is_none() {
            return Ok(None);
        }
        let mut conn = self.write_conn().await?;
        let row = with_conn!(&mut conn, |c| c
            .transaction(async |c| Ok::<_, DbError>(upsert_peer!(c, p)?))
            .await);
        self.forget_memberships();
        Ok(Some(row?.into()))
    }

    /// Keys `actor_url` used before its current one that were replaced after `since`.
    pub async fn recent_old_keys(
        &self,
        actor_url: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, DbError> {
        let mut conn = self.conn().await?;
        Ok(with_conn!(&mut conn, |c| peer_old_keys::table
            .inner_join(peers::table)
            .filter(peers::actor_url.eq(actor_url))
            .filter(peer_old_keys::replaced_at.gt(to_db_time(since)))
            .select(peer_old_keys::public_key_pem)
            .load(c)
            .await)?)
    }

    /// Every peer's domain, for the federation allow-list.
    pub async fn peer_urls(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.conn().await?;
        Ok(with_conn!(&mut conn, |c| peers::table
            .select(peers::actor_url)
            .load(c)
            .await)?)
    }

    /// The membership of the peer at `actor_url`, if any. Kept in memory: every activity a
    /// peer sends reads it.
    pub async fn membership_by_actor(
        &self,
        actor_url: &str,
    ) -> Result<Option<Membership>, DbError> {
        if let Some(m) = self.cache.memberships.get(actor_url) {
            return Ok(m);
        }
        let start = self.cache.memberships.start_read();
        let mut conn = self.conn().await?;
        let row: Option<MembershipRecord> = with_conn!(&mut conn, |c| memberships::table
            .inner_join(peers::table)
            .filter(peers::actor_url.eq(actor_url))
            .select(MembershipRecord::as_select())
            .first(c)
            .await
            .optional())?;
        let m = row.map(Membership::try_from).transpose()?;
        self.cache
            .memberships
            .keep(start, actor_url.to_owned(), m.clone());
        Ok(m)
    }

    /// Forgets every kept membership; call after any write to peers or memberships.
    pub(crate) fn forget_memberships(&self) {
        self.cache.memberships.forget_where(|_, _| true);
    }

    pub async fn membership(&self, peer_id: i64) -> Result<Option<Membership>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<MembershipRecord> = with_conn!(&mut conn, |c| memberships::table
            .inner_join(peers::table)
            .filter(peers::id.eq(peer_id))
            .select(MembershipRecord::as_select())
            .first(c)
            .await
            .optional())?;
        row.map(Membership::try_from).transpose()
    }

    /// All memberships, newest request first.
    pub async fn memberships(&self) -> Result<Vec<Membership>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<MembershipRecord> = with_conn!(&mut conn, |c| memberships::table
            .inner_join(peers::table)
            .order(memberships::requested_at.desc())
            .select(MembershipRecord::as_select())
            .load(c)
            .await)?;
        rows.into_iter().map(Membership::try_from).collect()
    }

    /// Stores a pending membership (a Follow sent, or received) together with the activities
    /// it causes, in one transaction. A repeated request replaces the Follow id and state.
    pub async fn save_membership(
        &self,
        peer: &NewPeer,
        state: MembershipState,
        follow_id: &str,
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<Membership, DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        let row: Result<MembershipRecord, DbError> = with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let p = upsert_peer!(c, peer)?;
                let m = diesel::insert_into(memberships::table)
                    .values((
                        memberships::peer_id.eq(p.id),
                        memberships::state.eq(state.as_str()),
                        memberships::follow_id.eq(follow_id),
                        memberships::requested_at.eq(now),
                        memberships::updated_at.eq(now),
                    ))
                    .on_conflict(memberships::peer_id)
                    .do_update()
                    .set((
                        memberships::state.eq(state.as_str()),
                        memberships::follow_id.eq(follow_id),
                        memberships::requested_at.eq(now),
                        memberships::updated_at.eq(now),
                    ))
                    .returning(MembershipFields::as_returning())
                    .get_result(c)
                    .await?;
                insert_outbox!(c, send, now);
                Ok::<_, DbError>(MembershipRecord {
                    peer: p,
                    membership: m,
                })
            })
            .await);
        self.forget_memberships();
        row?.try_into()
    }

    /// Moves a membership from `from` to `to` (staff deciding, or a hub's answer arriving) and
    /// queues `send`, in one transaction. `NotFound` if it was not in state `from` with that
    /// Follow id (when given).
    pub async fn change_membership(
        &self,
        peer_id: i64,
        from: MembershipState,
        to: MembershipState,
        follow_id: Option<&str>,
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
        let follow_id = follow_id.map(str::to_owned);
        let mut conn = self.write_conn().await?;
        let r = with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let mut q = diesel::update(memberships::table)
                    .filter(memberships::peer_id.eq(peer_id))
                    .filter(memberships::state.eq(from.as_str()))
                    .into_boxed();
                if let Some(f) = &follow_id {
                    q = q.filter(memberships::follow_id.eq(f));
                }
                let n = q
                    .set((
                        memberships::state.eq(to.as_str()),
                        memberships::updated_at.eq(now),
                    ))
                    .execute(c)
                    .await?;
                if n == 0 {
                    return Err(DbError::NotFound);
                }
                insert_outbox!(c, send, now);
                Ok(())
            })
            .await);
        self.forget_memberships();
        r
    }

    /// Ends a membership and queues `send` (an Undo, when leaving), in one transaction.
    pub async fn end_membership(
        &self,
        peer_id: i64,
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
                insert_outbox!(c, send, now);
                Ok(())
            })
            .await);
        self.forget_memberships();
        r
    }

    /// Outbox rows by state: (pending, delivered, failed).
    pub async fn outbox_counts(&self) -> Result<(i64, i64, i64), DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, i64)> = with_conn!(&mut conn, |c| outbox::table
            .group_by(outbox::state)
            .select((outbox::state, diesel::dsl::count_star()))
            .load(c)
            .await)?;
        let get = |s: &str| {
            rows.iter()
                .find(|(x, _)| x == s)
                .map(|(_, n)| *n)
                .unwrap_or(0)
        };
        Ok((
            get(DeliveryState::Pending.as_str()),
            get(DeliveryState::Delivered.as_str()),
            get(DeliveryState::Failed.as_str()),
        ))
    }

    /// Deliveries given up (or refused) among the activities queued since `since`.
    pub async fn failed_since(&self, since: DateTime<Utc>) -> Result<i64, DbError> {
        let mut conn = self.conn().await?;
        Ok(with_conn!(&mut conn, |c| outbox::table
            .filter(outbox::state.eq(DeliveryState::Failed.as_str()))
            .filter(outbox::created_at.gt(to_db_time(since)))
            .count()
            .get_result(c)
            .await)?)
    }

    /// Queues activities that no other change goes with.
    pub async fn enqueue(&self, send: &[NewOutbox], now: DateTime<Utc>) -> Result<(), DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                insert_outbox!(c, send, now);
                Ok::<_, DbError>(())
            })
            .await)
    }

    /// Stores a reader (a follow from an account that is not a group) with the `Accept` it
    /// causes, in one transaction.
    pub async fn save_reader(
        &self,
        peer: &NewPeer,
        follow_id: &str,
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        let r = with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let p = upsert_peer!(c, peer)?;
                diesel::insert_into(readers::table)
                    .values((
                        readers::peer_id.eq(p.id),
                        readers::follow_id.eq(follow_id),
                        readers::followed_at.eq(now),
                    ))
                    .on_conflict(readers::peer_id)
                    .do_update()
                    .set((
                        readers::follow_id.eq(follow_id),
                        readers::followed_at.eq(now),
                    ))
                    .execute(c)
                    .await?;
                insert_outbox!(c, send, now);
                Ok::<_, DbError>(())
            })
            .await);
        self.forget_memberships();
        r
    }

    pub async fn is_reader(&self, actor_url: &str) -> Result<bool, DbError> {
        let mut conn = self.conn().await?;
        let n: i64 = with_conn!(&mut conn, |c| readers::table
            .inner_join(peers::table)
            .filter(peers::actor_url.eq(actor_url))
            .count()
            .get_result(c)
            .await)?;
        Ok(n > 0)
    }

    /// Stops a reader's follow; `false` if it was not following.
    pub async fn remove_reader(&self, actor_url: &str) -> Result<bool, DbError> {
        let Some(peer) = self.peer_by_url(actor_url).await? else {
            return Ok(false);
        };
        let mut conn = self.write_conn().await?;
        let n = with_conn!(&mut conn, |c| diesel::delete(
            readers::table.filter(readers::peer_id.eq(peer.id))
        )
        .execute(c)
        .await)?;
        Ok(n > 0)
    }

    /// Every reader with when it followed, by name.
    pub async fn readers(&self) -> Result<Vec<(PeerRow, DateTime<Utc>)>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(PeerRecord, NaiveDateTime)> = with_conn!(&mut conn, |c| readers::table
            .inner_join(peers::table)
            .order((peers::name.asc(), peers::id.asc()))
            .select((PeerRecord::as_select(), readers::followed_at))
            .load(c)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(p, at)| (p.into(), from_db_time(at)))
            .collect())
    }

    /// Every known peer's name by its inbox, and by its shared inbox (where deliveries for
    /// several followers on one server go), for telling deliveries apart.
    pub async fn peer_names_by_inbox(
        &self,
    ) -> Result<std::collections::HashMap<String, String>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, Option<String>, String)> = with_conn!(&mut conn, |c| peers::table
            .select((peers::inbox, peers::shared_inbox, peers::name))
            .load(c)
            .await)?;
        let mut out = std::collections::HashMap::new();
        for (inbox, shared, name) in rows {
            if let Some(shared) = shared.filter(|s| *s != inbox) {
                out.entry(shared)
                    .or_insert_with(|| "followers on this server".to_owned());
            }
            out.insert(inbox, name);
        }
        Ok(out)
    }

    pub async fn reader_count(&self) -> Result<i64, DbError> {
        let mut conn = self.conn().await?;
        Ok(with_conn!(&mut conn, |c| readers::table
            .count()
            .get_result(c)
            .await)?)
    }

    /// Pending deliveries, oldest first, for the worker to pick per inbox.
    pub async fn pending_outbox(&self, limit: i64) -> Result<Vec<OutboxRow>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<OutboxRecord> = with_conn!(&mut conn, |c| outbox::table
            .filter(outbox::state.eq(DeliveryState::Pending.as_str()))
            .order(outbox::id.asc())
            .limit(limit)
            .select(OutboxRecord::as_select())
            .load(c)
            .await)?;
        rows.into_iter().map(OutboxRow::try_from).collect()
    }

    /// What may be delivered now, as one chain per inbox: that inbox's oldest pending
    /// activities (at most `per_inbox`), oldest first, cut before the first that is not due
    /// (a later activity never overtakes an earlier one to the same inbox). Chains come oldest
    /// head first; `limit` caps how many of the oldest queued activities are considered.
    pub async fn next_deliveries(
        &self,
        now: DateTime<Utc>,
        per_inbox: i64,
        limit: i64,
    ) -> Result<Vec<Vec<OutboxRow>>, DbError> {
        // Both numbers are the caller's constants, so they are part of the (cached) SQL. The
        // ranking reads only ids and inboxes; payloads are read for the rows chosen.
        let sql = format!(
            "SELECT id, activity_id, activity_type, inbox, payload, state, attempts, \
             next_attempt_at, last_error, created_at, delivered_at FROM outbox WHERE id IN ( \
             SELECT id FROM ( \
             SELECT id, ROW_NUMBER() OVER (PARTITION BY inbox ORDER BY id) AS place \
             FROM outbox WHERE state = '{}') AS queued \
             WHERE place <= {} ORDER BY id LIMIT {}) ORDER BY id",
            DeliveryState::Pending.as_str(),
            per_inbox.max(1),
            limit.max(1)
        );
        let mut conn = self.conn().await?;
        let rows: Vec<OutboxRecord> =
            with_conn!(&mut conn, |c| diesel::sql_query(sql.as_str()).load(c).await)?;
        let mut chains: Vec<Vec<OutboxRow>> = Vec::new();
        let mut chain_of: std::collections::HashMap<String, usize> = Default::default();
        // Inboxes whose next activity is not due: nothing after it may go either.
        let mut waiting = std::collections::HashSet::new();
        for r in rows {
            let row = OutboxRow::try_from(r)?;
            if waiting.contains(&row.inbox) {
                continue;
            }
            if row.next_attempt_at > now {
                waiting.insert(row.inbox);
                continue;
            }
            match chain_of.get(&row.inbox) {
                Some(&i) => chains[i].push(row),
                None => {
                    chain_of.insert(row.inbox.clone(), chains.len());
                    chains.push(vec![row]);
                }
            }
        }
        Ok(chains)
    }

    /// The newest deliveries, for facilitators and staff to see.
    pub async fn recent_outbox(&self, limit: i64) -> Result<Vec<OutboxRow>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<OutboxRecord> = with_conn!(&mut conn, |c| outbox::table
            .order(outbox::id.desc())
            .limit(limit)
            .select(OutboxRecord::as_select())
            .load(c)
            .await)?;
        rows.into_iter().map(OutboxRow::try_from).collect()
    }

    /// Marks several deliveries done in one statement (a worker pass's successes).
    pub async fn mark_all_delivered(&self, ids: &[i64], now: DateTime<Utc>) -> Result<(), DbError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| diesel::update(
            outbox::table.filter(outbox::id.eq_any(ids))
        )
        .set((
            outbox::state.eq(DeliveryState::Delivered.as_str()),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::delivered_at.eq(Some(to_db_time(now))),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(c)
        .await)?;
        Ok(())
    }

    /// Records a failed attempt: retry at `next`, or give up when `next` is `None`.
    pub async fn mark_attempt_failed(
        &self,
        id: i64,
        error: &str,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        let error: String = error.chars().take(500).collect();
        match next {
            Some(next) => with_conn!(&mut conn, |c| diesel::update(outbox::table.find(id))
                .set((
                    outbox::attempts.eq(outbox::attempts + 1),
                    outbox::next_attempt_at.eq(to_db_time(next)),
                    outbox::last_error.eq(Some(&error)),
                ))
                .execute(c)
                .await)?,
            None => with_conn!(&mut conn, |c| diesel::update(outbox::table.find(id))
                .set((
                    outbox::state.eq(DeliveryState::Failed.as_str()),
                    outbox::attempts.eq(outbox::attempts + 1),
                    outbox::last_error.eq(Some(&error)),
                ))
                .execute(c)
                .await)?,
        };
        Ok(())
    }

    /// Whether an activity id was already received.
    pub async fn was_received(&self, activity_id: &str) -> Result<bool, DbError> {
        let mut conn = self.conn().await?;
        let n: i64 = with_conn!(&mut conn, |c| received_activities::table
            .filter(received_activities::activity_id.eq(activity_id))
            .count()
            .get_result(c)
            .await)?;
        Ok(n > 0)
    }

    /// How many distinct activities this instance has received.
    pub async fn received_count(&self) -> Result<i64, DbError> {
        let mut conn = self.conn().await?;
        Ok(with_conn!(&mut conn, |c| received_activities::table
            .count()
            .get_result(c)
            .await)?)
    }

    /// Records an activity id as received; `false` if it already was.
    pub async fn record_received(
        &self,
        activity_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let now = to_db_time(now);
        // One per activity received: on SQLite, queued and committed with the writes beside it.
        let id = activity_id.to_owned();
        let n = self
            .write_batched(
                write_body!(self, |c| Ok(record_received!(c, &id, now)?)),
                || {},
            )
            .await?;
        Ok(n == 1)
    }
}
