//! The whole member journey through the real router, on both databases.

use hearth_core::Role;
use hearth_testkit::{backend_tests, checkin_form};

backend_tests! {
    async fn setup_link_to_facilitator_to_member_checkin_edit_and_history(app) {
        // The first facilitator arrives through the setup link printed at init.
        let link = hearth_web::setup::setup_link_if_needed(&app.db, &app.state.config, app.now())
            .await
            .unwrap()
            .expect("no accounts yet, so a setup link");
        let path = link.trim_start_matches("http://hearth.test");
        let facilitator = app.client();
        facilitator.get(path).await.assert_status(200).assert_contains("invited as a <strong>facilitator");
        facilitator
            .post_form(path, &[
                ("display_name", "Fran"),
                ("username", "fran"),
                ("password", "facilitator password"),
                ("password_confirm", "facilitator password"),
            ])
            .await
            .assert_redirect("/");
        // Once someone has joined, no further setup link is made.
        assert!(hearth_web::setup::setup_link_if_needed(&app.db, &app.state.config, app.now()).await.unwrap().is_none());

        // The facilitator makes a member invite in the web.
        let page = facilitator
            .post_form("/invites", &[("role", "member")])
            .await
            .assert_status(200)
            .assert_contains("New invite link");
        let start = page.body.find("http://hearth.test/join/").expect("link shown");
        let invite: String = page.body[start..].chars().take_while(|c| *c != '"').collect();
        let invite = invite.trim_start_matches("http://hearth.test").to_owned();

        // A member joins with it.
        let member = app.client();
        member.get(&invite).await.assert_status(200).assert_contains("invited as a <strong>member");
        member
            .post_form(&invite, &[
                ("display_name", "Sam"),
                ("username", "sam"),
                ("password", "member password 1"),
                ("password_confirm", "member password 1"),
            ])
            .await
            .assert_redirect("/");
        member.get("/").await.assert_status(200).assert_contains("is due");
        // The link worked once.
        app.client().get(&invite).await.assert_status(410);

        // Check-in.
        member.get("/checkin").await.assert_status(200).assert_contains("I have felt cheerful and in good spirits");
        member.post_form("/checkin", &checkin_form(3, 2, "first note")).await.assert_redirect("/checkin/saved");
        member.get("/checkin/saved").await.assert_status(200).assert_contains("Your check-in is saved");
        member.get("/").await.assert_contains("You have done your check-in");

        // Editing in the same week replaces the answers rather than adding a week.
        member.get("/checkin").await.assert_contains("You already checked in this week").assert_contains("first note");
        member.post_form("/checkin", &checkin_form(4, 1, "edited note")).await.assert_redirect("/checkin/saved");
        let sam = app.account_id("sam").await;
        let all = app.db.own_checkins(sam).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].answers.who5(), [4; 5]);
        assert_eq!(all[0].answers.note(), Some("edited note"));

        // Next week: a new check-in; last week is read-only because the week is the server's.
        app.clock.advance(chrono::Duration::days(7));
        member.get("/checkin").await.assert_lacks("You already checked in").assert_lacks("edited note");
        member.post_form("/checkin", &checkin_form(1, 4, "")).await.assert_redirect("/checkin/saved");
        let all = app.db.own_checkins(sam).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].answers.who5(), [4; 5], "last week unchanged");
        assert_eq!(all[1].answers.note(), None);

        // History: charts with text alternatives and a table of every week.
        let history = member.get("/history").await.assert_status(200);
        let history = history
            .assert_contains("role=\"img\"")
            .assert_contains("<title id=\"wellbeing-title\">")
            .assert_contains("<desc id=\"wellbeing-desc\">")
            .assert_contains("week of 23 Nov 2026")
            .assert_contains("week of 30 Nov 2026")
            .assert_contains("edited note");
        assert!(history.body.contains("80") && history.body.contains("20"), "both scores shown");
    }

    async fn signposting_appears_after_a_check_in_that_meets_its_triggers(app) {
        let member = app.join(Role::Member, "alex").await;
        member.post_form("/checkin", &checkin_form(3, 2, "")).await.assert_redirect("/checkin/saved");
        let calm = member.get("/checkin/saved").await.assert_contains("If things are hard right now").body;
        member.get("/history").await.assert_lacks("It sounds like things are hard");
        member.post_form("/checkin", &checkin_form(1, 5, "")).await.assert_redirect("/checkin/saved");
        let hard = member
            .get("/checkin/saved")
            .await
            .assert_contains("116 123")
            .assert_contains("SHOUT")
            .body;
        // The page a check-in lands on is the same bytes whatever was answered: its length
        // crosses the network even under HTTPS.
        assert_eq!(calm, hard);
        // The signposting the answers trigger is on the person's own history.
        member
            .get("/history")
            .await
            .assert_contains("It sounds like things are hard")
            .assert_contains("116 123");
        // Support is linked from every page, signed in or not.
        for path in ["/", "/checkin", "/history", "/account"] {
            member.get(path).await.assert_contains("href=\"/support\"");
        }
        app.client().get("/support").await.assert_status(200).assert_contains("Samaritans");
        app.client().get("/login").await.assert_contains("href=\"/support\"");
    }

    async fn bad_check_in_input_is_explained_kept_and_changes_nothing(app) {
        let member = app.join(Role::Member, "kim").await;
        let mut form = checkin_form(3, 2, "my words stay");
        form.retain(|(k, _)| *k != "who5_2");
        for (k, v) in form.iter_mut() {
            if *k == "paid_hours" { *v = "150".into(); }
            if *k == "funding_hours" { *v = "2".into(); }
        }
        member
            .post_form("/checkin", &form)
            .await
            .assert_status(400)
            .assert_contains("There is a problem")
            .assert_contains("href=\"#who5_2\"")
            .assert_contains("Paid hours must be between 0 and 100")
            .assert_contains("value=\"150\"")
            .assert_contains("my words stay")
            .assert_contains("id=\"who5_1-3\" name=\"who5_1\" value=\"3\" checked");
        let kim = app.account_id("kim").await;
        assert!(app.db.own_checkins(kim).await.unwrap().is_empty());

        let mut form = checkin_form(3, 2, "");
        for (k, v) in form.iter_mut() {
            if *k == "funding_hours" { *v = "11".into(); }
        }
        member.post_form("/checkin", &form).await.assert_status(400).assert_contains("cannot be more than your paid and unpaid hours together (10)");
        assert!(app.db.own_checkins(kim).await.unwrap().is_empty());
    }

    async fn weeks_follow_the_group_time_zone(app) {
        let member = app.join(Role::Member, "lee").await;
        // Sunday 29 Nov 2026, 23:30 UTC is still Sunday in London: week 48.
        app.clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 29, 23, 30, 0).unwrap());
        member.post_form("/checkin", &checkin_form(3, 2, "")).await.assert_redirect("/checkin/saved");
        let lee = app.account_id("lee").await;
        assert_eq!(app.db.own_checkins(lee).await.unwrap()[0].week.to_string(), "2026-W48");
    }
}
