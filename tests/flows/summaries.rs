//! Summaries back out, end to end over loopback: five groups report, the hub summarises, every
//! group receives the summary and shows itself beside the sector, and a follower that is not a
//! group receives the public Note and nothing else. "Publish now" publishes only a period that
//! has ended, says what it sent, and sends a later report's change as an `Update`; the Note is
//! served as it was sent (with `published` and `url`), in the outbox, to a late follower, and,
//! once the hub stops publishing publicly, to its followers' signed fetches alone.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use axum::body::Body;
use axum::http::Request;
use hearth_core::noise::Sigma;
use hearth_core::report::{TrueCounts, make_report_with_noise};
use hearth_core::sharing::Rho;
use hearth_core::sharing::{SharingSettings, Signal};
use hearth_core::{InstanceRole, Role};
use hearth_db::clock::{Clock as _, SystemClock};
use hearth_db::{MembershipState, NewPeer, NewSharedReport, ReceivedReport, ReportState};
use hearth_federation::actor::Peer;
use hearth_federation::group_sharing::report_create;
use hearth_testkit::{Backend, Node, network, signing, wait_for};

/// Follows `hub` from `reader` (a Hearth instance standing in for any fediverse account).
async fn follow(reader: &Node, hub: &Node) {
    let hub_actor = format!("{}/actor", hub.base());
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
}

/// A signed GET of `path` at `hub` with `node`'s key.
async fn signed_get(hub: &Node, node: &Node, path: &str) -> hearth_testkit::TestResponse {
    let key = node.app.db.instance_key().await.unwrap().unwrap();
    let key_id = format!("{}/actor#main-key", node.base());
    let mut req = Request::get(path);
    for (k, v) in signing::sign_get(
        &hub.host(),
        path,
        &key_id,
        &key.private_pem,
        SystemClock.now(),
    ) {
        req = req.header(k, v);
    }
    hub.app
        .client()
        .send(req.body(Body::empty()).unwrap())
        .await
}

