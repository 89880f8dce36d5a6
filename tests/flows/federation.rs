//! Discovery and joining: WebFinger, NodeInfo, actors, and a hub with two groups federating
//! over loopback, each under its own host name.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use axum::body::Body;
use axum::http::Request;
use hearth_core::{InstanceRole, Role};
// The library dates and checks signatures by the system clock, so these requests must too.
use hearth_db::MembershipState;
use hearth_db::clock::{Clock as _, SystemClock};
use hearth_testkit::{Backend, Node, TestApp, TestClient, backend_tests, network, wait_for};

async fn get_json(
    client: &TestClient,
    path: &str,
    accept: &str,
) -> (u16, String, serde_json::Value) {
    let req = Request::get(path)
        .header("accept", accept)
        .body(Body::empty())
        .unwrap();
    let r = client.send(req).await;
    let ct = r
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let json = serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null);
    (r.status.as_u16(), ct, json)
}

backend_tests! {
    async fn deliveries_go_in_chains_per_inbox_and_never_overtake(app) {
        let now = hearth_testkit::default_now();
        let row = |inbox: &str, n: u32| hearth_db::NewOutbox {
            activity_id: format!("http://hearth.test/activities/{inbox}/{n}"),
            activity_type: "Create".into(),
            inbox: format!("https://{inbox}.example/inbox"),
            payload: "{}".into(),
        };
        // Interleaved: a1 b1 c1 a2 b2 c2 a3.
        let rows = [row("a", 1), row("b", 1), row("c", 1), row("a", 2), row("b", 2), row("c", 2), row("a", 3)];
        app.db.enqueue(&rows, now).await.unwrap();
        let ids = |chains: &[Vec<hearth_db::OutboxRow>]| -> Vec<Vec<String>> {
            chains.iter().map(|c| c.iter().map(|r| r.activity_id.rsplit("activities/").next().unwrap().to_owned()).collect()).collect()
        };
        // At most two per inbox, oldest first, chains ordered by their heads.
        let chains = app.db.next_deliveries(now, 2, 100).await.unwrap();
        assert_eq!(ids(&chains), vec![vec!["a/1", "a/2"], vec!["b/1", "b/2"], vec!["c/1", "c/2"]]);
        // b's head failed and waits: nothing to b goes. c's second waits too (it is not due), so
        // only c's head goes; a is not held up.
        let b1 = chains[1][0].id;
        let c2 = chains[2][1].id;
        let later = now + chrono::Duration::minutes(5);
        app.db.mark_attempt_failed(b1, "timed out", Some(later)).await.unwrap();
        app.db.mark_attempt_failed(c2, "timed out", Some(later)).await.unwrap();
        let chains = app.db.next_deliveries(now, 16, 100).await.unwrap();
        assert_eq!(ids(&chains), vec![vec!["a/1", "a/2", "a/3"], vec!["c/1"]]);
        // The overall limit counts the oldest queued activities (a1 b1 c1 a2 here), not inboxes.
        assert_eq!(ids(&app.db.next_deliveries(now, 16, 4).await.unwrap()), vec![vec!["a/1", "a/2"], vec!["c/1"]]);
        // Once a's are delivered and the waits are over, the rest go.
        let a: Vec<i64> = chains[0].iter().map(|r| r.id).collect();
        app.db.mark_all_delivered(&a, now).await.unwrap();
        let chains = app.db.next_deliveries(later, 16, 100).await.unwrap();
        assert_eq!(ids(&chains), vec![vec!["b/1", "b/2"], vec!["c/1", "c/2"]]);
    }

    async fn a_group_instance_is_discoverable_and_its_actor_says_nothing_about_members(app) {
        // A profile and some people with answers, none of which may appear.
        let f = app.join(Role::Facilitator, "facil").await;
        f.get("/settings").await;
        f.post_form("/settings", &[
            ("name", "Riverside Peers"), ("description", "private words"), ("timezone", "Europe/London"),
            ("close_weekday", "1"), ("close_hour", "0"), ("min_count", "5"), ("region", "uk-north-west"),
            ("size_band", "6-10"), ("focus", "peer-support"),
        ]).await.assert_redirect("/settings?saved=1");
        let c = app.client();
        let (status, ct, wf) = get_json(&c, "/.well-known/webfinger?resource=acct:group@hearth.test", "application/jrd+json").await;
        assert_eq!(status, 200);
        assert!(ct.starts_with("application/jrd+json"), "{ct}");
        assert_eq!(wf["subject"], "acct:group@hearth.test");
        let self_link = wf["links"].as_array().unwrap().iter().find(|l| l["rel"] == "self").unwrap();
        assert_eq!(self_link["href"], "http://hearth.test/actor");
        assert_eq!(self_link["type"], "application/activity+json");
        // The instance URL itself is a resource too; anything else is not.
        assert_eq!(get_json(&c, "/.well-known/webfinger?resource=http://hearth.test/", "*/*").await.0, 200);
        assert_eq!(get_json(&c, "/.well-known/webfinger?resource=acct:someone@hearth.test", "*/*").await.0, 404);
        // RFC 7565: the scheme and host are compared without regard to case.
        assert_eq!(get_json(&c, "/.well-known/webfinger?resource=ACCT:Group@Hearth.Test", "*/*").await.0, 200);
        assert_eq!(get_json(&c, "/.well-known/webfinger", "*/*").await.0, 400);

        let (_, _, links) = get_json(&c, "/.well-known/nodeinfo", "application/json").await;
        assert_eq!(links["links"][0]["rel"], "http://nodeinfo.diaspora.software/ns/schema/2.1");
        assert_eq!(links["links"][0]["href"], "http://hearth.test/nodeinfo/2.1");
        let (status, ct, ni) = get_json(&c, "/nodeinfo/2.1", "application/json").await;
        assert_eq!(status, 200);
        assert!(ct.contains("schema/2.1"), "{ct}");
        assert_eq!(ni["version"], "2.1");
        assert_eq!(ni["software"]["name"], "hearth");
        assert_eq!(ni["protocols"], serde_json::json!(["activitypub"]));
        assert_eq!(ni["usage"]["users"], serde_json::json!({}), "no user counts");
        assert_eq!(ni["openRegistrations"], false);

        let (status, ct, actor) = get_json(&c, "/actor", "application/activity+json").await;
        assert_eq!(status, 200);
        assert_eq!(ct, "application/activity+json");
        assert_eq!(actor["@context"], serde_json::json!(["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1", {
            "hearth": "https://w3id.org/hearth#",
            "groupProfile": "hearth:groupProfile",
            "region": "hearth:region",
            "communityFocus": {"@id": "hearth:communityFocus", "@container": "@set"},
            "sizeBand": "hearth:sizeBand",
        }]));
        assert_eq!(actor["type"], "Group");
        assert_eq!(actor["id"], "http://hearth.test/actor");
        assert_eq!(actor["inbox"], "http://hearth.test/inbox");
        assert_eq!(actor["name"], "Riverside Peers");
        assert_eq!(actor["preferredUsername"], "group");
        assert_eq!(actor["publicKey"]["owner"], "http://hearth.test/actor");
        assert!(actor["publicKey"]["publicKeyPem"].as_str().unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_eq!(actor["groupProfile"], serde_json::json!({"region": "uk-north-west", "communityFocus": ["peer-support"], "sizeBand": "6-10"}));
        let text = actor.to_string();
        for private in ["facil", "private words", "PRIVATE"] {
            assert!(!text.contains(private), "{private} in actor");
        }
        assert!(!text.contains("private_key") && !text.contains("PRIVATE KEY"));
        // People get a page.
        let page = c.get("/actor").await.assert_status(200).assert_contains("Riverside Peers").assert_contains("North West");
        assert_eq!(page.headers.get("vary").unwrap(), "Accept");

        let (status, ct, ctx) = get_json(&c, "/ns/hearth/v1", "application/ld+json").await;
        assert_eq!(status, 200);
        assert_eq!(ct, "application/ld+json");
        assert_eq!(ctx["@context"]["hearth"], "https://w3id.org/hearth#");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_is_a_service_with_its_own_pages() {
    let hub = TestApp::hub(Backend::Sqlite).await;
    let c = hub.client();
    let (status, _, actor) = get_json(&c, "/actor", "application/activity+json").await;
    assert_eq!(status, 200);
    assert_eq!(actor["type"], "Service");
    assert_eq!(actor["preferredUsername"], "hub");
    assert!(actor.get("groupProfile").is_none());
    assert_eq!(
        get_json(
            &c,
            "/.well-known/webfinger?resource=acct:hub@hub.test",
            "*/*"
        )
        .await
        .0,
        200
    );
    let staff = hub.join(Role::Facilitator, "staff").await;
    staff
        .get("/groups")
        .await
        .assert_status(200)
        .assert_contains("No requests are waiting");
    // A hub has no check-ins.
    staff.get("/checkin").await.assert_status(404);
    staff
        .get("/")
        .await
        .assert_contains("network hub")
        .assert_lacks("check-in for this week is due");
}

async fn membership(node: &Node, actor_url: &str) -> Option<MembershipState> {
    node.app
        .db
        .membership_by_actor(actor_url)
        .await
        .unwrap()
        .map(|m| m.state)
}

fn actor(node: &Node) -> String {
    format!("{}/actor", node.base())
}

async fn ask_to_join(group: &Node, facilitator: &TestClient, hub: &Node) {
    facilitator.get("/hubs").await.assert_status(200);
    facilitator
        .post_form("/hubs", &[("address", format!("hub@{}", hub.host()))])
        .await
        .assert_redirect("/hubs");
    let _ = group;
}

async fn decide(hub: &Node, staff: &TestClient, group: &Node, decision: &str) {
    let peer = hub
        .app
        .db
        .membership_by_actor(&actor(group))
        .await
        .unwrap()
        .unwrap()
        .peer
        .id;
    staff.get("/groups").await;
    staff
        .post_form(&format!("/groups/{peer}/decide"), &[("decision", decision)])
        .await
        .assert_redirect("/groups");
}

async fn joining_and_leaving(backend: Backend) {
    let nodes = network(
        backend,
        &[
            ("hub.localhost", InstanceRole::Hub),
            ("group-a.localhost", InstanceRole::Group),
            ("group-b.localhost", InstanceRole::Group),
        ],
    )
    .await;
    let (hub, a, b) = (&nodes[0], &nodes[1], &nodes[2]);
    let staff = hub.app.join(Role::Facilitator, "staff").await;
    let fa = a.app.join(Role::Facilitator, "fac-a").await;
    let fb = b.app.join(Role::Facilitator, "fac-b").await;

    ask_to_join(a, &fa, hub).await;
    ask_to_join(b, &fb, hub).await;
    assert_eq!(
        membership(a, &actor(hub)).await,
        Some(MembershipState::Pending)
    );
    wait_for("both requests at the hub", 20, || async {
        membership(hub, &actor(a)).await == Some(MembershipState::Pending)
            && membership(hub, &actor(b)).await == Some(MembershipState::Pending)
    })
    .await;
    staff
        .get("/groups")
        .await
        .assert_contains("Test group")
        .assert_contains("Waiting for a decision");

    decide(hub, &staff, a, "accept").await;
    wait_for("group A accepted", 20, || async {
        membership(a, &actor(hub)).await == Some(MembershipState::Accepted)
    })
    .await;
    fa.get("/hubs")
        .await
        .assert_contains("Member")
        .assert_contains("Delivered");

    decide(hub, &staff, b, "decline").await;
    wait_for("group B declined", 20, || async {
        membership(b, &actor(hub)).await == Some(MembershipState::Rejected)
    })
    .await;
    fb.get("/hubs").await.assert_contains("Declined by the hub");

    // B asks again and is accepted.
    ask_to_join(b, &fb, hub).await;
    wait_for("B's new request at the hub", 20, || async {
        membership(hub, &actor(b)).await == Some(MembershipState::Pending)
    })
    .await;
    decide(hub, &staff, b, "accept").await;
    wait_for("group B accepted", 20, || async {
        membership(b, &actor(hub)).await == Some(MembershipState::Accepted)
    })
    .await;
    assert_eq!(
        membership(hub, &actor(a)).await,
        Some(MembershipState::Accepted)
    );
    assert_eq!(
        membership(hub, &actor(b)).await,
        Some(MembershipState::Accepted)
    );

    // A leaves: the hub drops it, B stays.
    let hub_peer = a
        .app
        .db
        .membership_by_actor(&actor(hub))
        .await
        .unwrap()
        .unwrap()
        .peer
        .id;
    fa.get("/hubs").await;
    fa.post_form(&format!("/hubs/{hub_peer}/leave"), &[] as &[(&str, &str)])
        .await
        .assert_status(200)
        .assert_contains("has left");
    assert_eq!(membership(a, &actor(hub)).await, None);
    wait_for("the hub drops group A", 20, || async {
        membership(hub, &actor(a)).await.is_none()
    })
    .await;
    assert_eq!(
        membership(hub, &actor(b)).await,
        Some(MembershipState::Accepted)
    );

    // Everything was delivered, once.
    for node in [hub, a, b] {
        wait_for("outboxes drained", 20, || async {
            node.app.db.pending_outbox(100).await.unwrap().is_empty()
        })
        .await;
    }
    let q_sent = "SELECT COUNT(*) AS n FROM outbox WHERE state = 'delivered'";
    let q_received = "SELECT COUNT(*) AS n FROM received_activities";
    let sent_to_hub = a.app.count(q_sent).await + b.app.count(q_sent).await;
    assert_eq!(sent_to_hub, 4, "A: Follow, Undo; B: Follow, Follow");
    assert_eq!(hub.app.count(q_received).await, sent_to_hub);
    let sent_by_hub = hub.app.count(q_sent).await;
    assert_eq!(sent_by_hub, 3, "Accept, Reject, Accept");
    assert_eq!(
        a.app.count(q_received).await + b.app.count(q_received).await,
        sent_by_hub
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_join_are_declined_rejoin_and_leave_a_hub_on_sqlite() {
    joining_and_leaving(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_join_are_declined_rejoin_and_leave_a_hub_on_postgres() {
    if hearth_testkit::postgres_admin_url().is_none() {
        eprintln!("skipped: HEARTH_TEST_POSTGRES is not set");
        return;
    }
    joining_and_leaving(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_cannot_join_something_that_is_not_a_hub() {
    let nodes = network(
        Backend::Sqlite,
        &[
            ("group-a.localhost", InstanceRole::Group),
            ("group-b.localhost", InstanceRole::Group),
        ],
    )
    .await;
    let fa = nodes[0].app.join(Role::Facilitator, "fac-a").await;
    fa.get("/hubs").await;
    fa.post_form(
        "/hubs",
        &[("address", format!("group@{}", nodes[1].host()))],
    )
    .await
    .assert_status(400)
    .assert_contains("not a network hub");
    fa.post_form("/hubs", &[("address", "nonsense")])
        .await
        .assert_status(400)
        .assert_contains("Enter the hub");
    // Nothing there: whether the resolver knows `.localhost` names or not, the page says so.
    let nowhere = fa
        .post_form("/hubs", &[("address", "hub@nowhere.localhost:1")])
        .await
        .assert_status(400);
    assert!(
        nowhere.body.contains("No Hearth hub answered")
            || nowhere
                .body
                .contains("No server called nowhere.localhost could be found"),
        "{}",
        nowhere.body
    );
    // A name that does not resolve is said to be one, with nothing about attackers or
    // developers' settings.
    let missing = fa
        .post_form("/hubs", &[("address", "hub@no-such-hub.invalid")])
        .await
        .assert_status(400)
        .assert_contains("No server called no-such-hub.invalid could be found");
    assert!(!missing.body.contains("attacker") && !missing.body.contains("DANGER"));
    assert!(nodes[0].app.db.memberships().await.unwrap().is_empty());
    assert!(nodes[0].app.db.pending_outbox(10).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_refetches_a_peer_whose_key_no_longer_matches() {
    let nodes = network(
        Backend::Sqlite,
        &[
            ("hub.localhost", InstanceRole::Hub),
            ("group-a.localhost", InstanceRole::Group),
        ],
    )
    .await;
    let (hub, a) = (&nodes[0], &nodes[1]);
    let staff = hub.app.join(Role::Facilitator, "staff").await;
    let fa = a.app.join(Role::Facilitator, "fac-a").await;
    ask_to_join(a, &fa, hub).await;
    wait_for("request at the hub", 20, || async {
        membership(hub, &actor(a)).await == Some(MembershipState::Pending)
    })
    .await;
    decide(hub, &staff, a, "accept").await;
    wait_for("A accepted", 20, || async {
        membership(a, &actor(hub)).await == Some(MembershipState::Accepted)
    })
    .await;

    // The hub's stored key for A goes stale (as after a key rotation at A).
    let stored = hub.app.db.peer_by_url(&actor(a)).await.unwrap().unwrap();
    let stale = hearth_db::NewPeer {
        actor_url: stored.actor_url.clone(),
        kind: stored.kind.clone(),
        name: stored.name.clone(),
        inbox: stored.inbox.clone(),
        public_key_pem: hearth_testkit::new_key().public_pem,
        profile: stored.profile.clone(),
        fetched_at: SystemClock.now(),
        shared_inbox: None,
        username: None,
    };
    hub.app.db.refresh_known_peer(&stale).await.unwrap();

    // A leaves: its Undo fails the stale key, the hub refetches A's actor and accepts it.
    let hub_peer = a
        .app
        .db
        .membership_by_actor(&actor(hub))
        .await
        .unwrap()
        .unwrap()
        .peer
        .id;
    fa.get("/hubs").await;
    fa.post_form(&format!("/hubs/{hub_peer}/leave"), &[] as &[(&str, &str)])
        .await
        .assert_status(200);
    wait_for("the hub drops group A", 20, || async {
        membership(hub, &actor(a)).await.is_none()
    })
    .await;
    let refreshed = hub.app.db.peer_by_url(&actor(a)).await.unwrap().unwrap();
    assert_eq!(
        refreshed.public_key_pem,
        a.app.db.instance_key().await.unwrap().unwrap().public_pem
    );
}
