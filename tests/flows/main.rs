//! Hearth's cross-crate flows, run in-process against both databases: one test binary, each
//! file a module, so the whole stack links once for all of them.

mod accounts;
mod federation;
mod federation_md;
mod group;
mod inbox_attacks;
mod keys;
mod member_flow;
mod members;
mod metrics;
mod pairs;
mod privacy;
mod private_logs;
mod reminders;
mod report_outage;
mod report_privacy;
mod reports;
mod schema;
mod sector;
mod summaries;
