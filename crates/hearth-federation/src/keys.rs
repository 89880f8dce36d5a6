//! Key rotation: after an instance stores a new key pair, it tells every peer with an `Update`
//! of its actor (which carries the new public key). A peer that still holds the old key fails
//! the signature, fetches the actor again (Hearth's inbox does this once per failure) and
//! takes the `Update`; receiving the `Update` refreshes the stored actor in any case.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::kinds::activity::UpdateType;
use activitypub_federation::traits::{Activity, Object};
use url::Url;

use crate::actor::Peer;
use crate::protocol::keys::UpdateActor;
use crate::sending::{new_activity_id, outbox_item};
use crate::{FedContext, FedError};

#[async_trait::async_trait]
impl Activity for UpdateActor {
    type DataType = FedContext;
    type Error = FedError;
    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        &self.actor
    }
    async fn verify(&self, _data: &Data<FedContext>) -> Result<(), FedError> {
        if self.object.id != self.actor {
            return Err(FedError::Invalid("an actor can only update itself".into()));
        }
        Ok(())
    }
    /// Fetches the actor from its own server rather than trusting the embedded copy.
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        let peer = ObjectId::<Peer>::from(self.actor.clone())
            .dereference_forced(data)
            .await?;
        tracing::info!(peer = %peer.id, "peer actor updated");
        Ok(())
    }
}

/// Queues an `Update` of this instance's actor to every peer: hubs or groups it federates with
/// and readers. Returns how many inboxes will be told. Run it after storing a new key.
pub async fn announce_actor(data: &Data<FedContext>) -> Result<usize, FedError> {
    let local = Peer::local(data).await?;
    let object = local.into_json(data).await?;
    let id = new_activity_id(data, "update");
    let update = UpdateActor {
        id: id.clone(),
        kind: UpdateType::Update,
        actor: data.actor_url(),
        object,
    };
    let mut inboxes: Vec<String> = data
        .db
        .memberships()
        .await?
        .into_iter()
        .map(|m| m.peer.inbox)
        .collect();
    inboxes.extend(data.db.follower_inboxes().await?);
    inboxes.sort();
    inboxes.dedup();
    let mut send = Vec::new();
    for inbox in &inboxes {
        let inbox = Url::parse(inbox).map_err(|e| FedError::Invalid(e.to_string()))?;
        send.push(outbox_item(&update, &id, "Update", &inbox)?);
    }
    data.db.enqueue(&send, data.now()).await?;
    data.wake_outbox();
    Ok(send.len())
}
