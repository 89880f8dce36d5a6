//! Membership: a group asks a hub to join (`Follow`), the hub's staff or its open door answer
//! (`Accept`, `Reject`), and a group leaves or a reader unfollows (`Undo`). Each action is
//! stored with its outbox rows in one transaction.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::kinds::activity::{AcceptType, FollowType, RejectType};
use activitypub_federation::traits::Activity;
use hearth_core::InstanceRole;
use hearth_db::{DbError, Membership, MembershipState, NewOutbox};
use url::Url;

use crate::actor::Peer;
use crate::protocol::{Accept, Follow, FollowRef, Reject, Undo};
use crate::sending::{new_activity_id, outbox_item};
use crate::{FedContext, FedError};

fn require_role(data: &FedContext, role: InstanceRole, what: &str) -> Result<(), FedError> {
    if data.role == role {
        Ok(())
    } else {
        Err(FedError::NotAllowed(format!(
            "{what} is not accepted by a {}",
            data.role
        )))
    }
}

#[async_trait::async_trait]
impl Activity for Follow {
    type DataType = FedContext;
    type Error = FedError;

    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
        require_role(data, InstanceRole::Hub, "Follow")?;
        if self.object != data.actor_url() {
            return Err(FedError::Invalid(
                "Follow is not addressed to this hub".into(),
            ));
        }
        Ok(())
    }

    /// A group asks to join: pending for staff, or accepted at once on an open hub.
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        let group = ObjectId::<Peer>::from(self.actor.clone())
            .dereference(data)
            .await?;
        if group.kind != crate::protocol::ActorKind::Group {
            // Any other fediverse account may follow to read the hub's public summaries; it
            // is accepted as a reader, never as a member, and gets nothing private.
            // The latest summary follows the Accept, so a new reader has something to read.
            let mut send = vec![answer(data, &group, &self, true)?];
            send.extend(crate::summaries::latest_for(data, &group.inbox).await?);
            data.db
                .save_reader(
                    &group.to_new_peer(data.now()),
                    self.id.as_str(),
                    &send,
                    data.now(),
                )
                .await?;
            data.wake_outbox();
            tracing::info!(reader = %group.id, "reader follows the hub");
            return Ok(());
        }
        let settings = data
            .db
            .group_settings()
            .await?
            .ok_or_else(|| FedError::Invalid("hub not initialised".into()))?;
        let existing = data.db.membership_by_actor(group.id.as_str()).await?;
        let accept_now = settings.hub_auto_accept
            || existing
                .as_ref()
                .is_some_and(|m| m.state == MembershipState::Accepted);
        let (state, send) = if accept_now {
            let mut send = vec![answer(data, &group, &self, true)?];
            if existing
                .as_ref()
                .is_none_or(|m| m.state != MembershipState::Accepted)
            {
                send.extend(crate::summaries::latest_for(data, &group.inbox).await?);
            }
            (MembershipState::Accepted, send)
        } else {
            (MembershipState::Pending, vec![])
        };
        data.db
            .save_membership(
                &group.to_new_peer(data.now()),
                state,
                self.id.as_str(),
                &send,
                data.now(),
            )
            .await?;
        data.wake_outbox();
        tracing::info!(group = %group.id, state = state.as_str(), "join request received");
        Ok(())
    }
}

/// Checks that an answer is about a Follow this group sent to the answering hub.
async fn pending_follow(
    data: &Data<FedContext>,
    hub: &Url,
    follow: &FollowRef,
) -> Result<Membership, FedError> {
    require_role(data, InstanceRole::Group, "An answer to a join request")?;
    // Named by id alone, the Follow is checked by its id against the one this group sent.
    if follow
        .actor
        .as_ref()
        .is_some_and(|a| *a != data.actor_url())
        || follow.object.as_ref().is_some_and(|o| o != hub)
    {
        return Err(FedError::Invalid(
            "the answer is about someone else's request".into(),
        ));
    }
    let membership = data
        .db
        .membership_by_actor(hub.as_str())
        .await?
        .ok_or_else(|| FedError::NotAllowed("this group never asked to join".into()))?;
    if membership.follow_id != follow.id.as_str() {
        return Err(FedError::Invalid(
            "the answer is about an older request".into(),
        ));
    }
    Ok(membership)
}

/// A hub's answer to this group's latest request: moves the membership to `to`. Receiving the
/// same answer again changes nothing.
async fn take_answer(
    data: &Data<FedContext>,
    hub: &Url,
    follow: &FollowRef,
    to: MembershipState,
) -> Result<(), FedError> {
    let m = pending_follow(data, hub, follow).await?;
    if m.state != to {
        data.db
            .change_membership(m.peer.id, m.state, to, Some(&m.follow_id), &[], data.now())
            .await?;
    }
    tracing::info!(hub = %hub, state = to.as_str(), "hub answered");
    Ok(())
}

/// `Accept` and `Reject` differ only in the state they lead to.
macro_rules! answer_activity {
    ($t:ty, $state:expr) => {
        #[async_trait::async_trait]
        impl Activity for $t {
            type DataType = FedContext;
            type Error = FedError;

            fn id(&self) -> &Url {
                &self.id
            }
            fn actor(&self) -> &Url {
                &self.actor
            }

            async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
                pending_follow(data, &self.actor, &self.object)
                    .await
                    .map(|_| ())
            }

            async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
                take_answer(data, &self.actor, &self.object, $state).await
            }
        }
    };
}

