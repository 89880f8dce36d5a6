//! Key rotation over loopback: a group stores a new key, restarts and announces its actor; the
//! hub, still holding the old key, fetches the actor again, takes the Update, and accepts what
//! the group signs with the new key from then on. What the group signed with its old key still
//! verifies for the grace period, and not after.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use axum::body::Body;
use axum::http::Request;
use hearth_core::report::{TrueCounts, make_report_with_noise};
use hearth_federation::protocol::report::{CreateReport, WellbeingReport};
use url::Url;

use hearth_core::{InstanceRole, Role};
// The library dates and checks signatures by the system clock, so these requests must too.
use hearth_db::clock::{Clock as _, SystemClock};
use hearth_db::{DeliveryState, MembershipState};
use hearth_testkit::{Backend, Node, network, wait_for};

/// A report from the group for `period`, signed by hand with `private_pem`, sent to the hub's
/// inbox; returns the status.
async fn send_report(hub: &Node, group_actor: &str, period: &str, private_pem: &str) -> u16 {
    let settings = hearth_core::sharing::SharingSettings::default();
    let truth = TrueCounts::new(9);
    let r = make_report_with_noise(period.parse().unwrap(), &settings, truth, &mut || 0);
    let actor = Url::parse(group_actor).unwrap();
    let hub_actor = Url::parse(&format!("{}/actor", hub.base())).unwrap();
    let id = actor.join(&format!("/activities/create/{period}")).unwrap();
    let create = CreateReport {
        id: id.clone(),
        kind: Default::default(),
        actor: actor.clone(),
        to: vec![hub_actor.clone()],
        object: WellbeingReport::from_report(
            actor.join(&format!("/reports/{period}")).unwrap(),
            actor,
            hub_actor,
            &r,
        ),
    };
    let inbox = Url::parse(&format!("{}/inbox", hub.base())).unwrap();
    let body = hearth_federation::sending::outbox_item(&create, &id, "Create", &inbox)
        .unwrap()
        .payload;
    let key_id = format!("{group_actor}#main-key");
    let mut req = Request::post("/inbox");
    for (k, v) in hearth_testkit::signing::sign(&hearth_testkit::signing::Signed {
        host: &hub.host(),
        path: "/inbox",
        body: body.as_bytes(),
        key_id: &key_id,
        private_key_pem: private_pem,
        date: SystemClock.now(),
        digest_of: None,
    }) {
        req = req.header(k, v);
    }
    hub.app
        .client()
        .send(req.body(Body::from(body)).unwrap())
        .await
        .status
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_reaches_the_hub_and_signs_from_then_on() {
    let mut nodes = network(
        Backend::Sqlite,
        &[
            ("hub.localhost", InstanceRole::Hub),
            ("group.localhost", InstanceRole::Group),
        ],
    )
    .await;
    let hub_actor = format!("{}/actor", nodes[0].base());
    let group_actor = format!("{}/actor", nodes[1].base());
    let staff = nodes[0].app.join(Role::Facilitator, "staff").await;
    staff.get("/groups").await;
    staff
        .post_form("/groups/settings", &[("auto_accept", "yes")])
        .await;
    let fac = nodes[1].app.join(Role::Facilitator, "fac").await;
    fac.get("/hubs").await;
    fac.post_form("/hubs", &[("address", format!("hub@{}", nodes[0].host()))])
        .await
        .assert_redirect("/hubs");
    wait_for("accepted", 30, || async {
        nodes[1]
            .app
            .db
            .membership_by_actor(&hub_actor)
            .await
            .unwrap()
            .is_some_and(|m| m.state == MembershipState::Accepted)
    })
    .await;
    let old_key = nodes[0]
        .app
        .db
        .peer_by_url(&group_actor)
        .await
        .unwrap()
        .unwrap()
        .public_key_pem;

    let old_private = nodes[1]
        .app
        .db
        .instance_key()
        .await
        .unwrap()
        .unwrap()
        .private_pem;

    // Rotate: stop, store a new key, restart, announce.
    nodes[1].stop();
    let new_key = hearth_testkit::new_key();
    nodes[1]
        .app
        .db
        .store_instance_key(&new_key, nodes[1].app.now())
        .await
        .unwrap();
    nodes[1].app.reload().await;
    nodes[1].start().await;
    let n = hearth_federation::keys::announce_actor(&nodes[1].app.state.fed())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let (hub, group) = (&nodes[0], &nodes[1]);
    wait_for("the hub holds the new key", 30, || async {
        hub.app
            .db
            .peer_by_url(&group_actor)
            .await
            .unwrap()
            .unwrap()
            .public_key_pem
            == new_key.public_pem
    })
    .await;
    assert_ne!(old_key, new_key.public_pem);
    wait_for("the Update is delivered", 30, || async {
        group
            .app
            .db
            .recent_outbox(10)
            .await
            .unwrap()
            .iter()
            .any(|r| r.activity_type == "Update" && r.state == DeliveryState::Delivered)
    })
    .await;
    // A report the group signed with its old key (before it rotated) still verifies...
    assert_eq!(
        send_report(hub, &group_actor, "2026-09", &old_private).await,
        202
    );
    assert_eq!(
        hub.app
            .count("SELECT COUNT(*) AS n FROM received_reports")
            .await,
        1
    );
    // ...until the grace period is over; a stranger's key never does.
    hub.app
        .execute("UPDATE peer_old_keys SET replaced_at = '2026-01-01 00:00:00'")
        .await;
    assert_ne!(
        send_report(hub, &group_actor, "2026-08", &old_private).await,
        202
    );
    let stranger = hearth_testkit::new_key().private_pem;
    assert_ne!(
        send_report(hub, &group_actor, "2026-07", &stranger).await,
        202
    );
    assert_eq!(
        hub.app
            .count("SELECT COUNT(*) AS n FROM received_reports")
            .await,
        1
    );
    // What the group signs now is accepted: it leaves, and the hub takes the Undo.
    let peer = group
        .app
        .db
        .membership_by_actor(&hub_actor)
        .await
        .unwrap()
        .unwrap()
        .peer
        .id;
    hearth_federation::membership::leave(&group.app.state.fed(), peer)
        .await
        .unwrap();
    wait_for(
        "the hub takes the Undo signed with the new key",
        30,
        || async {
            hub.app
                .db
                .membership_by_actor(&group_actor)
                .await
                .unwrap()
                .is_none()
        },
    )
    .await;
}
