//! The federation layer's context and configuration: what every federation function is handed
//! (the database, the clock, the instance's address and role, the inbox's rate limits), the
//! HTTP client and the library's configuration.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use activitypub_federation::config::{FederationConfig, UrlVerifier};
use chrono::{DateTime, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hearth_core::InstanceRole;
use hearth_db::{Clock, Db};
use url::Url;

use crate::FedError;

/// What federation code needs from the instance: the database, its clock, where it lives and
/// what it is.
#[derive(Clone)]
pub struct FedContext {
    pub db: Db,
    /// The instance's one clock, shared with the web layer (`AppState` reads it from here).
    /// `activitypub_federation` still reads the system clock for what it does itself: the
    /// `Date` it signs, the dates it checks on requests it verifies, when a fetched actor is
    /// stale.
    pub clock: Arc<dyn Clock>,
    pub base: Url,
    pub role: InstanceRole,
    allow: AllowList,
    pub(crate) outbox_wake: Arc<tokio::sync::Notify>,
    pub(crate) limiter: Arc<PeerLimiter>,
    /// Actors fetched but not stored (a stranger's, to check its signature), kept briefly so
    /// the activity that request carries does not fetch the same actor again.
    pub(crate) fetched: Arc<crate::actor::Fetched>,
}

impl FedContext {
    /// The time, by the instance's clock: every federation function reads it here.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
    pub fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        u.set_path(path);
        u.set_query(None);
        u
    }
    pub fn actor_url(&self) -> Url {
        self.url("/actor")
    }
    pub fn inbox_url(&self) -> Url {
        self.url("/inbox")
    }
    /// Lets a domain be fetched from and send to us (a hub a facilitator is about to join).
    pub fn allow_domain(&self, url: &Url) {
        if let (Some(host), Ok(mut set)) = (url.host_str(), self.allow.domains.write()) {
            set.insert(host.to_owned());
        }
    }
    /// Tells the outbox worker there is something new to send.
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }
}

/// Domains a group instance talks to: the hubs it has joined or is joining. A hub accepts join
/// requests from anyone (rate limited) and checks membership per activity in the inbox.
#[derive(Clone)]
struct AllowList {
    open: bool,
    domains: Arc<RwLock<HashSet<String>>>,
    /// Peers stored by any process sharing this database count too.
    db: Db,
}

#[async_trait::async_trait]
impl UrlVerifier for AllowList {
    async fn verify(&self, url: &Url) -> Result<(), activitypub_federation::error::Error> {
        if self.open {
            return Ok(());
        }
        let host = url.host_str().unwrap_or_default();
        let known = self
            .domains
            .read()
            .map(|d| d.contains(host))
            .unwrap_or(false);
        if known {
            return Ok(());
        }
        let stored = self.db.peer_urls().await.unwrap_or_default();
        if stored
            .iter()
            .filter_map(|u| Url::parse(u).ok())
            .any(|u| u.host_str() == Some(host))
        {
            if let Ok(mut d) = self.domains.write() {
                d.insert(host.to_owned());
            }
            return Ok(());
        }
        Err(activitypub_federation::error::Error::UrlVerificationError(
            "this instance does not federate with that domain",
        ))
    }
}

/// How federation talks to the network.
#[derive(Debug, Clone, Default)]
pub struct FedOptions {
    /// Allow `http://`, ports and local addresses: for tests and demos on one machine only,
    /// never in production.
    pub insecure_local: bool,
    /// Host names to resolve to fixed addresses (tests and demos give every instance its own
    /// name on 127.0.0.1 this way).
    pub resolve: Vec<(String, SocketAddr)>,
    /// Inbox requests accepted per minute from one domain or address; `None` for the default,
    /// [`REQUESTS_PER_MINUTE`].
    pub inbox_requests_per_minute: Option<u32>,
}

tokio::task_local! {
    /// The status of the last response the federation client received, while an outbox
    /// delivery is being sent (see [`RecordStatus`]).
    pub(crate) static DELIVERY_STATUS: std::cell::Cell<Option<u16>>;
}

