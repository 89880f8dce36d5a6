//! Instance actors, local and remote, as `activitypub_federation` objects.

use activitypub_federation::config::Data;
use activitypub_federation::protocol::public_key::PublicKey;
use activitypub_federation::protocol::verification::verify_domains_match;
use activitypub_federation::traits::{Actor, Object};
use chrono::{DateTime, Utc};
use hearth_core::InstanceRole;
use hearth_db::{NewPeer, PeerRow};
use url::Url;

use crate::protocol::{ActorJson, ActorKind, Endpoints, GroupProfile};
use crate::{FedContext, FedError};

/// How pages name an instance by its actor URL: its host (the URL itself if it has none).
pub fn host_of(actor_url: &str) -> String {
    Url::parse(actor_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| actor_url.to_owned())
}

/// An instance's actor. Local actors carry their private key; remote ones never do.
#[derive(Clone, Debug)]
pub struct Peer {
    pub id: Url,
    pub kind: ActorKind,
    pub preferred_username: String,
    pub name: String,
    pub inbox: Url,
    /// Its shared inbox, where it offers one (`endpoints.sharedInbox`).
    pub shared_inbox: Option<Url>,
    pub public_key_pem: String,
    private_key_pem: Option<String>,
    pub profile: Option<GroupProfile>,
    pub fetched_at: Option<DateTime<Utc>>,
}

impl Peer {
    /// This instance's own actor.
    pub async fn local(ctx: &FedContext) -> Result<Peer, FedError> {
        let settings = ctx
            .db
            .group_settings()
            .await?
            .ok_or_else(|| FedError::Invalid("instance not initialised".into()))?;
        let key = ctx
            .db
            .instance_key()
            .await?
            .ok_or_else(|| FedError::Invalid("instance has no key pair".into()))?;
        let (kind, username, profile) = match settings.role {
            InstanceRole::Group => (
                ActorKind::Group,
                "group",
                Some(GroupProfile {
                    region: settings.profile.region.map(str::to_owned),
                    community_focus: settings
                        .profile
                        .focuses
                        .iter()
                        .map(|f| (*f).to_owned())
                        .collect(),
                    size_band: settings.profile.size_band.map(str::to_owned),
                }),
            ),
            InstanceRole::Hub => (ActorKind::Service, "hub", None),
        };
        Ok(Peer {
            id: ctx.actor_url(),
            kind,
            preferred_username: username.to_owned(),
            name: settings.name,
            inbox: ctx.inbox_url(),
            shared_inbox: None,
            public_key_pem: key.public_pem,
            private_key_pem: Some(key.private_pem),
            profile,
            fetched_at: None,
        })
    }

    pub fn from_row(row: &PeerRow) -> Result<Peer, FedError> {
        Ok(Peer {
            id: Url::parse(&row.actor_url).map_err(|e| FedError::Invalid(e.to_string()))?,
            kind: ActorKind::parse(&row.kind)
                .ok_or_else(|| FedError::Invalid(format!("actor type {}", row.kind)))?,
            preferred_username: row.username.clone().unwrap_or_default(),
            name: row.name.clone(),
            inbox: Url::parse(&row.inbox).map_err(|e| FedError::Invalid(e.to_string()))?,
            shared_inbox: row.shared_inbox.as_deref().and_then(|u| Url::parse(u).ok()),
            public_key_pem: row.public_key_pem.clone(),
            private_key_pem: None,
            profile: serde_json::from_str(&row.profile).ok(),
            fetched_at: Some(row.fetched_at),
        })
    }

    /// The row to store for a remote actor; `now` stands for when it was fetched if the peer
    /// does not say (a remote peer always does: it was read from a fetch or a row).
    pub fn to_new_peer(&self, now: DateTime<Utc>) -> NewPeer {
        NewPeer {
            actor_url: self.id.to_string(),
            kind: self.kind.as_str().to_owned(),
            name: self.name.clone(),
            inbox: self.inbox.to_string(),
            public_key_pem: self.public_key_pem.clone(),
            profile: self
                .profile
                .as_ref()
                .and_then(|p| serde_json::to_string(p).ok())
                .unwrap_or_else(|| "{}".into()),
            fetched_at: self.fetched_at.unwrap_or(now),
            shared_inbox: self.shared_inbox.as_ref().map(Url::to_string),
            username: Some(
                self.preferred_username
                    .chars()
                    .take(100)
                    .collect::<String>(),
            )
            .filter(|u| !u.is_empty() && !u.contains('\0')),
        }
    }
}

