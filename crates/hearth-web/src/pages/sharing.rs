//! What the group shares with each hub: the sharing settings per hub (signals, cadence,
//! privacy level, approval), the audit log every member can read, the privacy budget, and the
//! facilitator's approve / decline / send-again actions.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::report::ReportPeriod;
use hearth_core::sharing::{
    Cadence, DELTA, PRIVACY_LEVELS, PrivacyLevel, Rho, SharingSettings, Signal, SignalSet,
    YEARLY_CAP,
};
use hearth_db::{DeliveryState, MembershipState, ReportState, SharedReport};
use hearth_federation::group_sharing;
use serde::Deserialize;

use super::{Nav, human_datetime, render, render_with_status};
use crate::auth::{CurrentUser, Facilitator};
use crate::{AppError, AppState, csrf};

/// ε at δ = 10⁻⁶, as people read it.
pub(crate) fn eps(r: Rho) -> String {
    format!("{:.2}", r.epsilon(DELTA))
}

pub struct SignalChoice {
    pub slug: &'static str,
    pub label: &'static str,
    pub what: &'static str,
    pub checked: bool,
}

pub struct Option3 {
    pub value: &'static str,
    pub label: String,
    pub hint: String,
    pub checked: bool,
}

/// The privacy cost of the chosen settings, in numbers and words.
pub struct Cost {
    pub per_report: String,
    pub per_year: String,
    pub epsilon_year: String,
    pub sigma: String,
    pub level_budget: String,
    pub periods_per_year: u32,
}

fn cost(s: &SharingSettings) -> Cost {
    let year = s.rho_per_year().min(YEARLY_CAP);
    Cost {
        per_report: s.rho_per_report().to_string(),
        per_year: s.rho_per_year().to_string(),
        epsilon_year: eps(year),
        sigma: s.sigma().to_string(),
        level_budget: s.level.yearly_budget().to_string(),
        periods_per_year: s.cadence.periods_per_year(),
    }
}

/// This year's budget for one hub.
pub struct BudgetRow {
    pub hub_name: String,
    pub year: i32,
    pub used: String,
    pub epsilon: String,
    pub percent: String,
    pub cap: String,
    pub cap_epsilon: String,
}

#[derive(Template)]
#[template(path = "sharing.html")]
pub struct SharingPage {
    pub nav: Nav,
    pub csrf: String,
    pub id: i64,
    pub hub_name: String,
    pub hub_address: String,
    pub member: bool,
    pub enabled: bool,
    pub automatic: bool,
    pub signals: Vec<SignalChoice>,
    pub cadences: Vec<Option3>,
    pub levels: Vec<Option3>,
    pub cost: Cost,
    pub budget: BudgetRow,
    pub errors: Vec<(&'static str, String)>,
    pub notice: Option<&'static str>,
    /// The pairs this hub leads, as far as the group knows.
    pub pairs: Vec<super::group_pairs::PairCard>,
    /// Other addresses at which the group knew this hub (the same key).
    pub also_known_at: Vec<String>,
}

fn budget_row(hub_name: &str, year: i32, used: Rho) -> BudgetRow {
    BudgetRow {
        hub_name: hub_name.to_owned(),
        year,
        used: used.to_string(),
        epsilon: eps(used),
        percent: format!("{:.0}", used.percent_of_cap()),
        cap: YEARLY_CAP.to_string(),
        cap_epsilon: eps(YEARLY_CAP),
    }
}

/// The calendar year the group is in now, on its own clock.
pub(crate) async fn this_year(state: &AppState) -> Result<i32, AppError> {
    use chrono::Datelike;
    let tz = state.settings().await?.timezone;
    Ok(state.clock.now().with_timezone(&tz).year())
}

/// Budget rows for every hub the group belongs to or has reported to, this year.
pub async fn budgets(state: &AppState) -> Result<Vec<BudgetRow>, AppError> {
    let year = this_year(state).await?;
    let mut hubs: BTreeMap<String, String> = BTreeMap::new();
    for m in state.db.memberships().await? {
        if m.state == MembershipState::Accepted {
            hubs.insert(m.peer.actor_url.clone(), m.peer.name.clone());
        }
    }
    for r in state.db.shared_reports().await? {
        hubs.entry(r.hub_actor.clone())
            .or_insert(r.hub_name.clone());
    }
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (actor, name) in hubs {
        // One row per hub, whatever addresses it had: they share one ledger.
        if seen.contains(&actor) {
            continue;
        }
        seen.extend(state.db.same_hub(&actor).await?);
        let used = state.db.budget_spent(&actor, year).await?;
        rows.push(budget_row(&name, year, used));
    }
    Ok(rows)
}

/// The form as sent: every field a string, so what was chosen can be shown again.
#[derive(Debug, Default)]
struct SharingInput {
    enabled: bool,
    automatic: bool,
    signals: Vec<String>,
    cadence: String,
    level: String,
}

impl SharingInput {
    fn from_settings(s: &SharingSettings) -> Self {
        SharingInput {
            enabled: s.enabled,
            automatic: s.automatic,
            signals: s.signals.iter().map(|x| x.slug().to_owned()).collect(),
            cadence: s.cadence.slug().to_owned(),
            level: s.level.slug().to_owned(),
        }
    }

