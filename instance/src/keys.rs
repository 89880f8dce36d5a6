//! The instance's RSA-2048 key pair, made once at init and kept in the database. Federation
//! signs with it.

use hearth_db::InstanceKey;
use rsa::RsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};

#[derive(Debug, thiserror::Error)]
#[error("could not make the instance key pair: {0}")]
pub struct KeyError(String);

pub fn generate() -> Result<InstanceKey, KeyError> {
    let private =
        RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|e| KeyError(e.to_string()))?;
    let private_pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError(e.to_string()))?
        .to_string();
    let public_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError(e.to_string()))?;
    Ok(InstanceKey {
        public_pem,
        private_pem,
    })
}

/// Whether a stored key pair parses and its halves belong together.
pub fn is_valid(key: &InstanceKey) -> bool {
    use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
    let Ok(private) = RsaPrivateKey::from_pkcs8_pem(&key.private_pem) else {
        return false;
    };
    let Ok(public) = rsa::RsaPublicKey::from_public_key_pem(&key.public_pem) else {
        return false;
    };
    private.to_public_key() == public
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_rsa_2048_and_match() {
        let k = generate().unwrap();
        assert!(k.private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(k.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(is_valid(&k));
        let other = generate().unwrap();
        assert!(!is_valid(&InstanceKey {
            public_pem: other.public_pem,
            private_pem: k.private_pem,
        }));
    }
}
