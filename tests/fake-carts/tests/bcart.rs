//! The fake Bカート behaves as documented: bearer token, paging, logistics PATCH, lockout.

mod common;

use std::time::Duration;

use common::call;
use mallsync_fake_carts::bcart::{FakeBcart, ACCESS_TOKEN};
use mallsync_fake_carts::{OrderSeed, RateLimit};
use serde_json::json;

fn seeded() -> FakeBcart {
    let bcart = FakeBcart::start();
    for n in 1..=3 {
        bcart.seed_order(
            &OrderSeed::new(&format!("{n}00"), &format!("2026-11-1{n}T09:30:00+09:00"))
                .item(&format!("{n}01"), "米", 2, 3000)
                .item(&format!("{n}02"), "味噌", 1, 800)
                .shipment(&format!("{n}50"), &[&format!("{n}01")])
                .shipment(&format!("{n}51"), &[&format!("{n}02")]),
        );
    }
    bcart
}

fn get(bcart: &FakeBcart, query: &str) -> common::Answer {
    call("GET", &format!("{}/api/v1/orders?{query}", bcart.url()))
        .bearer(ACCESS_TOKEN)
        .send()
}

#[test]
fn orders_page_by_offset_within_the_ordered_at_bounds_and_embed_logistics() {
    let bcart = seeded();
    let window =
        "ordered_at__gte=2026-11-12+00:00:00&ordered_at__lte=2026-11-13+23:59:59&complete=1";
    let first = get(&bcart, &format!("{window}&limit=1&offset=0")).json();
    assert_eq!(first["meta"]["total"], 2);
    assert_eq!(first["orders"][0]["id"], 200);
    assert_eq!(first["orders"][0]["ordered_at"], "2026-11-12 09:30:00");
    assert_eq!(first["orders"][0]["logistics"][1]["id"], 251);
    assert_eq!(first["orders"][0]["order_products"][1]["logistics_id"], 251);
    let second = get(&bcart, &format!("{window}&limit=1&offset=1")).json();
    assert_eq!(second["orders"][0]["id"], 300);
    assert_eq!(
        get(&bcart, &format!("{window}&limit=1&offset=2")).json()["orders"],
        json!([])
    );
    let summary = get(&bcart, "limit=1").json();
    assert!(summary["orders"][0].get("logistics").is_none());
    assert_eq!(get(&bcart, "limit=101").status(), 400);
}

#[test]
fn a_wrong_token_is_refused_with_401() {
    let bcart = seeded();
    let answer = call("GET", &format!("{}/api/v1/orders", bcart.url()))
        .bearer("nope")
        .send();
    assert_eq!(answer.status(), 401);
}

#[test]
fn a_logistics_patch_sets_tracking_ship_date_and_status() {
    let bcart = seeded();
    let body =
        json!({"delivery_code": "123456789012", "shipment_date": "2026-11-20", "status": "発送済"});
    let answer = call("PATCH", &format!("{}/api/v1/logistics/150", bcart.url()))
        .bearer(ACCESS_TOKEN)
        .json(&body)
        .send();
    assert_eq!(answer.status(), 200);
    let logistics = bcart.logistics("150").unwrap();
    assert_eq!(logistics.delivery_code.as_deref(), Some("123456789012"));
    assert_eq!(logistics.shipment_date.as_deref(), Some("2026-11-20"));
    assert_eq!(logistics.status, "発送済");
    assert_eq!(bcart.logistics("151").unwrap().status, "未発送");
    assert_eq!(bcart.logistics_patches(), vec![("150".to_string(), body)]);
}

#[test]
fn a_logistics_patch_with_an_unknown_status_or_field_changes_nothing() {
    let bcart = seeded();
    let patch = |body: serde_json::Value| {
        call("PATCH", &format!("{}/api/v1/logistics/150", bcart.url()))
            .bearer(ACCESS_TOKEN)
            .json(&body)
            .send()
    };
    assert_eq!(patch(json!({"status": "出荷済み"})).status(), 400);
    assert_eq!(patch(json!({"carrier": "ヤマト"})).status(), 400);
    assert_eq!(patch(json!({"shipment_date": "2026/11/20"})).status(), 400);
    assert_eq!(bcart.logistics("150").unwrap().status, "未発送");
    assert!(bcart.logistics_patches().is_empty());
}

#[test]
fn an_order_status_patch_takes_only_the_shops_labels() {
    let bcart = seeded();
    let patch = |status: &str| {
        call("PATCH", &format!("{}/api/v1/orders/100", bcart.url()))
            .bearer(ACCESS_TOKEN)
            .json(&json!({ "status": status }))
            .send()
    };
    assert_eq!(patch("完了").status(), 200);
    assert_eq!(bcart.order("100").unwrap().status, "完了");
    assert_eq!(patch("出荷完了").status(), 400);
}

#[test]
fn going_over_the_limit_locks_out_with_retry_after_until_the_lockout_ends() {
    let bcart = seeded();
    bcart.set_rate_limit(Some(RateLimit::Sliding {
        max_requests: 5,
        window: Duration::from_secs(300),
        lockout: Some(Duration::from_secs(300)),
    }));
    for _ in 0..5 {
        assert_eq!(get(&bcart, "limit=1").status(), 200);
    }
    let limited = get(&bcart, "limit=1");
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.header("retry-after").as_deref(), Some("300"));
    bcart.clock().advance(Duration::from_secs(120));
    let still = get(&bcart, "limit=1");
    assert_eq!(
        (still.status(), still.header("retry-after").as_deref()),
        (429, Some("180"))
    );
    bcart.clock().advance(Duration::from_secs(180));
    assert_eq!(get(&bcart, "limit=1").status(), 200);
    // Provoked on purpose: forgotten so the fake's drop does not fail the test.
    bcart.clear_violations();
}
