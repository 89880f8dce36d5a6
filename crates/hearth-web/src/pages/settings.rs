//! Group settings and profile, for facilitators.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_core::Tz;
use hearth_core::aggregate::{DEFAULT_K, MAX_K, MIN_K, MinCount};
use hearth_core::period::WeekClose;
use hearth_core::profile::{FOCUSES, Profile, REGIONS, SIZE_BANDS};
use hearth_db::GroupSettings;

use super::{Nav, render, render_with_status};
use crate::auth::Facilitator;
use crate::{AppError, AppState, csrf};

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage {
    pub nav: Nav,
    pub csrf: String,
    pub saved: bool,
    pub errors: Vec<(&'static str, String)>,
    pub name: String,
    pub description: String,
    pub timezone: String,
    pub weekdays: Vec<Choice>,
    pub hours: Vec<Choice>,
    pub ks: Vec<Choice>,
    pub k_below_default: bool,
    pub regions: Vec<Choice>,
    pub focuses: Vec<Choice>,
    pub sizes: Vec<Choice>,
    pub reminder_days: Vec<Choice>,
    /// Whether this instance is set up to send email.
    pub email: bool,
}

/// What the form holds, as typed.
#[derive(Debug, Default, Clone)]
pub struct SettingsInput {
    pub name: String,
    pub description: String,
    pub timezone: String,
    pub close_weekday: String,
    pub close_hour: String,
    pub min_count: String,
    pub region: String,
    pub size_band: String,
    pub focus: Vec<String>,
    /// ISO weekday number for email reminders.
    pub reminder_weekday: String,
}

impl SettingsInput {
    fn from_settings(s: &GroupSettings) -> Self {
        Self {
            name: s.name.clone(),
            description: s.description.clone(),
            timezone: s.timezone.name().to_owned(),
            close_weekday: s.close.weekday_number().to_string(),
            close_hour: s.close.hour.to_string(),
            min_count: s.min_count.get().to_string(),
            region: s.profile.region.unwrap_or("").to_owned(),
            size_band: s.profile.size_band.unwrap_or("").to_owned(),
            focus: s.profile.focuses.iter().map(|f| (*f).to_owned()).collect(),
            reminder_weekday: String::new(),
        }
    }

    fn from_form(body: &[u8]) -> Self {
        let mut input = Self::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "name" => input.name = v,
                "description" => input.description = v,
                "timezone" => input.timezone = v,
                "close_weekday" => input.close_weekday = v,
                "close_hour" => input.close_hour = v,
                "min_count" => input.min_count = v,
                "region" => input.region = v,
                "size_band" => input.size_band = v,
                "focus" => input.focus.push(v),
                "reminder_weekday" => input.reminder_weekday = v,
                _ => {}
            }
        }
        input
    }

    /// The new settings, keeping what this form does not set from `current`.
    fn parse(&self, current: &GroupSettings) -> Result<GroupSettings, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
            errors.push((
                "name",
                "Enter the group's name, up to 80 characters on one line".to_owned(),
            ));
        }
        let description = self.description.trim();
        if description.chars().count() > 1000 {
            errors.push((
                "description",
                "Keep the description under 1,000 characters".to_owned(),
            ));
        }
        let timezone = self.timezone.trim().parse::<Tz>();
        if timezone.is_err() {
            errors.push((
                "timezone",
                "Enter a time zone name such as Europe/London".to_owned(),
            ));
        }
        let num = |s: &str| s.trim().parse::<i64>().unwrap_or(-1);
        let close = WeekClose::new(num(&self.close_weekday), num(&self.close_hour));
        if let Err(e) = &close {
            errors.push(("close_weekday", e.to_string()));
        }
        let k = MinCount::new(num(&self.min_count));
        if let Err(e) = &k {
            errors.push(("min_count", e.to_string()));
        }
        let profile = Profile::parse(self.region.trim(), &self.focus, self.size_band.trim());
        if let Err(e) = &profile {
            errors.push(("region", e.to_string()));
        }
        match (timezone, close, k, profile) {
            (Ok(timezone), Ok(close), Ok(min_count), Ok(profile)) if errors.is_empty() => {
                Ok(GroupSettings {
                    name: name.to_owned(),
                    description: description.to_owned(),
                    timezone,
                    close,
                    min_count,
                    profile,
                    role: current.role,
                    hub_auto_accept: current.hub_auto_accept,
                })
            }
            _ => Err(errors),
        }
    }
}

