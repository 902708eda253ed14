//! The CS-Cart client against the fake: page-numbered import with UNIX-second bounds, the
//! shipment plus status-only completion, safe retries, error classes.

mod common;

use common::{drive, import_query};
use mallsync_carts::cscart::Cscart;
use mallsync_carts::{Api, CartError, Connector};
use mallsync_fake_carts::cscart::{FakeCscart, ADMIN_EMAIL, API_KEY};
use mallsync_fake_carts::{Fault, OrderSeed};
use mallsync_rules::cscart::{CscartCredentials, CscartShipment};
use mallsync_rules::{Carrier, Item, Secret, TrackingNumber};

fn api(cs: &FakeCscart, key: &str) -> Api<CscartCredentials> {
    Cscart::api(
        CscartCredentials {
            store_url: "https://shop.example.jp/".into(),
            admin_email: ADMIN_EMAIL.into(),
            api_key: Secret::new(key),
        },
        None,
    )
    .with_base_url(cs.api_base_url())
}

/// 230 open orders on 2026-11-10 (Japan), 5 complete ones that day, 1 the day after.
fn store() -> FakeCscart {
    let cs = FakeCscart::start();
    for n in 0..235 {
        let status = if n < 230 { "O" } else { "C" };
        cs.seed_order(
            &OrderSeed::new(
                &(1000 + n).to_string(),
                &format!("2026-11-10T{:02}:{:02}:00+09:00", n / 60, n % 60),
            )
            .status(status)
            .item(&format!("{}1", 1000 + n), "茶碗", 2, 1200)
            .requested_delivery_date("2026-11-25"),
        );
    }
    cs.seed_order(
        &OrderSeed::new("2000", "2026-11-11T10:00:00+09:00")
            .item("21", "箸", 1, 300)
            .item("22", "皿", 1, 900)
            .shipment("5", &["21"])
            .shipment("6", &["22"]),
    );
    cs
}

fn shipment(order_id: &str, shipping_id: Option<&str>, items: Vec<Item>) -> CscartShipment {
    CscartShipment {
        order_id: order_id.into(),
        shipping_id: shipping_id.map(str::to_string),
        tracking_number: TrackingNumber::parse("1234-5678-9012").unwrap(),
        carrier: Some(Carrier::Yamato),
        ship_date: "2026-11-23".parse().unwrap(),
        items,
        notify: Default::default(),
    }
}

#[test]
fn an_import_pages_by_number_with_the_store_statuses_then_reads_each_order() {
    let cs = store();
    let mut query = import_query("2026-11-10T00:00:00+09:00", "2026-11-11T00:00:00+09:00");
    query.cart_statuses = vec!["O".into(), "P".into()];
    let orders = drive(Cscart::list_orders(&api(&cs, API_KEY), &query)).unwrap();
    assert_eq!(orders.len(), 230);
    let first = orders.iter().find(|o| o.order_id == "1000").unwrap();
    assert_eq!(first.items[0].quantity, 2);
    assert_eq!(first.shipments[0].shipment_id, "1");
    assert_eq!(
        first.requested_delivery_date,
        Some("2026-11-25".parse().unwrap())
    );
    let pages = cs.calls_to("GET", "/api/orders");
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].query_param("period"), Some("C"));
    assert_eq!(pages[0].query_param("time_to"), Some("1794322799"));
    assert_eq!(pages[0].query_params("status[]"), ["O", "P"]);
}

#[test]
fn a_write_back_creates_the_shipment_then_completes_with_a_status_only_put() {
    let cs = store();
    drive(Cscart::write_back(
        &api(&cs, API_KEY),
        &(),
        &shipment("1000", None, Vec::new()),
    ))
    .unwrap();
    let shipments = cs.shipments("1000");
    assert_eq!(shipments.len(), 1);
    assert_eq!(
        (
            shipments[0].carrier.as_str(),
            shipments[0].tracking_number.as_str()
        ),
        ("yamato", "1234-5678-9012")
    );
    assert_eq!(shipments[0].products.get("10001"), Some(&2));
    assert_eq!(shipments[0].timestamp, "1795402800");
    assert_eq!(cs.order_status("1000").as_deref(), Some("C"));
    assert!(cs.recalculated_orders().is_empty());
    let put = &cs.calls_to("PUT", "/api/orders/1000")[0];
    assert_eq!(put.header("content-type"), Some("application/json"));
}

