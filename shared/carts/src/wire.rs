//! Shared wire helpers: URLs, auth headers, JSON and form bodies, and the one place a cart's
//! HTTP status and body become a [`CartError`].

use base64::Engine as _;
use chrono::{DateTime, Utc};
use http::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE, DATE, LOCATION, RETRY_AFTER};
use http::{Method, StatusCode};
use mallsync_rules::Secret;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::{CartError, Request, Response};

pub const CONTENT_TYPE_JSON: &str = "application/json";
pub const CONTENT_TYPE_FORM: &str = "application/x-www-form-urlencoded";

/// Longest piece of a cart's error body quoted in a message.
const MAX_QUOTED_CHARS: usize = 300;

/// `base` + `path` + `?query` (`base` has no trailing `/`, `path` starts with one).
pub fn url(base: &str, path: &str, query: &[(&str, &str)]) -> String {
    let mut url = format!("{}{}", base.trim_end_matches('/'), path);
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query_string(query));
    }
    url
}

/// `a=1&b=x%20y`: every byte but unreserved characters percent-encoded, so a space is `%20`
/// (which every server reads as a space; `+` is only a space to form decoders).
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", path_segment(k), path_segment(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `a=1&b=x+y` (an application/x-www-form-urlencoded body).
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// One path segment (or query key or value) with everything but unreserved characters
/// percent-encoded (ids from carts are not trusted to be URL-safe).
pub fn path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One path segment of a cart URL (an order, shipment or logistics id), percent-encoded. An
/// empty, `.` or `..` segment is refused: it would name another resource than the one meant.
/// Every cart builds its id paths with this.
pub fn segment(raw: &str) -> Result<String, CartError> {
    if raw.is_empty() || raw == "." || raw == ".." {
        return Err(CartError::InvalidRequest {
            what: format!("{raw:?} cannot be a path segment of a cart URL"),
        });
    }
    Ok(path_segment(raw))
}

/// `Bearer <token>`.
pub fn bearer(token: &Secret) -> String {
    format!("Bearer {}", token.expose())
}

/// `Basic base64(user:password)`.
pub fn basic(user: &str, password: &Secret) -> String {
    let raw = format!("{user}:{}", password.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A request builder with the method, URL and `Authorization` set.
pub fn builder(method: Method, url: &str, authorization: Option<&str>) -> http::request::Builder {
    let b = http::Request::builder().method(method).uri(url);
    match authorization {
        Some(value) => b.header(AUTHORIZATION, value),
        None => b,
    }
}

/// Finishes a request without a body.
pub fn empty(b: http::request::Builder) -> Result<Request, CartError> {
    finish(b.body(Vec::new()))
}

/// Finishes a request with a JSON body (`Content-Type: application/json`).
pub fn json<T: Serialize + ?Sized>(
    b: http::request::Builder,
    body: &T,
) -> Result<Request, CartError> {
    let bytes = serde_json::to_vec(body).map_err(|e| CartError::InvalidRequest {
        what: format!("the request body cannot be written as JSON: {e}"),
    })?;
    finish(b.header(CONTENT_TYPE, CONTENT_TYPE_JSON).body(bytes))
}

/// Finishes a request with a form-encoded body.
pub fn form(b: http::request::Builder, fields: &[(&str, &str)]) -> Result<Request, CartError> {
    finish(
        b.header(CONTENT_TYPE, CONTENT_TYPE_FORM)
            .body(form_encode(fields).into_bytes()),
    )
}

fn finish(built: Result<Request, http::Error>) -> Result<Request, CartError> {
    built.map_err(|e| CartError::InvalidRequest {
        what: format!("the request cannot be built (check the store URL and ids): {e}"),
    })
}

/// The cart's own words from an error body: its error code and message, when it gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CartMessage {
    pub code: Option<String>,
    pub message: Option<String>,
}

impl CartMessage {
    /// Reads the error shapes the five carts use: `{"error":"code","error_description":"…"}`
    /// (OAuth, BASE), `{"message":"…"}` (CS-Cart), `{"errors":[{"field":"message"}]}` (Bカート),
    /// `{"code":"…","message":"…"}`. Anything else gives no words (the body is quoted instead).
    pub fn from_body(body: &[u8]) -> CartMessage {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return CartMessage::default();
        };
        let text = |key: &str| match map.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let code = text("error").or_else(|| text("code"));
        let message = text("error_description")
            .or_else(|| text("message"))
            .or_else(|| map.get("errors").and_then(joined_messages));
        CartMessage { code, message }
    }
}

