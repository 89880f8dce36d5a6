//! Reports end to end: sharing settings, the preview a facilitator approves, delivery to the
//! hub, signed fetch, the yearly budget, consent and erasure. Every test runs on SQLite, and on
//! PostgreSQL when HEARTH_TEST_POSTGRES is set.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use axum::body::Body;
use axum::http::Request;
use chrono::{DateTime, TimeZone, Utc};
use hearth_core::sharing::{DELTA, Rho, YEARLY_CAP};
use hearth_core::{CheckinAnswers, InstanceRole, IsoWeek, Role};
// The library dates and checks signatures by the system clock, so these requests must too.
use hearth_db::clock::{Clock as _, SystemClock};
use hearth_db::{MembershipState, NewPeer, NewSharedReport, ReportState};
use hearth_federation::group_sharing::{MadeReports, make_due_reports};
use hearth_testkit::{Backend, Node, TestApp, TestClient, network, signing, wait_for};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).single().unwrap()
}

fn week(s: &str) -> IsoWeek {
    s.parse().unwrap()
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(20_261_201)
}

fn answers(who5: u8, burnout: u8, paid: u8, unpaid: u8, note: &str) -> CheckinAnswers {
    let funding = 2.min(paid.saturating_add(unpaid));
    CheckinAnswers::new(
        [who5; 5],
        burnout,
        paid,
        unpaid,
        funding,
        3,
        Some(note.to_owned()),
    )
    .unwrap()
}

/// `n` consenting members with check-ins in November 2026 (two weeks each), and two who do
/// not consent. Their names and notes carry markers no report may contain.
async fn seed_november(app: &TestApp, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = app.seed_member(&format!("member{i}"), true).await;
        let a = answers(
            (i % 6) as u8,
            1 + (i % 5) as u8,
            (i % 20) as u8,
            (i % 9) as u8,
            "SECRET-NOTE",
        );
        app.seed_checkin(id, week("2026-W46"), &a).await;
        app.seed_checkin(id, week("2026-W47"), &a).await;
        ids.push(id);
    }
    for i in 0..2 {
        let id = app.seed_member(&format!("nope{i}"), false).await;
        app.seed_checkin(id, week("2026-W47"), &answers(1, 5, 3, 3, "SECRET-NOTE"))
            .await;
    }
    ids
}

fn actor(node: &Node) -> String {
    format!("{}/actor", node.base())
}

/// A hub and one group, the group accepted as a member.
async fn joined(backend: Backend) -> (Vec<Node>, TestClient, TestClient, i64) {
    let nodes = network(
        backend,
        &[
            ("hub.localhost", InstanceRole::Hub),
            ("group-a.localhost", InstanceRole::Group),
        ],
    )
    .await;
    let staff = nodes[0].app.join(Role::Facilitator, "staff").await;
    let fac = nodes[1].app.join(Role::Facilitator, "fac").await;
    staff.get("/groups").await;
    staff
        .post_form("/groups/settings", &[("auto_accept", "yes")])
        .await;
    fac.get("/hubs").await;
    fac.post_form("/hubs", &[("address", format!("hub@{}", nodes[0].host()))])
        .await
        .assert_redirect("/hubs");
    let hub_actor = actor(&nodes[0]);
    let group = &nodes[1];
    wait_for("the hub accepts the group", 30, || async {
        group
            .app
            .db
            .membership_by_actor(&hub_actor)
            .await
            .unwrap()
            .is_some_and(|m| m.state == MembershipState::Accepted)
    })
    .await;
    let peer = group
        .app
        .db
        .membership_by_actor(&hub_actor)
        .await
        .unwrap()
        .unwrap()
        .peer
        .id;
    (nodes, staff, fac, peer)
}

async fn share(fac: &TestClient, peer: i64, automatic: bool, signals: &[&str]) {
    fac.get(&format!("/hubs/{peer}/sharing"))
        .await
        .assert_status(200);
    let mut form: Vec<(&str, String)> = vec![
        ("enabled", "yes".into()),
        ("cadence", "month".into()),
        ("level", "standard".into()),
        ("automatic", if automatic { "yes" } else { "no" }.into()),
    ];
    form.extend(signals.iter().map(|s| ("signal", (*s).to_owned())));
    fac.post_form(&format!("/hubs/{peer}/sharing"), &form)
        .await
        .assert_redirect(&format!("/hubs/{peer}/sharing?done=saved"));
}

