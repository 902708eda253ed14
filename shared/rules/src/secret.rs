//! Credentials are write-only: stored, sent to the cart, never logged or returned.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string. `Debug` and `Display` print a mask; serialization keeps the value (for storage
/// only; routes return `masked()`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// What `masked()` shows for a secret that is set.
    pub const MASK: &'static str = "********";

    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for building a request to the cart. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// What an operator sees: whether it is set, never the value.
    pub fn masked(&self) -> &'static str {
        if self.is_empty() {
            ""
        } else {
            Self::MASK
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = Secret::new("tok-123");
        assert_eq!(format!("{s:?}"), "********");
        assert_eq!(s.expose(), "tok-123");
    }
}
