//! `mallsync-host up` runs the app in spin.toml like `spin build --up`; `mallsync-host build` only
//! builds it.

use anyhow::{bail, Context, Result};
use mallsync_host::{build_components, AppOptions, Server};
use std::{net::SocketAddr, path::PathBuf};

const USAGE: &str =
    "usage: mallsync-host (up|build) [--manifest spin.toml] [--listen 127.0.0.1:3000] \
[--no-build] [--data-dir .spin] [--variable name=value]... [--no-cron]";

struct Args {
    command: String,
    manifest: PathBuf,
    listen: SocketAddr,
    build: bool,
    data_dir: Option<PathBuf>,
    variables: Vec<(String, String)>,
    cron: bool,
}

fn parse_args() -> Result<Args> {
    let mut raw = std::env::args().skip(1);
    let command = raw.next().context(USAGE)?;
    let mut args = Args {
        command,
        manifest: PathBuf::from("spin.toml"),
        listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
        build: true,
        data_dir: None,
        variables: Vec::new(),
        cron: true,
    };
    while let Some(flag) = raw.next() {
        let mut value = || {
            raw.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--manifest" | "-f" => args.manifest = value()?.into(),
            "--listen" => args.listen = value()?.parse().context("--listen takes host:port")?,
            "--data-dir" => args.data_dir = Some(value()?.into()),
            "--variable" => {
                let pair = value()?;
                let (name, v) = pair
                    .split_once('=')
                    .with_context(|| format!("--variable {pair}: expected name=value"))?;
                args.variables.push((name.to_string(), v.to_string()));
            }
            "--build" => args.build = true,
            "--no-build" => args.build = false,
            "--no-cron" => args.cron = false,
            _ => bail!("unknown flag {flag}\n{USAGE}"),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    match args.command.as_str() {
        "build" => build_components(&args.manifest),
        "up" => {
            if args.build {
                let manifest = args.manifest.clone();
                tokio::task::spawn_blocking(move || build_components(&manifest)).await??;
            }
            let mut options = AppOptions::new(&args.manifest);
            if let Some(dir) = args.data_dir {
                options.data_dir = dir;
            }
            options.variables = args.variables.into_iter().collect();
            options.cron = args.cron;
            let started = std::time::Instant::now();
            let server = Server::bind(&options, args.listen).await?;
            eprintln!(
                "serving {} on http://{} (ready in {:?})",
                args.manifest.display(),
                server.local_addr(),
                started.elapsed()
            );
            tokio::select! {
                result = server.run() => result,
                _ = tokio::signal::ctrl_c() => Ok(()),
            }
        }
        other => bail!("unknown command {other}\n{USAGE}"),
    }
}
