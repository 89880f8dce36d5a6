//! Attacks on the inbox. Each case checks the status and that no row changed anywhere.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use axum::body::Body;
use axum::http::Request;
use chrono::Duration;
use hearth_core::{InstanceRole, Role};
// The library dates and checks signatures by the system clock, so these requests must too.
use hearth_db::MembershipState;
use hearth_db::clock::{Clock as _, SystemClock};
use hearth_testkit::signing::{Signed, sign};
use hearth_testkit::{Backend, Node, TestResponse, network, wait_for};

const TABLES: [&str; 6] = [
    "peers",
    "memberships",
    "outbox",
    "received_activities",
    "accounts",
    "sessions",
];

async fn counts(node: &Node) -> Vec<i64> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push(
            node.app
                .count(&format!("SELECT COUNT(*) AS n FROM {t}"))
                .await,
        );
    }
    out
}

struct Sender<'a> {
    target: &'a Node,
    key_pem: String,
    key_id: String,
}

impl Sender<'_> {
    async fn post(&self, body: &[u8], tweak: impl FnOnce(&mut Signed<'_>)) -> TestResponse {
        self.post_edited(body, tweak, |_| {}).await
    }

    /// A signed post whose headers are then changed by `edit`, as `(name, value)`.
    async fn post_edited(
        &self,
        body: &[u8],
        tweak: impl FnOnce(&mut Signed<'_>),
        edit: impl FnOnce(&mut Vec<(String, String)>),
    ) -> TestResponse {
        let host = self.target.host();
        let mut s = Signed {
            host: &host,
            path: "/inbox",
            body,
            key_id: &self.key_id,
            private_key_pem: &self.key_pem,
            date: SystemClock.now(),
            digest_of: None,
        };
        tweak(&mut s);
        let mut headers = sign(&s);
        edit(&mut headers);
        let mut req = Request::post("/inbox");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let req = req.body(Body::from(body.to_vec())).unwrap();
        self.target.app.client().send(req).await
    }

    async fn post_unsigned(&self, body: &[u8]) -> TestResponse {
        let req = Request::post("/inbox")
            .header("host", self.target.host())
            .header("content-type", "application/activity+json")
            .body(Body::from(body.to_vec()))
            .unwrap();
        self.target.app.client().send(req).await
    }
}

fn follow(from: &Node, to: &Node, n: u32) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        // The context earlier versions sent: still read.
        "@context": ["https://w3id.org/hearth/v1", "https://www.w3.org/ns/activitystreams"],
        "id": format!("{}/activities/follow/attack-{n}", from.base()),
        "type": "Follow",
        "actor": format!("{}/actor", from.base()),
        "object": format!("{}/actor", to.base()),
    }))
    .unwrap()
}

async fn key_of(node: &Node) -> String {
    node.app
        .db
        .instance_key()
        .await
        .unwrap()
        .unwrap()
        .private_pem
}

#[track_caller]
fn expect(r: TestResponse, status: u16, case: &str, reason: &str) {
    assert_eq!(r.status.as_u16(), status, "{case}: {}", r.body);
    assert!(
        r.body.contains(reason),
        "{case}: expected {reason:?} in {:?}",
        r.body
    );
}

