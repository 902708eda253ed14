//! Preview is a dry run; a manual write-back looks only as far back as its period.

use mallsync_fake_carts::{bcart, OrderSeed};
use serde_json::{json, Value};

use crate::helpers::{
    jst_date, jst_days_ago, jst_hours_ago, order, spawn_app, writes, App, TestShop,
};

/// A Bカート store without auto-export holding: X1 ready, X2 cancelled, X3 without a tracking
/// number (all updated an hour ago) and X4 ready but last updated five days ago.
fn store_with_orders() -> (bcart::FakeBcart, App, TestShop, String) {
    let fake = bcart::FakeBcart::start();
    for (id, logistics) in [("X1", "XL1"), ("X2", "XL2"), ("X3", "XL3"), ("X4", "XL4")] {
        fake.seed_order(&OrderSeed::new(id, &jst_days_ago(10)).shipment(logistics, &[]));
    }
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN }, "export": { "auto_export": false } }),
    );
    let today = jst_date(0);
    let with = |id: &str, status, tracking, logistics: &str, updated_at: String| {
        let mut o = order(id, status, tracking, Some(&today));
        o["ordered_at"] = json!(jst_days_ago(10));
        o["updated_at"] = json!(updated_at);
        o["shipments"] = json!([{ "shipment_id": logistics }]);
        o
    };
    let body = json!({ "orders": [
        with("X1", "発送待ち", Some("1000-0001"), "XL1", jst_hours_ago(1)),
        with("X2", "キャンセル", Some("1000-0002"), "XL2", jst_hours_ago(1)),
        with("X3", "発送待ち", None, "XL3", jst_hours_ago(1)),
        with("X4", "発送待ち", Some("1000-0004"), "XL4", jst_days_ago(5)),
    ]});
    let reply = app.webhook(&store, &shop.webhook_secret, &body);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        fake.calls().is_empty(),
        "auto-export is off: {:?}",
        fake.calls()
    );
    (fake, app, shop, store)
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p["order_id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[test]
fn preview_sends_nothing_and_lists_each_excluded_order_with_its_reason() {
    let (fake, app, shop, store) = store_with_orders();

    let preview = app.preview(&shop, &store, 7);

    assert!(writes(&fake.calls()).is_empty(), "{:?}", fake.calls());
    assert!(fake.logistics_patches().is_empty());
    assert_eq!(ids(&preview["planned"]), ["X1", "X4"], "{preview}");
    let x1 = preview["planned"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["order_id"] == "X1"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(x1["fields"]["tracking_number"], "1000-0001", "{x1}");
    assert_eq!(x1["fields"]["status"], "発送済", "{x1}");
    let reasons: Vec<(String, String)> = preview["excluded"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            assert!(
                e["message_ja"].as_str().is_some_and(|m| !m.is_empty()),
                "{e}"
            );
            assert!(
                e["message_en"].as_str().is_some_and(|m| !m.is_empty()),
                "{e}"
            );
            (
                e["order_id"].as_str().unwrap_or_default().to_string(),
                e["reason_code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("X2".to_string(), "status_excluded".to_string()),
            ("X3".to_string(), "no_tracking_number".to_string())
        ]
    );
}

#[test]
fn a_manual_write_back_sends_only_orders_updated_within_its_period() {
    let (fake, app, shop, store) = store_with_orders();

    let short = app.press(&shop, &store, 3);
    let patched_after_short: Vec<String> = fake
        .logistics_patches()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let long = app.press(&shop, &store, 7);

    assert_eq!(short["sent"], 1, "{short}");
    assert_eq!(patched_after_short, ["XL1"]);
    assert_eq!(long["sent"], 1, "{long}");
    let patched: Vec<String> = fake
        .logistics_patches()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(patched, ["XL1", "XL4"]);
    assert_eq!(
        writes(&fake.calls()),
        ["PATCH /api/v1/logistics/XL1", "PATCH /api/v1/logistics/XL4"]
    );
}
