//! What the console's store list (ストア一覧) shows of each store beside its settings: whether
//! auto-export and auto-fetch are on, its newest write-back and import, and the orders waiting.

use serde::Serialize;

use crate::io::{Io, IoError};
use crate::runlog::{self, Run};
use crate::shops::Store;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreSummary {
    pub auto_export: bool,
    pub auto_fetch: bool,
    /// Orders with shipping work left (pending until the cart has them).
    pub pending_orders: i64,
    /// The newest write-back: its failed and deferred counts are the last run's.
    pub last_write_back: Option<Run>,
    pub last_import: Option<Run>,
}

pub fn of(io: &impl Io, store: &Store) -> Result<StoreSummary, IoError> {
    Ok(StoreSummary {
        auto_export: store.settings.export().auto_export,
        auto_fetch: store.settings.import().auto_fetch,
        pending_orders: crate::pending::count(io, &store.id)?,
        last_write_back: runlog::last_of_kind(io, &store.id, "write_back")?,
        last_import: runlog::last_of_kind(io, &store.id, "import")?,
    })
}

/// The store as routes return it, with its summary.
pub fn view(io: &impl Io, store: &Store) -> Result<serde_json::Value, IoError> {
    let mut view = serde_json::to_value(store.view())
        .map_err(|e| IoError(format!("store view does not serialize: {e}")))?;
    view["summary"] = serde_json::json!(of(io, store)?);
    Ok(view)
}
