//! HTTP signatures (draft-cavage, rsa-sha256) made and checked by hand, where the library's
//! own do not reach: `hearth bench` pre-signs thousands of inbox requests; tests send exactly
//! what an attacker would (wrong keys, stale dates, mismatched digests); signed fetches of
//! reports, and inbox requests signed with a peer's previous key during its grace period, are
//! verified here. Hearth's own deliveries are signed, and most requests verified, by
//! `activitypub_federation`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::HeaderMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha2::{Digest, Sha256};

use crate::FedError;

/// How long after its date a signed GET is accepted (as the library allows).
pub const SIGNATURE_LIFETIME: Duration = Duration::from_secs(3600);

/// How far a signed POST's `Date` may be from this instance's clock, either way: wide enough
/// for ordinary clock drift and a slow delivery, narrow enough that a captured request cannot
/// be replayed later (and a repeat within it is deduplicated by activity id).
pub const POST_DATE_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// The headers every signed POST's signature must cover.
pub const POST_SIGNED_HEADERS: [&str; 4] = ["(request-target)", "host", "date", "digest"];

/// What an inbox requires of a POST's signature before it checks it: a draft-cavage
/// `Signature` (RFC 9421 message signatures are refused as unsupported, not as a bad digest),
/// labelled `rsa-sha256` or `hs2019` if labelled at all, covering [`POST_SIGNED_HEADERS`], with a
/// `Date` within [`POST_DATE_WINDOW`] of `now`, the system clock's reading (signatures are
/// dated by it). Pure: it reads only the headers.
pub fn post_policy(headers: &HeaderMap, now: DateTime<Utc>) -> Result<(), FedError> {
    let refuse = |why: String| Err(FedError::Signature(why));
    if headers.contains_key("signature-input") {
        return refuse(
            "RFC 9421 HTTP Message Signatures are not supported; sign with draft-cavage HTTP \
             Signatures (a Signature header with keyId, algorithm, headers and signature), as \
             Mastodon does"
                .into(),
        );
    }
    let signature = match headers.get("signature") {
        Some(v) => v.to_str().map_err(|_| FedError::Unsigned)?,
        None => match headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Signature "))
        {
            Some(v) => v,
            None => return Err(FedError::Unsigned),
        },
    };
    let parameter = |name: &str| signature_parameter(signature, name);
    if let Some(algorithm) = parameter("algorithm")
        && !["rsa-sha256", "hs2019"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(algorithm))
    {
        return refuse(format!(
            "algorithm {algorithm:?} is not supported: Hearth verifies RSA PKCS#1 v1.5 with \
             SHA-256, labelled rsa-sha256 or hs2019"
        ));
    }
    // Without a `headers` parameter a signature covers only its creation time or the date.
    let covered: Vec<String> = parameter("headers")
        .unwrap_or("(created)")
        .split_ascii_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    let missing: Vec<&str> = POST_SIGNED_HEADERS
        .into_iter()
        .filter(|h| !covered.iter().any(|c| c == h))
        .collect();
    if !missing.is_empty() {
        return refuse(format!(
            "the signature must cover {}; it does not cover {}",
            POST_SIGNED_HEADERS.join(" "),
            missing.join(" ")
        ));
    }
    let Some(date) = headers
        .get("date")
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .map(DateTime::<Utc>::from)
    else {
        return refuse("the Date header is missing or not an HTTP date".into());
    };
    let skew = date - now;
    if skew.abs() > POST_DATE_WINDOW {
        let way = if skew > chrono::Duration::zero() {
            "ahead of"
        } else {
            "behind"
        };
        let minutes = (skew.num_seconds().abs() + 30) / 60;
        return refuse(format!(
            "the Date header is {minutes} minutes {way} this server's clock ({}); signed \
             requests are accepted within {} minutes either way",
            http_date(now),
            POST_DATE_WINDOW.num_minutes()
        ));
    }
    Ok(())
}

/// A POST to sign.
pub struct SignedPost<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub body: &'a [u8],
    /// The key id to claim, e.g. `https://a.example/actor#main-key`.
    pub key_id: &'a str,
    pub date: DateTime<Utc>,
    /// Override the digest (to send one that does not match the body).
    pub digest_of: Option<&'a [u8]>,
}

