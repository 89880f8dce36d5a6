//! A hub's pairs: staff propose a pair to another hub (this hub leads: it shows the sector),
//! answer a proposal (this hub helps), and read what the pairs this hub leads have released.
//! Every pair is shown with its trust model in plain words.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::pair::{Dimension, HubRole, PairPlan};
use hearth_core::sector::{MIN_GROUPS, MinGroups};
use hearth_core::sharing::{Cadence, PRIVACY_LEVELS, PrivacyLevel};
use hearth_db::PairState;
use hearth_federation::hub_pairs;
use serde::Deserialize;

use super::{Nav, render, render_with_status};
use crate::auth::{CurrentUser, Facilitator};
use crate::{AppError, AppState, csrf};

pub struct PairRow {
    pub id: i64,
    /// "This hub leads, with Helper Hub (https://…)".
    pub title: String,
    pub state: &'static str,
    pub trust: String,
    pub plan: String,
    pub can_answer: bool,
    pub can_end: bool,
}

pub struct ReleaseRow {
    pub period: String,
    pub segment: String,
    pub groups: u32,
    /// "Burnout 31 % (24–38 %)", one per shown measure.
    pub figures: Vec<String>,
}

/// What the person typed into the proposal form, kept when it is refused.
#[derive(Debug, Default, Deserialize)]
pub struct ProposeForm {
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub dim_network: String,
    #[serde(default)]
    pub dim_region: String,
    #[serde(default)]
    pub dim_focus: String,
    #[serde(default)]
    pub dim_size: String,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub min_groups: String,
}

impl ProposeForm {
    fn dimensions(&self) -> Vec<Dimension> {
        [
            (&self.dim_network, Dimension::Network),
            (&self.dim_region, Dimension::Region),
            (&self.dim_focus, Dimension::Focus),
            (&self.dim_size, Dimension::SizeBand),
        ]
        .into_iter()
        .filter(|(v, _)| v.as_str() == "yes")
        .map(|(_, d)| d)
        .collect()
    }
}

pub struct DimensionOption {
    pub field: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

pub struct LevelOption {
    pub slug: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "pairs.html")]
pub struct PairsPage {
    pub nav: Nav,
    pub csrf: String,
    pub can_decide: bool,
    pub pairs: Vec<PairRow>,
    pub releases: Vec<ReleaseRow>,
    /// Releases not shown: with the others of their period they would isolate a few groups.
    pub held_back: usize,
    pub hub_min: u32,
    pub error: Option<String>,
    pub address: String,
    pub dimensions: Vec<DimensionOption>,
    pub levels: Vec<LevelOption>,
    pub min_groups: String,
    pub done: Option<&'static str>,
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    pub done: String,
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    pub decision: String,
}

fn plan_words(plan: &PairPlan, min_groups: u32) -> String {
    let dims: Vec<&str> = plan.dimensions.iter().map(|d| d.label()).collect();
    format!(
        "Released {} for {}; each hub adds noise of σ = {} to every sum; nothing is released for fewer than {} groups.",
        match plan.cadence {
            Cadence::Month => "monthly",
            Cadence::Week => "weekly",
        },
        dims.join(", "),
        plan.sigma,
        min_groups
    )
}

fn percent(x: f64) -> String {
    format!("{:.0} %", x * 100.0)
}

