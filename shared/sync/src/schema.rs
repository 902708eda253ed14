//! The SQLite schema, created lazily: every request first checks one `schema_version` row and
//! runs the (idempotent) statements only when it is missing or old. Times are Unix seconds (UTC).

use crate::io::{Io, IoError, Value};

/// Bump when `STATEMENTS` or `UPGRADES` change; every statement must stay safe to run again.
pub const VERSION: i64 = 3;

/// One statement per entry (Spin runs one statement per call).
const STATEMENTS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)",
    // token_hash: SHA-256 of the shop's API token (only ever compared). webhook_secret is sealed
    // with the encryption key (crate::crypto): verifying an HMAC needs the secret itself.
    "CREATE TABLE IF NOT EXISTS shops (id TEXT PRIMARY KEY, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, webhook_secret TEXT NOT NULL, created_at INTEGER NOT NULL)",
    // settings: the cart's settings JSON, credentials included, sealed with the encryption key;
    // routes never return it unmasked.
    "CREATE TABLE IF NOT EXISTS stores (id TEXT PRIMARY KEY, shop_id TEXT NOT NULL REFERENCES shops(id), cart TEXT NOT NULL, name TEXT NOT NULL, settings TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS stores_by_shop ON stores (shop_id, cart)",
    // updated_at: the order's last change in the OMS (its order time when never updated), the
    // key of the planning query.
    "CREATE TABLE IF NOT EXISTS orders (store_id TEXT NOT NULL, order_id TEXT NOT NULL, body TEXT NOT NULL, updated_at INTEGER NOT NULL, received_at INTEGER NOT NULL, PRIMARY KEY (store_id, order_id))",
    "CREATE INDEX IF NOT EXISTS orders_by_update ON orders (store_id, updated_at)",
    // What each cart accepted: one row per ledger key, with the hash of the data sent.
    "CREATE TABLE IF NOT EXISTS ledger (store_id TEXT NOT NULL, ledger_key TEXT NOT NULL, order_id TEXT NOT NULL, data_hash TEXT NOT NULL, accepted_at INTEGER NOT NULL, run_id INTEGER, PRIMARY KEY (store_id, ledger_key))",
    "CREATE INDEX IF NOT EXISTS ledger_by_order ON ledger (store_id, order_id)",
    // A run's claim on sending one update: two runs cannot both hold the same (key, hash).
    "CREATE TABLE IF NOT EXISTS claims (store_id TEXT NOT NULL, ledger_key TEXT NOT NULL, data_hash TEXT NOT NULL, owner TEXT NOT NULL, until INTEGER NOT NULL, PRIMARY KEY (store_id, ledger_key, data_hash))",
    "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT, store_id TEXT NOT NULL, kind TEXT NOT NULL, trigger TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, sent INTEGER NOT NULL DEFAULT 0, excluded INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, imported INTEGER NOT NULL DEFAULT 0, note TEXT)",
    "CREATE INDEX IF NOT EXISTS runs_by_store ON runs (store_id, id)",
    "CREATE TABLE IF NOT EXISTS run_orders (run_id INTEGER NOT NULL, order_id TEXT NOT NULL, ledger_key TEXT, outcome TEXT NOT NULL, reason_code TEXT, message TEXT, message_ja TEXT, fields TEXT)",
    "CREATE INDEX IF NOT EXISTS run_orders_by_run ON run_orders (run_id)",
    // seq is the OMS's cursor: assigned once per order in commit order, never reused.
    "CREATE TABLE IF NOT EXISTS imported_orders (seq INTEGER PRIMARY KEY AUTOINCREMENT, store_id TEXT NOT NULL, order_id TEXT NOT NULL, body TEXT NOT NULL, imported_at INTEGER NOT NULL, UNIQUE (store_id, order_id))",
    "CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cursors (store_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (store_id, kind))",
    // BASE OAuth: the state handed to the browser, hashed, bound to one store, with an expiry.
    // Signed webhook deliveries seen, kept until their signature's time window has passed: a
    // replay inside the window is refused.
    "CREATE TABLE IF NOT EXISTS webhook_deliveries (store_id TEXT NOT NULL, signature TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (store_id, signature))",
    "CREATE TABLE IF NOT EXISTS oauth_states (state_hash TEXT PRIMARY KEY, store_id TEXT NOT NULL, expires_at INTEGER NOT NULL)",
    // One request budget per cart account (pacing.rs): a token bucket (`tat_ms`), hour and JST
    // day counters, and a lockout the cart reported.
    "CREATE TABLE IF NOT EXISTS rate_budget (account TEXT PRIMARY KEY, tat_ms INTEGER NOT NULL, blocked_until_ms INTEGER NOT NULL, hour INTEGER NOT NULL, hour_used INTEGER NOT NULL, day INTEGER NOT NULL, day_used INTEGER NOT NULL)",
    // Orders with shipping work left (pending.rs): due at `due_at`; `generation` grows with every
    // new version of the order, so a run never settles a version it did not plan.
    "CREATE TABLE IF NOT EXISTS pending (store_id TEXT NOT NULL, order_id TEXT NOT NULL, due_at INTEGER NOT NULL, generation INTEGER NOT NULL DEFAULT 1, attempts INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (store_id, order_id))",
    "CREATE INDEX IF NOT EXISTS pending_by_due ON pending (store_id, due_at)",
    // Stores whose credentials the cart refused for good: the operator must reconnect.
    "CREATE TABLE IF NOT EXISTS store_alerts (store_id TEXT NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL, message_ja TEXT NOT NULL, since INTEGER NOT NULL, PRIMARY KEY (store_id, kind))",
    // Where a shop's notifications go (notify.rs): url and secret sealed with the encryption key.
    "CREATE TABLE IF NOT EXISTS notification_destinations (id TEXT PRIMARY KEY, shop_id TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, url TEXT NOT NULL, secret TEXT, events TEXT NOT NULL, lapse_warning_days INTEGER NOT NULL, created_at INTEGER NOT NULL)",
    // One row per event and destination; the unique key is what makes an event go out once.
    "CREATE TABLE IF NOT EXISTS notification_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, destination_id TEXT NOT NULL, shop_id TEXT NOT NULL, store_id TEXT, event TEXT NOT NULL, event_key TEXT NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, claimed_until INTEGER NOT NULL, sent_at INTEGER, failed_at INTEGER, last_error TEXT, UNIQUE (destination_id, event_key))",
    "CREATE INDEX IF NOT EXISTS notification_outbox_due ON notification_outbox (status, next_at)",
    "CREATE INDEX IF NOT EXISTS notification_outbox_by_store ON notification_outbox (store_id)",
];

