//! Several instances federating over loopback, each with its own host name, resolved to
//! 127.0.0.1 inside the HTTP client (no /etc/hosts edits).

use std::net::SocketAddr;
use std::time::Duration;

use hearth_core::InstanceRole;
use hearth_federation::FedOptions;
use hearth_federation::outbox::RetryPolicy;

use crate::{Backend, TestApp};

/// One running instance: the app (for its database and in-process pages) and its address.
pub struct Node {
    pub app: TestApp,
    pub name: String,
    pub port: u16,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Node {
    /// `name:port`, as handles and URLs carry it.
    pub fn host(&self) -> String {
        format!("{}:{}", self.name, self.port)
    }
    pub fn base(&self) -> String {
        format!("http://{}", self.host())
    }
    /// Stops serving and delivering (an outage).
    pub fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }

    /// Serves and delivers again on the same port after [`Node::stop`], with a fresh outbox
    /// worker (as a restarted process would have); the database is the same.
    pub async fn start(&mut self) {
        if !self.tasks.is_empty() {
            return;
        }
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                // The aborted server may take a moment to release the port.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        };
        self.tasks = serve(&self.app, listener);
    }
}

fn serve(app: &TestApp, listener: tokio::net::TcpListener) -> Vec<tokio::task::JoinHandle<()>> {
    let service = app
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, service).await;
    });
    // Never signalled: `Node::stop` aborts the worker, as an outage would.
    let worker = tokio::spawn(hearth_federation::outbox::run(
        app.state.federation.clone(),
        test_retry_policy(),
        Duration::from_millis(50),
        tokio_util::sync::CancellationToken::new(),
    ));
    vec![server, worker]
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Fast retries, so tests wait milliseconds rather than minutes.
pub fn test_retry_policy() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(100),
        cap: Duration::from_secs(1),
        max_attempts: 50,
    }
}

/// Starts one instance per `(host name, role)`, all able to reach each other by name.
pub async fn network(backend: Backend, specs: &[(&str, InstanceRole)]) -> Vec<Node> {
    network_with(backend, specs, None).await
}

/// The same, with a given inbox allowance per sending domain (benchmarks lift it).
pub async fn network_with(
    backend: Backend,
    specs: &[(&str, InstanceRole)],
    inbox_requests_per_minute: Option<u32>,
) -> Vec<Node> {
    let mut listeners = Vec::new();
    for _ in specs {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        listeners.push(l);
    }
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()).unwrap_or(0))
        .collect();
    let resolve: Vec<(String, SocketAddr)> = specs
        .iter()
        .zip(&ports)
        .map(|((name, _), port)| {
            (
                (*name).to_owned(),
                SocketAddr::from(([127, 0, 0, 1], *port)),
            )
        })
        .collect();
    let options = FedOptions {
        insecure_local: true,
        resolve,
        inbox_requests_per_minute,
    };
    let mut nodes = Vec::new();
    for (((name, role), port), listener) in specs.iter().zip(ports).zip(listeners) {
        let app = TestApp::build(backend, &format!("http://{name}:{port}/"), *role, &options).await;
        let tasks = serve(&app, listener);
        nodes.push(Node {
            app,
            name: (*name).to_owned(),
            port,
            tasks,
        });
    }
    nodes
}

/// Polls `check` until it holds, failing the test after `seconds`. Waits on a condition, not
/// a guessed duration.
pub async fn wait_for<F, Fut>(what: &str, seconds: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
