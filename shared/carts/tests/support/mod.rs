//! Test helpers: fixtures from tests/fixtures/<cart>/, canned responses, a scripted cart.

#![allow(dead_code)] // each test file uses a different part

use std::collections::VecDeque;
use std::path::PathBuf;

use mallsync_carts::{drive, CartError, Exchange, Request, Response, TransportError};

pub fn fixture_path(cart: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(cart)
        .join(name)
}

pub fn fixture(cart: &str, name: &str) -> Vec<u8> {
    let path = fixture_path(cart, name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

pub fn response(status: u16, body: impl Into<Vec<u8>>) -> Response {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap()
}

pub fn fixture_response(cart: &str, status: u16, name: &str) -> Response {
    response(status, fixture(cart, name))
}

/// Runs an exchange against canned responses, in order, and returns what it sent.
pub fn run<E: Exchange>(
    exchange: E,
    responses: Vec<Response>,
) -> (Result<E::Output, CartError>, Vec<Request>) {
    let mut queue: VecDeque<Response> = responses.into();
    let mut sent = Vec::new();
    let out = drive(exchange, |req| {
        sent.push(req);
        queue
            .pop_front()
            .ok_or_else(|| TransportError("the test scripted no more responses".into()))
    });
    assert!(
        queue.is_empty() || out.is_err(),
        "{} scripted responses were not asked for",
        queue.len()
    );
    (out, sent)
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The query parameters of a request, decoded.
pub fn query(req: &Request) -> Vec<(String, String)> {
    form(req.uri().query().unwrap_or_default().as_bytes())
}

/// A form-encoded body or query, decoded.
pub fn form(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).into_owned().collect()
}

pub fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

pub fn json(req: &Request) -> serde_json::Value {
    serde_json::from_slice(req.body()).expect("a JSON body")
}
