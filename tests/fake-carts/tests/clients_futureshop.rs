//! The futureshop client against the fake: client-credentials token, nextUrl paging with the
//! filters kept, the 発送API batch and 処理済, and error classes.

mod common;

use std::time::Duration;

use common::{drive, import_query, with_token};
use mallsync_carts::futureshop::Futureshop;
use mallsync_carts::{Api, CartError, Connector};
use mallsync_fake_carts::futureshop::{FakeFutureshop, CLIENT_ID, CLIENT_SECRET, SHOP_KEY};
use mallsync_fake_carts::{Fault, OrderSeed};
use mallsync_rules::futureshop::{FutureshopCredentials, FutureshopShipment, FutureshopUpdate};
use mallsync_rules::{Secret, TrackingNumber};

fn api(fs: &FakeFutureshop, client_secret: &str) -> Api<FutureshopCredentials> {
    Futureshop::api(
        FutureshopCredentials {
            shop_key: SHOP_KEY.into(),
            client_id: CLIENT_ID.into(),
            client_secret: Secret::new(client_secret),
            api_base_url: fs.api_base_url(),
        },
        None,
    )
}

fn connected(fs: &FakeFutureshop) -> Api<FutureshopCredentials> {
    with_token::<Futureshop>(api(fs, CLIENT_SECRET)).unwrap()
}

/// Orders 100001..=100007, one a day from 2026-11-01, each with two お届け先.
fn shop() -> FakeFutureshop {
    let fs = FakeFutureshop::start();
    for n in 1..=7 {
        fs.seed_order(
            &OrderSeed::new(
                &format!("10000{n}"),
                &format!("2026-11-0{n}T10:00:00+09:00"),
            )
            .item("SKU-A", "帽子", 1, 2000)
            .item("SKU-B", "手袋", 2, 1500)
            .shipment("1", &["SKU-A"])
            .shipment("2", &["SKU-B"])
            .requested_delivery_date("2026-11-20"),
        );
    }
    fs.set_page_size(2);
    common::pace(Some(fs.clock()));
    fs
}

fn shipment(no: u32, tracking: Option<&str>) -> FutureshopShipment {
    FutureshopShipment {
        shipment_no: no,
        ship_date: "2026-11-10".parse().unwrap(),
        tracking_number: tracking.map(|t| TrackingNumber::parse(t).unwrap()),
        expected_arrival: Some("2026-11-20".parse().unwrap()),
    }
}

/// The shipping data of お届け先 1.
fn update(order_no: &str, tracking: Option<&str>) -> FutureshopUpdate {
    FutureshopUpdate::Ship {
        order_id: order_no.into(),
        shipments: vec![shipment(1, tracking)],
    }
}

/// The shipping data of both お届け先 of a shop() order.
fn ship_both(order_no: &str) -> FutureshopUpdate {
    FutureshopUpdate::Ship {
        order_id: order_no.into(),
        shipments: vec![shipment(1, Some("111")), shipment(2, Some("222"))],
    }
}

fn complete(order_no: &str) -> FutureshopUpdate {
    FutureshopUpdate::Complete {
        order_id: order_no.into(),
    }
}

#[test]
fn an_import_follows_next_url_and_keeps_the_window() {
    let fs = shop();
    let api = connected(&fs);
    let query = import_query("2026-11-02T00:00:00+09:00", "2026-11-07T00:00:00+09:00");
    let orders = drive(Futureshop::list_orders(&api, &query)).unwrap();
    let numbers: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(numbers, ["100002", "100003", "100004", "100005", "100006"]);
    assert_eq!(orders[0].shipments.len(), 2);
    assert_eq!(
        orders[0].requested_delivery_date,
        Some("2026-11-20".parse().unwrap())
    );
    let pages = fs.calls_to("GET", "/admin-api/v1/shipping");
    assert_eq!(pages.len(), 3);
    assert!(pages
        .iter()
        .all(|p| p.header("x-shop-key") == Some(SHOP_KEY)));
    assert_eq!(pages[2].query_param("cursor"), Some("c4"));
}

