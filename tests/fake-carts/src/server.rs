//! The part every fake shares: a loopback HTTP server on a background thread, the record of every
//! call, fault injection, a rate limiter and a clock tests can move forward.

use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;

use crate::faults::{Fault, Faults};

/// One cart's behaviour: answers a call from its state. Each fake (`FakeBase`, …) is a
/// [`FakeServer`] around one of these.
pub trait Cart: Send + 'static {
    /// Answers one call as the cart documents, changing state as the cart would.
    fn handle(&mut self, call: &RecordedCall, now: DateTime<Utc>) -> Reply;
    /// The cart's answer when its rate limit is exceeded.
    fn rate_limited(&self, limited: &Limited) -> Reply;
    /// The violations the last calls committed against the cart's own rules (a reused refresh
    /// token, a buyer e-mail sent twice…), handed over once; rate limits are counted by the server.
    fn drain_violations(&mut self) -> Vec<Violation> {
        Vec::new()
    }
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
    /// When the fake received it, on its own clock (for rates: requests per window).
    pub at: DateTime<Utc>,
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

/// How a cart limits its callers. Every limit counts on the fake's [`Clock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// At most `max_requests` in ANY `window` (a sliding window counted back from each request);
    /// the request that goes over starts a `lockout` (Bカート: 300 per 300 s, then 300 s locked).
    Sliding {
        max_requests: u32,
        window: Duration,
        lockout: Option<Duration>,
    },
    /// Counters that reset on the clock: per clock hour (at :00, the same in JST and UTC) and
    /// per Japan day (at JST midnight). BASE: 5,000 an hour, 100,000 a day.
    ClockAligned { per_hour: u32, per_day: u32 },
    /// Two requests closer together than this are one too many (futureshop: 1 per second).
    MinInterval(Duration),
}

/// Why the limiter refused a request: what the cart answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limited {
    /// When the caller may try again, if the cart says so.
    pub retry_after: Option<Duration>,
    /// The daily counter ran out, not the hourly one (BASE `day_api_limit`).
    pub daily: bool,
}

/// What a real cart would punish a client for. Every fake counts these; end-to-end tests assert
/// there are none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViolationKind {
    /// A request over the cart's rate limit.
    OverRateLimit,
    /// A request while the account is locked out (Bカート).
    DuringLockout,
    /// A BASE refresh token used after it was rotated away.
    RefreshTokenReused,
    /// A buyer e-mail sent again for what the buyer was already told.
    DuplicateBuyerEmail,
    /// futureshop: 処理済 on an order the cart shows as cancelled.
    CompletedCancelledOrder,
    /// CS-Cart: `POST /api/shipments` that names no products.
    ShipmentWithoutProducts,
    /// A notification whose signature does not verify with the destination's secret (a real
    /// receiver drops it).
    BadSignature,
    /// The same notification event delivered again after the destination acknowledged it.
    DuplicateNotification,
}

/// One punishable request: its kind, the call (`POST /1/oauth/token`), and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub kind: ViolationKind,
    pub call: String,
    pub message: String,
}

impl Violation {
    pub fn new(kind: ViolationKind, call: &RecordedCall, message: impl Into<String>) -> Violation {
        Violation {
            kind,
            call: format!("{} {}", call.method, call.path),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} on {}: {}", self.kind, self.call, self.message)
    }
}

#[derive(Debug)]
struct Limiter {
    limit: RateLimit,
    /// Sliding: the admitted requests still inside the window. MinInterval: the last request.
    recent: std::collections::VecDeque<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
    /// ClockAligned: (hour start, count) and (JST day, count).
    hour: (Option<DateTime<Utc>>, u32),
    day: (Option<chrono::NaiveDate>, u32),
}

