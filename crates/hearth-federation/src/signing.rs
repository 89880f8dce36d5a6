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

/// How long after its date a signature is accepted (as the library allows).
pub const SIGNATURE_LIFETIME: Duration = Duration::from_secs(3600);

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
/// `date` and, on a POST, `digest`) as made by `actor`'s key `public_key_pem`. A POST's digest
/// is checked against its body separately ([`digest_matches`]).
pub fn verify_request(
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    actor: &str,
    public_key_pem: &str,
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
        .set_expiration(SIGNATURE_LIFETIME);
    if method.eq_ignore_ascii_case("POST") {
        // Only a signed digest ties the body to the signature.
        config = config.require_digest();
    }
    let unverified = config
        .begin_verify(method, path_and_query, map)
        .map_err(|e| FedError::NotAllowed(e.to_string()))?;
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
        let h = post(&key, Utc::now());
        assert!(verify_request("POST", "/inbox", &h, actor, &pem).is_ok());
        assert!(digest_matches(&h, body));
        assert!(!digest_matches(&h, b"something else"));
        assert!(verify_request("POST", "/other", &h, actor, &pem).is_err());
        assert!(verify_request("POST", "/inbox", &h, "https://x.example/actor", &pem).is_err());
        assert!(verify_request("POST", "/inbox", &post(&other, Utc::now()), actor, &pem).is_err());
        let stale = Utc::now() - chrono::Duration::hours(2);
        assert!(verify_request("POST", "/inbox", &post(&key, stale), actor, &pem).is_err());
        let get = headers(&sign_get(
            "g.example",
            "/reports/1",
            "https://g.example/actor#main-key",
            &key,
            Utc::now(),
        ));
        assert!(verify_request("GET", "/reports/1", &get, actor, &pem).is_ok());
        assert!(matches!(
            verify_request("GET", "/reports/1", &HeaderMap::new(), actor, &pem),
            Err(FedError::Unsigned)
        ));
    }
}
