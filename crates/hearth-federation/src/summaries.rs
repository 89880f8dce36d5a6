//! Sector summaries: after each period a hub publishes its figures for that period to everyone
//! following it (member groups and readers) as a `Create` of a `Note`: plain words any
//! fediverse account can read, with the figures attached in Hearth's vocabulary
//! (`sectorFigures`), which group instances store to show their own figures beside the sector.
//! Only figures with at least m groups behind them are in a summary.

use std::collections::BTreeMap;

use activitypub_federation::config::Data;
use activitypub_federation::kinds::activity::{CreateType, UpdateType};
use activitypub_federation::kinds::object::NoteType;
use activitypub_federation::traits::Activity;
use chrono::{DateTime, Utc};
use hearth_core::InstanceRole;
use hearth_core::report::{ReportPeriod, SCHEMA_VERSION};
use hearth_core::sector::{Measure, MinGroups, Point, Segment, Series, published};
use hearth_db::{HubPair, MembershipState};
use url::Url;

use crate::protocol::summary::{CreateSummary, Figure, PUBLIC, SectorSummary, UpdateSummary};
use crate::sending::{new_activity_id, outbox_item};
use crate::{FedContext, FedError};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// What every view of the sector reads (pages, exports, summaries): the hub's own series, and
/// each pair it leads with that pair's series, m applied to both.
pub async fn sector_series(
    ctx: &FedContext,
    min: MinGroups,
) -> Result<(Vec<Series>, Vec<(HubPair, Vec<Series>)>), FedError> {
    let hub = hearth_core::sector::shown_series(
        &ctx.db.sector_sums().await?,
        &ctx.db.segment_groups().await?,
        min,
    );
    let mut pairs = Vec::new();
    for (pair, releases) in ctx.db.led_pair_releases().await? {
        if !releases.is_empty() {
            let series = pair_series(ctx, pair.id, &releases, min).await?;
            pairs.push((pair, series));
        }
    }
    Ok((hub, pairs))
}

/// What a hub shows of one pair's releases: each segment once, and, as for its own reports, no
/// combination of a period's figures that depends on fewer than m groups (a pair released the
/// network and a region; their difference must not be a few groups' sums).
pub async fn pair_series(
    ctx: &FedContext,
    pair_id: i64,
    releases: &[hearth_db::PairRelease],
    min: MinGroups,
) -> Result<Vec<Series>, FedError> {
    let releases: Vec<_> = releases.iter().filter_map(|r| r.to_release()).collect();
    let groups = ctx.db.pair_segment_groups(pair_id).await?;
    let series = hearth_core::pair::series(&releases, min);
    Ok(hearth_core::sector::suppress_differences(
        hearth_core::sector::distinct_segments(series, &groups),
        &groups,
        min,
    ))
}

