//! The service's `Io` on the Spin platform (spin-sdk 5.2, `fermyon:spin@2.0.0` interfaces:
//! Fermyon Cloud's).

use std::cell::OnceCell;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mallsync_sync::io::{Io, IoError, Rows, Value};
use mallsync_sync::routes::{Request, Response};
use mallsync_sync::TransportError;
use spin_sdk::{key_value, sqlite, variables};

/// The default SQLite database and key-value store (spin.toml: `sqlite_databases` and
/// `key_value_stores` = ["default"]), opened on first use.
#[derive(Default)]
pub struct SpinIo {
    db: OnceCell<sqlite::Connection>,
    kv: OnceCell<key_value::Store>,
}

impl SpinIo {
    fn db(&self) -> Result<&sqlite::Connection, IoError> {
        if let Some(db) = self.db.get() {
            return Ok(db);
        }
        let db = sqlite::Connection::open_default()
            .map_err(|e| IoError(format!("sqlite database default: {e}")))?;
        Ok(self.db.get_or_init(|| db))
    }

    fn kv(&self) -> Result<&key_value::Store, IoError> {
        if let Some(kv) = self.kv.get() {
            return Ok(kv);
        }
        let kv = key_value::Store::open_default()
            .map_err(|e| IoError(format!("key-value store default: {e}")))?;
        Ok(self.kv.get_or_init(|| kv))
    }
}

/// Tries of a statement that met a locked database (10 ms doubling: about 1.2 s in all).
const BUSY_RETRIES: u32 = 7;

fn is_busy(error: &sqlite::Error) -> bool {
    let text = error.to_string().to_ascii_lowercase();
    text.contains("database is locked") || text.contains("busy")
}

fn to_spin(value: &Value) -> sqlite::Value {
    match value {
        Value::Null => sqlite::Value::Null,
        Value::Integer(i) => sqlite::Value::Integer(*i),
        Value::Real(f) => sqlite::Value::Real(*f),
        Value::Text(s) => sqlite::Value::Text(s.clone()),
        Value::Blob(b) => sqlite::Value::Blob(b.clone()),
    }
}

fn from_spin(value: sqlite::Value) -> Value {
    match value {
        sqlite::Value::Null => Value::Null,
        sqlite::Value::Integer(i) => Value::Integer(i),
        sqlite::Value::Real(f) => Value::Real(f),
        sqlite::Value::Text(s) => Value::Text(s),
        sqlite::Value::Blob(b) => Value::Blob(b),
    }
}

impl Io for SpinIo {
    /// One statement. A database another instance holds for writing (`database is locked` /
    /// busy) is tried again a few times, briefly: concurrent webhooks must not become 500s.
    fn sql(&self, statement: &str, params: &[Value]) -> Result<Rows, IoError> {
        let params: Vec<sqlite::Value> = params.iter().map(to_spin).collect();
        let mut tries = 0;
        let result = loop {
            match self.db()?.execute(statement, &params) {
                Ok(result) => break result,
                Err(e) if tries < BUSY_RETRIES && is_busy(&e) => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(10 << tries.min(5)));
                }
                Err(e) => return Err(IoError(format!("sqlite: {e}"))),
            }
        };
        Ok(Rows {
            columns: result.columns,
            rows: result
                .rows
                .into_iter()
                .map(|row| row.values.into_iter().map(from_spin).collect())
                .collect(),
        })
    }

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, IoError> {
        self.kv()?
            .get(key)
            .map_err(|e| IoError(format!("key-value get {key}: {e}")))
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), IoError> {
        self.kv()?
            .set(key, value)
            .map_err(|e| IoError(format!("key-value set {key}: {e}")))
    }

    fn kv_delete(&self, key: &str) -> Result<(), IoError> {
        self.kv()?
            .delete(key)
            .map_err(|e| IoError(format!("key-value delete {key}: {e}")))
    }

    /// Spin's outbound HTTP, run to completion (the handler is synchronous). A host outside the
    /// component's `allowed_outbound_hosts` comes back as a transport error naming it.
    fn send(&self, request: Request) -> Result<Response, TransportError> {
        let target = request.uri().to_string();
        let response: spin_sdk::http::Response = spin_sdk::http::run(spin_sdk::http::send(request))
            .map_err(|e| {
                if matches!(
                    e,
                    spin_sdk::http::SendError::Http(spin_sdk::http::ErrorCode::HttpRequestDenied)
                ) {
                    // The platform's own word stays in the text, for the operator.
                    TransportError(format!("{} ({e})", TransportError::refused(&target).0))
                } else {
                    TransportError(format!("{target}: {e}"))
                }
            })?;
        let mut out = http::Response::new(response.body().to_vec());
        *out.status_mut() = http::StatusCode::from_u16(*response.status()).map_err(|_| {
            TransportError(format!("{target}: invalid status {}", response.status()))
        })?;
        for (name, value) in response.headers() {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value.as_bytes()),
            ) {
                out.headers_mut().append(name, value);
            }
        }
        Ok(out)
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn variable(&self, name: &str) -> Option<String> {
        variables::get(name).ok().filter(|v| !v.is_empty())
    }
}
