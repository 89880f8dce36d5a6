//! Sector summaries: after each period a hub publishes its figures for that period to everyone
//! following it (member groups and readers) as a `Create` of a `Note`: plain words any
//! fediverse account can read, with the figures attached in Hearth's vocabulary
//! (`sectorFigures`), which group instances store to show their own figures beside the sector.
//! Only figures with at least m groups behind them are in a summary.

use std::collections::BTreeMap;

use activitypub_federation::config::Data;
use activitypub_federation::kinds::activity::CreateType;
use activitypub_federation::kinds::object::NoteType;
use activitypub_federation::traits::Activity;
use chrono::{DateTime, Utc};
use hearth_core::InstanceRole;
use hearth_core::report::{ReportPeriod, SCHEMA_VERSION};
use hearth_core::sector::{Measure, MinGroups, Point, Segment, Series, published};
use hearth_db::{HubPair, MembershipState};
use url::Url;

use crate::protocol::summary::{CreateSummary, Figure, PUBLIC, SectorSummary};
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
    let content = format!(
        "<p>{}: how user-led groups were doing in {}, from {} groups’ anonymised reports.</p><p>{}.</p><p>Figures for {} parts of the network are attached; every figure has at least {} groups behind it and carries the privacy noise in its interval.</p>",
        escape(&name),
        escape(&period.human_label()),
        groups,
        escape(&lines.join("; ")),
        segments,
        settings.min_groups.get()
    );
    Ok(Some((figures, content)))
}

/// Publishes the summary for `period` to every follower. `Ok(false)` when it was already
/// published; an error when fewer than m groups reported for it.
pub async fn publish(ctx: &FedContext, period: ReportPeriod) -> Result<bool, FedError> {
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
    let public = ctx.db.hub_settings().await?.public_summary;
    let followers = ctx.url("/followers");
    let public_url = Url::parse(PUBLIC).map_err(|e| FedError::Invalid(e.to_string()))?;
    let (to, cc) = if public {
        (vec![public_url], vec![followers])
    } else {
        (vec![followers], vec![])
    };
    let object_id = ctx.url(&format!("/summaries/{period}"));
    let id = new_activity_id(ctx, "create");
    let create = CreateSummary {
        id: id.clone(),
        kind: CreateType::Create,
        actor: ctx.actor_url(),
        to: to.clone(),
        cc: cc.clone(),
        object: SectorSummary {
            kind: NoteType::Note,
            id: object_id.clone(),
            attributed_to: ctx.actor_url(),
            to,
            cc,
            content,
            schema_version: SCHEMA_VERSION,
            period: period.to_string(),
            sector_figures: figures,
        },
    };
    let mut send = Vec::new();
    for inbox in ctx.db.follower_inboxes().await? {
        let inbox = Url::parse(&inbox).map_err(|e| FedError::Invalid(e.to_string()))?;
        send.push(outbox_item(&create, &id, "Create", &inbox)?);
    }
    let done = ctx
        .db
        .publish_summary(&period.to_string(), object_id.as_str(), &send, ctx.now())
        .await?;
    if done {
        ctx.wake_outbox();
        tracing::info!(%period, followers = send.len(), "sector summary published");
    }
    Ok(done)
}

/// Days after a period ends before its summary goes out, so late reports are in it.
pub const GRACE_DAYS: u64 = 7;

/// When `period`'s summary is due (UTC, after the grace days).
pub fn due_at(period: ReportPeriod) -> DateTime<Utc> {
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
    (after + chrono::Days::new(GRACE_DAYS))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Publishes the newest period that is due, has enough groups and has not gone out yet. Only
/// the newest: a hub that starts with old reports does not flood its followers.
pub async fn publish_due(ctx: &FedContext, now: DateTime<Utc>) -> Result<Option<String>, FedError> {
    if ctx.role != InstanceRole::Hub {
        return Ok(None);
    }
    let sums = ctx.db.sector_sums().await?;
    let mut periods: Vec<ReportPeriod> = sums
        .keys()
        .filter(|(s, _, _)| *s == Segment::Network)
        .map(|(_, _, p)| *p)
        .collect();
    periods.sort();
    periods.dedup();
    let published = ctx.db.published_periods().await?;
    for p in periods.into_iter().rev() {
        if due_at(p) > now {
            continue;
        }
        if published.contains(&p.to_string()) {
            return Ok(None);
        }
        return match publish(ctx, p).await {
            Ok(true) => Ok(Some(p.to_string())),
            Ok(false) | Err(FedError::NotAllowed(_)) => Ok(None),
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

/// `GET /summaries/{period}`: a published summary, recomputed from the reports held now (so an
/// erasure shows), when the hub publishes publicly; otherwise 404.
pub async fn fetch(ctx: &FedContext, period: &str) -> Result<Option<serde_json::Value>, FedError> {
    if !ctx.db.hub_settings().await?.public_summary
        || !ctx
            .db
            .published_periods()
            .await?
            .iter()
            .any(|p| p == period)
    {
        return Ok(None);
    }
    let Ok(p) = period.parse::<ReportPeriod>() else {
        return Ok(None);
    };
    let Some((figures, content)) = figures_for(ctx, p).await? else {
        return Ok(None);
    };
    let public_url = Url::parse(PUBLIC).map_err(|e| FedError::Invalid(e.to_string()))?;
    let note = SectorSummary {
        kind: NoteType::Note,
        id: ctx.url(&format!("/summaries/{p}")),
        attributed_to: ctx.actor_url(),
        to: vec![public_url],
        cc: vec![ctx.url("/followers")],
        content,
        schema_version: SCHEMA_VERSION,
        period: p.to_string(),
        sector_figures: figures,
    };
    Ok(Some(crate::vocab::with_context(&note)?))
}
