//! An app: spin.toml loaded, its components compiled and linked, served on a socket.

use crate::{
    cron,
    http_trigger::{self, Route},
    manifest::Manifest,
    outbound::AllowedHosts,
    runtime::{self, ComponentConfig, Ctx},
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
};
use tokio::net::TcpListener;
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
        }
    }
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
}

impl App {
    /// Loads and compiles everything; any configuration error stops here, before serving.
    pub fn load(options: &AppOptions, listen_addr: SocketAddr) -> Result<App> {
        let manifest = Manifest::load(&options.manifest)?;
        let base = options.manifest.parent().unwrap_or(Path::new("."));
        let vars = AppVariables::resolve(&manifest, &options.variables)?;
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
        let backends = Arc::new(Backends::open(&options.data_dir)?);
        Ok(App {
            components,
            routes,
            schedules,
            backends,
            listen_addr,
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

    /// Serves until the future is dropped.
    pub async fn run(self) -> Result<()> {
        let _schedules: Vec<_> = if self.cron {
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
        loop {
            let (stream, client) = self.listener.accept().await?;
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
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
