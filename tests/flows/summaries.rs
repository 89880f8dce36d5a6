//! Summaries back out, end to end over loopback: five groups report, the hub summarises, every
//! group receives the summary and shows itself beside the sector, and a follower that is not a
//! group receives the public Note and nothing else.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use hearth_core::report::{TrueCounts, make_report_with_noise};
use hearth_core::sharing::{SharingSettings, Signal};
use hearth_core::{InstanceRole, Role};
use hearth_db::{MembershipState, NewSharedReport, ReportState};
use hearth_federation::actor::Peer;
use hearth_federation::group_sharing::report_create;
use hearth_testkit::{Backend, Node, network, wait_for};

async fn summaries_reach_groups_and_readers(backend: Backend) {
    let names: Vec<String> = (0..5).map(|i| format!("group-{i}.localhost")).collect();
    let mut specs = vec![
        ("hub.localhost", InstanceRole::Hub),
        ("reader.localhost", InstanceRole::Hub),
    ];
    specs.extend(names.iter().map(|n| (n.as_str(), InstanceRole::Group)));
    let nodes = network(backend, &specs).await;
    let (hub, reader, groups) = (&nodes[0], &nodes[1], &nodes[2..]);
    let hub_actor = format!("{}/actor", hub.base());
    let staff = hub.app.join(Role::Facilitator, "staff").await;
    staff.get("/groups").await;
    staff
        .post_form("/groups/settings", &[("auto_accept", "yes")])
        .await;
    staff.get("/sector").await;
    staff
        .post_form(
            "/sector/settings",
            &[("min_groups", "5"), ("public_summary", "yes")],
        )
        .await
        .assert_redirect("/sector?done=settings");

    // A follower that is not a group: another service follows the hub, as a reader.
    let hub_peer: Peer = activitypub_federation::fetch::object_id::ObjectId::<Peer>::from(
        url::Url::parse(&hub_actor).unwrap(),
    )
    .dereference(&reader.app.state.fed())
    .await
    .unwrap();
    let follow_id = hearth_federation::sending::new_activity_id(&reader.app.state.fed(), "follow");
    let follow = hearth_federation::protocol::Follow {
        id: follow_id.clone(),
        kind: activitypub_federation::kinds::activity::FollowType::Follow,
        actor: reader.app.state.fed().actor_url(),
        object: url::Url::parse(&hub_actor).unwrap(),
    };
    let item =
        hearth_federation::sending::outbox_item(&follow, &follow_id, "Follow", &hub_peer.inbox)
            .unwrap();
    reader
        .app
        .db
        .enqueue(&[item], reader.app.now())
        .await
        .unwrap();
    reader.app.state.fed().wake_outbox();
    wait_for("the hub has a reader", 30, || async {
        hub.app.db.reader_count().await.unwrap() == 1
    })
    .await;

    // Five groups join and each sends a November report.
    let settings = SharingSettings {
        enabled: true,
        automatic: true,
        signals: [Signal::Burnout, Signal::LowWellbeing]
            .into_iter()
            .collect(),
        ..SharingSettings::default()
    };
    for (i, g) in groups.iter().enumerate() {
        let fac = g.app.join(Role::Facilitator, "fac").await;
        fac.get("/hubs").await;
        fac.post_form("/hubs", &[("address", format!("hub@{}", hub.host()))])
            .await
            .assert_redirect("/hubs");
        wait_for("accepted", 30, || async {
            g.app
                .db
                .membership_by_actor(&hub_actor)
                .await
                .unwrap()
                .is_some_and(|m| m.state == MembershipState::Accepted)
        })
        .await;
        let m = g
            .app
            .db
            .membership_by_actor(&hub_actor)
            .await
            .unwrap()
            .unwrap();
        let peer = Peer::from_row(&m.peer).unwrap();
        let truth = TrueCounts::new(20)
            .with(Signal::Burnout, &[5 + i as i64])
            .with(Signal::LowWellbeing, &[8]);
        let report =
            make_report_with_noise("2026-11".parse().unwrap(), &settings, truth, &mut || 0);
        let (object_id, item) = report_create(&g.app.state.fed(), &peer, &report).unwrap();
        g.app
            .db
            .record_report(
                &NewSharedReport {
                    hub_actor: hub_actor.clone(),
                    hub_name: peer.name.clone(),
                    period: "2026-11".into(),
                    budget_year: 2026,
                    state: ReportState::Sent,
                    rho: report.rho,
                    object_id: Some(object_id.to_string()),
                    activity: Some(item.payload.clone()),
                    through_pair: false,
                },
                std::slice::from_ref(&item),
                g.app.now(),
            )
            .await
            .unwrap();
        g.app.state.fed().wake_outbox();
    }
    wait_for("five reports at the hub", 60, || async {
        hub.app.db.report_activity().await.unwrap().len() == 5
    })
    .await;

    // The hub summarises: staff publish now.
    staff
        .get("/sector")
        .await
        .assert_contains("Publish the newest period");
    staff
        .post_form("/sector/publish", &[("x", "y")])
        .await
        .assert_redirect("/sector?done=published");
    for g in groups {
        wait_for("the group receives the summary", 60, || async {
            !g.app.db.latest_sector_summaries().await.unwrap().is_empty()
        })
        .await;
        let (actor, _, period, figures) =
            g.app.db.latest_sector_summaries().await.unwrap().remove(0);
        assert_eq!(
            (actor.as_str(), period.as_str()),
            (hub_actor.as_str(), "2026-11")
        );
        let figures: Vec<serde_json::Value> = serde_json::from_str(&figures).unwrap();
        let burnout = figures
            .iter()
            .find(|f| f["segment"] == "network" && f["measure"] == "burnout")
            .unwrap();
        // (5+6+7+8+9) / 100 with no noise in this test.
        assert!((burnout["share"].as_f64().unwrap() - 0.35).abs() < 1e-9);
        assert_eq!(burnout["groups"], 5);
        let member = g.app.join(Role::Member, "member").await;
        member
            .get("/group")
            .await
            .assert_contains("Our group beside the sector, November 2026")
            .assert_contains("35% (");
    }
    // Publishing the same period again sends nothing more.
    staff.post_form("/sector/publish", &[("x", "y")]).await;

    // The reader got the Accept of its follow and the public Note: nothing else.
    let reader_inbox = format!("{}/inbox", reader.base());
    let sent = hub.app.db.outbox_types_to(&reader_inbox).await.unwrap();
    assert_eq!(sent, vec!["Accept".to_owned(), "Create".to_owned()]);
    let rows = hub.app.db.recent_outbox(100).await.unwrap();
    let note = rows
        .iter()
        .find(|r| r.inbox == reader_inbox && r.activity_type == "Create")
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&note.payload).unwrap();
    assert_eq!(v["object"]["type"], "Note");
    assert_eq!(v["to"][0], "https://www.w3.org/ns/activitystreams#Public");
    assert!(
        v["object"]["content"]
            .as_str()
            .unwrap()
            .contains("Burnout: 35%")
    );
    // Every group got the same summary once; the public copy is served at its id.
    for g in groups {
        let inbox = format!("{}/inbox", g.base());
        let kinds = hub.app.db.outbox_types_to(&inbox).await.unwrap();
        assert_eq!(
            kinds,
            vec!["Accept".to_owned(), "Create".to_owned()],
            "{inbox}"
        );
    }
    let public = hub
        .app
        .client()
        .get("/summaries/2026-11")
        .await
        .assert_status(200);
    assert!(public.body.contains("sectorFigures"));
    let _: &Node = reader;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summaries_reach_every_group_and_readers_get_only_the_public_note_on_sqlite() {
    summaries_reach_groups_and_readers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summaries_reach_every_group_and_readers_get_only_the_public_note_on_postgres() {
    if hearth_testkit::postgres_admin_url().is_none() {
        eprintln!("skipped: HEARTH_TEST_POSTGRES is not set");
        return;
    }
    summaries_reach_groups_and_readers(Backend::Postgres).await;
}
