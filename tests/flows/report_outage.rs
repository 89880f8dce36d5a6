//! Delivery at scale through an outage: 50 groups queue 20 reports each (1,000 in all) while
//! their hub is down, the senders are stopped and started again (twice: once during the outage,
//! once mid-delivery), and in the end the hub holds every report exactly once.

use hearth_core::report::{TrueCounts, make_report_with_noise};
use hearth_core::sharing::{SharingSettings, Signal};
use hearth_core::{InstanceRole, Role};
use hearth_db::{DeliveryState, MembershipState, NewSharedReport, ReportState};
use hearth_federation::actor::Peer;
use hearth_federation::group_sharing::report_create;
use hearth_testkit::{Backend, network_with, wait_for};
use rand::SeedableRng;
use rand::rngs::StdRng;

const GROUPS: usize = 50;
const REPORTS_EACH: u32 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_reports_from_fifty_groups_survive_a_hub_outage_and_sender_restarts() {
    let names: Vec<String> = (0..GROUPS)
        .map(|i| format!("group-{i}.localhost"))
        .collect();
    let mut specs = vec![("hub.localhost", InstanceRole::Hub)];
    specs.extend(names.iter().map(|n| (n.as_str(), InstanceRole::Group)));
    // Every group shares 127.0.0.1: lift the per-address inbox allowance as a busy hub would.
    let mut nodes = network_with(Backend::Sqlite, &specs, Some(1_000_000)).await;
    let hub_actor = format!("{}/actor", nodes[0].base());

    let staff = nodes[0].app.join(Role::Facilitator, "staff").await;
    staff.get("/groups").await;
    staff
        .post_form("/groups/settings", &[("auto_accept", "yes")])
        .await;
    for node in &nodes[1..] {
        let fac = node.app.join(Role::Facilitator, "fac").await;
        fac.get("/hubs").await;
        fac.post_form("/hubs", &[("address", format!("hub@{}", nodes[0].host()))])
            .await
            .assert_redirect("/hubs");
    }
    wait_for("every group is accepted", 120, || async {
        for node in &nodes[1..] {
            let m = node.app.db.membership_by_actor(&hub_actor).await.unwrap();
            if !m.is_some_and(|m| m.state == MembershipState::Accepted) {
                return false;
            }
        }
        true
    })
    .await;

    // The hub goes down; every group queues twenty weekly reports.
    nodes[0].stop();
    let settings = SharingSettings {
        enabled: true,
        automatic: true,
        signals: [Signal::Burnout].into_iter().collect(),
        ..SharingSettings::default()
    };
    let mut rng = StdRng::seed_from_u64(50);
    for (g, node) in nodes[1..].iter().enumerate() {
        let fed = node.app.state.fed();
        let m = node
            .app
            .db
            .membership_by_actor(&hub_actor)
            .await
            .unwrap()
            .unwrap();
        let hub = Peer::from_row(&m.peer).unwrap();
        for w in 1..=REPORTS_EACH {
            let truth =
                TrueCounts::new(10 + (g as i64 % 7)).with(Signal::Burnout, &[3 + (w as i64 % 4)]);
            let mut noise =
                || hearth_core::noise::discrete_gaussian(&mut rng, settings.sigma()).clamp(-5, 5);
            let period = format!("2026-W{w:02}").parse().unwrap();
            let report = make_report_with_noise(period, &settings, truth, &mut noise);
            let (object_id, item) = report_create(&fed, &hub, &report).unwrap();
            node.app
                .db
                .record_report(
                    &NewSharedReport {
                        hub_actor: hub_actor.clone(),
                        hub_name: hub.name.clone(),
                        period: report.period.to_string(),
                        budget_year: 2026,
                        state: ReportState::Sent,
                        rho: report.rho,
                        object_id: Some(object_id.to_string()),
                        activity: Some(item.payload.clone()),
                        through_pair: false,
                    },
                    std::slice::from_ref(&item),
                    node.app.now(),
                )
                .await
                .unwrap();
        }
        fed.wake_outbox();
    }

    // Senders restart while the hub is still down.
    for node in &mut nodes[1..] {
        node.stop();
    }
    for node in &mut nodes[1..] {
        node.start().await;
    }
    let total = (GROUPS as i64) * i64::from(REPORTS_EACH);
    let hub_count = |n: &hearth_testkit::Node| {
        let db = n.app.db.clone();
        async move {
            db.report_activity()
                .await
                .unwrap()
                .values()
                .map(|a| a.reports)
                .sum::<i64>()
        }
    };
    assert_eq!(hub_count(&nodes[0]).await, 0);

    // The hub comes back; once some reports have arrived, the senders restart again.
    nodes[0].start().await;
    let started = std::time::Instant::now();
    wait_for("the first reports arrive", 120, || async {
        hub_count(&nodes[0]).await > 0
    })
    .await;
    for node in &mut nodes[1..] {
        node.stop();
        node.start().await;
    }
    eprintln!(
        "senders restarted with {} of {total} reports at the hub",
        hub_count(&nodes[0]).await
    );
    wait_for("every report reaches the hub", 600, || async {
        hub_count(&nodes[0]).await == total
    })
    .await;
    eprintln!(
        "{total} reports from {GROUPS} groups delivered {:.1} s after the hub came back",
        started.elapsed().as_secs_f64()
    );

    // Exactly once: one row per group and period, every sender's outbox delivered.
    let hub = &nodes[0].app;
    assert_eq!(
        hub.count("SELECT COUNT(*) AS n FROM received_reports")
            .await,
        total
    );
    assert_eq!(
        hub.count("SELECT COUNT(DISTINCT object_id) AS n FROM received_reports")
            .await,
        total
    );
    assert_eq!(
        hub.count("SELECT COUNT(*) AS n FROM received_report_counts")
            .await,
        total * 2,
        "respondents and burnout for each report"
    );
    for (_, a) in hub.db.report_activity().await.unwrap() {
        assert_eq!(a.reports, i64::from(REPORTS_EACH));
    }
    for node in &nodes[1..] {
        wait_for("the sender marks every delivery done", 60, || async {
            node.app
                .db
                .recent_outbox(100)
                .await
                .unwrap()
                .iter()
                .all(|r| r.state == DeliveryState::Delivered)
        })
        .await;
    }
}
