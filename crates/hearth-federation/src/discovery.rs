//! How other servers find an instance: WebFinger, NodeInfo 2.1, the actor document (with
//! content negotiation: JSON for ActivityPub clients, a page for people) and the JSON-LD context.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::webfinger::{Webfinger, build_webfinger_response_with_type};
use activitypub_federation::traits::Object;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_core::InstanceRole;
use serde::Deserialize;
use serde_json::json;

use crate::actor::Peer;
use crate::{FedContext, FedError, vocab};

pub const ACTIVITY_JSON: &str = "application/activity+json";

#[derive(Deserialize)]
pub struct WebfingerQuery {
    pub resource: Option<String>,
}

/// The account part of this instance's handle: `group@host` or `hub@host`.
pub fn username(role: InstanceRole) -> &'static str {
    match role {
        InstanceRole::Group => "group",
        InstanceRole::Hub => "hub",
    }
}

fn host_of(data: &FedContext) -> String {
    match (data.base.host_str(), data.base.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    }
}

/// The WebFinger answer for `resource`, if it names this instance.
pub fn webfinger_for(data: &FedContext, resource: &str) -> Option<Webfinger> {
    let user = username(data.role);
    let host = host_of(data);
    let handle = format!("acct:{user}@{host}");
    let names_us = names_account(resource, user, &host)
        || url::Url::parse(resource).is_ok_and(|u| {
            let trimmed = |u: &url::Url| u.as_str().trim_end_matches('/').to_owned();
            trimmed(&u) == trimmed(&data.base) || u == data.actor_url()
        });
    names_us.then(|| webfinger_document(&handle, data.actor_url(), data.role))
}

/// Whether `resource` is `acct:user@host`, compared as RFC 7565 allows: the scheme and the
/// host without regard to case (as DNS names are), and the user too, since an instance has
/// exactly one account and `Group@…` can mean no other.
fn names_account(resource: &str, user: &str, host: &str) -> bool {
    let Some((scheme, rest)) = resource.split_once(':') else {
        return false;
    };
    let Some((u, h)) = rest.rsplit_once('@') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("acct")
        && u.eq_ignore_ascii_case(user)
        && h.eq_ignore_ascii_case(host)
}

/// The WebFinger document naming `handle` (`acct:…`) and pointing at `actor`.
pub fn webfinger_document(handle: &str, actor: url::Url, role: InstanceRole) -> Webfinger {
    let kind = match role {
        InstanceRole::Group => "Group",
        InstanceRole::Hub => "Service",
    };
    let mut wf =
        build_webfinger_response_with_type(handle.to_owned(), vec![(actor.clone(), Some(kind))]);
    wf.aliases = vec![actor];
    wf
}

/// `GET /.well-known/webfinger?resource=…`.
pub async fn webfinger(data: Data<FedContext>, Query(q): Query<WebfingerQuery>) -> Response {
    let Some(resource) = q.resource.filter(|r| !r.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "the resource parameter is required\n",
        )
            .into_response();
    };
    match webfinger_for(&data, &resource) {
        Some(wf) => (
            [(header::CONTENT_TYPE, "application/jrd+json")],
            axum::Json(wf),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such resource here\n").into_response(),
    }
}

/// `GET /.well-known/nodeinfo`.
pub async fn nodeinfo_links(data: Data<FedContext>) -> Response {
    axum::Json(json!({
        "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": data.url("/nodeinfo/2.1"),
        }]
    }))
    .into_response()
}

/// The NodeInfo 2.1 document. Usage is left empty on purpose: how many people use a group's
/// instance is private.
pub fn nodeinfo_document(role: InstanceRole) -> serde_json::Value {
    json!({
        "version": "2.1",
        "software": {
            "name": "hearth",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "protocols": ["activitypub"],
        "services": { "inbound": [], "outbound": [] },
        "openRegistrations": false,
        "usage": { "users": {} },
        "metadata": { "instanceRole": role.as_str() },
    })
}

/// `GET /nodeinfo/2.1`.
pub async fn nodeinfo(data: Data<FedContext>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        )],
        axum::Json(nodeinfo_document(data.role)),
    )
        .into_response()
}

/// Whether a request asks for ActivityPub JSON rather than a page.
pub fn wants_activity_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.contains("application/activity+json") || a.contains("application/ld+json")
        })
}

/// The actor document as JSON, with Hearth's context.
pub async fn actor_json(data: &Data<FedContext>) -> Result<serde_json::Value, FedError> {
    let actor = Peer::local(data).await?.into_json(data).await?;
    Ok(vocab::with_context(&actor)?)
}

/// A response carrying ActivityPub JSON.
pub fn activity_response(json: serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, ACTIVITY_JSON)], axum::Json(json)).into_response()
}

/// `GET /ns/hearth/v1`: the JSON-LD context document.
pub async fn context_document() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/ld+json"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        axum::Json(vocab::context_document()),
    )
        .into_response()
}

/// `GET /outbox` (`?page=N` for a page): a hub's published summaries for whoever may read
/// them (see `summaries::outbox`); a group's is always empty.
pub async fn outbox_collection(
    data: Data<FedContext>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let page = uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("page="))
            .and_then(|n| n.parse::<usize>().ok())
    });
    let path = uri.path_and_query().map_or("/outbox", |p| p.as_str());
    match crate::summaries::outbox(&data, page, path, &headers).await {
        Ok(json) => activity_response(json),
        Err(e) => (e.status(), format!("{e}\n")).into_response(),
    }
}

/// `/followers`: the collection a hub addresses its summaries to. Who follows is not listed:
/// a hub's member groups are not public.
pub async fn followers_collection(data: Data<FedContext>) -> Response {
    activity_response(json!({
        "@context": vocab::ACTIVITYSTREAMS,
        "id": data.url("/followers"),
        "type": "OrderedCollection",
    }))
}

#[cfg(test)]
mod tests {
    use super::names_account;

    #[test]
    fn accounts_match_without_regard_to_case() {
        for r in [
            "acct:hub@hub.example.org",
            "ACCT:hub@hub.example.org",
            "acct:Hub@Hub.Example.ORG",
        ] {
            assert!(names_account(r, "hub", "hub.example.org"), "{r}");
        }
        for r in [
            "acct:hub@other.example.org",
            "acct:group@hub.example.org",
            "mailto:hub@hub.example.org",
            "acct:hub",
            "hub@hub.example.org",
        ] {
            assert!(!names_account(r, "hub", "hub.example.org"), "{r}");
        }
    }
}
