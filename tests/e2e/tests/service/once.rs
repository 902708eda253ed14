//! Nothing is sent twice: not for a redelivered webhook, not for a second press of the button.

use mallsync_fake_carts::{bcart, OrderSeed};
use serde_json::json;

use crate::carts::{base_app, base_batch};
use crate::helpers::{jst_date, jst_days_ago, order, spawn_app, writes};

#[test]
fn a_redelivered_webhook_and_a_second_press_send_no_second_base_dispatch_email() {
    let (fake, app, shop, store) = base_app();
    let mut batch = base_batch();
    // One order with one item: one dispatch, one e-mail to the buyer.
    batch["orders"] = json!([batch["orders"][0].clone()]);
    batch["orders"][0]["items"] = json!([{ "item_id": "11" }]);

    let first = app.webhook(&store, &shop.webhook_secret, &batch);
    let redelivered = app.webhook(&store, &shop.webhook_secret, &batch);
    let pressed = app.press(&shop, &store, 3);
    let pressed_again = app.press(&shop, &store, 3);

    assert_eq!(first.body["write_back"]["sent"], 1, "{}", first.body);
    assert_eq!(redelivered.status, 200, "{}", redelivered.body);
    assert_eq!(redelivered.body["changed"], 0, "{}", redelivered.body);
    assert!(
        redelivered.body["write_back"].is_null(),
        "{}",
        redelivered.body
    );
    assert_eq!(pressed["sent"], 0, "{pressed}");
    assert_eq!(pressed_again["sent"], 0, "{pressed_again}");
    assert_eq!(fake.dispatch_emails_sent(), 1);
    assert_eq!(writes(&fake.calls()), ["POST /1/orders/edit_status"]);
}

#[test]
fn a_bcart_record_is_patched_once_whatever_is_redelivered_or_pressed_and_again_when_its_data_changes(
) {
    let fake = bcart::FakeBcart::start();
    fake.seed_order(&OrderSeed::new("R1", &jst_days_ago(3)).shipment("RL1", &[]));
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN }, "export": { "auto_export": true } }),
    );
    let mut shipped = order("R1", "発送待ち", Some("1000-0001"), Some(&jst_date(0)));
    shipped["shipments"] = json!([{ "shipment_id": "RL1" }]);
    let body = json!({ "orders": [shipped.clone()] });

    app.webhook(&store, &shop.webhook_secret, &body);
    app.webhook(&store, &shop.webhook_secret, &body);
    let pressed = app.press(&shop, &store, 3);
    let mut fixed = shipped;
    fixed["tracking_numbers"] = json!(["2000-0002"]);
    fixed["updated_at"] = json!(crate::helpers::now_jst().to_rfc3339());
    let changed = app.webhook(&store, &shop.webhook_secret, &json!({ "orders": [fixed] }));

    assert_eq!(pressed["sent"], 0, "{pressed}");
    assert_eq!(changed.body["write_back"]["sent"], 1, "{}", changed.body);
    let patches = fake.logistics_patches();
    assert_eq!(patches.len(), 2, "{patches:?}");
    assert_eq!(patches[0].1["delivery_code"], "1000-0001");
    assert_eq!(patches[1].1["delivery_code"], "2000-0002");
}
