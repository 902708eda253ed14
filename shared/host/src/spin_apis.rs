//! `fermyon:spin/{key-value,sqlite,variables}@2.0.0`, the Spin host APIs spin-sdk 5.2.0's
//! `key_value`, `sqlite` and `variables` modules import, backed by SQLite files like `spin up`'s
//! defaults (`.spin/sqlite_key_value.db`, `.spin/sqlite_db.db`) or, for key-value, by Redis
//! (runtime config `[key_value_store.default] type = "redis"`).

use crate::runtime::Ctx;
use crate::runtime_config::{KeyValueBackend, RuntimeConfig, SqliteBackend};
use anyhow::Context as _;
use rusqlite::types::ValueRef;
use std::{path::PathBuf, sync::Mutex, time::Duration};
use wasmtime::component::Resource;

wasmtime::component::bindgen!({
    path: "wit",
    world: "spin-apis",
    imports: { default: trappable },
    with: {
        "fermyon:spin/key-value.store": KeyValueStore,
        "fermyon:spin/sqlite.connection": SqliteConnection,
    },
});

use fermyon::spin::{key_value, sqlite, variables};

/// The only store and database label this host provides; Spin's defaults have the same name.
const DEFAULT_LABEL: &str = "default";
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const REDIS_TIMEOUT: Duration = Duration::from_secs(5);

/// The stores behind key-value and SQLite, shared by every component instance of one app.
pub struct Backends {
    key_value: KeyValue,
    sqlite_path: PathBuf,
}

enum KeyValue {
    /// Spin's default: a SQLite file with Spin's own table.
    Sqlite(Mutex<rusqlite::Connection>),
    Redis(RedisKeyValue),
}

impl Backends {
    /// Opens the stores `config` names; a store that cannot be reached stops the start here.
    pub fn open(config: &RuntimeConfig) -> anyhow::Result<Backends> {
        let sqlite_path = match &config.sqlite {
            SqliteBackend::Spin { path } => path.clone(),
            SqliteBackend::LibSql { url } => anyhow::bail!(
                "sqlite_database.default is libSQL ({url}): valid for Spin, but mallsync-host has no libSQL client. Run this runtime config with `spin up --runtime-config-file`, or use type = \"spin\" with mallsync-host"
            ),
        };
        if let Some(dir) = sqlite_path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let key_value = match &config.key_value {
            KeyValueBackend::Spin { path } => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                let kv = rusqlite::Connection::open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                kv.busy_timeout(BUSY_TIMEOUT)?;
                // Spin's own table, so a data dir works with `spin up` too.
                kv.execute(
                    "CREATE TABLE IF NOT EXISTS spin_key_value (store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key))",
                    [],
                )?;
                KeyValue::Sqlite(Mutex::new(kv))
            }
            KeyValueBackend::Redis { url } => KeyValue::Redis(RedisKeyValue::connect(url)?),
        };
        Ok(Backends {
            key_value,
            sqlite_path,
        })
    }

    fn with_key_value<T>(
        &self,
        sqlite: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
        redis: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, key_value::Error> {
        match &self.key_value {
            KeyValue::Sqlite(conn) => {
                let conn = conn
                    .lock()
                    .map_err(|_| key_value::Error::Other("key-value backend poisoned".into()))?;
                sqlite(&conn).map_err(|e| key_value::Error::Other(e.to_string()))
            }
            KeyValue::Redis(store) => store.run(redis),
        }
    }
}

/// The Redis key-value store as Spin's `type = "redis"` keeps it: each key as a Redis string
/// under its own name (no prefix, whatever the store label), so `spin up` and this host read the
/// same data. One connection, reopened once when a call fails on a broken one.
struct RedisKeyValue {
    client: redis::Client,
    connection: Mutex<Option<redis::Connection>>,
}

impl RedisKeyValue {
    fn connect(url: &str) -> anyhow::Result<RedisKeyValue> {
        let client = redis::Client::open(url).context("key_value_store.default: Redis URL")?;
        let mut connection = open_redis(&client)
            .map_err(|e| anyhow::anyhow!("connecting to Redis for key_value_store.default: {e}"))?;
        redis::cmd("PING")
            .query::<()>(&mut connection)
            .map_err(|e| {
                anyhow::anyhow!("Redis for key_value_store.default answered PING with: {e}")
            })?;
        Ok(RedisKeyValue {
            client,
            connection: Mutex::new(Some(connection)),
        })
    }