async fn summaries_reach_groups_and_readers(backend: Backend) {
    let names: Vec<String> = (0..5).map(|i| format!("group-{i}.localhost")).collect();
    let mut specs = vec![
        ("hub.localhost", InstanceRole::Hub),
        ("reader.localhost", InstanceRole::Hub),
        ("late.localhost", InstanceRole::Hub),
    ];
    specs.extend(names.iter().map(|n| (n.as_str(), InstanceRole::Group)));
    let nodes = network(backend, &specs).await;
    let (hub, reader, late, groups) = (&nodes[0], &nodes[1], &nodes[2], &nodes[3..]);
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
    // Nothing to publish yet, and the page says so.
    staff
        .post_form("/sector/publish", &[("x", "y")])
        .await
        .assert_redirect("/sector?done=nothing");
    staff.get("/sector?done=nothing").await.assert_contains(
        "Nothing was sent: no period that has ended has reports from at least 5 groups yet.",
    );

    // A follower that is not a group: another service follows the hub, as a reader.
    follow(reader, hub).await;
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
    // November is still in progress: nothing goes out, and the page says why.
    staff
        .post_form("/sector/publish", &[("x", "y")])
        .await
        .assert_redirect("/sector?done=nothing&period=2026-11");
    staff
        .get("/sector?done=nothing&period=2026-11")
        .await
        .assert_contains("Reports for November 2026 wait until it ends.");
    assert!(hub.app.db.published_periods().await.unwrap().is_empty());

    // December begins; one group already reports for it. The month in progress does not stop
    // November going out.
    let dec1 = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 12, 0, 0).unwrap();
    hub.app.clock.set(dec1);
    {
        let g = &groups[0];
        let m = g
            .app
            .db
            .membership_by_actor(&hub_actor)
            .await
            .unwrap()
            .unwrap();
        let peer = Peer::from_row(&m.peer).unwrap();
        let report = make_report_with_noise(
            "2026-12".parse().unwrap(),
            &settings,
            TrueCounts::new(20)
                .with(Signal::Burnout, &[20])
                .with(Signal::LowWellbeing, &[20]),
            &mut || 0,
        );
        let (object_id, item) = report_create(&g.app.state.fed(), &peer, &report).unwrap();
        g.app
            .db
            .record_report(
                &NewSharedReport {
                    hub_actor: hub_actor.clone(),
                    hub_name: peer.name.clone(),
                    period: "2026-12".into(),
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
    wait_for("six reports at the hub", 60, || async {
        hub.app
            .db
            .report_activity()
            .await
            .unwrap()
            .values()
            .map(|a| a.reports)
            .sum::<i64>()
            == 6
    })
    .await;

    // The hub summarises: staff publish now, and are told what went where.
    staff
        .get("/sector")
        .await
        .assert_contains("Publish the newest period");
    staff
        .post_form("/sector/publish", &[("x", "y")])
        .await
        .assert_redirect("/sector?done=published&period=2026-11&sent=6");
    staff
        .get("/sector?done=published&period=2026-11&sent=6")
        .await
        .assert_contains(
            "The summary for November 2026 is published and on its way to 6 followers’ servers.",
        );
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
    // Publishing the same period again sends nothing more, and says so.
    staff
        .post_form("/sector/publish", &[("x", "y")])
        .await
        .assert_redirect("/sector?done=unchanged&period=2026-11");
    staff
        .get("/sector?done=unchanged&period=2026-11")
        .await
        .assert_contains("is already out and nothing has changed since: nothing was sent.");

    // Staff see the reader by name and handle, and whom each delivery went to.
    let groups_page = staff.get("/groups").await.assert_status(200);
    assert!(
        groups_page
            .body
            .contains("1 other fediverse account follows"),
        "{}",
        groups_page.body
    );
    assert!(
        groups_page
            .body
            .contains(&format!("{}/actor", reader.base()))
    );
    assert!(
        groups_page
            .body
            .contains(&format!(">@hub@{}</a>", reader.host())),
        "readers by handle: {}",
        groups_page.body
    );
    assert!(
        groups_page.body.contains("Test hub (reader.localhost)"),
        "{}",
        groups_page.body
    );

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
        assert!(!g.app.db.latest_sector_summaries().await.unwrap().is_empty());
    }
    let public = hub
        .app
        .client()
        .get_with("/summaries/2026-11", "application/activity+json")
        .await
        .assert_status(200);
    let served: serde_json::Value = serde_json::from_str(&public.body).unwrap();
    assert_eq!(served["id"], v["object"]["id"]);
    assert_eq!(served["published"], v["object"]["published"]);
    assert_eq!(served["to"], v["object"]["to"]);
    assert_eq!(served["url"], served["id"]);
    assert!(served["sectorFigures"].is_array());
    // A browser at the same address gets the summary's page.
    hub.app
        .client()
        .get("/summaries/2026-11")
        .await
        .assert_status(200)
        .assert_contains("Sector summary for November 2026")
        .assert_contains("the whole network");

    // A late report for November, from a sixth group: publishing again sends an Update of the
    // same Note (same id, addressing and publication time), which every group takes in. The
    // sixth group's server offers a shared inbox, which a reader there shares too: one delivery.
    const SHARED: &str = "https://late-group.example/shared-inbox";
    let late_group = hub
        .app
        .db
        .save_membership(
            &NewPeer {
                actor_url: "https://late-group.example/actor".into(),
                kind: "Group".into(),
                name: "Late group".into(),
                inbox: "https://late-group.example/inbox".into(),
                public_key_pem: hearth_testkit::test_key().public_pem,
                profile: "{}".into(),
                fetched_at: hub.app.now(),
                shared_inbox: Some(SHARED.into()),
                username: None,
            },
            MembershipState::Accepted,
            "https://late-group.example/activities/follow/1",
            &[],
            hub.app.now(),
        )
        .await
        .unwrap()
        .peer
        .id;
    hub.app
        .db
        .store_received_report(
            late_group,
            &ReceivedReport {
                object_id: "https://late-group.example/reports/1".into(),
                period: "2026-11".into(),
                schema_version: 1,
                sigma_tenths: 65,
                rho: Rho::of_report(2, Sigma::from_tenths(65).unwrap()),
                counts: vec![
                    ("respondents".into(), 20),
                    ("burnout".into(), 15),
                    ("lowWellbeing".into(), 8),
                ],
                segments: vec!["network".into()],
            },
            false,
            hub.app.now(),
        )
        .await
        .unwrap();
    hub.app
        .db
        .save_reader(
            &NewPeer {
                actor_url: "https://late-group.example/users/someone".into(),
                kind: "Person".into(),
                name: "Someone".into(),
                inbox: "https://late-group.example/users/someone/inbox".into(),
                public_key_pem: hearth_testkit::test_key().public_pem,
                profile: "{}".into(),
                fetched_at: hub.app.now(),
                shared_inbox: Some(SHARED.into()),
                username: None,
            },
            "https://late-group.example/activities/follow/2",
            &[],
            hub.app.now(),
        )
        .await
        .unwrap();
    staff
        .post_form("/sector/publish", &[("x", "y")])
        .await
        .assert_redirect("/sector?done=updated&period=2026-11&sent=7");
    assert_eq!(
        hub.app.db.outbox_types_to(SHARED).await.unwrap(),
        vec!["Update".to_owned()]
    );
    staff
        .get("/sector?done=updated&period=2026-11&sent=7")
        .await
        .assert_contains(
            "reports since have changed it, so an update is on its way to 7 followers’ servers.",
        );
    let rows = hub.app.db.recent_outbox(200).await.unwrap();
    let update = rows
        .iter()
        .find(|r| r.inbox == reader_inbox && r.activity_type == "Update")
        .unwrap();
    let u: serde_json::Value = serde_json::from_str(&update.payload).unwrap();
    assert_eq!(u["object"]["id"], v["object"]["id"]);
    assert_eq!(u["object"]["published"], v["object"]["published"]);
    assert_eq!(u["object"]["to"], v["object"]["to"]);
    assert!(u["object"]["updated"].is_string());
    for g in groups {
        wait_for("the group takes in the update", 60, || async {
            let (_, _, _, figures) = g.app.db.latest_sector_summaries().await.unwrap().remove(0);
            figures.contains("\"groups\":6")
        })
        .await;
    }

    // The outbox lists the published summary; a late follower is sent the latest at once.
    let outbox = hub
        .app
        .client()
        .get_with("/outbox", "application/activity+json")
        .await
        .assert_status(200);
    let o: serde_json::Value = serde_json::from_str(&outbox.body).unwrap();
    assert_eq!(o["totalItems"], 1);
    let page = hub
        .app
        .client()
        .get_with("/outbox?page=1", "application/activity+json")
        .await
        .assert_status(200);
    let p: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(p["type"], "OrderedCollectionPage");
    assert_eq!(p["orderedItems"][0]["object"]["id"], v["object"]["id"]);
    assert!(p["orderedItems"][0]["object"]["updated"].is_string());
    follow(late, hub).await;
    let late_inbox = format!("{}/inbox", late.base());
    wait_for(
        "the late follower is sent the latest summary",
        30,
        || async {
            hub.app.db.outbox_types_to(&late_inbox).await.unwrap()
                == vec!["Accept".to_owned(), "Create".to_owned()]
        },
    )
    .await;

    // The hub stops publishing publicly: its summaries are for its followers alone, by a
    // signed fetch; everyone else gets the 404 of a period never published.
    staff
        .post_form("/sector/settings", &[("min_groups", "5")])
        .await
        .assert_redirect("/sector?done=settings");
    let anonymous = hub.app.client();
    anonymous
        .get_with("/summaries/2026-11", "application/activity+json")
        .await
        .assert_status(404);
    anonymous.get("/summaries/2026-11").await.assert_status(404);
    let o: serde_json::Value = serde_json::from_str(
        &anonymous
            .get_with("/outbox", "application/activity+json")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(o["totalItems"], 0);
    for follower in [&groups[1], late] {
        let r = signed_get(hub, follower, "/summaries/2026-11").await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        assert!(r.body.contains("sectorFigures"));
    }
    // Staff still read the page.
    staff
        .get("/summaries/2026-11")
        .await
        .assert_status(200)
        .assert_contains("Sector summary for November 2026");
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
