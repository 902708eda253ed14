//! An app: spin.toml loaded, its components compiled and linked, served on a socket.

use crate::{
    cron,
    http_trigger::{self, Route},
    manifest::Manifest,
    outbound::AllowedHosts,
    quick_start::{self, LocalSecret},
    runtime::{self, ComponentConfig, Ctx},
    runtime_config::RuntimeConfig,
    spin_apis::Backends,
    variables::AppVariables,
};
use anyhow::{Context, Result};
use hyper_util::rt::TokioIo;
use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// How to run an app.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Path of spin.toml; component sources are relative to its directory.
    pub manifest: PathBuf,
    /// Where the key-value and SQLite files live (`spin up` uses `.spin/` next to spin.toml).
    pub data_dir: PathBuf,
    /// Application variable values that win over `SPIN_VARIABLE_*` and defaults.
    pub variables: BTreeMap<String, String>,
    /// Whether `[[trigger.cron]]` schedules run.
    pub cron: bool,
    /// Replaces every `cron_expression` (tests use a schedule of seconds).
    pub cron_schedule: Option<String>,
    /// The guests' wall clock runs this many milliseconds ahead (tests move it; 0 otherwise).
    pub clock_offset_ms: Arc<std::sync::atomic::AtomicI64>,
    /// Spin's runtime config file (`--runtime-config-file`): stores and variables providers.
    pub runtime_config: Option<PathBuf>,
    /// Whether secrets without a value are read from, or generated into, the data directory
    /// (the local quick start; never with a runtime config file).
    pub quick_start: bool,
}

impl AppOptions {
    pub fn new(manifest: impl Into<PathBuf>) -> AppOptions {
        let manifest = manifest.into();
        let data_dir = manifest.parent().unwrap_or(Path::new(".")).join(".spin");
        AppOptions {
            manifest,
            data_dir,
            variables: BTreeMap::new(),
            cron: true,
            cron_schedule: None,
            clock_offset_ms: Arc::default(),
            runtime_config: None,
            quick_start: false,
        }
    }

    /// The stores and variables providers this start uses.
    pub fn resolve_runtime_config(&self) -> Result<RuntimeConfig> {
        match &self.runtime_config {
            Some(path) => RuntimeConfig::load(path, &self.data_dir),
            None => Ok(RuntimeConfig::defaults(&self.data_dir)),
        }
    }
}

/// Checks a manifest the way [`Server::bind`] reads it, without building or compiling anything:
/// it parses, every trigger names a component, every variable resolves from its default or
/// `variables`, every outbound host and cron expression is valid.
pub fn check_manifest(path: &Path, variables: &BTreeMap<String, String>) -> Result<()> {
    let manifest = Manifest::load(path)?;
    // Required secrets (admin_token, encryption_key) are given where the app runs: a stand-in
    // value lets every template that uses them be checked.
    let mut variables = variables.clone();
    for (name, var) in &manifest.variables {
        if var.required && var.default.is_none() {
            variables
                .entry(name.clone())
                .or_insert_with(|| "required-at-deploy".into());
        }
    }
    let vars = AppVariables::resolve(&manifest, &variables, &[])?;
    for (id, c) in &manifest.component {
        for (name, template) in &c.variables {
            vars.expand(template)
                .with_context(|| format!("component {id} variable {name}"))?;
        }
        let hosts = c
            .allowed_outbound_hosts
            .iter()
            .map(|h| vars.expand(h))
            .collect::<Result<Vec<_>>>()
            .with_context(|| format!("component {id} allowed_outbound_hosts"))?;
        AllowedHosts::parse(&hosts).with_context(|| format!("component {id}"))?;
    }
    for t in &manifest.trigger.cron {
        cron::parse_schedule(&t.cron_expression)?;
    }
    Ok(())
}

pub struct LoadedComponent {
    pub config: Arc<ComponentConfig>,
    pub proxy: Option<ProxyPre<Ctx>>,
    pub cron: Option<cron::SpinCronPre<Ctx>>,
}

pub struct App {
    pub components: Vec<LoadedComponent>,
    pub routes: Vec<Route>,
    schedules: Vec<(usize, croner::Cron)>,
    pub backends: Arc<Backends>,
    pub listen_addr: SocketAddr,
    /// Guest runs (requests, cron ticks) still going; shutdown waits for them.
    pub tasks: TaskTracker,
    pub local_secrets: Vec<LocalSecret>,
}