fn http_date(date: DateTime<Utc>) -> String {
    date.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn signature(key: &RsaPrivateKey, signing_string: &str) -> String {
    let signer = SigningKey::<Sha256>::new(key.clone());
    STANDARD.encode(signer.sign(signing_string.as_bytes()).to_bytes())
}

/// The headers of a signed POST (`(request-target) host date digest`), as `(name, value)`.
pub fn sign_post(s: &SignedPost<'_>, key: &RsaPrivateKey) -> Vec<(String, String)> {
    let date = http_date(s.date);
    let digest = format!(
        "SHA-256={}",
        STANDARD.encode(Sha256::digest(s.digest_of.unwrap_or(s.body)))
    );
    let signing_string = format!(
        "(request-target): post {}\nhost: {}\ndate: {}\ndigest: {}",
        s.path, s.host, date, digest
    );
    let signature = signature(key, &signing_string);
    vec![
        ("host".into(), s.host.into()),
        ("date".into(), date),
        ("digest".into(), digest),
        ("content-type".into(), "application/activity+json".into()),
        (
            "signature".into(),
            format!(
                "keyId=\"{}\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"{signature}\"",
                s.key_id
            ),
        ),
    ]
}

/// The headers of a signed GET (signed fetch): `(request-target) host date`, as Mastodon sends.
pub fn sign_get(
    host: &str,
    path: &str,
    key_id: &str,
    key: &RsaPrivateKey,
    date: DateTime<Utc>,
) -> Vec<(String, String)> {
    let date = http_date(date);
    let signing_string = format!("(request-target): get {path}\nhost: {host}\ndate: {date}");
    let signature = signature(key, &signing_string);
    vec![
        ("host".into(), host.into()),
        ("date".into(), date),
        ("accept".into(), "application/activity+json".into()),
        (
            "signature".into(),
            format!(
                "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date\",signature=\"{signature}\""
            ),
        ),
    ]
}

/// Verifies a draft-cavage signature on a request (Mastodon's form: `(request-target)`, `host`,
/// `date` and, on a POST, `digest`) as made by `actor`'s key `public_key_pem`, by the system
/// clock. Kept for `reports`' signed fetch until it passes its context's clock to
/// [`verify_request_at`]; nothing else should call it.
pub fn verify_request(
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    actor: &str,
    public_key_pem: &str,
) -> Result<(), FedError> {
    use hearth_db::Clock;
    verify_request_at(
        method,
        path_and_query,
        headers,
        actor,
        public_key_pem,
        hearth_db::SystemClock.now(),
    )
}

/// Verifies a draft-cavage signature on a request (Mastodon's form: `(request-target)`, `host`,
/// `date` and, on a POST, `digest`) as made by `actor`'s key `public_key_pem`, its dates
/// checked against `now`. A POST's digest is checked against its body separately
/// ([`digest_matches`]).
pub fn verify_request_at(
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    actor: &str,
    public_key_pem: &str,
    now: DateTime<Utc>,
) -> Result<(), FedError> {
    use rsa::pkcs8::DecodePublicKey;
    if !headers.contains_key("signature") {
        return Err(FedError::Unsigned);
    }
    let map: BTreeMap<String, String> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_owned())))
        .collect();
    let mut config = http_signature_normalization::Config::new()
        .mastodon_compat()
        .require_header("(request-target)")
        .set_expiration(LIBRARY_EXPIRATION);
    if method.eq_ignore_ascii_case("POST") {
        // Only a signed digest ties the body to the signature.
        config = config.require_digest();
    }
    let unverified = config
        .begin_verify(method, path_and_query, map.clone())
        .map_err(|e| FedError::NotAllowed(e.to_string()))?;
    if let Some(refusal) = expired(&map, now) {
        return Err(FedError::NotAllowed(refusal));
    }
    let signer = unverified.key_id().split('#').next().unwrap_or_default();
    if signer != actor {
        return Err(FedError::NotAllowed("signed by someone else".into()));
    }
    let key = rsa::RsaPublicKey::from_public_key_pem(public_key_pem)
        .map_err(|e| FedError::Invalid(e.to_string()))?;
    let ok = unverified.verify(|signature, signing_string| {
        let Ok(sig) = STANDARD.decode(signature) else {
            return false;
        };
        key.verify(
            rsa::Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(signing_string.as_bytes()),
            &sig,
        )
        .is_ok()
    });
    if ok {
        Ok(())
    } else {
        // The library's error, so a caller treats it as the library would (a key may have
        // been rotated).
        Err(activitypub_federation::error::Error::ActivitySignatureInvalid.into())
    }
}