/// Notes each response's status for the delivery in progress: the library reports a final
/// refusal (a 4xx other than 408 and 429) as success, which Hearth must not count as delivered.
struct RecordStatus;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for RecordStatus {
    async fn handle(
        &self,
        req: reqwest::Request,
        extensions: &mut axum::http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let response = next.run(req, extensions).await;
        if let Ok(r) = &response {
            let status = r.status().as_u16();
            // Outside a delivery (actor fetches) there is nothing to note it in.
            let _ = DELIVERY_STATUS.try_with(|s| s.set(Some(status)));
        }
        response
    }
}

/// The HTTP client every federation request goes through. It speaks https (rustls with the
/// ring provider: the library's own reqwest has no TLS), follows no redirects and times out.
pub fn http_client(options: &FedOptions) -> Result<reqwest::Client, FedError> {
    // Installing twice is harmless: the first provider stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("Hearth/", env!("CARGO_PKG_VERSION")));
    for (name, addr) in &options.resolve {
        b = b.resolve(name, *addr);
    }
    b.build()
        .map_err(|e| FedError::Invalid(format!("HTTP client: {e}")))
}

/// Builds the federation configuration for this instance, reading time from `clock`.
pub async fn config(
    db: Db,
    clock: Arc<dyn Clock>,
    base: Url,
    role: InstanceRole,
    options: &FedOptions,
) -> Result<FederationConfig<FedContext>, FedError> {
    let domain = match (base.host_str(), base.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return Err(FedError::Invalid(format!("public URL {base} has no host"))),
    };
    let allow = AllowList {
        open: role == InstanceRole::Hub,
        domains: Arc::default(),
        db: db.clone(),
    };
    let ctx = FedContext {
        db,
        clock,
        base,
        role,
        allow: allow.clone(),
        outbox_wake: Arc::new(tokio::sync::Notify::new()),
        limiter: Arc::new(PeerLimiter::new(
            options
                .inbox_requests_per_minute
                .unwrap_or(REQUESTS_PER_MINUTE),
        )),
        fetched: Arc::default(),
    };
    for url in ctx.db.peer_urls().await? {
        if let Ok(u) = Url::parse(&url) {
            ctx.allow_domain(&u);
        }
    }
    let client = http_client(options)?;
    FederationConfig::builder()
        .domain(domain)
        .app_data(ctx)
        .client(
            reqwest_middleware::ClientBuilder::new(client)
                .with(RecordStatus)
                .build(),
        )
        .url_verifier(Box::new(allow))
        .http_signature_compat(true)
        .debug(options.insecure_local)
        .build()
        .await
        .map_err(|e| FedError::Invalid(format!("federation config: {e}")))
}

/// Requests per minute accepted from one sending domain, and from one address.
pub const REQUESTS_PER_MINUTE: u32 = 120;

/// The inbox's rate limits, by sending domain and by address.
pub struct PeerLimiter(DefaultKeyedRateLimiter<String>);

impl PeerLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self(RateLimiter::keyed(Quota::per_minute(
            NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
        )))
    }
    pub(crate) fn check(&self, key: String) -> Result<(), FedError> {
        self.0.check_key(&key).map_err(|_| FedError::RateLimited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// The library's reqwest has no TLS of its own; a missing TLS feature would pass every
    /// loopback test and fail in production. The production client must open a TLS handshake.
    #[tokio::test]
    async fn the_production_client_speaks_tls() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let first_bytes = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 3];
            socket.read_exact(&mut buf).await.unwrap();
            buf
        });
        let client = http_client(&FedOptions::default()).unwrap();
        // The handshake cannot complete (nothing answers it); only its first bytes matter.
        let _ = client
            .get(format!("https://127.0.0.1:{port}/"))
            .send()
            .await;
        let buf = tokio::time::timeout(std::time::Duration::from_secs(5), first_bytes)
            .await
            .expect("the client never connected: is TLS missing from the build?")
            .unwrap();
        assert_eq!(buf[0], 0x16, "a TLS handshake record");
        assert_eq!(buf[1], 0x03, "TLS version major byte");
    }
}
