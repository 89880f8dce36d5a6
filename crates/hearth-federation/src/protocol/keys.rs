//! An instance's actor announced again (after a key rotation), on the wire.

use activitypub_federation::kinds::activity::UpdateType;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::protocol::ActorJson;

/// An instance announces its actor again (after a key rotation).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateActor {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UpdateType,
    pub actor: Url,
    pub object: ActorJson,
}
