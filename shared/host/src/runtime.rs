//! Wasmtime plumbing: one engine per process, wasip1 modules turned into components with the WASI
//! preview1 adapter (as spin-sdk's own tests do), compiled once, and a fresh store per invocation.

use crate::{outbound::OutboundHooks, spin_apis::Backends};
use anyhow::{Context, Result};
use std::{
    collections::{BTreeSet, HashMap},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc, Mutex, OnceLock,
    },
    time::SystemTime,
};
use wasmtime::{
    component::{Component, Linker, ResourceTable},
    Config, Engine,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// What one component may use, resolved from spin.toml at start.
pub struct ComponentConfig {
    pub id: String,
    pub key_value_stores: BTreeSet<String>,
    pub sqlite_databases: BTreeSet<String>,
    pub variables: HashMap<String, String>,
    pub allowed_outbound_hosts: Arc<crate::outbound::AllowedHosts>,
    /// How far the app's wall clock runs ahead of the real one, in milliseconds (tests move time
    /// instead of waiting; always 0 under `up`).
    pub clock_offset_ms: Arc<AtomicI64>,
}

/// The wall clock guests read: the real one plus the app's offset.
struct OffsetWallClock(Arc<AtomicI64>);

impl wasmtime_wasi::HostWallClock for OffsetWallClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(1)
    }

    fn now(&self) -> std::time::Duration {
        let real = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let offset = self.0.load(Ordering::Relaxed);
        let offset = std::time::Duration::from_millis(offset.unsigned_abs());
        if self.0.load(Ordering::Relaxed) >= 0 {
            real + offset
        } else {
            real.saturating_sub(offset)
        }
    }
}

/// The state of one component instance: lives for one request or one cron tick.
pub struct Ctx {
    pub(crate) table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: OutboundHooks,
    pub(crate) component: Arc<ComponentConfig>,
    pub(crate) backends: Arc<Backends>,
}

impl Ctx {
    pub fn new(component: Arc<ComponentConfig>, backends: Arc<Backends>) -> Ctx {
        Ctx {
            table: ResourceTable::new(),
            wasi: WasiCtx::builder()
                .inherit_stdout()
                .inherit_stderr()
                .wall_clock(OffsetWallClock(component.clock_offset_ms.clone()))
                .build(),
            http: WasiHttpCtx::new(),
            hooks: OutboundHooks {
                allowed: component.allowed_outbound_hosts.clone(),
            },
            component,
            backends,
        }
    }
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for Ctx {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let config = Config::new();
        // Compiling cannot fail with the default config on a supported host; if it ever does the
        // process cannot run any component, so stopping here with the reason is the useful outcome.
        Engine::new(&config).unwrap_or_else(|e| panic!("wasmtime engine: {e:?}"))
    })
}

/// Every import a Spin 3 HTTP or cron component built with spin-sdk 5 may use.
pub fn linker() -> Result<Linker<Ctx>> {
    let mut linker = Linker::new(engine());
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::spin_apis::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// Loads a component from a wasip1 module (adapting it) or from a component file. Compiled
/// components are kept per process, keyed by path and modification time, so restarting an app in
/// a test does not compile again.
pub fn load_component(path: &Path) -> Result<Component> {
    type Key = (PathBuf, SystemTime, u64);
    static COMPILED: OnceLock<Mutex<HashMap<Key, Component>>> = OnceLock::new();
    let meta = std::fs::metadata(path).with_context(|| {
        format!(
            "{} is missing: build the components first (`mallsync-host build`)",
            path.display()
        )
    })?;
    let key = (path.to_path_buf(), meta.modified()?, meta.len());
    // Held while compiling, so apps starting at once (parallel tests) compile each component once.
    let mut cache = COMPILED
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| anyhow::anyhow!("component cache poisoned"))?;
    if let Some(component) = cache.get(&key) {
        return Ok(component.clone());
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let component_bytes = if wasmparser::Parser::is_core_wasm(&bytes) {
        wit_component::ComponentEncoder::default()
            .validate(true)
            .module(&bytes)?
            .adapter(
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )?
            .encode()
            .with_context(|| format!("adapting {} to a component", path.display()))?
    } else {
        bytes
    };
    let component = Component::new(engine(), &component_bytes)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("compiling {}", path.display()))?;
    cache.insert(key, component.clone());
    Ok(component)
}
