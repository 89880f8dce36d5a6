//! The group's own picture: frozen weekly aggregates, shown only for closed weeks with at
//! least k respondents. Members and facilitators see the same figures.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use hearth_core::aggregate::{MinCount, Shown, WeekFigures};
use hearth_core::{IsoWeek, Role};
use hearth_db::FrozenWeek;

use super::{Nav, account::download, render};
use crate::auth::{CurrentUser, Facilitator};
use crate::charts::{Chart, YAxis, line_chart};
use crate::jobs::weeks::close_due_weeks;
use crate::{AppError, AppState};

pub struct FigureRow {
    pub wellbeing: String,
    pub low_wellbeing: String,
    pub burnout: String,
    pub time_pressure: String,
    pub paid: String,
    pub unpaid: String,
    pub funding: String,
}

/// One measure of "our group beside the sector".
pub struct BesideRow {
    pub measure: &'static str,
    pub ours: String,
    pub sector: String,
    pub region: Option<String>,
}

/// A hub's newest summary beside the group's own frozen weeks of that period.
pub struct Beside {
    pub hub: String,
    pub period: String,
    pub region_label: Option<String>,
    pub rows: Vec<BesideRow>,
}

pub struct WeekRow {
    pub week: String,
    pub participation: String,
    pub figures: Option<FigureRow>,
}

#[derive(Template)]
#[template(path = "group.html")]
pub struct GroupPage {
    pub nav: Nav,
    pub group_name: String,
    pub k: u8,
    pub close: String,
    pub rows: Vec<WeekRow>,
    pub readings: Vec<String>,
    pub has_figures: bool,
    pub so_far: Option<String>,
    pub wellbeing_chart: Chart,
    pub shares_chart: Chart,
    pub hours_chart: Chart,
    pub beside: Vec<Beside>,
}

