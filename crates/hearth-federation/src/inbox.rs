//! The inbox: every check that can refuse a request runs before any work or any write, and
//! every refusal gets a 4xx that tells the sender not to retry (except 429).

use std::net::SocketAddr;

use activitypub_federation::axum::inbox::{ActivityData, receive_activity};
use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::protocol::context::WithContext;
use activitypub_federation::traits::Activity;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequest};
use axum::http::{Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth_core::InstanceRole;
use hearth_db::Membership;
use url::Url;

use crate::actor::Peer;
pub use crate::context::REQUESTS_PER_MINUTE;
use crate::hub_reports;
use crate::inbound::{INBOUND_TYPES, Inbound};
use crate::{FedContext, FedError};

/// Largest activity accepted. Hearth's own activities are a few kilobytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// How long after a peer's key changes a request signed with its previous key still verifies:
/// a sender may have signed requests before it rotated that arrive (or are retried) after.
pub const OLD_KEY_GRACE: chrono::Duration = chrono::Duration::days(2);

fn refuse(e: &FedError) -> Response {
    let status = e.status();
    if status.is_server_error() {
        tracing::error!(error = %e, "inbox failed");
    } else {
        tracing::info!(status = status.as_u16(), error = %e, "inbox refused a request");
    }
    (status, format!("{e}\n")).into_response()
}

/// What the pre-checks need from the body.
struct Envelope {
    id: Url,
    kind: String,
    actor: Url,
}

/// The envelope's fields as found in the body: read without building the whole document.
#[derive(serde::Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow, default)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    actor: Option<RawActor<'a>>,
}

/// An envelope's `actor`: its id, or anything else (an embedded actor object, which AS2
/// allows and Hearth does not take), so that the refusal can say which.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum RawActor<'a> {
    Id(#[serde(borrow)] std::borrow::Cow<'a, str>),
    Other(serde::de::IgnoredAny),
}

fn envelope(body: &[u8]) -> Result<Envelope, FedError> {
    // Any JSON value parses (with no fields) so that a body that is not an object is refused
    // as missing its fields, as before; only text that is not JSON at all is "not JSON".
    let v: RawEnvelope<'_> = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) if e.is_data() => RawEnvelope {
            id: None,
            kind: None,
            actor: None,
        },
        Err(e) => return Err(FedError::Invalid(format!("not JSON: {e}"))),
    };
    let field = |name: &str, f: &Option<std::borrow::Cow<'_, str>>| {
        f.as_deref()
            .map(str::to_owned)
            .ok_or_else(|| FedError::Invalid(format!("missing `{name}`")))
    };
    let kind = field("type", &v.kind)?;
    if !INBOUND_TYPES.contains(&kind.as_str()) {
        return Err(FedError::Invalid(format!(
            "activity type {kind:?} is not accepted here"
        )));
    }
    let parse =
        |s: &str| Url::parse(s).map_err(|e| FedError::Invalid(format!("bad URL {s:?}: {e}")));
    let id = parse(&field("id", &v.id)?)?;
    let actor = match v.actor {
        Some(RawActor::Id(a)) => a,
        Some(RawActor::Other(_)) => {
            return Err(FedError::Invalid(
                "`actor` must be the actor's id (a URL): an embedded actor object is not accepted"
                    .into(),
            ));
        }
        None => return Err(FedError::Invalid("missing `actor`".into())),
    };
    Ok(Envelope {
        id,
        kind,
        actor: parse(&actor)?,
    })
}

/// The checks a body must pass that need nothing but the body and the date: its envelope,
/// the typed activity, and a report's or summary's own rules. The inbox makes the same checks
/// on the way in (with the sender's signature and membership between them); this is them in
/// one pure function, which the fuzz targets drive with arbitrary bytes.
pub fn check_body(body: &[u8], today: chrono::NaiveDate) -> Result<(), FedError> {
    envelope(body)?;
    let activity = Inbound::parse(body)?;
    match activity.inner() {
        Inbound::CreateReport(c) => c.object.validate(today).map(drop),
        Inbound::UpdateReport(u) => u.object.validate(today).map(drop),
        Inbound::CreateSummary(s) => s.object.check(&s.actor),
        Inbound::UpdateSummary(s) => s.object.check(&s.actor),
        _ => Ok(()),
    }
}

/// `POST /inbox`.
pub async fn post_inbox(data: Data<FedContext>, request: Request<Body>) -> Response {
    match handle(&data, request).await {
        Ok(status) => status.into_response(),
        Err(e) => refuse(&e),
    }
}

