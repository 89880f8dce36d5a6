//! A group's hub pairs: the pairs a hub it belongs to leads, each with its trust model in plain
//! words, looked up on request; and per pair what the group shares through it (signals and
//! approval; the cadence and noise are the pair's), with a preview of what each hub receives,
//! what is eventually published, and what it costs.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::pair::MEASUREMENT_LEN;
use hearth_core::sharing::{Signal, SignalSet, YEARLY_CAP};
use hearth_db::{GroupPair, MembershipState};
use hearth_federation::group_pairs;

use super::sharing::{NoticeQuery, SignalChoice, eps};
use super::{Nav, render, render_with_status};
use crate::auth::Facilitator;
use crate::{AppError, AppState, csrf};

fn helper_host(pair: &GroupPair) -> String {
    hearth_federation::actor::host_of(&pair.helper_actor)
}

/// The trust model, as a facilitator reads it before choosing a pair.
pub fn trust_words(leader: &str, helper: &str, min_groups: u32) -> String {
    format!(
        "Your group’s counts are split into two shares, one for {leader} and one for {helper}. \
         Each share on its own is random numbers. No one learns your group’s figures unless both \
         {leader} and {helper} collude. Only sums over at least {min_groups} groups are ever \
         published, and each hub adds its own noise to them before they leave it."
    )
}

/// A pair as the hub's sharing page lists it.
pub struct PairCard {
    pub id: i64,
    pub title: String,
    pub trust: String,
    pub status: &'static str,
}

fn status(p: &GroupPair) -> &'static str {
    match (p.offered, p.enabled) {
        (false, _) => "No longer offered by the hub: nothing is sent through it",
        (true, true) => "Sharing through this pair",
        (true, false) => "Not sharing through this pair",
    }
}

/// The cards for the pairs the hub `peer_id` leads.
pub async fn cards(
    state: &AppState,
    peer_id: i64,
    leader: &str,
) -> Result<Vec<PairCard>, AppError> {
    Ok(state
        .db
        .group_pairs_of(peer_id)
        .await?
        .iter()
        .map(|p| PairCard {
            id: p.id,
            title: format!("{leader} with {}", helper_host(p)),
            trust: trust_words(leader, &helper_host(p), p.min_groups),
            status: status(p),
        })
        .collect())
}

#[derive(Template)]
#[template(path = "group_pair.html")]
pub struct GroupPairPage {
    pub nav: Nav,
    pub csrf: String,
    pub hub_id: i64,
    pub id: i64,
    pub title: String,
    pub trust: String,
    pub offered: bool,
    pub member: bool,
    pub enabled: bool,
    pub automatic: bool,
    pub signals: Vec<SignalChoice>,
    pub cadence: &'static str,
    pub numbers: usize,
    pub published: Vec<String>,
    pub min_groups: u32,
    pub sigma: String,
    pub per_period: String,
    pub per_year: String,
    pub epsilon_year: String,
    pub used: String,
    pub used_epsilon: String,
    pub year: i32,
    pub cap: String,
    pub errors: Vec<(&'static str, String)>,
    pub notice: Option<&'static str>,
}

/// The form as sent, kept to show again.
#[derive(Debug, Default)]
struct PairInput {
    enabled: bool,
    automatic: bool,
    signals: Vec<String>,
}

impl PairInput {
    fn of(p: &GroupPair) -> Self {
        PairInput {
            enabled: p.enabled,
            automatic: p.automatic,
            signals: p.signals.iter().map(|s| s.slug().to_owned()).collect(),
        }
    }
    fn from_form(body: &[u8]) -> Self {
        let mut input = Self::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            match k.as_ref() {
                "enabled" => input.enabled = v == "yes",
                "automatic" => input.automatic = v == "yes",
                "signal" => input.signals.push(v.into_owned()),
                _ => {}
            }
        }
        input
    }
    fn parse(&self) -> Result<SignalSet, Vec<(&'static str, String)>> {
        self.signals
            .iter()
            .map(|s| Signal::parse(s).ok_or(()))
            .collect::<Result<SignalSet, ()>>()
            .map_err(|()| vec![("signals", "Choose signals from the list".to_owned())])
    }
}

/// The pair `id` led by the hub `hub_id`, or 404.
async fn pair_of(state: &AppState, hub_id: i64, id: i64) -> Result<GroupPair, AppError> {
    state
        .db
        .group_pair(id)
        .await?
        .filter(|p| p.leader_peer_id == hub_id)
        .ok_or(AppError::NotFound)
}