#[test]
fn a_write_back_sets_the_shipments_then_the_processed_step_completes_the_order() {
    let fs = shop();
    let api = connected(&fs);
    drive(Futureshop::write_back(&api, &(), &ship_both("100001"))).unwrap();
    let shipment = fs.shipment("100001", 1).unwrap();
    assert!(shipment.shipped);
    assert_eq!(
        (
            shipment.invoice_no.as_str(),
            shipment.expected_arrival.as_str()
        ),
        ("111", "2026-11-20")
    );
    assert_eq!(fs.order("100001").unwrap().status, "AWAITING_PAYMENT");
    drive(Futureshop::write_back(&api, &(), &complete("100001"))).unwrap();
    assert_eq!(fs.order("100001").unwrap().status, "COMPLETED");
    assert_eq!(
        fs.calls_to("POST", "/admin-api/v1/shipping/status").len(),
        1
    );
    assert!(fs.violations().is_empty(), "{:?}", fs.violations());
}

#[test]
fn a_write_back_without_tracking_never_blanks_the_invoice_number() {
    let fs = shop();
    let api = connected(&fs);
    drive(Futureshop::write_back(
        &api,
        &(),
        &update("100001", Some("123456789012")),
    ))
    .unwrap();
    drive(Futureshop::write_back(&api, &(), &update("100001", None))).unwrap();
    assert_eq!(fs.shipment("100001", 1).unwrap().invoice_no, "123456789012");
    assert!(fs.blanked_fields().is_empty());
    assert_eq!(fs.order("100001").unwrap().status, "AWAITING_PAYMENT");
}

#[test]
fn the_processed_step_never_completes_an_order_futureshop_shows_cancelled() {
    let fs = shop();
    let api = connected(&fs);
    drive(Futureshop::write_back(&api, &(), &ship_both("100001"))).unwrap();
    fs.set_status("100001", "CANCELLED");
    let e = drive(Futureshop::write_back(&api, &(), &complete("100001"))).unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("cancelled"), "{e}");
    assert_eq!(fs.order("100001").unwrap().status, "CANCELLED");
    assert!(fs
        .calls_to("POST", "/admin-api/v1/order/complete")
        .is_empty());
    assert!(fs.violations().is_empty(), "{:?}", fs.violations());
}

#[test]
fn a_failed_processed_step_is_retried_alone_without_resending_the_shipping_data() {
    let fs = shop();
    let api = connected(&fs);
    drive(Futureshop::write_back(&api, &(), &ship_both("100001"))).unwrap();
    fs.faults().on(
        "POST",
        "/admin-api/v1/order/complete",
        1,
        Fault::Status(503),
    );
    let e = drive(Futureshop::write_back(&api, &(), &complete("100001"))).unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    drive(Futureshop::write_back(&api, &(), &complete("100001"))).unwrap();
    assert_eq!(fs.order("100001").unwrap().status, "COMPLETED");
    assert_eq!(
        fs.calls_to("POST", "/admin-api/v1/shipping/status").len(),
        1
    );
    assert!(fs.violations().is_empty(), "{:?}", fs.violations());
}

#[test]
fn a_batch_reports_each_order_in_order() {
    let fs = shop();
    fs.set_store_pickup("100002");
    let api = connected(&fs);
    let updates = [update("100001", Some("111")), update("100002", Some("222"))];
    let refs: Vec<&FutureshopUpdate> = updates.iter().collect();
    let results = drive(Futureshop::write_back_batch(&api, &(), &refs)).unwrap();
    assert!(results[0].is_ok());
    let Err(CartError::Rejected { code, .. }) = &results[1] else {
        panic!("store pickup should be refused: {results:?}")
    };
    assert_eq!(code.as_deref(), Some("CannotUpdateStorePickup"));
    assert!(fs.shipment("100001", 1).unwrap().shipped);
    assert!(!fs.shipment("100002", 1).unwrap().shipped);
    assert_eq!(
        fs.calls_to("POST", "/admin-api/v1/shipping/status").len(),
        1
    );
}

