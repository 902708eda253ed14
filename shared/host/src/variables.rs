//! Variables as Spin resolves them: an application variable's value comes from an override (tests,
//! `--variable`), else the variables providers in order (`SPIN_VARIABLE_<NAME>` from the
//! environment, else from a dotenv file: `.env` by default, or the runtime config's
//! `[[variables_provider]] type = "env"`), else its default; a component variable is a template
//! over application variables (`"{{ name }}"`). A required variable without a value stops the start.
//! Secrets can so come from a file or the environment and never appear in `ps`.

use crate::manifest::Manifest;
use crate::runtime_config::EnvProvider;
use anyhow::{anyhow, bail, Context, Result};
use std::{
    collections::{BTreeMap, HashMap},
    path::{Path, PathBuf},
};

/// Application variable values, resolved once at start.
pub struct AppVariables(HashMap<String, String>);

impl AppVariables {
    pub fn resolve(
        manifest: &Manifest,
        overrides: &BTreeMap<String, String>,
        providers: &[EnvProvider],
    ) -> Result<AppVariables> {
        AppVariables::resolve_deferring(manifest, overrides, providers, &[])
    }

    /// [`AppVariables::resolve`], except that the required variables named in `deferred` may stay
    /// without a value (the quick start gives them one next).
    pub fn resolve_deferring(
        manifest: &Manifest,
        overrides: &BTreeMap<String, String>,
        providers: &[EnvProvider],
        deferred: &[&str],
    ) -> Result<AppVariables> {
        for name in overrides.keys() {
            if !manifest.variables.contains_key(name) {
                bail!("variable {name} is set but spin.toml's [variables] does not declare it");
            }
        }
        let mut dotenv_files = HashMap::new();
        let mut values = HashMap::new();
        for (name, var) in &manifest.variables {
            let mut value = overrides.get(name).cloned();
            for provider in providers {
                if value.is_some() {
                    break;
                }
                value = provider_value(provider, name, &mut dotenv_files)?;
            }
            match value.or_else(|| var.default.clone()) {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None if var.required && !deferred.contains(&name.as_str()) => bail!(
                    "required variable {name} has no value: set SPIN_VARIABLE_{} (in the environment or a dotenv file) or pass --variable {name}=...",
                    name.to_uppercase()
                ),
                None => {}
            }
        }
        Ok(AppVariables(values))
    }

    /// The value of an application variable, if it has one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Sets an application variable (the quick start's generated secrets).
    pub fn set(&mut self, name: &str, value: String) {
        self.0.insert(name.to_string(), value);
    }

