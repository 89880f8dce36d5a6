//! A hub's view of the sector: pooled shares with intervals for the network and each segment
//! with enough groups, plain-language readings, noise-aware alerts staff can acknowledge,
//! exports, and the optional public summary. Figures come from one of several sources, never
//! added together: this hub's own reports (each group added its own noise) and each hub pair
//! it leads (noise added once, to each released sum).

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::alerts::{Test, detect};
use hearth_core::report::ReportPeriod;
use hearth_core::sector::{Measure, MinGroups, Segment, Series, published, reading};
use hearth_db::HubSettings;
use serde::Deserialize;

use super::{Nav, human_date, render};
use crate::auth::{CurrentUser, Facilitator, signed_in};
use crate::charts::{Chart, YAxis, interval_chart};
use crate::{AppError, AppState, csrf, csv_out};

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

pub struct Row {
    pub period: String,
    pub share: String,
    pub low: String,
    pub high: String,
    pub groups: u32,
}

pub struct MeasureView {
    pub title: &'static str,
    pub chart: Chart,
    pub rows: Vec<Row>,
}

pub struct SegmentLink {
    pub key: String,
    pub label: String,
    pub current: bool,
}

/// A source of figures, as the page offers it.
pub struct SourceLink {
    pub key: String,
    pub label: String,
    pub current: bool,
}

pub struct AlertView {
    /// What the acknowledgement names: the segment's key, after the source's for a pair.
    pub segment_key: String,
    pub source: String,
    pub segment: String,
    pub measure_slug: &'static str,
    pub measure: &'static str,
    pub period_label: String,
    pub period: String,
    pub method: &'static str,
    pub latest: String,
    pub baseline: String,
    pub spread: String,
    pub statistic: String,
    pub threshold: String,
    pub p_value: String,
    pub cusum: Option<String>,
    pub history: String,
    pub acknowledged: Option<String>,
}

#[derive(Template)]
#[template(path = "sector.html")]
pub struct SectorPage {
    pub nav: Nav,
    pub csrf: String,
    /// The public summary: no alerts, no settings, no links for staff.
    pub public: bool,
    pub can_manage: bool,
    pub hub_name: String,
    pub groups_reporting: usize,
    pub min_groups: u32,
    pub public_summary: bool,
    pub segment_label: String,
    pub segments: Vec<SegmentLink>,
    pub source_key: String,
    pub source_about: String,
    pub sources: Vec<SourceLink>,
    pub readings: Vec<String>,
    pub measures: Vec<MeasureView>,
    pub alerts: Vec<AlertView>,
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "sector_alerts.html")]
pub struct AlertsPage {
    pub nav: Nav,
    pub csrf: String,
    pub can_manage: bool,
    pub alerts: Vec<AlertView>,
    pub quiet: usize,
}

#[derive(Deserialize, Default)]
pub struct SectorQuery {
    #[serde(default)]
    pub segment: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub done: Option<String>,
    /// After "publish now": the period it concerned, and how many inboxes it went to.
    #[serde(default)]
    pub period: Option<String>,
    #[serde(default)]
    pub sent: Option<usize>,
}

/// One source's figures: this hub's reports (`hub`) or one pair's releases (`pair-{id}`).
pub struct Source {
    pub key: String,
    pub label: String,
    /// What the figures are, in a sentence.
    pub about: String,
    pub series: Vec<Series>,
    pub tests: Vec<Test>,
}

const HUB: &str = "hub";

/// Everything the pages need, computed from the rollups and the pairs' releases.
struct Picture {
    settings: HubSettings,
    groups: usize,
    /// This hub's reports first, then each pair it leads that released anything.
    sources: Vec<Source>,
}

impl Picture {
    /// The source `key` names, or by default the first pair with figures (they are the more
    /// exact), else this hub's reports.
    fn source(&self, key: Option<&str>) -> Option<&Source> {
        match key {
            Some(k) => self.sources.iter().find(|s| s.key == k),
            None => self
                .sources
                .iter()
                .find(|s| s.key != HUB && !s.series.is_empty())
                .or(self.sources.first()),
        }
    }
}

