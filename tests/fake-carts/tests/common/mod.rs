//! A blocking loopback client for the fakes' own tests and the clients' tests.

#![allow(dead_code)] // each test file uses a different part

use std::time::Duration;

use serde_json::Value;

pub type Request = http::Request<Vec<u8>>;
pub type Response = http::Response<Vec<u8>>;

thread_local! {
    /// The fake clock this test moves forward before each request (see [`pace`]).
    static PACED: std::cell::RefCell<Option<mallsync_fake_carts::Clock>> =
        const { std::cell::RefCell::new(None) };
}

/// From now on, every request this test thread sends first moves `clock` (the fake's) one second
/// on, so a test that is not about rate limits stays within a one-request-a-second cart's limit
/// without waiting; `None` stops it.
pub fn pace(clock: Option<&mallsync_fake_carts::Clock>) {
    PACED.with(|p| *p.borrow_mut() = clock.cloned());
}

/// Sends one request as the components would, answering any status (errors are the client's to
/// classify); Err only below HTTP.
pub fn send(request: Request) -> Result<Response, String> {
    PACED.with(|p| {
        if let Some(clock) = p.borrow().as_ref() {
            clock.advance(Duration::from_millis(1001));
        }
    });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // Redirects are answers to assert (BASE's authorize), not to follow.
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let (parts, body) = request.into_parts();
    let response = if body.is_empty() {
        agent.run(http::Request::from_parts(parts, ()))
    } else {
        agent.run(http::Request::from_parts(parts, body))
    }
    .map_err(|e| e.to_string())?;
    let (parts, mut body) = response.into_parts();
    let bytes = body.read_to_vec().map_err(|e| e.to_string())?;
    Ok(http::Response::from_parts(parts, bytes))
}

/// A request under construction against a fake.
pub struct Call(http::request::Builder, Vec<u8>);

pub fn call(method: &str, url: &str) -> Call {
    Call(http::Request::builder().method(method).uri(url), Vec::new())
}

impl Call {
    pub fn header(self, name: &str, value: &str) -> Call {
        Call(self.0.header(name, value), self.1)
    }

    pub fn bearer(self, token: &str) -> Call {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    pub fn basic(self, user: &str, password: &str) -> Call {
        use base64::Engine;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("Authorization", &format!("Basic {encoded}"))
    }

    pub fn form(self, pairs: &[(&str, &str)]) -> Call {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let call = self.header("Content-Type", "application/x-www-form-urlencoded");
        Call(call.0, body.into_bytes())
    }

    pub fn json(self, body: &Value) -> Call {
        let call = self.header("Content-Type", "application/json");
        Call(call.0, body.to_string().into_bytes())
    }

    pub fn send(self) -> Answer {
        let request = match self.0.body(self.1) {
            Ok(request) => request,
            Err(e) => panic!("bad test request: {e}"),
        };
        match send(request) {
            Ok(response) => Answer(response),
            Err(e) => panic!("the fake did not answer: {e}"),
        }
    }
}

pub struct Answer(pub Response);

impl Answer {
    pub fn status(&self) -> u16 {
        self.0.status().as_u16()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(self.0.body()).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.0
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

/// `send` as the cart clients take it.
pub fn cart_send(
    request: mallsync_carts::Request,
) -> Result<mallsync_carts::Response, mallsync_carts::TransportError> {
    send(request).map_err(mallsync_carts::TransportError)
}

/// Runs a cart exchange against a fake.
pub fn drive<E: mallsync_carts::Exchange>(
    exchange: E,
) -> Result<E::Output, mallsync_carts::CartError> {
    mallsync_carts::drive(exchange, cart_send)
}

/// The store's API with a fresh token when the cart wants one first (BASE refresh, futureshop
/// client credentials), as the service does before each run.
pub fn with_token<C: mallsync_carts::Connector>(
    mut api: mallsync_carts::Api<C::Credentials>,
) -> Result<mallsync_carts::Api<C::Credentials>, mallsync_carts::CartError> {
    let now = chrono::Utc::now();
    if let Some(request) = C::token_request(&api, now)? {
        let response = cart_send(request)?;
        api.access_token = Some(C::parse_token(response, now)?);
    }
    Ok(api)
}

/// An import of every order between two Japan times, all statuses, into 新規受付.
pub fn import_query(from: &str, to: &str) -> mallsync_carts::ImportQuery {
    let parse = |t: &str| match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(t) => t.with_timezone(&chrono::Utc),
        Err(e) => panic!("bad test time {t:?}: {e}"),
    };
    mallsync_carts::ImportQuery {
        from: parse(from),
        to: parse(to),
        cart_statuses: Vec::new(),
        option_price: false,
        target_status: mallsync_rules::OmsStatus::New,
    }
}
