//! The end-to-end harness: the real spin.toml and the real components, served in-process by
//! mallsync-host (shared/host) on an ephemeral loopback port, with a data directory of its own.
//! tests/e2e and the host's own tests start the app here and nowhere else:
//!
//! ```no_run
//! use mallsync_test_support::{spawn_app, TestOptions};
//! let app = spawn_app(TestOptions::default().variable("test_routes_enabled", "true"));
//! let health = format!("{}/bcart/health", app.url());
//! ```
//!
//! `client::Client` calls the app's JSON routes. The host's bench (component sizes, start time,
//! latency) is `benches/host.rs` beside it.

pub mod client;

use anyhow::{anyhow, Context, Result};
use mallsync_host::{AppOptions, Server};
use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc, OnceLock,
    },
};

/// The workspace's spin.toml.
pub fn workspace_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml")
}

/// Builds the components once per test process (`spin build`); later calls reuse the outcome.
pub fn build_once() -> Result<()> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            mallsync_host::build_components(&workspace_manifest()).map_err(|e| format!("{e:#}"))
        })
        .clone()
        .map_err(|e| anyhow!("building the components failed: {e}"))
}

/// The `encryption_key` a test app gets unless the test sets one (public: tests only).
pub const TEST_ENCRYPTION_KEY: &str =
    "6d616c6c73796e632d6532652d746573742d6b65792d6e6f742d70726f642121";

/// Starts the app (building the components once per process); a test cannot go on without it, so
/// a failure panics with the whole cause.
pub fn spawn_app(options: TestOptions) -> TestApp {
    TestApp::spawn(options).unwrap_or_else(|e| panic!("starting the app: {e:?}"))
}

/// How a test app starts.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    variables: BTreeMap<String, String>,
    cron: Option<String>,
    clock_offset_ms: Arc<AtomicI64>,
    runtime_config: Option<PathBuf>,
    manifest: Option<PathBuf>,
}

impl TestOptions {
    /// Sets an application variable (`[variables]` in spin.toml), as `SPIN_VARIABLE_*` would.
    pub fn variable(mut self, name: &str, value: impl Into<String>) -> TestOptions {
        self.variables.insert(name.to_string(), value.into());
        self
    }

    /// Starts with Spin's runtime config file at `path` (e.g. key-value on Redis, a shared SQLite
    /// file), as `--runtime-config-file` does.
    pub fn runtime_config_file(mut self, path: impl Into<PathBuf>) -> TestOptions {
        self.runtime_config = Some(path.into());
        self
    }

    /// Serves another of the app's manifests (e.g. spin.cloud.toml) instead of spin.toml. Its
    /// components must be the ones spin.toml builds.
    pub fn manifest(mut self, path: impl Into<PathBuf>) -> TestOptions {
        self.manifest = Some(path.into());
        self
    }

    /// Runs the `[[trigger.cron]]` components on `schedule` (6 fields, seconds first) instead of
    /// spin.toml's expressions. Without this, cron does not run, so ticks never disturb a test.
    pub fn with_cron(mut self, schedule: &str) -> TestOptions {
        self.cron = Some(schedule.to_string());
        self
    }
}

/// A running app. Dropping it stops the server and its schedules; the data directory lives as
/// long as any app started on it.
pub struct TestApp {
    addr: SocketAddr,
    url: String,
    options: TestOptions,
    data_dir: Arc<tempfile::TempDir>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestApp {
    /// Builds the components (once per process) and starts the app on `127.0.0.1:0`.
    pub fn spawn(options: TestOptions) -> Result<TestApp> {
        build_once()?;
        let data_dir = Arc::new(tempfile::tempdir().context("creating the test data dir")?);
        TestApp::start(options, data_dir)
    }

    fn start(options: TestOptions, data_dir: Arc<tempfile::TempDir>) -> Result<TestApp> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting the test app's runtime")?;
        let manifest = options.manifest.clone().unwrap_or_else(workspace_manifest);
        let mut variables = options.variables.clone();
        // The service needs an encryption key; a fixed one keeps test data readable across restarts.
        if mallsync_host::manifest::Manifest::load(&manifest)?
            .variables
            .contains_key("encryption_key")
        {
            variables
                .entry("encryption_key".into())
                .or_insert_with(|| TEST_ENCRYPTION_KEY.into());
        }
        let app_options = AppOptions {
            data_dir: data_dir.path().to_path_buf(),
            variables,
            cron: options.cron.is_some(),
            cron_schedule: options.cron.clone(),
            clock_offset_ms: options.clock_offset_ms.clone(),
            runtime_config: options.runtime_config.clone(),
            ..AppOptions::new(manifest)
        };
        let server = runtime.block_on(Server::bind(
            &app_options,
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))?;
        let addr = server.local_addr();
        runtime.spawn(async move {
            if let Err(e) = server.run().await {
                eprintln!("test app stopped: {e:?}");
            }
        });
        Ok(TestApp {
            addr,
            url: format!("http://{addr}"),
            options,
            data_dir,
            runtime: Some(runtime),
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Moves the components' wall clock forward (a ship date arriving, a lockout ending) without
    /// waiting; move the fake carts' clocks by the same amount. Survives `restart`.
    pub fn advance_clock(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.options
            .clock_offset_ms
            .fetch_add(ms, Ordering::Relaxed);
    }

    /// Where this app's `sqlite_key_value.db` and `sqlite_db.db` are.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Stops this app and starts a new one on the same data directory and options (a new port).
    pub fn restart(mut self) -> Result<TestApp> {
        let (options, data_dir) = (self.options.clone(), self.data_dir.clone());
        self.stop();
        TestApp::start(options, data_dir)
    }

    fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop();
    }
}
