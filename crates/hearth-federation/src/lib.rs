//! Hearth's federation layer: group instances and network hubs over ActivityPub, cut by feature.
//!
//! - `protocol`: the wire types and their own checks (actor document, membership activities,
//!   `report`, `summary`, `keys`); nothing there reads the database or imports behaviour.
//! - `inbound`: the list of activities an inbox accepts, and its parse (wire types only).
//! - Behaviour per feature, each implementing `Activity` for its wire types: `membership`
//!   (join, answer, leave), `group_sharing` (a group's side of reports: make, approve, send
//!   again, erase, leave with erasure, serve to its hub), `hub_reports` (a hub's side: receive,
//!   validate, store, erase), `hub_pairs` (a hub's side of a pair: propose, answer, check and
//!   release), `group_pairs` (a group's side: learn a hub's pairs, share through one),
//!   `summaries` (a hub's sector summary, and its receipt), `keys`
//!   (key rotation).
//! - Plumbing: `context` (`FedContext`, configuration, the HTTP client), `actor` (`Peer`),
//!   `sending` (activity ids, outbox rows), `outbox` (the delivery worker), `inbox` (the
//!   hardened receiving endpoint), `signing`, `discovery`, `vocab`, `error`.
//!
//! Invariants kept here:
//! - Every outgoing activity is written to the `outbox` table in the same transaction as the
//!   change that caused it, and only the outbox worker sends.
//! - Nothing about members leaves: actor documents carry the group's name and its coarse
//!   profile categories, never counts of people or anyone's name.
//! - A request refused by the inbox changes no row: unknown actors fetched to check a
//!   signature are not stored until an activity from them is accepted.

pub mod actor;
mod context;
pub mod discovery;
mod error;
pub mod group_pairs;
pub mod group_sharing;
pub mod hub_pairs;
pub mod hub_reports;
pub mod inbound;
pub mod inbox;
pub mod keys;
pub mod membership;
pub mod outbox;
pub mod protocol;
pub mod sending;
pub mod signing;
pub mod summaries;
pub mod vocab;

pub(crate) use context::DELIVERY_STATUS;
pub use context::{FedContext, FedOptions, PeerLimiter, REQUESTS_PER_MINUTE, config, http_client};
pub use error::{FedError, REFUSED};
