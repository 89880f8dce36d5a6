//! A hub pair over loopback: two hubs agree to aggregate together, twelve groups of 5–15
//! people send each hub its own share of a month's counts, the helper is down when the checks
//! begin and the batch is released once it is back, exactly once; the released sums are the
//! true sums plus noise; an altered share is refused at both hubs, a replayed share changes
//! nothing, a second collection of a released batch is refused, a batch with fewer than m
//! groups is not released, a region's batch that differs from the network's by fewer than m
//! groups is shown nowhere, and no table on either hub holds a group's counts.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use activitypub_federation::traits::Activity;
use hearth_core::noise::Sigma;
use hearth_core::pair::{Dimension, HubRole, PairPlan, PairSums};
use hearth_core::report::TrueCounts;
use hearth_core::sharing::{Cadence, Signal, SignalSet};
use hearth_core::{InstanceRole, Role};
use hearth_db::{MembershipState, PairState, ShareState};
use hearth_federation::actor::Peer;
use hearth_federation::hub_pairs;
use hearth_federation::protocol::pair::{
    CreatePair, CreatePairCollection, PairCollection, PairCollectionObject,
};
use hearth_testkit::{Backend, Node, network, wait_for};
use url::Url;

/// `of`'s actor as `node` fetches it (a group sharing through a pair federates with both hubs).
async fn peer_of(node: &Node, of: &Node) -> Peer {
    let url = Url::parse(&format!("{}/actor", of.base())).unwrap();
    let fed = node.app.state.fed();
    fed.allow_domain(&url);
    activitypub_federation::fetch::object_id::ObjectId::<Peer>::from(url)
        .dereference(&fed)
        .await
        .unwrap()
}

/// A group's true counts: `n` respondents, `b` of them burnt out, everyone in one hours band.
fn counts(n: i64, b: i64) -> TrueCounts {
    TrueCounts::new(n)
        .with(Signal::Burnout, &[b])
        .with(Signal::HoursBands, &[0, n, 0, 0, 0])
}