    /// Runs `call`; on a broken connection it reconnects and runs it once more (every call here
    /// is GET, SET, DEL, EXISTS or KEYS, so a second run does no harm).
    fn run<T>(
        &self,
        call: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, key_value::Error> {
        let other = |e: &dyn std::fmt::Display| key_value::Error::Other(format!("redis: {e}"));
        let mut slot = self
            .connection
            .lock()
            .map_err(|_| key_value::Error::Other("key-value backend poisoned".into()))?;
        if let Some(connection) = slot.as_mut() {
            match call(connection) {
                Err(e) if e.is_io_error() || e.is_connection_dropped() => *slot = None,
                result => return result.map_err(|e| other(&e)),
            }
        }
        let connection = slot.insert(open_redis(&self.client).map_err(|e| other(&e))?);
        call(connection).map_err(|e| other(&e))
    }
}

/// A connection whose every call gives up after [`REDIS_TIMEOUT`], so a hung Redis fails the
/// guest's call instead of holding a host thread.
fn open_redis(client: &redis::Client) -> redis::RedisResult<redis::Connection> {
    let connection = client.get_connection_with_timeout(REDIS_TIMEOUT)?;
    connection.set_read_timeout(Some(REDIS_TIMEOUT))?;
    connection.set_write_timeout(Some(REDIS_TIMEOUT))?;
    Ok(connection)
}

/// An open key-value store (the guest's `store` resource).
pub struct KeyValueStore {
    label: String,
}

/// An open SQLite connection (the guest's `connection` resource).
pub struct SqliteConnection {
    conn: rusqlite::Connection,
}

impl key_value::Host for Ctx {}

impl key_value::HostStore for Ctx {
    fn open(
        &mut self,
        label: String,
    ) -> wasmtime::Result<Result<Resource<KeyValueStore>, key_value::Error>> {
        if !self.component.key_value_stores.contains(&label) {
            return Ok(Err(key_value::Error::AccessDenied));
        }
        if label != DEFAULT_LABEL {
            return Ok(Err(key_value::Error::NoSuchStore));
        }
        Ok(Ok(self.table.push(KeyValueStore { label })?))
    }

