//! The background jobs, all owned by one [`JobRunner`]: it starts the jobs the instance's
//! role needs, each on its interval and reading time from the instance's clock, and stops
//! them all on one shutdown signal.
//!
//! - housekeeping (every instance, hourly): expired sessions, idle rate-limit entries;
//! - the outbox worker (every instance): [`hearth_federation::outbox::run`];
//! - the week closer and report maker (groups, every minute): [`weeks`];
//! - reminders (groups that send email, every five minutes): [`reminders`];
//! - the hub pairs look-up (groups, daily): each hub's pairs, so a pair that ended or changed
//!   stops and a new one is offered (`hearth_federation::group_pairs::refresh`);
//! - the pair aggregation starter (hubs, every minute: see `hearth_federation::hub_pairs`);
//! - the summary publisher (hubs, every ten minutes).

pub mod reminders;
pub mod weeks;

use std::future::Future;
use std::time::Duration;

use hearth_core::InstanceRole;
use hearth_federation::outbox::RetryPolicy;
use tokio::task::JoinHandle;
pub use tokio_util::sync::CancellationToken;

use crate::AppState;
use crate::mail::Mailer;

/// What the jobs need beyond the state.
#[derive(Debug, Clone)]
pub struct JobOptions {
    /// Reminders are sent only with a mailer (and only by a group).
    pub mailer: Option<Mailer>,
    /// How failed deliveries are retried.
    pub delivery: RetryPolicy,
    /// The outbox worker's longest wait between passes when nothing wakes it.
    pub delivery_idle: Duration,
}

/// How long [`JobRunner::shutdown`] lets a pass in progress finish before it stops the job
/// where it is.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The running jobs and the signal that stops them.
pub struct JobRunner {
    shutdown: CancellationToken,
    jobs: Vec<(&'static str, JoinHandle<()>)>,
}

/// How each job ended at shutdown.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stopped {
    /// Jobs that heard the signal and returned.
    pub ended: Vec<&'static str>,
    /// Jobs still in a pass after [`SHUTDOWN_GRACE`], stopped where they were.
    pub aborted: Vec<&'static str>,
}

impl JobRunner {
    /// Starts every job `state`'s role needs. Needs a tokio runtime.
    pub fn start(state: &AppState, options: JobOptions) -> JobRunner {
        let shutdown = CancellationToken::new();
        let mut runner = JobRunner {
            shutdown: shutdown.clone(),
            jobs: Vec::new(),
        };
        runner.spawn(
            "housekeeping",
            every(shutdown.clone(), Duration::from_secs(3600), {
                let state = state.clone();
                move || housekeeping(state.clone())
            }),
        );
        runner.spawn(
            "outbox",
            hearth_federation::outbox::run(
                state.federation.clone(),
                options.delivery,
                options.delivery_idle,
                shutdown.clone(),
            ),
        );
        match state.role {
            InstanceRole::Group => {
                runner.spawn(
                    "week closer",
                    every(shutdown.clone(), Duration::from_secs(60), {
                        let state = state.clone();
                        move || {
                            let state = state.clone();
                            async move { weeks::pass(&state).await }
                        }
                    }),
                );
                runner.spawn(
                    "hub pairs",
                    every(shutdown.clone(), Duration::from_secs(24 * 3600), {
                        let state = state.clone();
                        move || refresh_pairs(state.clone())
                    }),
                );
                if let Some(mailer) = options.mailer {
                    runner.spawn(
                        "reminders",
                        every(shutdown.clone(), Duration::from_secs(300), {
                            let state = state.clone();
                            move || {
                                let (state, mailer) = (state.clone(), mailer.clone());
                                async move { reminders::pass(&state, &mailer).await }
                            }
                        }),
                    );
                }
            }
            InstanceRole::Hub => {
                runner.spawn(
                    "pair aggregation",
                    every(shutdown.clone(), Duration::from_secs(60), {
                        let state = state.clone();
                        move || aggregate_pairs(state.clone())
                    }),
                );
                runner.spawn(
                    "summary publisher",
                    every(shutdown, Duration::from_secs(600), {
                        let state = state.clone();
                        move || publish_summary(state.clone())
                    }),
                );
            }
        }
        runner
    }

    fn spawn(&mut self, name: &'static str, job: impl Future<Output = ()> + Send + 'static) {
        self.jobs.push((name, tokio::spawn(job)));
    }