impl App {
    /// Loads and compiles everything; any configuration error stops here, before serving.
    pub fn load(options: &AppOptions, listen_addr: SocketAddr) -> Result<App> {
        let manifest = Manifest::load(&options.manifest)?;
        let base = options.manifest.parent().unwrap_or(Path::new("."));
        let runtime_config = options.resolve_runtime_config()?;
        let quick_start = options.quick_start && !runtime_config.from_file;
        let mut vars = AppVariables::resolve_deferring(
            &manifest,
            &options.variables,
            &runtime_config.variable_providers,
            if quick_start {
                &quick_start::LOCAL_SECRETS
            } else {
                &[]
            },
        )?;
        let local_secrets = if quick_start {
            quick_start::fill_local_secrets(&manifest, &mut vars, &options.data_dir)?
        } else {
            Vec::new()
        };
        // Stores first: an unreachable Redis or a libSQL entry stops the start before compiling.
        let backends = Arc::new(Backends::open(&runtime_config)?);
        let linker = runtime::linker()?;
        let mut components = Vec::new();
        let mut index = BTreeMap::new();
        for (id, c) in &manifest.component {
            let variables = c
                .variables
                .iter()
                .map(|(name, template)| {
                    Ok((
                        name.clone(),
                        vars.expand(template)
                            .with_context(|| format!("component {id} variable {name}"))?,
                    ))
                })
                .collect::<Result<_>>()?;
            let hosts = c
                .allowed_outbound_hosts
                .iter()
                .map(|h| vars.expand(h))
                .collect::<Result<Vec<_>>>()
                .with_context(|| format!("component {id} allowed_outbound_hosts"))?;
            let config = Arc::new(ComponentConfig {
                id: id.clone(),
                key_value_stores: c.key_value_stores.iter().cloned().collect(),
                sqlite_databases: c.sqlite_databases.iter().cloned().collect(),
                variables,
                allowed_outbound_hosts: Arc::new(
                    AllowedHosts::parse(&hosts).with_context(|| format!("component {id}"))?,
                ),
                clock_offset_ms: options.clock_offset_ms.clone(),
            });
            let component = runtime::load_component(&base.join(&c.source))
                .with_context(|| format!("component {id}"))?;
            let pre = linker
                .instantiate_pre(&component)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("linking component {id}"))?;
            // A component may export either entry point or both (the dispatcher does).
            let proxy = ProxyPre::new(pre.clone()).ok();
            let cron = cron::SpinCronPre::new(pre).ok();
            index.insert(id.clone(), components.len());
            components.push(LoadedComponent {
                config,
                proxy,
                cron,
            });
        }
        let routes = manifest
            .trigger
            .http
            .iter()
            .map(|t| Route::parse(&t.route, index[&t.component]))
            .collect();
        let schedules = manifest
            .trigger
            .cron
            .iter()
            .map(|t| {
                Ok((
                    index[&t.component],
                    cron::parse_schedule(
                        options
                            .cron_schedule
                            .as_deref()
                            .unwrap_or(&t.cron_expression),
                    )?,
                ))
            })
            .collect::<Result<_>>()?;
        Ok(App {
            components,
            routes,
            schedules,
            backends,
            listen_addr,
            tasks: TaskTracker::new(),
            local_secrets,
        })
    }
}

/// A bound, loaded app, ready to serve.
pub struct Server {
    listener: TcpListener,
    app: Arc<App>,
    cron: bool,
}

impl Server {
    pub async fn bind(options: &AppOptions, listen: SocketAddr) -> Result<Server> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let local = listener.local_addr()?;
        let load_options = options.clone();
        // Compiling components is CPU work; keep it off the async workers.
        let app = tokio::task::spawn_blocking(move || App::load(&load_options, local)).await??;
        Ok(Server {
            listener,
            app: Arc::new(app),
            cron: options.cron,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.app.listen_addr
    }

    /// The secrets the local quick start read or generated, for `up` to report.
    pub fn local_secrets(&self) -> &[LocalSecret] {
        &self.app.local_secrets
    }

    /// Serves until the future is dropped.
    pub async fn run(self) -> Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then stops accepting connections and starting cron
    /// ticks and waits (up to [`SHUTDOWN_GRACE`]) for the guests still running: a request whose
    /// answer has gone out may still be working, as in Spin.
    pub async fn run_until(self, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
        let schedules: Vec<_> = if self.cron {
            self.app
                .schedules
                .iter()
                .map(|(component, schedule)| {
                    AbortOnDrop(tokio::spawn(cron::run_schedule(
                        self.app.clone(),
                        *component,
                        schedule.clone(),
                    )))
                })
                .collect()
        } else {
            Vec::new()
        };
        tokio::pin!(shutdown);
        loop {
            let (stream, client) = tokio::select! {
                accepted = self.listener.accept() => accepted?,
                () = &mut shutdown => break,
            };
            let app = self.app.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let app = app.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            http_trigger::serve(app, request, client).await,
                        )
                    }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    eprintln!("connection from {client}: {e}");
                }
            });
        }
        drop(schedules);
        drop(self.listener);
        let tasks = &self.app.tasks;
        tasks.close();
        if !tasks.is_empty() {
            eprintln!(
                "stopping: waiting for {} running guest(s) to finish (up to {} s)",
                tasks.len(),
                SHUTDOWN_GRACE.as_secs()
            );
        }
        if tokio::time::timeout(SHUTDOWN_GRACE, tasks.wait())
            .await
            .is_err()
        {
            eprintln!(
                "stopping: {} guest(s) still running after {} s are cut off",
                tasks.len(),
                SHUTDOWN_GRACE.as_secs()
            );
        }
        Ok(())
    }
}

/// How long shutdown waits for running guests: Fermyon Cloud's limit for one request.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
