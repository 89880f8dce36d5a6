//! A hub's sector view around the rollups: how many groups report, each group's coarse
//! profile, the hub's settings for what it shows, acknowledged alerts, and the summaries a hub
//! publishes (and a group receives).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    AggregateExpressionMethods, ExpressionMethods, OptionalExtension, QueryDsl, Queryable,
    Selectable, SelectableHelper,
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use hearth_core::sector::{GroupProfile, MinGroups};

use crate::NewOutbox;
use crate::federation::insert_outbox;
use crate::schema::{
    alert_acks, hub_settings, memberships, outbox, peers, published_summaries, readers,
    received_reports, sector_summaries,
};
use crate::{Db, DbError, from_db_time, to_db_time, with_conn};

/// What a hub shows and to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HubSettings {
    pub min_groups: MinGroups,
    /// Serve a public summary page (off until staff turn it on).
    pub public_summary: bool,
}

/// Who acknowledged an alert and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertAck {
    pub by: Option<i64>,
    pub at: DateTime<Utc>,
}

/// An `alert_acks` row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = alert_acks, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct AckRecord {
    segment: String,
    measure: String,
    period: String,
    acknowledged_by: Option<i64>,
    acknowledged_at: NaiveDateTime,
}

impl crate::PeerRow {
    /// The coarse profile a group actor carries, as the sector reads it.
    pub fn group_profile(&self) -> GroupProfile {
        profile(&self.profile)
    }
}

/// The coarse profile a group's actor carried, from the stored JSON.
fn profile(json: &str) -> GroupProfile {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
    GroupProfile {
        region: text("region"),
        focuses: v
            .get("communityFocus")
            .and_then(|f| f.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        size_band: text("sizeBand"),
    }
}

/// A summary as it was published.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedSummary {
    pub period: String,
    pub object_id: String,
    pub published_at: DateTime<Utc>,
    /// The Note as sent (or last updated), without `@context`; `None` for summaries published
    /// before Notes were kept.
    pub note: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = published_summaries)]
struct PublishedRow {
    period: String,
    object_id: String,
    published_at: NaiveDateTime,
    note: Option<String>,
    updated_at: Option<NaiveDateTime>,
}

impl From<PublishedRow> for PublishedSummary {
    fn from(r: PublishedRow) -> Self {
        Self {
            period: r.period,
            object_id: r.object_id,
            published_at: from_db_time(r.published_at),
            note: r.note,
            updated_at: r.updated_at.map(from_db_time),
        }
    }
}

impl Db {
    /// How many groups have reports held at the hub.
    pub async fn reporting_groups(&self) -> Result<i64, DbError> {
        let mut conn = self.conn().await?;
        let n: i64 = with_conn!(&mut conn, |c| received_reports::table
            .select(diesel::dsl::count(received_reports::peer_id).aggregate_distinct())
            .first(c)
            .await)?;
        Ok(n)
    }