async fn handle(data: &Data<FedContext>, request: Request<Body>) -> Result<StatusCode, FedError> {
    let (parts, body) = request.into_parts();
    if let Some(ConnectInfo(addr)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
        data.limiter.check(format!("ip:{}", addr.ip()))?;
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(FedError::TooLarge);
    }
    let bytes = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| FedError::TooLarge)?;
    let env = envelope(&bytes)?;
    // A signature's `Date` is stamped by the sender's system clock (the signing library reads no
    // other, ours included), so it is held against ours, not the instance's injected clock.
    crate::signing::post_policy(&parts.headers, {
        use hearth_db::Clock;
        hearth_db::SystemClock.now()
    })?;
    if matches!(
        env.actor.host(),
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_))
    ) {
        return Err(FedError::NotAllowed(
            "actors must have a domain name".into(),
        ));
    }
    if let Some(host) = env.actor.host_str() {
        data.limiter.check(format!("domain:{host}"))?;
    }
    let membership = allowed_sender(data, &env).await?;
    if data.db.was_received(env.id.as_str()).await? {
        // Delivered before: accept again without doing anything, so the sender stops.
        return Ok(StatusCode::ACCEPTED);
    }
    let (method, uri, headers) = (
        parts.method.clone(),
        parts.uri.clone(),
        parts.headers.clone(),
    );
    let fresh = membership.filter(|m| data.now() - m.peer.fetched_at < REFRESH_AFTER);
    let first = match &fresh {
        Some(m) => {
            let path = uri.path_and_query().map_or("/inbox", |p| p.as_str());
            receive_from_member(data, m, method.as_str(), path, &headers, &bytes).await
        }
        // The library's own path cannot say whether a handler recorded the activity: it is
        // recorded below (the record is idempotent).
        None => receive(data, Request::from_parts(parts, Body::from(bytes.clone())))
            .await
            .map(|()| Recorded::No),
    };
    let recorded = match first {
        // A known peer whose signature fails may have rotated its key: fetch its actor again
        // (which refreshes the stored key) and check once more. If that fails too (or the
        // peer cannot be reached), a signature by a key it replaced within the grace period
        // still counts.
        Err(FedError::Federation(
            activitypub_federation::error::Error::ActivitySignatureInvalid,
        )) if data.db.peer_by_url(env.actor.as_str()).await?.is_some() => {
            let path = uri
                .path_and_query()
                .map_or("/inbox", |p| p.as_str())
                .to_owned();
            let mut retry = Request::builder().method(method.clone()).uri(uri);
            if let Some(h) = retry.headers_mut() {
                h.clone_from(&headers);
            }
            let retry = retry
                .body(Body::from(bytes.clone()))
                .map_err(|e| FedError::Invalid(e.to_string()))?;
            let again = match ObjectId::<Peer>::from(env.actor.clone())
                .dereference_forced(data)
                .await
            {
                Ok(_) => receive(data, retry).await.map(|()| Recorded::No),
                Err(e) => Err(e),
            };
            match again {
                Ok(r) => r,
                Err(e) => {
                    receive_with_old_key(data, &env, method.as_str(), &path, &headers, &bytes)
                        .await?
                        .ok_or(e)?
                }
            }
        }
        other => other?,
    };
    if recorded == Recorded::No {
        data.db.record_received(env.id.as_str(), data.now()).await?;
    }
    Ok(StatusCode::ACCEPTED)
}

