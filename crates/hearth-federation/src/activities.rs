//! What each activity means to Hearth: verify, then receive. And the actions that send them,
//! each stored with its outbox rows in one transaction.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::kinds::activity::{AcceptType, FollowType, RejectType};
use activitypub_federation::protocol::context::WithContext;
use activitypub_federation::traits::Activity;
use hearth_core::InstanceRole;
use hearth_db::{DbError, Membership, MembershipState, NewOutbox};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::actor::Peer;
use crate::protocol::{Accept, Follow, Reject, Undo};
use crate::{FedContext, FedError};

/// Every activity an instance accepts in its inbox.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
#[enum_delegate::implement(Activity)]
pub enum Inbound {
    Follow(Follow),
    Accept(Accept),
    Reject(Reject),
    Undo(Undo),
    CreateReport(crate::reports::CreateReport),
    CreateSummary(crate::summaries::CreateSummary),
    UpdateReport(crate::reports::UpdateReport),
    UpdateActor(Box<crate::keys::UpdateActor>),
    DeleteReports(crate::reports::DeleteReports),
}

/// The fields [`Inbound::parse`] reads before the activity itself.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow, default, rename = "type")]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, rename = "@context", deserialize_with = "present")]
    context: bool,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

impl Inbound {
    /// Parses an inbox body as [`Inbound`] with its `@context`, as `serde_json` would parse
    /// `WithContext<Inbound>`, but trying only the variants of the body's own `type`, straight
    /// from the bytes. (The untagged enum inside `WithContext`'s flattened field copied the
    /// whole document into a buffer first and tried each variant in turn, building an error
    /// for every one that did not fit.) Refuses what that parse refused, but for one thing: an
    /// escaped lone surrogate (`"\ud800"`) in a field Hearth does not read is skipped, where
    /// that parse decoded it and refused the body.
    pub fn parse(body: &[u8]) -> Result<WithContext<Inbound>, serde_json::Error> {
        use serde::de::Error as _;
        fn one<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, serde_json::Error> {
            serde_json::from_str(body)
        }
        /// The first variant, else the second, else an error naming both.
        fn either(
            body: &str,
            a: impl FnOnce(&str) -> Result<Inbound, serde_json::Error>,
            b: impl FnOnce(&str) -> Result<Inbound, serde_json::Error>,
        ) -> Result<Inbound, serde_json::Error> {
            match a(body) {
                Ok(v) => Ok(v),
                Err(first) => b(body).map_err(|second| {
                    serde_json::Error::custom(format!(
                        "the activity fits neither of its kinds: {first}; {second}"
                    ))
                }),
            }
        }
        // Fields the variants skip are not checked as they are read, so the text as a whole is
        // checked first: JSON is UTF-8, and the whole-document parse refused anything else.
        let body = std::str::from_utf8(body)
            .map_err(|e| serde_json::Error::custom(format!("the body is not UTF-8: {e}")))?;
        let head: Head<'_> = serde_json::from_str(body)?;
        if !head.context {
            return Err(serde_json::Error::missing_field("@context"));
        }
        let inner = match head.kind.as_deref() {
            Some("Follow") => Inbound::Follow(one(body)?),
            Some("Accept") => Inbound::Accept(one(body)?),
            Some("Reject") => Inbound::Reject(one(body)?),
            Some("Undo") => Inbound::Undo(one(body)?),
            Some("Create") => either(
                body,
                |b| one(b).map(Inbound::CreateReport),
                |b| one(b).map(Inbound::CreateSummary),
            )?,
            Some("Update") => either(
                body,
                |b| one(b).map(Inbound::UpdateReport),
                |b| one(b).map(|u| Inbound::UpdateActor(Box::new(u))),
            )?,
            Some("Delete") => Inbound::DeleteReports(one(body)?),
            Some(other) => {
                return Err(serde_json::Error::custom(format!(
                    "activity type {other:?} is not accepted here"
                )));
            }
            None => return Err(serde_json::Error::missing_field("type")),
        };
        // The context is not read again once the body has parsed.
        Ok(WithContext::new(inner, serde_json::Value::Null))
    }
}