async fn page(
    state: &AppState,
    f: &Facilitator,
    (hub_id, pair): (i64, &GroupPair),
    input: &PairInput,
    errors: Vec<(&'static str, String)>,
    notice: Option<&'static str>,
) -> Result<GroupPairPage, AppError> {
    let m = state
        .db
        .membership(hub_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let fed = state.fed();
    let profile = group_pairs::profile(&fed).await?;
    let per_period = group_pairs::period_cost(&pair.plan, &profile);
    let per_year = per_period.saturating_mul(pair.plan.cadence.periods_per_year());
    let year = super::sharing::this_year(state).await?;
    let used = state.db.budget_spent(&pair.pair_url, year).await?;
    let leader = m.peer.name.clone();
    let helper = helper_host(pair);
    Ok(GroupPairPage {
        nav: Nav::for_user(state, &f.0).await?,
        csrf: csrf::token(&f.0.session).await?,
        hub_id,
        id: pair.id,
        title: format!("{leader} with {helper}"),
        trust: trust_words(&leader, &helper, pair.min_groups),
        offered: pair.offered,
        member: m.state == MembershipState::Accepted,
        enabled: input.enabled,
        automatic: input.automatic,
        signals: Signal::all()
            .map(|x| SignalChoice {
                slug: x.slug(),
                label: x.label(),
                what: x.counts_what(),
                checked: input.signals.iter().any(|s| s == x.slug()),
            })
            .collect(),
        cadence: pair.plan.cadence.label(),
        numbers: MEASUREMENT_LEN,
        published: pair
            .plan
            .segments_of(&profile)
            .iter()
            .map(|s| s.describe())
            .collect(),
        min_groups: pair.min_groups,
        sigma: pair.plan.sigma.to_string(),
        per_period: per_period.to_string(),
        per_year: per_year.to_string(),
        epsilon_year: eps(per_year.min(YEARLY_CAP)),
        used: used.to_string(),
        used_epsilon: eps(used),
        year,
        cap: YEARLY_CAP.to_string(),
        errors,
        notice,
    })
}

pub async fn show(
    State(state): State<AppState>,
    f: Facilitator,
    Path((hub_id, id)): Path<(i64, i64)>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let pair = pair_of(&state, hub_id, id).await?;
    let notice = match q.done.as_deref() {
        Some("saved") => Some("The settings for this pair are saved."),
        _ => None,
    };
    render(
        &page(
            &state,
            &f,
            (hub_id, &pair),
            &PairInput::of(&pair),
            Vec::new(),
            notice,
        )
        .await?,
    )
}

pub async fn save(
    State(state): State<AppState>,
    f: Facilitator,
    Path((hub_id, id)): Path<(i64, i64)>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let pair = pair_of(&state, hub_id, id).await?;
    let input = PairInput::from_form(&body);
    let checked = match input.parse() {
        Ok(_) if input.enabled && !pair.offered => Err(vec![(
            "enabled",
            "The hub no longer offers this pair, so nothing can be shared through it".to_owned(),
        )]),
        other => other,
    };
    let result = match checked {
        Ok(signals) => group_pairs::enable(
            &state.fed(),
            id,
            (input.enabled, signals, input.automatic),
            state.clock.now(),
        )
            .await
            .map_err(|e| {
                tracing::info!(pair = id, error = %e, "sharing through a pair not changed");
                vec![(
                    "enabled",
                    "The pair’s second hub could not be reached, so nothing was changed. Try again later"
                        .to_owned(),
                )]
            }),
        Err(errors) => Err(errors),
    };
    if let Err(errors) = result {
        return Ok(render_with_status(
            StatusCode::BAD_REQUEST,
            &page(&state, &f, (hub_id, &pair), &input, errors, None).await?,
        ));
    }
    tracing::info!(
        by = f.0.account.id,
        pair = id,
        enabled = input.enabled,
        "pair sharing changed"
    );
    Ok(Redirect::to(&format!("/hubs/{hub_id}/pairs/{id}?done=saved")).into_response())
}

/// Looks the hub's pairs up again; back to its sharing page, which lists them.
pub async fn refresh(
    State(state): State<AppState>,
    f: Facilitator,
    Path(hub_id): Path<i64>,
) -> Result<Response, AppError> {
    let done = match group_pairs::refresh(&state.fed(), hub_id).await {
        Ok(_) => "pairs",
        Err(e) => {
            tracing::info!(hub = hub_id, error = %e, "hub pairs not looked up");
            "pairs-failed"
        }
    };
    tracing::info!(by = f.0.account.id, hub = hub_id, "hub pairs looked up");
    Ok(Redirect::to(&format!("/hubs/{hub_id}/sharing?done={done}")).into_response())
}
