//! The one seam between the service and its platform: SQLite, key-value, variables, outbound HTTP
//! and the clock. Spin implements it in the components (`crate::spin`), rusqlite in tests
//! (`crate::native`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use mallsync_carts::{Request, Response, TransportError};

/// A SQLite value, as both Spin's `sqlite` module and rusqlite know them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Integer(i)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// A statement's result, fully buffered (as Spin returns it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Rows {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row {
            columns: &self.columns,
            values,
        })
    }

    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }
}

/// One row, read by column name.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [Value],
}

impl<'a> Row<'a> {
    pub fn get(&self, column: &str) -> Option<&'a Value> {
        let i = self.columns.iter().position(|c| c == column)?;
        self.values.get(i)
    }

    pub fn text(&self, column: &str) -> Result<&'a str, IoError> {
        self.get(column)
            .and_then(Value::as_str)
            .ok_or_else(|| IoError::column(column, "text"))
    }

    pub fn opt_text(&self, column: &str) -> Option<&'a str> {
        self.get(column).and_then(Value::as_str)
    }

    pub fn int(&self, column: &str) -> Result<i64, IoError> {
        self.get(column)
            .and_then(Value::as_i64)
            .ok_or_else(|| IoError::column(column, "integer"))
    }

    pub fn opt_int(&self, column: &str) -> Option<i64> {
        self.get(column).and_then(Value::as_i64)
    }
}

/// A platform call failed. The text is for the log; routes answer 500 without echoing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IoError(pub String);

impl IoError {
    fn column(column: &str, kind: &str) -> IoError {
        IoError(format!("column {column}: expected {kind}"))
    }
}

/// Everything the service needs from its platform. One `sql` call runs exactly one statement
/// (Spin's rule); atomic steps are single statements (`INSERT … ON CONFLICT … RETURNING`).
pub trait Io {
    fn sql(&self, statement: &str, params: &[Value]) -> Result<Rows, IoError>;
    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, IoError>;
    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), IoError>;
    fn kv_delete(&self, key: &str) -> Result<(), IoError>;
    /// One outbound HTTP request, run to completion.
    fn send(&self, request: Request) -> Result<Response, TransportError>;
    fn now(&self) -> DateTime<Utc>;
    /// Waits (a retry's back-off). Tests advance a fake clock instead.
    fn sleep(&self, duration: Duration);
    /// A Spin variable (`admin_token`, …); `None` when unset or empty.
    fn variable(&self, name: &str) -> Option<String>;
    /// Fills `buf` with random bytes for tokens, secrets and OAuth states.
    fn random(&self, buf: &mut [u8]) -> Result<(), IoError> {
        getrandom::getrandom(buf).map_err(|e| IoError(format!("random bytes: {e}")))
    }
}

/// `bytes` random bytes as lowercase hex: ids, tokens and secrets.
pub fn random_hex(io: &impl Io, bytes: usize) -> Result<String, IoError> {
    let mut buf = vec![0u8; bytes];
    io.random(&mut buf)?;
    Ok(crate::encoding::hex(&buf))
}
