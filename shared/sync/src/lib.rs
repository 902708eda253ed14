//! mallsync's service: shops and stores, OMS webhooks, write-back runs, imports, the run log and
//! the dispatcher, as a library the Spin components call. Every effect goes through one small
//! trait, [`Io`] (SQLite, key-value, variables, outbound HTTP, the clock), so the same code runs
//! natively in tests ([`native::NativeIo`]) and in Spin (`spin::serve`, feature `spin`).
//!
//! ```no_run
//! # use mallsync_sync::{handle, dispatch, Io};
//! # fn component(io: &impl Io, request: http::Request<Vec<u8>>) {
//! // A cart component: every request under /base/... goes to one call.
//! let response = handle(mallsync_rules::Cart::Base, io, request);
//! // The scheduler's tick: runs whatever auto-fetch / auto-export is due, within the budget.
//! let report = dispatch(io);
//! # }
//! ```
//!
//! Concurrency rules (Spin has no transactions): every step that must be atomic is one SQL
//! statement — `INSERT … ON CONFLICT … RETURNING` claims, lease rows taken with
//! `… WHERE until < now RETURNING`, upserts that never overwrite newer data.

pub mod alerts;
pub mod api_error;
pub mod auth;
pub mod bcart_webhook;
pub mod carts;
pub mod crypto;
pub mod dispatch;
pub mod import;
pub mod io;
pub mod lease;
pub mod ledger;
pub mod oauth;
pub mod openapi;
pub mod orders;
pub mod pacing;
pub mod pending;
pub mod routes;
pub mod runlog;
pub mod schema;
pub mod shops;
pub mod summary;
pub mod write_back;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;
#[cfg(feature = "spin")]
pub mod spin;

pub use api_error::ApiError;
pub use dispatch::{dispatch, dispatch_cart, DispatchReport};
pub use io::{Io, IoError, Rows, Value};
pub use routes::handle;
pub use write_back::{send_one, RunReport, SendOutcome};
