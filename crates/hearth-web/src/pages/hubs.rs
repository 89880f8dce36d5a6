//! A group's network hubs: join one by its address, see each membership's state and every
//! delivery, leave.

use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::fetch::webfinger::webfinger_resolve_actor;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth_db::{DeliveryState, MembershipState, OutboxRow};
use hearth_federation::actor::Peer;
use hearth_federation::membership;
use serde::Deserialize;
use url::Url;

use super::{Nav, human_datetime, render, render_with_status};
use crate::auth::Facilitator;
use crate::{AppError, AppState, csrf};

pub struct HubRow {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub state: &'static str,
    pub since: String,
    /// "Off", or what is shared and how often.
    pub sharing: String,
}

pub struct DeliveryRow {
    pub what: String,
    pub to: String,
    pub state: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "hubs.html")]
pub struct HubsPage {
    pub nav: Nav,
    pub csrf: String,
    pub hubs: Vec<HubRow>,
    pub deliveries: Vec<DeliveryRow>,
    pub address: String,
    pub error: Option<String>,
    pub notice: Option<String>,
}

#[derive(Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    pub address: String,
}

pub fn state_words(s: MembershipState) -> &'static str {
    match s {
        MembershipState::Pending => "Asked to join: waiting for the hub",
        MembershipState::Accepted => "Member",
        MembershipState::Rejected => "Declined by the hub",
    }
}

/// Deliveries as people read them: each to whom it went by name and server, where known.
pub fn delivery_rows(
    rows: Vec<OutboxRow>,
    names: &std::collections::HashMap<String, String>,
    tz: hearth_core::Tz,
) -> Vec<DeliveryRow> {
    rows.into_iter()
        .map(|r| DeliveryRow {
            what: r.activity_type.clone(),
            to: {
                let host = Url::parse(&r.inbox)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or(r.inbox.clone());
                match names.get(&r.inbox) {
                    Some(name) => format!("{name} ({host})"),
                    None => host,
                }
            },
            state: match r.state {
                DeliveryState::Delivered => "Delivered".to_owned(),
                DeliveryState::Failed => match r
                    .last_error
                    .as_deref()
                    .and_then(|e| e.strip_prefix(hearth_federation::REFUSED))
                {
                    Some(status) => format!("Refused by the receiving server{status}"),
                    None => format!("Gave up after {} attempts", r.attempts),
                },
                DeliveryState::Pending if r.attempts == 0 => "Sending".to_owned(),
                DeliveryState::Pending => format!(
                    "Retrying ({} attempts so far; next at {})",
                    r.attempts,
                    human_datetime(r.next_attempt_at, tz)
                ),
            },
            when: human_datetime(r.created_at, tz),
        })
        .collect()
}

async fn page(
    state: &AppState,
    f: &Facilitator,
    address: String,
    error: Option<String>,
    notice: Option<String>,
) -> Result<HubsPage, AppError> {
    let tz = state.settings().await?.timezone;
    let mut hubs = Vec::new();
    for m in state.db.memberships().await? {
        let s = state.db.sharing(m.peer.id).await?.settings;
        hubs.push(HubRow {
            id: m.peer.id,
            name: m.peer.name.clone(),
            address: m.peer.actor_url.clone(),
            state: state_words(m.state),
            since: human_datetime(m.updated_at, tz),
            sharing: if s.enabled {
                format!(
                    "on, {} ({})",
                    s.cadence.label().to_lowercase(),
                    if s.automatic {
                        "sent automatically"
                    } else {
                        "approved by a facilitator"
                    }
                )
            } else {
                "off".to_owned()
            },
        });
    }
    Ok(HubsPage {
        nav: Nav::for_user(state, &f.0).await?,
        csrf: csrf::token(&f.0.session).await?,
        hubs,
        deliveries: delivery_rows(
            state.db.recent_outbox(50).await?,
            &state.db.peer_names_by_inbox().await?,
            tz,
        ),
        address,
        error,
        notice,
    })
}

pub async fn list(State(state): State<AppState>, f: Facilitator) -> Result<Response, AppError> {
    render(&page(&state, &f, String::new(), None, None).await?)
}

