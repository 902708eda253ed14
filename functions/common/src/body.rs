//! Reading a request body with a limit: `Content-Length` over the limit is refused before any of
//! the body is read, and a body that grows past the limit while streaming is refused at that
//! point, the rest left unread. Memory stays bounded by the limit whatever the caller sends.

use spin_sdk::http::{IncomingRequest, Request, Response};
use wasi::io::streams::StreamError;

use crate::error::json_response;

/// The largest body a component reads (the sync service's own limit, 10 MiB).
pub const MAX_BODY_BYTES: usize = mallsync_sync::routes::MAX_BODY_BYTES;
/// How much one read asks for.
const CHUNK_BYTES: u64 = 64 * 1024;

/// The request with its body read, or the response to send instead (413 over `limit`, 400 when
/// the body cannot be read).
pub fn read_limited(request: IncomingRequest, limit: usize) -> Result<Request, Response> {
    let declared = request
        .headers()
        .get("content-length")
        .first()
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let method = request.method();
    let uri = request.uri();
    let headers = request.headers();
    let body = request
        .consume()
        .map_err(|()| unreadable("the request body was already taken"))?;
    let stream = body
        .stream()
        .map_err(|()| unreadable("the request body has no stream"))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(CHUNK_BYTES) {
            Ok(chunk) => {
                if bytes.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                bytes.extend_from_slice(&chunk);
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(unreadable(&format!(
                    "reading the request body failed: {}",
                    e.to_debug_string()
                )))
            }
        }
    }
    // The stream is a child of the body: it goes first.
    drop(stream);
    drop(body);
    Ok(Request::builder()
        .method(method)
        .uri(uri)
        .headers(headers)
        .body(bytes)
        .build())
}

fn too_large(limit: usize) -> Response {
    json_response(
        413,
        &serde_json::json!({
            "error": format!(
                "the request body is over {limit} bytes; send at most {} orders per webhook \
                 / リクエスト本文が上限 ({limit} バイト) を超えています",
                mallsync_sync::orders::MAX_BATCH
            )
        }),
    )
}

fn unreadable(message: &str) -> Response {
    json_response(400, &serde_json::json!({ "error": message }))
}
