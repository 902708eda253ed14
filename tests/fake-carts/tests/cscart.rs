//! The fake CS-Cart behaves as its source does: Basic auth, JSON required, string numbers,
//! capped shipments, and status-only PUTs that never recalculate.

mod common;

use common::call;
use mallsync_fake_carts::cscart::{FakeCscart, ADMIN_EMAIL, API_KEY};
use mallsync_fake_carts::OrderSeed;
use serde_json::{json, Value};

fn seeded() -> FakeCscart {
    let cs = FakeCscart::start();
    cs.seed_order(
        &OrderSeed::new("101", "2026-11-20T10:00:00+09:00")
            .item("11", "茶碗", 2, 1200)
            .item("12", "箸", 1, 300)
            .shipment("1", &["11", "12"]),
    );
    cs.seed_order(&OrderSeed::new("102", "2026-11-21T10:00:00+09:00").status("P"));
    cs.seed_order(&OrderSeed::new("103", "2026-11-22T10:00:00+09:00"));
    cs
}

fn send(
    cs: &FakeCscart,
    method: &str,
    path_and_query: &str,
    body: Option<&Value>,
) -> common::Answer {
    let c = call(method, &format!("{}{path_and_query}", cs.url())).basic(ADMIN_EMAIL, API_KEY);
    match body {
        Some(body) => c.json(body),
        None => c,
    }
    .send()
}

