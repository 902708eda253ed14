//! `mallsync-host up` runs the app in spin.toml like `spin build --up`; `mallsync-host build` only
//! builds it; `mallsync-host cloud-manifest` writes the Fermyon Cloud manifest.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use mallsync_host::{
    build_components,
    cloud::{cloud_manifest, CLOUD_MANIFEST},
    manifest::Manifest,
    quick_start,
    variables::{parse_variable_arg, AppVariables},
    AppOptions, Server,
};
use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, process::ExitCode};

/// mallsync's own Spin-compatible host (wasmtime): runs spin.toml's HTTP and cron triggers with
/// key-value (SQLite file or Redis), SQLite and variables, as `spin up` does.
#[derive(Parser)]
#[command(name = "mallsync-host", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the components (spin.toml's build commands), then serve the app.
    Up(UpArgs),
    /// Only build the components, like `spin build`.
    Build {
        #[command(flatten)]
        manifest: ManifestArg,
    },
    /// Write the Fermyon Cloud manifest: spin.toml without the cron trigger and its component,
    /// every allowed outbound host written out.
    CloudManifest {
        #[command(flatten)]
        manifest: ManifestArg,
        /// Where to write it (`-` for standard output).
        #[arg(short, long, default_value = CLOUD_MANIFEST)]
        output: PathBuf,
        #[command(flatten)]
        variables: VariableArgs,
        /// Write nothing; fail if the file at --output differs from what would be written.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Args)]
struct ManifestArg {
    /// The app's manifest (spin.toml or spin.cloud.toml); component paths are relative to it.
    #[arg(
        short = 'f',
        long = "from",
        visible_alias = "manifest",
        default_value = "spin.toml"
    )]
    manifest: PathBuf,
}

#[derive(Args)]
struct VariableArgs {
    /// An application variable: `name=value`, or `@file.json` / `@file.toml` holding several
    /// (as `spin up --variable`). Prefer SPIN_VARIABLE_<NAME> in the environment or a dotenv
    /// file for secrets: a value on the command line shows in `ps`.
    #[arg(long = "variable", value_name = "NAME=VALUE|@FILE")]
    variables: Vec<String>,
}

impl VariableArgs {
    fn collect(&self) -> Result<BTreeMap<String, String>> {
        let mut values = BTreeMap::new();
        for arg in &self.variables {
            values.extend(parse_variable_arg(arg)?);
        }
        Ok(values)
    }

    /// Names of secret variables given as `name=value` on the command line, where `ps` shows them.
    fn secrets_in_argv(&self, manifest: &Manifest) -> Vec<String> {
        self.variables
            .iter()
            .filter(|arg| !arg.starts_with('@'))
            .filter_map(|arg| arg.split_once('=').map(|(name, _)| name))
            .filter(|name| manifest.variables.get(*name).is_some_and(|v| v.secret))
            .map(str::to_string)
            .collect()
    }
}

#[derive(Args)]
struct UpArgs {
    #[command(flatten)]
    manifest: ManifestArg,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Serve the components as built; do not run the build commands first.
    #[arg(long)]
    no_build: bool,
    /// Where the default key-value and SQLite files live, and the quick start's secrets
    /// (default: `.spin` next to the manifest).
    #[arg(long, visible_alias = "state-dir")]
    data_dir: Option<PathBuf>,
    /// Spin's runtime config file: key-value on Redis, the SQLite file's path, dotenv files for
    /// variables. With it, secrets are never generated: give them.
    #[arg(long, value_name = "FILE")]
    runtime_config_file: Option<PathBuf>,
    #[command(flatten)]
    variables: VariableArgs,
    /// Do not run the cron schedules.
    #[arg(long)]
    no_cron: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build { manifest } => build_components(&manifest.manifest),
        Command::CloudManifest {
            manifest,
            output,
            variables,
            check,
        } => write_cloud_manifest(&manifest.manifest, &output, &variables, check),
        Command::Up(args) => up(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The cause chain on one line, no backtrace: what an operator can act on.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn write_cloud_manifest(
    manifest_path: &std::path::Path,
    output: &std::path::Path,
    variables: &VariableArgs,
    check: bool,
) -> Result<()> {
    let text = std::fs::read_to_string(manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let manifest = Manifest::load(manifest_path)?;
    // Only what was asked for and the defaults: the environment must not leak into a checked-in
    // file.
    // Required secrets (admin_token, encryption_key) are set on the Cloud, not written here: only
    // the variables the outbound hosts use need a value.
    let required = manifest.required_variables();
    let vars = AppVariables::resolve_deferring(&manifest, &variables.collect()?, &[], &required)?;
    let generated = cloud_manifest(&text, &vars)?;
    if output.as_os_str() == "-" {
        print!("{generated}");
        return Ok(());
    }
    if check {
        let current = std::fs::read_to_string(output)
            .with_context(|| format!("reading {}", output.display()))?;
        anyhow::ensure!(
            current == generated,
            "{} is not what spin.toml generates: run `cargo run -p mallsync-host -- cloud-manifest`",
            output.display()
        );
        return Ok(());
    }
    std::fs::write(output, generated).with_context(|| format!("writing {}", output.display()))?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

fn up(args: UpArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let manifest = args.manifest.manifest.clone();
        if !args.no_build {
            let manifest = manifest.clone();
            tokio::task::spawn_blocking(move || build_components(&manifest)).await??;
        }
        let mut options = AppOptions::new(&manifest);
        if let Some(dir) = args.data_dir {
            options.data_dir = dir;
        }
        options.variables = args.variables.collect()?;
        for name in args.variables.secrets_in_argv(&Manifest::load(&manifest)?) {
            eprintln!(
                "warning: the secret {name} is on the command line, where `ps` shows it; set SPIN_VARIABLE_{} in the environment or a dotenv file instead",
                name.to_uppercase()
            );
        }
        options.cron = !args.no_cron;
        options.runtime_config = args.runtime_config_file;
        options.quick_start = true;
        let started = std::time::Instant::now();
        let server = Server::bind(&options, args.listen).await?;
        let url = format!("http://{}", server.local_addr());
        eprintln!(
            "serving {} on {url} (ready in {:.1?})",
            manifest.display(),
            started.elapsed()
        );
        eprint!("{}", quick_start::describe(server.local_secrets(), &url));
        server.run_until(shutdown_signal()).await
    })
}

/// Ctrl-C, or SIGTERM (Kubernetes, Docker, systemd).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    eprintln!("stopping: no new requests or cron ticks");
}