/// Every source of figures this hub has, with its series (m applied) and alert tests.
pub async fn sources(state: &AppState, min: MinGroups) -> Result<Vec<Source>, AppError> {
    let (hub, pairs) = hearth_federation::summaries::sector_series(&state.fed(), min).await?;
    let mut out = vec![Source {
        key: HUB.to_owned(),
        label: "This hub’s reports".to_owned(),
        about: "Every group adds random noise to its counts before they leave it, so each figure carries a 95% interval (the shaded band) that includes that noise as well as the chance variation of who answered.".to_owned(),
        tests: detect(&hub),
        series: hub,
    }];
    for (pair, series) in pairs {
        let helper = hearth_federation::actor::host_of(&pair.other.actor_url);
        out.push(Source {
            key: format!("pair-{}", pair.id),
            label: format!("The hub pair with {helper}"),
            about: format!("Groups sent their exact counts as two shares, one to this hub and one to {helper}; neither hub could read them alone. The hubs added the shares up and each added its own noise once, to each sum (σ = {} each), so each figure’s 95% interval (the shaded band) is far narrower than from single reports. These figures are never added to this hub’s own reports.", pair.plan.sigma),
            tests: detect(&series),
            series,
        });
    }
    Ok(out)
}

/// The last picture computed, with the rollup version and settings it was computed for: the
/// sector pages read one version number per request until a report changes the rollups. One
/// per state, kept in its extensions.
#[derive(Default)]
struct Cache(std::sync::Mutex<Option<(i64, HubSettings, std::sync::Arc<Picture>)>>);

async fn picture(state: &AppState) -> Result<std::sync::Arc<Picture>, AppError> {
    let cache = state.extension::<Cache>();
    let settings = state.db.hub_settings().await?;
    let version = state.db.sector_version().await?;
    if let Ok(cached) = cache.0.lock()
        && let Some((v, s, p)) = cached.as_ref()
        && *v == version
        && *s == settings
    {
        return Ok(p.clone());
    }
    let groups = usize::try_from(state.db.reporting_groups().await?).unwrap_or(0);
    let p = std::sync::Arc::new(Picture {
        settings,
        groups,
        sources: sources(state, settings.min_groups).await?,
    });
    if let Ok(mut cached) = cache.0.lock() {
        *cached = Some((version, settings, p.clone()));
    }
    Ok(p)
}

fn measure_views(series: &[Series], segment: &Segment) -> Vec<MeasureView> {
    let mine: Vec<&Series> = series.iter().filter(|s| &s.segment == segment).collect();
    // One time axis for every chart of the segment.
    let mut periods: Vec<ReportPeriod> = mine
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.period))
        .collect();
    periods.sort();
    periods.dedup();
    let labels: Vec<String> = periods.iter().map(ToString::to_string).collect();
    Measure::all()
        .filter_map(|m| {
            let s = mine.iter().find(|s| s.measure == m)?;
            let values: Vec<Option<(f64, f64, f64)>> = periods
                .iter()
                .map(|p| {
                    s.points
                        .iter()
                        .find(|x| x.period == *p)
                        .map(|x| (x.share * 100.0, x.low * 100.0, x.high * 100.0))
                })
                .collect();
            let last = s.points.last()?;
            let chart = interval_chart(
                &format!("chart-{}", m.slug()),
                format!("{} ({}), %", m.title(), segment.describe()),
                format!(
                    "{} over {} periods; the newest, {}, is {} (95% interval {} to {}). The table below has every value.",
                    capitalised(m.label()),
                    s.points.len(),
                    last.period.human_label(),
                    pct(last.share),
                    pct(last.low),
                    pct(last.high)
                ),
                &labels,
                m.title().to_owned(),
                &values,
                YAxis {
                    min: 0.0,
                    max: 100.0,
                    ticks: &[0.0, 25.0, 50.0, 75.0, 100.0],
                },
            );
            // Newest first in the table.
            let rows = s
                .points
                .iter()
                .rev()
                .map(|p| Row {
                    period: p.period.human_label(),
                    share: pct(p.share),
                    low: pct(p.low),
                    high: pct(p.high),
                    groups: p.sums.groups,
                })
                .collect();
            Some(MeasureView {
                title: m.title(),
                chart,
                rows,
            })
        })
        .collect()
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The segment an acknowledgement names: a pair's alerts are apart from the hub's own.
fn ack_segment(source: &Source, segment: &Segment) -> String {
    if source.key == HUB {
        segment.key()
    } else {
        format!("{}/{}", source.key, segment.key())
    }
}

