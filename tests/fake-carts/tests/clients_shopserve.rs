//! The ショップサーブ client against the fake (both on carts-b's guessed wire names): weekly
//! windows paged by from/size, the per-order update, maintenance as transient.

mod common;

use common::{drive, import_query};
use mallsync_carts::shopserve::Shopserve;
use mallsync_carts::{Api, CartError, Connector};
use mallsync_fake_carts::shopserve::{FakeShopserve, MANAGER_KEY, SHOP_ID};
use mallsync_fake_carts::{Fault, OrderSeed};
use mallsync_rules::shopserve::{ShopserveCredentials, ShopserveUpdate};
use mallsync_rules::{Carrier, Secret, TrackingNumber};
use serde_json::json;

fn api(ss: &FakeShopserve, key: &str) -> Api<ShopserveCredentials> {
    Shopserve::api(
        ShopserveCredentials {
            shop_id: SHOP_ID.into(),
            manager_key: Secret::new(key),
        },
        None,
    )
    .with_base_url(ss.api_base_url())
}

/// 150 orders on 2026-11-02 and 3 on 2026-11-12 (Japan).
fn shop() -> FakeShopserve {
    let ss = FakeShopserve::start();
    common::pace(Some(ss.clock()));
    for n in 0..150 {
        ss.seed_order(
            &OrderSeed::new(
                &format!("20261102{n:03}"),
                &format!("2026-11-02T{:02}:{:02}:00+09:00", n / 60, n % 60),
            )
            .item("A-28", "手袋", 1, 1800)
            .requested_delivery_date("2026-11-09"),
        );
    }
    for n in 0..3 {
        ss.seed_order(&OrderSeed::new(
            &format!("20261112{n:03}"),
            "2026-11-12T09:00:00+09:00",
        ));
    }
    ss
}

fn update(tracking: Option<&str>) -> ShopserveUpdate {
    ShopserveUpdate {
        order_id: "20261102000".into(),
        mark_shipped: tracking.is_some(),
        carrier: tracking.map(|_| Carrier::Yamato),
        tracking_number: tracking.map(|t| TrackingNumber::parse(t).unwrap()),
        scheduled_ship_date: Some("2026-11-20".parse().unwrap()),
    }
}

#[test]
fn an_import_searches_each_week_and_pages_within_it() {
    let ss = shop();
    let query = import_query("2026-11-01T00:00:00+09:00", "2026-11-15T00:00:00+09:00");
    let orders = drive(Shopserve::list_orders(&api(&ss, MANAGER_KEY), &query)).unwrap();
    assert_eq!(orders.len(), 153);
    assert_eq!(orders[0].items[0].item_id, "A-28");
    assert_eq!(
        orders[0].requested_delivery_date,
        Some("2026-11-09".parse().unwrap())
    );
    let searches = ss.calls_to("POST", "/v2/orders/_search");
    let bodies: Vec<serde_json::Value> = searches.iter().map(|c| c.json().unwrap()).collect();
    // Two weeks, the first paged twice, and the inclusive end instant as a window of its own.
    assert_eq!(bodies.len(), 4);
    assert_eq!(bodies[3]["order_date_from"], "2026-11-15 00:00:00");
    assert_eq!(
        (bodies[0]["from"].clone(), bodies[1]["from"].clone()),
        (json!(0), json!(100))
    );
    assert_eq!(bodies[2]["order_date_from"], "2026-11-08 00:00:00");
}

#[test]
fn a_shipped_update_sends_status_carrier_tracking_and_ship_date() {
    let ss = shop();
    drive(Shopserve::write_back(
        &api(&ss, MANAGER_KEY),
        &Default::default(),
        &update(Some("123456789012")),
    ))
    .unwrap();
    let order = ss.order("20261102000").unwrap();
    assert_eq!(order.shipping_status, "発送済み");
    assert_eq!(order.delivery_company.as_deref(), Some("ヤマト運輸"));
    assert_eq!(order.slip_number.as_deref(), Some("123456789012"));
    assert_eq!(order.scheduled_shipping_date.as_deref(), Some("2026-11-20"));
}

#[test]
fn without_a_tracking_number_only_the_ship_date_is_sent_and_accepted() {
    let ss = shop();
    drive(Shopserve::write_back(
        &api(&ss, MANAGER_KEY),
        &Default::default(),
        &update(None),
    ))
    .unwrap();
    assert_eq!(
        ss.updates(),
        vec![(
            "20261102000".to_string(),
            json!({"scheduled_shipping_date": "2026-11-20"})
        )]
    );
    assert_eq!(ss.order("20261102000").unwrap().shipping_status, "未発送");
}

#[test]
fn a_wrong_key_is_a_credentials_error() {
    let ss = shop();
    let e = drive(Shopserve::connection_test(&api(&ss, "old-key"))).unwrap_err();
    assert!(matches!(e, CartError::CredentialsRejected { .. }), "{e:?}");
}

#[test]
fn maintenance_and_server_errors_are_transient() {
    let ss = shop();
    let api = api(&ss, MANAGER_KEY);
    ss.set_maintenance(true);
    let e = drive(Shopserve::connection_test(&api)).unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    ss.set_maintenance(false);
    ss.faults().next(1, Fault::Status(502));
    let e = drive(Shopserve::write_back(
        &api,
        &Default::default(),
        &update(Some("1")),
    ))
    .unwrap_err();
    assert!(
        matches!(
            e,
            CartError::Transient {
                status: Some(502),
                ..
            }
        ),
        "{e:?}"
    );
}