/// What the signature library is told a signature's lifetime is: long enough that its own
/// checks of `created` and `Date`, made by the system clock, never decide; [`expired`] makes
/// them by the instance's clock instead. (Its check of an `expires` parameter, against the
/// system clock, cannot be turned off; [`expired`] makes that one too.)
const LIBRARY_EXPIRATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The signature library's date checks (an `expires` parameter that has passed; a `created`
/// parameter, then a `Date` header, older than [`SIGNATURE_LIFETIME`]), in its order and
/// words, made against `now`. `headers` are the request's, by lower-case name.
fn expired(headers: &BTreeMap<String, String>, now: DateTime<Utc>) -> Option<String> {
    let lifetime = chrono::Duration::from_std(SIGNATURE_LIFETIME).unwrap_or_default();
    // The header the library reads the parameters from: `Authorization` if there is one.
    let signature = headers
        .get("authorization")
        .or_else(|| headers.get("signature"))?;
    let parameter = |name: &str| {
        signature
            .trim_start_matches("Signature")
            .trim()
            .split(',')
            .filter_map(|part| part.split_once('='))
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.trim_matches('"').parse::<i64>().ok())
            .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0))
    };
    let refusal = |field: &str, expires: DateTime<Utc>| {
        Some(format!(
            "Http Signature is expired, checked {field}, checked at {}, expired at {}",
            http_date(now),
            http_date(expires)
        ))
    };
    if let Some(expires) = parameter("expires")
        && expires < now
    {
        return refusal("expires pseudo-header", expires);
    }
    if let Some(created) = parameter("created")
        && created + lifetime < now
    {
        return refusal("created pseudo-header", created + lifetime);
    }
    if let Some(date) = headers
        .get("date")
        .and_then(|d| httpdate::parse_http_date(d).ok())
    {
        let date = DateTime::<Utc>::from(date);
        if date + lifetime < now {
            return refusal("Date header", date + lifetime);
        }
    }
    None
}

/// The actor a request's signature names (its `keyId` without the fragment), if signed.
pub fn key_owner(headers: &HeaderMap) -> Option<String> {
    let signature = headers.get("signature")?.to_str().ok()?;
    signature_parameter(signature, "keyId")
        .and_then(|id| id.split('#').next())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

/// One parameter of a draft-cavage `Signature` header (`keyId="…",headers="…"`), unquoted; its
/// name matched without regard to case.
fn signature_parameter<'a>(signature: &'a str, name: &str) -> Option<&'a str> {
    signature
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().trim_matches('"'))
}

