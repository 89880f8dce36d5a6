//! The group's picture: attacks on the minimum-count and closed-period rules, on both databases.

use chrono::Duration;
use hearth_core::Role;
use hearth_testkit::{TestApp, TestClient, backend_tests, checkin_form};

/// `n` members who each check in this week with the given WHO-5 item score.
async fn members_check_in(app: &TestApp, prefix: &str, n: usize, who5: u8) -> Vec<TestClient> {
    let mut out = Vec::new();
    for i in 0..n {
        let c = app.join(Role::Member, &format!("{prefix}{i:02}")).await;
        c.post_form(
            "/checkin",
            &checkin_form(who5, 3, &format!("note of {prefix}{i}")),
        )
        .await
        .assert_redirect("/checkin/saved");
        out.push(c);
    }
    out
}

/// Moves the clock into the next week, past the default Monday 00:00 close.
fn next_week(app: &TestApp) {
    app.clock.advance(Duration::days(7));
}

/// The table of closed weeks, as rendered.
fn table(page: &str) -> String {
    let start = page
        .find("Every closed week")
        .unwrap_or_else(|| panic!("no table:\n{page}"));
    let end = start + page[start..].find("</table>").unwrap_or(page.len() - start);
    page[start..end].to_owned()
}

fn csv_lines(body: &str) -> Vec<&str> {
    body.lines().collect()
}

