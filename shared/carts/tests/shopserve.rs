//! ショップサーブ client: Basic auth, weekly search windows paged by from/size, the shipping update
//! (with tracking, ship date only), and the errors of each. The fixtures in
//! tests/fixtures/shopserve are written in the guessed names of `shopserve/wire.rs`.

mod support;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use mallsync_carts::shopserve::{
    build_order_search, build_order_update, check_response, orders, parse_order_search,
    weekly_windows, wire, Shopserve, Window,
};
use mallsync_carts::{drive, Api, CartError, Connector, ImportQuery, Request};
use mallsync_rules::shopserve::{ShopserveCredentials, ShopserveUpdate};
use mallsync_rules::{Carrier, OmsStatus, Secret, TrackingNumber};
use serde_json::Value;
use support::{header, json, response};

fn fixture(name: &str) -> String {
    String::from_utf8(support::fixture("shopserve", name)).expect("a UTF-8 fixture")
}

fn api() -> Api<ShopserveCredentials> {
    Shopserve::api(
        ShopserveCredentials {
            shop_id: "eat591.wc".into(),
            manager_key: Secret::new("manager-key"),
        },
        None,
    )
}

fn japan(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
    mallsync_rules::time::jst()
        .with_ymd_and_hms(y, m, d, h, min, s)
        .unwrap()
        .with_timezone(&Utc)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn golden(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).unwrap()
}

fn kind(e: &CartError) -> &'static str {
    match e {
        CartError::CredentialsRejected { .. } => "credentials",
        CartError::RateLimited { .. } => "rate",
        CartError::Transient { .. } => "transient",
        CartError::Rejected { .. } => "rejected",
        CartError::Malformed { .. } => "malformed",
        CartError::InvalidRequest { .. } => "invalid",
    }
}

fn import(from: DateTime<Utc>, to: DateTime<Utc>) -> ImportQuery {
    ImportQuery {
        from,
        to,
        cart_statuses: Vec::new(),
        option_price: false,
        target_status: OmsStatus::New,
    }
}

mod windows {
    use super::*;

    #[test]
    fn a_long_import_is_cut_into_windows_of_at_most_a_week_that_do_not_overlap() {
        let from = japan(2026, 11, 1, 0, 0, 0);
        let to = japan(2026, 11, 20, 12, 0, 0);
        let windows = weekly_windows(from, to);
        assert_eq!(windows.len(), 3);
        assert_eq!(windows[0].from, from);
        assert_eq!(windows[0].to, japan(2026, 11, 7, 23, 59, 59));
        assert_eq!(windows[1].from, japan(2026, 11, 8, 0, 0, 0));
        assert_eq!(windows[2].to, to);
        for w in &windows {
            assert!(w.to - w.from < Duration::days(7), "{w:?}");
            assert!(w.from <= w.to);
        }
        for pair in windows.windows(2) {
            assert_eq!(pair[1].from - pair[0].to, Duration::seconds(1));
        }
    }

    #[test]
    fn a_window_of_exactly_a_week_is_one_request_and_an_empty_range_is_none() {
        let from = japan(2026, 11, 1, 0, 0, 0);
        assert_eq!(
            weekly_windows(from, from + Duration::days(7) - Duration::seconds(1)).len(),
            1
        );
        assert_eq!(weekly_windows(from, from + Duration::days(7)).len(), 2);
        assert!(weekly_windows(from, from - Duration::seconds(1)).is_empty());
    }
}

mod search {
    use super::*;

    #[test]
    fn the_search_request_is_basic_auth_json_with_the_window_in_japan_time() {
        let window = Window {
            from: japan(2026, 11, 1, 0, 0, 0),
            to: japan(2026, 11, 7, 23, 59, 59),
        };
        let r = build_order_search(&api(), &window, &["新規受付".to_string()], 0).unwrap();
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(
            r.uri().to_string(),
            "https://management.api.shopserve.jp/v2/orders/_search"
        );
        // base64("eat591.wc:manager-key")
        assert_eq!(
            header(&r, "authorization"),
            Some("Basic ZWF0NTkxLndjOm1hbmFnZXIta2V5")
        );
        assert_eq!(header(&r, "content-type"), Some("application/json"));
        assert_eq!(json(&r), golden("order_search_request.json"));
    }

