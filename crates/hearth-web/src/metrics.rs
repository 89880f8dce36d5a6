//! `/metrics` in the Prometheus text format, for the operator's monitoring: requests by route
//! template and status class (those that mean a check-in in steps of k), request latency,
//! outbox backlog and failures, and at a hub the groups reporting — counts only, never anything
//! about a person, and no count of the open week. Served only to a scraper that
//! presents the configured bearer token; without one configured, `/metrics` does not exist.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tracing::Instrument;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::{AppError, AppState};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Methods counted apart; any other is counted as `OTHER`.
const METHODS: [&str; 5] = ["GET", "POST", "HEAD", "DELETE", "OTHER"];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Requests that each mean one check-in (saving it, and the page it lands on). Their counters
/// follow the k rule: exported in whole steps of k, so a scrape never shows a single check-in.
const CHECKIN_REQUESTS: [(&str, &str); 2] = [("POST", "/checkin"), ("GET", "/checkin/saved")];

/// One route template's requests by method and status class.
type RouteCounts = [[AtomicU64; CLASSES.len()]; METHODS.len()];

#[derive(Default)]
pub struct Metrics {
    /// Route template → requests by method and status class. Looked up by `&str` under a read
    /// lock, so counting a request allocates nothing and threads do not wait on each other; the
    /// write lock is taken once per route template.
    requests: RwLock<HashMap<String, RouteCounts>>,
    /// Cumulative counts per bucket, then +Inf.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of latencies in microseconds.
    sum_micros: AtomicU64,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: StatusCode, seconds: f64) {
        let class = match status.as_u16() {
            100..=199 => 0,
            200..=299 => 1,
            300..=399 => 2,
            400..=499 => 3,
            _ => 4,
        };
        let m = METHODS
            .iter()
            .position(|x| *x == method)
            .unwrap_or(METHODS.len() - 1);
        let counted = self
            .requests
            .read()
            .ok()
            .and_then(|r| {
                r.get(route)
                    .map(|c| c[m][class].fetch_add(1, Ordering::Relaxed))
            })
            .is_some();
        if !counted && let Ok(mut w) = self.requests.write() {
            w.entry(route.to_owned()).or_default()[m][class].fetch_add(1, Ordering::Relaxed);
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

/// The target of the optional line per request: `RUST_LOG=info,hearth::requests=debug`.
pub const REQUEST_LOG: &str = "hearth::requests";

/// Middleware on every route: counts the request under its route template
/// (`/members/{id}/role`, never the id itself) and times it, and handles it inside a span with
/// its method, route template and request id, so every line logged meanwhile carries them. The
/// raw path, which can hold an invite token, is never recorded. The line per request is `debug`:
/// at `info` the log would be a record of who visits which page when.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let span = tracing::info_span!("request", method = %method, route, request_id);
    let response = next.run(request).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = response.status();
    state
        .metrics
        .observe(method.as_str(), route, status, elapsed.as_secs_f64());
    let _in = span.enter();
    let latency_ms = elapsed.as_secs_f64() * 1e3;
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), latency_ms, "request failed");
    } else {
        tracing::debug!(target: REQUEST_LOG, status = status.as_u16(), latency_ms, "request");
    }
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
    let k = u64::from(state.settings().await?.min_count.get()).max(1);
    if let Ok(m) = state.metrics.requests.read() {
        let mut routes: Vec<_> = m.iter().collect();
        routes.sort_by_key(|(route, _)| *route);
        for (route, counts) in routes {
            for (method, by_class) in METHODS.iter().zip(counts) {
                let per_checkin = CHECKIN_REQUESTS.contains(&(*method, route.as_str()));
                for (class, n) in CLASSES.iter().zip(by_class) {
                    let n = n.load(Ordering::Relaxed);
                    let n = if per_checkin { n - n % k } else { n };
                    if n > 0 {
                        let _ = writeln!(
                            out,
                            "hearth_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{class}\"}} {n}",
                            escape(route)
                        );
                    }
                }
            }
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
    // No count of the open week's check-ins: watched live, it would drop when a member is
    // removed and say whether they had checked in. The check-in routes above step by k.
    if state.role == hearth_core::InstanceRole::Hub {
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