const ALL: [&str; 6] = [
    "low_wellbeing",
    "burnout",
    "time_pressure",
    "unpaid_hours",
    "funding_paperwork",
    "hours_bands",
];

async fn hub_reports_from(hub: &Node, group: &Node) -> i64 {
    let Some(m) = hub.app.db.membership_by_actor(&actor(group)).await.unwrap() else {
        let Some(peer) = hub.app.db.peer_by_url(&actor(group)).await.unwrap() else {
            return 0;
        };
        return hub.app.db.received_reports_of(peer.id).await.unwrap().len() as i64;
    };
    hub.app
        .db
        .received_reports_of(m.peer.id)
        .await
        .unwrap()
        .len() as i64
}

async fn previewed_approved_delivered_fetched_and_erased(backend: Backend) {
    let (nodes, staff, fac, peer) = joined(backend).await;
    let (hub, group) = (&nodes[0], &nodes[1]);
    seed_november(&group.app, 25).await;
    let member = group.app.join(Role::Member, "reader").await;

    // Nothing is shared until a facilitator turns sharing on.
    assert_eq!(
        make_due_reports(&group.app.state.fed(), at(2026, 12, 1), &mut rng())
            .await
            .unwrap(),
        MadeReports::default()
    );
    share(&fac, peer, false, &ALL).await;
    fac.get(&format!("/hubs/{peer}/sharing?done=saved"))
        .await
        .assert_contains("The sharing settings are saved")
        .assert_contains("ρ = 0.083")
        .assert_contains("ε = 8.41");

    // November closes on Monday 30 November: its report waits for approval.
    let before = make_due_reports(&group.app.state.fed(), at(2026, 11, 29), &mut rng())
        .await
        .unwrap();
    assert_eq!(
        before,
        MadeReports::default(),
        "November has not closed yet"
    );
    let made = make_due_reports(&group.app.state.fed(), at(2026, 12, 1), &mut rng())
        .await
        .unwrap();
    assert_eq!(made.awaiting_approval, 1, "{made:?}");
    let again = make_due_reports(&group.app.state.fed(), at(2026, 12, 2), &mut rng())
        .await
        .unwrap();
    assert_eq!(again, MadeReports::default(), "one report per period");
    let report = group.app.db.shared_reports().await.unwrap().remove(0);
    assert_eq!(report.state, ReportState::AwaitingApproval);
    let preview = report.activity.clone().unwrap();
    for secret in ["SECRET-NOTE", "member1", "nope0", "display", "reader"] {
        assert!(!preview.contains(secret), "{secret} in the report");
    }

    // Members read the log, with the exact JSON; only facilitators may approve.
    let log = member.get("/shared").await.assert_status(200);
    assert!(log.body.contains("Waiting for a facilitator"));
    assert!(log.body.contains("November 2026"));
    assert!(!log.body.contains("Approve and send"));
    let escaped_id = report.object_id.clone().unwrap().replace('/', "&#x2f;");
    assert!(
        log.body.contains(&escaped_id) || log.body.contains(report.object_id.as_deref().unwrap()),
        "the exact JSON is shown"
    );
    member
        .post_form(&format!("/shared/{}/approve", report.id), &[("x", "y")])
        .await
        .assert_status(403);
    assert_eq!(
        hub_reports_from(hub, group).await,
        0,
        "nothing before approval"
    );
    assert_eq!(
        group
            .app
            .count("SELECT COUNT(*) AS n FROM outbox WHERE activity_type = 'Create'")
            .await,
        0
    );

    fac.get("/shared").await.assert_contains("Approve and send");
    fac.post_form(&format!("/shared/{}/approve", report.id), &[("x", "y")])
        .await
        .assert_redirect("/shared?done=approved");
    wait_for("the hub stores the report", 30, || async {
        hub_reports_from(hub, group).await == 1
    })
    .await;
    // What was delivered is byte for byte what was previewed, and the hub holds its numbers.
    let sent: Vec<String> = {
        let rows = group.app.db.recent_outbox(50).await.unwrap();
        rows.into_iter()
            .filter(|r| r.activity_type == "Create")
            .map(|r| r.payload)
            .collect()
    };
    assert_eq!(sent, vec![preview.clone()]);
    let shown: serde_json::Value = serde_json::from_str(&preview).unwrap();
    let hub_peer = hub
        .app
        .db
        .membership_by_actor(&actor(group))
        .await
        .unwrap()
        .unwrap()
        .peer
        .id;
    let (object_id, period, counts) = hub
        .app
        .db
        .received_reports_of(hub_peer)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(object_id, shown["object"]["id"].as_str().unwrap());
    assert_eq!(period, "2026-11");
    let get = |name: &str| counts.iter().find(|(s, _)| s == name).unwrap().1;
    assert_eq!(
        get("respondents"),
        shown["object"]["respondents"].as_i64().unwrap()
    );
    assert_eq!(get("burnout"), shown["object"]["burnout"].as_i64().unwrap());
    assert_eq!(
        get("hours_31_plus"),
        shown["object"]["hoursBands"][4].as_i64().unwrap()
    );
    assert_eq!(counts.len(), 11);
    staff
        .get("/groups")
        .await
        .assert_contains("1 report, the last on");
    wait_for("the log says delivered", 30, || async {
        member
            .get("/shared")
            .await
            .body
            .contains("Sent and delivered")
    })
    .await;

    // The report is served to its hub alone, on a signed fetch.
    let path = url::Url::parse(&object_id).unwrap().path().to_owned();
    let fetch = |key_id: String, pem: String| {
        let c = group.app.client();
        let path = path.clone();
        let host = group.host();
        async move {
            let mut req = Request::get(&path);
            for (k, v) in signing::sign_get(&host, &path, &key_id, &pem, SystemClock.now()) {
                req = req.header(k, v);
            }
            c.send(req.body(Body::empty()).unwrap()).await
        }
    };
    group.app.client().get(&path).await.assert_status(401);
    let hub_key = hub.app.db.instance_key().await.unwrap().unwrap();
    let ok = fetch(
        format!("{}#main-key", actor(hub)),
        hub_key.private_pem.clone(),
    )
    .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.body);
    let fetched: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(fetched["type"], "WellbeingReport");
    assert_eq!(fetched["respondents"], shown["object"]["respondents"]);
    // The terms it uses are defined inline: a JSON-LD processor needs nothing fetched.
    assert_eq!(
        fetched["@context"][0],
        "https://www.w3.org/ns/activitystreams"
    );
    assert_eq!(fetched["@context"][2]["respondents"], "hearth:respondents");
    // Someone else's key, or the hub's name with someone else's key: not found.
    let other = hearth_testkit::new_key();
    fetch(
        format!("{}#main-key", actor(group)),
        other.private_pem.clone(),
    )
    .await
    .assert_status(404);
    fetch(format!("{}#main-key", actor(hub)), other.private_pem)
        .await
        .assert_status(404);

    // Leaving with erasure leaves nothing of the group at the hub; the log stays here.
    fac.get("/hubs").await;
    fac.post_form(&format!("/hubs/{peer}/leave"), &[("erase", "yes")])
        .await
        .assert_status(200)
        .assert_contains("asked it to erase");
    wait_for(
        "the hub erases the group's reports and membership",
        30,
        || async {
            hub_reports_from(hub, group).await == 0
                && hub
                    .app
                    .db
                    .membership_by_actor(&actor(group))
                    .await
                    .unwrap()
                    .is_none()
        },
    )
    .await;
    assert_eq!(
        hub.app
            .count("SELECT COUNT(*) AS n FROM received_report_counts")
            .await,
        0
    );
    member
        .get("/shared")
        .await
        .assert_contains("Erasure asked for")
        .assert_contains("November 2026");
    // Once erased, the report is no longer served even to the hub.
    fetch(format!("{}#main-key", actor(hub)), hub_key.private_pem)
        .await
        .assert_status(404);
}
hearth_testkit::on_both_backends!(
    a_report_is_previewed_approved_delivered_fetched_and_erased,
    previewed_approved_delivered_fetched_and_erased
);