impl Limiter {
    fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            recent: std::collections::VecDeque::new(),
            locked_until: None,
            hour: (None, 0),
            day: (None, 0),
        }
    }

    /// Counts one request; `Err` (what to answer, and the violation's kind and message) when the
    /// real cart would refuse and punish it.
    fn admit(&mut self, now: DateTime<Utc>) -> Result<(), (Limited, ViolationKind, String)> {
        match self.limit {
            RateLimit::Sliding {
                max_requests,
                window,
                lockout,
            } => {
                if let Some(until) = self.locked_until {
                    if now < until {
                        let left = until
                            .signed_duration_since(now)
                            .to_std()
                            .unwrap_or_default();
                        return Err((
                            Limited {
                                retry_after: Some(left),
                                daily: false,
                            },
                            ViolationKind::DuringLockout,
                            format!("a request {} s before the lockout ends", left.as_secs_f64()),
                        ));
                    }
                    self.locked_until = None;
                    self.recent.clear();
                }
                let window = to_chrono(window);
                while self.recent.front().is_some_and(|t| *t + window <= now) {
                    self.recent.pop_front();
                }
                if self.recent.len() < max_requests as usize {
                    self.recent.push_back(now);
                    return Ok(());
                }
                let message = format!(
                    "more than {max_requests} requests within {} s",
                    window.num_seconds()
                );
                let retry_after = match lockout {
                    Some(lockout) => {
                        self.locked_until = Some(now + to_chrono(lockout));
                        lockout
                    }
                    None => self
                        .recent
                        .front()
                        .map(|t| (*t + window).signed_duration_since(now))
                        .and_then(|d| d.to_std().ok())
                        .unwrap_or_default(),
                };
                Err((
                    Limited {
                        retry_after: Some(retry_after),
                        daily: false,
                    },
                    ViolationKind::OverRateLimit,
                    message,
                ))
            }
            RateLimit::ClockAligned { per_hour, per_day } => {
                let hour_start = now
                    .date_naive()
                    .and_hms_opt(now.hour(), 0, 0)
                    .map(|t| t.and_utc());
                let japan_day = (now + chrono::Duration::hours(9)).date_naive();
                if self.hour.0 != hour_start {
                    self.hour = (hour_start, 0);
                }
                if self.day.0 != Some(japan_day) {
                    self.day = (Some(japan_day), 0);
                }
                if self.day.1 >= per_day {
                    return Err((
                        Limited {
                            retry_after: None,
                            daily: true,
                        },
                        ViolationKind::OverRateLimit,
                        format!("more than {per_day} requests in the Japan day {japan_day}"),
                    ));
                }
                if self.hour.1 >= per_hour {
                    return Err((
                        Limited::default(),
                        ViolationKind::OverRateLimit,
                        format!(
                            "more than {per_hour} requests in the clock hour from {}",
                            hour_start.map(|t| t.to_rfc3339()).unwrap_or_default()
                        ),
                    ));
                }
                self.hour.1 += 1;
                self.day.1 += 1;
                Ok(())
            }
            RateLimit::MinInterval(interval) => {
                // Every request counts as the latest, refused or not: the cart sees them all.
                let last = self.recent.pop_back();
                self.recent.push_back(now);
                match last {
                    Some(last) if now.signed_duration_since(last) < to_chrono(interval) => Err((
                        Limited {
                            retry_after: Some(interval),
                            daily: false,
                        },
                        ViolationKind::OverRateLimit,
                        format!(
                            "{} ms after the previous request (at least {} ms apart)",
                            now.signed_duration_since(last).num_milliseconds(),
                            interval.as_millis()
                        ),
                    )),
                    _ => Ok(()),
                }
            }
        }
    }
}

struct Shared<C> {
    cart: Mutex<C>,
    calls: Mutex<Vec<RecordedCall>>,
    faults: Faults,
    clock: Clock,
    limiter: Mutex<Option<Limiter>>,
    violations: Mutex<Vec<Violation>>,
}

impl<C: Cart> Shared<C> {
    /// The answer to one call, and how long to hold it back.
    fn answer(&self, call: &RecordedCall) -> (Reply, Option<Duration>) {
        let now = self.clock.now();
        let mut cart = lock(&self.cart);
        if let Some(limiter) = lock(&self.limiter).as_mut() {
            if let Err((limited, kind, message)) = limiter.admit(now) {
                lock(&self.violations).push(Violation::new(kind, call, message));
                return (cart.rate_limited(&limited), None);
            }
        }
        let answer = self.answer_unlimited(&mut cart, call, now);
        lock(&self.violations).extend(cart.drain_violations());
        answer
    }

