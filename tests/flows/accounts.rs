//! Accounts, sessions, invites, CSRF and error pages through the real router, on both databases.

use hearth_core::Role;
use hearth_testkit::{TestApp, backend_tests, checkin_form};

async fn sign_in(app: &TestApp, username: &str, password: &str) -> hearth_testkit::TestClient {
    let c = app.client();
    c.get("/login").await.assert_status(200);
    c.post_form("/login", &[("username", username), ("password", password)])
        .await
        .assert_redirect("/");
    c
}

/// SQL for "now plus `a` days" and "now plus `b` days" in UTC, as each backend writes it.
fn in_days(app: &TestApp, a: u32, b: u32) -> (String, String) {
    let at = |d: u32| match app.backend() {
        hearth_testkit::Backend::Sqlite => {
            format!("strftime('%Y-%m-%d %H:%M:%f', 'now', '+{d} days')")
        }
        hearth_testkit::Backend::Postgres => {
            format!("((now() AT TIME ZONE 'UTC') + INTERVAL '{d} days')")
        }
    };
    (at(a), at(b))
}

backend_tests! {
    async fn anonymous_visits_store_no_session_and_signing_in_still_works(app) {
        app.join(Role::Member, "robin").await;
        let sessions = "SELECT COUNT(*) AS n FROM sessions";
        let before = app.count(sessions).await;
        // Ten thousand visitors with no cookie, each given a sign-in form with its token.
        for _ in 0..10_000 {
            app.client().get("/login").await.assert_status(200);
        }
        assert_eq!(app.count(sessions).await, before, "no row for anyone not signed in");
        // A visitor's form still works, and only signing in stores a session.
        let c = sign_in(&app, "robin", "a long enough password").await;
        assert_eq!(app.count(sessions).await, before + 1);
        c.get("/checkin").await.assert_status(200);
        c.post_form("/logout", &[] as &[(&str, &str)]).await.assert_redirect("/");
        assert_eq!(app.count(sessions).await, before);
    }

    async fn a_shared_computer_session_ends_with_the_browser_or_when_idle(app) {
        app.join(Role::Member, "robin").await;
        let c = app.client();
        c.get("/login").await.assert_contains("This is a shared computer");
        // A wrong password keeps the choice.
        c.post_form("/login", &[("username", "robin"), ("password", "wrong wrong wrong"), ("shared", "yes")])
            .await
            .assert_status(401)
            .assert_contains(r#"value="yes" checked"#);
        let r = c
            .post_form("/login", &[("username", "robin"), ("password", "a long enough password"), ("shared", "yes")])
            .await
            .assert_redirect("/");
        let cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap().to_owned();
        assert!(cookie.starts_with("hearth_session="), "{cookie}");
        assert!(!cookie.contains("Max-Age") && !cookie.contains("Expires"), "a browser-session cookie: {cookie}");
        // In use, it stays signed in; thirty minutes unused, it is over.
        for _ in 0..3 {
            app.clock.advance(chrono::Duration::minutes(20));
            c.get("/checkin").await.assert_status(200);
        }
        app.clock.advance(chrono::Duration::minutes(31));
        c.get("/checkin").await.assert_redirect("/login");
        // An ordinary sign-in keeps its cookie for days and does not time out in half an hour.
        let d = app.client();
        d.get("/login").await;
        let r = d
            .post_form("/login", &[("username", "robin"), ("password", "a long enough password")])
            .await
            .assert_redirect("/");
        let cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap().to_owned();
        assert!(cookie.contains("Max-Age") || cookie.contains("Expires"), "{cookie}");
        app.clock.advance(chrono::Duration::minutes(45));
        d.get("/checkin").await.assert_status(200);
    }

    async fn sign_in_and_out_work_and_wrong_passwords_are_refused(app) {
        app.join(Role::Member, "robin").await;
        let c = app.client();
        c.get("/login").await;
        c.post_form("/login", &[("username", "robin"), ("password", "not the password")])
            .await
            .assert_status(401)
            .assert_contains("The username or password is not right")
            .assert_contains("value=\"robin\"");
        c.get("/checkin").await.assert_redirect("/login");
        // Unknown usernames get the same answer.
        c.post_form("/login", &[("username", "nobody"), ("password", "not the password")])
            .await
            .assert_status(401)
            .assert_contains("The username or password is not right");
        // Usernames are case-insensitive at sign-in.
        c.post_form("/login", &[("username", "Robin"), ("password", "a long enough password")])
            .await
            .assert_redirect("/");
        c.get("/checkin").await.assert_status(200);
        c.post_form("/logout", &[] as &[(&str, &str)]).await.assert_redirect("/");
        c.get("/checkin").await.assert_redirect("/login");
    }

    async fn sign_in_attempts_are_rate_limited(app) {
        app.join(Role::Member, "target").await;
        let c = app.client();
        c.get("/login").await;
        for _ in 0..10 {
            c.post_form("/login", &[("username", "target"), ("password", "guess guess guess")])
                .await
                .assert_status(401);
        }
        c.post_form("/login", &[("username", "target"), ("password", "a long enough password")])
            .await
            .assert_status(429)
            .assert_contains("Too many attempts");
    }

    async fn a_session_in_use_stays_signed_in_and_costs_one_write_a_day(app) {
        let c = app.join(Role::Member, "daily").await;
        c.get("/checkin").await.assert_status(200);
        let (one_day_left, long_left) = in_days(&app, 1, 13);
        // As if signed in almost two weeks ago and last seen on another day: a day left.
        let aged = format!(
            "UPDATE sessions SET expires_at = {one_day_left}, \
             data = REPLACE(data, '\"seen\":\"', '\"seen\":\"1999') \
             WHERE account_id IS NOT NULL"
        );
        assert_eq!(app.execute(&aged).await, 1);
        let fresh = format!("SELECT COUNT(*) AS n FROM sessions WHERE expires_at > {long_left}");
        assert_eq!(app.count(&fresh).await, 0);
        // The first request of the day moves the expiry to fourteen days from now.
        c.get("/checkin").await.assert_status(200);
        assert_eq!(app.count(&fresh).await, 1);
        // Later requests the same day do not write the session again.
        app.execute(&format!("UPDATE sessions SET expires_at = {one_day_left}"))
            .await;
        c.get("/checkin").await.assert_status(200);
        c.get("/history").await.assert_status(200);
        assert_eq!(app.count(&fresh).await, 0);
    }

    async fn changing_a_password_signs_out_other_sessions(app) {
        let first = app.join(Role::Member, "pat").await;
        let second = sign_in(&app, "pat", "a long enough password").await;
        first.get("/account").await.assert_status(200);
        first
            .post_form("/account/password", &[
                ("current_password", "wrong one entirely"),
                ("new_password", "brand new password"),
                ("new_password_confirm", "brand new password"),
            ])
            .await
            .assert_status(400)
            .assert_contains("Your current password is not right");
        first
            .post_form("/account/password", &[
                ("current_password", "a long enough password"),
                ("new_password", "short"),
                ("new_password_confirm", "short"),
            ])
            .await
            .assert_status(400)
            .assert_contains("at least 10 characters");
        first
            .post_form("/account/password", &[
                ("current_password", "a long enough password"),
                ("new_password", "brand new password"),
                ("new_password_confirm", "brand new password"),
            ])
            .await
            .assert_redirect("/account?done=password");
        first.get("/account?done=password").await.assert_contains("Your password has been changed");
        second.get("/checkin").await.assert_redirect("/login");
        first.get("/checkin").await.assert_status(200);
        sign_in(&app, "pat", "brand new password").await;
    }

    async fn forms_without_the_sessions_csrf_token_are_refused_and_change_nothing(app) {
        let member = app.join(Role::Member, "casey").await;
        member.get("/checkin").await;
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in checkin_form(3, 2, "") {
            body.append_pair(k, &v);
        }
        let no_token = body.finish();
        member.post_raw("/checkin", no_token.clone()).await.assert_status(400).assert_contains("expired");
        member
            .post_raw("/checkin", format!("{no_token}&csrf_token=forged"))
            .await
            .assert_status(400);
        // A token from someone else's session is no good either.
        let other = app.client();
        other.get("/login").await;
        let foreign = other.csrf().unwrap();
        member
            .post_raw("/checkin", format!("{no_token}&csrf_token={foreign}"))
            .await
            .assert_status(400);
        let id = app.account_id("casey").await;
        assert!(app.db.own_checkins(id).await.unwrap().is_empty());
        // The log-out form is protected too.
        member.post_raw("/logout", String::new()).await.assert_status(400);
        member.get("/checkin").await.assert_status(200);
    }

    async fn invite_links_work_once_and_expire(app) {
        let path = app.invite_path(Role::Member).await;
        let c = app.client();
        c.get(&path).await.assert_status(200);
        // A username clash leaves the invite unused.
        app.join(Role::Member, "taken").await;
        c.post_form(&path, &[
            ("display_name", "Someone"),
            ("username", "taken"),
            ("password", "a long enough password"),
            ("password_confirm", "a long enough password"),
        ])
        .await
        .assert_status(400)
        .assert_contains("That username is taken")
        .assert_contains("value=\"Someone\"")
        .assert_lacks("a long enough password");
        c.post_form(&path, &[
            ("display_name", "Someone"),
            ("username", "someone"),
            ("password", "a long enough password"),
            ("password_confirm", "a long enough password"),
        ])
        .await
        .assert_redirect("/");
        app.client().get(&path).await.assert_status(410).assert_contains("already been used");

        let expiring = app.invite_path(Role::Member).await;
        app.clock.advance(chrono::Duration::days(8));
        app.client().get(&expiring).await.assert_status(410).assert_contains("expired");
        app.client().get("/join/not-a-token").await.assert_status(404);
        app.client()
            .get("/join/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .await
            .assert_status(404);
    }

    async fn join_form_errors_are_explained_and_create_nothing(app) {
        let path = app.invite_path(Role::Member).await;
        let c = app.client();
        c.get(&path).await;
        c.post_form(&path, &[
            ("display_name", "  "),
            ("username", "No Spaces"),
            ("password", "long enough 123"),
            ("password_confirm", "different 12345"),
        ])
        .await
        .assert_status(400)
        .assert_contains("Enter your name")
        .assert_contains("Choose a username of 3 to 32")
        .assert_contains("The two passwords are not the same");
        assert_eq!(app.db.count_accounts().await.unwrap(), 0);
        c.get(&path).await.assert_status(200);
    }

    async fn facilitators_manage_invites_and_members_cannot(app) {
        let member = app.join(Role::Member, "moe").await;
        member.get("/invites").await.assert_status(403).assert_contains("You cannot see this page");
        member.post_form("/invites", &[("role", "facilitator")]).await.assert_status(403);
        let before = app.db.list_invites(app.now()).await.unwrap().len();
        let f = app.join(Role::Facilitator, "fac").await;
        f.get("/invites").await.assert_status(200);
        f.post_form("/invites", &[("role", "admin")]).await.assert_status(400);
        assert_eq!(app.db.list_invites(app.now()).await.unwrap().len(), before + 1, "only the facilitator's own invite");
        let page = f.post_form("/invites", &[("role", "member")]).await.assert_status(200);
        let start = page.body.find("/join/").unwrap();
        let link: String = page.body[start..].chars().take_while(|c| *c != '"').collect();
        let open = app.db.list_invites(app.now()).await.unwrap().into_iter().find(|i| i.status == hearth_db::InviteStatus::Open).unwrap();
        f.get("/invites").await;
        f.post_form(&format!("/invites/{}/revoke", open.id), &[] as &[(&str, &str)]).await.assert_redirect("/invites");
        app.client().get(&link).await.assert_status(404);
        f.post_form("/invites/999999/revoke", &[] as &[(&str, &str)]).await.assert_status(404);
    }

    async fn errors_are_pages_with_a_way_back_and_distinct_statuses(app) {
        let c = app.client();
        c.get("/no/such/page").await.assert_status(404).assert_contains("Page not found").assert_contains("href=\"/\"");
        let m = app.join(Role::Member, "erin").await;
        m.get("/invites").await.assert_status(403).assert_contains("href=\"/\"");
        m.post_raw("/checkin", "who5_1=3".into()).await.assert_status(400).assert_contains("href=\"/\"");
        let r = app.client().get("/healthz").await.assert_status(200);
        assert_eq!(r.body, "ok\n");
    }
}

fn session_cookie(r: &hearth_testkit::TestResponse) -> String {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("hearth_session="))
        .unwrap_or_else(|| panic!("no session cookie in {:?}", r.headers))
        .to_owned()
}

backend_tests! {
    async fn session_cookies_are_http_only_same_site_and_not_secure_over_http(app) {
        let r = app.client().get("/login").await.assert_status(200);
        let cookie = session_cookie(&r);
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(!cookie.contains("Secure"), "{cookie}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookies_are_secure_behind_https() {
    let app = TestApp::with_public_url(
        hearth_testkit::Backend::Sqlite,
        "https://hearth.example.org/",
    )
    .await;
    let r = app.client().get("/login").await.assert_status(200);
    let cookie = session_cookie(&r);
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Invite links use the public address.
    let path = app.invite_path(Role::Member).await;
    assert!(path.starts_with("/join/"), "{path}");
}
