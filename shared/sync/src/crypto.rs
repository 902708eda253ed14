//! Secrets at rest: cart credentials (`stores.settings`), webhook secrets (`shops`) and access
//! tokens (key-value) are stored sealed with AES-256-GCM (RustCrypto `aes-gcm`).
//!
//! The key is the secret Spin variable `encryption_key`: 32 bytes written as 64 hex digits
//! (`openssl rand -hex 32`). Each sealed value names the key it was sealed with
//! (`enc:v1:<key id>:<hex nonce>:<hex ciphertext>`, the key id being the first 8 hex digits of the
//! key's SHA-256), and is bound to its place (the table and row, or the key-value key) as
//! associated data, so a sealed value copied into another row does not open.
//!
//! Rotation: set the new key as `encryption_key` and the old one as `encryption_key_previous`.
//! Values sealed with either open; every value is sealed again with the new key when next saved,
//! and `reseal::reseal_all` (`POST /<cart>/secrets/reseal`) does that for every stored value at once.
//! Once it has run, drop `encryption_key_previous`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use sha2::{Digest, Sha256};

use crate::encoding::{hex, unhex};
use crate::io::{Io, IoError};

/// The secret variable holding the current key (64 hex digits).
pub const KEY_VARIABLE: &str = "encryption_key";
/// During a rotation, the key being retired (64 hex digits); values sealed with it still open.
pub const PREVIOUS_KEY_VARIABLE: &str = "encryption_key_previous";
const PREFIX: &str = "enc:v1:";
const NONCE_BYTES: usize = 12;

struct Key {
    id: String,
    cipher: Aes256Gcm,
}

impl Key {
    fn parse(variable: &str, value: &str) -> Result<Key, IoError> {
        let bytes = unhex(value.trim())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                IoError(format!(
                "the {variable} variable must be 32 bytes as 64 hex digits (openssl rand -hex 32) \
                 / {variable} 変数は 64 桁の16進数 (32 バイト) で設定してください"
            ))
            })?;
        let cipher = Aes256Gcm::new_from_slice(&bytes)
            .map_err(|_| IoError(format!("the {variable} variable is not an AES-256 key")))?;
        let mut id = hex(&Sha256::digest(&bytes));
        id.truncate(8);
        Ok(Key { id, cipher })
    }
}

/// The keys a component holds: the current one (sealing and opening) and, during a rotation, the
/// previous one (opening only).
pub struct Keys {
    current: Key,
    previous: Option<Key>,
}

impl Keys {
    /// From the `encryption_key` (and `encryption_key_previous`) variables. A missing key is an
    /// error naming the variable: spin.toml marks it required, so a deployed app without it does
    /// not start at all.
    pub fn from_variables(io: &impl Io) -> Result<Keys, IoError> {
        let current = io.variable(KEY_VARIABLE).ok_or_else(|| {
            IoError(format!(
                "the {KEY_VARIABLE} variable is not set: set it to 64 hex digits \
                 (openssl rand -hex 32) / {KEY_VARIABLE} 変数が未設定です"
            ))
        })?;
        let current = Key::parse(KEY_VARIABLE, &current)?;
        let previous = io
            .variable(PREVIOUS_KEY_VARIABLE)
            .map(|v| Key::parse(PREVIOUS_KEY_VARIABLE, &v))
            .transpose()?;
        Ok(Keys { current, previous })
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// `plaintext` sealed with the current key, bound to `place` (e.g. `stores.settings:st_1`).
    pub fn seal(&self, io: &impl Io, plaintext: &[u8], place: &str) -> Result<String, IoError> {
        let mut nonce = [0u8; NONCE_BYTES];
        io.random(&mut nonce)?;
        let sealed = self
            .current
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: place.as_bytes(),
                },
            )
            .map_err(|_| IoError(format!("sealing {place} failed")))?;
        Ok(format!(
            "{PREFIX}{}:{}:{}",
            self.current.id,
            hex(&nonce),
            hex(&sealed)
        ))
    }

    /// Opens a value `seal` made for `place`. A value stored before encryption (no `enc:`
    /// prefix) is returned as it is; it is sealed when next saved.
    pub fn open(&self, stored: &str, place: &str) -> Result<Vec<u8>, IoError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.as_bytes().to_vec());
        };
        let mut parts = rest.splitn(3, ':');
        let (Some(id), Some(nonce), Some(sealed)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(IoError(format!("{place}: the sealed value is malformed")));
        };
        let key = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id == id)
            .ok_or_else(|| {
                IoError(format!(
                    "{place} is sealed with key {id}, which is neither {KEY_VARIABLE} nor \
                     {PREVIOUS_KEY_VARIABLE}: set the key it was sealed with as {PREVIOUS_KEY_VARIABLE}"
                ))
            })?;
        let (Some(nonce), Some(sealed)) = (unhex(nonce), unhex(sealed)) else {
            return Err(IoError(format!("{place}: the sealed value is malformed")));
        };
        if nonce.len() != NONCE_BYTES {
            return Err(IoError(format!("{place}: the sealed value is malformed")));
        }
        key.cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &sealed,
                    aad: place.as_bytes(),
                },
            )
            .map_err(|_| {
                IoError(format!(
                    "{place} does not open with key {id}: the value was altered or moved from another row"
                ))
            })
    }

    /// Whether `stored` needs sealing again (stored in plain text, or under the previous key).
    pub fn needs_reseal(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split(':').next())
            .is_none_or(|id| id != self.current.id)
    }
}

