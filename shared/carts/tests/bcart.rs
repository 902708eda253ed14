//! Bカート: listing orders with their 出荷 records, and the logistics PATCH.

mod support;

use chrono::{NaiveDate, TimeZone, Utc};
use mallsync_carts::bcart::{self, Bcart};
use mallsync_carts::{Api, CartError, Connector, ImportQuery};
use mallsync_rules::bcart::{BcartCredentials, BcartUpdate, LogisticsStatus};
use mallsync_rules::{OmsStatus, Secret, TrackingNumber};
use support::*;

fn api() -> Api<BcartCredentials> {
    Bcart::api(
        BcartCredentials {
            access_token: Secret::new("pat-123"),
        },
        None,
    )
}

fn query(statuses: &[&str]) -> ImportQuery {
    ImportQuery {
        // 2026-11-16 00:00 JST .. 2026-11-23 00:00 JST
        from: Utc.with_ymd_and_hms(2026, 11, 15, 15, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap(),
        cart_statuses: statuses.iter().map(|s| s.to_string()).collect(),
        option_price: false,
        target_status: OmsStatus::New,
    }
}

fn update(ship_date: Option<NaiveDate>) -> BcartUpdate {
    BcartUpdate {
        order_id: "1024".into(),
        logistics_id: "7001".into(),
        status: LogisticsStatus::Shipped,
        tracking_number: TrackingNumber::parse("123456789012").unwrap(),
        ship_date,
    }
}

#[test]
fn listing_asks_for_the_window_in_japan_time_with_embedded_products_and_logistics() {
    let (out, sent) = run(
        Bcart::list_orders(&api(), &query(&[])),
        vec![
            fixture_response("bcart", 200, "orders_200.json"),
            fixture_response("bcart", 200, "orders_200_last_page.json"),
        ],
    );
    assert_eq!(out.unwrap().len(), 3);
    let first = &sent[0];
    assert_eq!(first.method(), "GET");
    assert_eq!(first.uri().path(), "/api/v1/orders");
    assert_eq!(header(first, "authorization"), Some("Bearer pat-123"));
    let q = support::query(first);
    assert_eq!(param(&q, "ordered_at__gte"), Some("2026-11-16 00:00:00"));
    assert_eq!(param(&q, "ordered_at__lte"), Some("2026-11-22 23:59:59"));
    assert_eq!(param(&q, "limit"), Some("100"));
    assert_eq!(param(&q, "offset"), Some("0"));
    assert_eq!(param(&q, "complete"), Some("1"));
    assert_eq!(param(&q, "status"), None);
    // The first page held 2 of 3: the next page starts at offset 2.
    assert_eq!(param(&support::query(&sent[1]), "offset"), Some("2"));
}

#[test]
fn without_a_total_a_full_page_asks_for_more_and_an_empty_page_ends() {
    let full: Vec<serde_json::Value> = (0..100)
        .map(|i| serde_json::json!({"id": i, "ordered_at": "2026-11-20 10:00:00"}))
        .collect();
    let (out, sent) = run(
        Bcart::list_orders(&api(), &query(&[])),
        vec![
            response(
                200,
                serde_json::to_vec(&serde_json::json!({"orders": full})).unwrap(),
            ),
            response(200, br#"{"orders":[]}"#.to_vec()),
        ],
    );
    assert_eq!(out.unwrap().len(), 100);
    assert_eq!(param(&support::query(&sent[1]), "offset"), Some("100"));
}

#[test]
fn without_a_total_a_short_page_is_the_last() {
    let page = br#"{"orders":[{"id":1,"ordered_at":"2026-11-20 10:00:00"}]}"#.to_vec();
    let (out, sent) = run(
        Bcart::list_orders(&api(), &query(&[])),
        vec![response(200, page)],
    );
    assert_eq!(out.unwrap().len(), 1);
    assert_eq!(sent.len(), 1);
}

#[test]
fn each_requested_status_label_is_listed_in_turn() {
    let (out, sent) = run(
        Bcart::list_orders(&api(), &query(&["新規注文", "カスタム1"])),
        vec![
            fixture_response("bcart", 200, "orders_200_empty.json"),
            response(
                200,
                br#"{"orders":[{"id":3,"ordered_at":"2026-11-20 10:00:00"}],"meta":{"total":1}}"#
                    .to_vec(),
            ),
        ],
    );
    assert_eq!(out.unwrap().len(), 1);
    assert_eq!(param(&support::query(&sent[0]), "status"), Some("新規注文"));
    assert_eq!(
        param(&support::query(&sent[1]), "status"),
        Some("カスタム1")
    );
}

#[test]
fn an_order_maps_its_logistics_records_to_shipments_with_their_products() {
    let page =
        bcart::parse_orders_page(&fixture_response("bcart", 200, "orders_200.json")).unwrap();
    let orders = page.into_orders(&OmsStatus::New).unwrap();
    let o = &orders[0];
    assert_eq!(o.order_id, "1024");
    assert_eq!(o.status, OmsStatus::New);
    assert_eq!(o.ordered_at.to_rfc3339(), "2026-11-20T10:15:00+09:00");
    assert_eq!(o.ship_date, NaiveDate::from_ymd_opt(2026, 11, 21));
    assert_eq!(
        o.requested_delivery_date,
        NaiveDate::from_ymd_opt(2026, 11, 25)
    );
    assert_eq!(o.tracking_numbers.len(), 1);
    assert_eq!(o.tracking_numbers[0].as_str(), "123456789012");
    assert_eq!(o.shipments.len(), 2);
    assert_eq!(o.shipments[0].shipment_id, "7001");
    assert_eq!(o.shipments[0].items[0].item_id, "5001");
    assert_eq!(o.shipments[0].items[0].quantity, 6);
    assert_eq!(o.shipments[1].tracking_number, None);
    assert_eq!(o.shipments[1].items[0].item_id, "5002");
    // The shipping-fee line is not an item.
    assert_eq!(o.items.len(), 2);
    // Counts sent as strings and the zero date are read.
    assert_eq!(orders[1].items[0].quantity, 2);
    assert_eq!(orders[1].requested_delivery_date, None);
}

#[test]
fn imported_orders_get_the_target_status_not_the_carts_label() {
    let page =
        bcart::parse_orders_page(&fixture_response("bcart", 200, "orders_200.json")).unwrap();
    let target = OmsStatus::Custom("B2B取込".into());
    let orders = page.into_orders(&target).unwrap();
    assert!(orders.iter().all(|o| o.status == target));
}

#[test]
fn an_order_without_a_readable_order_date_is_malformed_naming_the_order() {
    let page = bcart::parse_orders_page(&response(
        200,
        br#"{"orders":[{"id":9,"ordered_at":"20/11/2026"}]}"#.to_vec(),
    ))
    .unwrap();
    let e = page.into_orders(&OmsStatus::New).unwrap_err();
    let CartError::Malformed { what } = e else {
        panic!("expected malformed")
    };
    assert!(
        what.contains("order 9") && what.contains("20/11/2026"),
        "{what}"
    );
}

#[test]
fn a_page_without_an_orders_list_is_malformed() {
    let e = bcart::parse_orders_page(&response(200, br#"{"order":[]}"#.to_vec())).unwrap_err();
    assert!(matches!(e, CartError::Malformed { .. }), "{e:?}");
}

#[test]
fn write_back_patches_the_logistics_record_with_the_golden_body() {
    let (out, sent) = run(
        Bcart::write_back(
            &api(),
            &Default::default(),
            &update(NaiveDate::from_ymd_opt(2026, 11, 21)),
        ),
        vec![fixture_response("bcart", 200, "logistics_patch_200.json")],
    );
    out.unwrap();
    let req = &sent[0];
    assert_eq!(req.method(), "PATCH");
    assert_eq!(
        req.uri().to_string(),
        "https://api.bcart.jp/api/v1/logistics/7001"
    );
    assert_eq!(header(req, "content-type"), Some("application/json"));
    let golden: serde_json::Value =
        serde_json::from_slice(&fixture("bcart", "write_back_request.json")).unwrap();
    assert_eq!(json(req), golden);
}

#[test]
fn write_back_without_a_ship_date_omits_the_field() {
    let mut u = update(None);
    u.status = LogisticsStatus::ShipInstructed;
    let req = bcart::build_logistics_patch(&api(), &u).unwrap();
    assert_eq!(
        json(&req),
        serde_json::json!({"delivery_code":"123456789012","status":"発送指示"})
    );
}

#[test]
fn a_refused_patch_carries_bcarts_message() {
    let e =
        bcart::parse_logistics_patch(&fixture_response("bcart", 400, "logistics_patch_400.json"))
            .unwrap_err();
    assert_eq!(
        e,
        CartError::Rejected {
            status: 400,
            code: None,
            message: "HTTP 400: status: 発送状況の値が不正です".into()
        }
    );
}

#[test]
fn the_lockout_after_too_many_requests_is_retried_after_retry_after() {
    let limited = http::Response::builder()
        .status(429)
        .header("Retry-After", "300")
        .body(Vec::new())
        .unwrap();
    let (out, _) = run(
        Bcart::write_back(&api(), &Default::default(), &update(None)),
        vec![limited],
    );
    let e = out.unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(300)));
}

#[test]
fn a_rejected_token_asks_for_new_credentials() {
    let (out, sent) = run(
        Bcart::connection_test(&api()),
        vec![fixture_response("bcart", 401, "orders_401.json")],
    );
    assert_eq!(param(&support::query(&sent[0]), "limit"), Some("1"));
    let e = out.unwrap_err();
    assert!(matches!(e, CartError::CredentialsRejected { .. }));
    assert!(e.to_string().contains("アクセストークンが無効です"));
}