fn alert_view(t: &Test, source: &Source, acks: &AckMap, tz: hearth_core::Tz) -> AlertView {
    let series = &source.series;
    let ack_key = ack_segment(source, &t.segment);
    let history = series
        .iter()
        .find(|s| s.segment == t.segment && s.measure == t.measure)
        .map(|s| {
            s.points
                .iter()
                .map(|p| format!("{} {}", p.period, pct(p.share)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    AlertView {
        source: source.label.clone(),
        segment: t.segment.describe(),
        measure_slug: t.measure.slug(),
        measure: t.measure.title(),
        period_label: t.period.human_label(),
        period: t.period.to_string(),
        method: t.method.label(),
        latest: pct(t.latest),
        baseline: pct(t.baseline_mean),
        spread: format!("{:.1} points", t.baseline_sd * 100.0),
        statistic: format!("{:.2}", t.statistic),
        threshold: format!("{:.2}", t.threshold),
        p_value: format!("{:.4}", t.p_value),
        cusum: t.cusum.map(|c| {
            format!(
                "{c:.2} (decision interval {})",
                hearth_core::alerts::CUSUM_H
            )
        }),
        history,
        acknowledged: acks
            .get(&(
                ack_key.clone(),
                t.measure.slug().to_owned(),
                t.period.to_string(),
            ))
            .map(|a| human_date(a.at, tz)),
        segment_key: ack_key,
    }
}

type AckMap = std::collections::HashMap<(String, String, String), hearth_db::AlertAck>;

async fn sector_page(
    state: &AppState,
    user: Option<&CurrentUser>,
    q: &SectorQuery,
) -> Result<SectorPage, AppError> {
    let settings = state.settings().await?;
    let p = picture(state).await?;
    let source = p.source(q.source.as_deref()).ok_or(AppError::NotFound)?;
    let shown = hearth_core::sector::shown_segments(&source.series);
    let segment = match q.segment.as_deref() {
        None => Segment::Network,
        Some(k) => Segment::parse(k)
            .filter(|s| shown.contains(s))
            .ok_or(AppError::NotFound)?,
    };
    let acks = state.db.alert_acks().await?;
    let public = user.is_none();
    let (nav, csrf, can_manage) = match user {
        Some(u) => (
            Nav::for_user(state, u).await?,
            csrf::token(&u.session).await?,
            u.account.role == hearth_core::Role::Facilitator,
        ),
        None => (Nav::for_account(state, None).await?, String::new(), false),
    };
    let readings = source
        .series
        .iter()
        .filter(|s| s.segment == segment)
        .filter_map(reading)
        .collect();
    Ok(SectorPage {
        nav,
        csrf,
        public,
        can_manage,
        hub_name: settings.name,
        groups_reporting: p.groups,
        min_groups: p.settings.min_groups.get(),
        public_summary: p.settings.public_summary,
        segment_label: capitalised(&segment.describe()),
        segments: shown
            .iter()
            .map(|s| SegmentLink {
                key: s.key(),
                label: capitalised(&s.describe()),
                current: *s == segment,
            })
            .collect(),
        source_key: source.key.clone(),
        source_about: source.about.clone(),
        // Offered only when there is more than one to choose from.
        sources: if p.sources.len() > 1 {
            p.sources
                .iter()
                .map(|s| SourceLink {
                    key: s.key.clone(),
                    label: s.label.clone(),
                    current: s.key == source.key,
                })
                .collect()
        } else {
            Vec::new()
        },
        readings,
        measures: measure_views(&source.series, &segment),
        alerts: if public {
            Vec::new()
        } else {
            source
                .tests
                .iter()
                .filter(|t| t.alert)
                .map(|t| alert_view(t, source, &acks, settings.timezone))
                .collect()
        },
        notice: notice(q, p.settings.min_groups),
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<SectorQuery>,
) -> Result<Response, AppError> {
    render(&sector_page(&state, Some(&user), &q).await?)
}

/// The public summary for funders and policy: off unless staff turned it on.
pub async fn public(
    State(state): State<AppState>,
    Query(q): Query<SectorQuery>,
) -> Result<Response, AppError> {
    if !state.db.hub_settings().await?.public_summary {
        return Err(AppError::NotFound);
    }
    let q = SectorQuery { done: None, ..q };
    render(&sector_page(&state, None, &q).await?)
}

pub async fn alerts(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let tz = state.settings().await?.timezone;
    let p = picture(&state).await?;
    let acks = state.db.alert_acks().await?;
    render(&AlertsPage {
        nav: Nav::for_user(&state, &user).await?,
        csrf: csrf::token(&user.session).await?,
        can_manage: user.account.role == hearth_core::Role::Facilitator,
        alerts: p
            .sources
            .iter()
            .flat_map(|src| {
                src.tests
                    .iter()
                    .filter(|t| t.alert)
                    .map(|t| alert_view(t, src, &acks, tz))
            })
            .collect(),
        quiet: p
            .sources
            .iter()
            .flat_map(|src| src.tests.iter())
            .filter(|t| !t.alert)
            .count(),
    })
}

#[derive(Deserialize)]
pub struct AckForm {
    #[serde(default)]
    pub segment: String,
    #[serde(default)]
    pub measure: String,
    #[serde(default)]
    pub period: String,
}

pub async fn acknowledge(
    State(state): State<AppState>,
    f: Facilitator,
    Form(form): Form<AckForm>,
) -> Result<Response, AppError> {
    // A pair's alert names its source before the segment: `pair-3/network`.
    let (source_key, segment_key) = match form.segment.split_once('/') {
        Some((src, seg)) if src != HUB => (src, seg),
        _ => (HUB, form.segment.as_str()),
    };
    let segment = Segment::parse(segment_key)
        .ok_or_else(|| AppError::BadRequest("unknown segment".into()))?;
    let measure = Measure::parse(&form.measure)
        .ok_or_else(|| AppError::BadRequest("unknown measure".into()))?;
    let period: ReportPeriod = form
        .period
        .parse()
        .map_err(|_| AppError::BadRequest("unknown period".into()))?;
    // Only alerts that exist now can be acknowledged.
    let p = picture(&state).await?;
    let source = p.source(Some(source_key)).ok_or(AppError::NotFound)?;
    if !source
        .tests
        .iter()
        .any(|t| t.alert && t.segment == segment && t.measure == measure && t.period == period)
    {
        return Err(AppError::NotFound);
    }
    state
        .db
        .ack_alert(
            &ack_segment(source, &segment),
            measure.slug(),
            &period.to_string(),
            f.0.account.id,
            state.clock.now(),
        )
        .await?;
    tracing::info!(by = f.0.account.id, segment = %segment.key(), measure = measure.slug(), %period, "alert acknowledged");
    Ok(Redirect::to("/sector/alerts").into_response())
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub min_groups: String,
    #[serde(default)]
    pub public_summary: String,
}

pub async fn save_settings(
    State(state): State<AppState>,
    f: Facilitator,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    let min_groups = form
        .min_groups
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|m| MinGroups::new(m).ok())
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "The fewest groups must be a whole number from {} to 1000.",
                hearth_core::sector::MIN_GROUPS
            ))
        })?;
    let s = HubSettings {
        min_groups,
        public_summary: form.public_summary == "yes",
    };
    state.db.set_hub_settings(&s).await?;
    tracing::info!(
        by = f.0.account.id,
        min_groups = s.min_groups.get(),
        public = s.public_summary,
        "sector settings changed"
    );
    Ok(Redirect::to("/sector?done=settings").into_response())
}

/// One row per shown point of every series.
struct ExportRow {
    source: String,
    segment: String,
    segment_label: String,
    measure: &'static str,
    period: String,
    share: f64,
    low: f64,
    high: f64,
    groups: u32,
}

fn export_rows(sources: &[Source]) -> Vec<ExportRow> {
    sources
        .iter()
        .flat_map(|src| src.series.iter().map(move |s| (src, s)))
        .flat_map(|(src, s)| {
            s.points.iter().map(|p| ExportRow {
                source: src.key.clone(),
                segment: s.segment.key(),
                segment_label: s.segment.describe(),
                measure: s.measure.slug(),
                period: p.period.to_string(),
                share: p.share,
                low: p.low,
                high: p.high,
                groups: p.sums.groups,
            })
        })
        .collect()
}

/// Exports are for signed-in hub accounts, or for anyone when the public summary is on.
async fn may_export(state: &AppState, session: &tower_sessions::Session) -> Result<(), AppError> {
    if signed_in(state, session).await?.is_some() || state.db.hub_settings().await?.public_summary {
        Ok(())
    } else {
        Err(AppError::LoginRequired)
    }
}

/// Every shown point of every series as CSV (also written by `hearth demo`).
pub async fn sector_csv(state: &AppState) -> Result<String, AppError> {
    let p = picture(state).await?;
    let mut w = csv_out::Writer::new(&[
        "segment",
        "segment_label",
        "measure",
        "period",
        "share",
        "interval_low",
        "interval_high",
        "groups",
        "source",
    ]);
    for r in export_rows(&p.sources) {
        w.row(&[
            r.segment,
            r.segment_label,
            r.measure.to_owned(),
            r.period,
            format!("{:.2}", r.share),
            format!("{:.2}", r.low),
            format!("{:.2}", r.high),
            r.groups.to_string(),
            r.source,
        ]);
    }
    Ok(w.finish())
}

pub async fn export_csv(
    State(state): State<AppState>,
    session: tower_sessions::Session,
) -> Result<Response, AppError> {
    may_export(&state, &session).await?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"sector.csv\"",
            ),
        ],
        sector_csv(&state).await?,
    )
        .into_response())
}

