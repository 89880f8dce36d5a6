//! Hearth's web layer: the axum router, sessions, CSRF, rate limiting and the pages.
//!
//! Handlers are thin: extract → parse (into `hearth-core` types) → decide → store (`hearth-db`)
//! → render an askama page. Every page renders server-side and works without JavaScript.
//!
//! Invariants kept here:
//! - A check-in, its scores and its note are only ever loaded for the signed-in author
//!   ([`auth::CurrentUser`] is the only source of the account id used in those queries).
//! - Every state-changing request carries a valid CSRF token ([`csrf`] guards the whole router).
//! - Errors become an HTML page with a way back and the right status; internal causes are
//!   logged, never shown.

pub mod auth;
pub mod charts;
pub mod csrf;
pub mod csv_out;

pub mod error;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod pages;

/// Closing weeks is the week closer's job ([`jobs::weeks`]); pages that show group figures
/// call it too.
pub mod periods {
    pub use crate::jobs::weeks::close_due_weeks;
}

pub mod session_store;
pub mod setup;
pub mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use activitypub_federation::config::{FederationConfig, FederationMiddleware};
use hearth_core::InstanceRole;
use hearth_federation::{FedContext, discovery, inbox};

pub use error::AppError;
/// The clock lives in the data layer, shared with federation; these paths keep working.
pub use hearth_db::clock::{self, Clock, FixedClock, SystemClock};

/// Settings the web layer needs from the instance configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Where people reach this instance, e.g. `https://hearth.example.org`. Links in invites
    /// use it; an `https` URL also marks cookies `Secure`.
    pub public_url: url::Url,
    /// Take the client address from the last `X-Forwarded-For` hop (only behind a proxy that
    /// sets it), for login rate limiting.
    pub behind_proxy: bool,
    /// Login and join attempts allowed per client address and per username, per minute.
    pub login_attempts_per_minute: u32,
    /// Bearer token a Prometheus scraper must present for `/metrics`; none: no `/metrics`.
    pub metrics_token: Option<String>,
    /// This instance sends email (reminders are offered).
    pub email: bool,
}

impl WebConfig {
    pub fn for_url(public_url: url::Url) -> Self {
        Self {
            public_url,
            behind_proxy: false,
            login_attempts_per_minute: 10,
            metrics_token: None,
            email: false,
        }
    }

    /// An absolute link to `path` on this instance.
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.public_url.as_str().trim_end_matches('/'), path)
    }
}

/// Shared state handed to every handler. Extractors clone it for every request, so it is one
/// reference-counted pointer; the fields are read through it (`state.db`).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

#[derive(Clone)]
pub struct AppStateInner {
    pub db: hearth_db::Db,
    /// The instance's clock: the same one its federation context reads.
    pub clock: Arc<dyn Clock>,
    pub config: Arc<WebConfig>,
    pub limiter: Arc<auth::AttemptLimiter>,
    pub federation: FederationConfig<FedContext>,
    /// Group instance or hub: decides which pages exist.
    pub role: InstanceRole,
    pub metrics: Arc<metrics::Metrics>,
    /// What pages keep for themselves between requests (see [`AppState::extension`]).
    extensions: Arc<Extensions>,
    /// The instance's settings as last read, and when: nearly every page needs them.
    settings_cache: Arc<std::sync::RwLock<Option<(std::time::Instant, hearth_db::GroupSettings)>>>,
}

/// Values by type, one of each per state (see [`AppState::extension`]).
#[derive(Default)]
struct Extensions(
    std::sync::RwLock<
        std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>,
    >,
);

impl Extensions {
    fn get<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let key = std::any::TypeId::of::<T>();
        let found = self
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let value = match found {
            Some(v) => v,
            None => self
                .0
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .entry(key)
                .or_insert_with(|| Arc::new(T::default()))
                .clone(),
        };
        // Keyed by `T`'s own type id, so the value is a `T`.
        value.downcast::<T>().unwrap_or_default()
    }
}

/// How long a read of the settings is reused. Changes made here forget it at once; this bounds
/// how late a change made by another process (a second server on the same database) shows.
const SETTINGS_FRESH: std::time::Duration = std::time::Duration::from_secs(1);

