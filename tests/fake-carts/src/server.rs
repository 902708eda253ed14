//! The part every fake shares: a loopback HTTP server on a background thread, the record of every
//! call, fault injection, a rate limiter and a clock tests can move forward.

use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::faults::{Fault, Faults};

/// One cart's behaviour: answers a call from its state. Each fake (`FakeBase`, …) is a
/// [`FakeServer`] around one of these.
pub trait Cart: Send + 'static {
    /// Answers one call as the cart documents, changing state as the cart would.
    fn handle(&mut self, call: &RecordedCall, now: DateTime<Utc>) -> Reply;
    /// The cart's answer when its rate limit is exceeded.
    fn rate_limited(&self, retry_after: Option<Duration>) -> Reply;
    /// The cart's answer to an expired or unknown access token.
    fn token_expired(&self) -> Reply;
    /// The cart's answer to a server-side failure with this status.
    fn server_error(&self, status: u16) -> Reply {
        Reply::json(
            status,
            &serde_json::json!({"error": "server_error", "message": "injected fault"}),
        )
    }
}

/// One request as the fake received it, and the status it was answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedCall {
    pub method: String,
    /// The path without the query, as sent (still percent-encoded).
    pub path: String,
    /// The query, decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub status: u16,
}

impl RecordedCall {
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method.eq_ignore_ascii_case(method) && self.path == path
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated query parameter (`status[]=P&status[]=C`).
    pub fn query_params(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, or None when it is not JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as `application/x-www-form-urlencoded` pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(&self.body).into_owned().collect()
    }

    pub fn form_param(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The token of an `Authorization: Bearer …` header.
    pub fn bearer_token(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    }

    /// The user and password of an `Authorization: Basic …` header.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        let value = self.header("authorization")?;
        let (scheme, encoded) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_string(), password.to_string()))
    }

    /// Whether the body was declared as JSON (`Content-Type: application/json`).
    pub fn has_json_content_type(&self) -> bool {
        self.header("content-type").is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
    }

    /// The path's segments, percent-decoded, without empty ones.
    pub fn segments(&self) -> Vec<String> {
        self.path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect()
    }
}

/// A fake's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// A status with no body at all.
    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// 200 with JSON cut off in the middle: what a proxy that drops the connection leaves behind.
    fn malformed_json() -> Reply {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: br#"{"orders":[{"id":"#.to_vec(),
        }
    }
}

/// The fake's "now": the wall clock plus however far a test has moved it.
#[derive(Debug, Clone, Default)]
pub struct Clock(Arc<Mutex<Duration>>);

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        let offset = *lock(&self.0);
        Utc::now() + chrono::Duration::from_std(offset).unwrap_or(chrono::Duration::MAX)
    }

    /// Moves the fake's time forward (token expiry, rate-limit windows) without waiting.
    pub fn advance(&self, by: Duration) {
        *lock(&self.0) += by;
    }
}

/// At most `max_requests` per `window`; going over answers "rate limited" until the window ends,
/// or, with a `lockout`, for that long from the request that went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max_requests: u32,
    pub window: Duration,
    pub lockout: Option<Duration>,
}

#[derive(Debug)]
struct Limiter {
    limit: RateLimit,
    window_start: Option<DateTime<Utc>>,
    count: u32,
    locked_until: Option<DateTime<Utc>>,
}

impl Limiter {
    fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            window_start: None,
            count: 0,
            locked_until: None,
        }
    }

    /// Counts one request; `Err(retry_after)` when it is over the limit.
    fn admit(&mut self, now: DateTime<Utc>) -> Result<(), Duration> {
        if let Some(until) = self.locked_until {
            if now < until {
                return Err(until
                    .signed_duration_since(now)
                    .to_std()
                    .unwrap_or_default());
            }
            self.locked_until = None;
            self.window_start = None;
        }
        let window = chrono::Duration::from_std(self.limit.window).unwrap_or(chrono::Duration::MAX);
        let start = match self.window_start {
            Some(start) if now < start + window => start,
            _ => {
                self.window_start = Some(now);
                self.count = 0;
                now
            }
        };
        self.count += 1;
        if self.count <= self.limit.max_requests {
            return Ok(());
        }
        match self.limit.lockout {
            Some(lockout) => {
                self.locked_until = Some(
                    now + chrono::Duration::from_std(lockout).unwrap_or(chrono::Duration::MAX),
                );
                Err(lockout)
            }
            None => Err((start + window)
                .signed_duration_since(now)
                .to_std()
                .unwrap_or_default()),
        }
    }
}