pub(super) const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn choices(list: &[(&str, &str)], selected: &[&str], blank: Option<&str>) -> Vec<Choice> {
    let mut out: Vec<Choice> = blank
        .map(|b| Choice {
            value: String::new(),
            label: b.to_owned(),
            selected: selected.iter().all(|s| s.is_empty()),
        })
        .into_iter()
        .collect();
    out.extend(list.iter().map(|(v, l)| Choice {
        value: (*v).to_owned(),
        label: (*l).to_owned(),
        selected: selected.contains(v),
    }));
    out
}

async fn page(
    state: &AppState,
    f: &Facilitator,
    input: &SettingsInput,
    saved: bool,
    errors: Vec<(&'static str, String)>,
) -> Result<SettingsPage, AppError> {
    let weekdays: Vec<(String, String)> = WEEKDAYS
        .iter()
        .enumerate()
        .map(|(i, d)| ((i + 1).to_string(), (*d).to_owned()))
        .collect();
    let hours: Vec<(String, String)> = (0..24)
        .map(|h| (h.to_string(), format!("{h:02}:00")))
        .collect();
    let ks: Vec<(String, String)> = (MIN_K..=MAX_K)
        .map(|k| {
            let label = match k {
                k if k == DEFAULT_K => format!("{k} (recommended)"),
                k if k < DEFAULT_K => format!("{k} (less protection)"),
                k => k.to_string(),
            };
            (k.to_string(), label)
        })
        .collect();
    let as_refs = |v: &[(String, String)]| -> Vec<(String, String)> { v.to_vec() };
    let owned_choices = |list: Vec<(String, String)>, sel: &str| -> Vec<Choice> {
        list.into_iter()
            .map(|(value, label)| Choice {
                selected: value == sel,
                value,
                label,
            })
            .collect()
    };
    let focus_refs: Vec<&str> = input.focus.iter().map(String::as_str).collect();
    Ok(SettingsPage {
        nav: Nav::for_user(state, &f.0).await?,
        csrf: csrf::token(&f.0.session).await?,
        saved,
        errors,
        name: input.name.clone(),
        description: input.description.clone(),
        timezone: input.timezone.clone(),
        weekdays: owned_choices(as_refs(&weekdays), input.close_weekday.trim()),
        hours: owned_choices(as_refs(&hours), input.close_hour.trim()),
        k_below_default: input
            .min_count
            .trim()
            .parse::<u8>()
            .is_ok_and(|k| k < DEFAULT_K),
        ks: owned_choices(as_refs(&ks), input.min_count.trim()),
        regions: choices(&REGIONS, &[input.region.trim()], Some("Not chosen")),
        focuses: choices(&FOCUSES, &focus_refs, None),
        sizes: choices(&SIZE_BANDS, &[input.size_band.trim()], Some("Not chosen")),
        reminder_days: owned_choices(as_refs(&weekdays), input.reminder_weekday.trim()),
        email: state.config.email,
    })
}

pub async fn show(
    State(state): State<AppState>,
    f: Facilitator,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    let mut input = SettingsInput::from_settings(&settings);
    input.reminder_weekday = state.db.reminder_weekday().await?.to_string();
    render(&page(&state, &f, &input, q.contains_key("saved"), Vec::new()).await?)
}

pub async fn save(
    State(state): State<AppState>,
    f: Facilitator,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let input = SettingsInput::from_form(&body);
    let current = state.settings().await?;
    let reminder_day = match input.reminder_weekday.trim() {
        // A form without the field (an older page) keeps the day.
        "" => Ok(None),
        d => d
            .parse::<u8>()
            .ok()
            .filter(|d| (1..=7).contains(d))
            .map(Some)
            .ok_or(("reminder_weekday", "Choose a day of the week".to_owned())),
    };
    let parsed = match (input.parse(&current), reminder_day) {
        (Ok(s), Ok(d)) => Ok((s, d)),
        (Err(mut errors), day) => {
            errors.extend(day.err());
            Err(errors)
        }
        (Ok(_), Err(e)) => Err(vec![e]),
    };
    match parsed {
        Ok((settings, reminder_day)) => {
            state.save_settings(&settings).await?;
            if let Some(d) = reminder_day {
                state.db.set_reminder_weekday(d).await?;
            }
            tracing::info!(by = f.0.account.id, "group settings changed");
            Ok(Redirect::to("/settings?saved=1").into_response())
        }
        Err(errors) => Ok(render_with_status(
            StatusCode::BAD_REQUEST,
            &page(&state, &f, &input, false, errors).await?,
        )),
    }
}