    /// Expands `{{ name }}` references in `template`.
    pub fn expand(&self, template: &str) -> Result<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find("}}")
                .ok_or_else(|| anyhow!("unclosed '{{{{' in template {template:?}"))?;
            let name = rest[start + 2..start + end].trim();
            let value = self.0.get(name).ok_or_else(|| {
                anyhow!("template {template:?} refers to variable {name}, which has no value")
            })?;
            out.push_str(value);
            rest = &rest[start + end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// `<prefix>_<NAME>` from the environment, else from the provider's dotenv file (a missing file
/// counts as empty, as in Spin).
fn provider_value(
    provider: &EnvProvider,
    name: &str,
    dotenv_files: &mut HashMap<PathBuf, HashMap<String, String>>,
) -> Result<Option<String>> {
    let key = if provider.prefix.is_empty() {
        name.to_ascii_uppercase()
    } else {
        format!("{}_{}", provider.prefix, name.to_ascii_uppercase())
    };
    match std::env::var(&key) {
        Ok(value) => return Ok(Some(value)),
        Err(std::env::VarError::NotUnicode(_)) => bail!("environment variable {key} is not UTF-8"),
        Err(std::env::VarError::NotPresent) => {}
    }
    let Some(path) = &provider.dotenv_path else {
        return Ok(None);
    };
    if !dotenv_files.contains_key(path) {
        dotenv_files.insert(path.clone(), read_dotenv(path)?);
    }
    Ok(dotenv_files[path].get(&key).cloned())
}

fn read_dotenv(path: &Path) -> Result<HashMap<String, String>> {
    match dotenvy::from_path_iter(path) {
        Ok(lines) => lines
            .collect::<Result<HashMap<_, _>, _>>()
            .with_context(|| format!("reading the dotenv file {}", path.display())),
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(HashMap::new())
        }
        Err(e) => Err(anyhow!("reading the dotenv file {}: {e}", path.display())),
    }
}

/// One `--variable` argument as `spin up` takes it: `name=value`, or `@file.json` / `@file.toml`
/// holding a flat table of names and string values.
pub fn parse_variable_arg(arg: &str) -> Result<Vec<(String, String)>> {
    if let Some(path) = arg.strip_prefix('@') {
        let path = Path::new(path);
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--variable @{}: reading the file", path.display()))?;
        let values: BTreeMap<String, String> = match path.extension().and_then(|e| e.to_str()) {
            Some("json") => serde_json::from_str(&text).with_context(|| {
                format!(
                    "--variable @{}: expected a JSON object of strings",
                    path.display()
                )
            })?,
            Some("toml") => toml::from_str(&text).with_context(|| {
                format!(
                    "--variable @{}: expected name = \"value\" lines",
                    path.display()
                )
            })?,
            _ => bail!(
                "--variable @{}: variable files must end in .json or .toml",
                path.display()
            ),
        };
        return Ok(values.into_iter().collect());
    }
    let (name, value) = arg
        .split_once('=')
        .with_context(|| format!("--variable {arg:?}: expected name=value or @file.(json|toml)"))?;
    Ok(vec![(name.to_string(), value.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> AppVariables {
        AppVariables(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_template_expands_every_reference_and_keeps_literal_text() {
        let v = vars(&[("host", "127.0.0.1"), ("port", "8080")]);
        assert_eq!(
            v.expand("http://{{ host }}:{{port}}/x").unwrap(),
            "http://127.0.0.1:8080/x"
        );
    }

    fn manifest(variables: &str) -> Manifest {
        toml::from_str(&format!(
            "spin_manifest_version = 2\n[variables]\n{variables}"
        ))
        .unwrap()
    }

    #[test]
    fn an_override_beats_the_default_and_a_required_variable_without_value_stops_the_start() {
        let m = manifest("origin = { default = \"https://api.bcart.jp\" }");
        let overrides = BTreeMap::from([("origin".to_string(), "http://127.0.0.1:9".to_string())]);
        let resolved = AppVariables::resolve(&m, &overrides, &[]).unwrap();
        assert_eq!(
            resolved.expand("{{ origin }}").unwrap(),
            "http://127.0.0.1:9"
        );

        let m = manifest("token_for_test_only_unset = { required = true }");
        let error = AppVariables::resolve(&m, &BTreeMap::new(), &[EnvProvider::spin_default()])
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("SPIN_VARIABLE_TOKEN_FOR_TEST_ONLY_UNSET"),
            "{error}"
        );
    }

    #[test]
    fn setting_a_variable_spin_toml_does_not_declare_is_an_error() {
        let overrides = BTreeMap::from([("typo".to_string(), "x".to_string())]);
        assert!(AppVariables::resolve(&manifest(""), &overrides, &[]).is_err());
    }

    #[test]
    fn a_reference_to_a_variable_without_value_is_an_error() {
        assert!(vars(&[]).expand("{{ missing }}").is_err());
        assert!(vars(&[("a", "b")]).expand("{{ a").is_err());
    }

    #[test]
    fn a_dotenv_file_gives_a_value_the_environment_does_not_and_an_override_beats_both() {
        let dir = tempfile::tempdir().unwrap();
        let dotenv = dir.path().join("mallsync.env");
        std::fs::write(
            &dotenv,
            "# secrets stay out of ps\nMALLSYNC_TEST_DOTENV_ADMIN_TOKEN=\"from file # not a comment\"\n",
        )
        .unwrap();
        let providers = [EnvProvider {
            prefix: "MALLSYNC_TEST_DOTENV".into(),
            dotenv_path: Some(dotenv),
        }];
        let m = manifest("admin_token = { default = \"\" }\nother = { default = \"d\" }");
        let resolved = AppVariables::resolve(&m, &BTreeMap::new(), &providers).unwrap();
        assert_eq!(
            resolved.get("admin_token"),
            Some("from file # not a comment")
        );
        assert_eq!(resolved.get("other"), Some("d"));
        let overrides = BTreeMap::from([("admin_token".to_string(), "cli".to_string())]);
        let resolved = AppVariables::resolve(&m, &overrides, &providers).unwrap();
        assert_eq!(resolved.get("admin_token"), Some("cli"));
    }

    #[test]
    fn a_missing_dotenv_file_counts_as_empty_as_in_spin() {
        let providers = [EnvProvider {
            prefix: "MALLSYNC_TEST_NO_FILE".into(),
            dotenv_path: Some("/nonexistent/mallsync.env".into()),
        }];
        let m = manifest("x = { default = \"d\" }");
        let resolved = AppVariables::resolve(&m, &BTreeMap::new(), &providers).unwrap();
        assert_eq!(resolved.get("x"), Some("d"));
    }

    #[test]
    fn variable_arguments_take_a_pair_or_a_json_or_toml_file_like_spin_up() {
        assert_eq!(
            parse_variable_arg("admin_token=a=b").unwrap(),
            [("admin_token".to_string(), "a=b".to_string())]
        );
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("vars.json");
        std::fs::write(&json, r#"{"admin_token": "j", "encryption_key": "k"}"#).unwrap();
        let toml_file = dir.path().join("vars.toml");
        std::fs::write(&toml_file, "admin_token = \"t\"\n").unwrap();
        assert_eq!(
            parse_variable_arg(&format!("@{}", json.display())).unwrap(),
            [
                ("admin_token".to_string(), "j".to_string()),
                ("encryption_key".to_string(), "k".to_string())
            ]
        );
        assert_eq!(
            parse_variable_arg(&format!("@{}", toml_file.display())).unwrap(),
            [("admin_token".to_string(), "t".to_string())]
        );
        assert!(parse_variable_arg("no_equals_sign").is_err());
        assert!(parse_variable_arg("@vars.yaml").is_err());
    }
}
