//! Fuzzing the parsers of what operators and the OMS send (issue 10): the webhook batch and the
//! store settings. Arbitrary bytes, arbitrary JSON and valid inputs with one value replaced: a
//! parser refuses or accepts, never panics, and whatever it accepts is within bounds and reads
//! back the same after storing. Bounded for CI (`PROPTEST_CASES` raises it).

use mallsync_rules::order::{MAX_ID_CHARS, YEARS};
use mallsync_rules::{Cart, Order, StoreSettings};
use mallsync_sync::orders::{parse_batch, MAX_BATCH};
use proptest::prelude::*;
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(vec![
            "",
            "..",
            ".",
            "処理済み",
            "yamato",
            "other:",
            "other:地域便",
            "2026-11-20",
            "0000-01-01",
            "-262143-01-01",
            "+99999-12-31",
            "2026-11-20T10:00:00+09:00",
            "1999-12-31T23:59:59Z",
            "2101-01-01T00:00:00+09:00",
            "https://attacker.example/",
            "http://127.0.0.1:1/",
            "********",
            "\n",
            "a/b",
            "%2e%2e",
        ])
        .prop_map(Value::from),
        ".{0,80}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,24}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `value` with its `index`-th node (document order) replaced.
fn replace_node(value: &mut Value, index: &mut usize, replacement: &Value) -> bool {
    if *index == 0 {
        *value = replacement.clone();
        return true;
    }
    *index -= 1;
    match value {
        Value::Array(items) => items
            .iter_mut()
            .any(|v| replace_node(v, index, replacement)),
        Value::Object(fields) => fields
            .values_mut()
            .any(|v| replace_node(v, index, replacement)),
        _ => false,
    }
}

fn good_batch() -> Value {
    json!({ "orders": [
        {
            "order_id": "A-1", "status": "処理中", "ordered_at": "2026-11-20T10:00:00+09:00",
            "updated_at": "2026-11-21T10:00:00+09:00", "ship_date": "2026-11-22",
            "tracking_numbers": ["1234-5678"], "carrier": "yamato", "version": 3,
            "shipments": [{ "shipment_id": "S1", "tracking_number": "99", "items": [{ "item_id": "I1", "quantity": 2 }] }],
            "items": [{ "item_id": "I1" }]
        },
        { "order_id": "A-2", "status": "処理済み", "ordered_at": "2026-11-20T11:00:00+09:00" }
    ]})
}

fn good_settings(cart: Cart) -> Value {
    match cart {
        Cart::Bcart => json!({ "cart": "bcart", "credentials": { "access_token": "tok" } }),
        Cart::Base => {
            json!({ "cart": "base", "credentials": { "client_id": "id", "client_secret": "sec", "redirect_uri": "https://mallsync.example/base/oauth/callback" } })
        }
        Cart::Shopserve => {
            json!({ "cart": "shopserve", "credentials": { "shop_id": "shop", "manager_key": "key" } })
        }
        Cart::Cscart => {
            json!({ "cart": "cscart", "credentials": { "store_url": "https://shop.example.jp", "admin_email": "a@example.jp", "api_key": "key" }, "import_statuses": ["O", "P"] })
        }
        Cart::Futureshop => {
            json!({ "cart": "futureshop", "credentials": { "shop_key": "sk", "client_id": "id", "client_secret": "sec", "api_base_url": "https://api.admin.future-shop.net" } })
        }
    }
}

/// What every accepted order must satisfy, checked independently of the parser's own rules.
fn within_bounds(order: &Order) -> Result<(), TestCaseError> {
    use chrono::Datelike;
    prop_assert!(!order.order_id.is_empty() && order.order_id.chars().count() <= MAX_ID_CHARS);
    prop_assert!(order.order_id != "." && order.order_id != "..");
    prop_assert!(!order.order_id.contains('/'));
    prop_assert!(!order.status.name().trim().is_empty());
    prop_assert!(YEARS.contains(&order.ordered_at.year()));
    for date in [order.ship_date, order.requested_delivery_date]
        .into_iter()
        .flatten()
    {
        prop_assert!(YEARS.contains(&date.year()));
    }
    // What is stored reads back the same.
    let stored = serde_json::to_value(order).unwrap();
    prop_assert_eq!(&Order::from_json(&stored).unwrap(), order);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_webhook_body_of_arbitrary_bytes_is_refused_or_within_bounds(
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        if let Ok(batch) = parse_batch(&body) {
            prop_assert!(batch.len() <= MAX_BATCH);
            for received in &batch {
                within_bounds(&received.order)?;
            }
        }
    }

    #[test]
    fn a_webhook_body_of_arbitrary_json_is_refused_or_within_bounds(orders in json_value()) {
        let body = json!({ "orders": orders }).to_string();
        if let Ok(batch) = parse_batch(body.as_bytes()) {
            for received in &batch {
                within_bounds(&received.order)?;
            }
        }
    }

    #[test]
    fn a_valid_batch_with_any_one_value_replaced_is_refused_or_within_bounds(
        node in any::<prop::sample::Index>(),
        replacement in json_value(),
    ) {
        let mut batch = good_batch();
        let mut at = node.index(60);
        replace_node(&mut batch, &mut at, &replacement);
        if let Ok(parsed) = parse_batch(batch.to_string().as_bytes()) {
            for received in &parsed {
                within_bounds(&received.order)?;
            }
        }
    }

    #[test]
    fn settings_of_arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = StoreSettings::from_json(&body);
    }

    #[test]
    fn valid_settings_with_any_one_value_replaced_are_refused_or_store_and_mask_cleanly(
        cart in prop::sample::select(Cart::ALL.to_vec()),
        node in any::<prop::sample::Index>(),
        replacement in json_value(),
    ) {
        let mut settings = good_settings(cart);
        let mut at = node.index(16);
        replace_node(&mut settings, &mut at, &replacement);
        if let Ok(parsed) = StoreSettings::from_json(settings.to_string().as_bytes()) {
            // Stored settings read back the same.
            let stored = serde_json::to_vec(&parsed).unwrap();
            prop_assert_eq!(&serde_json::from_slice::<StoreSettings>(&stored).unwrap(), &parsed);
            // The masked form shows no secret.
            let shown = serde_json::to_string(&parsed.masked()).unwrap();
            for secret in ["\"tok\"", "\"sec\"", "\"key\""] {
                prop_assert!(!shown.contains(secret), "{shown}");
            }
            // A masked secret sent back with the same URLs keeps its value.
            prop_assert!(parsed.masked().keeping_masked_secrets_from(&parsed).is_ok());
        }
    }
}