    fn answer_unlimited(
        &self,
        cart: &mut C,
        call: &RecordedCall,
        now: DateTime<Utc>,
    ) -> (Reply, Option<Duration>) {
        match self.faults.take(&call.method, &call.path) {
            None => (cart.handle(call, now), None),
            Some(Fault::Status(status)) => (cart.server_error(status), None),
            Some(Fault::StatusAfterApplying(status)) => {
                cart.handle(call, now);
                (cart.server_error(status), None)
            }
            Some(Fault::Delay(delay)) => (cart.handle(call, now), Some(delay)),
            Some(Fault::MalformedJson) => (Reply::malformed_json(), None),
            Some(Fault::RateLimited) => (cart.rate_limited(&Limited::default()), None),
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
            violations: Mutex::new(Vec::new()),
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

    /// Replaces the rate limit (None: unlimited, for a test that is not about limits), starting
    /// fresh counters.
    pub fn set_rate_limit(&self, limit: Option<RateLimit>) {
        *lock(&self.shared.limiter) = limit.map(Limiter::new);
    }

    /// Every request the real cart would have punished, in order. Tests assert this is empty.
    pub fn violations(&self) -> Vec<Violation> {
        lock(&self.shared.violations).clone()
    }

    /// Forgets the violations so far (a test that provoked some on purpose and goes on).
    pub fn clear_violations(&self) {
        lock(&self.shared.violations).clear();
    }

    /// Panics listing every violation, if there is any: the one line an end-to-end test ends with.
    #[track_caller]
    pub fn assert_no_violations(&self) {
        let violations = self.violations();
        if !violations.is_empty() {
            let list: Vec<String> = violations.iter().map(Violation::to_string).collect();
            panic!(
                "the cart would have punished {} request(s):\n{}",
                violations.len(),
                list.join("\n")
            );
        }
    }

    /// The most requests received within any `window` (sliding), on the fake's clock: what a
    /// benchmark compares with the cart's ceiling.
    pub fn peak_requests_within(&self, window: Duration) -> usize {
        let times: Vec<DateTime<Utc>> = lock(&self.shared.calls).iter().map(|c| c.at).collect();
        let window = to_chrono(window);
        let mut peak = 0;
        let mut start = 0;
        for (end, t) in times.iter().enumerate() {
            while times[start] + window <= *t {
                start += 1;
            }
            peak = peak.max(end + 1 - start);
        }
        peak
    }

    /// Reads or changes the cart's state directly, for what the typed methods do not cover.
    pub fn with_cart<R>(&self, f: impl FnOnce(&mut C) -> R) -> R {
        f(&mut lock(&self.shared.cart))
    }
}

impl<C: Cart> Drop for FakeServer<C> {
    /// Stops serving, and fails the test that used the fake if the cart was punished for
    /// anything (over a limit, during a lockout, a reused refresh token, an e-mail twice…):
    /// every test asserts there were none. A test that provokes one on purpose reads it with
    /// `violations()` and then calls `clear_violations()`.
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            // A panic in the serving thread has already been reported; nothing more to do here.
            let _ = thread.join();
        }
        let violations = lock(&self.shared.violations).clone();
        if !violations.is_empty() && !std::thread::panicking() {
            panic!(
                "the fake cart counted {} violation(s) a real cart would punish: {violations:#?}",
                violations.len()
            );
        }
    }
}

