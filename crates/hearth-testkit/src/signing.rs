//! Hand-made HTTP signatures (draft-cavage, rsa-sha256), so tests can send exactly the
//! requests an attacker would: wrong keys, stale dates, mismatched digests.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha2::{Digest, Sha256};

/// What to sign and how.
pub struct Signed<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub body: &'a [u8],
    /// The key id to claim, e.g. `https://a.example/actor#main-key`.
    pub key_id: &'a str,
    pub private_key_pem: &'a str,
    pub date: DateTime<Utc>,
    /// Override the digest (to send one that does not match the body).
    pub digest_of: Option<&'a [u8]>,
}

/// The headers to send: `(name, value)` pairs.
pub fn sign(s: &Signed<'_>) -> Vec<(String, String)> {
    let date = s.date.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let digest = format!(
        "SHA-256={}",
        STANDARD.encode(Sha256::digest(s.digest_of.unwrap_or(s.body)))
    );
    let signing_string = format!(
        "(request-target): post {}\nhost: {}\ndate: {}\ndigest: {}",
        s.path, s.host, date, digest
    );
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(s.private_key_pem)
        .unwrap_or_else(|e| panic!("key: {e}"));
    let signer = SigningKey::<Sha256>::new(key);
    let signature = STANDARD.encode(signer.sign(signing_string.as_bytes()).to_bytes());
    vec![
        ("host".into(), s.host.into()),
        ("date".into(), date),
        ("digest".into(), digest),
        ("content-type".into(), "application/activity+json".into()),
        (
            "signature".into(),
            format!(
                "keyId=\"{}\",algorithm=\"rsa-sha256\",headers=\"(request-target) host date digest\",signature=\"{}\"",
                s.key_id, signature
            ),
        ),
    ]
}

/// Headers for a signed GET (signed fetch): `(request-target) host date`, as Mastodon sends.
pub fn sign_get(
    host: &str,
    path: &str,
    key_id: &str,
    private_key_pem: &str,
    date: DateTime<Utc>,
) -> Vec<(String, String)> {
    let date = date.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let signing_string = format!("(request-target): get {path}\nhost: {host}\ndate: {date}");
    let key =
        rsa::RsaPrivateKey::from_pkcs8_pem(private_key_pem).unwrap_or_else(|e| panic!("key: {e}"));
    let signer = SigningKey::<Sha256>::new(key);
    let signature = STANDARD.encode(signer.sign(signing_string.as_bytes()).to_bytes());
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