async fn attacks(backend: Backend) {
    let nodes = network(
        backend,
        &[
            ("hub.localhost", InstanceRole::Hub),
            ("group-a.localhost", InstanceRole::Group),
            ("stranger.localhost", InstanceRole::Group),
        ],
    )
    .await;
    let (hub, a, stranger) = (&nodes[0], &nodes[1], &nodes[2]);
    // Group A joins an open hub, so there is a real membership to attack.
    let mut settings = hub.app.db.group_settings().await.unwrap().unwrap();
    settings.hub_auto_accept = true;
    hub.app.db.update_group_settings(&settings).await.unwrap();
    let fa = a.app.join(Role::Facilitator, "fac-a").await;
    fa.get("/hubs").await;
    fa.post_form("/hubs", &[("address", format!("hub@{}", hub.host()))])
        .await
        .assert_redirect("/hubs");
    let hub_actor = format!("{}/actor", hub.base());
    wait_for("A accepted", 20, || async {
        a.app
            .db
            .membership_by_actor(&hub_actor)
            .await
            .unwrap()
            .map(|m| m.state)
            == Some(MembershipState::Accepted)
    })
    .await;
    wait_for("hub outbox drained", 20, || async {
        hub.app.db.pending_outbox(10).await.unwrap().is_empty()
    })
    .await;

    let as_a = Sender {
        target: hub,
        key_pem: key_of(a).await,
        key_id: format!("{}/actor#main-key", a.base()),
    };
    let before = counts(hub).await;

    expect(
        as_a.post_unsigned(&follow(a, hub, 1)).await,
        401,
        "unsigned",
        "signature",
    );
    // Every header right, but the signature is not one of this request.
    let body = follow(a, hub, 3);
    let host = hub.host();
    let key_pem = key_of(a).await;
    let key_id = format!("{}/actor#main-key", a.base());
    let mut req = Request::post("/inbox");
    for (k, v) in sign(&Signed {
        host: &host,
        path: "/inbox",
        body: &body,
        key_id: &key_id,
        private_key_pem: &key_pem,
        date: SystemClock.now(),
        digest_of: None,
    }) {
        let v = if k == "signature" {
            let start = v.find("signature=\"").unwrap() + "signature=\"".len();
            format!("{}{}\"", &v[..start], "A".repeat(344))
        } else {
            v
        };
        req = req.header(k, v);
    }
    let req = req.body(Body::from(body)).unwrap();
    expect(
        hub.app.client().send(req).await,
        401,
        "wrong signature",
        "invalid signature",
    );
    // Claiming to be A while signing with the stranger's key.
    let forged = Sender {
        target: hub,
        key_pem: key_of(stranger).await,
        key_id: format!("{}/actor#main-key", a.base()),
    };
    expect(
        forged.post(&follow(a, hub, 4), |_| {}).await,
        401,
        "key of a different actor",
        "invalid signature",
    );
    // The signature policy, from a stranger whose accepted Follow would make a reader.
    let as_stranger = Sender {
        target: hub,
        key_pem: key_of(stranger).await,
        key_id: format!("{}/actor#main-key", stranger.base()),
    };
    for (n, (hours, way)) in [(1, "ahead of"), (-1, "behind")].into_iter().enumerate() {
        expect(
            as_stranger
                .post(&follow(stranger, hub, 20 + n as u32), |s| {
                    s.date = SystemClock.now() + Duration::hours(hours)
                })
                .await,
            401,
            "Date an hour off",
            &format!("60 minutes {way} this server's clock"),
        );
    }
    let covering = |covers: &'static str| {
        move |h: &mut Vec<(String, String)>| {
            for (k, v) in h.iter_mut() {
                if k == "signature" {
                    *v = v.replace(
                        r#"headers="(request-target) host date digest""#,
                        &format!(r#"headers="{covers}""#),
                    );
                }
            }
        }
    };
    for (n, (covers, missing)) in [
        ("digest", "does not cover (request-target) host date"),
        ("(request-target) host digest", "does not cover date"),
        ("(request-target) date digest", "does not cover host"),
        ("host date digest", "does not cover (request-target)"),
    ]
    .into_iter()
    .enumerate()
    {
        expect(
            as_stranger
                .post_edited(
                    &follow(stranger, hub, 30 + n as u32),
                    |_| {},
                    covering(covers),
                )
                .await,
            401,
            covers,
            missing,
        );
    }
    expect(
        as_stranger
            .post_edited(
                &follow(stranger, hub, 40),
                |_| {},
                |h| {
                    h.retain(|(k, _)| k != "date");
                },
            )
            .await,
        401,
        "no Date",
        "Date header is missing",
    );
    // An RFC 9421 request: Signature-Input, a Signature in its own form, a Content-Digest.
    expect(
        as_stranger
            .post_edited(&follow(stranger, hub, 41), |_| {}, |h| {
                h.retain(|(k, _)| k != "signature" && k != "digest");
                h.push((
                    "signature-input".into(),
                    r#"sig1=("@method" "@authority" "@path" "content-digest");keyid="k";created=1""#.into(),
                ));
                h.push(("signature".into(), "sig1=:AAAA:".into()));
                h.push(("content-digest".into(), "sha-256=:AAAA:".into()));
            })
            .await,
        401,
        "RFC 9421",
        "RFC 9421 HTTP Message Signatures are not supported",
    );
    expect(
        as_a.post(&follow(a, hub, 6), |s| {
            s.digest_of = Some(b"something else")
        })
        .await,
        401,
        "digest mismatch",
        "digest",
    );
    expect(
        as_a.post(&vec![b' '; 300 * 1024], |_| {}).await,
        413,
        "body over the limit",
        "too large",
    );
    expect(
        as_a.post(b"{\"type\": \"Follow\", ", |_| {}).await,
        400,
        "malformed JSON",
        "not JSON",
    );
    let like = serde_json::to_vec(&serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/like/1", a.base()), "type": "Like",
        "actor": format!("{}/actor", a.base()), "object": hub_actor,
    }))
    .unwrap();
    expect(
        as_a.post(&like, |_| {}).await,
        400,
        "unknown activity type",
        "not accepted here",
    );
    let ip_actor = serde_json::to_vec(&serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("http://127.0.0.1:{}/activities/follow/1", a.port), "type": "Follow",
        "actor": format!("http://127.0.0.1:{}/actor", a.port), "object": hub_actor,
    }))
    .unwrap();
    expect(
        as_a.post(&ip_actor, |_| {}).await,
        403,
        "actor with an IP-literal host",
        "domain name",
    );
    // A stranger that never asked to join may not withdraw anything.
    let as_stranger = Sender {
        target: hub,
        key_pem: key_of(stranger).await,
        key_id: format!("{}/actor#main-key", stranger.base()),
    };
    let undo = serde_json::to_vec(&serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/undo/1", stranger.base()), "type": "Undo",
        "actor": format!("{}/actor", stranger.base()),
        "object": {"id": format!("{}/activities/follow/1", stranger.base()), "type": "Follow",
                   "actor": format!("{}/actor", stranger.base()), "object": hub_actor},
    }))
    .unwrap();
    expect(
        as_stranger.post(&undo, |_| {}).await,
        403,
        "sender that never asked to join",
        "has not asked",
    );
    assert_eq!(
        counts(hub).await,
        before,
        "a refused request changed the hub's database"
    );

    // At a group: an answer from an instance it never asked.
    let group_before = counts(a).await;
    let at_group = Sender {
        target: a,
        key_pem: key_of(stranger).await,
        key_id: format!("{}/actor#main-key", stranger.base()),
    };
    let accept = serde_json::to_vec(&serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/accept/1", stranger.base()), "type": "Accept",
        "actor": format!("{}/actor", stranger.base()),
        "object": {"id": format!("{}/activities/follow/x", a.base()), "type": "Follow",
                   "actor": format!("{}/actor", a.base()), "object": format!("{}/actor", stranger.base())},
    })).unwrap();
    expect(
        at_group.post(&accept, |_| {}).await,
        403,
        "group: answer from a stranger",
        "has not asked",
    );
    expect(
        at_group.post(&follow(stranger, a, 1), |_| {}).await,
        403,
        "group: Follow sent to a group",
        "has not asked",
    );
    assert_eq!(
        counts(a).await,
        group_before,
        "a refused request changed the group's database"
    );

    // Replay: a valid activity is processed once; the same bytes again change nothing.
    let valid = follow(a, hub, 100);
    expect(as_a.post(&valid, |_| {}).await, 202, "valid activity", "");
    let after_first = counts(hub).await;
    assert_ne!(after_first, before, "the valid activity was recorded");
    expect(as_a.post(&valid, |_| {}).await, 202, "replay", "");
    assert_eq!(
        counts(hub).await,
        after_first,
        "a replay changed the hub's database"
    );
}

