//! Key rotation over loopback: a group stores a new key, restarts and announces its actor; the
//! hub, still holding the old key, fetches the actor again, takes the Update, and accepts what
//! the group signs with the new key from then on.

use hearth_core::{InstanceRole, Role};
use hearth_db::{DeliveryState, MembershipState};
use hearth_testkit::{Backend, network, wait_for};

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
    hearth_federation::activities::leave(&group.app.state.fed(), peer)
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
