use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::RunQueryDsl;
use hearth_core::Tz;

use crate::schema::group_settings;
use crate::{Db, DbError, to_db_time, with_conn};

/// The group this instance serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSettings {
    pub name: String,
    pub timezone: Tz,
}

impl Db {
    /// The group's settings, or `None` before the instance was initialised.
    pub async fn group_settings(&self) -> Result<Option<GroupSettings>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<(String, String)> = with_conn!(&mut conn, |c| group_settings::table
            .filter(group_settings::id.eq(1))
            .select((group_settings::name, group_settings::timezone))
            .first(c)
            .await
            .optional())?;
        row.map(|(name, tz)| {
            let timezone = tz
                .parse::<Tz>()
                .map_err(|_| DbError::InvalidData(format!("unknown time zone {tz:?}")))?;
            Ok(GroupSettings { name, timezone })
        })
        .transpose()
    }

    /// Creates the settings row once; later calls leave it as it is.
    pub async fn init_group_settings(
        &self,
        settings: &GroupSettings,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let mut conn = self.conn().await?;
        with_conn!(&mut conn, |c| diesel::insert_into(group_settings::table)
            .values((
                group_settings::id.eq(1i64),
                group_settings::name.eq(&settings.name),
                group_settings::timezone.eq(settings.timezone.name()),
                group_settings::created_at.eq(to_db_time(now)),
            ))
            .on_conflict(group_settings::id)
            .do_nothing()
            .execute(c)
            .await)?;
        Ok(())
    }
}