fn serve_loop<C: Cart>(server: &tiny_http::Server, shared: &Shared<C>) {
    for mut request in server.incoming_requests() {
        let mut call = record(&mut request, shared.clock.now());
        let (mut reply, delay) = shared.answer(&call);
        // A real cart's `Date` is its own clock: clients read limit windows from it (BASE), so
        // it is the fake's clock, not the wall clock the HTTP server would stamp.
        if !reply
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("date"))
        {
            reply = reply.with_header(
                "date",
                &call.at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
            );
        }
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

fn record(request: &mut tiny_http::Request, at: DateTime<Utc>) -> RecordedCall {
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
        at,
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
        Limiter::new(RateLimit::Sliding {
            max_requests,
            window: Duration::from_secs(10),
            lockout: lockout.map(Duration::from_secs),
        })
    }

    fn at(t0: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
        t0 + chrono::Duration::seconds(secs)
    }

    fn retry_after(r: Result<(), (Limited, ViolationKind, String)>) -> Option<Duration> {
        r.err().and_then(|(l, _, _)| l.retry_after)
    }

    #[test]
    fn a_sliding_window_counts_back_from_each_request() {
        let mut limiter = limit(2, None);
        let t0 = Utc::now();
        assert!(limiter.admit(t0).is_ok());
        assert!(limiter.admit(at(t0, 6)).is_ok());
        // A fixed window from t0 would have restarted at t0+10; the sliding one still holds t0+6.
        assert!(limiter.admit(at(t0, 10)).is_ok());
        assert_eq!(
            retry_after(limiter.admit(at(t0, 12))),
            Some(Duration::from_secs(4))
        );
        assert!(limiter.admit(at(t0, 16)).is_ok());
    }

    #[test]
    fn going_over_with_a_lockout_refuses_for_the_whole_lockout() {
        let mut limiter = limit(1, Some(300));
        let t0 = Utc::now();
        assert!(limiter.admit(t0).is_ok());
        let over = limiter.admit(t0).unwrap_err();
        assert_eq!(over.0.retry_after, Some(Duration::from_secs(300)));
        assert_eq!(over.1, ViolationKind::OverRateLimit);
        // The window has ended but the lockout has not.
        let during = limiter.admit(at(t0, 100)).unwrap_err();
        assert_eq!(during.0.retry_after, Some(Duration::from_secs(200)));
        assert_eq!(during.1, ViolationKind::DuringLockout);
        assert!(limiter.admit(at(t0, 300)).is_ok());
    }

    #[test]
    fn clock_aligned_counters_reset_at_the_hour_and_at_japan_midnight() {
        let mut limiter = Limiter::new(RateLimit::ClockAligned {
            per_hour: 2,
            per_day: 3,
        });
        // 14:59:58 UTC = 23:59:58 JST.
        let t0: DateTime<Utc> = "2026-11-30T14:59:58Z".parse().unwrap();
        assert!(limiter.admit(t0).is_ok());
        assert!(limiter.admit(t0).is_ok());
        let hourly = limiter.admit(t0).unwrap_err();
        assert!(!hourly.0.daily);
        // 15:00 UTC is both a new hour and a new Japan day.
        assert!(limiter.admit(at(t0, 2)).is_ok());
        assert!(limiter.admit(at(t0, 2)).is_ok());
        assert!(limiter.admit(at(t0, 3602)).is_ok());
        let daily = limiter.admit(at(t0, 3602)).unwrap_err();
        assert!(daily.0.daily, "{daily:?}");
    }

    #[test]
    fn two_requests_closer_than_the_interval_are_one_too_many() {
        let mut limiter = Limiter::new(RateLimit::MinInterval(Duration::from_secs(1)));
        let t0: DateTime<Utc> = "2026-11-30T00:00:00Z".parse().unwrap();
        assert!(limiter.admit(t0).is_ok());
        let close = t0 + chrono::Duration::milliseconds(999);
        assert!(limiter.admit(close).is_err());
        // The refused request counts as the latest: a second must pass from it.
        assert!(limiter
            .admit(t0 + chrono::Duration::milliseconds(1500))
            .is_err());
        assert!(limiter
            .admit(t0 + chrono::Duration::milliseconds(2500))
            .is_ok());
    }

    #[test]
    fn percent_decoding_keeps_plus_signs_and_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb+c%zz"), "a/b+c%zz");
        assert_eq!(percent_decode("%E6%B3%A8"), "注");
    }
}