/// The figures for `period` and the Note's words, or `None` when fewer than m groups reported.
/// Where a hub pair this hub leads released a figure, the summary carries the pair's (marked
/// `aggregation: "pair"`, far more exact) instead of the one from single reports; the two are never
/// added together.
pub async fn figures_for(
    ctx: &FedContext,
    period: ReportPeriod,
) -> Result<Option<(Vec<Figure>, String)>, FedError> {
    let settings = ctx.db.hub_settings().await?;
    let (hub, pairs) = sector_series(ctx, settings.min_groups).await?;
    // The first pair's figure for a segment and measure stands; the hub's own only where no
    // pair has one.
    let mut chosen: BTreeMap<(Segment, Measure), (Option<&str>, Point)> = BTreeMap::new();
    let sources = pairs
        .iter()
        .map(|(_, s)| (Some("pair"), s))
        .chain(std::iter::once((None, &hub)));
    for (source, series) in sources {
        for s in series {
            if let Some(p) = s.points.iter().find(|p| p.period == period) {
                chosen
                    .entry((s.segment.clone(), s.measure))
                    .or_insert((source, *p));
            }
        }
    }
    let mut figures = Vec::new();
    let mut network = Vec::new();
    for ((segment, measure), (source, p)) in &chosen {
        figures.push(Figure {
            segment: segment.key(),
            measure: measure.slug().to_owned(),
            share: published(p.share),
            interval_low: published(p.low),
            interval_high: published(p.high),
            groups: p.sums.groups,
            aggregation: source.map(str::to_owned),
        });
        if *segment == Segment::Network {
            network.push((*measure, *p));
        }
    }
    if network.is_empty() {
        return Ok(None);
    }
    let name = ctx
        .db
        .group_settings()
        .await?
        .map(|s| s.name)
        .unwrap_or_default();
    let groups = network
        .iter()
        .map(|(_, p)| p.sums.groups)
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    for m in Measure::all() {
        if let Some((_, p)) = network.iter().find(|(x, _)| *x == m) {
            lines.push(format!(
                "{}: {} (95% interval {} to {})",
                m.title(),
                pct(p.share),
                pct(p.low),
                pct(p.high)
            ));
        }
    }
    let segments = figures
        .iter()
        .map(|f| f.segment.as_str())
        .filter(|s| *s != "network")
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let parts = match segments {
        0 => "Figures for the whole network are attached".to_owned(),
        1 => "Figures for the whole network and 1 part of it are attached".to_owned(),
        n => format!("Figures for the whole network and {n} parts of it are attached"),
    };
    let content = format!(
        "<p>{}: how user-led groups were doing in {}, from {} groups’ anonymised reports.</p><p>{}.</p><p>{parts}; every figure has at least {} groups behind it and carries the privacy noise in its interval.</p>",
        escape(&name),
        escape(&period.human_label()),
        groups,
        escape(&lines.join("; ")),
        settings.min_groups.get()
    );
    Ok(Some((figures, content)))
}

/// What publishing a period did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// First published: a `Create` is queued for each follower's inbox.
    Created { inboxes: usize },
    /// Published before, and later reports (or erasures) changed it: an `Update` is queued.
    Updated { inboxes: usize },
    /// Published before, and nothing has changed since: nothing was sent.
    Unchanged,
}