    fn from_form(body: &[u8]) -> Self {
        let mut input = Self::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            match k.as_ref() {
                "enabled" => input.enabled = v == "yes",
                "automatic" => input.automatic = v == "yes",
                "signal" => input.signals.push(v.into_owned()),
                "cadence" => input.cadence = v.into_owned(),
                "level" => input.level = v.into_owned(),
                _ => {}
            }
        }
        input
    }

    fn parse(&self) -> Result<SharingSettings, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let signals: SignalSet = match self
            .signals
            .iter()
            .map(|s| Signal::parse(s).ok_or(()))
            .collect::<Result<SignalSet, ()>>()
        {
            Ok(s) => s,
            Err(()) => {
                errors.push(("signals", "Choose signals from the list".to_owned()));
                SignalSet::default()
            }
        };
        let cadence = Cadence::parse(&self.cadence).unwrap_or_else(|_| {
            errors.push(("cadence", "Choose how often to send a report".to_owned()));
            Cadence::Month
        });
        let level = PrivacyLevel::parse(&self.level).unwrap_or_else(|_| {
            errors.push(("level", "Choose a privacy level".to_owned()));
            PrivacyLevel::Standard
        });
        if errors.is_empty() {
            Ok(SharingSettings {
                enabled: self.enabled,
                signals,
                cadence,
                level,
                automatic: self.automatic,
            })
        } else {
            Err(errors)
        }
    }

    /// Settings to price on the page: what was chosen, with defaults for what is not valid.
    fn preview(&self) -> SharingSettings {
        SharingSettings {
            enabled: self.enabled,
            signals: self
                .signals
                .iter()
                .filter_map(|s| Signal::parse(s))
                .collect(),
            cadence: Cadence::parse(&self.cadence).unwrap_or_default(),
            level: PrivacyLevel::parse(&self.level).unwrap_or_default(),
            automatic: self.automatic,
        }
    }
}

