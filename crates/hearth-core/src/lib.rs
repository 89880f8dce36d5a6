//! Hearth's pure domain.
//!
//! Everything here is deterministic and free of IO: no clock, no database, no network, no async
//! runtime. Callers pass `now` and time zones in; the crate hands back values or typed errors.
//!
//! Invariants kept here:
//! - Validated instrument wording and scales are reproduced exactly as published, so cut-offs
//!   keep their meaning ([`instruments`]).
//! - A [`checkin::CheckinAnswers`] can only be built from answers that passed validation, so the
//!   layers above never store or score an out-of-range answer.
//! - Readings of a person's history are non-diagnostic by construction ([`history`]).

pub mod aggregate;
pub mod alerts;
pub mod checkin;
pub mod disclosure;

pub mod history;
pub mod instruments;
pub mod noise;
pub mod pair;
pub mod period;
pub mod profile;
pub mod reminder;
pub mod report;
pub mod sharing;

pub mod role;
pub mod scoring;
pub mod sector;
pub mod signal;

pub use checkin::{CheckinAnswers, CheckinInput, FieldErrors};
pub use chrono_tz::Tz;
pub use period::IsoWeek;
pub use role::{InstanceRole, Role};
