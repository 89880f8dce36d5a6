//! The week closer (group instances, every minute): each week's group aggregate is computed
//! once, when the week closes, and frozen; then any report that came due with it is made.
//! Pages that show group figures close weeks themselves first, so a view never waits for the
//! job and never sees an open week.

use chrono::{DateTime, Utc};
use hearth_core::IsoWeek;
use hearth_core::aggregate::WeekTotals;
use hearth_db::{Db, DbError, first_week};

use crate::AppState;

/// At most this many weeks are closed in one call (ten years), so a long-idle instance
/// catches up in bounded work.
const MAX_WEEKS_PER_CALL: usize = 520;

/// Freezes every week that has closed by `now` and is not frozen yet; returns how many.
pub async fn close_due_weeks(db: &Db, now: DateTime<Utc>) -> Result<usize, DbError> {
    let Some((settings, created)) = db.group_settings_and_created().await? else {
        return Ok(0);
    };
    let tz = settings.timezone;
    let last_closed = IsoWeek::latest_closed(now, tz, settings.close);
    let mut week = match db.latest_frozen_week().await? {
        Some(w) => w.next(),
        None => first_week(created, tz),
    };
    let mut frozen = 0;
    while week <= last_closed && frozen < MAX_WEEKS_PER_CALL {
        let answers = db.answers_for_week(week).await?;
        let totals = WeekTotals::of(&answers);
        if db
            .freeze_week(week, &totals, settings.min_count, now)
            .await?
        {
            tracing::info!(%week, "week closed");
        }
        frozen += 1;
        week = week.next();
    }
    Ok(frozen)
}

/// One pass of the job: freeze what has closed, then make the reports that came due (noise
/// from the OS generator).
pub(super) async fn pass(state: &AppState) {
    if let Err(e) = close_due_weeks(&state.db, state.clock.now()).await {
        tracing::warn!(error = %e, "could not close weeks");
    }
    if let Err(e) = hearth_federation::group_sharing::make_due_reports(
        &state.fed(),
        state.clock.now(),
        &mut rand::rngs::OsRng,
    )
    .await
    {
        tracing::warn!(error = %e, "could not make due reports");
    }
}