/// Seals `plaintext` for `place` with the current key.
pub fn seal(io: &impl Io, plaintext: &[u8], place: &str) -> Result<String, IoError> {
    Keys::from_variables(io)?.seal(io, plaintext, place)
}

/// Opens a sealed value of `place` as text.
pub fn open_text(io: &impl Io, stored: &str, place: &str) -> Result<String, IoError> {
    let bytes = Keys::from_variables(io)?.open(stored, place)?;
    String::from_utf8(bytes).map_err(|_| IoError(format!("{place}: the opened value is not text")))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::native::NativeIo;

    const KEY_A: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    const KEY_B: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

    fn io_with(key: &str, previous: Option<&str>) -> NativeIo {
        let io = NativeIo::in_memory(chrono::Utc::now(), |_| {
            Err(mallsync_carts::TransportError("no cart".into()))
        })
        .unwrap()
        .with_variable(KEY_VARIABLE, key);
        match previous {
            Some(p) => io.with_variable(PREVIOUS_KEY_VARIABLE, p),
            None => io,
        }
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_own_place_and_hides_the_plaintext() {
        let io = io_with(KEY_A, None);
        let sealed = seal(&io, b"cscart-api-key-123", "stores.settings:st_1").unwrap();
        assert!(!sealed.contains("cscart-api-key-123"), "{sealed}");
        assert!(sealed.starts_with("enc:v1:"), "{sealed}");
        assert_eq!(
            open_text(&io, &sealed, "stores.settings:st_1").unwrap(),
            "cscart-api-key-123"
        );
        assert!(open_text(&io, &sealed, "stores.settings:st_2").is_err());
        // The same plaintext seals differently each time (a fresh nonce).
        assert_ne!(
            sealed,
            seal(&io, b"cscart-api-key-123", "stores.settings:st_1").unwrap()
        );
    }

    #[test]
    fn an_altered_value_does_not_open() {
        let io = io_with(KEY_A, None);
        let mut sealed = seal(&io, b"secret", "p").unwrap();
        let last = sealed.pop().unwrap();
        sealed.push(if last == '0' { '1' } else { '0' });
        assert!(open_text(&io, &sealed, "p").is_err());
    }

    #[test]
    fn after_a_rotation_old_values_open_with_the_previous_key_and_reseal_under_the_new() {
        let old = io_with(KEY_A, None);
        let sealed = seal(&old, b"secret", "p").unwrap();
        let rotated = io_with(KEY_B, Some(KEY_A));
        let keys = Keys::from_variables(&rotated).unwrap();
        assert!(keys.needs_reseal(&sealed));
        assert_eq!(keys.open(&sealed, "p").unwrap(), b"secret");
        let resealed = keys.seal(&rotated, b"secret", "p").unwrap();
        assert!(!keys.needs_reseal(&resealed));
        // Without the previous key, the old value names the key it needs.
        let only_new = io_with(KEY_B, None);
        let e = open_text(&only_new, &sealed, "p").unwrap_err();
        assert!(e.0.contains(PREVIOUS_KEY_VARIABLE), "{e}");
    }

    #[test]
    fn a_missing_or_malformed_key_is_an_error_naming_the_variable() {
        for bad in ["", "abc", &KEY_A[..62]] {
            let e = Keys::from_variables(&io_with(bad, None)).err().unwrap();
            assert!(e.0.contains(KEY_VARIABLE), "{e}");
        }
    }
}
