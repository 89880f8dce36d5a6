//! Hearth's data layer: one copy of every query over SQLite (default) and PostgreSQL.
//!
//! [`Db`] is an enum over two bb8 pools of diesel-async connections; [`with_conn!`] expands a
//! query body once per backend, so both arms are type-checked from a single source. Queries
//! return domain types from `hearth-core` or plain row structs, never diesel types.
//!
//! Invariants kept here:
//! - Timestamps are UTC `NaiveDateTime`, truncated to microseconds before they are written, so
//!   both backends round-trip them identically.
//! - Private notes live in their own table and are only ever read together with the author's id.
//! - SQLite connections always run with `foreign_keys=ON`, so deleting an account cascades.

mod accounts;
mod aggregates;
mod cache;
mod checkins;
pub mod clock;
mod error;
mod federation;
mod group_pairs;
mod invites;
mod keys;
mod members;
mod pairs;
mod pool;
mod prepared;
mod received_reports;
mod reminders;
mod rollups;
pub mod schema;
mod sector;
mod sessions;
mod settings;
mod sharing;

pub use accounts::{Account, NewAccount};
pub use aggregates::FrozenWeek;
pub use checkins::StoredCheckin;
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::DbError;
pub use federation::{
    DeliveryState, Membership, MembershipState, NewOutbox, NewPeer, OutboxRow, PeerRow,
};
pub use group_pairs::{GroupPair, OfferedPair};
pub use invites::{Invite, InviteStatus};
pub use keys::InstanceKey;
pub use members::{Consent, MemberSummary};
pub use pairs::{
    HubPair, NewPair, NewPairShare, PairBatch, PairRelease, PairShare, PairState, ShareState,
    ShareStored,
};
pub use pool::{Backend, Conn, Db, DbHealth, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
pub use received_reports::{ReceivedReport, ReportActivity, Stored};
pub use reminders::{DEFAULT_REMINDER_WEEKDAY, ReminderEmail};
pub use sector::{AlertAck, HubSettings, PublishedSummary};
pub use sessions::SessionRow;
pub use settings::{GroupSettings, first_week};
pub use sharing::{NewSharedReport, ReportState, SharedReport, Sharing};

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// Converts a UTC instant to what both databases store: microsecond precision, no zone.
pub fn to_db_time(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc().trunc_subsecs(6)
}

/// Reads a stored timestamp back as UTC.
pub fn from_db_time(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Reads a stored ISO week label (`2026-W48`) back.
pub(crate) fn parse_week(s: &str) -> Result<hearth_core::IsoWeek, DbError> {
    s.parse()
        .map_err(|e: hearth_core::period::BadIsoWeek| DbError::InvalidData(e.to_string()))
}
