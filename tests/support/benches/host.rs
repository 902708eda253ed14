//! Figures for the README: component sizes, time from host start to first response, and the
//! latency of a trivial route (`GET /bcart/health`) over 1,000 sequential requests on loopback.
//!
//! Run: `cargo bench -p mallsync-test-support --bench host` (release; builds the components
//! first; `-- --no-build` uses the ones already built).

use anyhow::{bail, Context, Result};
use mallsync_host::{build_components, AppOptions, Server};
use mallsync_test_support::workspace_manifest;
use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

const REQUESTS: usize = 1000;

fn health(addr: SocketAddr) -> Result<Duration> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr)?;
    write!(
        stream,
        "GET /bcart/health HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    if !response.starts_with(b"HTTP/1.1 200") {
        bail!(
            "unexpected response: {}",
            String::from_utf8_lossy(&response)
        );
    }
    Ok(started.elapsed())
}

fn main() -> Result<()> {
    let manifest = workspace_manifest();
    if !std::env::args().any(|a| a == "--no-build") {
        build_components(&manifest)?;
    }
    let wasm_dir = manifest
        .parent()
        .context("manifest dir")?
        .join("target/wasm32-wasip1/wasm-release");
    println!("component sizes (wasm32-wasip1, profile wasm-release, before adaptation):");
    for name in [
        "bcart",
        "base",
        "shopserve",
        "cscart",
        "futureshop",
        "dispatcher",
    ] {
        let path = wasm_dir.join(format!("mallsync_{name}.wasm"));
        println!(
            "  {name:<11} {:>8} bytes",
            std::fs::metadata(&path)
                .with_context(|| path.display().to_string())?
                .len()
        );
    }

    let data_dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut options = AppOptions::new(&manifest);
    options.data_dir = data_dir.path().to_path_buf();
    options.cron = false;

    let started = Instant::now();
    let server = runtime.block_on(Server::bind(
        &options,
        SocketAddr::from(([127, 0, 0, 1], 0)),
    ))?;
    let loaded = started.elapsed();
    let addr = server.local_addr();
    runtime.spawn(server.run());
    health(addr)?;
    println!("host start to first response: {:?} (of which loading and compiling 6 components: {loaded:?})", started.elapsed());

    let mut latencies = (0..REQUESTS)
        .map(|_| health(addr))
        .collect::<Result<Vec<_>>>()?;
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    println!(
        "GET /bcart/health, {REQUESTS} sequential requests, new connection each: median {:?}, p90 {:?}, p99 {:?}",
        at(0.5),
        at(0.9),
        at(0.99)
    );
    Ok(())
}
