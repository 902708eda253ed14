//! Leases (at most one holder at a time, lapsing on their own) and cursors (where a bounded job
//! stopped), both single-statement SQLite rows.

use crate::io::{Io, IoError};

/// Takes the lease `name` for `owner` until `until` (Unix seconds) if it is free or lapsed.
pub fn take(io: &impl Io, name: &str, owner: &str, until: i64) -> Result<bool, IoError> {
    let rows = io.sql(
        "INSERT INTO leases (name, owner, until) VALUES (?, ?, ?) \
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until \
         WHERE leases.until < ? RETURNING owner",
        &[
            name.into(),
            owner.into(),
            until.into(),
            io.now().timestamp().into(),
        ],
    )?;
    Ok(!rows.is_empty())
}

/// Gives the lease back early; only its holder can.
pub fn give_back(io: &impl Io, name: &str, owner: &str) -> Result<(), IoError> {
    io.sql(
        "UPDATE leases SET until = 0 WHERE name = ? AND owner = ?",
        &[name.into(), owner.into()],
    )?;
    Ok(())
}

pub fn cursor(io: &impl Io, store_id: &str, kind: &str) -> Result<Option<String>, IoError> {
    let rows = io.sql(
        "SELECT value FROM cursors WHERE store_id = ? AND kind = ?",
        &[store_id.into(), kind.into()],
    )?;
    Ok(rows
        .first()
        .and_then(|r| r.opt_text("value"))
        .map(str::to_string))
}

pub fn set_cursor(io: &impl Io, store_id: &str, kind: &str, value: &str) -> Result<(), IoError> {
    io.sql(
        "INSERT INTO cursors (store_id, kind, value) VALUES (?, ?, ?) ON CONFLICT (store_id, kind) DO UPDATE SET value = excluded.value",
        &[store_id.into(), kind.into(), value.into()],
    )?;
    Ok(())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::native::NativeIo;

    #[test]
    fn an_overlapping_tick_cannot_take_a_held_lease_until_it_lapses_or_is_given_back() {
        let io = NativeIo::in_memory(chrono::Utc::now(), |_| {
            Err(mallsync_carts::TransportError("none".into()))
        })
        .unwrap();
        crate::schema::ensure(&io).unwrap();
        let now = io.now().timestamp();
        assert!(take(&io, "dispatch", "tick-1", now + 30).unwrap());
        assert!(!take(&io, "dispatch", "tick-2", now + 30).unwrap());
        give_back(&io, "dispatch", "tick-2").unwrap(); // not tick-2's
        assert!(!take(&io, "dispatch", "tick-2", now + 30).unwrap());
        give_back(&io, "dispatch", "tick-1").unwrap();
        assert!(take(&io, "dispatch", "tick-2", now + 30).unwrap());
        io.advance(chrono::Duration::seconds(31));
        assert!(take(&io, "dispatch", "tick-3", now + 90).unwrap());
    }
}
