//! Every answer the service gives is JSON: one builder for routes and errors alike.

/// `body` as an `application/json` response; a status outside 100..=999 becomes 500.
pub fn json(status: u16, body: &serde_json::Value) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(body.to_string().into_bytes());
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
