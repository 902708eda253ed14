//! Errors as values: every bad field is named, with a message an operator can act on.

use std::fmt;

use serde::Serialize;

/// One bad field: where it is (a JSON-path-like name) and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// All the problems found in one input, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct Error {
    pub problems: Vec<FieldError>,
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            problems: vec![FieldError {
                field: field.into(),
                message: message.into(),
            }],
        }
    }

    /// The field of the first problem (handy in tests and logs).
    pub fn field(&self) -> Option<&str> {
        self.problems.first().map(|p| p.field.as_str())
    }

    /// The same problems, with their field names put under `prefix` (e.g. `orders[3]`).
    pub fn within(mut self, prefix: &str) -> Error {
        for p in &mut self.problems {
            p.field = format!("{prefix}.{}", p.field);
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", p.field, p.message)?;
        }
        Ok(())
    }
}

/// Collects problems across many checks, then yields `Ok` or one `Error` holding them all.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Problems {
        Problems::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn extend(&mut self, error: Error) {
        self.0.extend(error.problems);
    }

    pub fn into_result(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error { problems: self.0 })
        }
    }
}
