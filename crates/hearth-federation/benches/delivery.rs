//! Delivery on loopback: latency of one activity from outbox row to the receiver's database,
//! and deliveries per second to one inbox, beside raw RSA-2048 signatures per second on the
//! same cores (every delivery signs once). Run with `cargo bench -p hearth-federation`.

use std::time::{Duration, Instant};

use hearth_core::InstanceRole;
use hearth_db::MembershipState;
use hearth_federation::actor::Peer;
use hearth_federation::membership;
use hearth_testkit::{Backend, network_with, wait_for};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::Signer;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn signatures_per_second(pem: &str) -> f64 {
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem).unwrap_or_else(|e| panic!("{e}"));
    let signer = SigningKey::<sha2::Sha256>::new(key);
    let n = 300;
    let start = Instant::now();
    for i in 0..n {
        let _ = signer.sign(format!("(request-target): post /inbox\ndate: {i}").as_bytes());
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}

fn main() {
    if std::env::var("HEARTH_BENCH_LOG").is_ok() {
        tracing_subscriber::fmt().with_env_filter("warn").init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let nodes = network_with(
            Backend::Sqlite,
            &[
                ("hub.localhost", InstanceRole::Hub),
                ("group.localhost", InstanceRole::Group),
            ],
            // The pipeline, not the inbox's flood protection, is what is measured here.
            Some(1_000_000),
        )
        .await;
        let (hub, group) = (&nodes[0], &nodes[1]);
        let mut s = hub
            .app
            .db
            .group_settings()
            .await
            .unwrap_or_default()
            .unwrap_or_else(|| panic!("hub settings"));
        s.hub_auto_accept = true;
        hub.app
            .db
            .update_group_settings(&s)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let data = group.app.state.fed();
        let hub_url =
            url::Url::parse(&format!("{}/actor", hub.base())).unwrap_or_else(|e| panic!("{e}"));
        data.allow_domain(&hub_url);
        let hub_actor: Peer =
            activitypub_federation::fetch::object_id::ObjectId::<Peer>::from(hub_url.clone())
                .dereference(&data)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        let received = |n: i64| {
            let db = hub.app.db.clone();
            move || {
                let db = db.clone();
                async move { db.received_count().await.unwrap_or(0) >= n }
            }
        };

        // Latency: one activity at a time, from the outbox write to the hub's database.
        let mut latencies = Vec::new();
        let mut expected = 0;
        for _ in 0..40 {
            let start = Instant::now();
            match group
                .app
                .db
                .membership_by_actor(hub_url.as_str())
                .await
                .unwrap_or(None)
            {
                Some(m) if m.state != MembershipState::Pending => {
                    membership::leave(&data, m.peer.id)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                _ => {
                    membership::request_to_join(&data, &hub_actor)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
            }
            expected += 1;
            wait_for("delivery", 30, received(expected)).await;
            latencies.push(start.elapsed());
            // Let the hub's Accept come back before the next round.
            wait_for("answers drained", 30, || async {
                hub.app
                    .db
                    .pending_outbox(10)
                    .await
                    .unwrap_or_default()
                    .is_empty()
            })
            .await;
        }
        latencies.sort();

        // Throughput: a burst queued at once, delivered in order to one inbox.
        let burst = 200;
        let start = Instant::now();
        for i in 0..burst {
            let member = group
                .app
                .db
                .membership_by_actor(hub_url.as_str())
                .await
                .unwrap_or(None);
            match member {
                Some(m) if i % 2 == 0 => membership::leave(&data, m.peer.id)
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
                _ => {
                    membership::request_to_join(&data, &hub_actor)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
            }
        }
        wait_for("burst delivered", 300, || async {
            group
                .app
                .db
                .pending_outbox(10)
                .await
                .unwrap_or_default()
                .is_empty()
        })
        .await;
        let per_second = f64::from(burst) / start.elapsed().as_secs_f64();
        let rows = group.app.db.recent_outbox(1000).await.unwrap_or_default();
        let retried: Vec<_> = rows.iter().filter(|r| r.attempts > 1).collect();
        println!(
            "{} of {} deliveries needed a retry{}",
            retried.len(),
            rows.len(),
            retried
                .first()
                .and_then(|r| r.last_error.clone())
                .map(|e| format!(" (for example: {e})"))
                .unwrap_or_default()
        );
        let key = group
            .app
            .db
            .instance_key()
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("key"));
        let signs = signatures_per_second(&key.private_pem);

        println!(
            "Delivery on loopback (SQLite, one inbox, {} cores)",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        );
        println!("| measure | value |");
        println!("|---|---|");
        println!(
            "| latency p50 (outbox row to receiver's database) | {:.1} ms |",
            percentile(&latencies, 0.5).as_secs_f64() * 1000.0
        );
        println!(
            "| latency p95 | {:.1} ms |",
            percentile(&latencies, 0.95).as_secs_f64() * 1000.0
        );
        println!("| deliveries per second, {burst} queued to one inbox | {per_second:.0} |");
        println!("| raw RSA-2048 signatures per second, same run | {signs:.0} |");
        println!("| deliveries ÷ signatures | {:.2} |", per_second / signs);
    });
}