impl AppState {
    /// The state over `federation`, whose clock the pages read too: one clock per instance.
    pub fn new(
        db: hearth_db::Db,
        config: WebConfig,
        federation: FederationConfig<FedContext>,
    ) -> Self {
        let limiter = Arc::new(auth::AttemptLimiter::new(config.login_attempts_per_minute));
        let (role, clock) = {
            let ctx = federation.to_request_data();
            (ctx.role, ctx.clock.clone())
        };
        Self(Arc::new(AppStateInner {
            db,
            clock,
            config: Arc::new(config),
            limiter,
            federation,
            role,
            metrics: Arc::default(),
            extensions: Arc::default(),
            settings_cache: Arc::default(),
        }))
    }

    /// The same state (database, caches, counters) under another configuration.
    pub fn with_config(&self, config: WebConfig) -> Self {
        let mut inner = (*self.0).clone();
        inner.config = Arc::new(config);
        Self(Arc::new(inner))
    }

    /// The instance's settings; every instance has them from its first start.
    pub async fn settings(&self) -> Result<hearth_db::GroupSettings, AppError> {
        if let Ok(cached) = self.settings_cache.read()
            && let Some((at, settings)) = cached.as_ref()
            && at.elapsed() < SETTINGS_FRESH
        {
            return Ok(settings.clone());
        }
        let settings = self
            .db
            .group_settings()
            .await?
            .ok_or_else(|| AppError::Internal("instance not initialised".into()))?;
        if let Ok(mut cached) = self.settings_cache.write() {
            *cached = Some((std::time::Instant::now(), settings.clone()));
        }
        Ok(settings)
    }

    /// Stores changed settings; the next read sees them.
    pub async fn save_settings(&self, settings: &hearth_db::GroupSettings) -> Result<(), AppError> {
        let saved = self.db.update_group_settings(settings).await;
        if let Ok(mut cached) = self.settings_cache.write() {
            *cached = None;
        }
        Ok(saved?)
    }

    /// This state's value of type `T`, made on first use and shared by every request (and by
    /// [`AppState::with_config`]'s copies). A page keeps its own cache this way without the
    /// state naming the page's types.
    pub fn extension<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        self.extensions.get()
    }

    /// Federation context for one request.
    pub fn fed(&self) -> activitypub_federation::config::Data<FedContext> {
        self.federation.to_request_data()
    }
}

/// Session lifetime after the last request.
const SESSION_IDLE_DAYS: i64 = 14;

/// The whole application as one router. Which pages exist depends on the instance's role.
pub fn router(state: AppState) -> Router {
    let secure = state.config.public_url.scheme() == "https";
    let sessions = SessionManagerLayer::new(session_store::DbSessionStore::new(state.db.clone()))
        .with_name(session_store::COOKIE_NAME)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(
            SESSION_IDLE_DAYS,
        )));
    let by_role = match state.role {
        InstanceRole::Group => group_routes(),
        InstanceRole::Hub => hub_routes(),
    };
    // Only the federation endpoints read the federation context from the request; giving it to
    // every page would clone it for every request.
    let federation =
        federation_routes().route_layer(FederationMiddleware::new(state.federation.clone()));
    let routes = common_routes()
        .merge(by_role)
        .merge(federation)
        // Counts and times every request, and runs it in a span with its method, route
        // template and request id.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .fallback(pages::not_found)
        .with_state(state);
    // The layers every request passes, wrapped once around the whole router: a layer added to
    // a router wraps each route separately, and each such wrapping costs an allocation and a
    // copy of the layers within it on every request. Outermost first.
    let around = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(sessions)
        .layer(axum::middleware::from_fn(csrf::guard))
        .service(routes);
    Router::new().fallback_service(around)
}

/// Pages every instance has: accounts, people, invites, and federation endpoints.
fn common_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home::show))
        .route("/healthz", get(pages::health::healthz))
        .route("/metrics", get(metrics::show))
        .route("/static/hearth.css", get(pages::assets::stylesheet))
        .route("/support", get(pages::support::show))
        .route("/login", get(pages::login::show).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .route(
            "/join/{token}",
            get(pages::join::show).post(pages::join::submit),
        )
        .route("/account", get(pages::account::show))
        .route("/account/password", post(pages::account::change_password))
        .route("/account/export.json", get(pages::account::export_json))
        .route("/account/export.csv", get(pages::account::export_csv))
        .route(
            "/account/delete",
            get(pages::account::delete_form).post(pages::account::delete),
        )
        .route("/members", get(pages::members::list))
        .route("/members/{id}/role", post(pages::members::set_role))
        .route(
            "/members/{id}/remove",
            get(pages::members::confirm_remove).post(pages::members::remove),
        )
        .route(
            "/invites",
            get(pages::invites::list).post(pages::invites::create),
        )
        .route("/invites/{id}/revoke", post(pages::invites::revoke))
}