async fn automatic_sending_send_again_and_erasure_without_leaving(backend: Backend) {
    let (nodes, _staff, fac, peer) = joined(backend).await;
    let (hub, group) = (&nodes[0], &nodes[1]);
    seed_november(&group.app, 25).await;
    share(&fac, peer, true, &["burnout"]).await;
    let made = make_due_reports(&group.app.state.fed(), at(2026, 12, 1), &mut rng())
        .await
        .unwrap();
    assert_eq!(made.sent, 1, "{made:?}");
    wait_for("the report arrives", 30, || async {
        hub_reports_from(hub, group).await == 1
    })
    .await;
    let report = group.app.db.shared_reports().await.unwrap().remove(0);
    assert_eq!(report.state, ReportState::Sent);
    // Two counts a member can touch; σ = 3.5 fits a year of them in ρ = 1: ρ = 2 / (2 · 3.5²).
    assert_eq!(
        report.rho,
        Rho::of_report(2, hearth_core::noise::Sigma::from_tenths(35).unwrap())
    );

    // Sending again is an Update of the same object: the hub still holds one report.
    fac.get("/shared").await;
    fac.post_form(&format!("/shared/{}/again", report.id), &[("x", "y")])
        .await
        .assert_redirect("/shared?done=again");
    wait_for("the Update is delivered", 30, || async {
        group
            .app
            .db
            .recent_outbox(50)
            .await
            .unwrap()
            .iter()
            .any(|r| r.activity_type == "Update" && r.state == hearth_db::DeliveryState::Delivered)
    })
    .await;
    assert_eq!(hub_reports_from(hub, group).await, 1);
    assert_eq!(
        group.app.db.budget_spent(&actor(hub), 2026).await.unwrap(),
        report.rho,
        "sending again costs nothing"
    );

    // A hub that no longer counts the group refuses what it sends (403): the delivery is
    // given up at once with the hub's answer, never shown as delivered, never retried.
    hub.app
        .execute("UPDATE memberships SET state = 'rejected'")
        .await;
    fac.get("/shared").await;
    fac.post_form(&format!("/shared/{}/again", report.id), &[("x", "y")])
        .await
        .assert_redirect("/shared?done=again");
    wait_for("the refused Update is given up", 30, || async {
        let rows = group.app.db.recent_outbox(50).await.unwrap();
        rows.iter().any(|r| {
            r.activity_type == "Update"
                && r.state == hearth_db::DeliveryState::Failed
                && r.attempts == 1
                && r.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("HTTP 403"))
        })
    })
    .await;
    fac.get("/hubs")
        .await
        .assert_contains("Refused by the receiving server (HTTP 403)");
    hub.app
        .execute("UPDATE memberships SET state = 'accepted'")
        .await;

    // Erasure without leaving: the hub drops the reports, the group stays a member.
    fac.get(&format!("/hubs/{peer}/sharing")).await;
    fac.post_form(&format!("/hubs/{peer}/erase"), &[("x", "y")])
        .await
        .assert_redirect(&format!("/hubs/{peer}/sharing?done=erase"));
    wait_for("the hub erases the reports", 30, || async {
        hub_reports_from(hub, group).await == 0
    })
    .await;
    assert!(
        hub.app
            .db
            .membership_by_actor(&actor(group))
            .await
            .unwrap()
            .is_some_and(|m| m.state == MembershipState::Accepted)
    );
}
hearth_testkit::on_both_backends!(
    automatic_reports_are_sent_again_as_updates_and_erased_on_request,
    automatic_sending_send_again_and_erasure_without_leaving
);