backend_tests! {
    async fn with_one_answer_fewer_than_k_nothing_is_shown_anywhere(app) {
        let f = app.join(Role::Facilitator, "facil").await;
        let members = members_check_in(&app, "m", 4, 2).await;
        next_week(&app);
        for (who, c) in [("facilitator", &f), ("member", &members[0])] {
            let page = c.get("/group").await.assert_status(200);
            page.assert_contains("fewer than 5")
                .assert_contains("No group figures yet")
                .assert_contains("Not shown: too few answers")
                .assert_lacks("4 people")
                .assert_lacks("role=\"img\"");
            let _ = who;
        }
        let csv = f.get("/group/export.csv").await.assert_status(200);
        assert_eq!(csv_lines(&csv.body).len(), 1, "header only:\n{}", csv.body);
        // A fifth answer would have been enough: k is exactly the line.
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM week_aggregates WHERE respondents = 4").await, 1);
    }

    async fn k_answers_show_the_aggregate_after_the_week_closes(app) {
        let f = app.join(Role::Facilitator, "facil").await;
        members_check_in(&app, "m", 5, 2).await; // 40 %: all low wellbeing
        // The week is still open: nothing yet, even with 5 answers.
        f.get("/group").await.assert_contains("No group figures yet").assert_lacks("Average wellbeing was");
        next_week(&app);
        let page = f.get("/group").await.assert_status(200);
        page.assert_contains("week of 23 Nov 2026, 5 people answered")
            .assert_contains("Average wellbeing was 40 out of 100")
            // All five in the low range, all at burnout 3: "not all, not none" shows a band.
            .assert_contains("80% or more were in the low-wellbeing range")
            .assert_lacks("100%")
            .assert_contains("role=\"img\"");
        let csv = f.get("/group/export.csv").await;
        let lines = csv_lines(&csv.body);
        assert_eq!(lines.len(), 2, "{}", csv.body);
        assert!(lines[1].starts_with("2026-W48,2026-11-23,5,40.0,>=0.800,>=0.800,>=0.800,6.00,4.00,0.300"), "{}", lines[1]);
        assert!(!csv.body.contains("1.000") && !csv.body.contains(",0.000"), "{}", csv.body);
    }

    async fn an_open_week_shows_no_count_that_could_tell_who_checked_in(app) {
        let f = app.join(Role::Facilitator, "facil").await;
        let members = members_check_in(&app, "m", 4, 4).await;
        let before = f.get("/group").await.assert_contains("Nothing is counted while the week is open").body;
        members_check_in(&app, "n", 2, 4).await;
        let six = f.get("/group").await.assert_lacks("Average wellbeing was").assert_lacks("6 people").body;
        // Removing a member who checked in this week changes nothing the facilitator sees.
        let n0 = app.account_id("n00").await;
        f.get(&format!("/members/{n0}/remove")).await.assert_status(200);
        f.post_form(&format!("/members/{n0}/remove"), &[] as &[(&str, &str)]).await.assert_status(200);
        let five = f.get("/group").await.body;
        let open_panel = |page: &str| {
            let start = page.find("This week so far").unwrap_or_else(|| panic!("{page}"));
            page[start..start + page[start..].find("</div>").unwrap()].to_owned()
        };
        assert_eq!(open_panel(&five), open_panel(&six));
        assert_eq!(open_panel(&five), open_panel(&before));
        // Members see no panel for the open week at all.
        members[0].get("/group").await.assert_lacks("This week so far");
    }

    async fn closed_aggregates_stay_byte_identical_after_deletions_late_answers_and_joins(app) {
        let f = app.join(Role::Facilitator, "facil").await;
        members_check_in(&app, "m", 6, 3).await;
        next_week(&app);
        let before_csv = f.get("/group/export.csv").await.body;
        let before_page = f.get("/group").await.body;
        let before_rows = app.db.frozen_weeks().await.unwrap();
        assert_eq!(before_rows.len(), 1);

        // Remove one member (erasing their check-in) and have another delete themselves.
        let m0 = app.account_id("m00").await;
        f.get(&format!("/members/{m0}/remove")).await.assert_status(200);
        f.post_form(&format!("/members/{m0}/remove"), &[] as &[(&str, &str)]).await.assert_status(200);
        let m1 = app.client();
        m1.get("/login").await;
        m1.post_form("/login", &[("username", "m01"), ("password", "a long enough password")]).await.assert_redirect("/");
        m1.get("/account/delete").await;
        m1.post_form("/account/delete", &[("password", "a long enough password")]).await.assert_redirect("/?deleted=1");
        // A late answer written straight into the closed week, and a newcomer.
        let m2 = app.account_id("m02").await;
        let late = hearth_core::CheckinInput { who5_1: "0".into(), who5_2: "0".into(), who5_3: "0".into(), who5_4: "0".into(), who5_5: "0".into(), burnout: "5".into(), paid_hours: "0".into(), unpaid_hours: "0".into(), funding_hours: "0".into(), time_pressure: "4".into(), note: String::new() }.parse().unwrap();
        app.db.save_checkin(m2, "2026-W48".parse().unwrap(), &late, app.now()).await.unwrap();
        members_check_in(&app, "late", 1, 5).await;
        // Re-running the close changes nothing.
        hearth_web::periods::close_due_weeks(&app.db, app.now()).await.unwrap();

        assert_eq!(app.db.frozen_weeks().await.unwrap(), before_rows);
        assert_eq!(f.get("/group/export.csv").await.body, before_csv);
        let after_page = f.get("/group").await.body;
        assert_eq!(table(&after_page), table(&before_page));
    }

    async fn a_check_in_the_rules_refuse_is_refused_by_the_database_and_left_out_if_it_gets_in(app) {
        let f = app.join(Role::Facilitator, "facil").await;
        let members = members_check_in(&app, "m", 6, 3).await;
        // Funding hours above paid and unpaid together: within every column's own range.
        let bad = "UPDATE checkins SET paid_hours = 0, unpaid_hours = 0, funding_hours = 9 WHERE id = (SELECT MIN(id) FROM checkins)";
        let refused = app.try_execute(bad).await.unwrap_err();
        assert!(refused.contains("funding"), "{refused}");
        let long_note = format!("UPDATE checkin_notes SET note = '{}' WHERE checkin_id = (SELECT MIN(id) FROM checkins)", "x".repeat(2001));
        assert!(app.try_execute(&long_note).await.is_err());
        // A damaged database: the rule is gone and such a row is written after all.
        app.execute(match app.backend() {
            hearth_testkit::Backend::Sqlite => "DROP TRIGGER checkins_funding_within_hours_update",
            hearth_testkit::Backend::Postgres => "ALTER TABLE checkins DROP CONSTRAINT checkins_funding_within_hours",
        })
        .await;
        assert_eq!(app.execute(bad).await, 1);
        next_week(&app);
        // The week still freezes, without that row, and every page works.
        f.get("/group").await.assert_status(200).assert_contains("5 people answered");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM week_aggregates WHERE respondents = 5").await, 1);
        // Its author's pages work too: the row reads as no check-in for that week.
        members[0].get("/history").await.assert_status(200);
        members[0].get("/account").await.assert_status(200);
    }

    async fn a_nul_character_is_dropped_alike_on_both_backends(app) {
        // PostgreSQL refuses NUL in text where SQLite keeps it: every form drops it first.
        let f = app.join(Role::Facilitator, "facil").await;
        f.get("/settings").await;
        f.post_form("/settings", &[
            ("name", "Test\0 group"), ("description", "Peer\0 support"), ("timezone", "Europe/London"),
            ("close_weekday", "1"), ("close_hour", "0"), ("min_count", "5"),
            ("region", ""), ("size_band", ""),
        ]).await.assert_redirect("/settings?saved=1");
        let s = app.db.group_settings().await.unwrap().unwrap();
        assert_eq!((s.name.as_str(), s.description.as_str()), ("Test group", "Peer support"));
        let m = app.join(Role::Member, "member").await;
        m.get("/checkin").await;
        m.post_form("/checkin", &checkin_form(0, 3, "a note\0 with a NUL")).await.assert_redirect("/checkin/saved");
        m.get("/history").await.assert_status(200).assert_contains("a note with a NUL");
    }

    async fn lowering_k_never_shows_a_week_that_closed_hidden(app) {
        let f = app.join(Role::Facilitator, "facil").await;
        // Four answers under k = 5: the week closes hidden.
        members_check_in(&app, "m", 4, 0).await;
        next_week(&app);
        f.get("/group").await.assert_status(200).assert_lacks("4 people answered");
        let form = |k: &str| vec![
            ("name", "Test group".to_owned()), ("description", String::new()), ("timezone", "Europe/London".into()),
            ("close_weekday", "1".into()), ("close_hour", "0".into()), ("min_count", k.to_owned()),
            ("region", String::new()), ("size_band", String::new()),
        ];
        f.get("/settings").await;
        f.post_form("/settings", &form("3")).await.assert_redirect("/settings?saved=1");
        // Lowering k changes nothing for that week, on the page or in the export.
        let page = f.get("/group").await.assert_status(200);
        page.assert_lacks("4 people answered").assert_lacks("100% were in the low-wellbeing range");
        assert_eq!(csv_lines(&f.get("/group/export.csv").await.body).len(), 1);
        // A week that closes under k = 3 shows with four answers.
        let again = ["m00", "m01", "m02", "m03"];
        for name in again {
            let c = app.client();
            c.get("/login").await;
            c.post_form("/login", &[("username", name), ("password", "a long enough password")]).await.assert_redirect("/");
            c.post_form("/checkin", &checkin_form(0, 3, "again")).await.assert_redirect("/checkin/saved");
        }
        next_week(&app);
        f.get("/group").await.assert_contains("4 people answered");
        assert_eq!(csv_lines(&f.get("/group/export.csv").await.body).len(), 2);
        // Raising k hides weeks that no longer reach it.
        f.post_form("/settings", &form("5")).await.assert_redirect("/settings?saved=1");
        f.get("/group").await.assert_lacks("4 people answered");
    }

    async fn every_view_of_a_week_reports_the_same_people(app) {
        let f = app.join(Role::Facilitator, "facil").await;
        let members = members_check_in(&app, "m", 5, 3).await;
        next_week(&app);
        members_check_in(&app, "n", 7, 3).await;
        next_week(&app);
        let csv = f.get("/group/export.csv").await.body;
        let counts: Vec<String> = csv_lines(&csv)[1..].iter().map(|l| l.split(',').nth(2).unwrap().to_owned()).collect();
        // Week 48: the facilitator did not answer, 5 did; week 49: 7 new people.
        assert_eq!(counts, vec!["5", "7"]);
        let f_page = f.get("/group").await.body;
        let m_page = members[0].get("/group").await.body;
        for n in &counts {
            let cell = format!("<td>{n} people</td>");
            assert!(f_page.contains(&cell) && m_page.contains(&cell), "{cell}");
        }
        assert_eq!(table(&f_page), table(&m_page), "members and facilitators see one view");
    }

    async fn the_minimum_count_can_be_three_or_more_but_never_lower(app) {
        let f = app.join(Role::Facilitator, "facil").await;
        f.get("/settings").await.assert_status(200);
        let form = |k: &str| vec![
            ("name", "Riverside".to_owned()), ("description", String::new()), ("timezone", "Europe/London".into()),
            ("close_weekday", "1".into()), ("close_hour", "0".into()), ("min_count", k.to_owned()),
            ("region", "uk-north-west".into()), ("size_band", "6-10".into()),
            ("focus", "peer-support".into()), ("focus", "women".into()),
        ];
        for bad in ["2", "0", "-1", "x", "21"] {
            f.post_form("/settings", &form(bad)).await.assert_status(400).assert_contains("the minimum count must be");
        }
        assert_eq!(app.db.group_settings().await.unwrap().unwrap().min_count.get(), 5);
        assert_eq!(app.db.group_settings().await.unwrap().unwrap().name, "Test group");
        f.post_form("/settings", &form("3")).await.assert_redirect("/settings?saved=1");
        f.get("/settings?saved=1").await.assert_contains("The settings are saved").assert_contains("fewer than 5");
        let s = app.db.group_settings().await.unwrap().unwrap();
        assert_eq!(s.min_count.get(), 3);
        assert_eq!(s.name, "Riverside");
        assert_eq!(s.profile.region, Some("uk-north-west"));
        assert_eq!(s.profile.focuses, vec!["peer-support", "women"]);
        // With k = 3, three answers are enough.
        members_check_in(&app, "m", 3, 3).await;
        next_week(&app);
        f.get("/group").await.assert_contains("week of 23 Nov 2026, 3 people answered");
        // Bad profile or time zone: clear message, nothing changes.
        let mut bad = form("4");
        bad[6] = ("region", "atlantis".into());
        f.post_form("/settings", &bad).await.assert_status(400).assert_contains("region");
        let mut bad = form("4");
        bad[2] = ("timezone", "Mars/Olympus".into());
        f.post_form("/settings", &bad).await.assert_status(400).assert_contains("time zone");
        assert_eq!(app.db.group_settings().await.unwrap().unwrap().min_count.get(), 3);
    }

    async fn a_later_week_close_keeps_the_week_open_until_then(app) {
        let f = app.join(Role::Facilitator, "facil").await;
        f.get("/settings").await;
        f.post_form("/settings", &[
            ("name", "G"), ("description", ""), ("timezone", "Europe/London"), ("close_weekday", "3"),
            ("close_hour", "12"), ("min_count", "5"), ("region", ""), ("size_band", ""),
        ]).await.assert_redirect("/settings?saved=1");
        members_check_in(&app, "m", 5, 3).await;
        // Tuesday 1 Dec: the week has ended but closes on Wednesday at 12:00.
        app.clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 1, 9, 0, 0).unwrap());
        f.get("/group").await.assert_contains("No group figures yet");
        app.clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 12, 2, 12, 0, 1).unwrap());
        f.get("/group").await.assert_contains("week of 23 Nov 2026, 5 people answered");
    }
}
