//! `/metrics` in the Prometheus text format, for the operator's monitoring: requests by route
//! template and status class, request latency, outbox backlog and failures, reports, and this
//! week's check-ins — counts only, never anything about a person. Served only to a scraper that
//! presents the configured bearer token; without one configured, `/metrics` does not exist.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::{AppError, AppState};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

#[derive(Default)]
pub struct Metrics {
    /// (method, route template, status class) → requests.
    requests: Mutex<BTreeMap<(String, String, &'static str), u64>>,
    /// Cumulative counts per bucket, then +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of latencies in microseconds.
    sum_micros: AtomicU64,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: StatusCode, seconds: f64) {
        let class = match status.as_u16() {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_owned(), route.to_owned(), class))
                .or_default() += 1;
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.buckets[BUCKETS.len()].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }
}

/// Middleware: counts every request under its route template (`/members/{id}/role`, never the
/// id itself) and times it.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    state.metrics.observe(
        &method,
        &route,
        response.status(),
        start.elapsed().as_secs_f64(),
    );
    response
}

fn authorised(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = state.config.metrics_token.as_deref() else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    bool::from(given.as_bytes().ct_eq(token.as_bytes()))
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `GET /metrics`.
pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    if !authorised(&state, &headers) {
        return Err(AppError::NotFound);
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP hearth_http_requests_total HTTP requests by route template and status class."
    );
    let _ = writeln!(out, "# TYPE hearth_http_requests_total counter");
    if let Ok(m) = state.metrics.requests.lock() {
        for ((method, route, class), n) in m.iter() {
            let _ = writeln!(
                out,
                "hearth_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{class}\"}} {n}",
                escape(method),
                escape(route)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP hearth_http_request_duration_seconds Time to answer a request."
    );
    let _ = writeln!(out, "# TYPE hearth_http_request_duration_seconds histogram");
    for (i, b) in BUCKETS.iter().enumerate() {
        let _ = writeln!(
            out,
            "hearth_http_request_duration_seconds_bucket{{le=\"{b}\"}} {}",
            state.metrics.buckets[i].load(Ordering::Relaxed)
        );
    }
    let count = state.metrics.buckets[BUCKETS.len()].load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "hearth_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
    );
    let _ = writeln!(
        out,
        "hearth_http_request_duration_seconds_sum {}",
        state.metrics.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
    );
    let _ = writeln!(out, "hearth_http_request_duration_seconds_count {count}");

    let (pending, delivered, failed) = state.db.outbox_counts().await?;
    for (name, help, v) in [
        (
            "hearth_outbox_pending",
            "Activities waiting to be delivered.",
            pending,
        ),
        (
            "hearth_outbox_delivered",
            "Activities delivered (kept rows).",
            delivered,
        ),
        (
            "hearth_outbox_failed",
            "Activities given up on after every retry.",
            failed,
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
    }
    if state.role == hearth_core::InstanceRole::Group {
        // This week's check-ins, only once at least k people answered: below that, a number
        // watched live could give someone away.
        let settings = state.settings().await?;
        let week = crate::pages::current_week(&state).await?;
        let n = state.db.respondents_so_far(week).await?;
        let _ = writeln!(
            out,
            "# HELP hearth_checkins_this_week Check-ins this week, shown from k upward.\n# TYPE hearth_checkins_this_week gauge"
        );
        if n >= i64::from(settings.min_count.get()) {
            let _ = writeln!(out, "hearth_checkins_this_week {n}");
        }
    } else {
        let groups = state.db.reporting_groups().await?;
        let _ = writeln!(
            out,
            "# HELP hearth_reporting_groups Groups with reports held at this hub.\n# TYPE hearth_reporting_groups gauge\nhearth_reporting_groups {groups}"
        );
    }
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        out,
    )
        .into_response())
}
