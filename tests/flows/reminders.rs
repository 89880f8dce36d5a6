//! Email reminders against a local SMTP sink: opt-in per member, sent once on the group's day,
//! nothing about answers in them, one-click unsubscribe without signing in.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use hearth_core::Role;
use hearth_testkit::smtp::SmtpSink;
use hearth_testkit::{Backend, TestApp, checkin_form, on_both_backends};
use hearth_web::jobs::reminders::send_due_reminders;
use hearth_web::mail::Mailer;

/// The message as a reader sees it: quoted-printable soft line breaks joined again.
fn unfolded(data: &str) -> String {
    data.replace("=\r\n", "").replace("=3D", "=")
}

/// The unsubscribe link's path, from the List-Unsubscribe header.
fn stop_path(data: &str) -> String {
    let header = data
        .lines()
        .find_map(|l| l.strip_prefix("List-Unsubscribe: <"))
        .unwrap();
    let url = header.trim_end_matches('>');
    url.strip_prefix("http://hearth.test").unwrap().to_owned()
}

async fn reminders_flow(backend: Backend) {
    let mut app = TestApp::new(backend).await;

    // Without email set up, nothing is offered and the form does not exist.
    let early = app.join(Role::Member, "early").await;
    early
        .get("/account")
        .await
        .assert_status(200)
        .assert_lacks("Weekly reminder by email");
    early
        .post_form("/account/reminders", &[("email", "sam@example.org")])
        .await
        .assert_status(404);

    app.enable_email();
    let sam = app.join(Role::Member, "samwise").await;
    let kit = app.join(Role::Member, "kitsune").await;
    sam.get("/account")
        .await
        .assert_contains("Weekly reminder by email")
        .assert_contains("every Monday morning");
    // A bad address is refused and nothing is stored.
    sam.post_form("/account/reminders", &[("email", "sam at example")])
        .await
        .assert_status(400)
        .assert_contains("like name@example.org")
        .assert_contains("value=\"sam at example\"");
    // An address of the right shape that the mail library cannot send to is refused too.
    sam.post_form("/account/reminders", &[("email", "sam..x@example.org")])
        .await
        .assert_status(400);
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM reminder_emails").await,
        0
    );
    sam.post_form("/account/reminders", &[("email", " sam@example.org ")])
        .await
        .assert_redirect("/account?done=reminders-on");
    sam.get("/account")
        .await
        .assert_contains("a reminder goes to sam@example.org every Monday morning");
    // Kit checks in with a note and asks for nothing: no email for kit.
    kit.get("/checkin").await;
    kit.post_form("/checkin", &checkin_form(1, 5, "kit-private-note"))
        .await
        .assert_redirect("/checkin/saved");
    sam.get("/checkin").await;
    sam.post_form("/checkin", &checkin_form(2, 4, "sam-private-note"))
        .await
        .assert_redirect("/checkin/saved");
    // Sam's own export holds the address; Kit's page never shows it.
    sam.get("/account/export.json")
        .await
        .assert_contains("\"reminder_email\": \"sam@example.org\"");
    kit.get("/account").await.assert_lacks("sam@example.org");

    let sink = SmtpSink::start().await;
    let mailer = Mailer::new(&sink.url(), "Test group <hearth@hearth.test>").unwrap();
    // The test clock is Wednesday 25 Nov 2026, 12:00 in London: not Monday, so nothing goes.
    assert_eq!(
        send_due_reminders(&app.state, &mailer, app.now())
            .await
            .unwrap(),
        0
    );
    // The group moves its day to Wednesday.
    app.db.set_reminder_weekday(3).await.unwrap();
    let fac = app.join(Role::Facilitator, "fac").await;
    fac.get("/settings")
        .await
        .assert_contains("Day for email reminders")
        .assert_contains("<option value=\"3\" selected>Wednesday</option>");
    assert_eq!(
        send_due_reminders(&app.state, &mailer, app.now())
            .await
            .unwrap(),
        1
    );
    // Once a week: a second pass the same day sends nothing more.
    assert_eq!(
        send_due_reminders(&app.state, &mailer, app.now())
            .await
            .unwrap(),
        0
    );
    let mail = sink.messages();
    assert_eq!(mail.len(), 1);
    let m = &mail[0];
    assert_eq!(m.to, vec!["<sam@example.org>".to_owned()]);
    assert!(
        m.data
            .contains("Subject: Your weekly check-in with Test group"),
        "{}",
        m.data
    );
    assert!(m.data.contains("http://hearth.test/checkin"));
    assert!(
        m.data
            .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    );
    // Nothing about anyone: no note, no name, no username, no answer, no other address.
    for private in [
        "sam-private-note",
        "kit-private-note",
        "samwise",
        "kitsune",
        "display",
        "score",
        "burnout",
        "wellbeing",
    ] {
        assert!(
            !m.data.to_lowercase().contains(private),
            "{private:?} in the email:\n{}",
            m.data
        );
    }

    // Unsubscribe from the link, signed out and without a form token.
    let path = stop_path(&m.data);
    // The same link is in the text, for mail programs without an unsubscribe button.
    assert!(unfolded(&m.data).contains(&format!("http://hearth.test{path}\r\n")));
    let stranger = app.client();
    stranger
        .get(&path)
        .await
        .assert_status(200)
        .assert_contains("s***@example.org")
        .assert_lacks("sam@example.org");
    // Opening the link changed nothing.
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM reminder_emails").await,
        1
    );
    stranger
        .post_raw(&path, "List-Unsubscribe=One-Click".into())
        .await
        .assert_status(200)
        .assert_contains("No more reminders will be sent");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM reminder_emails").await,
        0
    );
    stranger.get(&path).await.assert_status(404);
    stranger
        .get("/reminders/stop/not-a-token")
        .await
        .assert_status(404);

    // A week later nobody is reminded.
    app.clock.advance(chrono::Duration::days(7));
    assert_eq!(
        send_due_reminders(&app.state, &mailer, app.now())
            .await
            .unwrap(),
        0
    );

    // Kit signs up; while the mail server is down the reminder waits, and goes when it is back.
    kit.post_form("/account/reminders", &[("email", "kit@example.org")])
        .await
        .assert_redirect("/account?done=reminders-on");
    let down = Mailer::new("smtp://127.0.0.1:9", "Test group <hearth@hearth.test>").unwrap();
    assert_eq!(
        send_due_reminders(&app.state, &down, app.now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        send_due_reminders(&app.state, &mailer, app.now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(sink.messages().len(), 2);
    // Kit stops them from the account page; the address is forgotten.
    kit.post_form("/account/reminders", &[("stop", "yes")])
        .await
        .assert_redirect("/account?done=reminders-off");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM reminder_emails").await,
        0
    );
}

on_both_backends!(reminders, reminders_flow);
