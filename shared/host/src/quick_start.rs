//! The local quick start: `mallsync-host up` with no flags must not stop a newcomer at "admin
//! routes are off" or "no encryption key". A secret variable spin.toml declares but nothing gives a
//! value is read from `<data dir>/<name>`, or generated there (32 random bytes, hex, file mode
//! 0600) on the first start. Only without a runtime config file: a shared deployment (Redis,
//! libSQL, several hosts) must be given its secrets, or each host would invent its own.

use crate::{manifest::Manifest, variables::AppVariables};
use anyhow::{bail, Context, Result};
use std::{
    io::Write,
    path::{Path, PathBuf},
};

/// The secrets the quick start provides when they have no value.
pub const LOCAL_SECRETS: [&str; 2] = ["admin_token", "encryption_key"];

/// One secret the quick start provided.
#[derive(Debug, Clone)]
pub struct LocalSecret {
    pub name: &'static str,
    pub path: PathBuf,
    /// True when this start generated it (then it is shown once); false when read back.
    pub generated: bool,
    pub value: String,
}

/// Gives every [`LOCAL_SECRETS`] variable the manifest declares and that has no (or an empty)
/// value one from the data directory.
pub fn fill_local_secrets(
    manifest: &Manifest,
    variables: &mut AppVariables,
    data_dir: &Path,
) -> Result<Vec<LocalSecret>> {
    let mut filled = Vec::new();
    for name in LOCAL_SECRETS {
        if !manifest.variables.contains_key(name)
            || variables.get(name).is_some_and(|v| !v.is_empty())
        {
            continue;
        }
        let path = data_dir.join(name);
        let (value, generated) = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let value = text.trim().to_string();
                if value.is_empty() {
                    bail!(
                        "{} is empty: delete it to have a new {name} generated, or set SPIN_VARIABLE_{}",
                        path.display(),
                        name.to_uppercase()
                    );
                }
                (value, false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (
                write_new_secret(&path).with_context(|| format!("generating {name}"))?,
                true,
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        variables.set(name, value.clone());
        filled.push(LocalSecret {
            name,
            path,
            generated,
            value,
        });
    }
    Ok(filled)
}

/// 32 random bytes as 64 hex digits, written to a new file only the owner can read.
fn write_new_secret(path: &Path) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| anyhow::anyhow!("the system random source failed: {e}"))?;
    let value: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{value}").with_context(|| format!("writing {}", path.display()))?;
    Ok(value)
}

/// What `up` prints about the quick start's secrets: a generated one in full, once, with the next
/// command to run; one read back only by where it is.
pub fn describe(secrets: &[LocalSecret], url: &str) -> String {
    let mut out = String::new();
    for secret in secrets {
        if !secret.generated {
            out.push_str(&format!(
                "{} read from {} (local quick start)\n",
                secret.name,
                secret.path.display()
            ));
            continue;
        }
        out.push_str(&format!(
            "{} generated into {} (shown this once; it stays in that file):\n  {}\n",
            secret.name,
            secret.path.display(),
            secret.value
        ));
        if secret.name == "admin_token" {
            out.push_str(&format!(
                "next: create a shop (the answer holds its API token and webhook secret, shown once):\n  curl -X POST {url}/bcart/shops -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' -d '{{\"name\": \"My shop\"}}'\n",
                secret.value
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn manifest() -> Manifest {
        toml::from_str(
            "spin_manifest_version = 2\n[variables]\nadmin_token = { default = \"\", secret = true }\nencryption_key = { default = \"\", secret = true }\n",
        )
        .unwrap()
    }

    #[test]
    fn the_first_start_generates_both_secrets_and_later_starts_read_the_same_ones() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest();
        let mut vars = AppVariables::resolve(&m, &BTreeMap::new(), &[]).unwrap();
        let first = fill_local_secrets(&m, &mut vars, dir.path()).unwrap();
        assert_eq!(first.len(), 2);
        assert!(first.iter().all(|s| s.generated && s.value.len() == 64));
        assert_ne!(first[0].value, first[1].value);
        assert!(u128::from_str_radix(&first[1].value[..32], 16).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first[0].path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        let printed = describe(&first, "http://127.0.0.1:3000");
        assert!(printed.contains(&first[0].value), "{printed}");
        assert!(
            printed.contains("curl -X POST http://127.0.0.1:3000/bcart/shops"),
            "{printed}"
        );

        let mut again = AppVariables::resolve(&m, &BTreeMap::new(), &[]).unwrap();
        let second = fill_local_secrets(&m, &mut again, dir.path()).unwrap();
        assert!(second.iter().all(|s| !s.generated));
        assert_eq!(again.get("admin_token"), Some(first[0].value.as_str()));
        let printed = describe(&second, "http://127.0.0.1:3000");
        assert!(
            !printed.contains(&first[0].value),
            "a read-back secret is not printed again"
        );
    }

    #[test]
    fn a_required_secret_is_generated_too_and_without_the_quick_start_it_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let m: Manifest = toml::from_str(
            "spin_manifest_version = 2\n[variables]\nencryption_key = { required = true, secret = true }\n",
        )
        .unwrap();
        assert!(AppVariables::resolve(&m, &BTreeMap::new(), &[]).is_err());
        let mut vars =
            AppVariables::resolve_deferring(&m, &BTreeMap::new(), &[], &LOCAL_SECRETS).unwrap();
        let filled = fill_local_secrets(&m, &mut vars, dir.path()).unwrap();
        assert_eq!(filled.len(), 1);
        assert_eq!(vars.get("encryption_key").map(str::len), Some(64));
    }

    #[test]
    fn a_given_value_is_kept_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let m = manifest();
        let given = BTreeMap::from([("admin_token".to_string(), "given".to_string())]);
        let mut vars = AppVariables::resolve(&m, &given, &[]).unwrap();
        let filled = fill_local_secrets(&m, &mut vars, dir.path()).unwrap();
        assert_eq!(
            filled.iter().map(|s| s.name).collect::<Vec<_>>(),
            ["encryption_key"]
        );
        assert_eq!(vars.get("admin_token"), Some("given"));
        assert!(!dir.path().join("admin_token").exists());
    }
}