async fn a_pair_releases_sums_once_and_refuses_what_it_must(backend: Backend) {
    let names: Vec<String> = (0..12).map(|i| format!("group-{i}.localhost")).collect();
    let mut specs = vec![
        ("leader.localhost", InstanceRole::Hub),
        ("helper.localhost", InstanceRole::Hub),
    ];
    specs.extend(names.iter().map(|n| (n.as_str(), InstanceRole::Group)));
    let mut nodes = network(backend, &specs).await;
    let leader_actor = format!("{}/actor", nodes[0].base());

    // The leader's staff open the hub to groups and propose the pair; the helper's accept.
    let staff = nodes[0].app.join(Role::Facilitator, "staff").await;
    staff.get("/groups").await;
    staff
        .post_form("/groups/settings", &[("auto_accept", "yes")])
        .await;
    let helper_peer = peer_of(&nodes[0], &nodes[1]).await;
    // σ = 1 per hub here, so the check of the sums can be tight; the plan's own σ is tested in
    // hearth-core and measured by `hearth bench --accuracy`.
    let plan = PairPlan {
        cadence: Cadence::Month,
        dimensions: vec![Dimension::Network, Dimension::Region],
        sigma: Sigma::from_tenths(10).unwrap(),
    };
    let proposed = hub_pairs::propose(&nodes[0].app.state.fed(), &helper_peer, plan, 5)
        .await
        .unwrap();
    assert_eq!(proposed.state, PairState::Proposed);
    let at_helper = {
        let helper = &nodes[1];
        wait_for("the helper holds the offer", 30, || async {
            !helper.app.db.pairs().await.unwrap().is_empty()
        })
        .await;
        helper.app.db.pairs().await.unwrap().remove(0)
    };
    assert_eq!(at_helper.role, HubRole::Helper);
    assert_eq!(at_helper.verify_key, proposed.verify_key);
    hub_pairs::decide(&nodes[1].app.state.fed(), at_helper.id, true)
        .await
        .unwrap();
    // An answered offer cannot be answered again.
    assert!(
        hub_pairs::decide(&nodes[1].app.state.fed(), at_helper.id, false)
            .await
            .is_err()
    );
    {
        let leader = &nodes[0];
        wait_for("the leader hears the pair accepted", 30, || async {
            leader
                .app
                .db
                .pair(proposed.id)
                .await
                .unwrap()
                .unwrap()
                .state
                == PairState::Accepted
        })
        .await;
    }
    let pair_url = Url::parse(&proposed.pair_url).unwrap();

    // Twelve groups of 5–15 join the leader, nine from the North West and three from Wales;
    // eleven send honest shares for October, the last one a share altered on its way (its
    // leader share has one bit flipped).
    let (mut true_respondents, mut true_burnout) = (0, 0);
    for (i, g) in nodes[2..].iter().enumerate() {
        let region = if i < 9 { "uk-north-west" } else { "uk-wales" };
        sql(
            &g.app.db,
            &format!("UPDATE group_settings SET region = '{region}'"),
        )
        .await;
        let fac = g.app.join(Role::Facilitator, "fac").await;
        fac.get("/hubs").await;
        fac.post_form("/hubs", &[("address", format!("hub@{}", nodes[0].host()))])
            .await
            .assert_redirect("/hubs");
        wait_for("accepted", 30, || async {
            g.app
                .db
                .membership_by_actor(&leader_actor)
                .await
                .unwrap()
                .is_some_and(|m| m.state == MembershipState::Accepted)
        })
        .await;
        let leader = peer_of(g, &nodes[0]).await;
        let helper = peer_of(g, &nodes[1]).await;
        let n = 5 + i as i64 % 11;
        let b = i as i64 % 4;
        let fed = g.app.state.fed();
        if i < 11 {
            true_respondents += n;
            true_burnout += b;
            hub_pairs::send_shares(
                &fed,
                &pair_url,
                &leader,
                &helper,
                "2026-10".parse().unwrap(),
                &counts(n, b),
                SignalSet::all(),
            )
            .await
            .unwrap();
        } else {
            hub_pairs::send_shares(
                &fed,
                &pair_url,
                &leader,
                &helper,
                "2026-10".parse().unwrap(),
                &counts(15, 15),
                SignalSet::all(),
            )
            .await
            .unwrap();
        }
    }
    for hub in &nodes[..2] {
        wait_for("twelve shares at each hub", 60, || async {
            hub.app
                .db
                .pair_shares(hub_pair_id(hub).await, "2026-10")
                .await
                .unwrap()
                .len()
                == 12
        })
        .await;
    }
    // Alter the last group's share as the leader holds it: its proof no longer holds.
    let leader_pair = proposed.id;
    let last_group = nodes[0]
        .app
        .db
        .peer_by_url(&format!("{}/actor", nodes[13].base()))
        .await
        .unwrap()
        .unwrap();
    let last = nodes[0]
        .app
        .db
        .pair_shares(leader_pair, "2026-10")
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.peer_id == last_group.id)
        .unwrap();
    let mut bytes =
        hearth_federation::protocol::pair::decode(&last.input_share, "inputShare").unwrap();
    bytes[3] ^= 1;
    tamper(
        &nodes[0].app.db,
        last.id,
        &hearth_federation::protocol::pair::encode(&bytes),
    )
    .await;

    // A replay of a share already held changes nothing.
    let first = nodes[1]
        .app
        .db
        .pair_shares(hub_pair_id(&nodes[1]).await, "2026-10")
        .await
        .unwrap()
        .remove(0);
    let stored = nodes[1]
        .app
        .db
        .store_pair_share(
            hub_pair_id(&nodes[1]).await,
            first.peer_id,
            &hearth_db::NewPairShare {
                period: first.period.clone(),
                nonce: first.nonce.clone(),
                public_share: first.public_share.clone(),
                input_share: first.input_share.clone(),
            },
            nodes[1].app.now(),
        )
        .await
        .unwrap();
    assert_eq!(stored, hearth_db::ShareStored::Replayed);

    // The helper is down when the leader starts the checks: nothing is released meanwhile.
    nodes[1].stop();
    let now = nodes[0].app.now();
    let steps = hub_pairs::run_due(&nodes[0].app.state.fed(), now)
        .await
        .unwrap();
    assert_eq!(steps, 1);
    // The period's checks have begun: a late share is refused.
    assert_eq!(
        nodes[0]
            .app
            .db
            .store_pair_share(
                leader_pair,
                first.peer_id,
                &hearth_db::NewPairShare {
                    period: "2026-10".into(),
                    nonce: hearth_federation::protocol::pair::encode(&[9; 16]),
                    public_share: first.public_share.clone(),
                    input_share: first.input_share.clone(),
                },
                now,
            )
            .await
            .unwrap(),
        hearth_db::ShareStored::Late
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        nodes[0]
            .app
            .db
            .pair_releases(leader_pair)
            .await
            .unwrap()
            .is_empty()
    );
    // A second pass sends nothing again: the shares are out for checking.
    assert_eq!(
        hub_pairs::run_due(&nodes[0].app.state.fed(), now)
            .await
            .unwrap(),
        0
    );

    // The helper comes back; the outbox delivers; the network's and the North West's batches
    // are released, once each (Wales, with two checked reports, is below m).
    nodes[1].start().await;
    {
        let leader = &nodes[0];
        wait_for(
            "the network and North West batches are released",
            90,
            || async {
                leader
                    .app
                    .db
                    .pair_releases(leader_pair)
                    .await
                    .unwrap()
                    .len()
                    == 2
            },
        )
        .await;
    }
    let releases = nodes[0].app.db.pair_releases(leader_pair).await.unwrap();
    assert_eq!(releases.len(), 2);
    assert_eq!(
        (releases[1].segment.as_str(), releases[1].groups),
        ("region:uk-north-west", 9)
    );
    let r = &releases[0];
    assert_eq!(
        (r.segment.as_str(), r.period.as_str(), r.groups),
        ("network", "2026-10", 11)
    );
    let sums = PairSums::from_values(r.sums.clone()).unwrap();
    // Both hubs' noise at σ = 1: a sum is within a few points of the truth.
    assert!(
        (sums.respondents() - true_respondents).abs() <= 8,
        "{sums:?}"
    );
    assert!(
        (sums.counts_of(Signal::Burnout)[0] - true_burnout).abs() <= 8,
        "{sums:?}"
    );
    assert!((sums.respondents_of(Signal::Burnout) - true_respondents).abs() <= 12);

    // The leader's staff read the release on the pairs page, apart from single-hub figures.
    // The North West's batch is held back there, on the sector page, in its export and in the
    // summary: taken from the network's, it would give the two Welsh groups' sums.
    let pairs_page = staff
        .get("/pairs")
        .await
        .assert_status(200)
        .assert_contains("Aggregating")
        .assert_contains("unless both")
        .assert_contains("2026-10")
        .assert_contains("Burnout")
        .assert_contains("1 release is not shown, here or anywhere else");
    assert!(
        !pairs_page.body.contains("North West"),
        "{}",
        pairs_page.body
    );
    let sector = staff.get("/sector").await.assert_status(200);
    assert!(sector.body.contains("the whole network"), "{}", sector.body);
    assert!(!sector.body.contains("North West"), "{}", sector.body);
    staff
        .get("/sector?segment=region:uk-north-west")
        .await
        .assert_status(404);
    for export in ["/sector/export.csv", "/sector/export.json"] {
        let body = staff.get(export).await.assert_status(200).body;
        assert!(body.contains("network"), "{export}: {body}");
        assert!(!body.contains("uk-north-west"), "{export}: {body}");
    }
    let (figures, _) = hearth_federation::summaries::figures_for(
        &nodes[0].app.state.fed(),
        "2026-10".parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!figures.is_empty());
    assert!(
        figures.iter().all(|f| f.segment == "network"),
        "{figures:?}"
    );

    // The altered share was refused at both hubs and added nothing.
    let helper_pair = hub_pair_id(&nodes[1]).await;
    for (hub, id) in [(&nodes[0], leader_pair), (&nodes[1], helper_pair)] {
        let shares = hub.app.db.pair_shares(id, "2026-10").await.unwrap();
        let refused: Vec<_> = shares
            .iter()
            .filter(|s| s.state == ShareState::Refused)
            .collect();
        assert_eq!(refused.len(), 1, "one refused at each hub");
        assert_eq!(
            shares
                .iter()
                .filter(|s| s.state == ShareState::Checked)
                .count(),
            11
        );
    }

    // A second collection of the released batch is refused by the helper.
    let helper_fed = nodes[1].app.state.fed();
    let again: CreatePairCollection = CreatePair {
        id: Url::parse(&format!("{}/activities/again", nodes[0].base())).unwrap(),
        kind: activitypub_federation::kinds::activity::CreateType::Create,
        actor: Url::parse(&leader_actor).unwrap(),
        to: vec![helper_fed.actor_url()],
        object: PairCollectionObject {
            kind: PairCollection::PairCollection,
            id: Url::parse(&format!("{}/pairs/steps/again", nodes[0].base())).unwrap(),
            pair: pair_url.clone(),
            period: "2026-10".into(),
            segment: "network".into(),
            nonces: nodes[1]
                .app
                .db
                .pair_shares(helper_pair, "2026-10")
                .await
                .unwrap()
                .into_iter()
                .filter(|s| s.state == ShareState::Checked)
                .map(|s| s.nonce)
                .collect(),
        },
    };
    again.verify(&helper_fed).await.unwrap();
    assert!(again.receive(&helper_fed).await.is_err());

    // September: only three groups share; the batch is below m and is not released.
    for g in &nodes[2..5] {
        let leader = peer_of(g, &nodes[0]).await;
        let helper = peer_of(g, &nodes[1]).await;
        hub_pairs::send_shares(
            &g.app.state.fed(),
            &pair_url,
            &leader,
            &helper,
            "2026-09".parse().unwrap(),
            &counts(8, 2),
            SignalSet::all(),
        )
        .await
        .unwrap();
    }
    {
        let leader = &nodes[0];
        wait_for("three September shares", 60, || async {
            leader
                .app
                .db
                .pair_shares(leader_pair, "2026-09")
                .await
                .unwrap()
                .len()
                == 3
        })
        .await;
    }
    hub_pairs::run_due(&nodes[0].app.state.fed(), nodes[0].app.now())
        .await
        .unwrap();
    {
        let leader = &nodes[0];
        wait_for("September's verdicts", 60, || async {
            leader
                .app
                .db
                .pair_shares(leader_pair, "2026-09")
                .await
                .unwrap()
                .iter()
                .all(|s| s.state == ShareState::Checked)
        })
        .await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        nodes[0]
            .app
            .db
            .pair_releases(leader_pair)
            .await
            .unwrap()
            .len(),
        2
    );

    // No table on either hub holds a group's counts: each hub's shares are random on their own
    // (the helper's is a 32-byte seed and a blind), and no stored text carries a count's name.
    for (hub, id) in [(&nodes[0], leader_pair), (&nodes[1], helper_pair)] {
        for s in hub.app.db.pair_shares(id, "2026-10").await.unwrap() {
            for text in [&s.input_share, &s.public_share] {
                assert!(!text.contains("respondents") && !text.contains("burnout"));
            }
        }
    }
    for s in nodes[1]
        .app
        .db
        .pair_shares(helper_pair, "2026-10")
        .await
        .unwrap()
    {
        let bytes = hearth_federation::protocol::pair::decode(&s.input_share, "x").unwrap();
        assert_eq!(
            bytes.len(),
            64,
            "a helper's share is a seed, whatever the counts"
        );
    }
    let leader_lengths: std::collections::BTreeSet<usize> = nodes[0]
        .app
        .db
        .pair_shares(leader_pair, "2026-10")
        .await
        .unwrap()
        .iter()
        .map(|s| s.input_share.len())
        .collect();
    assert_eq!(
        leader_lengths.len(),
        1,
        "every leader share is as long as every other"
    );
}

