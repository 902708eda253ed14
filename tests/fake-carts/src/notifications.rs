//! A fake notification destination on loopback: an HTTPS webhook receiver that verifies
//! mallsync's signature (`X-Mallsync-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
//! the OMS webhook's format) and a chat-style incoming webhook (`POST /chat/…` with
//! `{"text": …}`, as Slack, Mattermost and Google Chat take it). It records each delivery it
//! acknowledged, and counts as violations a delivery whose signature does not verify and the
//! same event (its `event_key`) acknowledged twice. Make it fail with `faults()` (e.g.
//! `fail_next(2)`): a failed answer records nothing.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::server::{Cart, FakeServer, Limited, RecordedCall, Reply, Violation, ViolationKind};
use crate::Fault;

pub type FakeDestination = FakeServer<Receiver>;

/// One delivery the destination acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub path: String,
    /// `X-Mallsync-Event` (webhook) or `None` (chat).
    pub event: Option<String>,
    /// `X-Mallsync-Delivery`: the outbox id, the same on every retry of one event.
    pub delivery_id: Option<String>,
    pub body: Value,
}

#[derive(Debug, Default)]
pub struct Receiver {
    /// The signing secret mallsync returned when the destination was created.
    pub secret: Option<String>,
    pub deliveries: Vec<Delivery>,
    acknowledged_keys: HashSet<String>,
    violations: Vec<Violation>,
}

impl FakeDestination {
    pub fn start() -> FakeDestination {
        FakeServer::serve(Receiver::default(), None)
    }

    /// The signed webhook's URL.
    pub fn hook_url(&self) -> String {
        format!("{}/hook", self.url())
    }

    /// A chat incoming-webhook URL (the path holds its token, as Slack's do).
    pub fn chat_url(&self) -> String {
        format!("{}/chat/T000/B000/XXXXSECRET", self.url())
    }

    pub fn set_secret(&self, secret: &str) {
        self.with_cart(|r| r.secret = Some(secret.to_string()));
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.with_cart(|r| r.deliveries.clone())
    }

    /// The next `count` deliveries are answered 503 (nothing recorded).
    pub fn fail_next(&self, count: usize) {
        self.faults().next(count, Fault::Status(503));
    }
}

fn verifies(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t.to_string()),
            Some(("v1", v)) => signatures.push(v.to_string()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    signatures.contains(&expected)
}

impl Cart for Receiver {
    fn handle(&mut self, call: &RecordedCall, _now: DateTime<Utc>) -> Reply {
        if call.method != "POST" {
            return Reply::json(405, &json!({ "error": "POST only" }));
        }
        let Some(body) = call.json() else {
            return Reply::json(400, &json!({ "error": "invalid_payload" }));
        };
        if call.path.starts_with("/chat/") {
            if body["text"].as_str().is_none_or(str::is_empty) {
                return Reply::json(400, &json!({ "error": "no_text" }));
            }
            self.deliveries.push(Delivery {
                path: call.path.clone(),
                event: None,
                delivery_id: None,
                body,
            });
            return Reply::json(200, &json!({ "ok": true }));
        }
        let signed = match (&self.secret, call.header("x-mallsync-signature")) {
            (Some(secret), Some(header)) => verifies(secret, header, &call.body),
            _ => false,
        };
        if !signed {
            self.violations.push(Violation::new(
                ViolationKind::BadSignature,
                call,
                "the signature does not verify with the destination's secret",
            ));
            return Reply::json(401, &json!({ "error": "bad signature" }));
        }
        let key = body["event_key"].as_str().unwrap_or_default().to_string();
        if !self.acknowledged_keys.insert(key.clone()) {
            self.violations.push(Violation::new(
                ViolationKind::DuplicateNotification,
                call,
                format!("event {key} was already delivered and acknowledged"),
            ));
        }
        self.deliveries.push(Delivery {
            path: call.path.clone(),
            event: call.header("x-mallsync-event").map(str::to_string),
            delivery_id: call.header("x-mallsync-delivery").map(str::to_string),
            body,
        });
        Reply::json(200, &json!({ "received": true }))
    }

    fn rate_limited(&self, _limited: &Limited) -> Reply {
        Reply::json(429, &json!({ "error": "slow down" }))
    }

    fn drain_violations(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }

    fn token_expired(&self) -> Reply {
        Reply::json(401, &json!({ "error": "unauthorized" }))
    }
}