struct Shared<C> {
    cart: Mutex<C>,
    calls: Mutex<Vec<RecordedCall>>,
    faults: Faults,
    clock: Clock,
    limiter: Mutex<Option<Limiter>>,
}

impl<C: Cart> Shared<C> {
    /// The answer to one call, and how long to hold it back.
    fn answer(&self, call: &RecordedCall) -> (Reply, Option<Duration>) {
        let now = self.clock.now();
        let mut cart = lock(&self.cart);
        if let Some(limiter) = lock(&self.limiter).as_mut() {
            if let Err(retry_after) = limiter.admit(now) {
                return (cart.rate_limited(Some(retry_after)), None);
            }
        }
        match self.faults.take(&call.method, &call.path) {
            None => (cart.handle(call, now), None),
            Some(Fault::Status(status)) => (cart.server_error(status), None),
            Some(Fault::StatusAfterApplying(status)) => {
                cart.handle(call, now);
                (cart.server_error(status), None)
            }
            Some(Fault::Delay(delay)) => (cart.handle(call, now), Some(delay)),
            Some(Fault::MalformedJson) => (Reply::malformed_json(), None),
            Some(Fault::RateLimited) => (cart.rate_limited(None), None),
            Some(Fault::TokenExpired) => (cart.token_expired(), None),
            Some(Fault::Answer(reply)) => (reply, None),
        }
    }
}

/// A running fake: a cart's behaviour served on `127.0.0.1:<free port>` until dropped.
pub struct FakeServer<C: Cart> {
    url: String,
    shared: Arc<Shared<C>>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl<C: Cart> FakeServer<C> {
    /// Starts serving `cart`. Panics when no loopback port can be bound: this is test support, and
    /// a test cannot go on without its fake.
    pub fn serve(cart: C, rate_limit: Option<RateLimit>) -> FakeServer<C> {
        let server = match tiny_http::Server::http("127.0.0.1:0") {
            Ok(server) => Arc::new(server),
            Err(e) => panic!("the fake cart could not listen on 127.0.0.1: {e}"),
        };
        let url = match server.server_addr().to_ip() {
            Some(addr) => format!("http://{addr}"),
            None => panic!("the fake cart is not listening on an IP address"),
        };
        let shared = Arc::new(Shared {
            cart: Mutex::new(cart),
            calls: Mutex::new(Vec::new()),
            faults: Faults::default(),
            clock: Clock::default(),
            limiter: Mutex::new(rate_limit.map(Limiter::new)),
        });
        let thread = {
            let (server, shared) = (Arc::clone(&server), Arc::clone(&shared));
            thread::spawn(move || serve_loop(&server, &shared))
        };
        FakeServer {
            url,
            shared,
            server,
            thread: Some(thread),
        }
    }

    /// The base URL to point a client or component at, e.g. `http://127.0.0.1:40123` (no slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.shared.calls).clone()
    }

    /// The calls with this method and exact path.
    pub fn calls_to(&self, method: &str, path: &str) -> Vec<RecordedCall> {
        lock(&self.shared.calls)
            .iter()
            .filter(|c| c.is(method, path))
            .cloned()
            .collect()
    }

    pub fn clear_calls(&self) {
        lock(&self.shared.calls).clear();
    }

    /// The fault queue; faults added here are served to the next matching requests.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The fake's clock; advance it to expire tokens or end rate-limit windows without waiting.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Replaces the rate limit (None: unlimited), starting a fresh window.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        *lock(&self.shared.limiter) = limit.map(Limiter::new);
    }

    /// Reads or changes the cart's state directly, for what the typed methods do not cover.
    pub fn with_cart<R>(&self, f: impl FnOnce(&mut C) -> R) -> R {
        f(&mut lock(&self.shared.cart))
    }
}

impl<C: Cart> Drop for FakeServer<C> {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            // A panic in the serving thread has already been reported; nothing more to do here.
            let _ = thread.join();
        }
    }
}