/// Actors fetched in the last [`Fetched::FRESH`] and not stored, at most [`Fetched::MAX`] of
/// them: verifying a stranger's signature fetches its actor, and the activity it signed (a
/// `Follow`) then finds it here instead of fetching it a second time.
#[derive(Debug, Default)]
pub struct Fetched(std::sync::Mutex<std::collections::HashMap<Url, (std::time::Instant, Peer)>>);

impl Fetched {
    const FRESH: std::time::Duration = std::time::Duration::from_secs(60);
    const MAX: usize = 256;

    fn get(&self, id: &Url) -> Option<Peer> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id)
            .filter(|(at, _)| at.elapsed() < Self::FRESH)
            .map(|(_, p)| p.clone())
    }

    fn put(&self, peer: &Peer) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < Self::FRESH);
        if map.len() >= Self::MAX {
            // A flood of strangers: forget them all rather than grow.
            map.clear();
        }
        map.insert(peer.id.clone(), (std::time::Instant::now(), peer.clone()));
    }
}

#[async_trait::async_trait]
impl Object for Peer {
    type DataType = FedContext;
    type Kind = ActorJson;
    type Error = FedError;

    fn id(&self) -> &Url {
        &self.id
    }

    /// Lets the library refetch a remote actor (and its key) once a day.
    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        self.fetched_at
    }

    async fn read_from_id(
        object_id: Url,
        data: &Data<FedContext>,
    ) -> Result<Option<Self>, FedError> {
        if object_id == data.actor_url() {
            return Peer::local(data).await.map(Some);
        }
        match data.db.peer_by_url(object_id.as_str()).await? {
            Some(row) => Peer::from_row(&row).map(Some),
            None => Ok(data.fetched.get(&object_id)),
        }
    }

    async fn into_json(self, data: &Data<FedContext>) -> Result<ActorJson, FedError> {
        let local = self.id == data.actor_url();
        let pairs = if local && data.role == InstanceRole::Hub {
            crate::hub_pairs::led_pairs(data).await?
        } else {
            Vec::new()
        };
        Ok(ActorJson {
            kind: self.kind,
            public_key: PublicKey {
                id: format!("{}#main-key", self.id),
                owner: self.id.clone(),
                public_key_pem: self.public_key_pem.clone(),
            },
            id: self.id,
            preferred_username: self.preferred_username,
            name: self.name,
            inbox: self.inbox.clone(),
            outbox: local.then(|| data.url("/outbox")),
            followers: local.then(|| data.url("/followers")),
            endpoints: local.then_some(Endpoints {
                shared_inbox: self.inbox,
            }),
            url: local.then_some(data.actor_url()),
            group_profile: self.profile,
            pairs,
        })
    }

    async fn verify(
        json: &ActorJson,
        expected_domain: &Url,
        _data: &Data<FedContext>,
    ) -> Result<(), FedError> {
        verify_domains_match(&json.id, expected_domain)?;
        verify_domains_match(&json.inbox, expected_domain)?;
        if json.public_key.owner != json.id {
            return Err(FedError::Invalid(
                "public key belongs to another actor".into(),
            ));
        }
        Ok(())
    }

    /// Refreshes a stored peer; an actor seen for the first time is kept in memory only, and
    /// stored by whatever accepted activity brought it.
    async fn from_json(json: ActorJson, data: &Data<FedContext>) -> Result<Self, FedError> {
        // Only a shared inbox on the actor's own server is used.
        let shared_inbox = json
            .endpoints
            .map(|e| e.shared_inbox)
            .filter(|u| u.host_str() == json.id.host_str());
        let peer = Peer {
            id: json.id,
            kind: json.kind,
            preferred_username: json.preferred_username,
            // No NUL: PostgreSQL refuses it in text, and a name never needs one.
            name: json.name.chars().filter(|c| *c != '\0').take(200).collect(),
            shared_inbox,
            inbox: json.inbox,
            public_key_pem: json.public_key.public_key_pem,
            private_key_pem: None,
            profile: json.group_profile,
            fetched_at: Some(data.now()),
        };
        data.db
            .refresh_known_peer(&peer.to_new_peer(data.now()))
            .await?;
        data.fetched.put(&peer);
        Ok(peer)
    }
}

impl Actor for Peer {
    fn public_key_pem(&self) -> &str {
        &self.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        self.private_key_pem.clone()
    }

    fn inbox(&self) -> Url {
        self.inbox.clone()
    }
}
