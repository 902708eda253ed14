//! What each cart accepted (the ledger), and the claims that keep two runs from sending the same
//! update at once. Each step is one statement, atomic on its own.

use mallsync_rules::{DataHash, Ledger};

use crate::io::{Io, IoError, Value};

/// Order ids per `IN (…)` list: well under SQLite's bound-parameter limit.
const IDS_PER_QUERY: usize = 500;

/// The ledger rows of the given orders.
pub fn load(io: &impl Io, store_id: &str, order_ids: &[&str]) -> Result<Ledger, IoError> {
    let mut ledger = Ledger::new();
    for chunk in order_ids.chunks(IDS_PER_QUERY) {
        let marks = vec!["?"; chunk.len()].join(", ");
        let mut params: Vec<Value> = Vec::with_capacity(chunk.len() + 1);
        params.push(store_id.into());
        params.extend(chunk.iter().map(|id| Value::from(*id)));
        let rows = io.sql(
            &format!("SELECT ledger_key, data_hash, note FROM ledger WHERE store_id = ? AND order_id IN ({marks})"),
            &params,
        )?;
        for row in rows.iter() {
            let key = row.text("ledger_key")?;
            ledger.record(key, parse_hash(row.text("data_hash")?)?);
            if let Some(note) = row.opt_text("note") {
                ledger.record_note(key, note);
            }
        }
    }
    Ok(ledger)
}

fn parse_hash(hex: &str) -> Result<DataHash, IoError> {
    u64::from_str_radix(hex, 16)
        .map(DataHash)
        .map_err(|_| IoError(format!("ledger hash {hex:?} is not hex")))
}

/// The hash the cart accepted for this key, if any.
pub fn accepted(
    io: &impl Io,
    store_id: &str,
    ledger_key: &str,
) -> Result<Option<DataHash>, IoError> {
    let rows = io.sql(
        "SELECT data_hash FROM ledger WHERE store_id = ? AND ledger_key = ?",
        &[store_id.into(), ledger_key.into()],
    )?;
    rows.first()
        .map(|r| parse_hash(r.text("data_hash")?))
        .transpose()
}

/// Records that the cart accepted `hash` under `ledger_key`, with what the buyer was told
/// (`note`, e.g. BASE's dispatched tracking number) where the cart's rules keep it.
pub fn record(
    io: &impl Io,
    store_id: &str,
    ledger_key: &str,
    order_id: &str,
    hash: DataHash,
    note: Option<String>,
    run_id: i64,
) -> Result<(), IoError> {
    io.sql(
        "INSERT INTO ledger (store_id, ledger_key, order_id, data_hash, accepted_at, run_id, note) VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (store_id, ledger_key) DO UPDATE SET data_hash = excluded.data_hash, accepted_at = excluded.accepted_at, run_id = excluded.run_id, note = excluded.note",
        &[
            store_id.into(),
            ledger_key.into(),
            order_id.into(),
            hash.to_hex().into(),
            io.now().timestamp().into(),
            run_id.into(),
            note.into(),
        ],
    )?;
    Ok(())
}

/// Claims the sending of (key, hash) for `owner` until `until` (Unix seconds). One statement: of
/// two runs racing, exactly one gets a row back. A claim left by a crashed run lapses at `until`.
pub fn claim(
    io: &impl Io,
    store_id: &str,
    ledger_key: &str,
    hash: DataHash,
    owner: &str,
    until: i64,
) -> Result<bool, IoError> {
    let rows = io.sql(
        "INSERT INTO claims (store_id, ledger_key, data_hash, owner, until) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (store_id, ledger_key, data_hash) DO UPDATE SET owner = excluded.owner, until = excluded.until \
         WHERE claims.until < ? RETURNING owner",
        &[
            store_id.into(),
            ledger_key.into(),
            hash.to_hex().into(),
            owner.into(),
            until.into(),
            io.now().timestamp().into(),
        ],
    )?;
    Ok(!rows.is_empty())
}

/// Gives a claim back (after the send, successful or not); only the owner's own claim.
pub fn release(
    io: &impl Io,
    store_id: &str,
    ledger_key: &str,
    hash: DataHash,
    owner: &str,
) -> Result<(), IoError> {
    io.sql(
        "DELETE FROM claims WHERE store_id = ? AND ledger_key = ? AND data_hash = ? AND owner = ?",
        &[
            store_id.into(),
            ledger_key.into(),
            hash.to_hex().into(),
            owner.into(),
        ],
    )?;
    Ok(())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::native::NativeIo;
    use chrono::{TimeZone, Utc};

    fn io() -> NativeIo {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
        let io = NativeIo::in_memory(now, |_| Err(mallsync_carts::TransportError("none".into())))
            .unwrap();
        crate::schema::ensure(&io).unwrap();
        io
    }

    #[test]
    fn of_two_runs_claiming_the_same_update_only_the_first_gets_it() {
        let io = io();
        let until = io.now().timestamp() + 60;
        assert!(claim(&io, "s", "A1/1", DataHash(7), "run-1", until).unwrap());
        assert!(!claim(&io, "s", "A1/1", DataHash(7), "run-2", until).unwrap());
        // Other data for the same key is another claim.
        assert!(claim(&io, "s", "A1/1", DataHash(8), "run-2", until).unwrap());
    }

    #[test]
    fn a_released_or_lapsed_claim_can_be_taken_again() {
        let io = io();
        let until = io.now().timestamp() + 60;
        assert!(claim(&io, "s", "k", DataHash(1), "run-1", until).unwrap());
        release(&io, "s", "k", DataHash(1), "run-2").unwrap(); // not run-2's to release
        assert!(!claim(&io, "s", "k", DataHash(1), "run-2", until).unwrap());
        io.advance(chrono::Duration::seconds(61));
        assert!(claim(&io, "s", "k", DataHash(1), "run-2", until + 120).unwrap());
        release(&io, "s", "k", DataHash(1), "run-2").unwrap();
        assert!(claim(&io, "s", "k", DataHash(1), "run-3", until + 120).unwrap());
    }

    #[test]
    fn the_ledger_of_some_orders_holds_only_their_rows() {
        let io = io();
        record(&io, "s", "A1/1", "A1", DataHash(1), None, 1).unwrap();
        record(&io, "s", "B2/1", "B2", DataHash(2), None, 1).unwrap();
        record(
            &io,
            "other",
            "A1/1",
            "A1",
            DataHash(3),
            Some("note".into()),
            1,
        )
        .unwrap();
        let ledger = load(&io, "s", &["A1"]).unwrap();
        assert_eq!(ledger.len(), 1);
        assert_eq!(accepted(&io, "s", "B2/1").unwrap(), Some(DataHash(2)));
    }
}
