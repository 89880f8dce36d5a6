//! Signed requests for tests, from a key's PEM (see `hearth_federation::signing`).

use chrono::{DateTime, Utc};
use rsa::pkcs8::DecodePrivateKey;

use hearth_federation::signing::{SignedPost, sign_post};

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

fn key(pem: &str) -> rsa::RsaPrivateKey {
    rsa::RsaPrivateKey::from_pkcs8_pem(pem).unwrap_or_else(|e| panic!("key: {e}"))
}

/// The headers to send: `(name, value)` pairs.
pub fn sign(s: &Signed<'_>) -> Vec<(String, String)> {
    sign_post(
        &SignedPost {
            host: s.host,
            path: s.path,
            body: s.body,
            key_id: s.key_id,
            date: s.date,
            digest_of: s.digest_of,
        },
        &key(s.private_key_pem),
    )
}

/// Headers for a signed GET (signed fetch).
pub fn sign_get(
    host: &str,
    path: &str,
    key_id: &str,
    private_key_pem: &str,
    date: DateTime<Utc>,
) -> Vec<(String, String)> {
    hearth_federation::signing::sign_get(host, path, key_id, &key(private_key_pem), date)
}
