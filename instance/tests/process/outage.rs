//! Durable delivery across outages: the hub goes down while a group keeps sending, the group
//! is killed with SIGKILL mid-way and restarted, the hub comes back, and every activity arrives
//! exactly once. Real `hearth` processes on loopback, each under its own host name.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use crate::common::free_port;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use activitypub_federation::fetch::webfinger::webfinger_resolve_actor;
use hearth_core::InstanceRole;
use hearth_db::{Db, MembershipState};
use hearth_federation::actor::Peer;
use hearth_federation::{FedContext, FedOptions, membership};

fn hearth(dir: &Path, args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("HEARTH_DATA_DIR")
        .env_remove("HEARTH_LISTEN")
        .env_remove("HEARTH_PUBLIC_URL")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A `hearth serve` process, killed with SIGKILL when dropped.
struct Server {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
}

impl Server {
    fn start(dir: &Path, port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("--data-dir")
            .arg(dir)
            .arg("serve")
            .env_remove("HEARTH_LISTEN")
            .env_remove("HEARTH_PUBLIC_URL")
            .env("RUST_LOG", "info,activitypub_federation=debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
            .spawn()
            .unwrap();
        let s = Server {
            child: Some(child),
            dir: dir.to_owned(),
            port,
        };
        s.wait_healthy();
        s
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = write!(c, "GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n");
                let mut out = String::new();
                let _ = c.read_to_string(&mut out);
                if out.contains(" 200 ") {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{} did not come up",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no graceful shutdown, no chance to tidy up.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Server logs to show when a wait times out.
static LOGS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn configure(dir: &Path, resolve: &[(String, u16)]) {
    let file = dir.join("hearth.toml");
    let mut s = std::fs::read_to_string(&file).unwrap();
    s = s.replace(
        "federation_insecure_local = false",
        "federation_insecure_local = true",
    );
    s = s.replace(
        "delivery_retry_base_ms = 2000",
        "delivery_retry_base_ms = 100",
    );
    s.push_str("\n[federation_resolve]\n");
    for (name, port) in resolve {
        s.push_str(&format!("\"{name}\" = \"127.0.0.1:{port}\"\n"));
    }
    std::fs::write(file, s).unwrap();
}

async fn wait_for<F, Fut>(what: &str, seconds: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while !check().await {
        if tokio::time::Instant::now() > deadline {
            // The servers' logs say why.
            for log in LOGS.lock().unwrap().iter() {
                eprintln!(
                    "--- {}\n{}",
                    log.display(),
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_activity_arrives_once_across_a_hub_outage_and_a_killed_sender() {
    let tmp = tempfile::tempdir().unwrap();
    let (hub_dir, group_dir) = (tmp.path().join("hub"), tmp.path().join("group"));
    let (hub_port, group_port) = (free_port(), free_port());
    let hub_url = format!("http://hub.localhost:{hub_port}/");
    let group_url = format!("http://group.localhost:{group_port}/");
    hearth(
        &hub_dir,
        &[
            "init",
            "--hub",
            "--group-name",
            "Hub",
            "--listen",
            &format!("127.0.0.1:{hub_port}"),
            "--public-url",
            &hub_url,
        ],
    );
    hearth(
        &group_dir,
        &[
            "init",
            "--group-name",
            "Group",
            "--listen",
            &format!("127.0.0.1:{group_port}"),
            "--public-url",
            &group_url,
        ],
    );
    let resolve = vec![
        ("hub.localhost".to_owned(), hub_port),
        ("group.localhost".to_owned(), group_port),
    ];
    configure(&hub_dir, &resolve);
    configure(&group_dir, &resolve);
    LOGS.lock()
        .unwrap()
        .extend([hub_dir.join("serve.log"), group_dir.join("serve.log")]);

    let hub_db = Db::connect(&format!(
        "sqlite://{}",
        hub_dir.join("hearth.sqlite3").display()
    ))
    .await
    .unwrap();
    let mut settings = hub_db.group_settings().await.unwrap().unwrap();
    settings.hub_auto_accept = true;
    hub_db.update_group_settings(&settings).await.unwrap();

    let mut hub = Server::start(&hub_dir, hub_port);
    let mut group = Server::start(&group_dir, group_port);

    // The test acts as the group's facilitator, writing to the group's database exactly as the
    // web pages do; the group process's outbox worker delivers.
    let group_db = Db::connect(&format!(
        "sqlite://{}",
        group_dir.join("hearth.sqlite3").display()
    ))
    .await
    .unwrap();
    let options = FedOptions {
        insecure_local: true,
        resolve: resolve
            .iter()
            .map(|(n, p)| (n.clone(), SocketAddr::from(([127, 0, 0, 1], *p))))
            .collect(),
        inbox_requests_per_minute: None,
    };
    let config = hearth_federation::config(
        group_db.clone(),
        std::sync::Arc::new(hearth_db::SystemClock),
        url::Url::parse(&group_url).unwrap(),
        InstanceRole::Group,
        &options,
    )
    .await
    .unwrap();
    let data = config.to_request_data();
    data.allow_domain(&url::Url::parse(&hub_url).unwrap());
    let hub_actor: Peer = webfinger_resolve_actor::<FedContext, Peer>(
        &format!("hub@hub.localhost:{hub_port}"),
        &data,
    )
    .await
    .unwrap();
    let hub_actor_url = hub_actor.id.to_string();
    membership::request_to_join(&data, &hub_actor)
        .await
        .unwrap();
    wait_for("the group is a member", 30, || async {
        group_db
            .membership_by_actor(&hub_actor_url)
            .await
            .unwrap()
            .map(|m| m.state)
            == Some(MembershipState::Accepted)
    })
    .await;

    // `hearth check` on the group reaches its hub, and says so when it cannot.
    let check = |dir: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_hearth"))
            .arg("--data-dir")
            .arg(dir)
            .arg("check")
            .env_remove("HEARTH_DATA_DIR")
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (ok, out) = check(&group_dir);
    assert!(
        ok && out.contains("ok      peers: 1 of 1 checked answer"),
        "{out}"
    );

    // The hub goes down; the group leaves and rejoins again and again.
    hub.kill();
    let (ok, out) = check(&group_dir);
    assert!(
        !ok && out.contains("PROBLEM peers: no answer from"),
        "{out}"
    );
    let cycle = |data: &hearth_federation::FedContext| {
        let data = data.clone();
        let hub_actor = hub_actor.clone();
        let url = hub_actor_url.clone();
        async move {
            let peer = data
                .db
                .membership_by_actor(&url)
                .await
                .unwrap()
                .unwrap()
                .peer
                .id;
            membership::leave(&data, peer).await.unwrap();
            membership::request_to_join(&data, &hub_actor)
                .await
                .unwrap();
        }
    };
    for _ in 0..5 {
        cycle(&data).await;
    }
    // Let the group try (and fail) to deliver, then kill it mid-retry.
    wait_for("failed attempts recorded", 30, || async {
        group_db
            .pending_outbox(100)
            .await
            .unwrap()
            .iter()
            .any(|r| r.attempts > 0)
    })
    .await;
    group.kill();
    for _ in 0..5 {
        cycle(&data).await;
    }
    let group = Server::start(&group_dir, group_port);
    let hub = Server::start(&hub_dir, hub_port);

    wait_for("the group's outbox drains", 60, || async {
        group_db.pending_outbox(100).await.unwrap().is_empty()
    })
    .await;
    let sent = group_db.recent_outbox(1000).await.unwrap();
    assert_eq!(sent.len(), 21, "1 + 10 × (Undo, Follow)");
    assert!(
        sent.iter()
            .all(|r| r.state == hearth_db::DeliveryState::Delivered)
    );
    // Every activity reached the hub, and each is recorded once.
    for r in &sent {
        assert!(
            hub_db.was_received(&r.activity_id).await.unwrap(),
            "{} never arrived",
            r.activity_id
        );
    }
    assert_eq!(
        hub_db.received_count().await.unwrap(),
        21,
        "nothing arrived twice or from elsewhere"
    );
    // In order per inbox, so the hub ends where the group ended: a member.
    wait_for("the hub holds the final membership", 30, || async {
        hub_db
            .membership_by_actor(&format!("{group_url}actor"))
            .await
            .unwrap()
            .map(|m| m.state)
            == Some(MembershipState::Accepted)
    })
    .await;
    drop((hub, group));
}
