//! The schedule is the safety net: what a webhook could not send, the dispatcher sends; a cart
//! failure mid-run is logged and the next run finishes the work.

use mallsync_fake_carts::{bcart, Fault, OrderSeed};
use serde_json::{json, Value};

use crate::helpers::{jst_date, jst_days_ago, order, outcomes, spawn_app, App, TestShop};

fn settings(auto_export: bool) -> Value {
    json!({ "credentials": { "access_token": bcart::ACCESS_TOKEN }, "export": { "auto_export": auto_export } })
}

/// A Bカート fake holding `ids`, each with one 出荷 record `<id>L`.
fn fake_with(ids: &[&str]) -> bcart::FakeBcart {
    let fake = bcart::FakeBcart::start();
    for id in ids {
        fake.seed_order(&OrderSeed::new(id, &jst_days_ago(3)).shipment(&format!("{id}L"), &[]));
    }
    fake
}

fn shipped(ids: &[&str]) -> Value {
    let today = jst_date(0);
    let orders: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut o = order(id, "発送待ち", Some(&format!("7000-000{i}")), Some(&today));
            o["shipments"] = json!([{ "shipment_id": format!("{id}L") }]);
            o
        })
        .collect();
    json!({ "orders": orders })
}

fn patched(fake: &bcart::FakeBcart) -> Vec<String> {
    fake.logistics_patches()
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

fn runs(app: &App, shop: &TestShop, store: &str) -> Vec<Value> {
    let reply = app.call_as(&shop.token, "GET", &format!("/stores/{store}/runs"), None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["runs"].as_array().cloned().unwrap_or_default()
}

#[test]
fn an_order_the_webhook_could_not_send_during_a_cart_outage_is_sent_by_the_next_dispatch() {
    let fake = fake_with(&["S1", "S2"]);
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(&shop, settings(true));
    // S1 goes through; every try of S2 (three within the run) gets a 503.
    fake.faults()
        .on("PATCH", "/api/v1/logistics/S2L", 3, Fault::Status(503));

    let webhook = app.webhook(&store, &shop.webhook_secret, &shipped(&["S1", "S2"]));

    assert_eq!(webhook.status, 200, "{}", webhook.body);
    let run = &webhook.body["write_back"];
    assert_eq!(
        outcomes(run),
        [
            ("S1".into(), "sent".into()),
            ("S2".into(), "transient".into())
        ],
        "{run}"
    );
    let logged = app.run_log(&shop, &store, &run["run_id"]);
    assert_eq!(logged["failed"], 1, "{logged}");
    assert_eq!(outcomes(&logged), outcomes(run), "{logged}");

    let tick = app.dispatch();

    let work = &tick["work"]["work"];
    assert_eq!(work[0]["store_id"], store.as_str(), "{tick}");
    assert_eq!(work[0]["kind"], "write_back", "{tick}");
    assert!(work[0]["error"].is_null(), "{tick}");
    assert_eq!(patched(&fake), ["S1L", "S2L"]);
    let latest = &runs(&app, &shop, &store)[0];
    assert_eq!(latest["trigger"], "scheduled", "{latest}");
    assert_eq!(latest["sent"], 1, "{latest}");
    // Due again only after its interval: an immediate second tick sends nothing.
    let again = app.dispatch();
    assert_eq!(again["work"]["work"], json!([]), "{again}");
    assert_eq!(patched(&fake), ["S1L", "S2L"]);
}

#[test]
fn orders_stored_before_auto_export_was_switched_on_are_sent_by_the_carts_own_dispatch_route() {
    let fake = fake_with(&["T1"]);
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(&shop, settings(false));
    let stored = app.webhook(&store, &shop.webhook_secret, &shipped(&["T1"]));
    assert_eq!(stored.status, 200, "{}", stored.body);
    let switched = app.call_as(
        &shop.token,
        "PUT",
        &format!("/stores/{store}"),
        Some(&json!({ "name": "1号店", "settings": settings(true) })),
    );
    assert_eq!(switched.status, 200, "{}", switched.body);
    assert!(fake.calls().is_empty());

    let tick = app.call_as(crate::helpers::ADMIN_TOKEN, "POST", "/dispatch", None);

    assert_eq!(tick.status, 200, "{}", tick.body);
    assert_eq!(tick.body["work"][0]["kind"], "write_back", "{}", tick.body);
    assert_eq!(patched(&fake), ["T1L"]);
}

#[test]
fn a_cart_outage_mid_run_leaves_the_failed_order_in_the_log_and_the_next_run_finishes_it() {
    let fake = fake_with(&["U1", "U2", "U3"]);
    let app = spawn_app("bcart", fake.url());
    let shop = app.create_shop();
    let store = app.create_store(&shop, settings(false));
    app.webhook(&store, &shop.webhook_secret, &shipped(&["U1", "U2", "U3"]));
    fake.faults()
        .on("PATCH", "/api/v1/logistics/U2L", 3, Fault::Status(503));

    let first = app.press(&shop, &store, 3);

    assert_eq!(first["sent"], 1, "{first}");
    assert_eq!(
        outcomes(&first),
        [
            ("U1".into(), "sent".into()),
            ("U2".into(), "transient".into()),
            ("U3".into(), "cart_failing".into())
        ]
    );
    let logged = app.run_log(&shop, &store, &first["run_id"]);
    // Once the cart fails, the rest is left for the next run: deferred, not failed.
    assert_eq!(logged["failed"], 1, "{logged}");
    assert_eq!(logged["deferred"], 1, "{logged}");
    assert_eq!(outcomes(&logged), outcomes(&first));

    let second = app.press(&shop, &store, 3);

    assert_eq!(second["sent"], 2, "{second}");
    assert_eq!(patched(&fake), ["U1L", "U2L", "U3L"]);
    assert_eq!(fake.calls_to("PATCH", "/api/v1/logistics/U1L").len(), 1);
}
