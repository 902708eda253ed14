//! Errors become status codes here and nowhere else.

use spin_sdk::http::Response;

/// What went wrong while serving a request, already classified for the caller.
#[derive(Debug)]
pub enum ApiError {
    /// The request itself is wrong (400); the text tells the caller what to change.
    BadRequest(String),
    /// Missing or wrong credentials (401).
    Unauthorized,
    /// No such route (404).
    NotFound,
    /// The path exists, but not with this method (405); the methods it takes, for `Allow`.
    MethodNotAllowed(&'static str),
    /// The route exists but is switched off by configuration (503); the text says which variable.
    Disabled(String),
    /// An upstream HTTP call failed or was refused (502); the text names the upstream.
    Upstream(String),
    /// A platform call failed (500). The text goes to the log, not to the caller.
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Upstream(_) => 502,
            ApiError::Disabled(_) => 503,
            ApiError::Internal(_) => 500,
        }
    }

    /// The JSON body the caller sees: an internal error's detail is logged instead of echoed.
    pub fn into_response(self) -> Response {
        let message = match &self {
            ApiError::BadRequest(m) | ApiError::Disabled(m) | ApiError::Upstream(m) => m.clone(),
            ApiError::Unauthorized => "missing or wrong bearer token".to_string(),
            ApiError::NotFound => "no such route".to_string(),
            ApiError::MethodNotAllowed(allow) => format!("this path takes {allow} only"),
            ApiError::Internal(detail) => {
                eprintln!("internal error: {detail}");
                "internal error; see the component log".to_string()
            }
        };
        let mut response = json_response(self.status(), &serde_json::json!({ "error": message }));
        if let ApiError::MethodNotAllowed(allow) = self {
            response.set_header("allow", allow);
        }
        response
    }
}

pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}
