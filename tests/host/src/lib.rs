//! mallsync-host: a small Spin-compatible host on wasmtime. It reads spin.toml (manifest v2) and
//! runs its HTTP and cron triggers with Spin's key-value, SQLite and variables APIs
//! (`fermyon:spin/*@2.0.0`) and outbound HTTP limited to `allowed_outbound_hosts`.
//!
//! End-to-end tests start the app with [`TestApp::spawn`]:
//!
//! ```no_run
//! use mallsync_host::{TestApp, TestOptions};
//! let app = TestApp::spawn(TestOptions::default().variable("test_routes_enabled", "true"))?;
//! let health = format!("{}/bcart/health", app.url());
//! # Ok::<(), anyhow::Error>(())
//! ```

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
mod test_app;
pub mod variables;

pub use app::{check_manifest, AppOptions, Server, SHUTDOWN_GRACE};
pub use build::build_components;
pub use test_app::{build_once, workspace_manifest, TestApp, TestOptions, TEST_ENCRYPTION_KEY};
