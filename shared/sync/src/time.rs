//! Times as the service stores them: whole seconds since the Unix epoch (UTC) in SQLite.

use chrono::{DateTime, Utc};

/// A stored time. Only values written by this service are read back, all within chrono's range,
/// so the epoch fallback is never reached in practice.
pub fn from_seconds(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}