async fn sharing_page(
    state: &AppState,
    f: &Facilitator,
    id: i64,
    input: &SharingInput,
    errors: Vec<(&'static str, String)>,
    notice: Option<&'static str>,
) -> Result<SharingPage, AppError> {
    let m = state.db.membership(id).await?.ok_or(AppError::NotFound)?;
    let s = input.preview();
    let year = this_year(state).await?;
    let used = state.db.budget_spent(&m.peer.actor_url, year).await?;
    let cadences = [Cadence::Month, Cadence::Week]
        .into_iter()
        .map(|c| {
            let priced = SharingSettings { cadence: c, ..s };
            Option3 {
                value: c.slug(),
                label: c.label().to_owned(),
                hint: format!(
                    "Up to {} reports a year; with the other choices, noise σ = {} on every count.",
                    c.periods_per_year(),
                    priced.sigma(),
                ),
                checked: c.slug() == input.cadence,
            }
        })
        .collect();
    let levels = PRIVACY_LEVELS
        .into_iter()
        .map(|l| {
            let priced = SharingSettings { level: l, ..s };
            Option3 {
                value: l.slug(),
                label: l.label().to_owned(),
                hint: format!(
                    "A year of reports spends at most ρ = {} (ε = {} at δ = 10⁻⁶); with the other choices, noise σ = {} on every count.",
                    l.yearly_budget(),
                    eps(l.yearly_budget()),
                    priced.sigma(),
                ),
                checked: l.slug() == input.level,
            }
        })
        .collect();
    Ok(SharingPage {
        nav: Nav::for_user(state, &f.0).await?,
        csrf: csrf::token(&f.0.session).await?,
        id,
        hub_name: m.peer.name.clone(),
        hub_address: m.peer.actor_url.clone(),
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
        cadences,
        levels,
        cost: cost(&s),
        budget: budget_row(&m.peer.name, year, used),
        errors,
        notice,
        pairs: super::group_pairs::cards(state, id, &m.peer.name).await?,
        also_known_at: state
            .db
            .same_hub(&m.peer.actor_url)
            .await?
            .into_iter()
            .skip(1)
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    pub done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let sharing = state.db.sharing(id).await?;
    let notice = match q.done.as_deref() {
        Some("saved") => Some("The sharing settings are saved."),
        Some("erase") => Some("The hub has been asked to erase every report this group sent it."),
        Some("pairs") => Some("The hub’s pairs are looked up: they are listed below."),
        Some("pairs-failed") => Some(
            "The hub could not be asked for its pairs just now (it may be unreachable, or has not accepted the group yet). Try again later.",
        ),
        _ => None,
    };
    let input = SharingInput::from_settings(&sharing.settings);
    render(&sharing_page(&state, &f, id, &input, Vec::new(), notice).await?)
}

pub async fn save(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    state.db.membership(id).await?.ok_or(AppError::NotFound)?;
    let input = SharingInput::from_form(&body);
    match input.parse() {
        Ok(s) => {
            state.db.set_sharing(id, &s, state.clock.now()).await?;
            tracing::info!(
                by = f.0.account.id,
                peer = id,
                enabled = s.enabled,
                "sharing settings changed"
            );
            Ok(Redirect::to(&format!("/hubs/{id}/sharing?done=saved")).into_response())
        }
        Err(errors) => Ok(render_with_status(
            StatusCode::BAD_REQUEST,
            &sharing_page(&state, &f, id, &input, errors, None).await?,
        )),
    }
}

pub async fn erase(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    group_sharing::request_erasure(&state.fed(), id)
        .await
        .map_err(fed_error)?;
    tracing::info!(
        by = f.0.account.id,
        peer = id,
        "asked a hub to erase the group's reports"
    );
    Ok(Redirect::to(&format!("/hubs/{id}/sharing?done=erase")).into_response())
}

fn fed_error(e: hearth_federation::FedError) -> AppError {
    match e {
        hearth_federation::FedError::Db(hearth_db::DbError::NotFound) => AppError::NotFound,
        hearth_federation::FedError::NotAllowed(m) => AppError::BadRequest(m),
        other => AppError::Internal(other.to_string()),
    }
}

/// One row of the audit log.
pub struct ReportRow {
    pub id: i64,
    pub hub_name: String,
    pub period: String,
    pub status: String,
    pub cost: String,
    pub figures: Vec<(String, String)>,
    pub json: Option<String>,
    pub awaiting: bool,
    pub can_send_again: bool,
    pub erasure: Option<String>,
    pub through_pair: bool,
}

#[derive(Template)]
#[template(path = "shared.html")]
pub struct SharedPage {
    pub nav: Nav,
    pub csrf: String,
    pub facilitator: bool,
    pub budgets: Vec<BudgetRow>,
    pub reports: Vec<ReportRow>,
    pub notice: Option<&'static str>,
}

/// The figures a stored report carries, labelled for people.
fn figures(activity: &str) -> Vec<(String, String)> {
    let Ok(create) =
        serde_json::from_str::<hearth_federation::protocol::report::CreateReport>(activity)
    else {
        return Vec::new();
    };
    let counts = &create.object.counts;
    let mut out = vec![("Respondents".to_owned(), counts.respondents.to_string())];
    for (signal, values) in &counts.signals {
        let values: Vec<String> = values.iter().map(ToString::to_string).collect();
        out.push((signal.figure_label(), values.join(", ")));
    }
    out
}

pub(crate) fn status(r: &SharedReport) -> String {
    let resume = r
        .period
        .parse::<ReportPeriod>()
        .map(|p| p.first_of_next_year().human_label())
        .unwrap_or_default();
    match r.state {
        ReportState::AwaitingApproval => "Waiting for a facilitator’s approval".into(),
        ReportState::Sent => match r.delivery {
            Some(DeliveryState::Delivered) => "Sent and delivered".into(),
            Some(DeliveryState::Failed) => {
                "Sent, but the hub did not take it (see the Hubs page)".into()
            }
            _ => "Sent; delivery in progress".into(),
        },
        ReportState::Declined => "Declined by a facilitator: never sent".into(),
        ReportState::Suppressed if r.through_pair => {
            "Not sent: more people answered than a pair report carries (127)".into()
        }
        ReportState::Suppressed => {
            "Not sent: too few answers this period (after noise, fewer than 5)".into()
        }
        ReportState::OverBudget => format!(
            "Not made: this year’s privacy budget for this hub is used up. Sending resumes with {resume}."
        ),
    }
}

pub async fn audit_log(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let tz = state.settings().await?.timezone;
    let rows = state
        .db
        .shared_reports()
        .await?
        .into_iter()
        .map(|r| ReportRow {
            id: r.id,
            hub_name: r.hub_name.clone(),
            period: r
                .period
                .parse::<ReportPeriod>()
                .map(|p| p.human_label())
                .unwrap_or(r.period.clone()),
            status: status(&r),
            cost: r.rho.to_string(),
            figures: r.activity.as_deref().map(figures).unwrap_or_default(),
            json: r.activity.clone(),
            awaiting: r.state == ReportState::AwaitingApproval,
            can_send_again: r.state == ReportState::Sent
                && r.erasure_requested_at.is_none()
                && !r.through_pair,
            through_pair: r.through_pair,
            erasure: r.erasure_requested_at.map(|t| human_datetime(t, tz)),
        })
        .collect();
    let notice = match q.done.as_deref() {
        Some("approved") => Some("The report is approved and on its way."),
        Some("declined") => Some("The report is declined: it will never be sent."),
        Some("again") => Some("The report is being sent to the hub again."),
        _ => None,
    };
    render(&SharedPage {
        nav: Nav::for_user(&state, &user).await?,
        csrf: csrf::token(&user.session).await?,
        facilitator: user.account.role == hearth_core::Role::Facilitator,
        budgets: budgets(&state).await?,
        reports: rows,
        notice,
    })
}

pub async fn approve(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    group_sharing::approve(&state.fed(), id)
        .await
        .map_err(fed_error)?;
    tracing::info!(by = f.0.account.id, report = id, "report approved");
    Ok(Redirect::to("/shared?done=approved").into_response())
}

pub async fn decline(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    state
        .db
        .decline_report(id, state.clock.now())
        .await
        .map_err(|e| match e {
            hearth_db::DbError::NotFound => AppError::NotFound,
            other => other.into(),
        })?;
    tracing::info!(by = f.0.account.id, report = id, "report declined");
    Ok(Redirect::to("/shared?done=declined").into_response())
}

pub async fn send_again(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    group_sharing::send_again(&state.fed(), id)
        .await
        .map_err(fed_error)?;
    tracing::info!(by = f.0.account.id, report = id, "report sent again");
    Ok(Redirect::to("/shared?done=again").into_response())
}

/// `GET /reports/{id}`: a report object, for its hub alone (signed fetch).
pub async fn fetch(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    group_sharing::fetch_report(&state.fed(), &path, &headers).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_says_how_a_sent_report_s_delivery_stands() {
        let mut r = SharedReport {
            id: 1,
            hub_actor: "https://hub.example/actor".into(),
            hub_name: "Hub".into(),
            period: "2026-10".into(),
            budget_year: 2026,
            state: ReportState::Sent,
            rho: hearth_core::sharing::Rho(1),
            object_id: None,
            activity: None,
            through_pair: false,
            created_at: chrono::DateTime::UNIX_EPOCH,
            decided_at: None,
            erasure_requested_at: None,
            delivery: Some(DeliveryState::Delivered),
        };
        assert_eq!(status(&r), "Sent and delivered");
        r.delivery = Some(DeliveryState::Failed);
        assert!(status(&r).contains("did not take it"));
        r.delivery = Some(DeliveryState::Pending);
        assert_eq!(status(&r), "Sent; delivery in progress");
    }
}
