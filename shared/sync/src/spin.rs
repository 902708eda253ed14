//! `Io` on the Spin platform (spin-sdk 5.2, `fermyon:spin@2.0.0` interfaces: Fermyon Cloud's),
//! and the entry points a component calls: `serve` (a cart component) and `serve_dispatcher`.

use std::cell::OnceCell;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mallsync_carts::{Request, Response, TransportError};
use mallsync_rules::Cart;
use spin_sdk::{key_value, sqlite, variables};

use crate::io::{Io, IoError, Rows, Value};

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
                    TransportError::refused(&target)
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

/// The Spin request as an `http::Request`; what does not convert is a 400.
fn to_http(request: &spin_sdk::http::Request) -> Result<http::Request<Vec<u8>>, String> {
    let method: http::Method = request.method().clone().into();
    let mut builder = http::Request::builder()
        .method(method)
        .uri(request.path_and_query().unwrap_or(request.path()));
    for (name, value) in request.headers() {
        builder = builder.header(name, value.as_bytes());
    }
    builder
        .body(request.body().to_vec())
        .map_err(|e| format!("the request does not parse: {e}"))
}

fn from_http(response: http::Response<Vec<u8>>) -> spin_sdk::http::Response {
    let status = response.status().as_u16();
    let mut builder = spin_sdk::http::Response::builder();
    builder.status(status);
    for (name, value) in response.headers() {
        builder.header(name.as_str(), value.to_str().unwrap_or_default());
    }
    builder.body(response.into_body()).build()
}

fn bad_request(message: String) -> spin_sdk::http::Response {
    from_http(crate::ApiError::invalid("$", message).into_response())
}

/// The whole body of a cart component: the response, and the work to do once it is sent
/// (`follow_up`).
pub fn serve_then(
    cart: Cart,
    request: spin_sdk::http::Request,
) -> (spin_sdk::http::Response, Option<crate::routes::FollowUp>) {
    match to_http(&request) {
        Ok(request) => {
            let (response, follow_up) =
                crate::routes::handle_then(cart, &SpinIo::default(), request);
            (from_http(response), follow_up)
        }
        Err(message) => (bad_request(message), None),
    }
}

/// Runs the work a request left for after its response; the outcome is in the run log.
pub fn follow_up(cart: Cart, work: crate::routes::FollowUp) {
    if let Err(e) = work.run(cart, &SpinIo::default()) {
        eprintln!(
            "mallsync {}: follow-up work failed: {}",
            cart.slug(),
            e.message()
        );
    }
}

/// The dispatcher component's scheduled tick (cron trigger or an HTTP route that authenticated
/// the caller): every cart's due stores.
pub fn tick() -> Result<crate::DispatchReport, crate::ApiError> {
    crate::dispatch(&SpinIo::default())
}

/// The dispatcher component's HTTP route: `POST` runs one tick, behind the admin token.
pub fn serve_dispatcher(request: spin_sdk::http::Request) -> spin_sdk::http::Response {
    let request = match to_http(&request) {
        Ok(request) => request,
        Err(message) => return bad_request(message),
    };
    let io = SpinIo::default();
    let result = crate::auth::require_admin(&io, &request).and_then(|()| {
        if request.method() != http::Method::POST {
            return Err(crate::ApiError::MethodNotAllowed(vec!["POST"]));
        }
        crate::dispatch(&io)
    });
    from_http(match result {
        Ok(report) => crate::response::json(200, &serde_json::json!(report)),
        Err(e) => e.into_response(),
    })
}
