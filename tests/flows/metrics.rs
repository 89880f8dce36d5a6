//! `/metrics`: only for a scraper with the configured token; route templates, never ids or
//! names; no count of the open week, and the check-in routes only in steps of k.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use axum::body::Body;
use axum::http::Request;
use hearth_core::Role;
use hearth_testkit::{Backend, TestApp, TestClient, checkin_form};

fn with_token(app: &TestApp, token: &str) -> TestClient {
    let mut config = (*app.state.config).clone();
    config.metrics_token = Some(token.to_owned());
    TestClient::new(hearth_web::router(app.state.with_config(config)))
}

async fn scrape(c: &TestClient, auth: Option<&str>) -> (u16, String) {
    let mut req = Request::get("/metrics");
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let r = c.send(req.body(Body::empty()).unwrap()).await;
    (r.status.as_u16(), r.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_token_and_say_nothing_about_people() {
    let app = TestApp::new(Backend::Sqlite).await;
    // Without a configured token there is no /metrics at all.
    assert_eq!(scrape(&app.client(), Some("Bearer anything")).await.0, 404);

    let c = with_token(&app, "s3cret-token");
    assert_eq!(scrape(&c, None).await.0, 404);
    assert_eq!(scrape(&c, Some("Bearer wrong")).await.0, 404);

    let f = app.join(Role::Facilitator, "facilitator").await;
    let b = app.join(Role::Member, "bernadette").await;
    let b_id = app.account_id("bernadette").await;
    f.post_form(&format!("/members/{b_id}/role"), &[("role", "member")])
        .await;
    // Four check-ins this week: below k = 5, so no count is exported.
    for name in ["member1", "member2", "member3"] {
        let m = app.join(Role::Member, name).await;
        m.get("/checkin").await;
        m.post_form("/checkin", &checkin_form(3, 2, "a private note"))
            .await;
    }
    b.get("/checkin").await;
    b.post_form("/checkin", &checkin_form(3, 2, "a private note"))
        .await;
    let (status, text) = scrape(&c, Some("Bearer s3cret-token")).await;
    assert_eq!(status, 200);
    assert!(text.contains("hearth_outbox_pending 0"));
    assert!(
        !text.contains("hearth_checkins_this_week"),
        "no count of the open week"
    );
    // Nor does any counter that moves with a check-in (saving one, the page it lands on).
    assert!(!text.contains(r#"route="/checkin/saved""#), "{text}");
    assert!(
        !text.contains(r#"method="POST",route="/checkin""#),
        "{text}"
    );
    // Requests made through this router are counted under their templates.
    c.get("/healthz").await;
    c.get("/members/12345/remove").await;
    let (_, text) = scrape(&c, Some("Bearer s3cret-token")).await;
    assert!(
        text.contains(
            r#"hearth_http_requests_total{method="GET",route="/healthz",status="2xx"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="/members/{id}/remove""#), "{text}");
    assert!(text.contains("hearth_http_request_duration_seconds_count"));
    for private in ["12345", "bernadette", "facilitator\"", "private note"] {
        assert!(!text.contains(private), "{private} in metrics");
    }
    // The fifth check-in reaches k: the route counters move by k at once.
    let m = app.join(Role::Member, "member4").await;
    m.get("/checkin").await;
    m.post_form("/checkin", &checkin_form(3, 2, "x")).await;
    let (_, text) = scrape(&c, Some("Bearer s3cret-token")).await;
    assert!(!text.contains("hearth_checkins_this_week"), "{text}");
    assert!(
        text.contains(
            r#"hearth_http_requests_total{method="POST",route="/checkin",status="3xx"} 5"#
        ),
        "{text}"
    );
    // A sixth moves nothing: the counters step by k.
    let m = app.join(Role::Member, "member5").await;
    m.post_form("/checkin", &checkin_form(3, 2, "x")).await;
    let (_, text) = scrape(&c, Some("Bearer s3cret-token")).await;
    assert!(
        text.contains(
            r#"hearth_http_requests_total{method="POST",route="/checkin",status="3xx"} 5"#
        ),
        "{text}"
    );
}