/// Changes to tables created by an earlier version, each run once per database (SQLite has no
/// `ADD COLUMN IF NOT EXISTS`: a column that is already there is not an error here).
const UPGRADES: &[(i64, &str)] = &[
    // Work a run left for the next one (time or request budget), counted apart from failures.
    (
        2,
        "ALTER TABLE runs ADD COLUMN deferred INTEGER NOT NULL DEFAULT 0",
    ),
    // What the buyer was told with an accepted update (BASE: the tracking number dispatched), so
    // a later correction can name it.
    (2, "ALTER TABLE ledger ADD COLUMN note TEXT"),
];

/// Creates or upgrades the schema when the version row says so; otherwise one cheap SELECT.
pub fn ensure(io: &impl Io) -> Result<(), IoError> {
    let current = io
        .sql("SELECT version FROM schema_version WHERE id = 1", &[])
        .ok()
        .and_then(|rows| rows.first().and_then(|r| r.opt_int("version")));
    if current.is_some_and(|v| v >= VERSION) {
        return Ok(());
    }
    for statement in STATEMENTS {
        io.sql(statement, &[])?;
    }
    for (version, statement) in UPGRADES {
        if current.is_none_or(|v| v < *version) {
            match io.sql(statement, &[]) {
                Ok(_) => {}
                // Another instance upgraded at the same time, or the table was just created
                // with the column.
                Err(e) if e.0.contains("duplicate column") => {}
                Err(e) => return Err(e),
            }
        }
    }
    io.sql(
        "INSERT INTO schema_version (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version WHERE schema_version.version < excluded.version",
        &[Value::Integer(VERSION)],
    )?;
    Ok(())
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::native::NativeIo;

    fn io() -> NativeIo {
        NativeIo::in_memory(chrono::Utc::now(), |_| {
            Err(mallsync_carts::TransportError(
                "no cart in this test".into(),
            ))
        })
        .unwrap()
    }

    #[test]
    fn running_the_migrations_twice_is_harmless_and_records_the_version() {
        let io = io();
        ensure(&io).unwrap();
        // Forget the version: every statement runs again over the existing tables.
        io.sql("DELETE FROM schema_version", &[]).unwrap();
        ensure(&io).unwrap();
        let rows = io.sql("SELECT version FROM schema_version", &[]).unwrap();
        assert_eq!(rows.first().unwrap().int("version").unwrap(), VERSION);
    }

    #[test]
    fn the_planning_query_uses_the_store_and_update_time_index() {
        let io = io();
        ensure(&io).unwrap();
        let plan = io
            .sql(
                "EXPLAIN QUERY PLAN SELECT body FROM orders WHERE store_id = ? AND updated_at >= ?",
                &[Value::text("s"), Value::Integer(0)],
            )
            .unwrap();
        let detail: Vec<String> = plan
            .iter()
            .filter_map(|r| r.opt_text("detail").map(str::to_string))
            .collect();
        assert!(
            detail.iter().any(|d| d.contains("orders_by_update")),
            "{detail:?}"
        );
    }
}