/// The library verifies against the actor's current key only. A request signed with one of
/// the sender's keys replaced within [`OLD_KEY_GRACE`] is checked here instead, with the same
/// checks as [`receive_from_member`], and then handed to the activity. `false`: no such key
/// signed it (or the digest does not match), so the caller's own refusal stands (`None`).
async fn receive_with_old_key(
    data: &Data<FedContext>,
    env: &Envelope,
    method: &str,
    path_and_query: &str,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<Option<Recorded>, FedError> {
    let since = data.now() - OLD_KEY_GRACE;
    let keys = data.db.recent_old_keys(env.actor.as_str(), since).await?;
    if keys.is_empty() {
        return Ok(None);
    }
    let activity = match checked(
        data,
        env.actor.as_str(),
        &keys,
        method,
        path_and_query,
        headers,
        body,
    ) {
        Ok(a) => a,
        Err(FedError::Federation(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    tracing::info!(actor = %env.actor, "accepted a request signed with the sender's previous key");
    dispatch(data, activity, None).await.map(Some)
}

/// How long a stored actor (and its key) is used before the library fetches it again, as the
/// library does.
const REFRESH_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// Whether handling an activity already recorded it as received, in its own transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded {
    Yes,
    No,
}

/// Hands a checked activity to its feature, with the sender's membership when the inbox has
/// already read it (so a report's checks do not read it again). A report is stored together
/// with the record that its activity arrived; everything else is verified and received as the
/// library would.
async fn dispatch(
    data: &Data<FedContext>,
    activity: WithContext<Inbound>,
    sender: Option<&Membership>,
) -> Result<Recorded, FedError> {
    match activity.inner() {
        Inbound::CreateReport(c) => {
            hub_reports::receive(data, &c.id, &c.actor, &c.to, &c.object, false, sender).await?;
            Ok(Recorded::Yes)
        }
        Inbound::UpdateReport(u) => {
            hub_reports::receive(data, &u.id, &u.actor, &u.to, &u.object, true, sender).await?;
            Ok(Recorded::Yes)
        }
        _ => {
            activity.verify(data).await?;
            activity.receive(data).await?;
            Ok(Recorded::No)
        }
    }
}

/// An activity from a peer this instance federates with and fetched within [`REFRESH_AFTER`]:
/// the library's checks, made here with what the inbox has already read. The library would
/// read the stored actor again, copy every header, and resolve the sender's domain in DNS to
/// refuse internal addresses; that guards a fetch, and nothing is fetched here (the domain was
/// checked when the actor was). A key that fails is handed back as the library's error, so the
/// caller refreshes the key and tries again as for the library.
async fn receive_from_member(
    data: &Data<FedContext>,
    m: &Membership,
    method: &str,
    path_and_query: &str,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<Recorded, FedError> {
    let activity = checked(
        data,
        &m.peer.actor_url,
        std::slice::from_ref(&m.peer.public_key_pem),
        method,
        path_and_query,
        headers,
        body,
    )?;
    dispatch(data, activity, Some(m)).await
}

/// The library's checks of a signed activity from `actor`, made with `keys` (any one may have
/// signed it): the digest, the activity's ids and domains, then the signature. A digest, id or
/// signature that fails is the library's error (`FedError::Federation`), answered as the
/// library answers it; a body that does not parse, or an activity not `actor`'s, is refused
/// as such.
fn checked(
    data: &Data<FedContext>,
    actor: &str,
    keys: &[String],
    method: &str,
    path_and_query: &str,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Result<WithContext<Inbound>, FedError> {
    use activitypub_federation::error::Error as E;
    if !crate::signing::digest_matches(headers, body) {
        return Err(E::ActivityBodyDigestInvalid.into());
    }
    let activity = Inbound::parse(body)?;
    activitypub_federation::protocol::verification::verify_domains_match(
        activity.id(),
        activity.actor(),
    )?;
    if activity.actor().as_str() != actor {
        return Err(FedError::NotAllowed(
            "the activity is not its sender's".into(),
        ));
    }
    let id = activity.id();
    let actor_scheme = activity.actor().scheme();
    if id.scheme() != "https" && id.scheme() != actor_scheme {
        return Err(E::UrlVerificationError("Invalid url scheme").into());
    }
    let host = match id.port() {
        Some(port) => format!("{}:{port}", id.host_str().unwrap_or_default()),
        None => id.host_str().unwrap_or_default().to_owned(),
    };
    if host == data.domain() {
        return Err(E::UrlVerificationError("Activity was sent from local instance").into());
    }
    let with_host;
    let headers = if headers.contains_key(axum::http::header::HOST) {
        headers
    } else {
        // As the library does: a proxy may drop `Host`; it is this instance's domain.
        let mut h = headers.clone();
        if let Ok(v) = axum::http::HeaderValue::from_str(data.domain()) {
            h.insert(axum::http::header::HOST, v);
        }
        with_host = h;
        &with_host
    };
    let mut refused = E::ActivitySignatureInvalid.into();
    for pem in keys {
        match crate::signing::verify_request_at(
            method,
            path_and_query,
            headers,
            actor,
            pem,
            data.now(),
        ) {
            Ok(()) => return Ok(activity),
            // Answered as the library answers them (401, with the reason).
            Err(FedError::NotAllowed(reason) | FedError::Invalid(reason)) => {
                refused = E::Other(reason).into()
            }
            Err(other) => refused = other,
        }
    }
    Err(refused)
}

async fn receive(data: &Data<FedContext>, request: Request<Body>) -> Result<(), FedError> {
    let activity = ActivityData::from_request(request, &())
        .await
        .map_err(|_| FedError::Invalid("unreadable body".into()))?;
    receive_activity::<WithContext<Inbound>, Peer, FedContext>(activity, data).await
}

/// A hub takes follows from anyone (groups asking to join, or readers), and everything else
/// only from those that followed; a group takes activities only from hubs it asked to join.
/// Returns the sender's membership, if any.
async fn is_helper(data: &FedContext) -> Result<bool, FedError> {
    Ok(data.db.pairs().await?.iter().any(|p| {
        p.role == hearth_core::pair::HubRole::Helper && p.state == hearth_db::PairState::Accepted
    }))
}

async fn allowed_sender(data: &FedContext, env: &Envelope) -> Result<Option<Membership>, FedError> {
    let membership = data.db.membership_by_actor(env.actor.as_str()).await?;
    let asked = membership.is_some();
    let ok = match data.role {
        InstanceRole::Hub => {
            env.kind == "Follow"
                || asked
                || data.db.is_reader(env.actor.as_str()).await?
                // A group that left may still ask for its reports to be erased.
                || (env.kind == "Delete" && data.db.peer_by_url(env.actor.as_str()).await?.is_some())
                // Any hub may offer a pair, as any group may ask to join; the hub it is paired
                // with sends the pair's steps; a helper takes any group's shares (only those
                // the leader names are ever summed).
                || env.kind == "Offer"
                || data.db.pair_with(env.actor.as_str()).await?.is_some()
                || (env.kind == "Create" && is_helper(data).await?)
        }
        InstanceRole::Group => asked,
    };
    if ok {
        Ok(membership)
    } else {
        Err(FedError::NotAllowed(format!(
            "{} has not asked to federate with this instance",
            env.actor
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_need_json_an_accepted_type_and_urls() {
        assert!(matches!(envelope(b"{not json"), Err(FedError::Invalid(_))));
        let unknown =
            br#"{"id":"https://a.example/1","type":"Like","actor":"https://a.example/actor"}"#;
        assert!(matches!(envelope(unknown), Err(FedError::Invalid(m)) if m.contains("Like")));
        let no_actor = br#"{"id":"https://a.example/1","type":"Follow"}"#;
        assert!(matches!(envelope(no_actor), Err(FedError::Invalid(m)) if m.contains("actor")));
        let ok =
            br#"{"id":"https://a.example/1","type":"Follow","actor":"https://a.example/actor"}"#;
        assert_eq!(envelope(ok).unwrap().kind, "Follow");
        // An embedded actor object is refused as such, not as a missing `type`.
        let embedded = br#"{"id":"https://a.example/1","type":"Follow","actor":{"id":"https://a.example/actor","type":"Person"}}"#;
        assert!(
            matches!(envelope(embedded), Err(FedError::Invalid(m)) if m.contains("embedded actor object"))
        );
    }

    #[test]
    fn bodies_are_checked_down_to_a_report_s_rules() {
        use hearth_core::report::{TrueCounts, make_report_with_noise};
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let settings = hearth_core::sharing::SharingSettings::default();
        let truth = TrueCounts::new(10);
        let r = make_report_with_noise("2026-10".parse().unwrap(), &settings, truth, &mut || 0);
        let actor = Url::parse("https://g.example/actor").unwrap();
        let hub = Url::parse("https://hub.example/actor").unwrap();
        let create = crate::protocol::report::CreateReport {
            id: Url::parse("https://g.example/activities/create/1").unwrap(),
            kind: Default::default(),
            actor: actor.clone(),
            to: vec![hub.clone()],
            object: crate::protocol::report::WellbeingReport::from_report(
                Url::parse("https://g.example/reports/1").unwrap(),
                actor,
                hub,
                &r,
            ),
        };
        let body = |c: &crate::protocol::report::CreateReport| {
            serde_json::to_vec(&crate::vocab::with_context(c).unwrap()).unwrap()
        };
        assert!(check_body(&body(&create), today).is_ok());
        let mut future = create.clone();
        future.object.period = "2027-01".into();
        assert!(check_body(&body(&future), today).is_err());
        let mut odd = create;
        odd.object.schema_version = 99;
        assert!(check_body(&body(&odd), today).is_err());
        assert!(check_body(b"\xff\x00", today).is_err());
        assert!(check_body(br#"{"type":"Create","id":"https://a.example/1","actor":"https://a.example/actor","object":3}"#, today).is_err());
    }
}
