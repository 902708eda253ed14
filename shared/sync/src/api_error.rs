//! Errors become status codes here and nowhere else: every route of every component, the Spin
//! shell's body limit included, answers through `ApiError::into_response`.

use mallsync_carts::CartError;
use mallsync_rules::FieldError;
use serde_json::json;

use crate::io::IoError;

/// What went wrong serving a request, already classified for the caller.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong (400): every problem, each with the field it is in.
    #[error("invalid request: {}", summary(.0))]
    Invalid(Vec<FieldError>),
    /// Missing or wrong credentials (401); the text says which credential is expected.
    #[error("{0}")]
    Unauthorized(String),
    /// No such route, or nothing this caller may see under that id (404).
    #[error("{0}")]
    NotFound(String),
    /// The path exists but not with this method (405); `Allow` lists the methods it takes.
    #[error("this path takes {}, not this method", .0.join(", "))]
    MethodNotAllowed(Vec<&'static str>),
    /// The request conflicts with the current state (409), e.g. a write-back already running.
    #[error("{0}")]
    Conflict(String),
    /// The body is over a limit (413); the text says the limit.
    #[error("{0}")]
    TooLarge(String),
    /// The route is switched off by configuration (503); the text names the variable to set.
    #[error("{0}")]
    Disabled(String),
    /// The cart refused or failed (502); the cart's own message, which holds no secrets.
    #[error("the cart failed: {0}")]
    Cart(#[from] CartError),
    /// A platform call failed (500). Logged; the caller sees only that it happened.
    #[error("internal error: {0}")]
    Internal(String),
}

fn summary(problems: &[FieldError]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<IoError> for ApiError {
    fn from(e: IoError) -> ApiError {
        ApiError::Internal(e.0)
    }
}

impl From<mallsync_rules::Error> for ApiError {
    fn from(e: mallsync_rules::Error) -> ApiError {
        ApiError::Invalid(e.problems)
    }
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }

    /// A problem an operator reads (a store's name or settings): Japanese and English.
    pub fn invalid_ja_en(
        field: impl Into<String>,
        ja: impl Into<String>,
        en: impl Into<String>,
    ) -> ApiError {
        ApiError::Invalid(vec![FieldError::ja_en(field, ja, en)])
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Invalid(_) => 400,
            ApiError::Unauthorized(_) => 401,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Conflict(_) => 409,
            ApiError::TooLarge(_) => 413,
            ApiError::Disabled(_) => 503,
            ApiError::Cart(_) => 502,
            ApiError::Internal(_) => 500,
        }
    }

    /// What the caller reads. An internal error's detail stays in the log.
    pub fn message(&self) -> String {
        match self {
            ApiError::Internal(_) => "internal error; the detail is in the component log".into(),
            other => other.to_string(),
        }
    }

    pub fn into_response(self) -> http::Response<Vec<u8>> {
        if let ApiError::Internal(detail) = &self {
            eprintln!("mallsync internal error: {detail}");
        }
        let mut body = json!({ "error": self.message() });
        match &self {
            ApiError::Invalid(problems) => body["problems"] = json!(problems),
            ApiError::Cart(e) => body["cart_error"] = json!(e),
            _ => {}
        }
        let mut response = crate::response::json(self.status(), &body);
        if let ApiError::MethodNotAllowed(methods) = &self {
            if let Ok(allow) = http::HeaderValue::from_str(&methods.join(", ")) {
                response.headers_mut().insert(http::header::ALLOW, allow);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_is_not_echoed_to_the_caller() {
        let response =
            ApiError::Internal("sqlite: disk I/O error at /data/app.db".into()).into_response();
        assert_eq!(response.status(), 500);
        let body = String::from_utf8(response.into_body()).unwrap();
        assert!(!body.contains("/data/app.db"), "{body}");
    }

    #[test]
    fn an_invalid_request_lists_every_problem_with_its_field() {
        let e = ApiError::Invalid(vec![
            FieldError::new("orders[0].order_id", "is empty"),
            FieldError::new("orders[2].status", "is missing"),
        ]);
        let response = e.into_response();
        assert_eq!(response.status(), 400);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["problems"][1]["field"], "orders[2].status");
    }
}