    #[test]
    fn every_week_is_searched_and_each_week_is_paged_to_its_total() {
        // Two weeks; the first has three orders over two pages, the second none.
        let q = import(japan(2026, 11, 1, 0, 0, 0), japan(2026, 11, 14, 23, 59, 59));
        let mut bodies = Vec::new();
        let orders = drive(Shopserve::list_orders(&api(), &q), |r| {
            let body = json(&r);
            bodies.push(body.clone());
            Ok(
                match (body["order_date_from"].as_str(), body["from"].as_u64()) {
                    (Some("2026-11-01 00:00:00"), Some(0)) => {
                        response(200, fixture("order_search_200.json"))
                    }
                    (Some("2026-11-01 00:00:00"), Some(2)) => {
                        response(200, fixture("order_search_200_last_page.json"))
                    }
                    (Some("2026-11-08 00:00:00"), Some(0)) => {
                        response(200, fixture("order_search_200_empty.json"))
                    }
                    other => panic!("unexpected search {other:?}"),
                },
            )
        })
        .unwrap();
        let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
        assert_eq!(ids, ["20261101001", "20261102001", "20261103001"]);
        assert_eq!(bodies.len(), 3);
        assert_eq!(bodies[2]["order_date_to"], "2026-11-14 23:59:59");
        assert!(bodies.iter().all(|b| b["size"] == 100));
        assert!(
            bodies.iter().all(|b| b.get("order_statuses").is_none()),
            "no status filter unless the store sets one"
        );
    }

    #[test]
    fn an_order_seen_in_two_pages_is_imported_once() {
        let q = import(japan(2026, 11, 1, 0, 0, 0), japan(2026, 11, 20, 0, 0, 0));
        let orders = drive(Shopserve::list_orders(&api(), &q), |_| {
            Ok(response(200, fixture("order_search_200_last_page.json")))
        })
        .unwrap();
        assert_eq!(orders.len(), 1);
    }

    #[test]
    fn an_empty_window_imports_nothing_without_a_call() {
        let from = japan(2026, 11, 2, 0, 0, 0);
        let q = import(from, from - Duration::days(1));
        let orders = drive(Shopserve::list_orders(&api(), &q), |_| {
            panic!("no call expected")
        })
        .unwrap();
        assert!(orders.is_empty());
    }

    #[test]
    fn orders_map_deliveries_items_tracking_and_the_requested_date() {
        let page = parse_order_search(&response(200, fixture("order_search_200.json"))).unwrap();
        assert_eq!(page.total, Some(3), "total_count may come as a string");
        let target = OmsStatus::Processing;
        let first = orders::to_order(&page.orders[0], &target).unwrap();
        assert_eq!(first.order_id, "20261101001", "numeric ids become text");
        assert_eq!(first.status, target);
        assert_eq!(first.ordered_at.to_rfc3339(), "2026-11-01T10:15:00+09:00");
        assert_eq!(first.requested_delivery_date, Some(date(2026, 11, 5)));
        assert_eq!(first.shipments.len(), 1);
        assert_eq!(first.items.len(), 2);
        assert_eq!(first.items[0].item_id, "A-28");
        assert_eq!(first.items[0].quantity, 2);
        assert_eq!(first.items[1].quantity, 1, "quantities may come as strings");
        assert!(first.tracking_numbers.is_empty());

        let second = orders::to_order(&page.orders[1], &target).unwrap();
        assert_eq!(second.ordered_at.to_rfc3339(), "2026-11-02T09:00:00+09:00");
        assert_eq!(second.shipments.len(), 2);
        assert_eq!(second.shipments[1].shipment_id, "2");
        assert_eq!(second.tracking_numbers[0].as_str(), "4321-0000-1111");
        assert_eq!(
            second.requested_delivery_date,
            Some(date(2026, 11, 6)),
            "the first delivery with a date"
        );
    }