#[test]
fn one_hundred_fifty_orders_ship_in_two_calls_within_the_limit() {
    let fs = FakeFutureshop::start();
    common::pace(Some(fs.clock()));
    for n in 0..150 {
        fs.seed_order(&OrderSeed::new(
            &format!("3{n:05}"),
            "2026-11-01T10:00:00+09:00",
        ));
    }
    let api = connected(&fs);
    let updates: Vec<FutureshopUpdate> = (0..150)
        .map(|n| update(&format!("3{n:05}"), Some("123")))
        .collect();
    let refs: Vec<&FutureshopUpdate> = updates.iter().collect();
    let mut results = Vec::new();
    for batch in refs.chunks(Futureshop::MAX_BATCH) {
        results.extend(drive(Futureshop::write_back_batch(&api, &(), batch)).unwrap());
    }
    assert_eq!(results.len(), 150);
    assert!(results.iter().all(Result::is_ok));
    let calls = fs.calls_to("POST", "/admin-api/v1/shipping/status");
    let sizes: Vec<usize> = calls
        .iter()
        .map(|c| c.json().unwrap()["orderList"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [100, 50]);
    assert!((0..150).all(|n| fs.shipment(&format!("3{n:05}"), 1).unwrap().shipped));
    assert!(fs.violations().is_empty(), "{:?}", fs.violations());
}

#[test]
fn wrong_client_credentials_are_a_credentials_error() {
    let fs = shop();
    let e = with_token::<Futureshop>(api(&fs, "wrong")).unwrap_err();
    assert!(matches!(e, CartError::CredentialsRejected { .. }), "{e:?}");
}

#[test]
fn an_expired_token_is_a_credentials_error() {
    let fs = shop();
    let api = connected(&fs);
    fs.expire_tokens();
    let e = drive(Futureshop::connection_test(&api)).unwrap_err();
    assert!(matches!(e, CartError::CredentialsRejected { .. }), "{e:?}");
}

#[test]
fn going_faster_than_one_request_a_second_is_rate_limited() {
    let fs = shop();
    let api = connected(&fs);
    common::pace(None);
    let query = import_query("2026-11-01T00:00:00+09:00", "2026-11-08T00:00:00+09:00");
    let e = drive(Futureshop::list_orders(&api, &query)).unwrap_err();
    assert!(matches!(e, CartError::RateLimited { .. }), "{e:?}");
    fs.clock().advance(Duration::from_secs(1));
    drive(Futureshop::connection_test(&api)).unwrap();
    // Provoked on purpose: forgotten so the fake's drop does not fail the test.
    fs.clear_violations();
}

#[test]
fn server_errors_are_transient() {
    let fs = shop();
    let api = connected(&fs);
    fs.faults()
        .on_path("/admin-api/v1/shipping/status", 1, Fault::Status(503));
    let e = drive(Futureshop::write_back(
        &api,
        &(),
        &update("100001", Some("1")),
    ))
    .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert!(!fs.shipment("100001", 1).unwrap().shipped);
}

#[test]
fn a_batch_of_101_orders_never_leaves_the_client() {
    let fs = FakeFutureshop::start();
    common::pace(Some(fs.clock()));
    let api = connected(&fs);
    let updates: Vec<FutureshopUpdate> = (0..101)
        .map(|n| update(&format!("2{n:05}"), Some("123")))
        .collect();
    let refs: Vec<&FutureshopUpdate> = updates.iter().collect();
    let e = drive(Futureshop::write_back_batch(&api, &(), &refs)).unwrap_err();
    assert!(matches!(e, CartError::InvalidRequest { .. }), "{e:?}");
    assert!(fs
        .calls_to("POST", "/admin-api/v1/shipping/status")
        .is_empty());
}

#[test]
fn one_thousand_orders_take_ten_shipping_calls_at_the_carts_pace_without_a_violation() {
    let fs = FakeFutureshop::start();
    common::pace(Some(fs.clock()));
    for n in 0..1_000 {
        fs.seed_order(&OrderSeed::new(
            &format!("4{n:05}"),
            "2026-11-01T10:00:00+09:00",
        ));
    }
    let api = connected(&fs);
    let updates: Vec<FutureshopUpdate> = (0..1_000)
        .map(|n| update(&format!("4{n:05}"), Some("123")))
        .collect();
    let refs: Vec<&FutureshopUpdate> = updates.iter().collect();
    for batch in refs.chunks(Futureshop::MAX_BATCH) {
        let results = drive(Futureshop::write_back_batch(&api, &(), batch)).unwrap();
        assert!(results.iter().all(Result::is_ok));
    }
    assert_eq!(
        fs.calls_to("POST", "/admin-api/v1/shipping/status").len(),
        10
    );
    assert_eq!(fs.calls().len(), 11, "ten batches and the token");
    assert_eq!(fs.peak_requests_within(Duration::from_secs(1)), 1);
    fs.assert_no_violations();
}
