//! The one shell every mallsync Spin component shares: it maps an HTTP request to a route, reaches
//! the Spin platform (key-value, SQLite, variables, outbound HTTP) and turns errors into statuses.
//!
//! A cart component is one call: `mallsync_component::serve_cart(Cart::Bcart, request)` (the
//! request as it streams in: the body is read up to `MAX_BODY_BYTES`, never more); it keeps
//! the platform probes (`/health`, `/__test/*`) and hands every other route to the sync service
//! (`mallsync_sync::spin::serve`).

mod body;
mod dispatch;
mod error;
mod platform;
mod routes;

pub use body::{read_limited, MAX_BODY_BYTES};
pub use dispatch::{dispatch, serve_dispatcher, DispatchRun, Trigger};
pub use error::ApiError;
pub use mallsync_rules::Cart;
pub use routes::{serve_cart, serve_cart_request};
