//! Variables as Spin resolves them: an application variable's value comes from an override (tests,
//! `--variable`), else `SPIN_VARIABLE_<NAME>`, else its default; a component variable is a template
//! over application variables (`"{{ name }}"`). A required variable without a value stops the start.

use crate::manifest::Manifest;
use anyhow::{anyhow, bail, Result};
use std::collections::{BTreeMap, HashMap};

/// Application variable values, resolved once at start.
pub struct AppVariables(HashMap<String, String>);

impl AppVariables {
    pub fn resolve(
        manifest: &Manifest,
        overrides: &BTreeMap<String, String>,
    ) -> Result<AppVariables> {
        for name in overrides.keys() {
            if !manifest.variables.contains_key(name) {
                bail!("variable {name} is set but spin.toml's [variables] does not declare it");
            }
        }
        let mut values = HashMap::new();
        for (name, var) in &manifest.variables {
            let from_env = std::env::var(format!("SPIN_VARIABLE_{}", name.to_uppercase())).ok();
            match overrides.get(name).cloned().or(from_env).or_else(|| var.default.clone()) {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None if var.required => bail!(
                    "required variable {name} has no value: set SPIN_VARIABLE_{} or pass --variable {name}=...",
                    name.to_uppercase()
                ),
                None => {}
            }
        }
        Ok(AppVariables(values))
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
        let resolved = AppVariables::resolve(&m, &overrides).unwrap();
        assert_eq!(
            resolved.expand("{{ origin }}").unwrap(),
            "http://127.0.0.1:9"
        );

        let m = manifest("token_for_test_only_unset = { required = true }");
        let error = AppVariables::resolve(&m, &BTreeMap::new())
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
        assert!(AppVariables::resolve(&manifest(""), &overrides).is_err());
    }

    #[test]
    fn a_reference_to_a_variable_without_value_is_an_error() {
        assert!(vars(&[]).expand("{{ missing }}").is_err());
        assert!(vars(&[("a", "b")]).expand("{{ a").is_err());
    }
}