/// Why a hub could not be reached, in words a facilitator can act on. The federation library
/// reports a name that does not resolve and one that points inside this network alike (and
/// suggests a setting meant for developers), so the name is looked up again to tell them apart.
async fn unreachable_words(e: &hearth_federation::FedError, host: &str) -> String {
    use activitypub_federation::error::Error as E;
    let host = host.split(':').next().unwrap_or(host);
    match e {
        hearth_federation::FedError::Federation(
            E::DomainResolveError(_) | E::ResolveInternalIpError(..),
        ) => match tokio::net::lookup_host((host, 443))
            .await
            .map(|mut a| a.next().is_some())
        {
            Ok(true) => format!(
                "{host} points to an address on this machine or a private network, which Hearth does not contact. Check the address with the hub’s staff."
            ),
            _ => format!(
                "No server called {host} could be found. Check the address for typing mistakes, or ask the hub’s staff for it."
            ),
        },
        other => {
            // The whole chain of causes: a name that does not resolve shows only deep in it.
            let mut chain = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                chain.push_str(&format!(": {s}"));
                source = s.source();
            }
            if chain.contains("dns error") || chain.contains("failed to lookup address") {
                format!(
                    "No server called {host} could be found. Check the address for typing mistakes, or ask the hub’s staff for it."
                )
            } else {
                format!("No Hearth hub answered at that address ({other}).")
            }
        }
    }
}

/// Finds the actor at a handle (`hub@hub.example.org`) or URL.
pub(crate) async fn resolve(state: &AppState, address: &str) -> Result<Peer, String> {
    let data = state.fed();
    let address = address.trim().trim_start_matches('@');
    if address.starts_with("https://") || address.starts_with("http://") {
        let url = Url::parse(address).map_err(|_| "That address is not a valid URL.".to_owned())?;
        data.allow_domain(&url);
        let host = url.host_str().unwrap_or_default().to_owned();
        match ObjectId::<Peer>::from(url).dereference(&data).await {
            Ok(peer) => Ok(peer),
            Err(e) => Err(unreachable_words(&e, &host).await),
        }
    } else if let Some((_, domain)) = address.split_once('@') {
        let url = Url::parse(&format!("https://{domain}/"))
            .map_err(|_| "That handle's domain is not valid.".to_owned())?;
        data.allow_domain(&url);
        match webfinger_resolve_actor::<_, Peer>(address, &data).await {
            Ok(peer) => Ok(peer),
            Err(e) => Err(unreachable_words(&e, domain).await),
        }
    } else {
        Err("Enter the hub’s address, like hub@hub.example.org, or its full https:// link.".into())
    }
}

pub async fn join(
    State(state): State<AppState>,
    f: Facilitator,
    Form(form): Form<JoinForm>,
) -> Result<Response, AppError> {
    let result = match resolve(&state, &form.address).await {
        Ok(hub) => membership::request_to_join(&state.fed(), &hub)
            .await
            .map_err(|e| match e {
                hearth_federation::FedError::Invalid(m)
                | hearth_federation::FedError::NotAllowed(m) => m,
                other => format!("The request could not be stored ({other})."),
            }),
        Err(e) => Err(e),
    };
    match result {
        Ok(m) => {
            tracing::info!(by = f.0.account.id, hub = %m.peer.actor_url, "asked to join a hub");
            Ok(Redirect::to("/hubs").into_response())
        }
        Err(message) => Ok(render_with_status(
            StatusCode::BAD_REQUEST,
            &page(&state, &f, form.address, Some(message), None).await?,
        )),
    }
}

#[derive(Deserialize)]
pub struct LeaveForm {
    #[serde(default)]
    pub erase: String,
}

pub async fn leave(
    State(state): State<AppState>,
    f: Facilitator,
    Path(id): Path<i64>,
    Form(form): Form<LeaveForm>,
) -> Result<Response, AppError> {
    let erase = form.erase == "yes";
    hearth_federation::group_sharing::leave(&state.fed(), id, erase).await?;
    tracing::info!(by = f.0.account.id, peer = id, erase, "left a hub");
    render(
        &page(
            &state,
            &f,
            String::new(),
            None,
            Some(if erase {
                "The group has left the hub and asked it to erase every report the group sent."
                    .into()
            } else {
                "The group has left the hub.".into()
            }),
        )
        .await?,
    )
}
