//! The delivery worker: sends what the `outbox` table holds, oldest first per inbox, retrying
//! with exponential backoff. At-least-once: a crash between sending and marking means one more
//! send, which receivers ignore by activity id.

use std::time::Duration;

use activitypub_federation::activity_sending::SendActivityTask;
use activitypub_federation::config::{Data, FederationConfig};
use activitypub_federation::traits::Activity;
use hearth_db::OutboxRow;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::actor::Peer;
use crate::{FedContext, FedError};

/// Retry timing and limits.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Wait after the first failure; doubles each time.
    pub base: Duration,
    /// Longest wait between two attempts.
    pub cap: Duration,
    /// Attempts before a delivery is marked failed.
    pub max_attempts: i32,
}

impl Default for RetryPolicy {
    /// About 17 attempts over a day: 2 s, 4 s, … up to an hour apart.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(3600),
            max_attempts: 30,
        }
    }
}

impl RetryPolicy {
    /// The wait after `attempts` failed attempts.
    pub fn delay(&self, attempts: i32) -> Duration {
        let factor = 2u32.saturating_pow(
            u32::try_from(attempts.saturating_sub(1))
                .unwrap_or(0)
                .min(30),
        );
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// A stored activity, sent exactly as it was serialised.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    id: Url,
    actor: Url,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

#[async_trait::async_trait]
impl Activity for Stored {
    type DataType = FedContext;
    type Error = FedError;
    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        &self.actor
    }
    async fn verify(&self, _: &Data<FedContext>) -> Result<(), FedError> {
        Err(FedError::Invalid(
            "stored outgoing activities are never received".into(),
        ))
    }
    async fn receive(self, _: &Data<FedContext>) -> Result<(), FedError> {
        Err(FedError::Invalid(
            "stored outgoing activities are never received".into(),
        ))
    }
}

/// Sends one stored activity to its inbox as `local`. A final refusal (4xx other than 408 and
/// 429), which the library reports as done, comes back as [`FedError::Refused`].
async fn deliver(data: &Data<FedContext>, local: &Peer, row: &OutboxRow) -> Result<(), FedError> {
    let activity: Stored = serde_json::from_str(&row.payload)?;
    let inbox = Url::parse(&row.inbox).map_err(|e| FedError::Invalid(e.to_string()))?;
    // The row was written on purpose by this instance: its inbox may be sent to.
    data.allow_domain(&inbox);
    let tasks = SendActivityTask::prepare(&activity, local, vec![inbox], data).await?;
    if tasks.is_empty() {
        // The library skips inboxes it refuses; that must not count as delivered.
        return Err(FedError::Invalid(format!(
            "{} cannot be sent to",
            row.inbox
        )));
    }
    for task in tasks {
        let status = crate::DELIVERY_STATUS
            .scope(std::cell::Cell::new(None), async {
                task.sign_and_send(data).await?;
                Ok::<_, FedError>(crate::DELIVERY_STATUS.with(std::cell::Cell::get))
            })
            .await?;
        if let Some(s) = status.filter(|s| (400..500).contains(s)) {
            return Err(FedError::Refused(s));
        }
    }
    Ok(())
}

/// Activities each inbox is sent one after another in a pass, before the pass ends and the
/// queue is read again: a backlog goes out without a pause (and a read) between each one.
const PER_INBOX: i64 = 16;

/// One pass: for each inbox, its oldest pending deliveries that are due, sent in order (up to
/// [`PER_INBOX`], stopping at the first that fails); inboxes are served concurrently. Returns
/// how many were delivered.
pub async fn run_once(
    config: &FederationConfig<FedContext>,
    policy: &RetryPolicy,
) -> Result<usize, FedError> {
    let data = config.to_request_data();
    let now = data.now();
    let chains = data.db.next_deliveries(now, PER_INBOX, 1000).await?;
    if chains.is_empty() {
        return Ok(0);
    }
    let local = std::sync::Arc::new(Peer::local(&data).await?);
    let mut delivered = 0;
    // A task per inbox, so the work between signatures (building requests, reading answers)
    // spreads over every worker thread instead of one. Dropping the set (at shutdown) stops
    // them all; anything not marked delivered is sent again.
    let mut tasks = tokio::task::JoinSet::new();
    for chain in chains {
        let (data, local) = (config.to_request_data(), local.clone());
        tasks.spawn(async move {
            let mut sent = Vec::with_capacity(chain.len());
            for row in chain {
                let result = deliver(&data, &local, &row).await;
                let failed = result.is_err();
                sent.push((row, result));
                // The rest of this inbox's chain waits behind the one that failed.
                if failed {
                    break;
                }
            }
            sent
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(sent) => results.extend(sent),
            // Its deliveries stay pending and go in a later pass.
            Err(e) => tracing::error!(error = %e, "a delivery task failed"),
        }
    }
    let mut done = Vec::new();
    for (row, result) in results {
        match result {
            Ok(()) => {
                done.push(row.id);
                delivered += 1;
                tracing::info!(activity = %row.activity_id, inbox = %row.inbox, "delivered");
            }
            Err(e) => {
                let tries = row.attempts + 1;
                // A refusal is final: the receiver has said no.
                let retry = tries < policy.max_attempts && !matches!(e, FedError::Refused(_));
                let next = retry.then(|| {
                    data.now() + chrono::Duration::from_std(policy.delay(tries)).unwrap_or_default()
                });
                tracing::warn!(activity = %row.activity_id, inbox = %row.inbox, attempt = tries, error = %e, "delivery failed");
                data.db
                    .mark_attempt_failed(row.id, &e.to_string(), next)
                    .await?;
            }
        }
    }
    data.db.mark_all_delivered(&done, data.now()).await?;
    Ok(delivered)
}

/// Runs the worker until `shutdown`: a pass whenever something is queued, and at least every
/// `idle` otherwise (for retries that come due). Shutdown leaves a pass in progress at once:
/// whatever it had not marked delivered is sent again on the next start, and receivers ignore
/// an activity they already have.
pub async fn run(
    config: FederationConfig<FedContext>,
    policy: RetryPolicy,
    idle: Duration,
    shutdown: CancellationToken,
) {
    let wake = config.to_request_data().outbox_wake.clone();
    loop {
        let pass = tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            pass = run_once(&config, &policy) => pass,
        };
        match pass {
            // Something went out: the next activity to that inbox may be waiting already.
            Ok(delivered) if delivered > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox pass failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = wake.notified() => {},
            () = tokio::time::sleep(idle) => {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
            max_attempts: 10,
        };
        let waits: Vec<u64> = (1..=7).map(|n| p.delay(n).as_secs()).collect();
        assert_eq!(waits, vec![2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(RetryPolicy::default().delay(100), Duration::from_secs(3600));
    }
}