/// A hub this group belongs to, stored directly (no network), for tests of the group side.
async fn fake_hub(app: &TestApp, name: &str) -> i64 {
    // Each hub its own key: the ledger follows a hub's key.
    fake_hub_with_key(app, name, &hearth_testkit::new_key().public_pem).await
}

async fn fake_hub_with_key(app: &TestApp, name: &str, public_pem: &str) -> i64 {
    let m = app
        .db
        .save_membership(
            &NewPeer {
                actor_url: format!("https://{name}/actor"),
                kind: "Service".into(),
                name: name.into(),
                inbox: format!("https://{name}/inbox"),
                public_key_pem: public_pem.to_owned(),
                profile: "{}".into(),
                fetched_at: app.now(),
                shared_inbox: None,
                username: None,
            },
            MembershipState::Accepted,
            &format!("https://hearth.test/activities/follow/{name}"),
            &[],
            app.now(),
        )
        .await
        .unwrap();
    m.peer.id
}

async fn weekly_sharing(app: &TestApp, peer: i64, from: DateTime<Utc>) {
    let s = hearth_core::sharing::SharingSettings {
        enabled: true,
        cadence: hearth_core::sharing::Cadence::Week,
        automatic: true,
        ..Default::default()
    };
    app.db.set_sharing(peer, &s, from).await.unwrap();
}

