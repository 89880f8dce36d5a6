use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::instruments as ins;
use hearth_core::{CheckinInput, FieldErrors, IsoWeek};

use super::{Nav, current_week, render, render_with_status};
use crate::auth::CurrentUser;
use crate::{AppError, AppState, csrf};

pub struct Opt {
    pub value: u8,
    pub label: &'static str,
    pub checked: bool,
}

pub struct ChoiceQuestion {
    pub name: &'static str,
    pub label: &'static str,
    pub options: Vec<Opt>,
    pub error: Option<String>,
}

pub struct HoursQuestion {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "checkin.html")]
pub struct CheckinPage {
    pub nav: Nav,
    pub csrf: String,
    pub week_label: String,
    pub editing: bool,
    pub errors: FieldErrors,
    pub who5_stem: &'static str,
    pub who5: Vec<ChoiceQuestion>,
    pub burnout: ChoiceQuestion,
    pub burnout_help: &'static str,
    pub hours: Vec<HoursQuestion>,
    pub time_pressure: ChoiceQuestion,
    pub note_label: &'static str,
    pub note_help: &'static str,
    pub note: String,
    pub note_error: Option<String>,
    pub citation: &'static str,
}

fn choice(
    name: &'static str,
    label: &'static str,
    raw: &str,
    options: impl Iterator<Item = (u8, &'static str)>,
    errors: &FieldErrors,
) -> ChoiceQuestion {
    let raw = raw.trim();
    ChoiceQuestion {
        name,
        label,
        options: options
            .map(|(value, label)| Opt {
                value,
                label,
                checked: raw == value.to_string(),
            })
            .collect(),
        error: errors.get(name).map(str::to_owned),
    }
}

impl CheckinPage {
    fn new(
        nav: Nav,
        csrf: String,
        week: IsoWeek,
        editing: bool,
        input: &CheckinInput,
        errors: FieldErrors,
    ) -> Self {
        let who5_raw = [
            &input.who5_1,
            &input.who5_2,
            &input.who5_3,
            &input.who5_4,
            &input.who5_5,
        ];
        const WHO5_NAMES: [&str; 5] = ["who5_1", "who5_2", "who5_3", "who5_4", "who5_5"];
        let who5 = (0..5)
            .map(|i| {
                // The published form lists "All of the time" (5) first.
                let options = (0..=5u8)
                    .rev()
                    .map(|v| (v, ins::WHO5_OPTIONS[usize::from(v)]));
                choice(
                    WHO5_NAMES[i],
                    ins::WHO5_ITEMS[i],
                    who5_raw[i],
                    options,
                    &errors,
                )
            })
            .collect();
        let burnout = choice(
            "burnout",
            ins::BURNOUT_QUESTION,
            &input.burnout,
            (1..=5u8).map(|v| (v, ins::BURNOUT_OPTIONS[usize::from(v - 1)])),
            &errors,
        );
        let time_pressure = choice(
            "time_pressure",
            ins::TIME_PRESSURE_QUESTION,
            &input.time_pressure,
            (0..=4u8).map(|v| (v, ins::TIME_PRESSURE_OPTIONS[usize::from(v)])),
            &errors,
        );
        let hours = [
            ("paid_hours", ins::PAID_HOURS_LABEL, &input.paid_hours),
            ("unpaid_hours", ins::UNPAID_HOURS_LABEL, &input.unpaid_hours),
            (
                "funding_hours",
                ins::FUNDING_HOURS_LABEL,
                &input.funding_hours,
            ),
        ]
        .into_iter()
        .map(|(name, label, value)| HoursQuestion {
            name,
            label,
            value: value.clone(),
            error: errors.get(name).map(str::to_owned),
        })
        .collect();
        Self {
            nav,
            csrf,
            week_label: week.human_label(),
            editing,
            note_error: errors.get("note").map(str::to_owned),
            errors,
            who5_stem: ins::WHO5_STEM,
            who5,
            burnout,
            burnout_help: ins::BURNOUT_HELP,
            hours,
            time_pressure,
            note_label: ins::NOTE_LABEL,
            note_help: ins::NOTE_HELP,
            note: input.note.clone(),
            citation: ins::WHO5_CITATION,
        }
    }
}

/// This week's form, filled with this week's answers if there are any.
pub async fn show(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let week = current_week(&state).await?;
    let existing = state.db.own_checkin(user.account.id, week).await?;
    let input = existing
        .as_ref()
        .map(|c| c.answers.to_input())
        .unwrap_or_default();
    let nav = Nav::on_checkin_form(&state, &user);
    render(&CheckinPage::new(
        nav,
        csrf::token(&user.session).await?,
        week,
        existing.is_some(),
        &input,
        FieldErrors::default(),
    ))
}

/// Saves this week's check-in. Only the current week can be written: past weeks are read-only
/// because the week is decided here, never taken from the form.
pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(input): Form<CheckinInput>,
) -> Result<Response, AppError> {
    let week = current_week(&state).await?;
    match input.parse() {
        Ok(answers) => {
            state
                .db
                .save_checkin(user.account.id, week, &answers, state.clock.now())
                .await?;
            // `debug`: at `info` the log would list who checked in when, one by one, below
            // the group's k that every other count of check-ins respects.
            tracing::debug!(account_id = user.account.id, %week, "check-in saved");
            Ok(Redirect::to("/checkin/saved").into_response())
        }
        Err(errors) => {
            let existing = state.db.own_checkin(user.account.id, week).await?;
            let nav = Nav::on_checkin_form(&state, &user);
            let page = CheckinPage::new(
                nav,
                csrf::token(&user.session).await?,
                week,
                existing.is_some(),
                &input,
                errors,
            );
            Ok(render_with_status(StatusCode::BAD_REQUEST, &page))
        }
    }
}

#[derive(Template)]
#[template(path = "checkin_saved.html")]
pub struct SavedPage {
    pub nav: Nav,
    pub week_label: String,
}

/// After saving: thanks and where support is, the same bytes whatever was answered, since
/// HTTPS hides content but not length. The reading and the signposting that answers trigger
/// are on My history, a page the person opens when they choose.
pub async fn saved(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let week = current_week(&state).await?;
    if state.db.own_checkin(user.account.id, week).await?.is_none() {
        return Ok(Redirect::to("/checkin").into_response());
    }
    render(&SavedPage {
        nav: Nav::for_user(&state, &user).await?,
        week_label: week.human_label(),
    })
}
