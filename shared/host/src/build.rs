//! `spin build`: each component's `[component.<id>.build] command`, run from spin.toml's directory.

use crate::manifest::Manifest;
use anyhow::{bail, Context, Result};
use std::{path::Path, process::Command};

/// Runs every component's build command. `CARGO_TARGET_DIR` is pinned to `<app>/target` because
/// spin.toml's `source` paths point there, whatever target dir the caller uses.
pub fn build_components(manifest_path: &Path) -> Result<()> {
    let manifest = Manifest::load(manifest_path)?;
    let base = manifest_path.parent().unwrap_or(Path::new("."));
    let base = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    for (id, component) in &manifest.component {
        let Some(build) = &component.build else {
            continue;
        };
        let workdir = base.join(build.workdir.as_deref().unwrap_or("."));
        eprintln!("building component {id}: {}", build.command);
        let status = Command::new("sh")
            .arg("-c")
            .arg(&build.command)
            .current_dir(&workdir)
            .env("CARGO_TARGET_DIR", base.join("target"))
            .status()
            .with_context(|| format!("running the build command of component {id}"))?;
        if !status.success() {
            bail!(
                "build command of component {id} failed ({status}): {}",
                build.command
            );
        }
    }
    Ok(())
}
