//! Member management, consent, export, erasure and the authorisation matrix, on both databases.

use hearth_core::Role;
use hearth_testkit::{TestApp, TestClient, backend_tests, checkin_form};

struct Cast {
    anon: TestClient,
    a: TestClient,
    b: TestClient,
    facilitator: TestClient,
    removed: TestClient,
    a_id: i64,
    b_id: i64,
}

async fn cast(app: &TestApp) -> Cast {
    let facilitator = app.join(Role::Facilitator, "facil").await;
    let a = app.join(Role::Member, "member-a").await;
    a.post_form("/checkin", &checkin_form(2, 4, "A-PRIVATE-NOTE"))
        .await
        .assert_redirect("/checkin/saved");
    let b = app.join(Role::Member, "member-b").await;
    let removed = app.join(Role::Member, "gone").await;
    let gone = app.account_id("gone").await;
    app.db
        .delete_account(gone)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Cast {
        anon: app.client(),
        a,
        b,
        facilitator,
        removed,
        a_id: app.account_id("member-a").await,
        b_id: app.account_id("member-b").await,
    }
}

/// What each visitor gets from each route: `L` = sent to sign in, a number = that status.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Login,
    Status(u16),
}
use Want::{Login, Status};

backend_tests! {
    async fn authorisation_matrix_over_every_page(app) {
        let c = cast(&app).await;
        let b_id = c.b_id;
        // (path, anonymous, member, facilitator); the removed member must match anonymous.
        let gets: Vec<(String, Want, Want, Want)> = vec![
            ("/".into(), Status(200), Status(200), Status(200)),
            ("/support".into(), Status(200), Status(200), Status(200)),
            ("/login".into(), Status(200), Status(303), Status(303)),
            ("/checkin".into(), Login, Status(200), Status(200)),
            ("/history".into(), Login, Status(200), Status(200)),
            ("/account".into(), Login, Status(200), Status(200)),
            ("/account/export.json".into(), Login, Status(200), Status(200)),
            ("/account/export.csv".into(), Login, Status(200), Status(200)),
            ("/account/delete".into(), Login, Status(200), Status(200)),
            ("/group".into(), Login, Status(200), Status(200)),
            ("/group/export.csv".into(), Login, Status(403), Status(200)),
            ("/members".into(), Login, Status(403), Status(200)),
            (format!("/members/{b_id}/remove"), Login, Status(403), Status(200)),
            ("/invites".into(), Login, Status(403), Status(200)),
            ("/settings".into(), Login, Status(403), Status(200)),
            ("/hubs".into(), Login, Status(403), Status(200)),
            ("/shared".into(), Login, Status(200), Status(200)),
            ("/hubs/1/sharing".into(), Login, Status(403), Status(404)),
        ];
        for (path, anon, member, facil) in &gets {
            for (who, client, want) in [
                ("anonymous", &c.anon, anon),
                ("removed member", &c.removed, anon),
                ("member A", &c.a, member),
                ("member B", &c.b, member),
                ("facilitator", &c.facilitator, facil),
            ] {
                let r = client.get(path).await;
                match want {
                    Login => assert_eq!(r.location(), Some("/login"), "{who} GET {path}: {}", r.status),
                    Status(303) => assert!(r.status.is_redirection(), "{who} GET {path}: {}", r.status),
                    Status(s) => assert_eq!(r.status.as_u16(), *s, "{who} GET {path}"),
                }
                if who != "member A" {
                    assert!(!r.body.contains("A-PRIVATE-NOTE"), "{who} saw A's note at {path}");
                }
            }
        }
        // Facilitator-only actions refuse members and change nothing.
        for client in [&c.a, &c.b] {
            client.get("/account").await;
            client.post_form(&format!("/members/{}/remove", c.a_id), &[] as &[(&str, &str)]).await.assert_status(403);
            client.post_form(&format!("/members/{}/role", c.b_id), &[("role", "facilitator")]).await.assert_status(403);
            client.post_form("/settings", &[("name", "Hijacked")]).await.assert_status(403);
            client.post_form("/invites", &[("role", "facilitator")]).await.assert_status(403);
            client.post_form("/hubs/1/sharing", &[("enabled", "yes")]).await.assert_status(403);
            client.post_form("/hubs/1/erase", &[("x", "y")]).await.assert_status(403);
            client.post_form("/hubs/1/leave", &[("erase", "yes")]).await.assert_status(403);
            client.post_form("/shared/1/approve", &[("x", "y")]).await.assert_status(403);
            client.post_form("/shared/1/decline", &[("x", "y")]).await.assert_status(403);
            client.post_form("/shared/1/again", &[("x", "y")]).await.assert_status(403);
        }
        assert_eq!(app.db.account(c.a_id).await.unwrap().role, Role::Member);
        assert_eq!(app.db.account(c.b_id).await.unwrap().role, Role::Member);
        assert_eq!(app.db.group_settings().await.unwrap().unwrap().name, "Test group");
        // The removed member's old session is simply signed out.
        c.removed.get("/checkin").await.assert_redirect("/login");
    }

    async fn the_member_list_shows_people_never_answers(app) {
        let c = cast(&app).await;
        let page = c.facilitator.get("/members").await.assert_status(200);
        page.assert_contains("member-a display")
            .assert_contains("member-b display")
            .assert_lacks("gone display")
            .assert_lacks("A-PRIVATE-NOTE")
            .assert_lacks("Wellbeing");
        // Roles change, and the last facilitator cannot step down.
        let fid = app.account_id("facil").await;
        // Seen as a member first, so a role kept in memory would show.
        c.b.get("/members").await.assert_status(403);
        c.facilitator.post_form(&format!("/members/{fid}/role"), &[("role", "member")]).await.assert_status(400).assert_contains("at least one facilitator");
        c.facilitator.post_form(&format!("/members/{}/role", c.b_id), &[("role", "facilitator")]).await.assert_redirect("/members");
        assert_eq!(app.db.account(c.b_id).await.unwrap().role, Role::Facilitator);
        c.facilitator.post_form(&format!("/members/{fid}/role"), &[("role", "member")]).await.assert_redirect("/members");
        assert_eq!(app.db.account(fid).await.unwrap().role, Role::Member);
        c.b.get("/members").await.assert_status(200);
        c.facilitator.get("/members").await.assert_status(403);
    }

    async fn export_holds_exactly_the_members_own_data(app) {
        let c = cast(&app).await;
        c.b.post_form("/checkin", &checkin_form(5, 1, "B-NOTE")).await.assert_redirect("/checkin/saved");
        let json = c.a.get("/account/export.json").await.assert_status(200);
        assert!(json.headers.get("content-disposition").unwrap().to_str().unwrap().contains("attachment"));
        let v: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert_eq!(v["account"]["username"], "member-a");
        assert_eq!(v["network_sharing"]["granted"], false);
        let checkins = v["checkins"].as_array().unwrap();
        assert_eq!(checkins.len(), 1);
        assert_eq!(checkins[0]["note"], "A-PRIVATE-NOTE");
        assert_eq!(checkins[0]["who5_percentage"], 40);
        assert!(!json.body.contains("B-NOTE") && !json.body.contains("member-b") && !json.body.contains("password"));
        let csv = c.a.get("/account/export.csv").await.assert_status(200);
        let lines: Vec<&str> = csv.body.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("week,who5_1"));
        assert!(lines[1].starts_with("2026-W48,2,2,2,2,2,40,4,6,4,3,3,A-PRIVATE-NOTE,"), "{}", lines[1]);
        assert!(!csv.body.contains("B-NOTE"));
    }

    async fn deleting_an_account_leaves_no_row_of_theirs_in_any_table(app) {
        let c = cast(&app).await;
        // A becomes a facilitator so they can make an invite, consents, and checks in two weeks.
        c.facilitator.post_form(&format!("/members/{}/role", c.a_id), &[("role", "facilitator")]).await.assert_redirect("/members");
        c.a.get("/invites").await;
        c.a.post_form("/invites", &[("role", "member")]).await.assert_status(200);
        c.a.get("/account").await;
        c.a.post_form("/account/consent", &[("share", "yes")]).await.assert_redirect("/account?done=consent-on");
        app.clock.advance(chrono::Duration::days(7));
        c.a.post_form("/checkin", &checkin_form(3, 2, "second")).await.assert_redirect("/checkin/saved");
        let a = c.a_id;
        let checkin_ids = app.count(&format!("SELECT COUNT(*) AS n FROM checkin_notes WHERE checkin_id IN (SELECT id FROM checkins WHERE account_id = {a})")).await;
        assert_eq!(checkin_ids, 2);
        let frozen_before = app.db.frozen_weeks().await.unwrap();

        c.a.get("/account/delete").await;
        c.a.post_form("/account/delete", &[("password", "wrong password!")]).await.assert_status(400).assert_contains("password is not right");
        assert!(app.db.account(a).await.is_ok());
        c.a.post_form("/account/delete", &[("password", "a long enough password")]).await.assert_redirect("/?deleted=1");

        for (table, sql) in [
            ("accounts", format!("SELECT COUNT(*) AS n FROM accounts WHERE id = {a}")),
            ("checkins", format!("SELECT COUNT(*) AS n FROM checkins WHERE account_id = {a}")),
            ("checkin_notes", "SELECT COUNT(*) AS n FROM checkin_notes WHERE note IN ('A-PRIVATE-NOTE', 'second')".to_owned()),
            ("sessions", format!("SELECT COUNT(*) AS n FROM sessions WHERE account_id = {a}")),
            ("invites (made)", format!("SELECT COUNT(*) AS n FROM invites WHERE created_by = {a}")),
            ("invites (used)", format!("SELECT COUNT(*) AS n FROM invites WHERE used_by = {a}")),
            ("network_consents", format!("SELECT COUNT(*) AS n FROM network_consents WHERE account_id = {a}")),
        ] {
            assert_eq!(app.count(&sql).await, 0, "{table} still holds a row of theirs");
        }
        assert_eq!(app.db.frozen_weeks().await.unwrap(), frozen_before);
        c.a.get("/checkin").await.assert_redirect("/login");
        // Others are untouched.
        assert!(app.db.account(c.b_id).await.is_ok());
    }

    async fn a_facilitator_removing_a_member_erases_them_too(app) {
        let c = cast(&app).await;
        c.facilitator.get(&format!("/members/{}/remove", c.a_id)).await.assert_status(200).assert_contains("deletes their account");
        c.facilitator.post_form(&format!("/members/{}/remove", c.a_id), &[] as &[(&str, &str)]).await.assert_status(200).assert_contains("was removed");
        assert_eq!(app.count(&format!("SELECT COUNT(*) AS n FROM checkins WHERE account_id = {}", c.a_id)).await, 0);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM checkin_notes").await, 0);
        c.a.get("/history").await.assert_redirect("/login");
        // The only facilitator cannot delete themselves while others remain.
        c.facilitator.get("/account/delete").await;
        c.facilitator.post_form("/account/delete", &[("password", "a long enough password")]).await.assert_status(400).assert_contains("only facilitator");
        c.facilitator.post_form(&format!("/members/{}/remove", app.account_id("facil").await), &[] as &[(&str, &str)]).await.assert_status(400);
    }

    async fn consent_is_off_until_given_and_recorded_with_its_time(app) {
        let c = cast(&app).await;
        assert!(app.db.consent(c.a_id).await.unwrap().is_none());
        c.a.get("/account").await.assert_contains("your check-ins are not shared in any way");
        c.a.post_form("/account/consent", &[("share", "maybe")]).await.assert_status(400);
        assert!(app.db.consent(c.a_id).await.unwrap().is_none());
        c.a.post_form("/account/consent", &[("share", "yes")]).await.assert_redirect("/account?done=consent-on");
        let given = app.db.consent(c.a_id).await.unwrap().unwrap();
        assert!(given.granted);
        assert_eq!(given.changed_at, app.now());
        c.a.get("/account").await.assert_contains("may count towards shared figures").assert_contains("since 25 Nov 2026, 12:00");
        app.clock.advance(chrono::Duration::hours(1));
        c.a.post_form("/account/consent", &[("share", "no")]).await.assert_redirect("/account?done=consent-off");
        let withdrawn = app.db.consent(c.a_id).await.unwrap().unwrap();
        assert!(!withdrawn.granted);
        assert_eq!(withdrawn.changed_at, app.now());
        assert!(app.db.consent(c.b_id).await.unwrap().is_none(), "one member's choice is theirs alone");
    }

    async fn the_check_in_reminder_is_on_every_page_until_done(app) {
        let c = cast(&app).await;
        for path in ["/", "/history", "/account", "/group", "/support"] {
            c.b.get(path).await.assert_contains("Your check-in for this week is due");
        }
        c.b.get("/checkin").await.assert_lacks("Your check-in for this week is due");
        c.b.post_form("/checkin", &checkin_form(3, 2, "")).await.assert_redirect("/checkin/saved");
        for path in ["/", "/history", "/account", "/group"] {
            c.b.get(path).await.assert_lacks("Your check-in for this week is due");
        }
        app.clock.advance(chrono::Duration::days(7));
        c.b.get("/group").await.assert_contains("Your check-in for this week is due");
        c.anon.get("/").await.assert_lacks("Your check-in for this week is due");
    }
}
