//! Buyer e-mail control: CS-Cart's `notify_*` keys follow the store's settings, counted the way
//! CS-Cart decides (any non-empty value notifies, so "off" leaves the key out).

use mallsync_fake_carts::{cscart, OrderSeed};
use mallsync_rules::Cart;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, App, TestShop};

fn shipped(id: &str) -> Value {
    json!({ "orders": [{
        "order_id": id,
        "status": "発送待ち",
        "ordered_at": "2026-11-20T10:00:00+09:00",
        "updated_at": "2026-11-23T09:00:00+09:00",
        "ship_date": "2026-11-23",
        "tracking_numbers": ["123456789012"],
        "carrier": "yamato",
        "items": [{ "item_id": "501" }]
    }]})
}

fn cscart_store(notifications: Option<Value>) -> (cscart::FakeCscart, App, TestShop, String) {
    let fake = cscart::FakeCscart::start();
    fake.seed_order(&OrderSeed::new("1001", "2026-11-20T10:00:00+09:00").item(
        "501",
        "マグカップ",
        1,
        1200,
    ));
    let app = spawn_app(Cart::Cscart, fake.url());
    let shop = app.create_shop("テスト商店");
    let mut settings = json!({
        "credentials": { "store_url": fake.url(), "admin_email": cscart::ADMIN_EMAIL, "api_key": cscart::API_KEY },
        "export": { "auto_export": true }
    });
    if let Some(n) = notifications {
        settings["notifications"] = n;
    }
    let store = app.create_store(&shop, settings);
    (fake, app, shop, store)
}

fn status_puts(fake: &cscart::FakeCscart) -> Vec<Value> {
    fake.calls_to("PUT", "/api/orders/1001")
        .iter()
        .map(|c| c.json().unwrap())
        .collect()
}

#[test]
fn by_default_cscart_mails_the_buyer_once_when_the_order_is_shipped() {
    let (fake, app, shop, store) = cscart_store(None);

    let reply = app.webhook(&store, &shop.webhook_secret, &shipped("1001"));

    assert_eq!(reply.body["write_back"]["sent"], 1, "{}", reply.body);
    assert_eq!(
        status_puts(&fake),
        [json!({ "status": "C", "notify_user": "Y" })]
    );
    let status_mails: Vec<_> = fake
        .customer_emails()
        .into_iter()
        .filter(|(_, kind)| kind == "status")
        .collect();
    assert_eq!(status_mails, [("1001".to_string(), "status".to_string())]);
    assert!(fake.with_cart(|c| c.department_emails.is_empty() && c.vendor_emails.is_empty()));
}

#[test]
fn with_buyer_mail_off_cscart_is_sent_no_notify_key_and_mails_nobody() {
    let (fake, app, shop, store) = cscart_store(Some(json!({ "notify_user": false })));

    let reply = app.webhook(&store, &shop.webhook_secret, &shipped("1001"));

    assert_eq!(reply.body["write_back"]["sent"], 1, "{}", reply.body);
    // Not "N": CS-Cart would read that as "notify".
    assert_eq!(status_puts(&fake), [json!({ "status": "C" })]);
    assert_eq!(fake.order_status("1001").as_deref(), Some("C"));
    assert!(
        !fake
            .customer_emails()
            .iter()
            .any(|(_, kind)| kind == "status"),
        "{:?}",
        fake.customer_emails()
    );
}

#[test]
fn department_and_vendor_mails_follow_their_settings_and_switching_resends_nothing() {
    let (fake, app, shop, store) = cscart_store(Some(json!({
        "notify_user": false, "notify_department": true, "notify_vendor": true
    })));

    app.webhook(&store, &shop.webhook_secret, &shipped("1001"));
    // Buyer mail switched on afterwards: the shipment already sent is not sent again.
    let view = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    let mut settings = view.body["settings"].clone();
    settings["notifications"]["notify_user"] = json!(true);
    let put = app.call(
        "PUT",
        &format!("/stores/{store}"),
        Some(&shop.token),
        Some(&json!({ "name": "1号店", "settings": settings })),
    );
    assert_eq!(put.status, 200, "{}", put.body);
    let again = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&shop.token),
        None,
    );

    assert_eq!(again.body["sent"], 0, "{}", again.body);
    assert_eq!(
        status_puts(&fake),
        [json!({ "status": "C", "notify_department": "Y", "notify_vendor": "Y" })]
    );
    assert_eq!(fake.with_cart(|c| c.department_emails.clone()), ["1001"]);
    assert_eq!(fake.with_cart(|c| c.vendor_emails.clone()), ["1001"]);
    assert!(!fake
        .customer_emails()
        .iter()
        .any(|(_, kind)| kind == "status"));
}

#[test]
fn the_preview_says_base_always_mails_and_cscart_mails_as_its_setting_says() {
    let base = mallsync_fake_carts::base::FakeBase::start();
    let app = spawn_app(Cart::Base, base.url());
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(&shop, crate::base::base_settings(false));
    let preview = app.call(
        "POST",
        &format!("/stores/{store}/write-back/preview"),
        Some(&shop.token),
        None,
    );
    assert_eq!(preview.status, 200, "{}", preview.body);
    let note = &preview.body["buyer_emails"];
    assert_eq!(note["mails_buyer"], "always", "{note}");
    assert!(
        note["message_ja"].as_str().unwrap().contains("発送メール"),
        "{note}"
    );

    let (_fake, app, shop, store) = cscart_store(Some(json!({ "notify_user": false })));
    let preview = app.call(
        "POST",
        &format!("/stores/{store}/write-back/preview"),
        Some(&shop.token),
        None,
    );
    assert_eq!(
        preview.body["buyer_emails"]["mails_buyer"], "off",
        "{}",
        preview.body
    );
}
