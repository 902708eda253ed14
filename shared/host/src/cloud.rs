//! The Fermyon Cloud manifest, generated from spin.toml (`mallsync-host cloud-manifest`):
//! `spin cloud deploy` refuses an app with a non-HTTP trigger before upload, and Fermyon Cloud does
//! not expand variables inside `allowed_outbound_hosts`. So the Cloud manifest is spin.toml
//! without its `[[trigger.cron]]` tables and the components only cron triggers, and with every
//! outbound host written out from the variables' values. Everything else (routes, variables,
//! stores, build commands, comments) is kept as written.

use crate::{manifest::Manifest, variables::AppVariables};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeSet;

/// The file name the generated manifest is checked in under, next to spin.toml.
pub const CLOUD_MANIFEST: &str = "spin.cloud.toml";

const HEADER: &str = "\
# GENERATED from spin.toml by `cargo run -p mallsync-host -- cloud-manifest` (do not edit; a test
# checks it is current). The app for Fermyon Cloud: `spin cloud deploy -f spin.cloud.toml`.
# Differences from spin.toml: no [[trigger.cron]] and no `scheduler` component (Cloud runs HTTP
# triggers only; schedule POST /internal/dispatch instead), and every allowed_outbound_hosts entry
# written out (Cloud does not expand variables there). Changed a cart's *_api_origin on Cloud?
# Generate again with `--variable <cart>_api_origin=https://...` and deploy that file.
";

/// Generates the Cloud manifest from spin.toml's text, with hosts expanded from `variables`.
pub fn cloud_manifest(spin_toml: &str, variables: &AppVariables) -> Result<String> {
    let manifest: Manifest = toml::from_str(spin_toml).context("parsing spin.toml")?;
    let http_components: BTreeSet<&str> = manifest
        .trigger
        .http
        .iter()
        .map(|t| t.component.as_str())
        .collect();
    let cron_only: BTreeSet<&str> = manifest
        .trigger
        .cron
        .iter()
        .map(|t| t.component.as_str())
        .filter(|c| !http_components.contains(c))
        .collect();

    let mut doc: toml_edit::DocumentMut = spin_toml.parse().context("parsing spin.toml")?;
    if let Some(trigger) = doc.get_mut("trigger").and_then(|t| t.as_table_like_mut()) {
        trigger.remove("cron");
        let others: Vec<String> = trigger
            .iter()
            .map(|(kind, _)| kind.to_string())
            .filter(|kind| kind != "http")
            .collect();
        if !others.is_empty() {
            bail!("spin.toml has triggers Fermyon Cloud does not run: {others:?}");
        }
    }
    let components = doc
        .get_mut("component")
        .and_then(|c| c.as_table_like_mut())
        .ok_or_else(|| anyhow!("spin.toml has no [component.*] tables"))?;
    for id in &cron_only {
        components.remove(id);
    }
    for (id, component) in components.iter_mut() {
        let Some(hosts) = component
            .as_table_like_mut()
            .and_then(|c| c.get_mut("allowed_outbound_hosts"))
        else {
            continue;
        };
        let hosts = hosts
            .as_array_mut()
            .ok_or_else(|| anyhow!("component {id}: allowed_outbound_hosts is not an array"))?;
        for i in 0..hosts.len() {
            let template = hosts
                .get(i)
                .and_then(|h| h.as_str())
                .ok_or_else(|| {
                    anyhow!("component {id}: an allowed_outbound_hosts entry is not a string")
                })?
                .to_string();
            let host = variables
                .expand(&template)
                .with_context(|| format!("component {id} allowed_outbound_hosts"))?;
            hosts.replace(i, host);
        }
    }
    let body = doc.to_string();
    // spin.toml's own opening comment describes spin.toml; the header replaces it.
    let body = body
        .lines()
        .skip_while(|line| line.starts_with('#') || line.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    Ok(format!("{HEADER}{body}\n"))
}
