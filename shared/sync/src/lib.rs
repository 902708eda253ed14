//! mallsync's service: shops and stores, OMS webhooks, write-back runs, imports, the run log and
//! the schedule, as a library the Spin components call. It knows no platform: every effect goes
//! through one small trait, [`Io`] (SQLite, key-value, variables, outbound HTTP, the clock), which
//! tests implement natively ([`native::NativeIo`]) and the Spin shell (`functions/common`) on
//! Spin. Every route of every component is in one table, [`routes::table`].
//!
//! ```no_run
//! # use mallsync_sync::{handle, schedule, Io};
//! # fn component(io: &impl Io, request: http::Request<Vec<u8>>) {
//! // A cart component: every request under /base/... goes to one call.
//! let response = handle(mallsync_rules::Cart::Base, io, request);
//! // The scheduler's tick: runs whatever auto-fetch / auto-export is due, within the budget.
//! let report = schedule::tick(io);
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
pub mod encoding;
pub mod import;
pub mod io;
pub mod lease;
pub mod ledger;
pub mod notify;
pub mod oauth;
pub mod openapi;
pub mod orders;
pub mod pacing;
pub mod pending;
pub mod reseal;
pub mod response;
pub mod routes;
pub mod runlog;
pub mod schedule;
pub mod schema;
pub mod secret_places;
pub mod shops;
pub mod summary;
pub mod time;
pub mod write_back;

#[cfg(not(target_arch = "wasm32"))]
pub mod native;

pub use api_error::ApiError;
pub use io::{Io, IoError, Rows, Value};
/// What `Io::send` fails with (below HTTP, or the platform refused the host).
pub use mallsync_carts::TransportError;
pub use routes::{handle, Component};
pub use schedule::{tick, tick_cart, TickReport};
pub use write_back::{send_one, RunReport, SendOutcome};