    fn get(
        &mut self,
        store: Resource<KeyValueStore>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, key_value::Error>> {
        let label = self.table.get(&store)?.label.clone();
        Ok(self.backends.with_key_value(
            |c| {
                use rusqlite::OptionalExtension;
                c.query_row(
                    "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                    (label, &key),
                    |r| r.get(0),
                )
                .optional()
            },
            |r| redis::cmd("GET").arg(&key).query(r),
        ))
    }

    fn set(
        &mut self,
        store: Resource<KeyValueStore>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), key_value::Error>> {
        let label = self.table.get(&store)?.label.clone();
        Ok(self.backends.with_key_value(
            |c| {
                c.execute(
                    "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                    (label, &key, &value),
                )
                .map(drop)
            },
            |r| redis::cmd("SET").arg(&key).arg(&value).query(r),
        ))
    }

    fn delete(
        &mut self,
        store: Resource<KeyValueStore>,
        key: String,
    ) -> wasmtime::Result<Result<(), key_value::Error>> {
        let label = self.table.get(&store)?.label.clone();
        Ok(self.backends.with_key_value(
            |c| {
                c.execute(
                    "DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2",
                    (label, &key),
                )
                .map(drop)
            },
            |r| redis::cmd("DEL").arg(&key).query(r),
        ))
    }

    fn exists(
        &mut self,
        store: Resource<KeyValueStore>,
        key: String,
    ) -> wasmtime::Result<Result<bool, key_value::Error>> {
        let label = self.table.get(&store)?.label.clone();
        Ok(self.backends.with_key_value(
            |c| {
                c.query_row(
                    "SELECT EXISTS (SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2)",
                    (label, &key),
                    |r| r.get(0),
                )
            },
            |r| redis::cmd("EXISTS").arg(&key).query(r),
        ))
    }

    fn get_keys(
        &mut self,
        store: Resource<KeyValueStore>,
    ) -> wasmtime::Result<Result<Vec<String>, key_value::Error>> {
        let label = self.table.get(&store)?.label.clone();
        Ok(self.backends.with_key_value(
            |c| {
                let mut stmt =
                    c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?;
                let keys = stmt
                    .query_map([label], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>();
                keys
            },
            // Spin's Redis store lists with KEYS * too.
            |r| redis::cmd("KEYS").arg("*").query(r),
        ))
    }

    fn drop(&mut self, store: Resource<KeyValueStore>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}

impl sqlite::Host for Ctx {}

impl sqlite::HostConnection for Ctx {
    fn open(
        &mut self,
        database: String,
    ) -> wasmtime::Result<Result<Resource<SqliteConnection>, sqlite::Error>> {
        if !self.component.sqlite_databases.contains(&database) {
            return Ok(Err(sqlite::Error::AccessDenied));
        }
        if database != DEFAULT_LABEL {
            return Ok(Err(sqlite::Error::NoSuchDatabase));
        }
        let opened = rusqlite::Connection::open(&self.backends.sqlite_path).and_then(|conn| {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            Ok(conn)
        });
        match opened {
            Ok(conn) => Ok(Ok(self.table.push(SqliteConnection { conn })?)),
            Err(e) => Ok(Err(sqlite::Error::Io(format!(
                "opening {}: {e}",
                self.backends.sqlite_path.display()
            )))),
        }
    }

    fn execute(
        &mut self,
        connection: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<sqlite::Value>,
    ) -> wasmtime::Result<Result<sqlite::QueryResult, sqlite::Error>> {
        let conn = &self.table.get(&connection)?.conn;
        Ok(execute(conn, &statement, parameters).map_err(|e| sqlite::Error::Io(e.to_string())))
    }

    fn drop(&mut self, connection: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

/// One statement, as Spin's in-process SQLite runs it: prepared, bound by position, all rows read.
fn execute(
    conn: &rusqlite::Connection,
    statement: &str,
    parameters: Vec<sqlite::Value>,
) -> rusqlite::Result<sqlite::QueryResult> {
    let mut stmt = conn.prepare_cached(statement)?;
    let columns: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let params: Vec<rusqlite::types::Value> = parameters
        .into_iter()
        .map(|v| match v {
            sqlite::Value::Integer(i) => rusqlite::types::Value::Integer(i),
            sqlite::Value::Real(f) => rusqlite::types::Value::Real(f),
            sqlite::Value::Text(t) => rusqlite::types::Value::Text(t),
            sqlite::Value::Blob(b) => rusqlite::types::Value::Blob(b),
            sqlite::Value::Null => rusqlite::types::Value::Null,
        })
        .collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let values = (0..columns.len())
            .map(|i| {
                Ok(match row.get_ref(i)? {
                    ValueRef::Null => sqlite::Value::Null,
                    ValueRef::Integer(i) => sqlite::Value::Integer(i),
                    ValueRef::Real(f) => sqlite::Value::Real(f),
                    ValueRef::Text(t) => {
                        sqlite::Value::Text(String::from_utf8_lossy(t).into_owned())
                    }
                    ValueRef::Blob(b) => sqlite::Value::Blob(b.to_vec()),
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(sqlite::RowResult { values });
    }
    Ok(sqlite::QueryResult { columns, rows: out })
}

impl variables::Host for Ctx {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<String, variables::Error>> {
        let valid = !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Ok(Err(variables::Error::InvalidName(format!(
                "{name:?}: variable names are lower-case letters, digits and '_'"
            ))));
        }
        Ok(self.component.variables.get(&name).cloned().ok_or_else(|| {
            variables::Error::Undefined(format!("component has no variable {name}"))
        }))
    }
}

pub fn add_to_linker(linker: &mut wasmtime::component::Linker<Ctx>) -> wasmtime::Result<()> {
    SpinApis::add_to_linker::<Ctx, wasmtime::component::HasSelf<Ctx>>(linker, |ctx| ctx)
}
