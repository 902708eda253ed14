//! Spin's runtime configuration file (`spin up --runtime-config-file runtime-config.toml`), the part
//! mallsync uses, read with Spin 3.x's syntax so one file serves `spin up` and `mallsync-host up`:
//!
//! ```toml
//! [key_value_store.default]
//! type = "redis"                      # or "spin" with an optional `path`
//! url = "redis://127.0.0.1:6379"
//!
//! [sqlite_database.default]
//! type = "spin"                       # or "libsql" with `url` and `token` (Spin only, see below)
//! path = "data/sqlite_db.db"          # relative to the working directory
//!
//! [[variables_provider]]
//! type = "env"                        # SPIN_VARIABLE_<NAME>, then the dotenv file
//! dotenv_path = "mallsync.env"
//! ```
//!
//! Field names, checks and path rules follow Spin's `crates/runtime-config`, `crates/sqlite`,
//! `crates/variables` and `crates/key-value-redis`: a key-value `path` is relative to this file's
//! directory, a SQLite `path` and a `dotenv_path` to the working directory. This host opens no
//! libSQL database: a `libsql` entry is parsed and checked as Spin checks it, and starting the app
//! on it is refused with a message pointing at `spin up`.

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// Where the `default` key-value store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValueBackend {
    /// A SQLite file with Spin's `spin_key_value` table.
    Spin { path: PathBuf },
    /// A Redis server, keys stored as given (as Spin's Redis store does).
    Redis { url: String },
}

/// A variables provider: `<prefix>_<NAME>` from the environment, else from a dotenv file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvProvider {
    pub prefix: String,
    pub dotenv_path: Option<PathBuf>,
}

impl EnvProvider {
    /// The provider Spin always adds last: `SPIN_VARIABLE_*`, then `.env` in the working directory.
    pub fn spin_default() -> EnvProvider {
        EnvProvider {
            prefix: "SPIN_VARIABLE".into(),
            dotenv_path: Some(PathBuf::from(".env")),
        }
    }
}

/// Where the `default` SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqliteBackend {
    /// A local file.
    Spin { path: PathBuf },
    /// A libSQL server (Turso, sqld) over HTTP(S). Spin serves it; this host does not.
    LibSql { url: String },
}