/// A hub's answer in the shapes ActivityStreams allows besides Hearth's own: the `Follow` named
/// by its id alone (an `Accept`), and embedded with its `actor` and `object` as objects (a
/// `Reject`). Each moves the group's membership.
async fn answers_in_every_shape(backend: Backend) {
    let nodes = network(
        backend,
        &[
            ("hub.localhost", InstanceRole::Hub),
            ("group-a.localhost", InstanceRole::Group),
        ],
    )
    .await;
    let (hub, a) = (&nodes[0], &nodes[1]);
    let fa = a.app.join(Role::Facilitator, "fac-a").await;
    fa.get("/hubs").await;
    fa.post_form("/hubs", &[("address", format!("hub@{}", hub.host()))])
        .await
        .assert_redirect("/hubs");
    let hub_actor = format!("{}/actor", hub.base());
    let state = || async {
        a.app
            .db
            .membership_by_actor(&hub_actor)
            .await
            .unwrap()
            .map(|m| m.state)
    };
    wait_for("the request is pending", 20, || async {
        state().await == Some(MembershipState::Pending)
    })
    .await;
    let follow_id = a
        .app
        .db
        .membership_by_actor(&hub_actor)
        .await
        .unwrap()
        .unwrap()
        .follow_id;
    let as_hub = Sender {
        target: a,
        key_pem: key_of(hub).await,
        key_id: format!("{hub_actor}#main-key"),
    };
    let context = serde_json::json!(["https://www.w3.org/ns/activitystreams"]);
    let accept = serde_json::json!({
        "@context": context,
        "id": format!("{}/activities/accept/by-id", hub.base()),
        "type": "Accept",
        "actor": hub_actor,
        "object": follow_id,
    });
    let r = as_hub
        .post(&serde_json::to_vec(&accept).unwrap(), |_| {})
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(state().await, Some(MembershipState::Accepted));
    let reject = serde_json::json!({
        "@context": context,
        "id": format!("{}/activities/reject/objects", hub.base()),
        "type": "Reject",
        "actor": hub_actor,
        "object": {
            "id": follow_id,
            "type": "Follow",
            "actor": {"id": format!("{}/actor", a.base()), "type": "Group"},
            "object": {"id": hub_actor},
        },
    });
    let r = as_hub
        .post(&serde_json::to_vec(&reject).unwrap(), |_| {})
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(state().await, Some(MembershipState::Rejected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_in_every_shape_on_sqlite() {
    answers_in_every_shape(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_in_every_shape_on_postgres() {
    if hearth_testkit::postgres_admin_url().is_none() {
        eprintln!("skipped: HEARTH_TEST_POSTGRES is not set");
        return;
    }
    answers_in_every_shape(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_attacks_are_refused_and_change_nothing_on_sqlite() {
    attacks(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_attacks_are_refused_and_change_nothing_on_postgres() {
    if hearth_testkit::postgres_admin_url().is_none() {
        eprintln!("skipped: HEARTH_TEST_POSTGRES is not set");
        return;
    }
    attacks(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_domain_is_cut_off_with_429() {
    let nodes = network(
        Backend::Sqlite,
        &[
            ("hub.localhost", InstanceRole::Hub),
            ("flood.localhost", InstanceRole::Group),
        ],
    )
    .await;
    let (hub, flood) = (&nodes[0], &nodes[1]);
    let sender = Sender {
        target: hub,
        // A key that is not the sender's: every request fails its signature check, but each
        // still counts against the domain's allowance.
        key_pem: hearth_testkit::new_key().private_pem,
        key_id: format!("{}/actor#main-key", flood.base()),
    };
    let before = counts(hub).await;
    // The allowance refills as time passes, so send until the cut-off (bounded).
    let allowance = hearth_federation::REQUESTS_PER_MINUTE;
    let mut statuses = Vec::new();
    for n in 0..allowance * 3 {
        let status = sender
            .post(&follow(flood, hub, n), |_| {})
            .await
            .status
            .as_u16();
        statuses.push(status);
        if status == 429 {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&429), "never cut off: {statuses:?}");
    assert!(
        statuses.len() > allowance as usize,
        "cut off too early: {}",
        statuses.len()
    );
    assert!(
        statuses[..statuses.len() - 1].iter().all(|s| *s == 401),
        "{statuses:?}"
    );
    assert_eq!(counts(hub).await, before);
}