fn pct(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// A share as shown, with the "not all, not none" bands ("20% or less").
fn share(s: Shown) -> String {
    s.describe(pct)
}

fn one_decimal(v: f64) -> String {
    format!("{v:.1}")
}

fn whole(v: f64) -> String {
    format!("{v:.0}")
}

fn figure_row(f: &WeekFigures) -> FigureRow {
    FigureRow {
        wellbeing: f.mean_wellbeing.describe(whole),
        low_wellbeing: share(f.share_low_wellbeing),
        burnout: share(f.share_burnout),
        time_pressure: share(f.share_time_pressure),
        paid: f.mean_paid_hours.describe(one_decimal),
        unpaid: f.mean_unpaid_hours.describe(one_decimal),
        funding: f
            .funding_share_of_hours
            .map(share)
            .unwrap_or_else(|| "no hours".into()),
    }
}

/// Plain sentences about the newest shown week, against the shown week before it.
fn readings(shown: &[(IsoWeek, WeekFigures)], k: MinCount) -> Vec<String> {
    let Some(((week, latest), earlier)) = shown.split_last() else {
        return vec![format!(
            "No group figures yet. They appear for a week once it has closed and at least {} people answered.",
            k.get()
        )];
    };
    let mut out = vec![format!(
        "In the {}, {} people answered. Average wellbeing was {} out of 100; {} were in the low-wellbeing range.",
        week.human_label(),
        latest.respondents,
        latest.mean_wellbeing.describe(whole),
        share(latest.share_low_wellbeing)
    )];
    if let Some((prev_week, prev)) = earlier.last() {
        let change = |now: Shown, before: Shown| {
            let (now, before) = (now.value(), before.value());
            if (now - before).abs() < 0.05 {
                "about the same as"
            } else if now > before {
                "up from"
            } else {
                "down from"
            }
        };
        out.push(format!(
            "The share at burnout level 3 or above was {}, {} {} in the {}.",
            share(latest.share_burnout),
            change(latest.share_burnout, prev.share_burnout),
            share(prev.share_burnout),
            prev_week.human_label()
        ));
    } else {
        out.push(format!(
            "The share at burnout level 3 or above was {}.",
            share(latest.share_burnout)
        ));
    }
    if let Some(f) = latest.funding_share_of_hours {
        out.push(format!(
            "{} of the hours people gave went on funding applications, reports and monitoring.",
            share(f)
        ));
    }
    out
}

/// Each hub's newest summary beside the group's own figures for the same period: the frozen
/// weeks of that period that had at least k answers, added up. Nothing of ours below k.
async fn beside_the_sector(
    state: &AppState,
    weeks: &[FrozenWeek],
    k: MinCount,
    region: Option<&'static str>,
) -> Result<Vec<Beside>, AppError> {
    use hearth_core::report::ReportPeriod;
    use hearth_core::sector::Measure;
    use hearth_federation::protocol::summary::Figure;
    let mut out = Vec::new();
    for (_, hub, period, figures) in state.db.latest_sector_summaries().await? {
        let Ok(p) = period.parse::<ReportPeriod>() else {
            continue;
        };
        let figures: Vec<Figure> = serde_json::from_str(&figures).unwrap_or_default();
        let in_period = p.weeks();
        let mut total = hearth_core::aggregate::WeekTotals::default();
        for w in weeks
            .iter()
            .filter(|w| in_period.contains(&w.week) && w.shown(k))
        {
            total.respondents += w.totals.respondents;
            total.low_wellbeing += w.totals.low_wellbeing;
            total.burnout += w.totals.burnout;
            total.time_pressure += w.totals.time_pressure;
        }
        let ours = |count: u32| {
            if total.respondents >= u32::from(k.get()) {
                share(Shown::share(count, total.respondents))
            } else {
                "not enough answers".to_owned()
            }
        };
        let find = |segment: &str, m: Measure| {
            figures
                .iter()
                .find(|f| f.segment == segment && f.measure == m.slug())
                .map(|f| {
                    format!(
                        "{} ({} to {}){}",
                        pct(f.share),
                        pct(f.interval_low),
                        pct(f.interval_high),
                        // A pair's figure had its noise added once, to the sum.
                        if f.aggregation.as_deref() == Some("pair") {
                            ", from a hub pair"
                        } else {
                            ""
                        }
                    )
                })
        };
        let region_key = region.map(|r| format!("region:{r}"));
        let has_region = region_key
            .as_deref()
            .is_some_and(|rk| figures.iter().any(|f| f.segment == rk));
        let rows = Measure::all()
            .filter_map(|m| Some((m, total.count_of(m)?)))
            .filter_map(|(m, count)| {
                Some(BesideRow {
                    measure: m.title(),
                    ours: ours(count),
                    sector: find("network", m)?,
                    region: region_key
                        .as_deref()
                        .filter(|_| has_region)
                        .map(|rk| find(rk, m).unwrap_or_else(|| "not shown".into())),
                })
            })
            .collect();
        out.push(Beside {
            hub,
            period: p.human_label(),
            region_label: has_region
                .then(|| region.map(|r| hearth_core::sector::Segment::Region(r.into()).describe()))
                .flatten(),
            rows,
        });
    }
    Ok(out)
}

/// Loads the frozen weeks after closing any that are due.
pub async fn closed_weeks(state: &AppState) -> Result<(Vec<FrozenWeek>, MinCount), AppError> {
    close_due_weeks(&state.db, state.clock.now()).await?;
    let k = state
        .db
        .group_settings()
        .await?
        .map(|s| s.min_count)
        .unwrap_or_default();
    Ok((state.db.frozen_weeks().await?, k))
}

pub async fn show(State(state): State<AppState>, user: CurrentUser) -> Result<Response, AppError> {
    let settings = state.settings().await?;
    let (weeks, k) = closed_weeks(&state).await?;
    let shown: Vec<(IsoWeek, WeekFigures)> = weeks
        .iter()
        .filter_map(|w| w.figures(k).map(|f| (w.week, f)))
        .collect();
    let labels: Vec<String> = weeks
        .iter()
        .map(|w| w.week.monday().format("%-d %b").to_string())
        .collect();
    let fig = |w: &FrozenWeek| w.figures(k);
    let series = |f: &dyn Fn(&WeekFigures) -> f64| -> Vec<Option<f64>> {
        weeks.iter().map(|w| fig(w).map(|x| f(&x))).collect()
    };
    let suppressed_note = format!(
        "Weeks with fewer than {} answers are left out. The table below lists every week.",
        k.get()
    );
    let wellbeing_chart = line_chart(
        "group-wellbeing",
        "Group average wellbeing by week (0 to 100)".into(),
        format!(
            "Average WHO-5 wellbeing score of the people who answered each closed week. {suppressed_note}"
        ),
        &labels,
        vec![(
            "Average wellbeing".into(),
            series(&|f| f.mean_wellbeing.value()),
        )],
        YAxis {
            min: 0.0,
            max: 100.0,
            ticks: &[0.0, 25.0, 50.0, 75.0, 100.0],
        },
        Some((50.0, "50: low wellbeing at or below".into())),
    );
    let shares_chart = line_chart(
        "group-shares",
        "Share of people with low wellbeing, and at burnout level 3 or above, by week (%)".into(),
        format!(
            "Two lines: percentage with low wellbeing, and percentage at burnout 3 or above. {suppressed_note}"
        ),
        &labels,
        vec![
            (
                "Low wellbeing (%)".into(),
                series(&|f| f.share_low_wellbeing.value() * 100.0),
            ),
            (
                "Burnout 3 or above (%)".into(),
                series(&|f| f.share_burnout.value() * 100.0),
            ),
        ],
        YAxis {
            min: 0.0,
            max: 100.0,
            ticks: &[0.0, 25.0, 50.0, 75.0, 100.0],
        },
        None,
    );
    let max_hours = weeks
        .iter()
        .filter_map(fig)
        .map(|f| f.mean_paid_hours.value().max(f.mean_unpaid_hours.value()))
        .fold(10.0, f64::max);
    let top = (max_hours / 10.0).ceil() * 10.0;
    let ticks: Vec<f64> = (0..=4).map(|i| top * f64::from(i) / 4.0).collect();
    let hours_chart = line_chart(
        "group-hours",
        "Average paid and unpaid hours per person by week".into(),
        format!(
            "Two lines: average paid hours and average unpaid hours per person who answered. {suppressed_note}"
        ),
        &labels,
        vec![
            ("Paid hours".into(), series(&|f| f.mean_paid_hours.value())),
            (
                "Unpaid hours".into(),
                series(&|f| f.mean_unpaid_hours.value()),
            ),
        ],
        YAxis {
            min: 0.0,
            max: top,
            ticks: &ticks,
        },
        None,
    );
    let rows = weeks
        .iter()
        .rev()
        .map(|w| {
            let figures = fig(w);
            WeekRow {
                week: w.week.human_label(),
                participation: match figures {
                    Some(f) => format!("{} people", f.respondents),
                    None => format!("fewer than {}", k.get()),
                },
                figures: figures.as_ref().map(figure_row),
            }
        })
        .collect();
    // The week in progress shows no count at all: one watched live (it drops when a member is
    // removed) would tell a facilitator whether that person had checked in.
    let so_far = (user.account.role == Role::Facilitator).then(|| {
        "Nothing is counted while the week is open, so no one can tell who has checked in. This week's figures appear here once it closes."
            .to_owned()
    });
    let beside = beside_the_sector(&state, &weeks, k, settings.profile.region).await?;
    render(&GroupPage {
        beside,
        nav: Nav::for_user(&state, &user).await?,
        group_name: settings.name,
        k: k.get(),
        close: settings.close.describe(),
        readings: readings(&shown, k),
        has_figures: !shown.is_empty(),
        rows,
        so_far,
        wellbeing_chart,
        shares_chart,
        hours_chart,
    })
}

/// The closed weeks with enough answers, as CSV. Weeks below k are left out entirely.
pub async fn export_csv(
    State(state): State<AppState>,
    _f: Facilitator,
) -> Result<Response, AppError> {
    let (weeks, k) = closed_weeks(&state).await?;
    let mut w = crate::csv_out::Writer::new(&[
        "week",
        "week_starting",
        "respondents",
        "mean_wellbeing",
        "share_low_wellbeing",
        "share_burnout",
        "share_time_pressure",
        "mean_paid_hours",
        "mean_unpaid_hours",
        "funding_share_of_hours",
    ]);
    let three = |v: f64| format!("{v:.3}");
    for week in &weeks {
        let Some(f) = week.figures(k) else {
            continue;
        };
        w.row(&[
            week.week.to_string(),
            week.week.monday().to_string(),
            f.respondents.to_string(),
            f.mean_wellbeing.cell(|v| format!("{v:.1}")),
            f.share_low_wellbeing.cell(three),
            f.share_burnout.cell(three),
            f.share_time_pressure.cell(three),
            f.mean_paid_hours.cell(|v| format!("{v:.2}")),
            f.mean_unpaid_hours.cell(|v| format!("{v:.2}")),
            f.funding_share_of_hours
                .map(|v| v.cell(three))
                .unwrap_or_default(),
        ]);
    }
    Ok(download(
        "text/csv; charset=utf-8",
        "attachment; filename=\"hearth-group-weeks.csv\"",
        w.finish(),
    ))
}
