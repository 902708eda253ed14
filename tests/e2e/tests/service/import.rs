//! Import: each order fetched from the cart reaches the OMS once, through the cursor.

use mallsync_fake_carts::{bcart, OrderSeed};
use serde_json::{json, Value};

use crate::helpers::{jst_date, jst_days_ago, spawn_app};

#[test]
fn imported_orders_are_delivered_once_through_the_cursor() {
    let fake = bcart::FakeBcart::start();
    for id in ["C1", "C2", "C3"] {
        fake.seed_order(&OrderSeed::new(id, &jst_days_ago(2)));
    }
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN } }),
    );
    let import = |body: Value| {
        let reply = app.call_as(
            &shop.token,
            "POST",
            &format!("/stores/{store}/import"),
            Some(&body),
        );
        assert_eq!(reply.status, 200, "import: {}", reply.body);
        reply.body
    };
    let read = |after: &Value| {
        let reply = app.call_as(
            &shop.token,
            "GET",
            &format!("/stores/{store}/imported-orders?after={after}&limit=2"),
            None,
        );
        assert_eq!(reply.status, 200, "read: {}", reply.body);
        reply.body
    };
    let ids = |page: &Value| -> Vec<String> {
        page["orders"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|o| o["order"]["order_id"].as_str().map(str::to_string))
            .collect()
    };

    let first = import(json!({}));
    let page1 = read(&json!(0));
    let page2 = read(&page1["next_after"]);
    let repeated = import(json!({}));
    fake.seed_order(&OrderSeed::new("C4", &jst_days_ago(1)));
    let ranged = import(json!({ "from": jst_date(-3), "to": jst_date(0) }));
    let page3 = read(&page2["next_after"]);
    let page4 = read(&page3["next_after"]);

    assert_eq!(first["imported"], 3, "{first}");
    assert_eq!(repeated["imported"], 0, "{repeated}");
    assert_eq!(ranged["imported"], 1, "{ranged}");
    assert_eq!(ids(&page1).len(), 2, "{page1}");
    let mut delivered: Vec<String> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(delivered.len(), 4, "each order once: {delivered:?}");
    delivered.sort();
    assert_eq!(delivered, ["C1", "C2", "C3", "C4"]);
    assert_eq!(ids(&page3), ["C4"], "the new order comes after the cursor");
    assert_eq!(page4["orders"], json!([]), "{page4}");
    assert_eq!(page4["next_after"], page3["next_after"]);
    assert_eq!(page1["orders"][0]["order"]["status"], "新規受付");
}
