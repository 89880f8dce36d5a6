//! Wire types: exactly what Hearth sends and accepts, and each one's own checks. Behaviour
//! lives with its feature (`membership`, `group_sharing`, `hub_reports`, `summaries`, `keys`);
//! nothing here touches the database or imports anything else of this crate.

use activitypub_federation::kinds::activity::{AcceptType, FollowType, RejectType, UndoType};
use activitypub_federation::protocol::public_key::PublicKey;
use serde::{Deserialize, Serialize};
use url::Url;

pub mod keys;
pub mod pair;
pub mod report;
pub mod summary;

/// The actor types Hearth understands. A group instance is a `Group`, a hub a `Service`;
/// others may follow a hub as readers.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub enum ActorKind {
    Group,
    Service,
    Application,
    Person,
    Organization,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Group => "Group",
            ActorKind::Service => "Service",
            ActorKind::Application => "Application",
            ActorKind::Person => "Person",
            ActorKind::Organization => "Organization",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Group" => ActorKind::Group,
            "Service" => ActorKind::Service,
            "Application" => ActorKind::Application,
            "Person" => ActorKind::Person,
            "Organization" => ActorKind::Organization,
            _ => return None,
        })
    }
    /// Hubs are services or applications.
    pub fn is_hub(self) -> bool {
        matches!(self, ActorKind::Service | ActorKind::Application)
    }
}

/// The coarse categories a group chose for its profile: the only description of a group that
/// leaves its instance.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GroupProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default)]
    pub community_focus: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_band: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    pub shared_inbox: Url,
}

/// An instance's actor document.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorJson {
    #[serde(rename = "type")]
    pub kind: ActorKind,
    pub id: Url,
    pub preferred_username: String,
    pub name: String,
    pub inbox: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox: Option<Url>,
    /// Who follows it: a collection that lists no one (a hub's groups are not public).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<Url>,
    pub public_key: PublicKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Endpoints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_profile: Option<GroupProfile>,
    /// On a hub: the pairs it leads, so its groups can choose one (never the verify key).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairs: Vec<pair::HubPairObject>,
}

/// A group asks to join a hub.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: FollowType,
    pub actor: Url,
    pub object: Url,
}

/// The `Follow` an `Accept`, `Reject` or `Undo` is about, in any shape ActivityStreams allows:
/// embedded (its `actor` and `object` as ids or as objects with an `id`) or named by its id
/// alone. Hearth sends it embedded, with plain ids.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "FollowWire")]
pub struct FollowRef {
    pub id: Url,
    /// Present when the Follow was embedded.
    pub actor: Option<Url>,
    pub object: Option<Url>,
}

impl From<Follow> for FollowRef {
    fn from(f: Follow) -> Self {
        FollowRef {
            id: f.id,
            actor: Some(f.actor),
            object: Some(f.object),
        }
    }
}

impl Serialize for FollowRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (&self.actor, &self.object) {
            (Some(actor), Some(object)) => Follow {
                id: self.id.clone(),
                kind: FollowType::Follow,
                actor: actor.clone(),
                object: object.clone(),
            }
            .serialize(s),
            _ => self.id.serialize(s),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
#[expect(
    clippy::large_enum_variant,
    reason = "read once and turned into a FollowRef at once"
)]
enum FollowWire {
    Id(Url),
    Object {
        id: Url,
        #[serde(rename = "type", default)]
        kind: Option<String>,
        #[serde(default)]
        actor: Option<IdOrObject>,
        #[serde(default)]
        object: Option<IdOrObject>,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IdOrObject {
    Id(Url),
    Object { id: Url },
}

impl IdOrObject {
    fn id(self) -> Url {
        match self {
            IdOrObject::Id(u) | IdOrObject::Object { id: u } => u,
        }
    }
}

impl TryFrom<FollowWire> for FollowRef {
    type Error = String;
    fn try_from(w: FollowWire) -> Result<Self, String> {
        Ok(match w {
            FollowWire::Id(id) => FollowRef {
                id,
                actor: None,
                object: None,
            },
            FollowWire::Object {
                id,
                kind,
                actor,
                object,
            } => {
                if kind.as_deref().is_some_and(|k| k != "Follow") {
                    return Err(format!(
                        "the object is a {}, not a Follow",
                        kind.unwrap_or_default()
                    ));
                }
                FollowRef {
                    id,
                    actor: actor.map(IdOrObject::id),
                    object: object.map(IdOrObject::id),
                }
            }
        })
    }
}

/// A hub lets a group join.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accept {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: AcceptType,
    pub actor: Url,
    pub object: FollowRef,
}

/// A hub declines a group's request.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reject {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: RejectType,
    pub actor: Url,
    pub object: FollowRef,
}

/// A group leaves a hub.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Undo {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: UndoType,
    pub actor: Url,
    pub object: FollowRef,
}

/// A versioned Hearth object, for the custom types that ride on `Create`/`Update`: the body's
/// own fields plus `schemaVersion`, so receivers can refuse versions they do not know.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Versioned<T> {
    pub schema_version: u32,
    #[serde(flatten)]
    pub body: T,
}

impl<T> Versioned<T> {
    /// The body, if its version is one this build understands.
    pub fn accept(self, supported: std::ops::RangeInclusive<u32>) -> Result<T, crate::FedError> {
        if supported.contains(&self.schema_version) {
            Ok(self.body)
        } else {
            Err(crate::FedError::Invalid(format!(
                "schemaVersion {} is not supported (this instance reads {}–{})",
                self.schema_version,
                supported.start(),
                supported.end()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Example {
        name: String,
    }

    #[test]
    fn a_follow_is_read_in_every_shape() {
        let full = FollowRef {
            id: "https://g.example/follows/1".parse().unwrap(),
            actor: Some("https://g.example/actor".parse().unwrap()),
            object: Some("https://h.example/actor".parse().unwrap()),
        };
        for json in [
            serde_json::json!({"id": "https://g.example/follows/1", "type": "Follow",
                "actor": "https://g.example/actor", "object": "https://h.example/actor"}),
            serde_json::json!({"id": "https://g.example/follows/1", "type": "Follow",
                "actor": {"id": "https://g.example/actor", "type": "Group"},
                "object": {"id": "https://h.example/actor"}}),
        ] {
            let f: FollowRef = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(f, full, "{json}");
        }
        let by_id: FollowRef =
            serde_json::from_value(serde_json::json!("https://g.example/follows/1")).unwrap();
        assert_eq!(
            (by_id.id, by_id.actor, by_id.object),
            (full.id.clone(), None, None)
        );
        assert!(
            serde_json::from_value::<FollowRef>(
                serde_json::json!({"id": "https://x.example/1", "type": "Like"})
            )
            .is_err()
        );
        // Sent embedded, exactly as a Follow.
        assert_eq!(
            serde_json::to_value(&full).unwrap()["type"],
            serde_json::json!("Follow")
        );
    }

    #[test]
    fn versioned_objects_carry_their_version_and_refuse_unknown_ones() {
        let v = Versioned {
            schema_version: 1,
            body: Example { name: "x".into() },
        };
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json, serde_json::json!({"schemaVersion": 1, "name": "x"}));
        let back: Versioned<Example> = serde_json::from_value(json).unwrap();
        assert_eq!(back.accept(1..=1).unwrap().name, "x");
        let future: Versioned<Example> =
            serde_json::from_value(serde_json::json!({"schemaVersion": 9, "name": "x"})).unwrap();
        assert!(future.accept(1..=2).is_err());
    }
}
