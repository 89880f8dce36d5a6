use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, Queryable, Selectable, SelectableHelper,
};
use diesel_async::{AsyncConnection, RunQueryDsl};
use hearth_core::aggregate::MinCount;
use hearth_core::period::WeekClose;
use hearth_core::profile::{FOCUSES, Profile, REGIONS, SIZE_BANDS};
use hearth_core::{InstanceRole, IsoWeek, Tz};

use crate::schema::{group_focuses, group_settings};
use crate::{Db, DbError, from_db_time, to_db_time, with_conn};

/// The group this instance serves, as its facilitators set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSettings {
    pub name: String,
    pub description: String,
    pub timezone: Tz,
    pub close: WeekClose,
    pub min_count: MinCount,
    pub profile: Profile,
    /// Set at init; never changes.
    pub role: InstanceRole,
    /// On a hub: accept groups' join requests at once instead of waiting for staff.
    pub hub_auto_accept: bool,
}

impl GroupSettings {
    /// A new group with the defaults: weeks close Monday 00:00, k = 5, no profile yet.
    pub fn new(name: impl Into<String>, timezone: Tz) -> Self {
        Self {
            name: name.into(),
            description: String::new(),
            timezone,
            close: WeekClose::default(),
            min_count: MinCount::default(),
            profile: Profile::default(),
            role: InstanceRole::Group,
            hub_auto_accept: false,
        }
    }

    /// The same, for a network hub.
    pub fn hub(name: impl Into<String>, timezone: Tz) -> Self {
        Self {
            role: InstanceRole::Hub,
            ..Self::new(name, timezone)
        }
    }
}

/// The `group_settings` row, without its id.
#[derive(Queryable, Selectable)]
#[diesel(table_name = group_settings, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct SettingsRecord {
    name: String,
    description: String,
    timezone: String,
    close_weekday: i32,
    close_hour: i32,
    min_count: i32,
    region: Option<String>,
    size_band: Option<String>,
    created_at: NaiveDateTime,
    instance_role: String,
    hub_auto_accept: bool,
}

fn invalid(what: impl std::fmt::Display) -> DbError {
    DbError::InvalidData(what.to_string())
}

fn known(list: &[(&'static str, &'static str)], v: Option<String>) -> Option<&'static str> {
    v.and_then(|v| list.iter().find(|(s, _)| *s == v).map(|(s, _)| *s))
}

impl Db {
    /// The group's settings, or `None` before the instance was initialised.
    pub async fn group_settings(&self) -> Result<Option<GroupSettings>, DbError> {
        Ok(self.group_settings_and_created().await?.map(|(s, _)| s))
    }

    /// The settings and when the group was created (its first week).
    pub async fn group_settings_and_created(
        &self,
    ) -> Result<Option<(GroupSettings, DateTime<Utc>)>, DbError> {
        let mut conn = self.conn().await?;
        let (row, focuses): (Option<SettingsRecord>, Vec<String>) = with_conn!(&mut conn, |c| {
            let row = group_settings::table
                .filter(group_settings::id.eq(1))
                .select(SettingsRecord::as_select())
                .first(c)
                .await
                .optional()?;
            let focuses = group_focuses::table
                .select(group_focuses::focus)
                .load(c)
                .await?;
            Ok::<_, DbError>((row, focuses))
        })?;
        let Some(r) = row else {
            return Ok(None);
        };
        let mut focuses: Vec<&'static str> = focuses
            .into_iter()
            .filter_map(|f| known(&FOCUSES, Some(f)))
            .collect();
        focuses.sort_by_key(|s| FOCUSES.iter().position(|(f, _)| f == s));
        let tz = r.timezone;
        let settings = GroupSettings {
            name: r.name,
            description: r.description,
            timezone: tz
                .parse::<Tz>()
                .map_err(|_| invalid(format!("unknown time zone {tz:?}")))?,
            close: WeekClose::new(i64::from(r.close_weekday), i64::from(r.close_hour))
                .map_err(invalid)?,
            min_count: MinCount::new(i64::from(r.min_count)).map_err(invalid)?,
            profile: Profile {
                region: known(&REGIONS, r.region),
                focuses,
                size_band: known(&SIZE_BANDS, r.size_band),
            },
            role: r.instance_role.parse().map_err(invalid)?,
            hub_auto_accept: r.hub_auto_accept,
        };
        Ok(Some((settings, from_db_time(r.created_at))))
    }

    /// Creates the settings row once; later calls leave it as it is.
    pub async fn init_group_settings(
        &self,
        settings: &GroupSettings,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| diesel::insert_into(group_settings::table)
            .values((
                group_settings::id.eq(1i64),
                group_settings::name.eq(&settings.name),
                group_settings::timezone.eq(settings.timezone.name()),
                group_settings::created_at.eq(to_db_time(now)),
                group_settings::instance_role.eq(settings.role.as_str()),
            ))
            .on_conflict(group_settings::id)
            .do_nothing()
            .execute(c)
            .await)?;
        Ok(())
    }

    /// Replaces every setting and the profile in one transaction.
    pub async fn update_group_settings(&self, s: &GroupSettings) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| c
            .transaction(async |c| {
                let n = diesel::update(group_settings::table.filter(group_settings::id.eq(1)))
                    .set((
                        group_settings::name.eq(&s.name),
                        group_settings::description.eq(&s.description),
                        group_settings::timezone.eq(s.timezone.name()),
                        group_settings::close_weekday.eq(i32::from(s.close.weekday_number())),
                        group_settings::close_hour.eq(i32::from(s.close.hour)),
                        group_settings::min_count.eq(i32::from(s.min_count.get())),
                        group_settings::region.eq(s.profile.region),
                        group_settings::size_band.eq(s.profile.size_band),
                        group_settings::hub_auto_accept.eq(s.hub_auto_accept),
                    ))
                    .execute(c)
                    .await?;
                if n == 0 {
                    return Err(DbError::NotFound);
                }
                diesel::delete(group_focuses::table).execute(c).await?;
                for f in &s.profile.focuses {
                    diesel::insert_into(group_focuses::table)
                        .values(group_focuses::focus.eq(*f))
                        .execute(c)
                        .await?;
                }
                Ok::<_, DbError>(())
            })
            .await)
    }
}

/// The first week the group existed, for deciding which weeks to close.
pub fn first_week(created: DateTime<Utc>, tz: Tz) -> IsoWeek {
    IsoWeek::containing(created, tz)
}