/// Federation: discovery, the actor, the context document, the inbox.
fn federation_routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/webfinger", get(discovery::webfinger))
        .route("/.well-known/nodeinfo", get(discovery::nodeinfo_links))
        .route("/nodeinfo/2.1", get(discovery::nodeinfo))
        .route(
            hearth_federation::vocab::CONTEXT_PATH,
            get(discovery::context_document),
        )
        .route("/actor", get(pages::actor::show))
        .route("/outbox", get(discovery::outbox_collection))
        .route("/followers", get(discovery::followers_collection))
        .route("/inbox", post(inbox::post_inbox))
}

/// A group instance: check-ins, history, the group's picture, settings, hubs.
fn group_routes() -> Router<AppState> {
    Router::new()
        .route("/account/consent", post(pages::account::set_consent))
        .route("/account/reminders", post(pages::reminders::save))
        .route(
            "/reminders/stop/{token}",
            get(pages::reminders::confirm).post(pages::reminders::stop),
        )
        .route(
            "/checkin",
            get(pages::checkin::show).post(pages::checkin::submit),
        )
        .route("/checkin/saved", get(pages::checkin::saved))
        .route("/history", get(pages::history::show))
        .route("/group", get(pages::group::show))
        .route("/group/export.csv", get(pages::group::export_csv))
        .route(
            "/settings",
            get(pages::settings::show).post(pages::settings::save),
        )
        .route("/hubs", get(pages::hubs::list).post(pages::hubs::join))
        .route("/hubs/{id}/leave", post(pages::hubs::leave))
        .route(
            "/hubs/{id}/sharing",
            get(pages::sharing::show).post(pages::sharing::save),
        )
        .route("/hubs/{id}/erase", post(pages::sharing::erase))
        .route(
            "/hubs/{id}/pairs/refresh",
            post(pages::group_pairs::refresh),
        )
        .route(
            "/hubs/{id}/pairs/{pair}",
            get(pages::group_pairs::show).post(pages::group_pairs::save),
        )
        .route("/shared", get(pages::sharing::audit_log))
        .route("/shared/{id}/approve", post(pages::sharing::approve))
        .route("/shared/{id}/decline", post(pages::sharing::decline))
        .route("/shared/{id}/again", post(pages::sharing::send_again))
        // A sent report, for its hub alone (signed fetch).
        .route("/reports/{id}", get(pages::sharing::fetch))
}

/// A network hub: the groups that joined or asked to.
fn hub_routes() -> Router<AppState> {
    Router::new()
        .route("/groups", get(pages::hub::groups))
        .route("/groups/{id}/decide", post(pages::hub::decide))
        .route("/groups/settings", post(pages::hub::settings))
        .route(
            "/pairs",
            get(pages::pairs::show).post(pages::pairs::propose),
        )
        .route("/pairs/{id}/answer", post(pages::pairs::answer))
        .route("/pairs/{id}/end", post(pages::pairs::end))
        .route("/sector", get(pages::sector::show))
        .route("/sector/alerts", get(pages::sector::alerts))
        .route("/sector/alerts/ack", post(pages::sector::acknowledge))
        .route("/sector/settings", post(pages::sector::save_settings))
        .route("/sector/export.csv", get(pages::sector::export_csv))
        .route("/sector/export.json", get(pages::sector::export_json))
        .route("/public/sector", get(pages::sector::public))
        .route("/sector/publish", post(pages::sector::publish))
        .route("/summaries/{period}", get(pages::sector::summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extension_is_made_once_per_state_and_type() {
        #[derive(Default)]
        struct Counter(std::sync::atomic::AtomicU32);
        let (one, other) = (Extensions::default(), Extensions::default());
        one.get::<Counter>()
            .0
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let again = one.get::<Counter>();
        assert_eq!(again.0.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert!(Arc::ptr_eq(&again, &one.get::<Counter>()));
        assert_eq!(
            other
                .get::<Counter>()
                .0
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
        assert_eq!(*one.get::<String>(), "");
    }
}