/// The resolved storage and variable sources of one app start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub key_value: KeyValueBackend,
    pub sqlite: SqliteBackend,
    /// In the order Spin asks them; the first with a value wins.
    pub variable_providers: Vec<EnvProvider>,
    /// Whether a runtime config file was given (the quick start only applies without one).
    pub from_file: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    key_value_store: BTreeMap<String, Store>,
    #[serde(default)]
    sqlite_database: BTreeMap<String, Store>,
    #[serde(default, alias = "config_provider")]
    variables_provider: Vec<VariablesProvider>,
    /// Where the default stores live (replaces `--data-dir`).
    state_dir: Option<PathBuf>,
    /// Spin's component log directory; this host logs to stderr and ignores it.
    #[allow(dead_code)]
    log_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct Store {
    #[serde(rename = "type")]
    kind: String,
    #[serde(flatten)]
    options: toml::Table,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum VariablesProvider {
    Env {
        #[serde(default)]
        prefix: Option<String>,
        #[serde(default)]
        dotenv_path: Option<PathBuf>,
    },
    Vault {},
    AzureKeyVault {},
    Static {},
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpinStore {
    path: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedisStore {
    url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LibSqlDatabase {
    url: String,
    #[allow(dead_code)]
    token: String,
}

impl RuntimeConfig {
    /// Spin's defaults: both stores as files in `data_dir`, variables from the environment.
    pub fn defaults(data_dir: &Path) -> RuntimeConfig {
        RuntimeConfig {
            key_value: KeyValueBackend::Spin {
                path: data_dir.join("sqlite_key_value.db"),
            },
            sqlite: SqliteBackend::Spin {
                path: data_dir.join("sqlite_db.db"),
            },
            variable_providers: vec![EnvProvider::spin_default()],
            from_file: false,
        }
    }

    /// Reads `path`; what it leaves out keeps the defaults for `data_dir`.
    pub fn load(path: &Path, data_dir: &Path) -> Result<RuntimeConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the runtime config file {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        RuntimeConfig::parse(&text, base, data_dir)
            .with_context(|| format!("runtime config file {}", path.display()))
    }

    /// Parses the file's text; `base` is the file's directory.
    pub fn parse(text: &str, base: &Path, data_dir: &Path) -> Result<RuntimeConfig> {
        let file: File = toml::from_str(text)?;
        let data_dir = file.state_dir.as_deref().unwrap_or(data_dir);
        let mut config = RuntimeConfig::defaults(data_dir);
        config.from_file = true;
        for (label, store) in file.key_value_store {
            only_default("key_value_store", &label)?;
            config.key_value = match store.kind.as_str() {
                "spin" => {
                    let spin: SpinStore = options(store.options, "key_value_store.default")?;
                    KeyValueBackend::Spin {
                        path: spin
                            .path
                            .map_or_else(|| data_dir.join("sqlite_key_value.db"), |p| base.join(p)),
                    }
                }
                "redis" => {
                    let redis: RedisStore = options(store.options, "key_value_store.default")?;
                    // The URL may hold a password: the message does not repeat it.
                    redis::parse_redis_url(&redis.url).ok_or_else(|| {
                        anyhow!("key_value_store.default: url is not a Redis URL (redis://[:password@]host[:port][/db], or rediss:// for TLS)")
                    })?;
                    KeyValueBackend::Redis { url: redis.url }
                }
                other => bail!(
                    "key_value_store.default: type {other:?} is not supported by mallsync-host (it runs \"spin\" and \"redis\"; run Spin itself for others)"
                ),
            };
        }
        for (label, store) in file.sqlite_database {
            only_default("sqlite_database", &label)?;
            config.sqlite = match store.kind.as_str() {
                "spin" => {
                    let spin: SpinStore = options(store.options, "sqlite_database.default")?;
                    SqliteBackend::Spin {
                        path: spin.path.unwrap_or_else(|| data_dir.join("sqlite_db.db")),
                    }
                }
                "libsql" => {
                    let libsql: LibSqlDatabase =
                        options(store.options, "sqlite_database.default")?;
                    if !(libsql.url.starts_with("https://") || libsql.url.starts_with("http://")) {
                        bail!(
                            "sqlite_database.default: libSQL url {:?} must start with https:// or http:// (Spin talks to libSQL over HTTP)",
                            libsql.url
                        );
                    }
                    SqliteBackend::LibSql { url: libsql.url }
                }
                other => bail!(
                    "sqlite_database.default: type {other:?} is unknown (Spin knows \"spin\" and \"libsql\")"
                ),
            };
        }
        let mut providers = Vec::new();
        for provider in file.variables_provider {
            match provider {
                VariablesProvider::Env {
                    prefix,
                    dotenv_path,
                } => providers.push(EnvProvider {
                    prefix: prefix.unwrap_or_else(|| "SPIN_VARIABLE".into()),
                    dotenv_path,
                }),
                _ => bail!(
                    "variables_provider: mallsync-host reads only type = \"env\" (environment and dotenv file); run Spin itself for Vault or Azure Key Vault"
                ),
            }
        }
        // Spin always asks its default environment provider last.
        providers.push(EnvProvider::spin_default());
        config.variable_providers = providers;
        Ok(config)
    }
}

fn only_default(table: &str, label: &str) -> Result<()> {
    if label != "default" {
        bail!("{table}.{label}: mallsync uses only the \"default\" store; remove this table");
    }
    Ok(())
}

fn options<T: serde::de::DeserializeOwned>(options: toml::Table, table: &str) -> Result<T> {
    toml::Value::Table(options)
        .try_into()
        .map_err(|e| anyhow!("{table}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuntimeConfig> {
        RuntimeConfig::parse(text, Path::new("/etc/mallsync"), Path::new("/data"))
    }

    #[test]
    fn an_empty_file_keeps_spins_defaults_in_the_data_dir() {
        let config = parse("").unwrap();
        assert_eq!(
            config.key_value,
            KeyValueBackend::Spin {
                path: "/data/sqlite_key_value.db".into()
            }
        );
        assert_eq!(
            config.sqlite,
            SqliteBackend::Spin {
                path: "/data/sqlite_db.db".into()
            }
        );
        assert_eq!(config.variable_providers, [EnvProvider::spin_default()]);
    }

    #[test]
    fn redis_key_value_and_a_sqlite_path_relative_to_the_file() {
        let config = parse(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://:pw@redis:6379/2\"\n\
             [sqlite_database.default]\ntype = \"spin\"\npath = \"db/mallsync.db\"\n\
             [[variables_provider]]\ntype = \"env\"\ndotenv_path = \"mallsync.env\"\n",
        )
        .unwrap();
        assert_eq!(
            config.key_value,
            KeyValueBackend::Redis {
                url: "redis://:pw@redis:6379/2".into()
            }
        );
        // As in Spin: a SQLite path and a dotenv path are relative to the working directory.
        assert_eq!(
            config.sqlite,
            SqliteBackend::Spin {
                path: "db/mallsync.db".into()
            }
        );
        assert_eq!(
            config.variable_providers[0],
            EnvProvider {
                prefix: "SPIN_VARIABLE".into(),
                dotenv_path: Some("mallsync.env".into())
            }
        );
        let kv_file =
            parse("[key_value_store.default]\ntype = \"spin\"\npath = \"kv.db\"\n").unwrap();
        assert_eq!(
            kv_file.key_value,
            KeyValueBackend::Spin {
                path: "/etc/mallsync/kv.db".into()
            }
        );
        let moved = parse("state_dir = \"/srv/mallsync\"\n").unwrap();
        assert_eq!(
            moved.sqlite,
            SqliteBackend::Spin {
                path: "/srv/mallsync/sqlite_db.db".into()
            }
        );
        assert_eq!(config.variable_providers[1], EnvProvider::spin_default());
    }

    #[test]
    fn libsql_is_checked_as_spin_checks_it() {
        let valid = "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"https://db.turso.io\"\ntoken = \"t\"\n";
        assert_eq!(
            parse(valid).unwrap().sqlite,
            SqliteBackend::LibSql {
                url: "https://db.turso.io".into()
            }
        );
        let no_token =
            "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"https://db.turso.io\"\n";
        assert!(format!("{:#}", parse(no_token).unwrap_err()).contains("token"));
        let libsql_scheme = "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"libsql://db.turso.io\"\ntoken = \"t\"\n";
        assert!(format!("{:#}", parse(libsql_scheme).unwrap_err()).contains("https://"));
    }

    #[test]
    fn typos_another_label_and_a_bad_redis_url_are_errors() {
        assert!(parse("[key_value_stores.default]\ntype = \"redis\"\n").is_err());
        assert!(parse(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://x\"\nuri = \"y\"\n"
        )
        .is_err());
        assert!(parse("[key_value_store.cache]\ntype = \"spin\"\n").is_err());
        assert!(
            parse("[key_value_store.default]\ntype = \"redis\"\nurl = \"http://x\"\n").is_err()
        );
        assert!(parse("[[variables_provider]]\ntype = \"vault\"\n").is_err());
    }
}
