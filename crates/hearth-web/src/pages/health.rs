use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;

/// `200 ok` when the database answers; `503` otherwise. Says nothing else.
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.db.group_settings().await {
        Ok(Some(_)) => (StatusCode::OK, "ok\n"),
        Ok(None) => (StatusCode::SERVICE_UNAVAILABLE, "not initialised\n"),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}
