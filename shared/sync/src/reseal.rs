//! Resealing every stored secret with the current key (`POST /<cart>/secrets/reseal`, after a
//! key rotation; see `crypto`). It knows every place a secret lives, so it sits above them all.

use crate::crypto::Keys;
use crate::io::{Io, IoError};
use crate::notify;
use crate::secret_places::{settings_place, token_key, webhook_secret_place};

/// What `reseal_all` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Resealed {
    pub key_id: String,
    pub shops: usize,
    pub stores: usize,
    pub tokens: usize,
    /// Notification destinations' URLs and signing secrets.
    pub notification_destinations: usize,
}

/// Seals every stored secret again with the current key (after a rotation, or for values
/// stored before encryption). Safe to run again: values already under the current key are left.
pub fn reseal_all(io: &impl Io) -> Result<Resealed, IoError> {
    let keys = Keys::from_variables(io)?;
    let mut done = Resealed {
        key_id: keys.current_id().to_string(),
        ..Resealed::default()
    };
    for row in io.sql("SELECT id, webhook_secret FROM shops", &[])?.iter() {
        let (id, stored) = (row.text("id")?, row.text("webhook_secret")?);
        let place = webhook_secret_place(id);
        if reseal_row(io, &keys, "shops", "webhook_secret", id, stored, &place)? {
            done.shops += 1;
        }
    }
    for row in io.sql("SELECT id, settings FROM stores", &[])?.iter() {
        let (id, stored) = (row.text("id")?, row.text("settings")?);
        if reseal_row(
            io,
            &keys,
            "stores",
            "settings",
            id,
            stored,
            &settings_place(id),
        )? {
            done.stores += 1;
        }
        // The store's access token, whether or not its settings needed it.
        let key = token_key(id);
        if let Some(bytes) = io.kv_get(&key)? {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if keys.needs_reseal(&text) {
                let sealed = keys.seal(io, &keys.open(&text, &key)?, &key)?;
                io.kv_set(&key, sealed.as_bytes())?;
                done.tokens += 1;
            }
        }
    }
    done.notification_destinations = notify::reseal(io, &keys)?;
    Ok(done)
}

/// Seals row `id`'s `column` of `table` again, bound to `place`, when it is not under the
/// current key; a row changed meanwhile is left as it is. Returns whether it resealed.
fn reseal_row(
    io: &impl Io,
    keys: &Keys,
    table: &str,
    column: &str,
    id: &str,
    stored: &str,
    place: &str,
) -> Result<bool, IoError> {
    if !keys.needs_reseal(stored) {
        return Ok(false);
    }
    let sealed = keys.seal(io, &keys.open(stored, place)?, place)?;
    io.sql(
        &format!("UPDATE {table} SET {column} = ? WHERE id = ? AND {column} = ?"),
        &[sealed.into(), id.into(), stored.into()],
    )?;
    Ok(true)
}
