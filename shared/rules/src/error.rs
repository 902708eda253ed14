//! Errors as values: every bad field is named, with a message an operator can act on.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// One bad field: where it is (a JSON-path-like name) and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    /// In English.
    pub message: String,
    /// The same in Japanese, where an operator reads it (store settings and names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_ja: Option<String>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
            message_ja: None,
        }
    }

    /// A problem an operator reads: Japanese and English.
    pub fn ja_en(
        field: impl Into<String>,
        ja: impl Into<String>,
        en: impl Into<String>,
    ) -> FieldError {
        FieldError {
            field: field.into(),
            message: en.into(),
            message_ja: Some(ja.into()),
        }
    }
}

/// All the problems found in one input, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct Error {
    pub problems: Vec<FieldError>,
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            problems: vec![FieldError::new(field, message)],
        }
    }

    /// One problem in Japanese and English.
    pub fn ja_en(field: impl Into<String>, ja: impl Into<String>, en: impl Into<String>) -> Error {
        Error {
            problems: vec![FieldError::ja_en(field, ja, en)],
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

/// Parses JSON (an OMS order, a webhook body, settings fields) into `T`. A field of the wrong type,
/// a malformed date or an unknown carrier is an error naming the field's path, e.g. `[2].ship_date`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut json).map_err(naming_the_field)?;
    json.end()
        .map_err(|e| Error::invalid("$", format!("unexpected data after the JSON value: {e}")))?;
    Ok(value)
}

/// serde's error, under the path of the field it is about (`$` for the whole input).
pub(crate) fn naming_the_field(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = e.path().to_string();
    let field = if path == "." { "$".to_string() } else { path };
    Error::invalid(field, e.into_inner().to_string())
}

/// Collects problems across many checks, then yields `Ok` or one `Error` holding them all.
#[derive(Debug, Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn new() -> Problems {
        Problems::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// A problem an operator reads on a settings screen: Japanese and English.
    pub fn add_ja_en(
        &mut self,
        field: impl Into<String>,
        ja: impl Into<String>,
        en: impl Into<String>,
    ) {
        self.0.push(FieldError::ja_en(field, ja, en));
    }

    pub fn extend(&mut self, error: Error) {
        self.0.extend(error.problems);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a problem is already recorded at `field` or below it.
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|p| {
            p.field == field
                || p.field
                    .strip_prefix(field)
                    .is_some_and(|rest| rest.starts_with(['.', '[']))
        })
    }

    /// Adds the problems of `other` at fields that have none yet.
    pub fn extend_new(&mut self, other: Problems) {
        for problem in other.0 {
            if !self.has(&problem.field) {
                self.0.push(problem);
            }
        }
    }

    pub fn into_result(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error { problems: self.0 })
        }
    }
}