    #[test]
    fn a_search_answer_in_another_shape_names_the_guessed_key() {
        let e = parse_order_search(&response(
            200,
            fixture("order_search_200_unknown_shape.json"),
        ))
        .unwrap_err();
        let CartError::Malformed { what } = e else {
            panic!("expected malformed, got {e:?}")
        };
        assert!(what.contains(wire::RESPONSE_ORDERS), "{what}");
        assert!(what.contains("shopserve/wire.rs"), "{what}");
    }

    #[test]
    fn an_order_without_a_date_is_malformed() {
        let e =
            orders::to_order(&serde_json::json!({"order_no": "1"}), &OmsStatus::New).unwrap_err();
        assert_eq!(kind(&e), "malformed");
    }

    #[test]
    fn search_errors_are_classified() {
        let unauthorized = fixture("error_401.json");
        let maintenance = fixture("error_503_maintenance.json");
        let bad = fixture("error_400.json");
        for (status, body, expected) in [
            (401, unauthorized.as_str(), "credentials"),
            (403, "{}", "credentials"),
            (429, "{}", "rate"),
            (503, maintenance.as_str(), "transient"),
            (400, maintenance.as_str(), "transient"),
            (500, "", "transient"),
            (400, bad.as_str(), "rejected"),
            (200, "<html>", "malformed"),
        ] {
            let q = import(japan(2026, 11, 1, 0, 0, 0), japan(2026, 11, 2, 0, 0, 0));
            let e = drive(Shopserve::list_orders(&api(), &q), |_| {
                Ok(response(status, body))
            })
            .unwrap_err();
            assert_eq!(kind(&e), expected, "HTTP {status} {body}");
        }
    }

    #[test]
    fn maintenance_is_read_from_the_message_not_from_order_data() {
        // An item called メンテナンスキット in a successful answer is not maintenance.
        assert!(check_response(&response(200, fixture("order_search_200.json"))).is_ok());
        let e = check_response(&response(200, fixture("error_503_maintenance.json"))).unwrap_err();
        assert!(e.is_retryable());
    }

    #[test]
    fn the_connection_test_is_a_one_order_search() {
        let mut seen = Vec::new();
        drive(Shopserve::connection_test(&api()), |r| {
            seen.push(r);
            Ok(response(200, fixture("order_search_200_empty.json")))
        })
        .unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].uri().path(), "/v2/orders/_search");
        assert_eq!(json(&seen[0])["size"], 1);
    }
}

mod update {
    use super::*;

    fn shipped() -> ShopserveUpdate {
        ShopserveUpdate {
            order_id: "20261101001".into(),
            mark_shipped: true,
            carrier: Some(Carrier::Yamato),
            tracking_number: Some(TrackingNumber::parse("1234-5678-9012").unwrap()),
            scheduled_ship_date: Some(date(2026, 11, 18)),
        }
    }

    fn ship_date_only() -> ShopserveUpdate {
        ShopserveUpdate {
            order_id: "20261101001".into(),
            mark_shipped: false,
            carrier: None,
            tracking_number: None,
            scheduled_ship_date: Some(date(2026, 11, 18)),
        }
    }

    fn run(
        update: &ShopserveUpdate,
        status: u16,
        body: &str,
    ) -> (Result<(), CartError>, Vec<Request>) {
        let mut seen = Vec::new();
        let api = api();
        let result = drive(
            Shopserve::write_back(&api, &Default::default(), update),
            |r| {
                seen.push(r);
                Ok(response(status, body))
            },
        );
        (result, seen)
    }

    #[test]
    fn a_shipped_order_sends_status_carrier_tracking_and_ship_date() {
        let (result, seen) = run(&shipped(), 200, &fixture("order_update_200.json"));
        result.unwrap();
        assert_eq!(seen.len(), 1);
        let r = &seen[0];
        assert_eq!(r.method(), wire::ORDER_SHIPPING_UPDATE_METHOD);
        assert_eq!(
            r.uri().to_string(),
            "https://management.api.shopserve.jp/v2/orders/20261101001/shipping"
        );
        assert_eq!(header(r, "content-type"), Some("application/json"));
        assert!(header(r, "authorization").unwrap().starts_with("Basic "));
        assert_eq!(json(r), golden("order_update_request_shipped.json"));
    }

