//! A cart component's platform routes: `GET /<cart>/health`, and the `/<cart>/__test/*` probes
//! the platform tests use to show that key-value, SQLite and outbound HTTP reach the component
//! (and that a crashed request leaves the host standing). The probes answer only while
//! `test_routes_enabled` is "true" (`routes::Access::Probe`).

use serde_json::json;

use super::{Ctx, Response};
use crate::api_error::ApiError;
use crate::io::{Io, Value};
use crate::response::json;

/// Whether this component reaches everything it needs: its `api_origin` variable, the key-value
/// store and the SQLite database.
pub(crate) fn health<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let api_origin = ctx
        .io
        .variable(crate::carts::API_ORIGIN_VARIABLE)
        .ok_or_else(|| ApiError::Internal("variable api_origin is not set".into()))?;
    ctx.io.kv_get(&probe_key(ctx, "health"))?;
    ctx.io.sql("SELECT 1", &[])?;
    Ok(json(
        200,
        &json!({ "cart": ctx.cart.slug(), "status": "ok", "api_origin": api_origin }),
    ))
}

fn probe_key<I: Io>(ctx: &Ctx<'_, I>, key: &str) -> String {
    format!("probe:{}:{key}", ctx.cart.slug())
}

fn raw(status: u16, body: Vec<u8>) -> Response {
    let mut response = http::Response::new(body);
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
}

fn not_found() -> ApiError {
    ApiError::NotFound("no such probe entry".into())
}

pub(crate) fn read_key_value<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let value = ctx.io.kv_get(&probe_key(ctx, ctx.param("key")))?;
    value.map(|v| raw(200, v)).ok_or_else(not_found)
}

pub(crate) fn write_key_value<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    ctx.io
        .kv_set(&probe_key(ctx, ctx.param("key")), ctx.request.body())?;
    Ok(raw(204, Vec::new()))
}

const PROBE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS platform_probe (cart TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (cart, key))";

pub(crate) fn read_row<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    ctx.io.sql(PROBE_TABLE, &[])?;
    let rows = ctx.io.sql(
        "SELECT value FROM platform_probe WHERE cart = ? AND key = ?",
        &[ctx.cart.slug().into(), ctx.param("key").into()],
    )?;
    let value = rows.first().and_then(|row| match row.get("value") {
        Some(Value::Blob(bytes)) => Some(bytes.clone()),
        Some(Value::Text(text)) => Some(text.clone().into_bytes()),
        _ => None,
    });
    value.map(|v| raw(200, v)).ok_or_else(not_found)
}

pub(crate) fn write_row<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    ctx.io.sql(PROBE_TABLE, &[])?;
    ctx.io.sql(
        "INSERT INTO platform_probe (cart, key, value) VALUES (?, ?, ?) ON CONFLICT (cart, key) DO UPDATE SET value = excluded.value",
        &[
            ctx.cart.slug().into(),
            ctx.param("key").into(),
            Value::Blob(ctx.request.body().clone()),
        ],
    )?;
    Ok(raw(204, Vec::new()))
}

/// One GET to `?url=`: a host outside the component's `allowed_outbound_hosts` is a 502 naming
/// the platform's refusal.
pub(crate) fn outbound<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    let url = ctx
        .query("url")
        .ok_or_else(|| ApiError::invalid("url", "give the target as ?url=<absolute URL>"))?;
    let request = http::Request::get(&url)
        .body(Vec::new())
        .map_err(|e| ApiError::invalid("url", format!("{url:?} is not a URL: {e}")))?;
    let upstream = ctx.io.send(request).map_err(|e| ApiError::Cart(e.into()))?;
    Ok(json(
        200,
        &json!({
            "status": upstream.status().as_u16(),
            "body": String::from_utf8_lossy(upstream.body()),
        }),
    ))
}

/// Traps on purpose, to show the host survives a crashed request.
pub(crate) fn panic<I: Io>(ctx: &Ctx<'_, I>) -> Result<Response, ApiError> {
    panic!("{} component asked to panic", ctx.cart.slug())
}