fn serve_loop<C: Cart>(server: &tiny_http::Server, shared: &Shared<C>) {
    for mut request in server.incoming_requests() {
        let mut call = record(&mut request);
        let (reply, delay) = shared.answer(&call);
        call.status = reply.status;
        lock(&shared.calls).push(call);
        match delay {
            None => respond(request, reply),
            // Held back on its own thread so other requests are not stuck behind it.
            Some(delay) => {
                thread::spawn(move || {
                    thread::sleep(delay);
                    respond(request, reply);
                });
            }
        }
    }
}

fn record(request: &mut tiny_http::Request) -> RecordedCall {
    let (path, query) = match request.url().split_once('?') {
        Some((path, query)) => (path.to_string(), query.to_string()),
        None => (request.url().to_string(), String::new()),
    };
    let mut body = Vec::new();
    // A body cut short is recorded as far as it arrived; the cart then rejects it as malformed.
    let _ = request.as_reader().read_to_end(&mut body);
    RecordedCall {
        method: request.method().as_str().to_ascii_uppercase(),
        path,
        query: form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
        headers: request
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.as_str().to_string(),
                )
            })
            .collect(),
        body,
        status: 0,
    }
}

fn respond(request: tiny_http::Request, reply: Reply) {
    let mut response = tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
    for (name, value) in &reply.headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(header);
        }
    }
    // The client may have given up (a timeout test); its loss is not the fake's error.
    let _ = request.respond(response);
}

/// Bearer tokens a fake has issued, each with its expiry (BASE, futureshop).
#[derive(Debug, Default)]
pub(crate) struct AccessTokens {
    expiries: std::collections::HashMap<String, DateTime<Utc>>,
    issued: u64,
}

impl AccessTokens {
    /// A new token `<kind>-<n>` living `lifetime` from `now`.
    pub(crate) fn issue(&mut self, kind: &str, now: DateTime<Utc>, lifetime: Duration) -> String {
        let token = self.next_name(kind);
        self.expiries
            .insert(token.clone(), now + to_chrono(lifetime));
        token
    }

    /// A fresh unique name, for tokens and codes kept elsewhere.
    pub(crate) fn next_name(&mut self, kind: &str) -> String {
        self.issued += 1;
        format!("{kind}-{:06}", self.issued)
    }

    pub(crate) fn is_valid(&self, token: &str, now: DateTime<Utc>) -> bool {
        self.expiries.get(token).is_some_and(|at| now < *at)
    }

    /// Every token issued so far is expired from `now` on.
    pub(crate) fn expire_all(&mut self, now: DateTime<Utc>) {
        self.expiries.values_mut().for_each(|at| *at = now);
    }
}

pub(crate) fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Locks, recovering the data if a test thread panicked while holding the lock.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Percent-decodes a path segment (`+` stays a plus, unlike in a query).
pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An id as a JSON number when it is one, else as a string (carts differ; seeds use strings).
pub(crate) fn id_value(id: &str) -> Value {
    id.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(max_requests: u32, lockout: Option<u64>) -> Limiter {
        Limiter::new(RateLimit {
            max_requests,
            window: Duration::from_secs(10),
            lockout: lockout.map(Duration::from_secs),
        })
    }

    #[test]
    fn a_window_admits_its_limit_then_refuses_until_it_ends() {
        let mut limiter = limit(2, None);
        let t0 = Utc::now();
        assert!(limiter.admit(t0).is_ok());
        assert!(limiter.admit(t0).is_ok());
        assert_eq!(
            limiter.admit(t0 + chrono::Duration::seconds(4)),
            Err(Duration::from_secs(6))
        );
        assert!(limiter.admit(t0 + chrono::Duration::seconds(10)).is_ok());
    }

    #[test]
    fn going_over_with_a_lockout_refuses_for_the_whole_lockout() {
        let mut limiter = limit(1, Some(300));
        let t0 = Utc::now();
        assert!(limiter.admit(t0).is_ok());
        assert_eq!(limiter.admit(t0), Err(Duration::from_secs(300)));
        // The window has ended but the lockout has not.
        assert_eq!(
            limiter.admit(t0 + chrono::Duration::seconds(100)),
            Err(Duration::from_secs(200))
        );
        assert!(limiter.admit(t0 + chrono::Duration::seconds(300)).is_ok());
    }

    #[test]
    fn percent_decoding_keeps_plus_signs_and_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb+c%zz"), "a/b+c%zz");
        assert_eq!(percent_decode("%E6%B3%A8"), "注");
    }
}