/// A release's shares: each measure's count over the respondents behind it, with an interval
/// that carries both hubs' noise (as the sector page reads the pair).
fn release_row(r: &hearth_db::PairRelease) -> Option<ReleaseRow> {
    let release = r.to_release()?;
    // The page has already kept only what the sector shows.
    let figures = hearth_core::pair::series(std::slice::from_ref(&release), MinGroups::default())
        .iter()
        .filter_map(|s| {
            let point = s.points.first()?;
            Some(format!(
                "{} {} ({}–{})",
                s.measure.signal().label(),
                percent(point.share),
                percent(point.low),
                percent(point.high)
            ))
        })
        .collect();
    Some(ReleaseRow {
        period: r.period.clone(),
        segment: release.segment.describe(),
        groups: r.groups,
        figures,
    })
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    form: &ProposeForm,
    error: Option<String>,
    done: Option<&'static str>,
) -> Result<PairsPage, AppError> {
    let settings = state.settings().await?;
    let own = settings.name.clone();
    let mut pairs = Vec::new();
    let mut releases = Vec::new();
    let mut held_back = 0;
    let hub_min = state.db.hub_settings().await?.min_groups;
    for p in state.db.pairs().await? {
        let other = format!("{} ({})", p.other.name, p.other.actor_url);
        let (leader, helper) = match p.role {
            HubRole::Leader => (own.clone(), p.other.name.clone()),
            HubRole::Helper => (p.other.name.clone(), own.clone()),
        };
        pairs.push(PairRow {
            id: p.id,
            title: match p.role {
                HubRole::Leader => format!("This hub leads, with {other} helping"),
                HubRole::Helper => format!("{other} leads, this hub helps"),
            },
            state: match p.state {
                PairState::Proposed if p.role == HubRole::Leader => "Waiting for the other hub",
                PairState::Proposed => "Waiting for your answer",
                PairState::Accepted => "Aggregating",
                PairState::Declined => "Declined",
                PairState::Ended => "Ended",
            },
            trust: format!(
                "No one learns any group's figures unless both {leader} and {helper} collude: each hub holds only a random share of every report."
            ),
            plan: plan_words(&p.plan, p.min_groups),
            can_answer: p.role == HubRole::Helper
                && p.state == PairState::Proposed
                && user.account.role == hearth_core::Role::Facilitator,
            can_end: user.account.role == hearth_core::Role::Facilitator
                && (p.state == PairState::Accepted
                    || (p.state == PairState::Proposed && p.role == HubRole::Leader)),
        });
        if p.role == HubRole::Leader {
            // Only what the sector shows of the pair: a release that, with the others of its
            // period, would give away fewer than m groups is held back here too.
            let all = state.db.pair_releases(p.id).await?;
            let shown =
                hearth_federation::summaries::pair_series(&state.fed(), p.id, &all, hub_min)
                    .await?;
            let visible: std::collections::BTreeSet<(String, String)> = shown
                .iter()
                .flat_map(|s| {
                    s.points
                        .iter()
                        .map(|pt| (s.segment.key(), pt.period.to_string()))
                })
                .collect();
            for r in &all {
                if visible.contains(&(r.segment.clone(), r.period.clone())) {
                    releases.extend(release_row(r));
                } else {
                    held_back += 1;
                }
            }
        }
    }
    let chosen = form.dimensions();
    let level = PrivacyLevel::parse(&form.level).unwrap_or_default();
    Ok(PairsPage {
        nav: Nav::for_user(state, user).await?,
        csrf: csrf::token(&user.session).await?,
        can_decide: user.account.role == hearth_core::Role::Facilitator,
        pairs,
        releases,
        held_back,
        hub_min: hub_min.get(),
        error,
        address: form.address.clone(),
        dimensions: [
            ("dim_network", Dimension::Network),
            ("dim_region", Dimension::Region),
            ("dim_focus", Dimension::Focus),
            ("dim_size", Dimension::SizeBand),
        ]
        .into_iter()
        .map(|(field, d)| DimensionOption {
            field,
            label: d.label(),
            checked: chosen.contains(&d) || (chosen.is_empty() && d == Dimension::Network),
        })
        .collect(),
        levels: PRIVACY_LEVELS
            .into_iter()
            .map(|l| LevelOption {
                slug: l.slug(),
                label: l.label(),
                selected: l == level,
            })
            .collect(),
        min_groups: if form.min_groups.is_empty() {
            MIN_GROUPS.to_string()
        } else {
            form.min_groups.clone()
        },
        done,
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    axum::extract::Query(q): axum::extract::Query<ShowQuery>,
) -> Result<Response, AppError> {
    let done = match q.done.as_str() {
        "proposed" => {
            Some("The pair was proposed. It starts once the other hub's staff accept it.")
        }
        "accepted" => Some("You accepted the pair."),
        "declined" => Some("You declined the pair."),
        "ended" => Some(
            "The pair is ended: nothing more is checked or released, and the other hub has been told. What was released stays.",
        ),
        _ => None,
    };
    render(&page(&state, &user, &ProposeForm::default(), None, done).await?)
}

/// Staff propose a pair in which this hub leads. Bad input re-renders the form as typed.
pub async fn propose(
    State(state): State<AppState>,
    f: Facilitator,
    Form(form): Form<ProposeForm>,
) -> Result<Response, AppError> {
    let user = f.0;
    let refuse = async |msg: String| -> Result<Response, AppError> {
        Ok(render_with_status(
            StatusCode::BAD_REQUEST,
            &page(&state, &user, &form, Some(msg), None).await?,
        ))
    };
    let dims = form.dimensions();
    if dims.is_empty() {
        return refuse("Choose at least one part of the network to release.".into()).await;
    }
    let Ok(level) = PrivacyLevel::parse(&form.level) else {
        return refuse("Choose a privacy level.".into()).await;
    };
    let min_groups = match form.min_groups.trim().parse::<u32>() {
        Ok(m) if (MIN_GROUPS..=1000).contains(&m) => m,
        _ => {
            return refuse(format!(
                "The fewest groups behind a figure is a whole number from {MIN_GROUPS} to 1000."
            ))
            .await;
        }
    };
    let helper = match super::hubs::resolve(&state, &form.address).await {
        Ok(h) => h,
        Err(msg) => return refuse(msg).await,
    };
    let plan = PairPlan::new(Cadence::Month, dims, level);
    match hub_pairs::propose(&state.fed(), &helper, plan, min_groups).await {
        Ok(_) => Ok(Redirect::to("/pairs?done=proposed").into_response()),
        Err(
            hearth_federation::FedError::Invalid(m) | hearth_federation::FedError::NotAllowed(m),
        ) => refuse(m).await,
        Err(e) => Err(e.into()),
    }
}

/// The helper's staff accept or decline a proposed pair.
pub async fn answer(
    State(state): State<AppState>,
    _f: Facilitator,
    Path(id): Path<i64>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    let accept = match form.decision.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return Err(AppError::BadRequest("Choose accept or decline.".into())),
    };
    hub_pairs::decide(&state.fed(), id, accept).await?;
    Ok(Redirect::to(if accept {
        "/pairs?done=accepted"
    } else {
        "/pairs?done=declined"
    })
    .into_response())
}

/// Staff of either hub end a pair.
pub async fn end(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    hub_pairs::end(&state.fed(), id)
        .await
        .map_err(|e| match e {
            hearth_federation::FedError::Invalid(m) => AppError::BadRequest(m),
            other => other.into(),
        })?;
    tracing::info!(by = f.0.account.id, pair = id, "hub pair ended");
    Ok(Redirect::to("/pairs?done=ended").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_reads_as_shares_with_intervals() {
        let mut sums = vec![0i64; hearth_core::pair::MEASUREMENT_LEN];
        sums[0] = 100;
        // Burnout is the second signal in the table: respondents, low wellbeing, burnout.
        sums[2] = 30;
        let row = release_row(&hearth_db::PairRelease {
            pair_id: 1,
            segment: "network".into(),
            period: "2026-10".into(),
            groups: 12,
            sigma: hearth_core::noise::Sigma::from_tenths(92).unwrap(),
            sums,
            released_at: chrono::DateTime::UNIX_EPOCH,
        })
        .unwrap();
        assert_eq!(row.groups, 12);
        assert!(
            row.figures.iter().any(|f| f.starts_with("Burnout 30 %")),
            "{:?}",
            row.figures
        );
    }
}