#[test]
fn a_retry_after_a_lost_response_adds_no_second_shipment() {
    let cs = store();
    let api = api(&cs, API_KEY);
    cs.faults()
        .on("POST", "/api/shipments", 1, Fault::StatusAfterApplying(502));
    let update = shipment("1000", Some("1"), Vec::new());
    assert!(drive(Cscart::write_back(&api, &(), &update))
        .unwrap_err()
        .is_retryable());
    drive(Cscart::write_back(&api, &(), &update)).unwrap();
    assert_eq!(cs.shipments("1000").len(), 1);
    assert_eq!(cs.order_status("1000").as_deref(), Some("C"));
    let emails = cs.customer_emails();
    assert_eq!(
        emails.iter().filter(|(_, kind)| kind == "shipment").count(),
        1
    );
    assert_eq!(
        emails.iter().filter(|(_, kind)| kind == "status").count(),
        1
    );
}

#[test]
fn one_group_of_two_ships_only_its_items() {
    let cs = store();
    let api = api(&cs, API_KEY);
    drive(Cscart::write_back(
        &api,
        &(),
        &shipment(
            "2000",
            Some("6"),
            vec![Item {
                item_id: "22".into(),
                quantity: 1,
            }],
        ),
    ))
    .unwrap();
    let shipped = cs.shipments("2000");
    assert_eq!(
        (shipped[0].shipping_id.as_str(), shipped[0].products.len()),
        ("6", 1)
    );
    let e = drive(Cscart::write_back(
        &api,
        &(),
        &shipment("2000", None, Vec::new()),
    ))
    .unwrap_err();
    assert!(matches!(e, CartError::Rejected { .. }), "{e:?}");
}

#[test]
fn a_wrong_key_is_a_credentials_error_and_server_errors_are_transient() {
    let cs = store();
    let e = drive(Cscart::connection_test(&api(&cs, "old"))).unwrap_err();
    assert!(matches!(e, CartError::CredentialsRejected { .. }), "{e:?}");
    cs.faults().next(1, Fault::Status(500));
    let e = drive(Cscart::connection_test(&api(&cs, API_KEY))).unwrap_err();
    assert!(
        matches!(
            e,
            CartError::Transient {
                status: Some(500),
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn a_two_group_order_whose_shipments_list_no_items_lands_each_tracking_number_on_its_shipment() {
    let cs = store();
    let api = api(&cs, API_KEY);
    // The shape mallsync's own import produces: each group a shipment, no items listed.
    let mut first = shipment("2000", Some("5"), Vec::new());
    first.tracking_number = TrackingNumber::parse("1111-2222-3333").unwrap();
    let mut second = shipment("2000", Some("6"), Vec::new());
    second.tracking_number = TrackingNumber::parse("4444-5555-6666").unwrap();
    drive(Cscart::write_back(&api, &(), &first)).unwrap();
    drive(Cscart::write_back(&api, &(), &second)).unwrap();
    let shipped = cs.shipments("2000");
    let held: Vec<(&str, &str, Vec<&String>)> = shipped
        .iter()
        .map(|s| {
            (
                s.shipping_id.as_str(),
                s.tracking_number.as_str(),
                s.products.keys().collect(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            ("5", "1111-2222-3333", vec![&"21".to_string()]),
            ("6", "4444-5555-6666", vec![&"22".to_string()]),
        ]
    );
    assert!(cs.violations().is_empty(), "{:?}", cs.violations());
    // Sent again (a retry): the cart's shipments confirm both, nothing new is created.
    drive(Cscart::write_back(&api, &(), &second)).unwrap();
    assert_eq!(cs.shipments("2000").len(), 2);
    assert!(cs.violations().is_empty(), "{:?}", cs.violations());
}
