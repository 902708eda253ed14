//! Each cart: a signed webhook batch, with auto-export on, leads to exactly the cart calls the
//! rules require and nothing else.

use mallsync_fake_carts::{base, bcart, cscart, futureshop, shopserve, OrderSeed};
use serde_json::{json, Value};

use crate::helpers::{call_lines, jst_date, jst_days_ago, order, spawn_app, App, TestShop};

/// The order as the fake cart holds it before the webhook.
fn seed(id: &str) -> OrderSeed {
    OrderSeed::new(id, &jst_days_ago(3))
}

fn batch(orders: Vec<Value>) -> Value {
    json!({ "orders": orders })
}

fn with_shipment(mut order: Value, shipment: &str, items: &[&str]) -> Value {
    let items: Vec<Value> = items.iter().map(|i| json!({ "item_id": i })).collect();
    order["shipments"] = json!([{ "shipment_id": shipment, "items": items }]);
    order["items"] = json!(items);
    order
}

fn with_items(mut order: Value, items: &[&str]) -> Value {
    order["items"] = json!(items
        .iter()
        .map(|i| json!({ "item_id": i }))
        .collect::<Vec<_>>());
    order
}

fn deliver(app: &App, shop: &TestShop, store: &str, body: &Value) -> Value {
    let reply = app.webhook(store, &shop.webhook_secret, body);
    assert_eq!(reply.status, 200, "webhook: {}", reply.body);
    reply.body
}

#[test]
fn a_bcart_batch_patches_each_shipped_logistics_record_and_nothing_else() {
    let fake = bcart::FakeBcart::start();
    for (id, logistics) in [("A1", "L1"), ("A2", "L2"), ("A3", "L3"), ("A4", "L4")] {
        fake.seed_order(&seed(id).shipment(logistics, &[]));
    }
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN }, "export": { "auto_export": true } }),
    );
    let (today, later) = (jst_date(0), jst_date(2));

    let reply = deliver(
        &app,
        &shop,
        &store,
        &batch(vec![
            with_shipment(
                order("A1", "発送待ち", Some("1111-2222"), Some(&today)),
                "L1",
                &[],
            ),
            with_shipment(
                order("A2", "新規受付", Some("3333-4444"), Some(&today)),
                "L2",
                &[],
            ),
            with_shipment(order("A3", "処理中", None, Some(&today)), "L3", &[]),
            with_shipment(
                order("A4", "処理中", Some("5555-6666"), Some(&later)),
                "L4",
                &[],
            ),
        ]),
    );

    assert_eq!(reply["write_back"]["sent"], 2, "{reply}");
    assert_eq!(
        call_lines(&fake.calls()),
        ["PATCH /api/v1/logistics/L1", "PATCH /api/v1/logistics/L4"]
    );
    assert_eq!(
        fake.logistics_patches(),
        [
            (
                "L1".to_string(),
                json!({ "delivery_code": "1111-2222", "shipment_date": today, "status": "発送済" })
            ),
            (
                "L4".to_string(),
                json!({ "delivery_code": "5555-6666", "shipment_date": later, "status": "発送指示" })
            ),
        ]
    );
    let calls = fake.calls();
    assert!(calls
        .iter()
        .all(|c| c.bearer_token() == Some(bcart::ACCESS_TOKEN)));
}

/// A BASE store connected through the OAuth round trip; the fake's record starts empty after it.
pub fn connected_base_store(app: &App, fake: &base::FakeBase, shop: &TestShop) -> String {
    let store = app.create_store(
        shop,
        json!({
            "credentials": {
                "client_id": base::CLIENT_ID, "client_secret": base::CLIENT_SECRET,
                "redirect_uri": base::REDIRECT_URI
            },
            "export": { "auto_export": true }
        }),
    );
    let start = app.call_as(
        &shop.token,
        "GET",
        &format!("/stores/{store}/oauth/start"),
        None,
    );
    assert_eq!(start.status, 302, "{}", start.body);
    let authorize_url = start.body["authorize_url"].as_str().unwrap_or_default();
    let state = authorize_url
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("state="))
        .unwrap_or_else(|| panic!("no state in {authorize_url}"));
    let code = fake.authorization_code();
    let back = app.call(
        "GET",
        &format!("/oauth/callback?code={code}&state={state}"),
        &[],
        None,
    );
    assert_eq!(back.status, 200, "{}", back.body);
    fake.clear_calls();
    store
}

