//! Closing weeks: each week's group aggregate is computed once, when the week closes, and
//! frozen. Runs from a background tick and before any page that shows group figures, so a
//! view never waits for the tick and never sees an open week.

use chrono::{DateTime, Utc};
use hearth_core::IsoWeek;
use hearth_core::aggregate::WeekTotals;
use hearth_db::{Db, DbError, first_week};

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
        if db.freeze_week(week, &totals, now).await? {
            tracing::info!(%week, "week closed");
        }
        frozen += 1;
        week = week.next();
    }
    Ok(frozen)
}
