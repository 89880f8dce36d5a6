use askama::Template;
use axum::extract::State;
use axum::response::Response;
use hearth_core::instruments::TIME_PRESSURE_OPTIONS;
use hearth_core::{history, scoring};
use hearth_db::StoredCheckin;

use super::{Nav, render};
use crate::auth::CurrentUser;
use crate::charts::{Chart, YAxis, line_chart};
use crate::{AppError, AppState};

pub struct Row {
    pub week: String,
    pub wellbeing: u8,
    pub burnout: u8,
    pub paid: u8,
    pub unpaid: u8,
    pub funding: u8,
    pub time_pressure: &'static str,
    pub note: String,
}

#[derive(Template)]
#[template(path = "history.html")]
pub struct HistoryPage {
    pub nav: Nav,
    /// This week's answers meet the signposting triggers.
    pub signpost: bool,
    pub reading: Vec<String>,
    pub rows: Vec<Row>,
    pub wellbeing_chart: Chart,
    pub burnout_chart: Chart,
    pub hours_chart: Chart,
}

fn summary(what: &str, values: &[f64], unit: &str) -> String {
    let (Some(first), Some(last)) = (values.first(), values.last()) else {
        return format!("No {what} yet.");
    };
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!(
        "{what} over {} check-ins: first {first}{unit}, latest {last}{unit}, lowest {lo}{unit}, highest {hi}{unit}. The table below lists every value.",
        values.len()
    )
}

/// Charts and a table of the signed-in person's own check-ins; nobody else's are ever loaded.
pub async fn show(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let checkins: Vec<StoredCheckin> = state.db.own_checkins(user.account.id).await?;
    let weeks: Vec<_> = checkins
        .iter()
        .map(|c| (c.week, c.answers.clone()))
        .collect();
    let reading = history::read(&weeks).sentences;
    let this_week = super::current_week(&state).await?;
    let signpost = checkins
        .iter()
        .find(|c| c.week == this_week)
        .is_some_and(|c| !scoring::signpost_reasons(&c.answers).is_empty());
    let labels: Vec<String> = checkins
        .iter()
        .map(|c| c.week.monday().format("%-d %b").to_string())
        .collect();
    let wellbeing: Vec<f64> = checkins
        .iter()
        .map(|c| f64::from(scoring::who5_percentage(&c.answers)))
        .collect();
    let burnout: Vec<f64> = checkins
        .iter()
        .map(|c| f64::from(c.answers.burnout()))
        .collect();
    let total: Vec<f64> = checkins
        .iter()
        .map(|c| f64::from(c.answers.total_hours()))
        .collect();
    let funding: Vec<f64> = checkins
        .iter()
        .map(|c| f64::from(c.answers.funding_hours()))
        .collect();
    let max_hours = total.iter().copied().fold(10.0, f64::max);
    let hours_top = (max_hours / 10.0).ceil() * 10.0;
    let hours_ticks: Vec<f64> = (0..=4).map(|i| hours_top * f64::from(i) / 4.0).collect();
    let wellbeing_chart = line_chart(
        "wellbeing",
        "Your wellbeing score by week (0 to 100)".into(),
        summary("Wellbeing score", &wellbeing, ""),
        &labels,
        vec![(
            "Wellbeing score".into(),
            wellbeing.iter().copied().map(Some).collect(),
        )],
        YAxis {
            min: 0.0,
            max: 100.0,
            ticks: &[0.0, 25.0, 50.0, 75.0, 100.0],
        },
        Some((50.0, "50: low wellbeing at or below".into())),
    );
    let burnout_chart = line_chart(
        "burnout",
        "Your burnout rating by week (1 to 5)".into(),
        summary("Burnout rating", &burnout, ""),
        &labels,
        vec![(
            "Burnout rating".into(),
            burnout.iter().copied().map(Some).collect(),
        )],
        YAxis {
            min: 1.0,
            max: 5.0,
            ticks: &[1.0, 2.0, 3.0, 4.0, 5.0],
        },
        None,
    );
    let hours_chart = line_chart(
        "hours",
        "Your hours for the group by week".into(),
        format!(
            "{} {}",
            summary("Total hours", &total, " h"),
            summary("Funding-paperwork hours", &funding, " h")
        ),
        &labels,
        vec![
            (
                "Total hours (paid and unpaid)".into(),
                total.iter().copied().map(Some).collect(),
            ),
            (
                "Funding-paperwork hours".into(),
                funding.iter().copied().map(Some).collect(),
            ),
        ],
        YAxis {
            min: 0.0,
            max: hours_top,
            ticks: &hours_ticks,
        },
        None,
    );
    let rows = checkins
        .iter()
        .rev()
        .map(|c| Row {
            week: c.week.human_label(),
            wellbeing: scoring::who5_percentage(&c.answers),
            burnout: c.answers.burnout(),
            paid: c.answers.paid_hours(),
            unpaid: c.answers.unpaid_hours(),
            funding: c.answers.funding_hours(),
            time_pressure: TIME_PRESSURE_OPTIONS[usize::from(c.answers.time_pressure().min(4))],
            note: c.answers.note().unwrap_or("").to_owned(),
        })
        .collect();
    render(&HistoryPage {
        nav: Nav::for_user(&state, &user).await?,
        signpost,
        reading,
        rows,
        wellbeing_chart,
        burnout_chart,
        hours_chart,
    })
}
