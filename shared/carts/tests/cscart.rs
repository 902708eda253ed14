//! CS-Cart: listing orders in a window and statuses, reading details, shipment + status C.

mod support;

use chrono::{NaiveDate, TimeZone, Utc};
use mallsync_carts::cscart::{self, Cscart};
use mallsync_carts::{Api, CartError, Connector, ImportQuery};
use mallsync_rules::cscart::{CscartCredentials, CscartShipment};
use mallsync_rules::{Carrier, Item, OmsStatus, Secret, TrackingNumber};
use support::*;

fn api() -> Api<CscartCredentials> {
    Cscart::api(
        CscartCredentials {
            store_url: "https://shop.example.jp/".into(),
            admin_email: "admin@example.jp".into(),
            api_key: Secret::new("key"),
        },
        None,
    )
}

fn query(statuses: &[&str]) -> ImportQuery {
    ImportQuery {
        from: Utc.with_ymd_and_hms(2026, 11, 15, 15, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap(),
        cart_statuses: statuses.iter().map(|s| s.to_string()).collect(),
        option_price: false,
        target_status: OmsStatus::New,
    }
}

fn shipment(shipping_id: Option<&str>) -> CscartShipment {
    CscartShipment {
        order_id: "105".into(),
        shipping_id: shipping_id.map(str::to_string),
        tracking_number: TrackingNumber::parse("1234-5678-9012").unwrap(),
        carrier: Some(Carrier::Yamato),
        ship_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        items: vec![Item {
            item_id: "3127414766".into(),
            quantity: 2,
        }],
        notify: Default::default(),
    }
}

fn golden(name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture("cscart", name)).unwrap()
}

#[test]
fn listing_sends_unix_seconds_with_period_c_and_every_status_then_reads_each_order() {
    let (out, sent) = run(
        Cscart::list_orders(&api(), &query(&["O", "P"])),
        vec![
            fixture_response("cscart", 200, "orders_200.json"),
            fixture_response("cscart", 200, "orders_detail_200.json"),
            fixture_response("cscart", 200, "orders_detail_200_two_groups.json"),
        ],
    );
    let orders = out.unwrap();
    let list = &sent[0];
    assert_eq!(list.uri().host(), Some("shop.example.jp"));
    assert_eq!(list.uri().path(), "/api/orders");
    assert_eq!(
        header(list, "authorization"),
        Some("Basic YWRtaW5AZXhhbXBsZS5qcDprZXk=")
    );
    let q = support::query(list);
    assert_eq!(param(&q, "period"), Some("C"));
    assert_eq!(param(&q, "time_from"), Some("1794754800"));
    assert_eq!(param(&q, "time_to"), Some("1795359599"));
    let statuses: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "status[]")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(statuses, ["O", "P"]);
    assert_eq!(param(&q, "page"), Some("1"));
    assert_eq!(param(&q, "items_per_page"), Some("100"));
    assert_eq!(sent[1].uri().path(), "/api/orders/105");
    assert_eq!(sent[2].uri().path(), "/api/orders/106");
    assert_eq!(orders.len(), 2);
}

#[test]
fn a_detail_maps_string_numbers_items_and_its_shipping_group() {
    let detail =
        cscart::parse_order_detail(&fixture_response("cscart", 200, "orders_detail_200.json"))
            .unwrap();
    let o = detail.into_order(&OmsStatus::New).unwrap();
    assert_eq!(o.order_id, "105");
    assert_eq!(o.status, OmsStatus::New);
    assert_eq!(o.ordered_at.to_rfc3339(), "2026-11-22T09:15:00+09:00");
    assert_eq!(o.items.len(), 2);
    assert_eq!(
        (o.items[0].item_id.as_str(), o.items[0].quantity),
        ("3127414766", 2)
    );
    assert_eq!(o.shipments.len(), 1);
    assert_eq!(o.shipments[0].shipment_id, "1");
    assert_eq!(o.shipments[0].items, o.items);
    assert_eq!(
        o.requested_delivery_date,
        NaiveDate::from_ymd_opt(2026, 11, 25)
    );
}

