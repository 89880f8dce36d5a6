//! What every sending feature shares: new activity ids, and an activity serialised with
//! Hearth's `@context` as the outbox row that carries it.

use hearth_db::NewOutbox;
use serde::Serialize;
use url::Url;

use crate::{FedContext, FedError};

/// A new activity id on this instance.
pub fn new_activity_id(data: &FedContext, kind: &str) -> Url {
    data.url(&format!(
        "/activities/{}/{:032x}",
        kind.to_lowercase(),
        rand_id()
    ))
}

fn rand_id() -> u128 {
    use rand::Rng;
    rand::rngs::OsRng.r#gen()
}

/// Serialises an activity with Hearth's `@context` into an outbox row for `inbox`.
pub fn outbox_item<T: Serialize>(
    activity: &T,
    id: &Url,
    kind: &str,
    inbox: &Url,
) -> Result<NewOutbox, FedError> {
    let payload = serde_json::to_string(&crate::vocab::with_context(activity)?)?;
    Ok(NewOutbox {
        activity_id: id.to_string(),
        activity_type: kind.to_owned(),
        inbox: inbox.to_string(),
        payload,
    })
}
