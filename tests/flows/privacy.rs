//! A member's answers and notes are readable by that member only. Every route is tried as
//! every other kind of visitor; both the status and the page content are checked.

use hearth_core::Role;
use hearth_testkit::{TestApp, TestClient, backend_tests};

const NOTE: &str = "PRIVATE-NOTE-of-member-A";

/// Member A's distinctive answers: hours 37/41/29 appear nowhere else.
fn a_form() -> Vec<(&'static str, String)> {
    vec![
        ("who5_1", "1".into()),
        ("who5_2", "2".into()),
        ("who5_3", "1".into()),
        ("who5_4", "2".into()),
        ("who5_5", "1".into()),
        ("burnout", "4".into()),
        ("paid_hours", "37".into()),
        ("unpaid_hours", "41".into()),
        ("funding_hours", "29".into()),
        ("time_pressure", "4".into()),
        ("note", NOTE.into()),
    ]
}

/// Every GET route, plus guesses at addresses that might name another person's data.
fn routes(a_id: i64) -> Vec<String> {
    let mut r: Vec<String> = [
        "/",
        "/checkin",
        "/checkin/saved",
        "/history",
        "/account",
        "/invites",
        "/support",
        "/login",
        "/healthz",
        "/group",
        "/group/export.csv",
        "/members",
        "/settings",
        "/account/export.json",
        "/account/export.csv",
        "/account/delete",
        "/shared",
        "/hubs",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    r.extend([
        format!("/history?account_id={a_id}"),
        format!("/history/{a_id}"),
        format!("/checkin?account_id={a_id}"),
        format!("/checkins/{a_id}"),
        format!("/account/{a_id}"),
        format!("/members/{a_id}"),
    ]);
    r
}

#[track_caller]
fn assert_no_trace_of_a(body: &str, who: &str, path: &str) {
    for needle in [
        NOTE,
        "<td>37</td>",
        "<td>41</td>",
        "<td>29</td>",
        "value=\"37\"",
        "value=\"41\"",
    ] {
        assert!(
            !body.contains(needle),
            "{who} saw {needle:?} at {path}:\n{body}"
        );
    }
}

async fn a_checks_in(app: &TestApp) -> (TestClient, i64) {
    let a = app.join(Role::Member, "member-a").await;
    a.post_form("/checkin", &a_form())
        .await
        .assert_redirect("/checkin/saved");
    // A sees their own answers.
    a.get("/history")
        .await
        .assert_contains(NOTE)
        .assert_contains("<td>37</td>");
    a.get("/checkin")
        .await
        .assert_contains(NOTE)
        .assert_contains("value=\"37\"");
    (a, app.account_id("member-a").await)
}

backend_tests! {
    async fn nobody_else_can_read_a_members_check_in_or_note_by_any_route(app) {
        let (_a, a_id) = a_checks_in(&app).await;
        let b = app.join(Role::Member, "member-b").await;
        let f = app.join(Role::Facilitator, "facil").await;
        let anon = app.client();
        for (who, client) in [("member B", &b), ("facilitator", &f), ("anonymous", &anon)] {
            for path in routes(a_id) {
                let r = client.get(&path).await;
                assert!(
                    matches!(r.status.as_u16(), 200 | 303 | 403 | 404 | 503),
                    "{who} {path}: {}", r.status
                );
                assert_no_trace_of_a(&r.body, who, &path);
            }
        }
        // Private pages send visitors who are not signed in to sign in.
        for path in ["/checkin", "/checkin/saved", "/history", "/account", "/invites"] {
            anon.get(path).await.assert_redirect("/login");
        }
        // B's and the facilitator's own pages show their own (empty) history, not A's.
        b.get("/history").await.assert_status(200).assert_contains("You have no check-ins yet");
        f.get("/history").await.assert_status(200).assert_contains("You have no check-ins yet");
    }

    async fn another_members_submission_cannot_touch_a_members_check_in(app) {
        let (_a, a_id) = a_checks_in(&app).await;
        let before = app.db.own_checkins(a_id).await.unwrap();
        let b = app.join(Role::Member, "member-b").await;
        b.get("/checkin").await.assert_status(200);
        // Even naming A's account in the form does nothing: the author is the session's.
        let mut form = hearth_testkit::checkin_form(5, 1, "B's note");
        form.push(("account_id", a_id.to_string()));
        b.post_form("/checkin", &form).await.assert_redirect("/checkin/saved");
        assert_eq!(app.db.own_checkins(a_id).await.unwrap(), before);
        let b_id = app.account_id("member-b").await;
        assert_eq!(app.db.own_checkins(b_id).await.unwrap().len(), 1);
    }

    async fn a_member_signed_out_sees_none_of_their_own_answers(app) {
        let (a, _) = a_checks_in(&app).await;
        a.get("/account").await;
        a.post_form("/logout", &[] as &[(&str, &str)]).await.assert_redirect("/");
        for path in ["/", "/checkin", "/history", "/checkin/saved"] {
            let r = a.get(path).await;
            assert_no_trace_of_a(&r.body, "signed-out A", path);
        }
    }
}