#[test]
fn with_two_shipping_groups_each_group_lists_its_own_items_and_unspecified_dates_are_none() {
    let detail = cscart::parse_order_detail(&fixture_response(
        "cscart",
        200,
        "orders_detail_200_two_groups.json",
    ))
    .unwrap();
    let o = detail.into_order(&OmsStatus::New).unwrap();
    let groups: Vec<(&str, Vec<(&str, u32)>)> = o
        .shipments
        .iter()
        .map(|s| {
            (
                s.shipment_id.as_str(),
                s.items
                    .iter()
                    .map(|i| (i.item_id.as_str(), i.quantity))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(groups, [("1", vec![("11", 1)]), ("4", vec![("12", 3)])]);
    assert_eq!(o.requested_delivery_date, None);
}

#[test]
fn with_two_shipping_groups_and_no_group_keys_no_group_claims_every_item() {
    let detail = r#"{"order_id":"105","timestamp":"1795306500",
        "products":{"11":{"item_id":"11","amount":"1"},"12":{"item_id":"12","amount":"3"}},
        "shipping":[{"shipping_id":"1"},{"shipping_id":"4"}]}"#;
    let detail = cscart::parse_order_detail(&response(200, detail.as_bytes().to_vec())).unwrap();
    let o = detail.into_order(&OmsStatus::New).unwrap();
    assert_eq!(o.shipments.len(), 2);
    assert!(o.shipments.iter().all(|s| s.items.is_empty()));
    assert_eq!(o.items.len(), 2);
}

#[test]
fn paging_stops_when_total_items_is_reached() {
    let full: Vec<serde_json::Value> = (0..100)
        .map(|i| serde_json::json!({"order_id": i.to_string()}))
        .collect();
    let page = |n: u32| {
        response(
            200,
            serde_json::to_vec(&serde_json::json!({
                "orders": full, "params": {"page": n.to_string(), "items_per_page": "100", "total_items": "200"}
            }))
            .unwrap(),
        )
    };
    // Two full pages of a 200-order total: the listing asks exactly twice, and the same 100 ids
    // on both pages are read once.
    let mut responses = vec![page(1), page(2)];
    responses.extend((0..100).map(|i| {
        response(
            200,
            format!(r#"{{"order_id":"{i}","timestamp":"1795306500"}}"#).into_bytes(),
        )
    }));
    let (out, sent) = run(Cscart::list_orders(&api(), &query(&[])), responses);
    assert_eq!(out.unwrap().len(), 100);
    assert_eq!(sent.len(), 2 + 100);
    assert_eq!(param(&support::query(&sent[1]), "page"), Some("2"));
}

#[test]
fn write_back_creates_the_golden_shipment_then_sets_status_c_and_nothing_else() {
    let (out, sent) = run(
        Cscart::write_back(&api(), &Default::default(), &shipment(Some("1"))),
        vec![
            fixture_response("cscart", 201, "shipments_201.json"),
            fixture_response("cscart", 200, "orders_put_200.json"),
        ],
    );
    out.unwrap();
    let create = &sent[0];
    assert_eq!(create.method(), "POST");
    assert_eq!(
        create.uri().to_string(),
        "https://shop.example.jp/api/shipments"
    );
    assert_eq!(header(create, "content-type"), Some("application/json"));
    assert_eq!(json(create), golden("write_back_request.json"));
    let status = &sent[1];
    assert_eq!(status.method(), "PUT");
    assert_eq!(status.uri().path(), "/api/orders/105");
    assert_eq!(header(status, "content-type"), Some("application/json"));
    assert_eq!(json(status), golden("status_request.json"));
}

#[test]
fn an_update_without_a_shipping_group_takes_the_orders_only_one() {
    let (out, sent) = run(
        Cscart::write_back(&api(), &Default::default(), &shipment(None)),
        vec![
            fixture_response("cscart", 200, "orders_detail_200.json"),
            fixture_response("cscart", 201, "shipments_201.json"),
            fixture_response("cscart", 200, "orders_put_200.json"),
        ],
    );
    out.unwrap();
    assert_eq!(sent[0].method(), "GET");
    assert_eq!(json(&sent[1])["shipping_id"], serde_json::json!(1));
}

#[test]
fn an_order_with_several_shipping_groups_needs_the_update_to_name_one() {
    let (out, sent) = run(
        Cscart::write_back(&api(), &Default::default(), &shipment(None)),
        vec![fixture_response(
            "cscart",
            200,
            "orders_detail_200_two_groups.json",
        )],
    );
    let e = out.unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("1, 4"), "{e}");
    assert_eq!(sent.len(), 1, "nothing written");
}

#[test]
fn an_already_shipped_order_with_the_same_tracking_only_gets_its_status() {
    let (out, sent) = run(
        Cscart::write_back(&api(), &Default::default(), &shipment(Some("1"))),
        vec![
            fixture_response("cscart", 400, "shipments_400_already_shipped.json"),
            fixture_response("cscart", 200, "shipments_200.json"),
            fixture_response("cscart", 200, "orders_put_200.json"),
        ],
    );
    out.unwrap();
    assert_eq!(sent[1].method(), "GET");
    assert_eq!(sent[1].uri().path(), "/api/shipments");
    assert_eq!(param(&support::query(&sent[1]), "order_id"), Some("105"));
    assert_eq!(sent[2].method(), "PUT");
    assert_eq!(sent[2].uri().path(), "/api/orders/105");
}

#[test]
fn a_changed_tracking_number_on_a_shipped_order_is_put_on_its_shipment() {
    let mut u = shipment(Some("1"));
    u.tracking_number = TrackingNumber::parse("9999-0000-1111").unwrap();
    let (out, sent) = run(
        Cscart::write_back(&api(), &Default::default(), &u),
        vec![
            fixture_response("cscart", 400, "shipments_400_already_shipped.json"),
            fixture_response("cscart", 200, "shipments_200.json"),
            fixture_response("cscart", 200, "shipments_put_200.json"),
            fixture_response("cscart", 200, "orders_put_200.json"),
        ],
    );
    out.unwrap();
    let fix = &sent[2];
    assert_eq!(fix.method(), "PUT");
    assert_eq!(fix.uri().path(), "/api/shipments/17");
    assert_eq!(
        json(fix),
        serde_json::json!({"tracking_number": "9999-0000-1111"}),
        "only the key CS-Cart accepts on a shipment update"
    );
    assert_eq!(sent[3].uri().path(), "/api/orders/105");
}

#[test]
fn a_refused_shipment_stops_before_the_status_change() {
    let (out, sent) = run(
        Cscart::write_back(&api(), &Default::default(), &shipment(Some("9"))),
        vec![fixture_response(
            "cscart",
            400,
            "shipments_400_bad_request.json",
        )],
    );
    let e = out.unwrap_err();
    assert!(
        e.to_string().contains("shipping_id parameter is invalid"),
        "{e}"
    );
    assert_eq!(sent.len(), 1);
}

#[test]
fn a_shipment_without_a_carrier_leaves_carrier_out_but_always_names_its_products() {
    let mut u = shipment(Some("1"));
    u.carrier = None;
    let products = [("3127414766".to_string(), 2)];
    let req = cscart::build_create_shipment(&api(), &u, "1", &products).unwrap();
    let body = json(&req);
    assert_eq!(body["products"], serde_json::json!({"3127414766": 2}));
    assert!(body.get("carrier").is_none());
    let e = cscart::build_create_shipment(&api(), &u, "1", &[]).unwrap_err();
    assert!(matches!(e, CartError::InvalidRequest { .. }), "{e:?}");
}

#[test]
fn an_update_without_items_takes_its_groups_products_from_the_carts_order() {
    let mut u = shipment(Some("4"));
    u.items.clear();
    let (out, sent) = run(
        Cscart::write_back(&api(), &Default::default(), &u),
        vec![
            fixture_response("cscart", 200, "orders_detail_200_two_groups.json"),
            fixture_response("cscart", 201, "shipments_201.json"),
            fixture_response("cscart", 200, "orders_put_200.json"),
        ],
    );
    out.unwrap();
    assert_eq!(sent[0].method(), "GET");
    assert_eq!(sent[0].uri().path(), "/api/orders/105");
    let create = json(&sent[1]);
    assert_eq!(create["shipping_id"], serde_json::json!(4));
    assert_eq!(
        create["products"],
        serde_json::json!({"12": 3}),
        "only group 4's product, by its group_key"
    );
}

#[test]
fn an_update_whose_groups_products_the_cart_cannot_tell_is_refused_before_writing() {
    let mut u = shipment(Some("4"));
    u.items.clear();
    let detail = r#"{"order_id":"105","timestamp":"1795306500",
        "products":{"11":{"item_id":"11","amount":"1"},"12":{"item_id":"12","amount":"3"}},
        "shipping":[{"shipping_id":"1"},{"shipping_id":"4"}]}"#;
    let (out, sent) = run(
        Cscart::write_back(&api(), &Default::default(), &u),
        vec![response(200, detail.as_bytes().to_vec())],
    );
    let e = out.unwrap_err();
    assert!(!e.is_retryable());
    assert!(
        matches!(&e, CartError::Rejected { code: Some(c), .. } if c == "shipment_products_unknown"),
        "{e:?}"
    );
    assert!(e.to_string().contains("group 4"), "{e}");
    assert_eq!(sent.len(), 1, "nothing written");
}

#[test]
fn a_bare_400_is_already_shipped_only_when_the_carts_shipments_confirm_it() {
    let other_group = r#"{"shipments":[{"shipment_id":"17","shipping_id":"1","tracking_number":"1234-5678-9012","products":{"11":"1"}}]}"#;
    let (out, sent) = run(
        Cscart::write_back(&api(), &Default::default(), &shipment(Some("4"))),
        vec![
            fixture_response("cscart", 400, "shipments_400_already_shipped.json"),
            response(200, other_group.as_bytes().to_vec()),
        ],
    );
    let e = out.unwrap_err();
    assert!(
        matches!(&e, CartError::Rejected { code: Some(c), .. } if c == "shipment_not_held"),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    let text = e.to_string();
    assert!(
        text.contains("1234-5678-9012") && text.contains("伝票番号"),
        "{text}"
    );
    assert_eq!(sent.len(), 2, "no status change: the order is not set to C");
}

#[test]
fn wrong_credentials_are_rejected_credentials() {
    let (out, _) = run(
        Cscart::connection_test(&api()),
        vec![fixture_response("cscart", 401, "orders_401.json")],
    );
    assert!(matches!(
        out.unwrap_err(),
        CartError::CredentialsRejected { .. }
    ));
}
