//! `cargo run -p mallsync-demo`: the app with the fake carts and a demo shop, until Ctrl-C.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage: mallsync-demo [--listen ADDR] [--no-build] [--no-cron]

Starts mallsync (the real components on mallsync-host) with the project's fake carts, a demo shop
with a store on each cart and sample orders, then prints the console URL and the shop token.
Everything lives in a temporary directory and in memory: each start is a fresh demo.

  --listen ADDR   where the app listens (default 127.0.0.1:3000)
  --no-build      serve the components as built
  --no-cron       do not run the 5-minute schedule";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut options = mallsync_demo::Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let addr = args
                    .next()
                    .context("--listen needs an address, e.g. 127.0.0.1:3000")?;
                options.listen = addr.parse::<SocketAddr>().with_context(|| {
                    format!("--listen {addr:?} is not an address like 127.0.0.1:3000")
                })?;
            }
            "--no-build" => options.build = false,
            "--no-cron" => options.cron = false,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    let demo = mallsync_demo::start(options)?;
    println!("{}", demo.banner());
    println!("Ctrl-C stops the demo.");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime to wait for Ctrl-C")?
        .block_on(tokio::signal::ctrl_c())
        .context("waiting for Ctrl-C")?;
    eprintln!("stopping…");
    drop(demo);
    Ok(())
}
