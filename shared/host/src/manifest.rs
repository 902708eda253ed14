//! The parts of a Spin 3 `spin.toml` (spin_manifest_version = 2) this host understands.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::{collections::BTreeMap, path::Path};

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub spin_manifest_version: u32,
    #[serde(default)]
    pub variables: BTreeMap<String, AppVariable>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, ComponentManifest>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AppVariable {
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
    #[serde(default)]
    pub cron: Vec<CronTrigger>,
}

#[derive(Debug, Deserialize)]
pub struct HttpTrigger {
    pub route: String,
    pub component: String,
}

#[derive(Debug, Deserialize)]
pub struct CronTrigger {
    pub component: String,
    pub cron_expression: String,
}

#[derive(Debug, Deserialize)]
pub struct ComponentManifest {
    pub source: String,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    pub build: Option<BuildManifest>,
}

#[derive(Debug, Deserialize)]
pub struct BuildManifest {
    pub command: String,
    pub workdir: Option<String>,
}

impl Manifest {
    /// The variables a deployment must give (secrets like `admin_token`, `encryption_key`): a
    /// generated manifest or a check leaves them unresolved.
    pub fn required_variables(&self) -> Vec<&str> {
        self.variables
            .iter()
            .filter(|(_, v)| v.required)
            .map(|(name, _)| name.as_str())
            .collect()
    }

    pub fn load(path: &Path) -> Result<Manifest> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: Manifest =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        manifest
            .validate()
            .with_context(|| format!("checking {}", path.display()))?;
        Ok(manifest)
    }

    fn validate(&self) -> Result<()> {
        if self.spin_manifest_version != 2 {
            bail!(
                "spin_manifest_version must be 2, found {}",
                self.spin_manifest_version
            );
        }
        let triggered = self
            .trigger
            .http
            .iter()
            .map(|t| &t.component)
            .chain(self.trigger.cron.iter().map(|t| &t.component));
        for id in triggered {
            if !self.component.contains_key(id) {
                bail!("a trigger names component {id:?}, which has no [component.{id}] table");
            }
        }
        for (name, var) in &self.variables {
            if var.required && var.default.is_some() {
                bail!("variable {name} is required and has a default; Spin rejects that, pick one");
            }
        }
        Ok(())
    }
}
