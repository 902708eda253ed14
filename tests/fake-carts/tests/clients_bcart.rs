//! The Bカート client against the fake: full paging, the logistics write-back, error classes.

mod common;

use std::time::Duration;

use common::{drive, import_query};
use mallsync_carts::bcart::Bcart;
use mallsync_carts::{Api, CartError, Connector};
use mallsync_fake_carts::bcart::{FakeBcart, ACCESS_TOKEN};
use mallsync_fake_carts::{Fault, OrderSeed, RateLimit};
use mallsync_rules::bcart::{BcartCredentials, BcartUpdate, LogisticsStatus};
use mallsync_rules::{Secret, TrackingNumber};
use serde_json::json;

fn api(bcart: &FakeBcart, token: &str) -> Api<BcartCredentials> {
    Bcart::api(
        BcartCredentials {
            access_token: Secret::new(token),
        },
        None,
    )
    .with_base_url(bcart.api_base_url())
}

/// 250 orders on 2026-11-10 (Japan), each with two 出荷 records, and one outside the window.
fn shop() -> FakeBcart {
    let bcart = FakeBcart::start();
    for n in 0..250 {
        let (id, a, b) = (10_000 + n, 20_000 + 2 * n, 20_001 + 2 * n);
        bcart.seed_order(
            &OrderSeed::new(
                &id.to_string(),
                &format!("2026-11-10T{:02}:{:02}:00+09:00", n / 60, n % 60),
            )
            .item(&format!("{id}1"), "米", 2, 3000)
            .item(&format!("{id}2"), "味噌", 1, 800)
            .shipment(&a.to_string(), &[&format!("{id}1")])
            .shipment(&b.to_string(), &[&format!("{id}2")])
            .requested_delivery_date("2026-11-15"),
        );
    }
    bcart.seed_order(&OrderSeed::new("99999", "2026-11-11T00:00:00+09:00"));
    bcart
}

fn update(logistics_id: &str, status: LogisticsStatus) -> BcartUpdate {
    BcartUpdate {
        order_id: "10000".into(),
        logistics_id: logistics_id.into(),
        status,
        tracking_number: TrackingNumber::parse("123456789012").unwrap(),
        ship_date: Some("2026-11-20".parse().unwrap()),
    }
}

#[test]
fn an_import_pages_through_every_order_of_the_window_with_its_shipments() {
    let bcart = shop();
    let query = import_query("2026-11-10T00:00:00+09:00", "2026-11-11T00:00:00+09:00");
    let orders = drive(Bcart::list_orders(&api(&bcart, ACCESS_TOKEN), &query)).unwrap();
    assert_eq!(orders.len(), 250);
    let first = &orders[0];
    assert_eq!(first.order_id, "10000");
    assert_eq!(first.shipments.len(), 2);
    assert_eq!(first.shipments[1].shipment_id, "20001");
    assert_eq!(first.shipments[1].items[0].item_id, "100002");
    assert_eq!(
        first.requested_delivery_date,
        Some("2026-11-15".parse().unwrap())
    );
    let pages = bcart.calls_to("GET", "/api/v1/orders");
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[2].query_param("offset"), Some("200"));
    assert_eq!(pages[0].query_param("complete"), Some("1"));
    assert_eq!(
        pages[0].query_param("ordered_at__lte"),
        Some("2026-11-10 23:59:59")
    );
}

#[test]
fn a_write_back_patches_the_logistics_record_with_exactly_three_fields() {
    let bcart = shop();
    drive(Bcart::write_back(
        &api(&bcart, ACCESS_TOKEN),
        &Default::default(),
        &update("20000", LogisticsStatus::Shipped),
    ))
    .unwrap();
    let logistics = bcart.logistics("20000").unwrap();
    assert_eq!(logistics.status, "発送済");
    assert_eq!(logistics.delivery_code.as_deref(), Some("123456789012"));
    assert_eq!(
        bcart.logistics_patches(),
        vec![(
            "20000".to_string(),
            json!({"delivery_code": "123456789012", "shipment_date": "2026-11-20", "status": "発送済"})
        )]
    );
    let call = &bcart.calls()[0];
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(bcart.logistics("20001").unwrap().status, "未発送");
}

#[test]
fn a_ship_instruction_without_a_date_leaves_the_ship_date_alone() {
    let bcart = shop();
    let mut instructed = update("20000", LogisticsStatus::ShipInstructed);
    instructed.ship_date = None;
    drive(Bcart::write_back(
        &api(&bcart, ACCESS_TOKEN),
        &Default::default(),
        &instructed,
    ))
    .unwrap();
    let logistics = bcart.logistics("20000").unwrap();
    assert_eq!(
        (logistics.status.as_str(), logistics.shipment_date),
        ("発送指示", None)
    );
}

#[test]
fn a_bad_token_is_a_credentials_error_and_the_connection_test_fails() {
    let bcart = shop();
    let e = drive(Bcart::connection_test(&api(&bcart, "expired"))).unwrap_err();
    assert!(matches!(e, CartError::CredentialsRejected { .. }), "{e:?}");
    drive(Bcart::connection_test(&api(&bcart, ACCESS_TOKEN))).unwrap();
}

#[test]
fn the_lockout_is_rate_limited_with_the_carts_retry_after() {
    let bcart = shop();
    bcart.set_rate_limit(Some(RateLimit::Sliding {
        max_requests: 2,
        window: Duration::from_secs(300),
        lockout: Some(Duration::from_secs(300)),
    }));
    let query = import_query("2026-11-10T00:00:00+09:00", "2026-11-11T00:00:00+09:00");
    let e = drive(Bcart::list_orders(&api(&bcart, ACCESS_TOKEN), &query)).unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(300)));
    // Provoked on purpose: forgotten so the fake's drop does not fail the test.
    bcart.clear_violations();
}

#[test]
fn server_errors_are_transient_and_broken_json_is_malformed() {
    let bcart = shop();
    let api = api(&bcart, ACCESS_TOKEN);
    bcart.faults().next(1, Fault::Status(503));
    let e = drive(Bcart::write_back(
        &api,
        &Default::default(),
        &update("20000", LogisticsStatus::Shipped),
    ))
    .unwrap_err();
    assert!(
        matches!(
            e,
            CartError::Transient {
                status: Some(503),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(bcart.logistics("20000").unwrap().status, "未発送");
    bcart.faults().next(1, Fault::MalformedJson);
    let e = drive(Bcart::connection_test(&api)).unwrap_err();
    assert!(matches!(e, CartError::Malformed { .. }), "{e:?}");
}

#[test]
fn an_unknown_logistics_record_is_rejected_not_retried() {
    let bcart = shop();
    let e = drive(Bcart::write_back(
        &api(&bcart, ACCESS_TOKEN),
        &Default::default(),
        &update("1", LogisticsStatus::Shipped),
    ))
    .unwrap_err();
    assert!(
        matches!(e, CartError::Rejected { status: 404, .. }),
        "{e:?}"
    );
    assert!(!e.is_retryable());
}