answer_activity!(Accept, MembershipState::Accepted);
answer_activity!(Reject, MembershipState::Rejected);

#[async_trait::async_trait]
impl Activity for Undo {
    type DataType = FedContext;
    type Error = FedError;

    fn id(&self) -> &Url {
        &self.id
    }
    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
        require_role(data, InstanceRole::Hub, "Undo")?;
        // An Undo may name the Follow by id alone: then it must be one the sender's server made.
        let own = match (&self.object.actor, &self.object.object) {
            (Some(actor), Some(object)) => *actor == self.actor && *object == data.actor_url(),
            (None, None) => self.object.id.host_str() == self.actor.host_str(),
            (actor, object) => {
                actor.as_ref().is_none_or(|a| *a == self.actor)
                    && object.as_ref().is_none_or(|o| *o == data.actor_url())
            }
        };
        if !own {
            return Err(FedError::Invalid(
                "a group can only withdraw its own request".into(),
            ));
        }
        Ok(())
    }

    /// A group leaves (the membership goes) or a reader unfollows. Twice is not an error.
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        if data.db.remove_reader(self.actor.as_str()).await? {
            tracing::info!(reader = %self.actor, "reader stopped following");
            return Ok(());
        }
        if let Some(m) = data.db.membership_by_actor(self.actor.as_str()).await? {
            match data.db.end_membership(m.peer.id, &[], data.now()).await {
                Ok(()) | Err(DbError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(group = %self.actor, "group left");
        Ok(())
    }
}

/// The hub's Accept or Reject of `follow`, as an outbox row.
fn answer(
    data: &FedContext,
    group: &Peer,
    follow: &Follow,
    accept: bool,
) -> Result<NewOutbox, FedError> {
    let actor = data.actor_url();
    if accept {
        let id = new_activity_id(data, "accept");
        let a = Accept {
            id: id.clone(),
            kind: AcceptType::Accept,
            actor,
            object: follow.clone().into(),
        };
        outbox_item(&a, &id, "Accept", &group.inbox)
    } else {
        let id = new_activity_id(data, "reject");
        let r = Reject {
            id: id.clone(),
            kind: RejectType::Reject,
            actor,
            object: follow.clone().into(),
        };
        outbox_item(&r, &id, "Reject", &group.inbox)
    }
}

/// The Follow a membership stands for, rebuilt from what was stored.
fn stored_follow(m: &Membership, group: &Url, hub: &Url) -> Result<Follow, FedError> {
    Ok(Follow {
        id: Url::parse(&m.follow_id).map_err(|e| FedError::Invalid(e.to_string()))?,
        kind: FollowType::Follow,
        actor: group.clone(),
        object: hub.clone(),
    })
}

/// A group asks `hub` to let it join: stores the request and queues the Follow together.
pub async fn request_to_join(data: &FedContext, hub: &Peer) -> Result<Membership, FedError> {
    if data.role != InstanceRole::Group {
        return Err(FedError::NotAllowed(
            "only a group instance can join a hub".into(),
        ));
    }
    if !hub.kind.is_hub() {
        return Err(FedError::Invalid(format!(
            "{} is a {}, not a network hub",
            hub.id,
            hub.kind.as_str()
        )));
    }
    let id = new_activity_id(data, "follow");
    let follow = Follow {
        id: id.clone(),
        kind: FollowType::Follow,
        actor: data.actor_url(),
        object: hub.id.clone(),
    };
    let item = outbox_item(&follow, &id, "Follow", &hub.inbox)?;
    let m = data
        .db
        .save_membership(
            &hub.to_new_peer(data.now()),
            MembershipState::Pending,
            id.as_str(),
            &[item],
            data.now(),
        )
        .await?;
    data.allow_domain(&hub.id);
    data.wake_outbox();
    Ok(m)
}

/// A group leaves a hub without asking it to erase anything (see [`crate::group_sharing::leave`]).
pub async fn leave(data: &FedContext, peer_id: i64) -> Result<(), FedError> {
    crate::group_sharing::leave(data, peer_id, false).await
}

/// Hub staff accept or decline a pending request: the state and the answer go together.
pub async fn decide(data: &FedContext, peer_id: i64, accept: bool) -> Result<(), FedError> {
    let m = data
        .db
        .membership(peer_id)
        .await?
        .ok_or(FedError::Db(DbError::NotFound))?;
    let group = Peer::from_row(&m.peer)?;
    let follow = stored_follow(&m, &group.id, &data.actor_url())?;
    let mut send = vec![answer(data, &group, &follow, accept)?];
    let to = if accept {
        send.extend(crate::summaries::latest_for(data, &group.inbox).await?);
        MembershipState::Accepted
    } else {
        MembershipState::Rejected
    };
    data.db
        .change_membership(
            peer_id,
            MembershipState::Pending,
            to,
            None,
            &send,
            data.now(),
        )
        .await?;
    data.wake_outbox();
    Ok(())
}
