//! One page of an import, on its own so the connector (which names it) and the exchanges (which
//! build it) both depend on it and not on each other.

use mallsync_rules::ImportedOrder;

/// One step of an import: the orders one request brought, whole, and where the next step starts.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportPage<C> {
    pub orders: Vec<ImportedOrder>,
    /// `None`: the window is done.
    pub next: Option<C>,
}