pub fn base_app() -> (base::FakeBase, App, TestShop, String) {
    let fake = base::FakeBase::start();
    fake.seed_order(
        &seed("K1")
            .item("11", "Tシャツ", 1, 1500)
            .item("12", "帽子", 1, 2000),
    );
    fake.seed_order(&seed("K2").item("21", "靴下", 1, 500));
    fake.seed_order(&seed("K3").item("31", "手袋", 1, 900));
    let app = spawn_app("base", fake.url());
    let shop = app.create_shop();
    let store = connected_base_store(&app, &fake, &shop);
    (fake, app, shop, store)
}

/// K1 shipped today with two items; K2 on hold; K3 shipping in two days.
pub fn base_batch() -> Value {
    let (today, later) = (jst_date(0), jst_date(2));
    batch(vec![
        with_items(
            order("K1", "発送待ち", Some("4444-5555-6666"), Some(&today)),
            &["11", "12"],
        ),
        with_items(
            order("K2", "保留", Some("777788889999"), Some(&today)),
            &["21"],
        ),
        with_items(
            order("K3", "発送待ち", Some("123412341234"), Some(&later)),
            &["31"],
        ),
    ])
}

#[test]
fn a_base_batch_dispatches_each_item_of_the_shipped_order_once_and_nothing_else() {
    let (fake, app, shop, store) = base_app();

    let reply = deliver(&app, &shop, &store, &base_batch());

    assert_eq!(reply["write_back"]["sent"], 2, "{reply}");
    let writes: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method != "GET")
        .collect();
    assert_eq!(
        call_lines(&writes),
        ["POST /1/orders/edit_status", "POST /1/orders/edit_status"]
    );
    let dispatched: Vec<(String, String, String)> = writes
        .iter()
        .map(|c| {
            let field = |name| c.form_param(name).unwrap_or_default();
            (
                field("order_item_id"),
                field("status"),
                field("tracking_number"),
            )
        })
        .collect();
    assert_eq!(
        dispatched,
        [
            ("11".into(), "dispatched".into(), "444455556666".into()),
            ("12".into(), "dispatched".into(), "444455556666".into()),
        ]
    );
    assert!(writes
        .iter()
        .all(|c| c.form_param("delivery_company_id").is_some()));
    // Reads only what dispatching K1 needs: the order and the carrier list.
    let reads: Vec<String> = fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "GET")
        .map(|c| c.path)
        .filter(|p| !p.starts_with("/1/orders/detail/K1") && p != "/1/delivery_companies")
        .collect();
    assert!(reads.is_empty(), "unexpected reads: {reads:?}");
    assert_eq!(fake.dispatch_emails_sent(), 2);
    assert_eq!(fake.item_status("K2", "21").as_deref(), Some("ordered"));
}

#[test]
fn a_shopserve_batch_updates_each_order_with_the_fields_its_status_allows() {
    let fake = shopserve::FakeShopserve::start();
    for id in ["P1", "P2", "P3"] {
        fake.seed_order(&seed(id).status("処理中"));
    }
    let app = spawn_app("shopserve", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({
            "credentials": { "shop_id": shopserve::SHOP_ID, "manager_key": shopserve::MANAGER_KEY },
            "export": { "auto_export": true }
        }),
    );
    let today = jst_date(0);

    let reply = deliver(
        &app,
        &shop,
        &store,
        &batch(vec![
            order("P1", "発送待ち", Some("123456789012"), Some(&today)),
            order("P2", "処理中", None, Some(&today)),
            order("P3", "キャンセル", Some("999999999999"), Some(&today)),
        ]),
    );

    assert_eq!(reply["write_back"]["sent"], 2, "{reply}");
    assert_eq!(
        call_lines(&fake.calls()),
        ["PUT /v2/orders/P1/shipping", "PUT /v2/orders/P2/shipping"]
    );
    let p1 = fake.order("P1").unwrap_or_else(|| panic!("P1 gone"));
    assert_eq!(p1.slip_number.as_deref(), Some("123456789012"));
    assert_eq!(p1.shipping_status, "発送済み");
    assert_eq!(p1.scheduled_shipping_date.as_deref(), Some(today.as_str()));
    // Without a tracking number only the ship date goes: no carrier, no status.
    let p2 = fake.order("P2").unwrap_or_else(|| panic!("P2 gone"));
    assert_eq!(p2.scheduled_shipping_date.as_deref(), Some(today.as_str()));
    assert_eq!(p2.delivery_company, None);
    assert_eq!(p2.slip_number, None);
    assert_eq!(p2.shipping_status, "未発送");
}

