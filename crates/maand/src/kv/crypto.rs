//! Secret values: AES-256-GCM under `secrets/kv.key`, stored as `enc:v1:<base64>`
//! (nonce ‖ ciphertext ‖ tag), byte-compatible with buckets of the original (spec 04 §4).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use std::path::Path;

pub const PREFIX: &str = "enc:v1:";
pub const KEY_INVALID: &str = "kv encryption key is missing or invalid (secrets/kv.key)";
pub const NOT_ENCRYPTED: &str = "value is not encrypted";
pub const DECRYPT_FAILED: &str = "failed to decrypt kv value";

/// The bucket's KV key, loaded lazily by the operations that need it.
#[derive(Clone)]
pub struct KvKey(Aes256Gcm);

impl std::fmt::Debug for KvKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KvKey(..)")
    }
}

impl KvKey {
    pub fn load(path: &Path) -> Result<KvKey, String> {
        let bytes = fs_err::read(path).map_err(|_| KEY_INVALID.to_string())?;
        KvKey::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<KvKey, String> {
        if bytes.len() != 32 {
            return Err(KEY_INVALID.into());
        }
        Aes256Gcm::new_from_slice(bytes)
            .map(KvKey)
            .map_err(|_| KEY_INVALID.to_string())
    }

    /// Encrypts with a fresh random nonce; plaintext is not trimmed.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // Encryption with a valid key and a 12-byte nonce cannot fail.
        let ct = self
            .0
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        format!("{PREFIX}{}", STANDARD.encode(blob))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, String> {
        let b64 = stored
            .strip_prefix(PREFIX)
            .ok_or_else(|| NOT_ENCRYPTED.to_string())?;
        let blob = STANDARD
            .decode(b64)
            .map_err(|_| DECRYPT_FAILED.to_string())?;
        if blob.len() < 28 {
            return Err(DECRYPT_FAILED.into());
        }
        let (nonce, ct) = blob.split_at(12);
        let pt = self
            .0
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| DECRYPT_FAILED.to_string())?;
        String::from_utf8(pt).map_err(|_| DECRYPT_FAILED.to_string())
    }
}

/// 32 random bytes for a new bucket.
pub fn new_key_bytes() -> [u8; 32] {
    let mut k = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut k);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_format() {
        let key = KvKey::from_bytes(&[7u8; 32]).unwrap();
        let a = key.encrypt("  pw  ");
        let b = key.encrypt("  pw  ");
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX));
        let b64 = &a[PREFIX.len()..];
        assert!(b64
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)));
        assert!(STANDARD.decode(b64).unwrap().len() >= 28);
        assert_eq!(key.decrypt(&a).unwrap(), "  pw  ");
    }

    #[test]
    fn failures() {
        let key = KvKey::from_bytes(&[7u8; 32]).unwrap();
        let other = KvKey::from_bytes(&[8u8; 32]).unwrap();
        assert_eq!(
            other.decrypt(&key.encrypt("x")).unwrap_err(),
            DECRYPT_FAILED
        );
        assert_eq!(key.decrypt("plain").unwrap_err(), NOT_ENCRYPTED);
        assert_eq!(key.decrypt("enc:v1:AAAA").unwrap_err(), DECRYPT_FAILED);
        assert_eq!(KvKey::from_bytes(&[0u8; 31]).unwrap_err(), KEY_INVALID);
    }

    #[test]
    fn decrypts_envelope_made_elsewhere() {
        // An envelope assembled by hand the way the original does: nonce || AES-GCM(ct||tag).
        let raw = [9u8; 32];
        let cipher = Aes256Gcm::new_from_slice(&raw).unwrap();
        let nonce = [1u8; 12];
        let ct = cipher
            .encrypt(Nonce::from_slice(&nonce), b"legacy".as_slice())
            .unwrap();
        let mut blob = nonce.to_vec();
        blob.extend(ct);
        let stored = format!("enc:v1:{}", STANDARD.encode(blob));
        assert_eq!(
            KvKey::from_bytes(&raw).unwrap().decrypt(&stored).unwrap(),
            "legacy"
        );
    }
}
