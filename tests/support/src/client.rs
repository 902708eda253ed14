//! Plain HTTP to the app on loopback, as the end-to-end and browser tests call its JSON routes.

use serde_json::Value;

/// A status and headers as the app sent them, and the body read as JSON (or, when it is not
/// JSON, as a JSON string holding its text).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

/// A client for the app: every status is an answer, not an error; redirects are not followed
/// (BASE's OAuth start and callback answer with one); a request gets a minute at most.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(std::time::Duration::from_secs(60)))
                .build()
                .into(),
        }
    }
}

impl Client {
    /// `method url` with `headers` and, when given, a JSON `body`. Panics naming the request
    /// when it cannot be built, sent or read.
    pub fn call(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut request = http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(body.unwrap_or_default().to_vec())
            .unwrap_or_else(|e| panic!("building {method} {url}: {e}"));
        let response = self
            .agent
            .run(request)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .read_to_vec()
            .unwrap_or_else(|e| panic!("reading the body of {method} {url}: {e}"));
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Whether `url` answers a GET at all (any status).
    pub fn answers(&self, url: &str) -> bool {
        self.agent.get(url).call().is_ok()
    }
}