#[test]
fn wrong_credentials_get_401_with_a_basic_challenge() {
    let cs = seeded();
    let answer = call("GET", &format!("{}/api/orders", cs.url()))
        .basic(ADMIN_EMAIL, "nope")
        .send();
    assert_eq!(answer.status(), 401);
    assert!(answer
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
}

#[test]
fn orders_page_and_filter_by_period_c_with_unix_seconds_and_status() {
    let cs = seeded();
    let from = 1_795_186_800; // 2026-11-21T00:00:00+09:00
    let page = send(&cs, "GET", &format!("/api/orders?period=C&time_from={from}&time_to={}&items_per_page=1&page=1&sort_order=asc", from + 2 * 86400), None).json();
    assert_eq!(page["params"]["total_items"], "2");
    assert_eq!(page["orders"][0]["order_id"], "102");
    assert_eq!(page["orders"][0]["timestamp"], "1795222800");
    let by_status = send(&cs, "GET", "/api/orders?status=P", None).json();
    assert_eq!(by_status["orders"].as_array().unwrap().len(), 1);
    // Without period=C the bounds are ignored.
    let ignored = send(&cs, "GET", &format!("/api/orders?time_from={from}"), None).json();
    assert_eq!(ignored["params"]["total_items"], "3");
    let past_end = send(&cs, "GET", "/api/orders?page=5", None).json();
    assert_eq!(past_end["orders"], json!([]));
}

#[test]
fn order_detail_keys_products_by_item_id_with_string_numbers() {
    let cs = seeded();
    let order = send(&cs, "GET", "/api/orders/101", None).json();
    assert_eq!(order["products"]["11"]["amount"], "2");
    assert_eq!(order["shipping"][0]["shipping_id"], "1");
    assert_eq!(order["need_shipment"], true);
}

#[test]
fn writes_without_a_json_content_type_fail() {
    let cs = seeded();
    let answer = call("PUT", &format!("{}/api/orders/101", cs.url()))
        .basic(ADMIN_EMAIL, API_KEY)
        .form(&[("status", "C")])
        .send();
    assert_eq!(answer.status(), 400);
    assert_eq!(cs.order_status("101").as_deref(), Some("O"));
}

#[test]
fn a_shipment_ships_what_is_left_and_a_repeat_is_a_bare_400() {
    let cs = seeded();
    let body = json!({"order_id": 101, "shipping_id": "1", "tracking_number": "1234-5678-9012", "carrier": "yamato", "order_status": "C", "products": {"11": "2", "12": 1}});
    let created = send(&cs, "POST", "/api/shipments", Some(&body));
    assert_eq!(
        (created.status(), created.json()["shipment_id"].clone()),
        (201, json!(1))
    );
    let shipments = cs.shipments("101");
    assert_eq!(shipments[0].products.get("11"), Some(&2));
    assert_eq!(shipments[0].carrier, "yamato");
    assert_eq!(cs.order_status("101").as_deref(), Some("C"));
    assert_eq!(
        cs.customer_emails(),
        vec![("101".to_string(), "shipment".to_string())]
    );

    let again = send(&cs, "POST", "/api/shipments", Some(&body));
    assert_eq!(again.status(), 400);
    assert!(again.0.body().is_empty());
    assert_eq!(cs.shipments("101").len(), 1);
}

#[test]
fn a_shipment_needs_a_carrier_or_a_tracking_number() {
    let cs = seeded();
    let answer = send(
        &cs,
        "POST",
        "/api/shipments",
        Some(&json!({"order_id": "101", "shipping_id": "1"})),
    );
    assert_eq!(answer.status(), 400);
    assert!(cs.shipments("101").is_empty());
}

#[test]
fn a_status_only_put_changes_status_without_recalculating() {
    let cs = seeded();
    let answer = send(
        &cs,
        "PUT",
        "/api/orders/101",
        Some(&json!({"status": "C", "notify_user": "Y"})),
    );
    assert_eq!(answer.status(), 200);
    assert_eq!(cs.order_status("101").as_deref(), Some("C"));
    assert!(cs.recalculated_orders().is_empty());
    assert_eq!(
        cs.customer_emails(),
        vec![("101".to_string(), "status".to_string())]
    );
}

#[test]
fn a_put_with_any_other_key_is_flagged_as_recalculating_the_order() {
    let cs = seeded();
    send(
        &cs,
        "PUT",
        "/api/orders/101",
        Some(&json!({"status": "C", "tracking_number": "1"})),
    );
    assert_eq!(cs.recalculated_orders(), vec!["101".to_string()]);
}

#[test]
fn notify_user_n_still_notifies_and_an_unchanged_status_sends_nothing() {
    let cs = seeded();
    send(
        &cs,
        "PUT",
        "/api/orders/102",
        Some(&json!({"status": "P", "notify_user": "N"})),
    );
    assert!(cs.customer_emails().is_empty());
    send(
        &cs,
        "PUT",
        "/api/orders/102",
        Some(&json!({"status": "C", "notify_user": "N"})),
    );
    assert_eq!(cs.customer_emails().len(), 1);
}

#[test]
fn department_and_vendor_mails_follow_their_keys_and_a_missing_or_empty_key_mails_nobody() {
    let cs = seeded();
    send(
        &cs,
        "PUT",
        "/api/orders/102",
        Some(&json!({"status": "C", "notify_user": "", "notify_department": "N"})),
    );
    send(
        &cs,
        "PUT",
        "/api/orders/101",
        Some(&json!({"status": "C", "notify_vendor": "Y"})),
    );
    assert!(cs.customer_emails().is_empty());
    assert_eq!(cs.with_cart(|c| c.department_emails.clone()), ["102"]);
    assert_eq!(cs.with_cart(|c| c.vendor_emails.clone()), ["101"]);
}

#[test]
fn a_shipments_page_past_the_end_repeats_the_last_page() {
    let cs = seeded();
    send(
        &cs,
        "POST",
        "/api/shipments",
        Some(
            &json!({"order_id": "101", "shipping_id": "1", "tracking_number": "1", "products": {"11": 1}}),
        ),
    );
    send(
        &cs,
        "POST",
        "/api/shipments",
        Some(
            &json!({"order_id": "101", "shipping_id": "1", "tracking_number": "2", "products": {"11": 5}}),
        ),
    );
    let page = send(
        &cs,
        "GET",
        "/api/shipments?order_id=101&items_per_page=1&page=9",
        None,
    )
    .json();
    assert_eq!(page["shipments"][0]["tracking_number"], "2");
    assert_eq!(page["shipments"][0]["products"]["11"], "1");
    let put = send(
        &cs,
        "PUT",
        "/api/shipments/1",
        Some(&json!({"carrier": "sagawa"})),
    );
    assert_eq!(put.status(), 400);
}
