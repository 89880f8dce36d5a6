//! The reminders job (group instances that send email, every five minutes): this week's
//! reminders, on the group's day, one message per address not yet reminded.

use chrono::{DateTime, Utc};
use hearth_core::reminder::due_week;

use crate::mail::{MailError, Mailer};
use crate::{AppError, AppState};

/// Sends this week's reminders if today is the group's day and they have not gone yet.
/// Returns how many were sent. One address that fails is logged and tried again on the next
/// pass (unless the server refused it for good); the others still go.
pub async fn send_due_reminders(
    state: &AppState,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    let settings = state.settings().await?;
    let Some(week) = due_week(now, settings.timezone, state.db.reminder_weekday().await?) else {
        return Ok(0);
    };
    let week = week.to_string();
    let checkin_link = state.config.link("/checkin");
    let mut sent = 0;
    for r in state.db.reminders_due(&week).await? {
        let stop_link = state
            .config
            .link(&format!("/reminders/stop/{}", r.stop_token));
        let result = mailer
            .send_reminder(&r.address, &settings.name, &checkin_link, &stop_link)
            .await;
        match result {
            Ok(()) => {
                state.db.mark_reminded(r.account_id, &week).await?;
                sent += 1;
            }
            // The account id, never the address, goes to the log.
            Err(e) => {
                tracing::warn!(account_id = r.account_id, error = %e, "reminder not sent");
                // Asking again every pass would only repeat the refusal.
                if matches!(
                    e,
                    MailError::Answered {
                        permanent: true,
                        ..
                    }
                ) {
                    state.db.mark_reminded(r.account_id, &week).await?;
                }
            }
        }
    }
    if sent > 0 {
        tracing::info!(sent, %week, "reminders sent");
    }
    Ok(sent)
}

/// One pass of the job.
pub(super) async fn pass(state: &AppState, mailer: &Mailer) {
    if let Err(e) = send_due_reminders(state, mailer, state.clock.now()).await {
        tracing::warn!(error = ?e, "reminders pass failed");
    }
}
