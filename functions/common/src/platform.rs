//! The Spin platform as the components use it: each call maps its failure to an `ApiError` that
//! names the store, variable or upstream involved.

use crate::ApiError;
use spin_sdk::{
    http::{Method, Request, Response},
    key_value::Store,
    sqlite::Connection,
    variables,
};

/// A component variable (`[component.<id>.variables]` in spin.toml).
pub fn variable(name: &str) -> Result<String, ApiError> {
    variables::get(name).map_err(|e| ApiError::Internal(format!("variable {name}: {e}")))
}

/// Diagnostic routes (`/__test/...`) answer only when `test_routes_enabled` is "true", so a
/// deployed app never exposes them by accident.
pub fn test_routes_enabled() -> bool {
    variable("test_routes_enabled").is_ok_and(|v| v == "true")
}

/// The key-value store labelled "default" (spin.toml `key_value_stores`).
pub fn key_value() -> Result<Store, ApiError> {
    Store::open_default().map_err(|e| ApiError::Internal(format!("key-value store default: {e}")))
}

/// The SQLite database labelled "default" (spin.toml `sqlite_databases`).
pub fn database() -> Result<Connection, ApiError> {
    Connection::open_default()
        .map_err(|e| ApiError::Internal(format!("sqlite database default: {e}")))
}

/// One outbound GET. Spin refuses hosts outside the component's `allowed_outbound_hosts`; that
/// refusal comes back as `ApiError::Upstream` naming the URL.
pub fn get(url: &str) -> Result<Response, ApiError> {
    let request = Request::builder().method(Method::Get).uri(url).build();
    spin_sdk::http::run(spin_sdk::http::send::<_, Response>(request))
        .map_err(|e| ApiError::Upstream(format!("GET {url} failed: {e}")))
}
