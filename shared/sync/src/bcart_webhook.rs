//! Bカート webhooks (`order.created`, `order.updated`): each verified delivery imports its order at
//! once; the scheduled import stays the safety net, because Bカート does not guarantee delivery.
//!
//! What Bカート documents [M: api.bcart.jp/news/37, userguide.bcart.jp/management/conf/external/
//! webhook/]: webhooks are registered in the admin or through the API (scopes `webhooks-read` /
//! `webhooks-write`); the endpoint must be HTTPS; a Secret set at registration is to be verified;
//! the payload names its `event_type` (`order.created`, `order.updated`) and a unique `event_id`
//! (the same event may arrive more than once: dedupe on it); since news/37 order events carry the
//! order's `order_products` and `logistics`, also when fired through the API.
//!
//! What stays assumed [?] (the Postman reference was not readable), each one named piece here:
//! the signature header ([`HEADER_SIGNATURE`]) and its form (hex HMAC-SHA256 of the raw body with
//! the Secret, an optional `sha256=` prefix), and where the order sits in the payload
//! ([`ORDER_KEYS`]). The Secret is the shop's mallsync webhook secret: enter it as the Secret when
//! registering the Bカート webhook.

use hmac::{Hmac, Mac};
use mallsync_carts::bcart::orders::BcartOrder;
use mallsync_rules::Cart;
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

use crate::api_error::ApiError;
use crate::encoding::unhex;
use crate::io::Io;
use crate::orders::{self, Kept};
use crate::shops::{self, Store};

/// The header carrying the signature [?: assumed; see the module doc].
pub const HEADER_SIGNATURE: &str = "x-bcart-webhook-signature";
/// Payload keys that may hold the order, tried in turn: `data.order`, `data`, `order` [?].
pub const ORDER_KEYS: [&[&str]; 3] = [&["data", "order"], &["data"], &["order"]];
/// The events that import an order.
pub const ORDER_EVENTS: [&str; 2] = ["order.created", "order.updated"];
/// How long a seen event id is remembered: Bカート's repeats come within minutes.
const EVENT_MEMORY_SECS: i64 = 7 * 24 * 3600;
const EVENT_KIND_PREFIX: &str = "bcart_event:";

/// What one delivery did with its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    Imported,
    Changed,
    Unchanged,
    /// This event id was handled before.
    Duplicate,
    /// Not an order event.
    Ignored,
    /// The payload holds no whole order: the scheduled import fetches it.
    LeftForTheScheduledImport,
}

/// What one delivery did.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    pub outcome: DeliveryOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
}

/// Verifies the signature in constant time; the messages tell the operator what to fix.
pub fn verify(secret: &str, request: &http::Request<Vec<u8>>) -> Result<(), ApiError> {
    let header = request
        .headers()
        .get(HEADER_SIGNATURE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::Unauthorized(format!(
                "missing {HEADER_SIGNATURE} header: register the Bカート webhook with the shop's webhook secret as its Secret / Bカートのwebhook登録時にSecretを設定してください"
            ))
        })?;
    let hex = header.trim();
    let hex = hex.strip_prefix("sha256=").unwrap_or(hex);
    let given = unhex(hex).ok_or_else(|| {
        ApiError::Unauthorized(format!("{HEADER_SIGNATURE} must be 64 hex digits"))
    })?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(request.body());
    mac.verify_slice(&given).map_err(|_| {
        ApiError::Unauthorized(
            "the Bカート webhook signature does not match: the Secret registered in Bカート must be the shop's webhook secret / Secretが一致しません".into(),
        )
    })
}

fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The whole order in the payload: with its `order_products` and `logistics`. An order without
/// them (as API-fired events were before news/37) is left to the scheduled import rather than
/// stored without its items.
fn order_of(payload: &Value) -> Option<&Value> {
    ORDER_KEYS.iter().find_map(|path| {
        let found = path.iter().try_fold(payload, |v, key| v.get(key))?;
        let whole = found.get("id").is_some()
            && found.get("order_products").is_some_and(Value::is_array)
            && found.get("logistics").is_some_and(Value::is_array);
        whole.then_some(found)
    })
}

/// Handles one delivery for a Bカート store: verify, dedupe by event id, import the order.
pub fn receive(
    io: &impl Io,
    store: &Store,
    request: &http::Request<Vec<u8>>,
) -> Result<Delivery, ApiError> {
    if store.cart != Cart::Bcart {
        return Err(ApiError::NotFound(
            "only Bカート sends these webhooks".into(),
        ));
    }
    verify(&shops::webhook_secret(io, &store.shop_id)?, request)?;
    let payload: Value = serde_json::from_slice(request.body())
        .map_err(|e| ApiError::invalid("$", format!("is not valid JSON: {e}")))?;
    let event_id = text(&payload, "event_id")
        .ok_or_else(|| ApiError::invalid("event_id", "is missing: every Bカート event has one"))?;
    let event_type = text(&payload, "event_type").unwrap_or_default();
    let mut delivery = Delivery {
        event_id: event_id.clone(),
        event_type: event_type.clone(),
        outcome: DeliveryOutcome::Ignored,
        order_id: None,
    };
    let kind = format!("{EVENT_KIND_PREFIX}{event_id}");
    let now = io.now().timestamp();
    io.sql(
        "DELETE FROM cursors WHERE store_id = ? AND kind LIKE 'bcart_event:%' AND CAST(value AS INTEGER) < ?",
        &[store.id.clone().into(), (now - EVENT_MEMORY_SECS).into()],
    )?;
    let seen = io.sql(
        "SELECT value FROM cursors WHERE store_id = ? AND kind = ?",
        &[store.id.clone().into(), kind.clone().into()],
    )?;
    if !seen.is_empty() {
        delivery.outcome = DeliveryOutcome::Duplicate;
        return Ok(delivery);
    }
    if ORDER_EVENTS.contains(&event_type.as_str()) {
        match order_of(&payload) {
            None => delivery.outcome = DeliveryOutcome::LeftForTheScheduledImport,
            Some(order) => {
                let order: BcartOrder = serde_json::from_value(order.clone()).map_err(|e| {
                    ApiError::invalid("data", format!("is not a Bカート order: {e}"))
                })?;
                let mallsync_rules::StoreSettings::Bcart(settings) = &store.settings else {
                    return Err(ApiError::Internal(format!(
                        "store {} is on Bカート but holds {} settings",
                        store.id,
                        store.settings.cart().slug()
                    )));
                };
                let imported = order
                    .to_imported(&mallsync_rules::SharedSettings::import(settings).target_status)?;
                delivery.order_id = Some(imported.order_id.clone());
                delivery.outcome = match orders::keep_imported(io, &store.id, &imported)? {
                    Kept::New => DeliveryOutcome::Imported,
                    Kept::Changed(_) => DeliveryOutcome::Changed,
                    Kept::Unchanged => DeliveryOutcome::Unchanged,
                };
            }
        }
    }
    // Remembered only once handled: a delivery that failed above is taken again when repeated.
    io.sql(
        "INSERT INTO cursors (store_id, kind, value) VALUES (?, ?, ?) ON CONFLICT (store_id, kind) DO NOTHING",
        &[store.id.clone().into(), kind.into(), now.to_string().into()],
    )?;
    Ok(delivery)
}