/// The activity types [`Inbound`] covers, for refusing others before any work is done.
pub const INBOUND_TYPES: [&str; 7] = [
    "Follow", "Accept", "Reject", "Undo", "Create", "Update", "Delete",
];

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
        self.actor.inner()
    }

    async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
        require_role(data, InstanceRole::Hub, "Follow")?;
        if *self.object.inner() != data.actor_url() {
            return Err(FedError::Invalid(
                "Follow is not addressed to this hub".into(),
            ));
        }
        Ok(())
    }

    /// A group asks to join: pending for staff, or accepted at once on an open hub.
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        let group = self.actor.dereference(data).await?;
        if group.kind != crate::protocol::ActorKind::Group {
            // Any other fediverse account may follow to read the hub's public summaries; it
            // is accepted as a reader, never as a member, and gets nothing private.
            let accept = answer(data, &group, &self, true)?;
            data.db
                .save_reader(
                    &group.to_new_peer(data.now()),
                    self.id.as_str(),
                    &[accept],
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
            (
                MembershipState::Accepted,
                vec![answer(data, &group, &self, true)?],
            )
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
    follow: &Follow,
) -> Result<Membership, FedError> {
    require_role(data, InstanceRole::Group, "An answer to a join request")?;
    if *follow.actor.inner() != data.actor_url() || follow.object.inner() != hub {
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
    follow: &Follow,
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
                self.actor.inner()
            }

            async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
                pending_follow(data, self.actor.inner(), &self.object)
                    .await
                    .map(|_| ())
            }

            async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
                take_answer(data, self.actor.inner(), &self.object, $state).await
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
        self.actor.inner()
    }

    async fn verify(&self, data: &Data<FedContext>) -> Result<(), FedError> {
        require_role(data, InstanceRole::Hub, "Undo")?;
        if self.object.actor.inner() != self.actor.inner()
            || *self.object.object.inner() != data.actor_url()
        {
            return Err(FedError::Invalid(
                "a group can only withdraw its own request".into(),
            ));
        }
        Ok(())
    }

    /// A group leaves (the membership goes) or a reader unfollows. Twice is not an error.
    async fn receive(self, data: &Data<FedContext>) -> Result<(), FedError> {
        if data.db.remove_reader(self.actor.inner().as_str()).await? {
            tracing::info!(reader = %self.actor.inner(), "reader stopped following");
            return Ok(());
        }
        if let Some(m) = data
            .db
            .membership_by_actor(self.actor.inner().as_str())
            .await?
        {
            match data.db.end_membership(m.peer.id, &[], data.now()).await {
                Ok(()) | Err(DbError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tracing::info!(group = %self.actor.inner(), "group left");
        Ok(())
    }
}

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
    let payload = serde_json::to_string(
        &activitypub_federation::protocol::context::WithContext::new(
            activity,
            crate::vocab::context(),
        ),
    )?;
    Ok(NewOutbox {
        activity_id: id.to_string(),
        activity_type: kind.to_owned(),
        inbox: inbox.to_string(),
        payload,
    })
}

/// The hub's Accept or Reject of `follow`, as an outbox row.
fn answer(
    data: &FedContext,
    group: &Peer,
    follow: &Follow,
    accept: bool,
) -> Result<NewOutbox, FedError> {
    let actor: ObjectId<Peer> = data.actor_url().into();
    if accept {
        let id = new_activity_id(data, "accept");
        let a = Accept {
            id: id.clone(),
            kind: AcceptType::Accept,
            actor,
            object: follow.clone(),
        };
        outbox_item(&a, &id, "Accept", &group.inbox)
    } else {
        let id = new_activity_id(data, "reject");
        let r = Reject {
            id: id.clone(),
            kind: RejectType::Reject,
            actor,
            object: follow.clone(),
        };
        outbox_item(&r, &id, "Reject", &group.inbox)
    }
}

/// The Follow a membership stands for, rebuilt from what was stored.
fn stored_follow(m: &Membership, group: &Url, hub: &Url) -> Result<Follow, FedError> {
    Ok(Follow {
        id: Url::parse(&m.follow_id).map_err(|e| FedError::Invalid(e.to_string()))?,
        kind: FollowType::Follow,
        actor: group.clone().into(),
        object: hub.clone().into(),
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
        actor: data.actor_url().into(),
        object: hub.id.clone().into(),
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

/// A group leaves a hub without asking it to erase anything (see [`crate::reports::leave`]).
pub async fn leave(data: &FedContext, peer_id: i64) -> Result<(), FedError> {
    crate::reports::leave(data, peer_id, false).await
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
    let item = answer(data, &group, &follow, accept)?;
    let to = if accept {
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
            &[item],
            data.now(),
        )
        .await?;
    data.wake_outbox();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `serde_json` makes of a body as `WithContext<Inbound>`: the variant as JSON.
    fn untagged(body: &[u8]) -> Option<serde_json::Value> {
        serde_json::from_slice::<WithContext<Inbound>>(body)
            .ok()
            .and_then(|a| serde_json::to_value(a.inner()).ok())
    }

    fn direct(body: &[u8]) -> Option<serde_json::Value> {
        Inbound::parse(body)
            .ok()
            .and_then(|a| serde_json::to_value(a.inner()).ok())
    }

    const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/inbox_json");

    /// The corpus's bodies, in file-name order: read once, whichever test asks first.
    fn corpus() -> &'static [Vec<u8>] {
        static BODIES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        BODIES.get_or_init(|| {
            let mut files: Vec<_> = std::fs::read_dir(CORPUS)
                .expect("the fuzz corpus is in the repository")
                .map(|e| e.expect("a corpus file").path())
                .collect();
            files.sort();
            files
                .iter()
                .map(|f| std::fs::read(f).expect("readable"))
                .collect()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(20000))]

        /// Any corpus body with a stretch of it cut out or bytes overwritten.
        #[test]
        fn parse_agrees_with_the_untagged_parse_on_damaged_bodies(
            which in 0usize..64,
            at in 0usize..4096,
            cut in 0usize..64,
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
        ) {
            let all = corpus();
            let mut body = all[which % all.len()].clone();
            let at = at % (body.len() + 1);
            let end = (at + cut).min(body.len());
            body.splice(at..end, bytes);
            proptest::prop_assert_eq!(direct(&body), untagged(&body));
        }
    }

    #[test]
    fn parse_accepts_and_refuses_what_the_untagged_parse_does() {
        let mut bodies: Vec<Vec<u8>> = Vec::new();
        let mut kinds = std::collections::BTreeSet::new();
        for text in corpus() {
            bodies.push(text.clone());
            let Ok(serde_json::Value::Object(doc)) = serde_json::from_slice(text) else {
                continue;
            };
            if let Some(kind) = doc.get("type").and_then(|t| t.as_str()) {
                kinds.insert(kind.to_owned());
            }
            // The same body without its context, with another type, without a type, with a
            // type that is not text, and with its object emptied.
            let mut variant = |f: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
                let mut d = doc.clone();
                f(&mut d);
                bodies.push(serde_json::to_vec(&d).expect("serialisable"));
            };
            variant(&|d| {
                d.remove("@context");
            });
            variant(&|d| {
                d.insert("@context".into(), serde_json::Value::Null);
            });
            for other in ["Follow", "Create", "Update", "Delete", "Announce"] {
                variant(&|d| {
                    d.insert("type".into(), other.into());
                });
            }
            variant(&|d| {
                d.remove("type");
            });
            variant(&|d| {
                d.insert("type".into(), 7.into());
            });
            variant(&|d| {
                d.insert("object".into(), serde_json::json!({}));
            });
            // Text in a field nothing reads that is not UTF-8: refused, as before.
            let mut bad = serde_json::to_vec(&doc).expect("serialisable");
            bad.splice(1..1, *b"\"x\":\"\xff\",");
            bodies.push(bad);
            // The one difference: an escaped lone surrogate in a field nothing reads is valid
            // JSON text, skipped now; the whole-document parse decoded it and refused it.
            let mut odd = serde_json::to_vec(&doc).expect("serialisable");
            odd.splice(1..1, *b"\"x\":\"\\ud800\",");
            let plain = serde_json::to_vec(&doc).expect("serialisable");
            assert_eq!(untagged(&odd), None);
            assert_eq!(direct(&odd), direct(&plain));
        }
        for kind in INBOUND_TYPES {
            assert!(kinds.contains(kind), "the corpus has a {kind}");
        }
        for junk in [
            &b"{}"[..],
            b"[]",
            b"null",
            b"not json",
            b"{\"type\":\"Create\"}",
        ] {
            bodies.push(junk.to_vec());
        }
        let mut accepted = 0;
        for body in &bodies {
            let expected = untagged(body);
            accepted += usize::from(expected.is_some());
            assert_eq!(direct(body), expected, "{}", String::from_utf8_lossy(body));
        }
        assert!(accepted >= 9, "every kind in the corpus parses: {accepted}");
    }
}
