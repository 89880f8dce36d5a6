//! Check-in content, notes and scores are never logged. Runs the whole flow with every log
//! level captured, then searches the log for the answers.

use std::io::Write;
use std::sync::{Arc, Mutex};

use hearth_core::Role;
use hearth_testkit::{Backend, TestApp};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn logs_never_contain_answers_or_notes() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .without_time()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // Other flows share this process: capture only this test's threads (its runtime's), not all.
    let dispatch = tracing::Dispatch::new(subscriber);
    // With one dispatcher registered, a callsite first hit by another test's thread is cached as
    // never enabled; with two, tracing asks each registered dispatcher (and this one says yes).
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let on_start = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        // A runtime thread keeps the capture as its default until it exits (hence no guard).
        .on_thread_start(move || std::mem::forget(tracing::dispatcher::set_default(&on_start)))
        .build()
        .unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        runtime.block_on(async {
            let app = TestApp::new(Backend::Sqlite).await;
            let member = app.join(Role::Member, "logged").await;
            let mut form = hearth_testkit::checkin_form(2, 5, "LOGNOTE-secret words");
            for (k, v) in form.iter_mut() {
                if *k == "paid_hours" {
                    *v = "73".into();
                }
            }
            member
                .post_form("/checkin", &form)
                .await
                .assert_redirect("/checkin/saved");
            member.get("/checkin/saved").await.assert_status(200);
            member.get("/history").await.assert_status(200);
            // A failing submission is logged no more than a good one.
            form.retain(|(k, _)| *k != "burnout");
            member.post_form("/checkin", &form).await.assert_status(400);

            let log = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
            assert!(
                log.contains("check-in saved"),
                "the log is being captured:\n{log}"
            );
            for needle in ["LOGNOTE", "secret words", "who5", "burnout="] {
                assert!(!log.contains(needle), "{needle:?} in log:\n{log}");
            }
            // The answer 73 appears nowhere as a value of its own (it may be part of a random request
            // id, or by chance a request's latency).
            for line in log.lines().filter(|l| !l.contains("latency_ms=")) {
                let standalone = line
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|token| token == "73");
                assert!(!standalone, "an answer in the log: {line}");
            }
            assert!(
                log.contains("route=\"/checkin\""),
                "requests are logged by route:\n{log}"
            );
            // At the default level (`info`) the log says neither who checked in nor who visited which
            // page: both are `debug`. Otherwise the log would count check-ins one by one, below the
            // group's k that every count of them shown anywhere else respects.
            let info = |l: &&str| l.trim_start().starts_with("INFO");
            assert!(
                log.lines().any(|l| info(&l)),
                "info lines are captured:\n{log}"
            );
            for line in log.lines().filter(info) {
                assert!(!line.contains("check-in saved"), "{line}");
                assert!(!line.contains("hearth::requests"), "{line}");
            }
        })
    });
}