    #[test]
    fn without_a_tracking_number_only_the_ship_date_is_sent() {
        let (result, seen) = run(&ship_date_only(), 200, "{}");
        result.unwrap();
        let body = json(&seen[0]);
        assert_eq!(body, golden("order_update_request_ship_date_only.json"));
        assert!(body.get(wire::UPDATE_SHIPPING_STATUS).is_none());
        assert!(body.get(wire::UPDATE_CARRIER).is_none());
    }

    #[test]
    fn a_tracking_number_without_the_shipped_mark_keeps_the_status() {
        let mut u = shipped();
        u.mark_shipped = false;
        let r = build_order_update(&api(), &u).unwrap();
        let body = json(&r);
        assert!(body.get(wire::UPDATE_SHIPPING_STATUS).is_none());
        assert_eq!(body[wire::UPDATE_SLIP_NUMBER], "1234-5678-9012");
    }

    #[test]
    fn contradictory_or_empty_updates_are_refused_before_sending() {
        let mut carrier_alone = ship_date_only();
        carrier_alone.carrier = Some(Carrier::Sagawa);
        let mut shipped_without_number = ship_date_only();
        shipped_without_number.mark_shipped = true;
        let mut nothing = ship_date_only();
        nothing.scheduled_ship_date = None;
        for u in [carrier_alone, shipped_without_number, nothing] {
            let e = build_order_update(&api(), &u).unwrap_err();
            assert_eq!(kind(&e), "invalid", "{u:?}");
        }
    }

    #[test]
    fn order_numbers_are_escaped_in_the_path() {
        let mut u = shipped();
        u.order_id = "A/1 2".into();
        let r = build_order_update(&api(), &u).unwrap();
        assert_eq!(r.uri().path(), "/v2/orders/A%2F1%202/shipping");
    }

    #[test]
    fn update_errors_are_classified() {
        let maintenance = fixture("error_503_maintenance.json");
        let bad = fixture("error_400.json");
        for (status, body, expected) in [
            (401, "{}", "credentials"),
            (429, "{}", "rate"),
            (503, maintenance.as_str(), "transient"),
            (502, "Bad Gateway", "transient"),
            (400, bad.as_str(), "rejected"),
            (404, "{}", "rejected"),
        ] {
            let (result, _) = run(&shipped(), status, body);
            let e = result.unwrap_err();
            assert_eq!(kind(&e), expected, "HTTP {status} {body}");
            if let CartError::Rejected { message, .. } = &e {
                if status == 400 {
                    assert!(
                        message.contains("お問合せ番号"),
                        "the cart's words reach the operator: {message}"
                    );
                }
            }
        }
    }
}

mod parsers_never_panic {
    use super::*;
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,30}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
        ]
    }

    proptest! {
        #[test]
        fn on_any_bytes(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let r = response(status, "").map(|_| body.clone());
            let _ = parse_order_search(&r);
            let _ = check_response(&r);
        }

        #[test]
        fn on_json_shaped_like_the_search(
            total in scalar(), no in scalar(), at in scalar(), dno in scalar(),
            ddate in scalar(), slip in scalar(), code in scalar(), qty in scalar(),
        ) {
            let body = serde_json::json!({
                "total_count": total,
                "orders": [{"order_no": no, "order_date": at, "deliveries": [
                    {"delivery_no": dno, "delivery_date": ddate, "slip_number": slip,
                     "items": [{"item_code": code, "quantity": qty}, qty]}]}, no]
            });
            if let Ok(page) = parse_order_search(&response(200, body.to_string())) {
                for o in &page.orders {
                    let _ = orders::to_order(o, &OmsStatus::New);
                }
            }
        }
    }
}
