//! `Io` for native runs (tests, benchmarks): rusqlite, an in-memory key-value map, a settable
//! clock, and whatever sender the caller plugs in (a fake cart in-process, or a loopback client).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mallsync_carts::{Request, Response, TransportError};
use rusqlite::types::ValueRef;

use crate::io::{Io, IoError, Rows, Value};

type Sender = Box<dyn Fn(Request) -> Result<Response, TransportError> + Send + Sync>;

/// The `encryption_key` every `NativeIo` starts with (tests only: it is public).
pub const TEST_ENCRYPTION_KEY: &str =
    "6d616c6c73796e632d746573742d6b65792d6e6f742d666f722d70726f642121";

/// The clock: fixed until moved, so tests see exactly the times they set. `sleep` moves it.
pub struct NativeIo {
    db: Mutex<rusqlite::Connection>,
    kv: Mutex<HashMap<String, Vec<u8>>>,
    variables: HashMap<String, String>,
    clock: Mutex<DateTime<Utc>>,
    /// How far each `send` moves the clock: the cart's response time, as a run's budget sees it.
    send_latency: chrono::Duration,
    sender: Sender,
    /// Told whenever the clock moves (a fake cart's clock follows mallsync's).
    on_advance: Option<Box<dyn Fn(chrono::Duration) + Send + Sync>>,
}

impl NativeIo {
    /// An in-memory database; every request sent is answered by `sender`.
    pub fn in_memory(
        now: DateTime<Utc>,
        sender: impl Fn(Request) -> Result<Response, TransportError> + Send + Sync + 'static,
    ) -> Result<NativeIo, IoError> {
        let db = rusqlite::Connection::open_in_memory().map_err(sqlite_error)?;
        Ok(NativeIo::with_connection(db, now, sender))
    }

    /// A database file (shared between several `NativeIo`s to model separate instances).
    pub fn open(
        path: &std::path::Path,
        now: DateTime<Utc>,
        sender: impl Fn(Request) -> Result<Response, TransportError> + Send + Sync + 'static,
    ) -> Result<NativeIo, IoError> {
        let db = rusqlite::Connection::open(path).map_err(sqlite_error)?;
        db.busy_timeout(Duration::from_secs(5))
            .map_err(sqlite_error)?;
        Ok(NativeIo::with_connection(db, now, sender))
    }

    fn with_connection(
        db: rusqlite::Connection,
        now: DateTime<Utc>,
        sender: impl Fn(Request) -> Result<Response, TransportError> + Send + Sync + 'static,
    ) -> NativeIo {
        NativeIo {
            db: Mutex::new(db),
            kv: Mutex::new(HashMap::new()),
            // A fixed key so tests and benchmarks seal secrets as a deployment does;
            // `with_variable(KEY_VARIABLE, …)` replaces it ("" unsets it).
            variables: HashMap::from([(
                crate::crypto::KEY_VARIABLE.to_string(),
                TEST_ENCRYPTION_KEY.to_string(),
            )]),
            clock: Mutex::new(now),
            send_latency: chrono::Duration::zero(),
            sender: Box::new(sender),
            on_advance: None,
        }
    }

    pub fn with_variable(mut self, name: &str, value: &str) -> NativeIo {
        self.variables.insert(name.to_string(), value.to_string());
        self
    }

    /// Every request sent takes `latency` on the clock.
    pub fn with_send_latency(mut self, latency: chrono::Duration) -> NativeIo {
        self.send_latency = latency;
        self
    }

    pub fn set_now(&self, now: DateTime<Utc>) {
        if let Ok(mut clock) = self.clock.lock() {
            *clock = now;
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut clock) = self.clock.lock() {
            *clock += by;
        }
        if let Some(follow) = &self.on_advance {
            follow(by);
        }
    }

    /// Calls `follow` with every move of the clock (waits, `advance`), so a fake cart's clock
    /// keeps step with the service's: a paced run is then paced in the cart's eyes too.
    pub fn on_advance(
        mut self,
        follow: impl Fn(chrono::Duration) + Send + Sync + 'static,
    ) -> NativeIo {
        self.on_advance = Some(Box::new(follow));
        self
    }
}

/// Sends over plain HTTP with ureq: enough for loopback fake carts (no TLS on purpose). Every
/// status comes back as a response, for the cart clients to classify.
pub fn loopback_sender() -> impl Fn(Request) -> Result<Response, TransportError> + Send + Sync {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    move |request: Request| {
        let response = agent
            .run(request)
            .map_err(|e| TransportError(e.to_string()))?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .read_to_vec()
            .map_err(|e| TransportError(format!("reading the body: {e}")))?;
        Ok(Response::from_parts(parts, bytes))
    }
}

fn sqlite_error(e: rusqlite::Error) -> IoError {
    IoError(format!("sqlite: {e}"))
}

fn poisoned<T>(_: T) -> IoError {
    IoError("a previous test panicked while holding the native store".into())
}

impl Io for NativeIo {
    fn sql(&self, statement: &str, params: &[Value]) -> Result<Rows, IoError> {
        let db = self.db.lock().map_err(poisoned)?;
        let mut stmt = db.prepare_cached(statement).map_err(sqlite_error)?;
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let bound: Vec<rusqlite::types::Value> = params
            .iter()
            .map(|v| match v {
                Value::Null => rusqlite::types::Value::Null,
                Value::Integer(i) => rusqlite::types::Value::Integer(*i),
                Value::Real(f) => rusqlite::types::Value::Real(*f),
                Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
                Value::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
            })
            .collect();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(bound))
            .map_err(sqlite_error)?;
        let mut out = Rows {
            columns: columns.clone(),
            rows: Vec::new(),
        };
        while let Some(row) = rows.next().map_err(sqlite_error)? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(match row.get_ref(i).map_err(sqlite_error)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(i) => Value::Integer(i),
                    ValueRef::Real(f) => Value::Real(f),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                });
            }
            out.rows.push(values);
        }
        Ok(out)
    }

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, IoError> {
        Ok(self.kv.lock().map_err(poisoned)?.get(key).cloned())
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), IoError> {
        self.kv
            .lock()
            .map_err(poisoned)?
            .insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn kv_delete(&self, key: &str) -> Result<(), IoError> {
        self.kv.lock().map_err(poisoned)?.remove(key);
        Ok(())
    }

    fn send(&self, request: Request) -> Result<Response, TransportError> {
        let response = (self.sender)(request);
        self.advance(self.send_latency);
        response
    }

    fn now(&self) -> DateTime<Utc> {
        *self
            .clock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sleep(&self, duration: Duration) {
        if let Ok(d) = chrono::Duration::from_std(duration) {
            self.advance(d);
        }
    }

    fn variable(&self, name: &str) -> Option<String> {
        self.variables.get(name).filter(|v| !v.is_empty()).cloned()
    }
}