pub async fn export_json(
    State(state): State<AppState>,
    session: tower_sessions::Session,
) -> Result<Response, AppError> {
    may_export(&state, &session).await?;
    let p = picture(&state).await?;
    let series: Vec<serde_json::Value> = p
        .sources
        .iter()
        .flat_map(|src| src.series.iter().map(move |s| (src, s)))
        .map(|(src, s)| {
            serde_json::json!({
                "source": src.key,
                "segment": s.segment.key(),
                "segmentLabel": s.segment.describe(),
                "measure": s.measure.slug(),
                "points": s.points.iter().map(|x| serde_json::json!({
                    "period": x.period.to_string(),
                    "share": published(x.share),
                    "intervalLow": published(x.low),
                    "intervalHigh": published(x.high),
                    "groups": x.sums.groups,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let body = serde_json::json!({
        "minGroups": p.settings.min_groups.get(),
        "interval": "95% (privacy noise and sampling)",
        "precision": "shares and interval ends rounded to whole percentage points (0.01)",
        "sources": p.sources.iter().map(|s| serde_json::json!({
            "key": s.key,
            "label": s.label,
            "about": s.about,
        })).collect::<Vec<_>>(),
        "series": series,
    });
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

/// What the page says after saving settings or "publish now": exactly what was queued, or why
/// nothing was.
fn notice(q: &SectorQuery, m: MinGroups) -> Option<String> {
    let label = || {
        q.period
            .as_deref()
            .and_then(|p| p.parse::<ReportPeriod>().ok())
            .map(|p| p.human_label())
    };
    let to = |n: usize| match n {
        1 => "1 follower’s server".to_owned(),
        n => format!("{n} followers’ servers"),
    };
    Some(match (q.done.as_deref(), q.sent) {
        (Some("settings"), _) => "The sector settings are saved.".into(),
        (Some("published"), Some(0)) => format!(
            "The summary for {} is published. No one follows the hub yet, so nothing was sent.",
            label()?
        ),
        (Some("published"), Some(n)) => format!(
            "The summary for {} is published and on its way to {}.",
            label()?,
            to(n)
        ),
        (Some("updated"), Some(n)) => format!(
            "The summary for {} went out before; reports since have changed it, so an update is on its way to {}.",
            label()?,
            to(n)
        ),
        (Some("unchanged"), _) => format!(
            "The summary for {} is already out and nothing has changed since: nothing was sent.",
            label()?
        ),
        (Some("nothing"), _) => match label() {
            Some(open) => format!(
                "Nothing was sent: no period that has ended has reports from at least {} groups. Reports for {open} wait until it ends.",
                m.get()
            ),
            None => format!(
                "Nothing was sent: no period that has ended has reports from at least {} groups yet.",
                m.get()
            ),
        },
        _ => return None,
    })
}

/// Staff publish the newest period that has ended now, instead of waiting for the grace days
/// (or send an update of one already out).
pub async fn publish(State(state): State<AppState>, f: Facilitator) -> Result<Response, AppError> {
    use hearth_federation::summaries::{PublishNow, Published, publish_now};
    let to = match publish_now(&state.fed(), state.clock.now()).await? {
        PublishNow::Done { period, outcome } => {
            tracing::info!(by = f.0.account.id, %period, ?outcome, "summary published by staff");
            match outcome {
                Published::Created { inboxes } => {
                    format!("/sector?done=published&period={period}&sent={inboxes}")
                }
                Published::Updated { inboxes } => {
                    format!("/sector?done=updated&period={period}&sent={inboxes}")
                }
                Published::Unchanged => format!("/sector?done=unchanged&period={period}"),
            }
        }
        PublishNow::Nothing { open: Some(p) } => format!("/sector?done=nothing&period={p}"),
        PublishNow::Nothing { open: None } => "/sector?done=nothing".into(),
    };
    Ok(Redirect::to(&to).into_response())
}

#[derive(Template)]
#[template(path = "summary.html")]
pub struct SummaryPage {
    pub nav: Nav,
    pub hub_name: String,
    pub period_label: String,
    pub published: String,
    pub updated: Option<String>,
    pub content: String,
    pub figures: Vec<SummaryFigure>,
}

pub struct SummaryFigure {
    pub segment: String,
    pub measure: &'static str,
    pub share: String,
    pub interval: String,
    pub groups: u32,
    pub pair: bool,
}

/// `GET /summaries/{period}`: a published summary, as it was sent. ActivityPub JSON for
/// servers (anyone when the hub publishes publicly, otherwise its followers by a signed
/// fetch); a page for people (anyone when public, otherwise the hub's own accounts). Anyone
/// else gets the same 404 as for a period never published.
pub async fn summary(
    State(state): State<AppState>,
    axum::extract::Path(period): axum::extract::Path<String>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    session: tower_sessions::Session,
) -> Result<Response, AppError> {
    let fed = state.fed();
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let mut response = if hearth_federation::discovery::wants_activity_json(&headers) {
        match hearth_federation::summaries::fetch(&fed, &period, path, &headers).await? {
            Some(v) => hearth_federation::discovery::activity_response(v),
            None => return Err(AppError::NotFound),
        }
    } else {
        let account = crate::auth::signed_in(&state, &session).await?;
        let settings = state.settings().await?;
        if settings.role != hearth_core::InstanceRole::Hub {
            return Err(AppError::NotFound);
        }
        // The hub's own accounts read every summary; anyone else what a public hub published
        // to the public.
        let who = match account {
            Some(_) => hearth_federation::summaries::Reader::Follower,
            None => hearth_federation::summaries::Reader::Anyone {
                hub_public: state.db.hub_settings().await?.public_summary,
            },
        };
        let Some(note) = hearth_federation::summaries::published_note(&fed, &period)
            .await?
            .filter(|n| who.may_see(n))
        else {
            return Err(AppError::NotFound);
        };
        let tz = settings.timezone;
        let day =
            |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%-d %B %Y").to_string();
        render(&SummaryPage {
            nav: Nav::for_account(&state, account.as_ref()).await?,
            hub_name: settings.name,
            period_label: note
                .period
                .parse::<hearth_core::report::ReportPeriod>()
                .map(|p| p.human_label())
                .unwrap_or_else(|_| note.period.clone()),
            published: note.published.map(day).unwrap_or_default(),
            updated: note.updated.map(day),
            content: note.content,
            figures: note
                .sector_figures
                .iter()
                .map(|f| SummaryFigure {
                    segment: Segment::parse(&f.segment)
                        .map(|s| s.describe())
                        .unwrap_or_else(|| f.segment.clone()),
                    measure: Measure::parse(&f.measure).map_or("", |m| m.label()),
                    share: format!("{:.0}%", f.share * 100.0),
                    interval: format!(
                        "{:.0}% to {:.0}%",
                        f.interval_low * 100.0,
                        f.interval_high * 100.0
                    ),
                    groups: f.groups,
                    pair: f.aggregation.as_deref() == Some("pair"),
                })
                .collect(),
        })?
    };
    response.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("Accept"),
    );
    Ok(response)
}
