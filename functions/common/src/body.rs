//! Reading a request body with a limit: `Content-Length` over the limit is refused before any of
//! the body is read, and a body that grows past the limit while streaming is refused at that
//! point, the rest left unread. Memory stays bounded by the limit whatever the caller sends.

use mallsync_sync::routes::{too_large, Request, MAX_BODY_BYTES};
use mallsync_sync::ApiError;
use spin_sdk::http::IncomingRequest;
use wasi::io::streams::StreamError;

/// How much one read asks for.
const CHUNK_BYTES: u64 = 64 * 1024;

/// The request with its body read up to `MAX_BODY_BYTES`, as the service takes it, or the error
/// to answer instead (413 over the limit, 400 when the request cannot be read).
pub fn read_limited(request: IncomingRequest) -> Result<Request, ApiError> {
    let limit = MAX_BODY_BYTES;
    let declared = request
        .headers()
        .get("content-length")
        .first()
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let method = http::Method::from(request.method());
    let uri = request.path_with_query().unwrap_or_else(|| "/".into());
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in request.headers().entries() {
        builder = builder.header(name, value);
    }
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
                    return Err(too_large());
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
    builder
        .body(bytes)
        .map_err(|e| unreadable(&format!("the request does not parse: {e}")))
}

fn unreadable(message: &str) -> ApiError {
    ApiError::invalid("$", message)
}
