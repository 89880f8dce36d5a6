//! HTTP signatures (draft-cavage, rsa-sha256) made by hand, for callers that send requests
//! without the library's client: `hearth bench` pre-signs thousands of inbox requests, and
//! tests send exactly what an attacker would (wrong keys, stale dates, mismatched digests).
//! Hearth's own deliveries are signed by `activitypub_federation`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha2::{Digest, Sha256};

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
