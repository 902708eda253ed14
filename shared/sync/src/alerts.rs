//! What a store needs from its operator before it can sync again (e.g. "needs reconnection"),
//! kept until the cause is gone, in Japanese and English.

use chrono::{DateTime, Utc};
use mallsync_carts::{CartError, Connector};
use serde::Serialize;

use crate::io::{Io, IoError};
use crate::time;

/// The cart refused the store's refresh token or credentials: someone must connect it again.
pub const NEEDS_RECONNECTION: &str = "needs_reconnection";

/// One standing alert of a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub kind: String,
    pub message: String,
    pub message_ja: String,
    pub since: DateTime<Utc>,
}

/// Raises `kind` for the store (keeping the first time it was raised).
pub fn raise(
    io: &impl Io,
    store_id: &str,
    kind: &str,
    message: &str,
    message_ja: &str,
) -> Result<(), IoError> {
    io.sql(
        "INSERT INTO store_alerts (store_id, kind, message, message_ja, since) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (store_id, kind) DO UPDATE SET message = excluded.message, message_ja = excluded.message_ja",
        &[
            store_id.into(),
            kind.into(),
            message.into(),
            message_ja.into(),
            io.now().timestamp().into(),
        ],
    )?;
    Ok(())
}

/// The cart refused the token renewal: the store must be connected again.
pub fn raise_needs_reconnection<C: Connector>(
    io: &impl Io,
    store_id: &str,
    error: &CartError,
) -> Result<(), IoError> {
    let cart = C::CART.display_name();
    raise(
        io,
        store_id,
        NEEDS_RECONNECTION,
        &format!("{cart} refused to renew the access token ({error}). Connect the store to {cart} again; nothing syncs until then."),
        &format!("{cart}がアクセストークンの更新を拒否しました。ストアを{cart}に再接続してください（再接続するまで同期は止まります）。"),
    )
}

pub fn clear(io: &impl Io, store_id: &str, kind: &str) -> Result<(), IoError> {
    io.sql(
        "DELETE FROM store_alerts WHERE store_id = ? AND kind = ?",
        &[store_id.into(), kind.into()],
    )?;
    Ok(())
}

/// The store's standing alerts.
pub fn list(io: &impl Io, store_id: &str) -> Result<Vec<Alert>, IoError> {
    io.sql(
        "SELECT kind, message, message_ja, since FROM store_alerts WHERE store_id = ? ORDER BY kind",
        &[store_id.into()],
    )?
    .iter()
    .map(|r| {
        Ok(Alert {
            kind: r.text("kind")?.to_string(),
            message: r.text("message")?.to_string(),
            message_ja: r.text("message_ja")?.to_string(),
            since: time::from_seconds(r.int("since")?),
        })
    })
    .collect()
}
