//! The routes every cart component serves under `/<cart>/` (spin.toml: `route = "/<cart>/..."`).

use crate::{error::json_response, platform, ApiError};
use mallsync_rules::Cart;
use spin_sdk::{
    http::{IncomingRequest, Method, OutgoingResponse, Request, Response, ResponseOutparam},
    sqlite::Value,
};

/// Serves one request for `cart` as it streams in. This is the whole body of a cart component:
/// the body is read up to `MAX_BODY_BYTES` (413 past it, the rest unread), then the platform
/// probes (`health`, `__test/*`) are served here and every other route by the sync service. The
/// response is sent as soon as it is ready; work the route left for after it (the webhook's
/// write-back) then runs in the same invocation.
pub async fn serve_cart(cart: Cart, request: IncomingRequest, response_out: ResponseOutparam) {
    let (response, follow_up) =
        match crate::body::read_limited(request, crate::body::MAX_BODY_BYTES) {
            Ok(request) => serve_cart_request(cart, request),
            Err(response) => (response, None),
        };
    send(response_out, response).await;
    if let Some(work) = follow_up {
        mallsync_sync::spin::follow_up(cart, work);
    }
}

/// Serves one request whose body is already read: the response, and the work for after it.
pub fn serve_cart_request(
    cart: Cart,
    request: Request,
) -> (Response, Option<mallsync_sync::routes::FollowUp>) {
    if is_platform_route(&request) {
        (
            route(cart, &request).unwrap_or_else(ApiError::into_response),
            None,
        )
    } else {
        mallsync_sync::spin::serve_then(cart, request)
    }
}

/// Sends `response` and finishes its body, so the caller has its whole answer before any
/// follow-up work starts.
async fn send(response_out: ResponseOutparam, mut response: Response) {
    let body = std::mem::take(response.body_mut());
    match OutgoingResponse::try_from(response) {
        Ok(outgoing) => {
            if let Err(e) = response_out.set_with_body(outgoing, body).await {
                eprintln!("could not send the response: {e}");
            }
        }
        Err(e) => eprintln!("could not convert the response: {e}"),
    }
}

fn is_platform_route(request: &Request) -> bool {
    let path = path_info(request);
    matches!(
        path.trim_matches('/').split('/').next(),
        Some("health" | "__test")
    )
}

/// The path below the component's route, as Spin passes it in `spin-path-info`.
pub(crate) fn path_info(request: &Request) -> String {
    request
        .header("spin-path-info")
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| request.path())
        .to_string()
}

fn route(cart: Cart, request: &Request) -> Result<Response, ApiError> {
    let path = path_info(request);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method(), segments.as_slice()) {
        // GET /<cart>/health
        (Method::Get, ["health"]) => health(cart),
        (_, ["health"]) => Err(ApiError::MethodNotAllowed("GET")),
        (_, ["__test", ..]) if !platform::test_routes_enabled() => Err(ApiError::NotFound),
        // GET /<cart>/__test/kv/<key>
        (Method::Get, ["__test", "kv", key]) => read_key_value(cart, key),
        // PUT /<cart>/__test/kv/<key>
        (Method::Put, ["__test", "kv", key]) => write_key_value(cart, key, request.body()),
        // GET /<cart>/__test/sqlite/<key>
        (Method::Get, ["__test", "sqlite", key]) => read_row(cart, key),
        // PUT /<cart>/__test/sqlite/<key>
        (Method::Put, ["__test", "sqlite", key]) => write_row(cart, key, request.body()),
        // GET /<cart>/__test/outbound?url=<absolute URL>
        (Method::Get, ["__test", "outbound"]) => outbound(request.query()),
        // GET /<cart>/__test/panic: traps on purpose, to show the host survives a crashed request
        (Method::Get, ["__test", "panic"]) => panic!("{} component asked to panic", cart.slug()),
        _ => Err(ApiError::NotFound),
    }
}

/// Reports whether this component can reach everything it needs: its variables, the key-value
/// store and the SQLite database.
fn health(cart: Cart) -> Result<Response, ApiError> {
    let api_origin = platform::variable("api_origin")?;
    platform::key_value()?;
    platform::database()?
        .execute("SELECT 1", &[])
        .map_err(|e| ApiError::Internal(format!("sqlite: {e}")))?;
    Ok(json_response(
        200,
        &serde_json::json!({ "cart": cart.slug(), "status": "ok", "api_origin": api_origin }),
    ))
}

fn probe_key(cart: Cart, key: &str) -> String {
    format!("probe:{}:{key}", cart.slug())
}

fn read_key_value(cart: Cart, key: &str) -> Result<Response, ApiError> {
    let value = platform::key_value()?
        .get(&probe_key(cart, key))
        .map_err(|e| ApiError::Internal(format!("key-value get: {e}")))?;
    value
        .map(|v| Response::new(200, v))
        .ok_or(ApiError::NotFound)
}

fn write_key_value(cart: Cart, key: &str, value: &[u8]) -> Result<Response, ApiError> {
    platform::key_value()?
        .set(&probe_key(cart, key), value)
        .map_err(|e| ApiError::Internal(format!("key-value set: {e}")))?;
    Ok(Response::new(204, ()))
}

const PROBE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS platform_probe (cart TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (cart, key))";

fn read_row(cart: Cart, key: &str) -> Result<Response, ApiError> {
    let db = platform::database()?;
    let sql = |e| ApiError::Internal(format!("sqlite: {e}"));
    db.execute(PROBE_TABLE, &[]).map_err(sql)?;
    let result = db
        .execute(
            "SELECT value FROM platform_probe WHERE cart = ? AND key = ?",
            &[Value::Text(cart.slug().into()), Value::Text(key.into())],
        )
        .map_err(sql)?;
    let value = result
        .rows()
        .next()
        .and_then(|row| row.get::<&[u8]>("value").map(<[u8]>::to_vec));
    value
        .map(|v| Response::new(200, v))
        .ok_or(ApiError::NotFound)
}

fn write_row(cart: Cart, key: &str, value: &[u8]) -> Result<Response, ApiError> {
    let db = platform::database()?;
    let sql = |e| ApiError::Internal(format!("sqlite: {e}"));
    db.execute(PROBE_TABLE, &[]).map_err(sql)?;
    db.execute(
        "INSERT INTO platform_probe (cart, key, value) VALUES (?, ?, ?) ON CONFLICT (cart, key) DO UPDATE SET value = excluded.value",
        &[Value::Text(cart.slug().into()), Value::Text(key.into()), Value::Blob(value.to_vec())],
    )
    .map_err(sql)?;
    Ok(Response::new(204, ()))
}

fn outbound(query: &str) -> Result<Response, ApiError> {
    let url = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("url="))
        .ok_or_else(|| ApiError::BadRequest("give the target as ?url=<absolute URL>".into()))?;
    let upstream = platform::get(url)?;
    Ok(json_response(
        200,
        &serde_json::json!({
            "status": upstream.status(),
            "body": String::from_utf8_lossy(upstream.body()),
        }),
    ))
}