/// Rewrites a stored share, as an attacker on the way would have.
async fn tamper(db: &hearth_db::Db, id: i64, input_share: &str) {
    // base64url and an integer: nothing in either needs quoting.
    sql(
        db,
        &format!("UPDATE pair_shares SET input_share = '{input_share}' WHERE id = {id}"),
    )
    .await;
}

/// Runs one statement on either backend.
async fn sql(db: &hearth_db::Db, sql: &str) {
    use diesel_async::RunQueryDsl;
    match &mut db.write_conn().await.unwrap() {
        hearth_db::Conn::Sqlite(c) => diesel::sql_query(sql).execute(&mut **c).await.unwrap(),
        hearth_db::Conn::Postgres(c) => diesel::sql_query(sql).execute(&mut **c).await.unwrap(),
    };
}

/// Staff propose and answer a pair through the pages; bad input is refused as typed and
/// changes nothing; only facilitators may propose or answer.
async fn staff_pair_hubs_through_the_pages(backend: Backend) {
    let nodes = network(
        backend,
        &[
            ("leader.localhost", InstanceRole::Hub),
            ("helper.localhost", InstanceRole::Hub),
        ],
    )
    .await;
    let (leader, helper) = (&nodes[0], &nodes[1]);
    let staff = leader.app.join(Role::Facilitator, "staff").await;
    let address = format!("hub@{}", helper.host());
    staff
        .get("/pairs")
        .await
        .assert_status(200)
        .assert_contains("This hub is in no pair.");
    let refused = staff
        .post_form(
            "/pairs",
            &[
                ("address", address.as_str()),
                ("level", "standard"),
                ("min_groups", "5"),
            ],
        )
        .await
        .assert_status(400)
        .assert_contains("Choose at least one part");
    assert!(refused.body.contains(&address), "what was typed is kept");
    staff
        .post_form(
            "/pairs",
            &[
                ("address", address.as_str()),
                ("dim_network", "yes"),
                ("level", "standard"),
                ("min_groups", "3"),
            ],
        )
        .await
        .assert_status(400)
        .assert_contains("whole number from 5");
    assert!(
        leader.app.db.pairs().await.unwrap().is_empty(),
        "nothing changed"
    );
    // A member who is not a facilitator cannot propose.
    let member = leader.app.join(Role::Member, "colleague").await;
    member
        .post_form(
            "/pairs",
            &[
                ("address", address.as_str()),
                ("dim_network", "yes"),
                ("level", "standard"),
                ("min_groups", "5"),
            ],
        )
        .await
        .assert_status(403);
    staff
        .post_form(
            "/pairs",
            &[
                ("address", address.as_str()),
                ("dim_network", "yes"),
                ("dim_region", "yes"),
                ("level", "standard"),
                ("min_groups", "5"),
            ],
        )
        .await
        .assert_redirect("/pairs?done=proposed");
    staff
        .get("/pairs")
        .await
        .assert_contains("Waiting for the other hub")
        .assert_contains("σ = 9.2");
    let helper_staff = helper.app.join(Role::Facilitator, "staff").await;
    wait_for("the helper holds the offer", 30, || async {
        !helper.app.db.pairs().await.unwrap().is_empty()
    })
    .await;
    let id = hub_pair_id(helper).await;
    helper_staff
        .get("/pairs")
        .await
        .assert_contains("Waiting for your answer")
        .assert_contains("Accept the pair")
        .assert_contains("unless both");
    helper_staff
        .post_form(&format!("/pairs/{id}/answer"), &[("decision", "maybe")])
        .await
        .assert_status(400);
    helper_staff
        .post_form(&format!("/pairs/{id}/answer"), &[("decision", "accept")])
        .await
        .assert_redirect("/pairs?done=accepted");
    wait_for("the leader hears it", 30, || async {
        leader.app.db.pairs().await.unwrap()[0].state == PairState::Accepted
    })
    .await;
    // The verify key went to the helper alone: nothing the helper shows carries it.
    let key = leader.app.db.pairs().await.unwrap()[0].verify_key.clone();
    assert!(!helper_staff.get("/pairs").await.body.contains(&key));
    assert!(!staff.get("/pairs").await.body.contains(&key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_pair_hubs_through_the_pages_on_sqlite() {
    staff_pair_hubs_through_the_pages(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_pair_hubs_through_the_pages_on_postgres() {
    if hearth_testkit::postgres_admin_url().is_none() {
        eprintln!("skipped: HEARTH_TEST_POSTGRES is not set");
        return;
    }
    staff_pair_hubs_through_the_pages(Backend::Postgres).await;
}

async fn hub_pair_id(hub: &Node) -> i64 {
    hub.app.db.pairs().await.unwrap()[0].id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_releases_sums_once_and_refuses_what_it_must_on_sqlite() {
    a_pair_releases_sums_once_and_refuses_what_it_must(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_releases_sums_once_and_refuses_what_it_must_on_postgres() {
    if hearth_testkit::postgres_admin_url().is_none() {
        eprintln!("skipped: HEARTH_TEST_POSTGRES is not set");
        return;
    }
    a_pair_releases_sums_once_and_refuses_what_it_must(Backend::Postgres).await;
}

/// Check-ins for `n` consenting members of a group in November 2026 (two weeks each, `b` of
/// them burnt out), and one who does not consent.
async fn seed_members(g: &Node, n: usize, b: usize) {
    for i in 0..n {
        let id = g.app.seed_member(&format!("member{i}"), true).await;
        let burnout = if i < b { 5 } else { 1 };
        let a =
            hearth_core::CheckinAnswers::new([3; 5], burnout, 2, 4, 1, 3, Some("SECRET".into()))
                .unwrap();
        for w in ["2026-W46", "2026-W47"] {
            g.app.seed_checkin(id, w.parse().unwrap(), &a).await;
        }
    }
    let id = g.app.seed_member("declines", false).await;
    let a = hearth_core::CheckinAnswers::new([0; 5], 5, 0, 9, 0, 3, None).unwrap();
    g.app
        .seed_checkin(id, "2026-W47".parse().unwrap(), &a)
        .await;
}

/// Groups learn the pair from their hub's actor document, choose it on their own pages (one
/// with approval), and November's shares go from the report maker; the pair releases the sums;
/// each group's ledger is charged one release, and its log shows where each share went.
async fn groups_share_through_a_pair_from_their_pages(backend: Backend) {
    let names: Vec<String> = (0..5).map(|i| format!("circle-{i}.localhost")).collect();
    let mut specs = vec![
        ("lead.localhost", InstanceRole::Hub),
        ("help.localhost", InstanceRole::Hub),
    ];
    specs.extend(names.iter().map(|n| (n.as_str(), InstanceRole::Group)));
    let nodes = network(backend, &specs).await;
    let leader_actor = format!("{}/actor", nodes[0].base());
    let staff = nodes[0].app.join(Role::Facilitator, "staff").await;
    staff.get("/groups").await;
    staff
        .post_form("/groups/settings", &[("auto_accept", "yes")])
        .await;
    let helper_peer = peer_of(&nodes[0], &nodes[1]).await;
    // σ = 2 per hub: one release costs ρ = 7 / 8, within a group's yearly cap, and the sums'
    // noise (sd 2.8) allows a tight check.
    let plan = PairPlan {
        cadence: Cadence::Month,
        dimensions: vec![Dimension::Network],
        sigma: Sigma::from_tenths(20).unwrap(),
    };
    let proposed = hub_pairs::propose(&nodes[0].app.state.fed(), &helper_peer, plan.clone(), 5)
        .await
        .unwrap();
    {
        let helper = &nodes[1];
        wait_for("the helper holds the offer", 30, || async {
            !helper.app.db.pairs().await.unwrap().is_empty()
        })
        .await;
    }
    hub_pairs::decide(
        &nodes[1].app.state.fed(),
        hub_pair_id(&nodes[1]).await,
        true,
    )
    .await
    .unwrap();
    {
        let leader = &nodes[0];
        wait_for("the pair is accepted", 30, || async {
            leader
                .app
                .db
                .pair(proposed.id)
                .await
                .unwrap()
                .unwrap()
                .state
                == PairState::Accepted
        })
        .await;
    }
    // The leader's actor document lists the pair for its groups, without the verify key.
    let led = hub_pairs::led_pairs(&nodes[0].app.state.fed())
        .await
        .unwrap();
    assert_eq!(led.len(), 1);
    assert!(led[0].verify_key.is_none());

    let (mut true_respondents, mut true_burnout) = (0i64, 0i64);
    let mut facilitators = Vec::new();
    for (i, g) in nodes[2..].iter().enumerate() {
        let fac = g.app.join(Role::Facilitator, "fac").await;
        fac.get("/hubs").await;
        fac.post_form("/hubs", &[("address", format!("hub@{}", nodes[0].host()))])
            .await
            .assert_redirect("/hubs");
        wait_for("accepted", 30, || async {
            g.app
                .db
                .membership_by_actor(&leader_actor)
                .await
                .unwrap()
                .is_some_and(|m| m.state == MembershipState::Accepted)
        })
        .await;
        let (n, b) = (5 + 2 * i, i % 3);
        seed_members(g, n, b).await;
        true_respondents += n as i64;
        true_burnout += b as i64;
        let peer = g
            .app
            .db
            .membership_by_actor(&leader_actor)
            .await
            .unwrap()
            .unwrap()
            .peer
            .id;
        fac.get(&format!("/hubs/{peer}/sharing"))
            .await
            .assert_contains("offers no hub pair");
        fac.post_form(&format!("/hubs/{peer}/pairs/refresh"), &[("x", "y")])
            .await
            .assert_redirect(&format!("/hubs/{peer}/sharing?done=pairs"));
        let pairs = g.app.db.group_pairs().await.unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].pair_url, proposed.pair_url);
        assert_eq!(pairs[0].plan, plan);
        fac.get(&format!("/hubs/{peer}/sharing"))
            .await
            .assert_contains("unless both")
            .assert_contains("Not sharing through this pair");
        let page = format!("/hubs/{peer}/pairs/{}", pairs[0].id);
        fac.get(&page)
            .await
            .assert_status(200)
            .assert_contains("What is eventually published")
            .assert_contains("the whole network")
            .assert_contains("at least 5 groups");
        // An unknown signal is refused, keeping what was chosen; nothing changes.
        fac.post_form(
            &page,
            &[
                ("enabled", "yes"),
                ("signal", "names"),
                ("automatic", "yes"),
            ],
        )
        .await
        .assert_status(400)
        .assert_contains("Choose signals from the list")
        .assert_contains(r#"id="enabled-yes" name="enabled" value="yes" checked"#);
        assert!(!g.app.db.group_pairs().await.unwrap()[0].enabled);
        // A member cannot choose for the group.
        let member = g.app.join(Role::Member, "someone").await;
        member
            .post_form(&page, &[("enabled", "yes")])
            .await
            .assert_status(403);
        let automatic = if i == 0 { "no" } else { "yes" };
        let mut form = vec![("enabled", "yes"), ("automatic", automatic)];
        form.extend(Signal::all().map(|s| ("signal", s.slug())));
        fac.post_form(&page, &form)
            .await
            .assert_redirect(&format!("{page}?done=saved"));
        assert!(g.app.db.group_pairs().await.unwrap()[0].enabled);
        facilitators.push(fac);
    }

    // November closes; the report maker sends each hub its share (or waits for approval).
    let dec1 = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 12, 0, 0).unwrap();
    let mut rng = rand::rngs::OsRng;
    for (i, g) in nodes[2..].iter().enumerate() {
        let made =
            hearth_federation::group_sharing::make_due_reports(&g.app.state.fed(), dec1, &mut rng)
                .await
                .unwrap();
        let (sent, waiting) = if i == 0 { (0, 1) } else { (1, 0) };
        assert_eq!(
            (made.sent, made.awaiting_approval),
            (sent, waiting),
            "{made:?}"
        );
        let again =
            hearth_federation::group_sharing::make_due_reports(&g.app.state.fed(), dec1, &mut rng)
                .await
                .unwrap();
        assert_eq!(
            again.sent + again.awaiting_approval,
            0,
            "one report per period"
        );
        // The ledger is charged one release (network only) for the period, when it is decided.
        let year = g
            .app
            .db
            .budget_spent(&proposed.pair_url, 2026)
            .await
            .unwrap();
        assert_eq!(year, plan.release_cost());
    }
    let first = &nodes[2];
    let report = first.app.db.shared_reports().await.unwrap().remove(0);
    assert!(report.through_pair);
    assert!(report.activity.is_none(), "nothing is made before approval");
    facilitators[0]
        .get("/shared")
        .await
        .assert_contains("hub pair")
        .assert_contains("Approve and send");
    facilitators[0]
        .post_form(&format!("/shared/{}/approve", report.id), &[("x", "y")])
        .await
        .assert_redirect("/shared?done=approved");
    let approved = first
        .app
        .db
        .shared_report(report.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(approved.state, hearth_db::ReportState::Sent);
    let what_left = approved.activity.unwrap();
    assert!(what_left.contains("inputShareBytes") && !what_left.contains("inputShare\""));
    // A pair report cannot be sent again: its shares are not kept.
    facilitators[0]
        .post_form(&format!("/shared/{}/again", report.id), &[("x", "y")])
        .await
        .assert_status(404);
    let log = facilitators[1]
        .get("/shared")
        .await
        .assert_contains("What left");
    assert!(!log.body.contains("SECRET") && !log.body.contains("member1"));

    for hub in &nodes[..2] {
        wait_for("five shares at each hub", 60, || async {
            hub.app
                .db
                .pair_shares(hub_pair_id(hub).await, "2026-11")
                .await
                .unwrap()
                .len()
                == 5
        })
        .await;
    }
    // Past November's deadline on both hubs' clocks: the helper checks it too.
    let dec8 = dec1 + chrono::Duration::days(7);
    for hub in &nodes[..2] {
        hub.app.clock.set(dec8);
    }
    assert_eq!(
        hub_pairs::run_due(&nodes[0].app.state.fed(), dec8)
            .await
            .unwrap(),
        1
    );
    {
        let leader = &nodes[0];
        wait_for("November is released", 90, || async {
            !leader
                .app
                .db
                .pair_releases(proposed.id)
                .await
                .unwrap()
                .is_empty()
        })
        .await;
    }
    let r = nodes[0]
        .app
        .db
        .pair_releases(proposed.id)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((r.period.as_str(), r.groups), ("2026-11", 5));
    let sums = PairSums::from_values(r.sums.clone()).unwrap();
    assert!(
        (sums.respondents() - true_respondents).abs() <= 8,
        "{sums:?}"
    );
    assert!(
        (sums.counts_of(Signal::Burnout)[0] - true_burnout).abs() <= 8,
        "{sums:?}"
    );

    // The sector page reads the pair by default, apart from the hub's own (empty) reports, with
    // the pair's narrower intervals; exports and the summary carry it as the pair's.
    let sector = staff.get("/sector").await.assert_status(200);
    assert!(
        sector.body.contains("The hub pair with help.localhost"),
        "{}",
        sector.body
    );
    assert!(sector.body.contains("never added together"));
    assert!(sector.body.contains("Burnout"));
    staff
        .get("/sector?source=hub")
        .await
        .assert_status(200)
        .assert_contains("Every group adds random noise")
        .assert_contains("Nothing to show yet");
    staff
        .get("/sector?source=pair-999")
        .await
        .assert_status(404);
    let csv = staff.get("/sector/export.csv").await.assert_status(200);
    let pair_key = format!("pair-{}", proposed.id);
    assert!(
        csv.body.lines().skip(1).all(|l| l.ends_with(&pair_key)),
        "{}",
        csv.body
    );
    assert!(
        csv.body
            .contains("network,the whole network,burnout,2026-11")
    );
    let (figures, note) = hearth_federation::summaries::figures_for(
        &nodes[0].app.state.fed(),
        "2026-11".parse().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!figures.is_empty());
    assert!(
        figures
            .iter()
            .all(|f| f.aggregation.as_deref() == Some("pair") && f.groups == 5)
    );
    assert!(note.contains("from 5 groups"), "{note}");

    // The hub's staff end the pair; the helper hears it, and the group's next look stops sharing.
    staff.get("/pairs").await.assert_contains("End this pair");
    staff
        .post_form(&format!("/pairs/{}/end", proposed.id), &[("x", "y")])
        .await
        .assert_redirect("/pairs?done=ended");
    assert_eq!(
        nodes[0]
            .app
            .db
            .pair(proposed.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        PairState::Ended
    );
    {
        let helper = &nodes[1];
        wait_for("the helper hears the pair ended", 30, || async {
            helper.app.db.pairs().await.unwrap()[0].state == PairState::Ended
        })
        .await;
    }
    // Ending it again is refused.
    staff
        .post_form(&format!("/pairs/{}/end", proposed.id), &[("x", "y")])
        .await
        .assert_status(400);
    let g = &nodes[3];
    let peer = g
        .app
        .db
        .membership_by_actor(&leader_actor)
        .await
        .unwrap()
        .unwrap()
        .peer
        .id;
    facilitators[1]
        .post_form(&format!("/hubs/{peer}/pairs/refresh"), &[("x", "y")])
        .await
        .assert_redirect(&format!("/hubs/{peer}/sharing?done=pairs"));
    let p = g.app.db.group_pairs().await.unwrap().remove(0);
    assert!(!p.offered && !p.enabled);
    facilitators[1]
        .get(&format!("/hubs/{peer}/sharing"))
        .await
        .assert_contains("No longer offered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_share_through_a_pair_from_their_pages_on_sqlite() {
    groups_share_through_a_pair_from_their_pages(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_share_through_a_pair_from_their_pages_on_postgres() {
    if hearth_testkit::postgres_admin_url().is_none() {
        eprintln!("skipped: HEARTH_TEST_POSTGRES is not set");
        return;
    }
    groups_share_through_a_pair_from_their_pages(Backend::Postgres).await;
}
