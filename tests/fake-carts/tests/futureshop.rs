//! The fake futureshop behaves as documented: shop key and token, cursor paging, the 100-order
//! limit, and "" overwriting a field with blank.

mod common;

use common::call;
use mallsync_fake_carts::futureshop::{FakeFutureshop, CLIENT_ID, CLIENT_SECRET, SHOP_KEY};
use mallsync_fake_carts::OrderSeed;
use serde_json::{json, Value};

fn seeded(orders: usize) -> (FakeFutureshop, String) {
    let fs = FakeFutureshop::start();
    for n in 0..orders {
        fs.seed_order(
            &OrderSeed::new(
                &format!("1000{n:02}"),
                &format!("2026-11-{:02}T10:00:00+09:00", n + 1),
            )
            .item("SKU-A", "帽子", 1, 2000)
            .requested_delivery_date("2026-12-01"),
        );
    }
    let token = fs.issue_token();
    common::pace(Some(fs.clock()));
    (fs, token)
}

fn post(fs: &FakeFutureshop, token: &str, path: &str, body: &Value) -> common::Answer {
    call("POST", &format!("{}{path}", fs.url()))
        .bearer(token)
        .header("X-SHOP-KEY", SHOP_KEY)
        .json(body)
        .send()
}

fn ship(order_no: &str, info: Value) -> Value {
    json!({"orderNo": order_no, "shipmentList": [{"shipmentNo": 1, "shippingInfo": info}]})
}

#[test]
fn a_token_needs_the_client_credentials_and_the_shop_key() {
    let fs = FakeFutureshop::start();
    common::pace(Some(fs.clock()));
    let url = format!("{}/oauth/token", fs.url());
    let good = call("POST", &url)
        .basic(CLIENT_ID, CLIENT_SECRET)
        .header("X-SHOP-KEY", SHOP_KEY)
        .form(&[("grant_type", "client_credentials")])
        .send();
    assert_eq!(good.status(), 200);
    assert!(good.json()["access_token"].is_string());
    let no_key = call("POST", &url)
        .basic(CLIENT_ID, CLIENT_SECRET)
        .form(&[("grant_type", "client_credentials")])
        .send();
    assert_eq!(no_key.status(), 401);
}

#[test]
fn every_call_needs_the_shop_key_and_a_live_token() {
    let (fs, token) = seeded(1);
    let url = format!("{}/admin-api/v1/shipping", fs.url());
    assert_eq!(call("GET", &url).bearer(&token).send().status(), 401);
    let ok = call("GET", &url)
        .bearer(&token)
        .header("X-SHOP-KEY", SHOP_KEY)
        .send();
    assert_eq!(ok.status(), 200);
    fs.expire_tokens();
    let expired = call("GET", &url)
        .bearer(&token)
        .header("X-SHOP-KEY", SHOP_KEY)
        .send();
    assert_eq!(expired.status(), 401);
}

#[test]
fn the_search_pages_by_next_url_and_needs_the_filters_resent() {
    let (fs, token) = seeded(5);
    fs.set_page_size(2);
    let get = |path_and_query: &str| {
        call("GET", &format!("{}{path_and_query}", fs.url()))
            .bearer(&token)
            .header("X-SHOP-KEY", SHOP_KEY)
            .send()
            .json()
    };
    let filters = "orderDateStart=2026-11-02T00:00:00&orderDateEnd=2026-11-05T23:59:59";
    let first = get(&format!("/admin-api/v1/shipping?{filters}"));
    assert_eq!(first["orderList"].as_array().unwrap().len(), 2);
    assert_eq!(first["orderList"][0]["orderNo"], "100001");
    assert_eq!(
        first["orderList"][0]["shipmentList"][0]["shippingInfo"]["preferredDeliveryDate"],
        "2026-12-01"
    );
    let next = first["nextUrl"].as_str().unwrap().to_string();
    assert_eq!(next, "/admin-api/v1/shipping?cursor=c2");
    let second = get(&format!("{next}&{filters}"));
    assert_eq!(second["orderList"][1]["orderNo"], "100004");
    assert_eq!(second["nextUrl"], Value::Null);
    // Without the filters the cursor runs over every order.
    assert_eq!(get(&next)["orderList"][0]["orderNo"], "100002");
}

#[test]
fn the_shipping_api_refuses_more_than_100_orders_with_too_many() {
    let (fs, token) = seeded(1);
    let orders: Vec<Value> = (0..101)
        .map(|_| ship("100000", json!({"shippingDate": "2026-11-20"})))
        .collect();
    let answer = post(
        &fs,
        &token,
        "/admin-api/v1/shipping/status",
        &json!({ "orderList": orders }),
    );
    assert_eq!(answer.status(), 400);
    assert_eq!(answer.json()["errors"][0]["code"], "TooMany");
    assert!(!fs.shipment("100000", 1).unwrap().shipped);
}

#[test]
fn a_ship_date_marks_shipped_and_an_empty_string_blanks_the_field() {
    let (fs, token) = seeded(1);
    let first = post(
        &fs,
        &token,
        "/admin-api/v1/shipping/status",
        &json!({"orderList": [ship("100000", json!({"invoiceNo": "123456789012", "expectedArrival": "2026-12-01", "shippingDate": "2026-11-20"}))]}),
    );
    assert_eq!(first.json()["results"][0]["status"], "success");
    let shipment = fs.shipment("100000", 1).unwrap();
    assert!(shipment.shipped);
    assert_eq!(shipment.invoice_no, "123456789012");
    assert!(fs.blanked_fields().is_empty());

    // Omitted keys are left alone; "" overwrites.
    post(
        &fs,
        &token,
        "/admin-api/v1/shipping/status",
        &json!({"orderList": [ship("100000", json!({"expectedArrival": "", "shippingDate": "2026-11-21"}))]}),
    );
    let shipment = fs.shipment("100000", 1).unwrap();
    assert_eq!(shipment.invoice_no, "123456789012");
    assert_eq!(shipment.expected_arrival, "");
    assert_eq!(fs.blanked_fields()[0].field, "expectedArrival");
}

#[test]
fn store_pickup_and_unknown_orders_fail_alone_in_a_batch() {
    let (fs, token) = seeded(2);
    fs.set_store_pickup("100001");
    let answer = post(
        &fs,
        &token,
        "/admin-api/v1/shipping/status",
        &json!({"orderList": [
            ship("100000", json!({"shippingDate": "2026-11-20"})),
            ship("100001", json!({"shippingDate": "2026-11-20"})),
            ship("999999", json!({"shippingDate": "2026-11-20"})),
        ]}),
    );
    let body = answer.json();
    assert_eq!(body["status"], "failed");
    assert_eq!(body["results"][0]["status"], "success");
    assert_eq!(body["results"][1]["code"], "CannotUpdateStorePickup");
    assert_eq!(body["results"][2]["status"], "failed");
    assert!(fs.shipment("100000", 1).unwrap().shipped);
    assert!(!fs.shipment("100001", 1).unwrap().shipped);
}

#[test]
fn complete_sets_orders_to_completed() {
    let (fs, token) = seeded(1);
    let answer = post(
        &fs,
        &token,
        "/admin-api/v1/order/complete",
        &json!({"orderList": [{"orderNo": "100000"}]}),
    );
    assert_eq!(answer.json()["status"], "success");
    assert_eq!(fs.order("100000").unwrap().status, "COMPLETED");
}
