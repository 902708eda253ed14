//! Sans-IO clients for the five carts: no sockets, no environment, no clock.
//!
//! Every cart operation is either a pair of pure functions (`build_*` returns an
//! `http::Request`, `parse_*` consumes an `http::Response`) or, where one operation takes several
//! calls (paging, a lookup before a write), an [`Exchange`]: a small state machine that yields the
//! next request and is fed the response. The caller sends however it likes (Spin's outbound HTTP in
//! the components, a loopback client in tests) and retries only what [`CartError::is_retryable`]
//! allows, no sooner than [`CartError::retry_after`]. Carts that issue access tokens (BASE,
//! futureshop) first get one with [`Connector::token_request`] / [`Connector::parse_token`].
//!
//! ```no_run
//! # use mallsync_carts::{drive, bcart::Bcart, Connector, ImportQuery, Request, Response, TransportError};
//! # use mallsync_rules::bcart::BcartCredentials;
//! # fn send(_: Request) -> Result<Response, TransportError> { unimplemented!() }
//! # fn example(credentials: BcartCredentials, query: ImportQuery) {
//! let api = Bcart::api(credentials, None); // `.with_base_url(…)` points it at a fake cart
//! match drive(Bcart::list_orders(&api, &query), send) {
//!     Ok(orders) => { /* store them */ }
//!     Err(e) if e.is_retryable() => { /* try again after e.retry_after() */ }
//!     Err(e) => { /* show e to the operator */ }
//! }
//! # }
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

mod connector;
pub mod exchange;
pub mod json_path;
mod page;
pub mod values;
pub mod wire;

pub mod base;
pub mod bcart;
pub mod cscart;
pub mod futureshop;
pub mod shopserve;

pub use connector::{
    to_orders, AccessToken, Api, AuthScheme, Capabilities, Connector, ImportQuery,
};
pub use page::ImportPage;

pub type Request = http::Request<Vec<u8>>;
pub type Response = http::Response<Vec<u8>>;

/// What went wrong talking to a cart, classified once so callers decide retries from this alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CartError {
    /// The cart refused the credentials or the token expired: the operator must reconnect.
    #[error("the cart rejected the credentials: {message}")]
    CredentialsRejected { message: String },
    /// Too many requests; retry after `retry_after_secs` when the cart said so.
    #[error("rate limited by the cart: {message}")]
    RateLimited {
        retry_after_secs: Option<u64>,
        message: String,
    },
    /// The cart refused this request; `code` is the cart's own error code when it gives one
    /// (e.g. BASE `not_change_status`). Retrying the same request will not help.
    #[error("the cart rejected the request: {message}")]
    Rejected {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// A 5xx, a timeout or a dropped connection: worth trying again.
    #[error("the cart is unavailable: {message}")]
    Transient {
        status: Option<u16>,
        message: String,
    },
    /// The response was not what the cart documents; names what was wrong.
    #[error("unexpected response from the cart: {what}")]
    Malformed { what: String },
    /// The request could not be built from the store's settings or the update (a store URL that
    /// is not a URL, say): fix the settings; sending again will not help.
    #[error("the request to the cart cannot be made: {what}")]
    InvalidRequest { what: String },
}

impl CartError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            CartError::RateLimited { .. } | CartError::Transient { .. }
        )
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CartError::RateLimited {
                retry_after_secs: Some(s),
                ..
            } => Some(Duration::from_secs(*s)),
            _ => None,
        }
    }

    pub fn malformed(what: impl Into<String>) -> CartError {
        CartError::Malformed { what: what.into() }
    }
}

/// A failure below HTTP (connection refused, timeout), reported by whoever sends the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

impl TransportError {
    /// How a refusal by the platform (a host outside `allowed_outbound_hosts`) starts.
    pub const REFUSED: &'static str = "the platform refused the host";

    /// The platform refused to send to `target`: not worth a retry.
    pub fn refused(target: &str) -> TransportError {
        TransportError(format!(
            "{}: {target} is not in allowed_outbound_hosts",
            Self::REFUSED
        ))
    }

    pub fn is_refused(&self) -> bool {
        self.0.starts_with(Self::REFUSED)
    }
}

impl From<TransportError> for CartError {
    fn from(e: TransportError) -> CartError {
        // A refused host stays refused until the configuration changes: fix it, do not retry.
        if e.is_refused() {
            return CartError::InvalidRequest { what: e.0 };
        }
        CartError::Transient {
            status: None,
            message: e.0,
        }
    }
}

/// How fast a cart may be called, for pacing and backing off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitPolicy {
    /// At most this many requests per `window_secs` (None: no documented limit).
    pub max_requests: Option<u32>,
    pub window_secs: u64,
    /// Exceeding the limit locks the client out this long (Bカート: 300 s).
    pub lockout_secs: Option<u64>,
    /// A daily cap on top of the window (BASE: 100,000/day).
    pub max_requests_per_day: Option<u32>,
    /// True when the windows reset on the clock (BASE: the hour at :00, the day at JST midnight),
    /// false for a rolling window counted back from each request (Bカート, futureshop). A shared
    /// budget waits out a clock-aligned limit until the next boundary, a rolling one by age.
    pub clock_aligned: bool,
}

/// The next thing an [`Exchange`] needs.
// A step is moved once per call and never stored in bulk: boxing the request would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Step<T> {
    /// Send this request and feed the response back with [`Exchange::step`].
    Send(Request),
    /// Finished.
    Done(T),
}

/// A multi-call operation as a state machine: first `step(None)`, then `step(Some(response))` to
/// each request it yields, until `Done`. Errors end the exchange.
pub trait Exchange {
    type Output;
    fn step(&mut self, response: Option<Response>) -> Result<Step<Self::Output>, CartError>;
}

/// Runs an exchange to the end with the caller's `send`. No retries: the caller decides those.
pub fn drive<E: Exchange>(
    mut exchange: E,
    mut send: impl FnMut(Request) -> Result<Response, TransportError>,
) -> Result<E::Output, CartError> {
    let mut response = None;
    loop {
        match exchange.step(response.take())? {
            Step::Done(output) => return Ok(output),
            Step::Send(request) => response = Some(send(request)?),
        }
    }
}