/// Whether the `digest` header is the SHA-256 of `body`.
pub fn digest_matches(headers: &HeaderMap, body: &[u8]) -> bool {
    let expected = format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)));
    headers
        .get("digest")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|d| d.trim() == expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderName, HeaderValue};
    use rsa::pkcs8::EncodePublicKey;

    fn headers(pairs: &[(String, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn a_post_must_sign_the_four_headers_with_a_date_near_the_clock() {
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 25, 12, 0, 0).unwrap();
        let signed = |date| {
            headers(&sign_post(
                &SignedPost {
                    host: "hub.example",
                    path: "/inbox",
                    body: b"{}",
                    key_id: "https://g.example/actor#main-key",
                    date,
                    digest_of: None,
                },
                &key,
            ))
        };
        let reason = |h: &HeaderMap| match post_policy(h, now) {
            Err(FedError::Signature(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(post_policy(&signed(now), now).is_ok());
        let minutes = chrono::Duration::minutes;
        assert!(post_policy(&signed(now - minutes(14)), now).is_ok());
        assert!(post_policy(&signed(now + minutes(14)), now).is_ok());
        assert!(reason(&signed(now + minutes(60))).contains("60 minutes ahead of"));
        assert!(reason(&signed(now - minutes(60))).contains("60 minutes behind"));
        assert!(reason(&signed(now + chrono::Duration::days(365))).contains("ahead"));
        // Signatures that leave out a header, or say nothing of what they cover.
        let with_signature = |sig: &str| {
            let mut h = signed(now);
            h.insert("signature", HeaderValue::from_str(sig).unwrap());
            h
        };
        let only_digest =
            with_signature(r#"keyId="k",algorithm="rsa-sha256",headers="digest",signature="x""#);
        assert_eq!(
            reason(&only_digest),
            "the signature must cover (request-target) host date digest; it does not cover (request-target) host date"
        );
        for (headers_param, missing) in [
            ("(request-target) host digest", "date"),
            ("(request-target) date digest", "host"),
            ("host date digest", "(request-target)"),
        ] {
            let h = with_signature(&format!(
                r#"keyId="k",headers="{headers_param}",signature="x""#
            ));
            assert!(
                reason(&h).ends_with(&format!("does not cover {missing}")),
                "{headers_param}"
            );
        }
        assert!(reason(&with_signature(r#"keyId="k",signature="x""#)).contains("does not cover"));
        // The labels Hearth and Mastodon send pass; others are named.
        let labelled = |a: &str| {
            with_signature(&format!(
                r#"keyId="k",algorithm="{a}",headers="(request-target) host date digest",signature="x""#
            ))
        };
        assert!(post_policy(&labelled("hs2019"), now).is_ok());
        assert!(post_policy(&labelled("RSA-SHA256"), now).is_ok());
        assert!(reason(&labelled("hmac-sha256")).contains(r#""hmac-sha256" is not supported"#));
        // RFC 9421 is refused as a scheme, not as a digest mismatch.
        let mut rfc9421 = signed(now);
        rfc9421.insert(
            "signature-input",
            HeaderValue::from_static(r#"sig1=("@method" "@target-uri");keyid="k""#),
        );
        assert!(reason(&rfc9421).starts_with("RFC 9421 HTTP Message Signatures are not supported"));
        let mut no_date = signed(now);
        no_date.remove("date");
        assert!(reason(&no_date).contains("Date header is missing"));
        let mut unsigned = signed(now);
        unsigned.remove("signature");
        assert!(matches!(
            post_policy(&unsigned, now),
            Err(FedError::Unsigned)
        ));
    }

    #[test]
    fn what_is_signed_here_verifies_here_and_nothing_else_does() {
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let other = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pem = key
            .to_public_key()
            .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap();
        let actor = "https://g.example/actor";
        let body = br#"{"type":"Follow"}"#;
        let post = |k: &RsaPrivateKey, date| {
            headers(&sign_post(
                &SignedPost {
                    host: "hub.example",
                    path: "/inbox",
                    body,
                    key_id: "https://g.example/actor#main-key",
                    date,
                    digest_of: None,
                },
                k,
            ))
        };
        // A time far from the system's: the instance's clock decides, not the system's.
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 25, 12, 0, 0).unwrap();
        let verify = |method, path, h: &HeaderMap, actor, at| {
            verify_request_at(method, path, h, actor, &pem, at)
        };
        let h = post(&key, now);
        assert!(verify("POST", "/inbox", &h, actor, now).is_ok());
        assert!(digest_matches(&h, body));
        assert!(!digest_matches(&h, b"something else"));
        assert!(verify("POST", "/other", &h, actor, now).is_err());
        assert!(verify("POST", "/inbox", &h, "https://x.example/actor", now).is_err());
        assert!(verify("POST", "/inbox", &post(&other, now), actor, now).is_err());
        let stale = now - chrono::Duration::hours(2);
        let refused = verify("POST", "/inbox", &post(&key, stale), actor, now);
        assert!(
            matches!(&refused, Err(FedError::NotAllowed(m)) if m.contains("expired, checked Date header")),
            "{refused:?}"
        );
        // The same request, checked two hours earlier by the clock, is in time.
        assert!(verify("POST", "/inbox", &post(&key, stale), actor, stale).is_ok());
        // A `created` parameter is held to the same lifetime.
        let mut with_created = h.clone();
        let old = format!(
            "{},created={}",
            h["signature"].to_str().unwrap(),
            stale.timestamp()
        );
        with_created.insert("signature", HeaderValue::from_str(&old).unwrap());
        let refused = verify("POST", "/inbox", &with_created, actor, now);
        assert!(
            matches!(&refused, Err(FedError::NotAllowed(m)) if m.contains("created pseudo-header")),
            "{refused:?}"
        );
        let get = headers(&sign_get(
            "g.example",
            "/reports/1",
            "https://g.example/actor#main-key",
            &key,
            now,
        ));
        assert!(verify("GET", "/reports/1", &get, actor, now).is_ok());
        assert!(matches!(
            verify("GET", "/reports/1", &HeaderMap::new(), actor, now),
            Err(FedError::Unsigned)
        ));
    }
}