/// Publishes the summary for `period` to every follower, or, when it went out before and its
/// figures have changed since, sends the same Note (same id, addressing and `published`) again
/// as an `Update`. An error when fewer than m groups reported for it.
pub async fn publish(ctx: &FedContext, period: ReportPeriod) -> Result<Published, FedError> {
    if ctx.role != InstanceRole::Hub {
        return Err(FedError::NotAllowed(
            "only a hub publishes summaries".into(),
        ));
    }
    let Some((figures, content)) = figures_for(ctx, period).await? else {
        return Err(FedError::NotAllowed(format!(
            "fewer groups than the minimum reported for {}",
            period.human_label()
        )));
    };
    let inboxes = ctx
        .db
        .follower_inboxes()
        .await?
        .iter()
        .map(|i| Url::parse(i).map_err(|e| FedError::Invalid(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let key = period.to_string();
    let before = ctx.db.published_summary(&key).await?;
    let kept = before
        .as_ref()
        .and_then(|b| b.note.as_deref())
        .and_then(|n| serde_json::from_str::<SectorSummary>(n).ok());
    if let Some(old) = &kept
        && old.sector_figures == figures
    {
        return Ok(Published::Unchanged);
    }
    let object_id = ctx.url(&format!("/summaries/{period}"));
    let note = match (&before, kept) {
        (Some(_), Some(old)) => SectorSummary {
            content,
            sector_figures: figures,
            updated: Some(ctx.now()),
            ..old
        },
        (b, _) => SectorSummary {
            updated: b.as_ref().map(|_| ctx.now()),
            ..new_note(
                ctx,
                object_id.clone(),
                &key,
                (figures, content),
                b.as_ref().map_or(ctx.now(), |b| b.published_at),
            )
            .await?
        },
    };
    let stored = serde_json::to_string(&note)?;
    if before.is_some() {
        let id = new_activity_id(ctx, "update");
        let update = UpdateSummary {
            id: id.clone(),
            kind: UpdateType::Update,
            actor: ctx.actor_url(),
            to: note.to.clone(),
            cc: note.cc.clone(),
            object: note,
        };
        let send = inboxes
            .iter()
            .map(|inbox| outbox_item(&update, &id, "Update", inbox))
            .collect::<Result<Vec<_>, _>>()?;
        if !ctx
            .db
            .update_summary(&key, &stored, &send, ctx.now())
            .await?
        {
            return Ok(Published::Unchanged);
        }
        ctx.wake_outbox();
        tracing::info!(%period, inboxes = send.len(), "sector summary updated");
        return Ok(Published::Updated {
            inboxes: send.len(),
        });
    }
    let send = inboxes
        .iter()
        .map(|inbox| create_item(ctx, &note, inbox))
        .collect::<Result<Vec<_>, _>>()?;
    if !ctx
        .db
        .publish_summary(&key, object_id.as_str(), &stored, &send, ctx.now())
        .await?
    {
        return Ok(Published::Unchanged);
    }
    ctx.wake_outbox();
    tracing::info!(%period, inboxes = send.len(), "sector summary published");
    Ok(Published::Created {
        inboxes: send.len(),
    })
}

/// Who a new summary is addressed to, by the hub's choice: the public and its followers, or its
/// followers only. Fixed in the Note when it is first published.
async fn addressing(ctx: &FedContext) -> Result<(Vec<Url>, Vec<Url>), FedError> {
    let followers = ctx.url("/followers");
    let public_url = Url::parse(PUBLIC).map_err(|e| FedError::Invalid(e.to_string()))?;
    Ok(if ctx.db.hub_settings().await?.public_summary {
        (vec![public_url], vec![followers])
    } else {
        (vec![followers], vec![])
    })
}

/// A `Create` of `note` for one inbox, as an outbox row.
fn create_item(
    ctx: &FedContext,
    note: &SectorSummary,
    inbox: &Url,
) -> Result<hearth_db::NewOutbox, FedError> {
    let id = new_activity_id(ctx, "create");
    let create = create_of(ctx, note, id.clone());
    outbox_item(&create, &id, "Create", inbox)
}

fn create_of(ctx: &FedContext, note: &SectorSummary, id: Url) -> CreateSummary {
    CreateSummary {
        id,
        kind: CreateType::Create,
        actor: ctx.actor_url(),
        to: note.to.clone(),
        cc: note.cc.clone(),
        object: note.clone(),
    }
}

/// The latest published summary as a `Create` for one new follower's inbox, so someone who
/// follows between periods has something to read. `None` before anything was published.
pub async fn latest_for(
    ctx: &FedContext,
    inbox: &Url,
) -> Result<Option<hearth_db::NewOutbox>, FedError> {
    let Some(latest) = ctx.db.published_summaries().await?.into_iter().next() else {
        return Ok(None);
    };
    let Some(note) = note_of(ctx, &latest).await? else {
        return Ok(None);
    };
    create_item(ctx, &note, inbox).map(Some)
}

/// A published summary's Note: as kept, or, for one published before Notes were kept, made
/// again from the reports held now.
async fn note_of(
    ctx: &FedContext,
    p: &hearth_db::PublishedSummary,
) -> Result<Option<SectorSummary>, FedError> {
    if let Some(n) = p.note.as_deref() {
        return Ok(Some(serde_json::from_str(n)?));
    }
    let Ok(period) = p.period.parse::<ReportPeriod>() else {
        return Ok(None);
    };
    let Some((figures, content)) = figures_for(ctx, period).await? else {
        return Ok(None);
    };
    let id = Url::parse(&p.object_id).map_err(|e| FedError::Invalid(e.to_string()))?;
    new_note(ctx, id, &p.period, (figures, content), p.published_at)
        .await
        .map(Some)
}

/// A Note for `period` as first published: addressed by the hub's choice now, its page at its
/// id, not yet updated.
async fn new_note(
    ctx: &FedContext,
    id: Url,
    period: &str,
    (figures, content): (Vec<Figure>, String),
    published: DateTime<Utc>,
) -> Result<SectorSummary, FedError> {
    let (to, cc) = addressing(ctx).await?;
    Ok(SectorSummary {
        kind: NoteType::Note,
        id: id.clone(),
        attributed_to: ctx.actor_url(),
        to,
        cc,
        content,
        published: Some(published),
        updated: None,
        url: Some(id),
        schema_version: SCHEMA_VERSION,
        period: period.to_owned(),
        sector_figures: figures,
    })
}

/// Days after a period ends before its summary goes out, so late reports are in it.
pub const GRACE_DAYS: u64 = 7;

/// When `period`'s summary is due (UTC, after the grace days).
pub fn due_at(period: ReportPeriod) -> DateTime<Utc> {
    closes_at(period)
        .checked_add_days(chrono::Days::new(GRACE_DAYS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// When `period` ends (UTC): no summary is published for it before.
pub fn closes_at(period: ReportPeriod) -> DateTime<Utc> {
    let after = match period {
        ReportPeriod::Week(w) => w.monday() + chrono::Days::new(7),
        ReportPeriod::Month { year, month } => {
            let next = if month == 12 {
                chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)
            } else {
                chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)
            };
            next.unwrap_or(chrono::NaiveDate::MAX)
        }
    };
    after
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Every period the hub holds figures for: its own reports' and the releases of pairs it
/// leads, oldest first.
async fn held_periods(ctx: &FedContext) -> Result<Vec<ReportPeriod>, FedError> {
    let mut periods: Vec<ReportPeriod> = ctx
        .db
        .sector_sums()
        .await?
        .keys()
        .filter(|(s, _, _)| *s == Segment::Network)
        .map(|(_, _, p)| *p)
        .collect();
    for pair in ctx.db.pairs().await? {
        if pair.role == hearth_core::pair::HubRole::Leader {
            for r in ctx.db.pair_releases(pair.id).await? {
                periods.extend(r.period.parse::<ReportPeriod>().ok());
            }
        }
    }
    periods.sort();
    periods.dedup();
    Ok(periods)
}

/// What staff's "publish now" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishNow {
    /// The newest period that has ended with at least m groups, and what publishing it did.
    Done {
        period: ReportPeriod,
        outcome: Published,
    },
    /// No period that has ended has figures from at least m groups; `open` is the newest
    /// period still in progress that holds reports, if any.
    Nothing { open: Option<ReportPeriod> },
}

/// Staff publish without waiting for the grace days: the newest period that has ended and
/// has at least m groups (a period in progress never, however many have reported), sent as
/// a `Create`, or as an `Update` if it went out before and later reports changed it.
pub async fn publish_now(ctx: &FedContext, now: DateTime<Utc>) -> Result<PublishNow, FedError> {
    let periods = held_periods(ctx).await?;
    let open = periods.iter().rev().find(|p| closes_at(**p) > now).copied();
    for p in periods.into_iter().rev().filter(|p| closes_at(*p) <= now) {
        match publish(ctx, p).await {
            Ok(outcome) => return Ok(PublishNow::Done { period: p, outcome }),
            Err(FedError::NotAllowed(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(PublishNow::Nothing { open })
}

/// Publishes the newest period that is due, has enough groups and has not gone out yet. Only
/// the newest: a hub that starts with old reports does not flood its followers.
pub async fn publish_due(ctx: &FedContext, now: DateTime<Utc>) -> Result<Option<String>, FedError> {
    if ctx.role != InstanceRole::Hub {
        return Ok(None);
    }
    let periods = held_periods(ctx).await?;
    let published = ctx.db.published_periods().await?;
    for p in periods.into_iter().rev() {
        if due_at(p) > now {
            continue;
        }
        if published.contains(&p.to_string()) {
            return Ok(None);
        }
        return match publish(ctx, p).await {
            Ok(Published::Created { .. }) => Ok(Some(p.to_string())),
            Ok(_) | Err(FedError::NotAllowed(_)) => Ok(None),
            Err(e) => Err(e),
        };
    }
    Ok(None)
}

#[async_trait::async_trait]
impl Activity for CreateSummary {
    type DataType = FedContext;
    type Error = FedError;
    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        &self.actor
    }
    async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
        if data.role != InstanceRole::Group {
            return Err(FedError::NotAllowed(
                "sector summaries are taken by group instances".into(),
            ));
        }
        match data.db.membership_by_actor(self.actor.as_str()).await? {
            Some(m) if m.state == MembershipState::Accepted => {}
            _ => {
                return Err(FedError::NotAllowed(
                    "summaries are taken only from hubs this group belongs to".into(),
                ));
            }
        }
        self.object.check(&self.actor)
    }
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        let hub = data
            .db
            .membership_by_actor(self.actor.as_str())
            .await?
            .map(|m| m.peer.name)
            .unwrap_or_default();
        let figures = serde_json::to_string(&self.object.sector_figures)?;
        data.db
            .save_sector_summary(
                self.actor.as_str(),
                &hub,
                &self.object.period,
                &figures,
                data.now(),
            )
            .await?;
        tracing::info!(hub = %self.actor, period = %self.object.period, "sector summary received");
        Ok(())
    }
}

/// Whether the request is signed by someone who follows this hub (an accepted member group or
/// a reader), with the key Hearth holds for them.
async fn signed_by_follower(
    ctx: &FedContext,
    path_and_query: &str,
    headers: &axum::http::HeaderMap,
) -> Result<bool, FedError> {
    let Some(signer) = crate::signing::key_owner(headers) else {
        return Ok(false);
    };
    let Some(peer) = ctx.db.peer_by_url(&signer).await? else {
        return Ok(false);
    };
    let member = ctx
        .db
        .membership_by_actor(&signer)
        .await?
        .is_some_and(|m| m.state == MembershipState::Accepted);
    if !member && !ctx.db.is_reader(&signer).await? {
        return Ok(false);
    }
    Ok(crate::signing::verify_request(
        "GET",
        path_and_query,
        headers,
        &signer,
        &peer.public_key_pem,
    )
    .is_ok())
}

/// Who is asking for the hub's summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// A follower, by a signed fetch (or the hub's own staff on its pages): every summary.
    Follower,
    /// Anyone else: only summaries addressed to the public, while the hub publishes publicly.
    Anyone { hub_public: bool },
}

impl Reader {
    /// Whether this reader may see `note`: its addressing, fixed when it was published, and
    /// the hub's choice now (a hub that stops publishing publicly serves its followers alone).
    pub fn may_see(self, note: &SectorSummary) -> bool {
        match self {
            Reader::Follower => true,
            Reader::Anyone { hub_public } => {
                hub_public && note.to.iter().chain(&note.cc).any(|u| u.as_str() == PUBLIC)
            }
        }
    }
}

/// Who this request is, for reading summaries.
pub async fn reader(
    ctx: &FedContext,
    path_and_query: &str,
    headers: &axum::http::HeaderMap,
) -> Result<Reader, FedError> {
    Ok(if signed_by_follower(ctx, path_and_query, headers).await? {
        Reader::Follower
    } else {
        Reader::Anyone {
            hub_public: ctx.db.hub_settings().await?.public_summary,
        }
    })
}

/// A published summary's Note, exactly as followers were last sent it, or `None` when the
/// period was not published.
pub async fn published_note(
    ctx: &FedContext,
    period: &str,
) -> Result<Option<SectorSummary>, FedError> {
    match ctx.db.published_summary(period).await? {
        Some(p) => note_of(ctx, &p).await,
        None => Ok(None),
    }
}

/// `GET /summaries/{period}` as ActivityPub JSON: the Note as published, for a [`Reader`] who
/// may see it; otherwise `None` (a 404, which says nothing of whether it exists).
pub async fn fetch(
    ctx: &FedContext,
    period: &str,
    path_and_query: &str,
    headers: &axum::http::HeaderMap,
) -> Result<Option<serde_json::Value>, FedError> {
    if ctx.role != InstanceRole::Hub {
        return Ok(None);
    }
    let who = reader(ctx, path_and_query, headers).await?;
    match published_note(ctx, period).await? {
        Some(note) if who.may_see(&note) => Ok(Some(crate::vocab::with_context(&note)?)),
        _ => Ok(None),
    }
}

/// Summaries per outbox page.
pub const OUTBOX_PAGE: usize = 20;

/// `GET /outbox` (and `?page=N`, from 1): a hub's published summaries as `Create`s, newest
/// first, those this [`Reader`] may see; on a group instance, an empty collection.
pub async fn outbox(
    ctx: &FedContext,
    page: Option<usize>,
    path_and_query: &str,
    headers: &axum::http::HeaderMap,
) -> Result<serde_json::Value, FedError> {
    let id = ctx.url("/outbox");
    let mut published = Vec::new();
    if ctx.role == InstanceRole::Hub {
        let who = reader(ctx, path_and_query, headers).await?;
        for p in ctx.db.published_summaries().await? {
            if let Some(note) = note_of(ctx, &p).await?
                && who.may_see(&note)
            {
                published.push(note);
            }
        }
    }
    let total = published.len();
    let Some(page) = page else {
        let mut collection = serde_json::json!({
            "@context": crate::vocab::ACTIVITYSTREAMS,
            "id": id,
            "type": "OrderedCollection",
            "totalItems": total,
        });
        if total > 0 {
            collection["first"] = format!("{id}?page=1").into();
            collection["last"] = format!("{id}?page={}", total.div_ceil(OUTBOX_PAGE)).into();
        } else {
            collection["orderedItems"] = serde_json::json!([]);
        }
        return Ok(collection);
    };
    let page = page.max(1);
    let mut items = Vec::new();
    for note in published
        .iter()
        .skip((page - 1) * OUTBOX_PAGE)
        .take(OUTBOX_PAGE)
    {
        // The Create's id is the Note's with a fragment: the outbox lists one Create per
        // summary, whatever each follower's delivery was called.
        let create_id = Url::parse(&format!("{}#create", note.id))
            .map_err(|e| FedError::Invalid(e.to_string()))?;
        items.push(serde_json::to_value(create_of(ctx, note, create_id))?);
    }
    let mut body = serde_json::json!({
        "id": format!("{id}?page={page}"),
        "type": "OrderedCollectionPage",
        "partOf": id,
        "orderedItems": items,
    });
    if page * OUTBOX_PAGE < total {
        body["next"] = format!("{id}?page={}", page + 1).into();
    }
    if page > 1 {
        body["prev"] = format!("{id}?page={}", page - 1).into();
    }
    Ok(crate::vocab::with_context(&body)?)
}

#[async_trait::async_trait]
impl Activity for UpdateSummary {
    type DataType = FedContext;
    type Error = FedError;
    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        &self.actor
    }
    async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
        let create = create_of_update(self);
        create.verify(data).await
    }
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        // Stored as a Create is: the period's figures are replaced.
        create_of_update(&self).receive(data).await
    }
}

fn create_of_update(u: &UpdateSummary) -> CreateSummary {
    CreateSummary {
        id: u.id.clone(),
        kind: CreateType::Create,
        actor: u.actor.clone(),
        to: u.to.clone(),
        cc: u.cc.clone(),
        object: u.object.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(to: &str) -> SectorSummary {
        let url = |s: &str| Url::parse(s).expect("a URL");
        SectorSummary {
            kind: NoteType::Note,
            id: url("https://hub.example/summaries/2026-11"),
            attributed_to: url("https://hub.example/actor"),
            to: vec![url(to)],
            cc: Vec::new(),
            content: String::new(),
            published: None,
            updated: None,
            url: None,
            schema_version: SCHEMA_VERSION,
            period: "2026-11".into(),
            sector_figures: Vec::new(),
        }
    }

    #[test]
    fn a_summary_is_public_only_if_published_to_the_public_and_the_hub_still_publishes() {
        let public = note(PUBLIC);
        let followers_only = note("https://hub.example/followers");
        for n in [&public, &followers_only] {
            assert!(Reader::Follower.may_see(n));
        }
        assert!(Reader::Anyone { hub_public: true }.may_see(&public));
        // Made public later, a Note sent to followers alone stays theirs.
        assert!(!Reader::Anyone { hub_public: true }.may_see(&followers_only));
        // A hub that stops publishing publicly serves its followers alone.
        assert!(!Reader::Anyone { hub_public: false }.may_see(&public));
    }
}
