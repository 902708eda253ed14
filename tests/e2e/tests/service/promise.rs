//! The write-back promise through the host on the built wasm, against the strict fakes (each
//! fails its test on drop if the cart counted anything a real cart would punish): nothing lost,
//! nothing twice, never over a limit. Days pass by moving the app's and the fake's clocks.

use std::time::Duration;

use mallsync_fake_carts::{base, bcart, cscart, futureshop, Fault, OrderSeed};
use serde_json::{json, Value};

use crate::helpers::{jst_date, jst_days_ago, order, spawn_app, App, TestShop};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn bcart_store(app: &App, shop: &TestShop) -> String {
    app.create_store(
        shop,
        json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN }, "export": { "auto_export": true } }),
    )
}

fn bcart_order(id: &str, ship_date: &str) -> Value {
    let mut o = order(id, "発送待ち", Some("7000-0001"), Some(ship_date));
    o["shipments"] = json!([{ "shipment_id": format!("{id}L") }]);
    o
}

#[test]
fn a_bcart_instruction_becomes_shipped_on_its_ship_day_five_days_later() {
    let fake = bcart::FakeBcart::start();
    fake.seed_order(&OrderSeed::new("D5", &jst_days_ago(3)).shipment("D5L", &[]));
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = bcart_store(&app, &shop);

    let reply = app.webhook(
        &store,
        &shop.webhook_secret,
        &json!({ "orders": [bcart_order("D5", &jst_date(5))] }),
    );
    assert_eq!(reply.body["write_back"]["sent"], 1, "{}", reply.body);
    assert_eq!(fake.logistics("D5L").unwrap().status, "発送指示");
    app.dispatch();
    assert_eq!(
        fake.logistics("D5L").unwrap().status,
        "発送指示",
        "not before its day"
    );

    app.advance_clock(5 * DAY);
    fake.clock().advance(5 * DAY);
    app.dispatch();

    assert_eq!(fake.logistics("D5L").unwrap().status, "発送済");
    assert_eq!(fake.logistics_patches().len(), 2);
}

#[test]
fn an_order_the_cart_failed_is_sent_by_the_schedule_days_later_without_a_newer_update() {
    let fake = bcart::FakeBcart::start();
    fake.seed_order(&OrderSeed::new("X1", &jst_days_ago(3)).shipment("X1L", &[]));
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = bcart_store(&app, &shop);
    fake.faults()
        .on("PATCH", "/api/v1/logistics/X1L", 3, Fault::Status(500));

    let reply = app.webhook(
        &store,
        &shop.webhook_secret,
        &json!({ "orders": [bcart_order("X1", &jst_date(0))] }),
    );
    assert_eq!(reply.body["write_back"]["failed"], 1, "{}", reply.body);
    // Four days on: past Bカート's 3-day period, the OMS silent.
    app.advance_clock(4 * DAY);
    fake.clock().advance(4 * DAY);
    app.dispatch();

    assert_eq!(fake.logistics("X1L").unwrap().status, "発送済");
}

#[test]
fn five_webhooks_at_once_while_bases_access_token_is_refused_renew_it_once() {
    let fake = base::FakeBase::start();
    for n in 0..5 {
        fake.seed_order(&OrderSeed::new(&format!("R{n}"), &jst_days_ago(3)).item(
            &format!("5{n}"),
            "Tシャツ",
            1,
            1500,
        ));
    }
    let app = spawn_app("base", fake.url());
    let shop = app.create_shop();
    let store = crate::carts::connected_base_store(&app, &fake, &shop);
    // BASE stops accepting the access token before mallsync's clock says it expires.
    fake.expire_access_tokens();

    std::thread::scope(|scope| {
        for n in 0..5 {
            let (app, shop, store) = (&app, &shop, &store);
            scope.spawn(move || {
                let mut o = order(
                    &format!("R{n}"),
                    "発送待ち",
                    Some("444455556666"),
                    Some(&jst_date(0)),
                );
                o["items"] = json!([{ "item_id": format!("5{n}") }]);
                let reply = app.webhook(store, &shop.webhook_secret, &json!({ "orders": [o] }));
                assert_eq!(reply.status, 200, "{}", reply.body);
            });
        }
    });
    // Whatever a webhook could not send, the schedule finishes.
    app.dispatch();

    let refreshes = fake.calls_to("POST", "/1/oauth/token").len();
    assert_eq!(refreshes, 1, "one refresh for five webhooks");
    assert_eq!(fake.dispatch_emails_sent(), 5);
}

fn futureshop_store(
    app: &App,
    shop: &TestShop,
    fake: &futureshop::FakeFutureshop,
    mark_processed: bool,
) -> String {
    app.create_store(
        shop,
        json!({
            "credentials": {
                "shop_key": futureshop::SHOP_KEY, "client_id": futureshop::CLIENT_ID,
                "client_secret": futureshop::CLIENT_SECRET, "api_base_url": fake.url()
            },
            "export": { "auto_export": true },
            "mark_processed": mark_processed
        }),
    )
}

fn futureshop_order(id: &str) -> Value {
    let mut o = order(id, "発送待ち", Some("123456789012"), Some(&jst_date(0)));
    o["shipments"] = json!([{ "shipment_id": "1", "items": [{ "item_id": format!("S{id}") }] }]);
    o["items"] = json!([{ "item_id": format!("S{id}") }]);
    o
}