async fn budget_cap_and_restart(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (a, b) = (
        fake_hub(&app, "hub-a.example").await,
        fake_hub(&app, "hub-b.example").await,
    );
    for i in 0..30 {
        let id = app.seed_member(&format!("m{i}"), true).await;
        for w in ["2026-W46", "2026-W47", "2026-W48", "2026-W49", "2027-W01"] {
            app.seed_checkin(id, week(w), &answers(3, 2, 5, 5, "n"))
                .await;
        }
    }
    let settings = app.db.sharing(a).await.unwrap().settings;
    let cost = hearth_core::sharing::SharingSettings {
        cadence: hearth_core::sharing::Cadence::Week,
        ..settings
    }
    .rho_per_report();
    // Hub A has all but one of a year's weekly reports spent (in one row); hub B exactly all
    // but one report's cost, so its next report lands on the cap.
    let fit = u32::try_from(YEARLY_CAP.0 / cost.0).unwrap();
    assert!(
        fit >= 53,
        "σ is chosen so that a full year of weekly reports fits"
    );
    app.db
        .record_report(
            &NewSharedReport {
                hub_actor: "https://hub-a.example/actor".into(),
                hub_name: "hub-a.example".into(),
                period: "2026-W01".into(),
                budget_year: 2026,
                state: ReportState::Sent,
                rho: cost.saturating_mul(fit - 1),
                object_id: None,
                activity: None,
                through_pair: false,
            },
            &[],
            app.now(),
        )
        .await
        .unwrap();
    app.db
        .record_report(
            &NewSharedReport {
                hub_actor: "https://hub-b.example/actor".into(),
                hub_name: "hub-b.example".into(),
                period: "2026-W01".into(),
                budget_year: 2026,
                state: ReportState::Sent,
                rho: Rho(YEARLY_CAP.0 - cost.0),
                object_id: None,
                activity: None,
                through_pair: false,
            },
            &[],
            app.now(),
        )
        .await
        .unwrap();
    weekly_sharing(&app, a, at(2026, 11, 10)).await;
    weekly_sharing(&app, b, at(2026, 11, 10)).await;

    // W46 and W47 have closed by 25 November. Each hub takes exactly one more report.
    let made = make_due_reports(&app.state.fed(), at(2026, 11, 25), &mut rng())
        .await
        .unwrap();
    assert_eq!(made.sent, 2, "{made:?}");
    assert_eq!(made.over_budget, 2, "{made:?}");
    let spent_a = app
        .db
        .budget_spent("https://hub-a.example/actor", 2026)
        .await
        .unwrap();
    assert_eq!(spent_a, cost.saturating_mul(fit));
    assert_eq!(
        app.db
            .budget_spent("https://hub-b.example/actor", 2026)
            .await
            .unwrap(),
        YEARLY_CAP,
        "a report that lands exactly on the cap is made"
    );
    let rows = app.db.shared_reports().await.unwrap();
    let state_of = |hub: &str, period: &str| {
        rows.iter()
            .find(|r| r.hub_name == hub && r.period == period)
            .map(|r| r.state)
    };
    assert_eq!(
        state_of("hub-a.example", "2026-W46"),
        Some(ReportState::Sent)
    );
    assert_eq!(
        state_of("hub-a.example", "2026-W47"),
        Some(ReportState::OverBudget)
    );
    assert_eq!(
        state_of("hub-b.example", "2026-W47"),
        Some(ReportState::OverBudget)
    );

    // The page says why, and when sending resumes; members see the budget and ε.
    let member = app.join(Role::Member, "reader").await;
    let expected_eps = format!("{:.2}", spent_a.epsilon(DELTA));
    member
        .get("/shared")
        .await
        .assert_contains("privacy budget for this hub is used up")
        .assert_contains("Sending resumes with week of 4 Jan 2027")
        .assert_contains(&expected_eps);
    member
        .get("/account")
        .await
        .assert_contains(&format!("which means ε = {expected_eps}"));

    // A restarted process reads the same ledger and still refuses.
    let reopened = hearth_db::Db::open(app.database_url()).await.unwrap();
    assert_eq!(
        reopened
            .budget_spent("https://hub-a.example/actor", 2026)
            .await
            .unwrap(),
        spent_a
    );
    let fed = hearth_federation::config(
        reopened.clone(),
        app.clock.clone(),
        url::Url::parse("http://hearth.test/").unwrap(),
        InstanceRole::Group,
        &hearth_federation::FedOptions {
            insecure_local: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let made = make_due_reports(&fed.to_request_data(), at(2026, 12, 9), &mut rng())
        .await
        .unwrap();
    assert_eq!((made.sent, made.over_budget), (0, 4), "{made:?}");
    // A new year has a new budget.
    let made = make_due_reports(&fed.to_request_data(), at(2027, 1, 13), &mut rng())
        .await
        .unwrap();
    assert_eq!(made.sent, 2, "{made:?}");
    assert_eq!(
        reopened
            .budget_spent("https://hub-a.example/actor", 2027)
            .await
            .unwrap(),
        cost
    );
}
hearth_testkit::on_both_backends!(
    the_yearly_budget_stops_reports_exactly_and_survives_restart,
    budget_cap_and_restart
);

/// A hub that moves to a new address keeps its key: the group's ledger follows the key, so the
/// new address gets no fresh budget and no period already sent is drawn and sent again.
async fn the_same_hub_at_a_new_address(backend: Backend) {
    let app = TestApp::new(backend).await;
    seed_november(&app, 10).await;
    let pem = hearth_testkit::new_key().public_pem;
    fake_hub_with_key(&app, "old-hub.example", &pem).await;
    let old_actor = "https://old-hub.example/actor";
    let spent = Rho(YEARLY_CAP.0 - 1_000_000);
    app.db
        .record_report(
            &NewSharedReport {
                hub_actor: old_actor.into(),
                hub_name: "old-hub.example".into(),
                period: "2026-11".into(),
                budget_year: 2026,
                state: ReportState::Sent,
                rho: spent,
                object_id: None,
                activity: None,
                through_pair: false,
            },
            &[],
            app.now(),
        )
        .await
        .unwrap();
    let moved = fake_hub_with_key(&app, "new-hub.example", &pem).await;
    let s = hearth_core::sharing::SharingSettings {
        enabled: true,
        automatic: true,
        ..Default::default()
    };
    app.db
        .set_sharing(moved, &s, at(2026, 10, 1))
        .await
        .unwrap();
    let made = make_due_reports(&app.state.fed(), at(2026, 12, 1), &mut rng())
        .await
        .unwrap();
    // October would pass the cap already spent at the old address; November went there.
    assert_eq!((made.sent, made.over_budget), (0, 1), "{made:?}");
    let new_actor = "https://new-hub.example/actor";
    assert_eq!(app.db.budget_spent(new_actor, 2026).await.unwrap(), spent);
    assert!(
        !app.db
            .shared_reports()
            .await
            .unwrap()
            .iter()
            .any(|r| r.hub_actor == new_actor && r.period == "2026-11")
    );
    // The facilitator is told it is the same hub.
    let fac = app.join(Role::Facilitator, "fac").await;
    fac.get(&format!("/hubs/{moved}/sharing"))
        .await
        .assert_contains("same key as one this group knew at https://old-hub.example/actor");
    // One budget row for the one hub.
    let member = app.join(Role::Member, "reader").await;
    let log = member.get("/shared").await.body;
    assert_eq!(log.matches("0.999 of 1.000").count(), 1, "{log}");
}
hearth_testkit::on_both_backends!(
    the_same_hub_at_a_new_address_gets_no_new_budget,
    the_same_hub_at_a_new_address
);

async fn consent_and_closed_reports(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = week("2026-W47");
    let a = app.seed_member("keeps", true).await;
    let b = app.seed_member("withdraws", true).await;
    let c = app.seed_member("leaves", true).await;
    let d = app.seed_member("never", false).await;
    for id in [a, b, c, d] {
        app.seed_checkin(id, w, &answers(2, 3, 4, 4, "x")).await;
    }
    app.db.set_consent(b, false, app.now()).await.unwrap();
    app.db.delete_account(c).await.unwrap();
    let got: Vec<i64> = app
        .db
        .contributions(&[w])
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.member)
        .collect();
    assert_eq!(
        got,
        vec![a],
        "only members who still consent, and still exist"
    );

    // A report, once made, never changes: later edits, withdrawals and deletions leave it.
    let peer = fake_hub(&app, "hub.example").await;
    let ids: Vec<i64> = {
        let mut v = Vec::new();
        for i in 0..25 {
            let id = app.seed_member(&format!("p{i}"), true).await;
            app.seed_checkin(id, w, &answers(1, 4, 10, 0, "x")).await;
            v.push(id);
        }
        v
    };
    let s = hearth_core::sharing::SharingSettings {
        enabled: true,
        automatic: true,
        ..Default::default()
    };
    app.db
        .set_sharing(peer, &s, at(2026, 11, 20))
        .await
        .unwrap();
    let made = make_due_reports(&app.state.fed(), at(2026, 12, 1), &mut rng())
        .await
        .unwrap();
    assert_eq!(made.sent, 1, "{made:?}");
    let before = app.db.shared_reports().await.unwrap();
    let outbox_before = app.db.recent_outbox(10).await.unwrap();
    app.seed_checkin(ids[0], w, &answers(5, 1, 0, 0, "changed"))
        .await;
    app.db.set_consent(ids[1], false, app.now()).await.unwrap();
    app.db.delete_account(ids[2]).await.unwrap();
    let made = make_due_reports(&app.state.fed(), at(2026, 12, 20), &mut rng())
        .await
        .unwrap();
    assert_eq!(made, MadeReports::default());
    assert_eq!(app.db.shared_reports().await.unwrap(), before);
    assert_eq!(
        app.db
            .recent_outbox(10)
            .await
            .unwrap()
            .iter()
            .map(|r| &r.payload)
            .collect::<Vec<_>>(),
        outbox_before.iter().map(|r| &r.payload).collect::<Vec<_>>()
    );
}
hearth_testkit::on_both_backends!(
    withdrawn_consent_and_deleted_accounts_are_left_out_and_closed_reports_never_change,
    consent_and_closed_reports
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_settings_refuse_bad_input_and_change_nothing() {
    let app = TestApp::new(Backend::Sqlite).await;
    let peer = fake_hub(&app, "hub.example").await;
    let fac = app.join(Role::Facilitator, "fac").await;
    let member = app.join(Role::Member, "mem").await;
    member
        .get(&format!("/hubs/{peer}/sharing"))
        .await
        .assert_status(403);
    let page = fac
        .get(&format!("/hubs/{peer}/sharing"))
        .await
        .assert_status(200);
    assert!(page.body.contains("Share with this hub?"));
    fac.post_form(
        &format!("/hubs/{peer}/sharing"),
        &[
            ("enabled", "yes"),
            ("signal", "names"),
            ("cadence", "daily"),
            ("level", "none"),
        ],
    )
    .await
    .assert_status(400)
    .assert_contains("Choose signals from the list")
    .assert_contains("Choose how often")
    .assert_contains("Choose a privacy level");
    assert!(!app.db.sharing(peer).await.unwrap().settings.enabled);
    fac.get("/hubs/999/sharing").await.assert_status(404);
    // Weekly reports with every signal do not fit a year: the page says how many would go.
    fac.post_form(
        &format!("/hubs/{peer}/sharing"),
        &[
            ("enabled", "yes"),
            ("signal", "burnout"),
            ("cadence", "week"),
            ("level", "standard"),
            ("automatic", "no"),
        ],
    )
    .await
    .assert_redirect(&format!("/hubs/{peer}/sharing?done=saved"));
    let s = app.db.sharing(peer).await.unwrap();
    assert!(s.settings.enabled && s.enabled_at.is_some());
    let all: Vec<(&str, &str)> = [
        ("enabled", "yes"),
        ("cadence", "week"),
        ("level", "standard"),
        ("automatic", "no"),
    ]
    .into_iter()
    .chain(ALL.iter().map(|x| ("signal", *x)))
    .collect();
    fac.post_form(&format!("/hubs/{peer}/sharing"), &all).await;
    fac.get(&format!("/hubs/{peer}/sharing"))
        .await
        // Weekly with every signal: the noise grows so that all 53 reports fit the year.
        .assert_contains("every count gets noise σ = 13.7")
        .assert_contains("a full year of up to 53 reports costs");
}