    /// The jobs running, in the order they started.
    pub fn names(&self) -> Vec<&'static str> {
        self.jobs.iter().map(|(name, _)| *name).collect()
    }

    /// The signal that stops the jobs (for a server to give when it starts shutting down).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Signals every job to stop and waits until each has: a job between passes returns at
    /// once, one in a pass when the pass ends, or after [`SHUTDOWN_GRACE`] where it is (the
    /// outbox worker leaves a delivery in progress at once: it is sent again on the next start,
    /// and receivers ignore an activity they already have).
    pub async fn shutdown(self) -> Stopped {
        self.shutdown.cancel();
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        let mut stopped = Stopped::default();
        for (name, mut job) in self.jobs {
            match tokio::time::timeout_at(deadline, &mut job).await {
                Ok(ended) => {
                    if let Err(e) = ended {
                        tracing::error!(job = name, error = %e, "a job had failed");
                    }
                    stopped.ended.push(name);
                }
                Err(_) => {
                    job.abort();
                    let _ = job.await;
                    tracing::warn!(job = name, "a job was still busy at shutdown: stopped");
                    stopped.aborted.push(name);
                }
            }
        }
        stopped
    }
}

/// Runs `pass` now and then every `period` until `shutdown`. A pass in progress is not
/// interrupted: the signal is heard between passes.
async fn every<F, Fut>(shutdown: CancellationToken, period: Duration, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        pass().await;
    }
}

/// Drops expired sessions and idle rate-limit entries.
async fn housekeeping(state: AppState) {
    match state.db.delete_expired_sessions(state.clock.now()).await {
        Ok(n) => tracing::debug!(removed = n, "expired sessions removed"),
        Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
    }
    state.limiter.forget_idle();
}

/// Looks up the pairs of every hub the group belongs to; a hub that cannot be reached keeps
/// what was known of it until the next pass.
async fn refresh_pairs(state: AppState) {
    let memberships = match state.db.memberships().await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the group's hubs");
            return;
        }
    };
    for m in memberships {
        if m.state != hearth_db::MembershipState::Accepted {
            continue;
        }
        if let Err(e) = hearth_federation::group_pairs::refresh(&state.fed(), m.peer.id).await {
            tracing::info!(hub = %m.peer.actor_url, error = %e, "hub pairs not looked up");
        }
    }
}

/// Starts the checks of every period past its deadline in the pairs this hub leads.
async fn aggregate_pairs(state: AppState) {
    match hearth_federation::hub_pairs::run_due(&state.fed(), state.clock.now()).await {
        Ok(0) => {}
        Ok(steps) => tracing::info!(steps, "pair aggregation steps sent"),
        Err(e) => tracing::warn!(error = %e, "could not start pair aggregation"),
    }
}

/// Publishes the newest period's sector summary once it is due.
async fn publish_summary(state: AppState) {
    match hearth_federation::summaries::publish_due(&state.fed(), state.clock.now()).await {
        Ok(Some(period)) => tracing::info!(%period, "sector summary published"),
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not publish the sector summary"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use hearth_core::Tz;
    use hearth_db::{Db, FixedClock, GroupSettings};

    use super::*;
    use crate::WebConfig;

    async fn instance(dir: &std::path::Path, role: InstanceRole) -> AppState {
        let db = Db::open(&format!(
            "sqlite://{}",
            dir.join("hearth.sqlite3").display()
        ))
        .await
        .unwrap();
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
            .unwrap();
        let settings = match role {
            InstanceRole::Group => GroupSettings::new("Group", Tz::Europe__London),
            InstanceRole::Hub => GroupSettings::hub("Hub", Tz::Europe__London),
        };
        crate::setup::ensure_group(&db, &settings, now)
            .await
            .unwrap();
        let url = url::Url::parse("http://hearth.test/").unwrap();
        let federation = hearth_federation::config(
            db.clone(),
            Arc::new(FixedClock::new(now)),
            url.clone(),
            role,
            &hearth_federation::FedOptions::default(),
        )
        .await
        .unwrap();
        AppState::new(db, WebConfig::for_url(url), federation)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_job_has_ended_once_shutdown_is_signalled() {
        for (role, expected) in [
            (
                InstanceRole::Group,
                vec![
                    "housekeeping",
                    "outbox",
                    "week closer",
                    "hub pairs",
                    "reminders",
                ],
            ),
            (
                InstanceRole::Hub,
                vec![
                    "housekeeping",
                    "outbox",
                    "pair aggregation",
                    "summary publisher",
                ],
            ),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let state = instance(dir.path(), role).await;
            let options = JobOptions {
                // Never connected to: no reminder is due in a new group.
                mailer: Some(Mailer::new("smtp://127.0.0.1:9", "Hearth <h@example.org>").unwrap()),
                delivery: RetryPolicy::default(),
                delivery_idle: Duration::from_millis(50),
            };
            let runner = JobRunner::start(&state, options);
            assert_eq!(runner.names(), expected);
            // Let every job start its first pass.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let stopped = tokio::time::timeout(Duration::from_secs(5), runner.shutdown())
                .await
                .expect("the jobs stop within the grace period");
            assert_eq!(
                stopped,
                Stopped {
                    ended: expected,
                    aborted: vec![]
                },
                "{role}"
            );
        }
    }
}
