//! Server-rendered SVG line charts: geometry is computed here, drawing is in `chart.html`.
//! Every chart carries a title and a text description, and pages put a data table beside it.

pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = WIDTH - 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = HEIGHT - 28.0;
/// More x labels than this would overlap on a phone.
const MAX_X_LABELS: usize = 8;

pub struct Gridline {
    pub y: f64,
    pub label_y: f64,
    pub label: String,
}

pub struct Reference {
    pub y: f64,
    pub label_y: f64,
    pub label: String,
}

pub struct XLabel {
    pub x: f64,
    pub label: String,
}

pub struct Point {
    pub x: f64,
    pub y: f64,
}

pub struct Series {
    pub name: String,
    pub points: Vec<Point>,
    /// SVG path; a gap in the data starts a new segment.
    pub path: String,
}

pub struct Chart {
    pub id: String,
    pub title: String,
    pub description: String,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    /// Where the y-axis labels end and where the x-axis labels sit.
    pub y_label_x: f64,
    pub x_label_y: f64,
    pub gridlines: Vec<Gridline>,
    pub reference: Option<Reference>,
    pub x_labels: Vec<XLabel>,
    pub series: Vec<Series>,
    /// An interval drawn as a shaded band behind the first series (an SVG path).
    pub band: Option<String>,
}

/// The y axis: range and tick values.
#[derive(Clone, Copy)]
pub struct YAxis<'a> {
    pub min: f64,
    pub max: f64,
    pub ticks: &'a [f64],
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Where the `i`th of `n` points sits across the plot.
fn x_position(i: usize, n: usize) -> f64 {
    if n <= 1 {
        (LEFT + RIGHT) / 2.0
    } else {
        round1(LEFT + 10.0 + (RIGHT - LEFT - 20.0) * i as f64 / (n - 1) as f64)
    }
}

/// Where value `v` sits up the plot (clamped to the axis).
fn y_position(v: f64, y: &YAxis<'_>) -> f64 {
    let span = (y.max - y.min).max(f64::EPSILON);
    round1(BOTTOM - (BOTTOM - TOP) * (v.clamp(y.min, y.max) - y.min) / span)
}

/// Lays out a line chart. `series` values line up with `x_labels`; `None` is a missing week.
pub fn line_chart(
    id: &str,
    title: String,
    description: String,
    x_labels: &[String],
    series: Vec<(String, Vec<Option<f64>>)>,
    y: YAxis<'_>,
    reference: Option<(f64, String)>,
) -> Chart {
    let n = x_labels.len();
    let x_at = |i: usize| x_position(i, n);
    let y_at = |v: f64| y_position(v, &y);
    let step = n.div_ceil(MAX_X_LABELS).max(1);
    let x_labels = x_labels
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i == n - 1)
        .map(|(i, l)| XLabel {
            x: x_at(i),
            label: l.clone(),
        })
        .collect();
    let series = series
        .into_iter()
        .map(|(name, values)| {
            let mut path = String::new();
            let mut points = Vec::new();
            let mut pen_down = false;
            for (i, v) in values.iter().enumerate() {
                match v {
                    Some(v) => {
                        let (px, py) = (x_at(i), y_at(*v));
                        path.push_str(&format!("{}{px} {py} ", if pen_down { "L" } else { "M" }));
                        points.push(Point { x: px, y: py });
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            Series {
                name,
                points,
                path: path.trim_end().to_owned(),
            }
        })
        .collect();
    Chart {
        id: id.to_owned(),
        title,
        description,
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right: RIGHT,
        y_label_x: LEFT - 6.0,
        x_label_y: HEIGHT - 6.0,
        gridlines: y
            .ticks
            .iter()
            .map(|t| Gridline {
                y: y_at(*t),
                label_y: y_at(*t) + 4.0,
                label: format!("{t}"),
            })
            .collect(),
        reference: reference.map(|(v, label)| Reference {
            y: y_at(v),
            label_y: y_at(v) - 4.0,
            label,
        }),
        x_labels,
        series,
        band: None,
    }
}

/// A line chart of one series with its interval as a shaded band: `values` are
/// (value, low, high) per x label, `None` where a period is not shown.
pub fn interval_chart(
    id: &str,
    title: String,
    description: String,
    x_labels: &[String],
    name: String,
    values: &[Option<(f64, f64, f64)>],
    y: YAxis<'_>,
) -> Chart {
    let mut chart = line_chart(
        id,
        title,
        description,
        x_labels,
        vec![(name, values.iter().map(|v| v.map(|(m, _, _)| m)).collect())],
        y,
        None,
    );
    let n = x_labels.len();
    let x_at = |i: usize| x_position(i, n);
    let y_at = |v: f64| y_position(v, &y);
    // One closed shape per unbroken run of shown periods: highs left to right, lows back.
    let mut band = String::new();
    let mut run: Vec<(usize, f64, f64)> = Vec::new();
    let flush = |run: &mut Vec<(usize, f64, f64)>, band: &mut String| {
        if run.is_empty() {
            return;
        }
        for (k, (i, _, high)) in run.iter().enumerate() {
            band.push_str(&format!(
                "{}{} {} ",
                if k == 0 { "M" } else { "L" },
                x_at(*i),
                y_at(*high)
            ));
        }
        for (i, low, _) in run.iter().rev() {
            band.push_str(&format!("L{} {} ", x_at(*i), y_at(*low)));
        }
        band.push_str("Z ");
        run.clear();
    };
    for (i, v) in values.iter().enumerate() {
        match v {
            Some((_, low, high)) => run.push((i, *low, *high)),
            None => flush(&mut run, &mut band),
        }
    }
    flush(&mut run, &mut band);
    chart.band = (!band.is_empty()).then(|| band.trim_end().to_owned());
    chart
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: Vec<Option<f64>>) -> Chart {
        let labels: Vec<String> = (0..values.len()).map(|i| format!("w{i}")).collect();
        line_chart(
            "c",
            "t".into(),
            "d".into(),
            &labels,
            vec![("s".into(), values)],
            YAxis {
                min: 0.0,
                max: 100.0,
                ticks: &[0.0, 50.0, 100.0],
            },
            Some((50.0, "line".into())),
        )
    }

    #[test]
    fn values_map_into_the_plot_area_and_gaps_break_the_line() {
        let c = chart(vec![Some(0.0), Some(100.0), None, Some(50.0)]);
        let s = &c.series[0];
        assert_eq!(s.points.len(), 3);
        assert_eq!(s.points[0].y, BOTTOM);
        assert_eq!(s.points[1].y, TOP);
        assert_eq!(s.path.matches('M').count(), 2, "{}", s.path);
        assert_eq!(
            c.reference.as_ref().map(|r| r.y),
            Some(round1((TOP + BOTTOM) / 2.0))
        );
        assert!(s.points.windows(2).all(|w| w[0].x < w[1].x));
    }

    #[test]
    fn a_single_week_is_centred_and_long_histories_thin_their_labels() {
        let c = chart(vec![Some(40.0)]);
        assert_eq!(c.series[0].points[0].x, (LEFT + RIGHT) / 2.0);
        let c = chart(vec![Some(1.0); 52]);
        assert!(c.x_labels.len() <= MAX_X_LABELS + 1, "{}", c.x_labels.len());
        assert_eq!(c.x_labels.last().map(|l| l.label.as_str()), Some("w51"));
    }
}