#[test]
fn a_cscart_batch_creates_one_shipment_and_completes_only_the_ready_order() {
    let fake = cscart::FakeCscart::start();
    fake.seed_order(&seed("1001").item("501", "マグカップ", 1, 1200));
    fake.seed_order(&seed("1002").item("502", "皿", 1, 800));
    let app = spawn_app("cscart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({
            "credentials": { "store_url": fake.url(), "admin_email": cscart::ADMIN_EMAIL, "api_key": cscart::API_KEY },
            "export": { "auto_export": true }
        }),
    );
    let today = jst_date(0);

    let reply = deliver(
        &app,
        &shop,
        &store,
        &batch(vec![
            with_items(
                order("1001", "発送待ち", Some("123456789012"), Some(&today)),
                &["501"],
            ),
            // No ship date: CS-Cart needs both, so nothing is sent.
            with_items(
                order("1002", "発送待ち", Some("210987654321"), None),
                &["502"],
            ),
        ]),
    );

    assert_eq!(reply["write_back"]["sent"], 1, "{reply}");
    let lines = call_lines(&fake.calls());
    let writes: Vec<&String> = lines.iter().filter(|l| !l.starts_with("GET")).collect();
    assert_eq!(
        writes,
        ["POST /api/shipments", "PUT /api/orders/1001"],
        "{lines:?}"
    );
    assert!(
        lines.iter().all(|l| !l.contains("1002")),
        "1002 was touched: {lines:?}"
    );
    let shipments = fake.shipments("1001");
    assert_eq!(shipments.len(), 1);
    assert_eq!(shipments[0].tracking_number, "123456789012");
    assert_eq!(fake.order_status("1001").as_deref(), Some("C"));
    assert_ne!(fake.order_status("1002").as_deref(), Some("C"));
    let put = fake
        .calls_to("PUT", "/api/orders/1001")
        .pop()
        .and_then(|c| c.json())
        .unwrap_or_default();
    assert_eq!(put["status"], "C", "{put}");
    assert!(fake.recalculated_orders().is_empty());
}

#[test]
fn a_futureshop_batch_ships_each_ready_order_in_one_call_and_nothing_else() {
    let fake = futureshop::FakeFutureshop::start();
    for (id, sku) in [("F1", "SKU1"), ("F2", "SKU2"), ("F3", "SKU3")] {
        fake.seed_order(&seed(id).item(sku, "靴下", 1, 800).shipment("1", &[sku]));
    }
    let app = spawn_app("futureshop", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({
            "credentials": {
                "shop_key": futureshop::SHOP_KEY, "client_id": futureshop::CLIENT_ID,
                "client_secret": futureshop::CLIENT_SECRET, "api_base_url": fake.url()
            },
            "export": { "auto_export": true }
        }),
    );
    let today = jst_date(0);

    let reply = deliver(
        &app,
        &shop,
        &store,
        &batch(vec![
            with_shipment(
                order("F1", "発送待ち", Some("123456789012"), Some(&today)),
                "1",
                &["SKU1"],
            ),
            with_shipment(
                order("F2", "新規受付", Some("222233334444"), Some(&today)),
                "1",
                &["SKU2"],
            ),
            with_shipment(
                order("F3", "キャンセル", Some("555566667777"), Some(&today)),
                "1",
                &["SKU3"],
            ),
        ]),
    );

    assert_eq!(reply["write_back"]["sent"], 1, "{reply}");
    let lines = call_lines(&fake.calls());
    assert_eq!(
        lines,
        ["POST /oauth/token", "POST /admin-api/v1/shipping/status"],
        "{lines:?}"
    );
    let shipment = fake
        .shipment("F1", 1)
        .unwrap_or_else(|| panic!("F1 shipment 1 gone"));
    assert_eq!(shipment.invoice_no, "123456789012");
    assert_eq!(shipment.shipping_date, today);
    let body = fake
        .calls_to("POST", "/admin-api/v1/shipping/status")
        .pop()
        .map(|c| c.body_text())
        .unwrap_or_default();
    assert!(!body.contains("F2") && !body.contains("F3"), "{body}");
    assert!(
        fake.blanked_fields().is_empty(),
        "{:?}",
        fake.blanked_fields()
    );
    assert!(fake
        .calls()
        .iter()
        .skip(1)
        .all(|c| c.header("x-shop-key") == Some(futureshop::SHOP_KEY)));
}