#[test]
fn a_hundred_fifty_futureshop_orders_in_one_webhook_take_two_shipping_calls() {
    let fake = futureshop::FakeFutureshop::start();
    let ids: Vec<String> = (0..150).map(|n| format!("FS{n}")).collect();
    for id in &ids {
        fake.seed_order(
            &OrderSeed::new(id, &jst_days_ago(3))
                .item(&format!("S{id}"), "靴下", 1, 800)
                .shipment("1", &[&format!("S{id}")]),
        );
    }
    let app = spawn_app("futureshop", fake.url());
    let shop = app.create_shop();
    let store = futureshop_store(&app, &shop, &fake, false);

    let orders: Vec<Value> = ids.iter().map(|id| futureshop_order(id)).collect();
    let reply = app.webhook(&store, &shop.webhook_secret, &json!({ "orders": orders }));

    assert_eq!(
        reply.body["write_back"]["sent"], 150,
        "{}",
        reply.body["write_back"]["note"]
    );
    let shipping_calls = fake.calls_to("POST", "/admin-api/v1/shipping/status").len();
    assert_eq!(shipping_calls, 2, "100 + 50 orders");
    assert!(ids.iter().all(|id| fake
        .shipment(id, 1)
        .is_some_and(|s| s.invoice_no == "123456789012")));
}

#[test]
fn a_failed_futureshop_complete_step_is_retried_alone_without_resending_the_shipping_data() {
    let fake = futureshop::FakeFutureshop::start();
    fake.seed_order(
        &OrderSeed::new("FC1", &jst_days_ago(3))
            .item("SFC1", "靴下", 1, 800)
            .shipment("1", &["SFC1"]),
    );
    let app = spawn_app("futureshop", fake.url());
    let shop = app.create_shop();
    let store = futureshop_store(&app, &shop, &fake, true);
    fake.faults().on(
        "POST",
        "/admin-api/v1/order/complete",
        3,
        Fault::Status(503),
    );

    let reply = app.webhook(
        &store,
        &shop.webhook_secret,
        &json!({ "orders": [futureshop_order("FC1")] }),
    );
    assert_eq!(
        reply.body["write_back"]["sent"], 1,
        "shipping data: {}",
        reply.body
    );
    assert_eq!(
        reply.body["write_back"]["failed"], 1,
        "処理済: {}",
        reply.body
    );
    app.advance_clock(Duration::from_secs(31 * 60));
    fake.clock().advance(Duration::from_secs(31 * 60));
    app.dispatch();

    assert_eq!(
        fake.calls_to("POST", "/admin-api/v1/shipping/status").len(),
        1,
        "shipping data sent once"
    );
    assert_eq!(fake.order("FC1").unwrap().status, "COMPLETED");
}

#[test]
fn a_cscart_order_with_two_shipping_groups_gets_each_tracking_number_on_its_own_shipment() {
    let fake = cscart::FakeCscart::start();
    fake.seed_order(
        &OrderSeed::new("3000", &jst_days_ago(3))
            .item("31", "箸", 1, 300)
            .item("32", "皿", 1, 900)
            .shipment("5", &["31"])
            .shipment("6", &["32"]),
    );
    let app = spawn_app("cscart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(
        &shop,
        json!({
            "credentials": { "store_url": fake.url(), "admin_email": cscart::ADMIN_EMAIL, "api_key": cscart::API_KEY },
            "export": { "auto_export": true }
        }),
    );
    // The shape mallsync's own import produces: each group a shipment, no items listed.
    let mut o = order("3000", "発送待ち", None, Some(&jst_date(0)));
    o["shipments"] = json!([
        { "shipment_id": "5", "tracking_number": "111122223333" },
        { "shipment_id": "6", "tracking_number": "444455556666" }
    ]);

    let reply = app.webhook(&store, &shop.webhook_secret, &json!({ "orders": [o] }));

    assert_eq!(reply.body["write_back"]["sent"], 2, "{}", reply.body);
    let mut held: Vec<(String, String)> = fake
        .shipments("3000")
        .into_iter()
        .map(|s| (s.shipping_id, s.tracking_number))
        .collect();
    held.sort();
    assert_eq!(
        held,
        [
            ("5".into(), "111122223333".into()),
            ("6".into(), "444455556666".into())
        ]
    );
}

#[test]
fn a_run_cut_off_by_a_restart_is_closed_in_the_log_and_the_schedule_finishes_its_orders_once() {
    let fake = bcart::FakeBcart::start();
    let ids: Vec<String> = (0..6).map(|n| format!("K{n}")).collect();
    for id in &ids {
        fake.seed_order(&OrderSeed::new(id, &jst_days_ago(3)).shipment(&format!("{id}L"), &[]));
    }
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = bcart_store(&app, &shop);
    // Each PATCH is applied at once but answered slowly: the restart lands mid-run.
    fake.faults()
        .next(6, Fault::Delay(Duration::from_millis(700)));

    let orders: Vec<Value> = ids.iter().map(|id| bcart_order(id, &jst_date(0))).collect();
    let answer = app.webhook_answer(&store, &shop.webhook_secret, &json!({ "orders": orders }));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let run_id = answer.body["write_back"]["run_id"].clone();
    std::thread::sleep(Duration::from_millis(1_500));
    let app = app.restart();
    // Past Spin's limit for the cut-off run and its claims.
    app.advance_clock(Duration::from_secs(180));
    fake.clock().advance(Duration::from_secs(180));
    app.dispatch();

    let interrupted = app.finished_run(&store, &run_id);
    assert!(
        interrupted["note"]
            .as_str()
            .unwrap_or_default()
            .contains("interrupted"),
        "{interrupted}"
    );
    let mut patched: Vec<String> = fake
        .logistics_patches()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    patched.sort();
    let all = patched.len();
    patched.dedup();
    assert_eq!(patched.len(), 6, "every order sent: {patched:?}");
    // Only the call in flight when the app stopped can go again (the cart applied it, the answer
    // was lost with the run); the orders the run had finished are never sent again.
    assert!(all <= 7, "{all} calls for 6 orders");
}
