//! mallsync-host: a small Spin-compatible host on wasmtime. It reads spin.toml (manifest v2) and
//! runs its HTTP and cron triggers with Spin's key-value, SQLite and variables APIs
//! (`fermyon:spin/*@2.0.0`) and outbound HTTP limited to `allowed_outbound_hosts`.
//!
//! It is the README's `cargo run -p mallsync-host -- up`; tests start it through the harness in
//! tests/support (`mallsync_test_support::TestApp`), which serves the real spin.toml with
//! [`Server`].

mod app;
mod build;
pub mod cloud;
mod cron;
mod http_trigger;
pub mod manifest;
mod outbound;
pub mod quick_start;
mod runtime;
pub mod runtime_config;
mod spin_apis;
pub mod variables;

pub use app::{check_manifest, AppOptions, Server, SHUTDOWN_GRACE};
pub use build::build_components;