    /// Which groups each (segment, period) holds reports from, as stored with each report.
    pub async fn segment_groups(&self) -> Result<hearth_core::sector::SegmentGroups, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(i64, String, String)> = with_conn!(&mut conn, |c| received_reports::table
            .select((
                received_reports::peer_id,
                received_reports::period,
                received_reports::segments,
            ))
            .load(c)
            .await)?;
        let mut out = hearth_core::sector::SegmentGroups::new();
        for (peer, period, segments) in rows {
            let Ok(period) = period.parse() else {
                continue;
            };
            for s in segments
                .split(',')
                .filter_map(hearth_core::sector::Segment::parse)
            {
                out.entry((s, period)).or_default().insert(peer);
            }
        }
        Ok(out)
    }

    /// The coarse profile of a stored peer (a group's region, focuses and size band).
    pub async fn peer_profile(&self, peer_id: i64) -> Result<GroupProfile, DbError> {
        let mut conn = self.conn().await?;
        let json: String = with_conn!(&mut conn, |c| peers::table
            .find(peer_id)
            .select(peers::profile)
            .first(c)
            .await)?;
        Ok(profile(&json))
    }

    pub async fn hub_settings(&self) -> Result<HubSettings, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<(i32, bool)> = with_conn!(&mut conn, |c| hub_settings::table
            .find(1i64)
            .select((hub_settings::min_groups, hub_settings::public_summary))
            .first(c)
            .await
            .optional())?;
        let Some((m, public_summary)) = row else {
            return Ok(HubSettings::default());
        };
        Ok(HubSettings {
            min_groups: MinGroups::new(i64::from(m))
                .map_err(|e| DbError::InvalidData(e.to_string()))?,
            public_summary,
        })
    }

    pub async fn set_hub_settings(&self, s: &HubSettings) -> Result<(), DbError> {
        let m = i32::try_from(s.min_groups.get()).unwrap_or(i32::MAX);
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| diesel::insert_into(hub_settings::table)
            .values((
                hub_settings::id.eq(1i64),
                hub_settings::min_groups.eq(m),
                hub_settings::public_summary.eq(s.public_summary),
            ))
            .on_conflict(hub_settings::id)
            .do_update()
            .set((
                hub_settings::min_groups.eq(m),
                hub_settings::public_summary.eq(s.public_summary),
            ))
            .execute(c)
            .await)?;
        Ok(())
    }

    /// Acknowledged alerts by (segment key, measure slug, period label).
    pub async fn alert_acks(&self) -> Result<HashMap<(String, String, String), AlertAck>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<AckRecord> = with_conn!(&mut conn, |c| alert_acks::table
            .select(AckRecord::as_select())
            .load(c)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    (r.segment, r.measure, r.period),
                    AlertAck {
                        by: r.acknowledged_by,
                        at: from_db_time(r.acknowledged_at),
                    },
                )
            })
            .collect())
    }

    /// Records that staff saw an alert; acknowledging twice keeps the first.
    pub async fn ack_alert(
        &self,
        segment: &str,
        measure: &str,
        period: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| diesel::insert_into(alert_acks::table)
            .values((
                alert_acks::segment.eq(segment),
                alert_acks::measure.eq(measure),
                alert_acks::period.eq(period),
                alert_acks::acknowledged_by.eq(Some(by)),
                alert_acks::acknowledged_at.eq(now),
            ))
            .on_conflict((alert_acks::segment, alert_acks::measure, alert_acks::period))
            .do_nothing()
            .execute(c)
            .await)?;
        Ok(())
    }

    /// Inboxes of everyone following the hub (accepted member groups and readers), each
    /// follower's shared inbox where it offers one, so a server with many followers is sent a
    /// summary once.
    pub async fn follower_inboxes(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, Option<String>)> = with_conn!(&mut conn, |c| peers::table
            .filter(
                peers::id.eq_any(
                    memberships::table
                        .filter(memberships::state.eq(crate::MembershipState::Accepted.as_str()))
                        .select(memberships::peer_id),
                ),
            )
            .or_filter(peers::id.eq_any(readers::table.select(readers::peer_id)))
            .select((peers::inbox, peers::shared_inbox))
            .load(c)
            .await)?;
        let mut inboxes: Vec<String> = rows
            .into_iter()
            .map(|(inbox, shared)| shared.unwrap_or(inbox))
            .collect();
        inboxes.sort();
        inboxes.dedup();
        Ok(inboxes)
    }

    /// Periods a summary was published for.
    pub async fn published_periods(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.conn().await?;
        Ok(with_conn!(&mut conn, |c| published_summaries::table
            .select(published_summaries::period)
            .load(c)
            .await)?)
    }

    /// Every published summary, newest period first.
    pub async fn published_summaries(&self) -> Result<Vec<PublishedSummary>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<PublishedRow> = with_conn!(&mut conn, |c| published_summaries::table
            .order(published_summaries::period.desc())
            .select(PublishedRow::as_select())
            .load(c)
            .await)?;
        Ok(rows.into_iter().map(PublishedSummary::from).collect())
    }

    /// One period's published summary.
    pub async fn published_summary(
        &self,
        period: &str,
    ) -> Result<Option<PublishedSummary>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<PublishedRow> = with_conn!(&mut conn, |c| published_summaries::table
            .filter(published_summaries::period.eq(period))
            .select(PublishedRow::as_select())
            .first(c)
            .await
            .optional())?;
        Ok(row.map(PublishedSummary::from))
    }

    /// Replaces a published summary's Note with its update and queues the `Update`s, in one
    /// transaction. False (and nothing queued) when the period was never published.
    pub async fn update_summary(
        &self,
        period: &str,
        note: &str,
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let n = diesel::update(
                    published_summaries::table.filter(published_summaries::period.eq(period)),
                )
                .set((
                    published_summaries::note.eq(Some(note)),
                    published_summaries::updated_at.eq(Some(now)),
                ))
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

    /// Records a published summary (its Note as sent, without `@context`) and queues its
    /// deliveries, in one transaction. False (and nothing queued) when the period was already
    /// published.
    pub async fn publish_summary(
        &self,
        period: &str,
        object_id: &str,
        note: &str,
        send: &[NewOutbox],
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let n = diesel::insert_into(published_summaries::table)
                    .values((
                        published_summaries::period.eq(period),
                        published_summaries::object_id.eq(object_id),
                        published_summaries::published_at.eq(now),
                        published_summaries::note.eq(Some(note)),
                    ))
                    .on_conflict(published_summaries::period)
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

    /// Stores (or replaces) a summary a hub sent this group.
    pub async fn save_sector_summary(
        &self,
        hub_actor: &str,
        hub_name: &str,
        period: &str,
        figures: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let now = to_db_time(now);
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| diesel::insert_into(sector_summaries::table)
            .values((
                sector_summaries::hub_actor.eq(hub_actor),
                sector_summaries::period.eq(period),
                sector_summaries::hub_name.eq(hub_name),
                sector_summaries::figures.eq(figures),
                sector_summaries::received_at.eq(now),
            ))
            .on_conflict((sector_summaries::hub_actor, sector_summaries::period))
            .do_update()
            .set((
                sector_summaries::hub_name.eq(hub_name),
                sector_summaries::figures.eq(figures),
                sector_summaries::received_at.eq(now),
            ))
            .execute(c)
            .await)?;
        Ok(())
    }

    /// The newest summary from each hub: (hub actor, hub name, period, figures JSON).
    pub async fn latest_sector_summaries(
        &self,
    ) -> Result<Vec<(String, String, String, String)>, DbError> {
        let mut conn = self.conn().await?;
        let rows: Vec<(String, String, String, String)> =
            with_conn!(&mut conn, |c| sector_summaries::table
                .order((sector_summaries::hub_actor, sector_summaries::period.desc()))
                .select((
                    sector_summaries::hub_actor,
                    sector_summaries::hub_name,
                    sector_summaries::period,
                    sector_summaries::figures,
                ))
                .load(c)
                .await)?;
        let mut seen = std::collections::HashSet::new();
        Ok(rows
            .into_iter()
            .filter(|r| seen.insert(r.0.clone()))
            .collect())
    }

    /// The types of every activity queued to `inbox`, oldest first: who was sent what.
    pub async fn outbox_types_to(&self, inbox: &str) -> Result<Vec<String>, DbError> {
        let mut conn = self.conn().await?;
        Ok(with_conn!(&mut conn, |c| outbox::table
            .filter(outbox::inbox.eq(inbox))
            .order(outbox::id)
            .select(outbox::activity_type)
            .load(c)
            .await)?)
    }
}
