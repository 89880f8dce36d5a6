//! First-run steps shared by the CLI and the test kit: the group row and invite links.

use chrono::{DateTime, Utc};
use hearth_core::Role;
use hearth_db::{Account, Db, DbError, GroupSettings, NewAccount};

use crate::WebConfig;
use crate::tokens::{hash_token, new_token};

/// How long the one-time setup link for the first facilitator works.
pub const SETUP_LINK_DAYS: i64 = 7;

/// Makes a single-use invite and returns its absolute link. Only the token's hash is stored.
pub async fn invite_link(
    db: &Db,
    config: &WebConfig,
    role: Role,
    days: i64,
    created_by: Option<i64>,
    now: DateTime<Utc>,
) -> Result<String, DbError> {
    let token = new_token();
    db.create_invite(
        &hash_token(&token),
        role,
        created_by,
        now,
        now + chrono::Duration::days(days),
    )
    .await?;
    Ok(config.link(&format!("/join/{token}")))
}

/// Creates an account the way joining does (through a single-use invite), for tools that make
/// accounts without a browser: the demo, the bench and the test kit.
pub async fn create_account(
    db: &Db,
    role: Role,
    account: &NewAccount,
    now: DateTime<Utc>,
) -> Result<Account, DbError> {
    let token = hash_token(&new_token());
    db.create_invite(&token, role, None, now, now + chrono::Duration::days(1))
        .await?;
    db.join_with_invite(&token, account, now).await
}

/// Creates the group's settings row if it is missing.
pub async fn ensure_group(
    db: &Db,
    settings: &GroupSettings,
    now: DateTime<Utc>,
) -> Result<(), DbError> {
    if db.group_settings().await?.is_none() {
        db.init_group_settings(settings, now).await?;
    }
    Ok(())
}

/// A setup link for the first facilitator, when nobody has an account yet.
pub async fn setup_link_if_needed(
    db: &Db,
    config: &WebConfig,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbError> {
    if db.count_accounts().await? > 0 {
        return Ok(None);
    }
    invite_link(db, config, Role::Facilitator, SETUP_LINK_DAYS, None, now)
        .await
        .map(Some)
}