/// `["a", {"k": "b"}]` or `{"k": "b"}` → `"a; k: b"`.
fn joined_messages(errors: &Value) -> Option<String> {
    fn collect(v: &Value, key: Option<&str>, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(match key {
                Some(k) => format!("{k}: {s}"),
                None => s.clone(),
            }),
            Value::Array(items) => items.iter().for_each(|i| collect(i, key, out)),
            Value::Object(map) => map.iter().for_each(|(k, i)| collect(i, Some(k), out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    collect(errors, None, &mut out);
    (!out.is_empty()).then(|| out.join("; "))
}

/// `Ok(())` for a 2xx; otherwise the error it means. The one classification every cart uses:
/// 401/403 → `CredentialsRejected`; 429 → `RateLimited` (Retry-After in seconds; an HTTP-date
/// Retry-After is not read, leaving the pacing to the cart's [`crate::RateLimitPolicy`]);
/// 408 and 5xx → `Transient`; 3xx and other 4xx → `Rejected` with the cart's code and message.
pub fn check_status(response: &Response) -> Result<(), CartError> {
    if response.status().is_success() {
        Ok(())
    } else {
        Err(classify(
            response.status(),
            response.headers(),
            response.body(),
        ))
    }
}

/// The error a non-2xx response means (see [`check_status`]).
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> CartError {
    let words = CartMessage::from_body(body);
    let message = describe(status, &words, body);
    match status.as_u16() {
        401 | 403 => CartError::CredentialsRejected { message },
        429 => CartError::RateLimited {
            retry_after_secs: retry_after_secs(headers),
            message,
        },
        408 | 500..=599 => CartError::Transient {
            status: Some(status.as_u16()),
            message,
        },
        300..=399 => CartError::Rejected {
            status: status.as_u16(),
            code: None,
            message: format!(
                "{message}; redirected to {}: check the store URL",
                headers
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("another address")
            ),
        },
        _ => CartError::Rejected {
            status: status.as_u16(),
            code: words.code,
            message,
        },
    }
}

/// "HTTP 400: <code>: <the cart's message>" or, without words, a quote of the body.
fn describe(status: StatusCode, words: &CartMessage, body: &[u8]) -> String {
    let mut out = format!("HTTP {}", status.as_u16());
    if let Some(code) = &words.code {
        out.push_str(": ");
        out.push_str(code);
    }
    match &words.message {
        Some(m) => {
            out.push_str(": ");
            out.push_str(m);
        }
        None if words.code.is_none() => {
            let quoted = quote(body);
            if !quoted.is_empty() {
                out.push_str(": ");
                out.push_str(&quoted);
            }
        }
        None => {}
    }
    out
}

/// The start of a body as text, for an operator to read.
pub fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut out: String = text.chars().take(MAX_QUOTED_CHARS).collect();
    if text.chars().count() > MAX_QUOTED_CHARS {
        out.push('…');
    }
    out
}

/// `Retry-After` as whole seconds, when it is given that way.
pub fn retry_after_secs(headers: &HeaderMap) -> Option<u64> {
    headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

/// The response's `Date` header: the cart's clock, for waits the cart states as "until the next
/// hour" (BASE) without this crate reading a clock.
pub fn date_header(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let raw = headers.get(DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(raw.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A 2xx body parsed as `T`; `what` names the response in the error ("Bカート orders page"),
/// with the JSON path of the first field that did not fit.
pub fn parse_json<T: DeserializeOwned>(response: &Response, what: &str) -> Result<T, CartError> {
    check_status(response)?;
    json_body(response.body(), what)
}

/// A body parsed as `T` (status already checked).
pub fn json_body<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, CartError> {
    serde_json::from_slice(body).map_err(|e| malformed_body(body, what, &e))
}

/// The error for a body that did not parse: `what`, the path of the value at fault, and
/// serde_json's message. Not generic, so it is compiled once.
fn malformed_body(body: &[u8], what: &str, e: &serde_json::Error) -> CartError {
    let path = crate::json_path::of_error(body, e);
    CartError::malformed(if path == "." {
        format!("{what}: {e}")
    } else {
        format!("{what}: at {path}: {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        let mut b = http::Response::builder().status(status);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn unauthorized_and_forbidden_mean_the_credentials_were_rejected() {
        for status in [401, 403] {
            let e = check_status(&response(status, &[], "{}")).unwrap_err();
            assert!(matches!(e, CartError::CredentialsRejected { .. }), "{e:?}");
            assert!(!e.is_retryable());
        }
    }

    #[test]
    fn too_many_requests_is_retryable_after_the_seconds_the_cart_gives() {
        let e = check_status(&response(429, &[("Retry-After", "300")], "")).unwrap_err();
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(300)));
    }

    #[test]
    fn an_http_date_retry_after_is_rate_limited_without_a_delay() {
        let e = check_status(&response(
            429,
            &[("Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT")],
            "",
        ))
        .unwrap_err();
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), None);
    }

    #[test]
    fn server_errors_are_transient_and_other_client_errors_are_rejections() {
        let e = check_status(&response(503, &[], "down")).unwrap_err();
        assert_eq!(
            e,
            CartError::Transient {
                status: Some(503),
                message: "HTTP 503: down".into()
            }
        );
        let e = check_status(&response(404, &[], "")).unwrap_err();
        assert!(matches!(e, CartError::Rejected { status: 404, .. }));
        assert!(!e.is_retryable());
    }

    #[test]
    fn a_rejection_carries_the_carts_code_and_message() {
        let e = check_status(&response(
            400,
            &[],
            r#"{"error":"not_change_status","error_description":"ステータスを変更できません"}"#,
        ))
        .unwrap_err();
        assert_eq!(
            e,
            CartError::Rejected {
                status: 400,
                code: Some("not_change_status".into()),
                message: "HTTP 400: not_change_status: ステータスを変更できません".into()
            }
        );
    }

    #[test]
    fn bcart_error_lists_are_joined_into_one_message() {
        let words = CartMessage::from_body(
            r#"{"errors":[{"delivery_code":"送り状番号は必須です"},{"status":"不正な値です"}]}"#
                .as_bytes(),
        );
        assert_eq!(
            words.message.as_deref(),
            Some("delivery_code: 送り状番号は必須です; status: 不正な値です")
        );
    }

    #[test]
    fn cscart_messages_are_read() {
        let words = CartMessage::from_body(
            br#"{"message":"Bad Request: order_id is required","status":400}"#,
        );
        assert_eq!(
            words.message.as_deref(),
            Some("Bad Request: order_id is required")
        );
    }

    #[test]
    fn a_long_html_error_page_is_quoted_short() {
        let body = format!("<html>{}</html>", "x".repeat(1000));
        let e = check_status(&response(400, &[], &body)).unwrap_err();
        let CartError::Rejected { message, .. } = e else {
            panic!("expected a rejection")
        };
        assert!(message.chars().count() < 320, "{message}");
        assert!(message.ends_with('…'));
    }

    #[test]
    fn unparseable_json_names_what_and_where() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Page {
            orders: Vec<u32>,
        }
        let e = parse_json::<Page>(&response(200, &[], r#"{"orders":[1,"x"]}"#), "orders page")
            .unwrap_err();
        let CartError::Malformed { what } = e else {
            panic!("expected malformed")
        };
        assert!(what.starts_with("orders page: at orders[1]"), "{what}");
    }

    #[test]
    fn dot_and_empty_path_segments_are_refused_and_the_rest_encoded() {
        for bad in ["", ".", ".."] {
            assert!(
                matches!(segment(bad), Err(CartError::InvalidRequest { .. })),
                "{bad:?}"
            );
        }
        assert_eq!(segment("../x").unwrap(), "..%2Fx");
        assert_eq!(segment("...").unwrap(), "...");
        assert_eq!(segment("A 1/?#").unwrap(), "A%201%2F%3F%23");
    }

    #[test]
    fn query_values_and_path_segments_are_encoded() {
        assert_eq!(
            url(
                "https://x/api/",
                "/orders",
                &[("ordered_at__gte", "2026-11-01 00:00:00")]
            ),
            "https://x/api/orders?ordered_at__gte=2026-11-01%2000%3A00%3A00"
        );
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn the_date_header_is_read_as_the_carts_clock() {
        let r = response(400, &[("Date", "Mon, 23 Nov 2026 17:30:00 GMT")], "");
        assert_eq!(
            date_header(r.headers()).map(|t| t.to_rfc3339()),
            Some("2026-11-23T17:30:00+00:00".into())
        );
    }

    #[test]
    fn basic_auth_is_base64_of_user_and_password() {
        assert_eq!(
            basic("admin@example.jp", &Secret::new("key")),
            "Basic YWRtaW5AZXhhbXBsZS5qcDprZXk="
        );
    }
}
