//! futureshop client: token, order search with `nextUrl` paging, 発送API batches, 処理済 step, and
//! the errors of each, against fixtures in tests/fixtures/futureshop.

mod support;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use mallsync_carts::futureshop::{
    auth, build_order_complete, build_shipping_status, orders, parse_write_result, write_back,
    Futureshop, HEADER_SHOP_KEY,
};
use mallsync_carts::{
    drive, AccessToken, Api, CartError, Connector, Exchange, ImportQuery, Request, Response, Step,
    TransportError,
};
use mallsync_rules::futureshop::{
    FutureshopCredentials, FutureshopShipment, FutureshopUpdate, MAX_ORDERS_PER_BATCH,
};
use mallsync_rules::{OmsStatus, Secret, TrackingNumber};
use serde_json::Value;
use support::{header, json, query, response};

const BASE: &str = "https://api.shop.example.jp";

fn fixture(name: &str) -> String {
    String::from_utf8(support::fixture("futureshop", name)).expect("a UTF-8 fixture")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

fn credentials() -> FutureshopCredentials {
    FutureshopCredentials {
        shop_key: "shop-key-1".into(),
        client_id: "client".into(),
        client_secret: Secret::new("secret"),
        api_base_url: BASE.into(),
    }
}

fn api() -> Api<FutureshopCredentials> {
    Futureshop::api(
        credentials(),
        Some(AccessToken {
            token: Secret::new("fs-access-token-1"),
            expires_at: Some(now() + chrono::Duration::hours(1)),
            refresh_token: None,
            refresh_expires_at: None,
        }),
    )
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

fn update(order_id: &str, shipments: Vec<FutureshopShipment>) -> FutureshopUpdate {
    FutureshopUpdate::Ship {
        order_id: order_id.into(),
        shipments,
    }
}

fn complete(order_id: &str) -> FutureshopUpdate {
    FutureshopUpdate::Complete {
        order_id: order_id.into(),
    }
}

fn shipment(no: u32, tracking: Option<&str>, arrival: Option<NaiveDate>) -> FutureshopShipment {
    FutureshopShipment {
        shipment_no: no,
        ship_date: date(2026, 11, 18),
        tracking_number: tracking.map(|t| TrackingNumber::parse(t).unwrap()),
        expected_arrival: arrival,
    }
}

fn import(cart_statuses: &[&str]) -> ImportQuery {
    ImportQuery {
        from: Utc.with_ymd_and_hms(2026, 11, 12, 15, 0, 0).unwrap(),
        to: Utc.with_ymd_and_hms(2026, 11, 22, 14, 59, 59).unwrap(),
        cart_statuses: cart_statuses.iter().map(|s| s.to_string()).collect(),
        option_price: false,
        target_status: OmsStatus::New,
    }
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

mod token {
    use super::*;

    #[test]
    fn the_token_request_is_basic_client_credentials_with_the_shop_key() {
        let api = Futureshop::api(credentials(), None);
        let r = Futureshop::token_request(&api, now())
            .unwrap()
            .expect("a token request");
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(r.uri().to_string(), format!("{BASE}/oauth/token"));
        // base64("client:secret")
        assert_eq!(
            header(&r, "authorization"),
            Some("Basic Y2xpZW50OnNlY3JldA==")
        );
        assert_eq!(header(&r, HEADER_SHOP_KEY), Some("shop-key-1"));
        assert_eq!(
            header(&r, "content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(r.body(), b"grant_type=client_credentials");
    }

    #[test]
    fn a_fresh_token_needs_no_new_request_and_an_expiring_one_does() {
        assert!(Futureshop::token_request(&api(), now()).unwrap().is_none());
        let mut expiring = api();
        if let Some(t) = expiring.access_token.as_mut() {
            t.expires_at = Some(now() + chrono::Duration::seconds(60));
        }
        assert!(Futureshop::token_request(&expiring, now())
            .unwrap()
            .is_some());
    }

    #[test]
    fn the_token_expires_after_expires_in_seconds() {
        let t = Futureshop::parse_token(response(200, fixture("token_200.json")), now()).unwrap();
        assert_eq!(t.token.expose(), "fs-access-token-1");
        assert_eq!(t.expires_at, Some(now() + chrono::Duration::seconds(3600)));
        assert!(t.refresh_token.is_none());
    }

    #[test]
    fn wrong_client_credentials_ask_the_operator_to_fix_them() {
        for status in [400, 401] {
            let e = Futureshop::parse_token(response(status, fixture("token_401.json")), now())
                .unwrap_err();
            assert_eq!(kind(&e), "credentials", "{status}: {e:?}");
            assert!(!e.is_retryable());
        }
    }

    #[test]
    fn a_token_answer_without_expiry_or_token_is_malformed() {
        for body in [
            r#"{"access_token":"x"}"#,
            r#"{"access_token":"","expires_in":3600}"#,
            r#"{"access_token":"x","expires_in":0}"#,
            r#"{"access_token":"x","expires_in":9223372036854775807}"#,
        ] {
            let e = Futureshop::parse_token(response(200, body), now()).unwrap_err();
            assert_eq!(kind(&e), "malformed", "{body}: {e:?}");
        }
    }

    #[test]
    fn data_calls_without_a_token_fail_before_sending() {
        let api = Futureshop::api(credentials(), None);
        assert!(auth::needs_token(&api, now()));
        let e = drive(Futureshop::list_orders(&api, &import(&[])), |_| {
            panic!("nothing may be sent without a token")
        })
        .unwrap_err();
        assert_eq!(kind(&e), "credentials");
    }
}

mod search {
    use super::*;

    /// Serves the two search pages (the second one when a cursor is given); records each request.
    fn serve_pages(
        seen: &mut Vec<Request>,
    ) -> impl FnMut(Request) -> Result<Response, TransportError> + '_ {
        move |r: Request| {
            let cursor = query(&r).iter().any(|(k, _)| k == "cursor");
            seen.push(r);
            Ok(if cursor {
                response(200, fixture("shipping_search_200_last_page.json"))
            } else {
                response(200, fixture("shipping_search_200.json"))
            })
        }
    }

    #[test]
    fn the_search_follows_next_url_to_the_last_page_keeping_the_filters() {
        let mut seen = Vec::new();
        let orders = drive(
            Futureshop::list_orders(&api(), &import(&["notShipped"])),
            serve_pages(&mut seen),
        )
        .unwrap();
        let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
        assert_eq!(ids, ["100000001190", "100000002505", "100000003522"]);
        assert_eq!(seen.len(), 2);

        let first = &seen[0];
        assert_eq!(first.method(), http::Method::GET);
        assert_eq!(first.uri().path(), "/admin-api/v1/shipping");
        assert_eq!(
            header(first, "authorization"),
            Some("Bearer fs-access-token-1")
        );
        assert_eq!(header(first, HEADER_SHOP_KEY), Some("shop-key-1"));
        // The window in Japan time: 2026-11-13 00:00:00 to 2026-11-22 23:59:59 JST.
        assert_eq!(
            query(first),
            [
                pair("orderDateStart", "2026-11-13T00:00:00"),
                pair("orderDateEnd", "2026-11-22T23:59:59"),
                pair("shippingStatus", "notShipped"),
            ]
        );

        let second = &seen[1];
        assert_eq!(second.uri().host(), Some("api.shop.example.jp"));
        assert_eq!(second.uri().path(), "/admin-api/v1/shipping");
        let pairs = query(second);
        assert!(
            pairs.contains(&pair("cursor", "c2Vjb25kLXBhZ2U")),
            "{pairs:?}"
        );
        assert!(
            pairs.contains(&pair("shippingStatus", "notShipped")),
            "{pairs:?}"
        );
        assert!(pairs.contains(&pair("orderDateStart", "2026-11-13T00:00:00")));
        assert_eq!(header(second, HEADER_SHOP_KEY), Some("shop-key-1"));
        assert_eq!(
            header(second, "authorization"),
            Some("Bearer fs-access-token-1")
        );
    }

    #[test]
    fn orders_map_shipments_items_and_the_requested_delivery_date() {
        let page = orders::parse_shipping_page(&response(200, fixture("shipping_search_200.json")))
            .unwrap();
        assert_eq!(
            page.next_url.as_deref(),
            Some("/admin-api/v1/shipping?cursor=c2Vjb25kLXBhZ2U")
        );
        let orders = page
            .into_orders(&orders::StatusFilters::default(), &OmsStatus::Processing)
            .unwrap();

        let first = &orders[0];
        assert_eq!(
            first.status,
            OmsStatus::Processing,
            "imports get the store's target status"
        );
        assert_eq!(first.ordered_at.to_rfc3339(), "2026-11-16T17:28:35+09:00");
        assert_eq!(first.requested_delivery_date, Some(date(2026, 11, 20)));
        assert_eq!(first.shipments.len(), 2);
        assert_eq!(first.shipments[1].shipment_id, "2");
        assert_eq!(first.shipments[1].items[0].item_id, "gd3sgray");
        assert_eq!(first.shipments[1].items[0].quantity, 2);
        assert_eq!(first.items.len(), 2);
        assert!(
            first.tracking_numbers.is_empty(),
            "an empty invoiceNo is no tracking number"
        );
        assert_eq!(first.ship_date, None);

        let shipped = &orders[1];
        assert_eq!(shipped.tracking_numbers[0].as_str(), "123456789012");
        assert_eq!(
            shipped.shipments[0]
                .tracking_number
                .as_ref()
                .unwrap()
                .as_str(),
            "123456789012"
        );
        assert_eq!(shipped.ship_date, Some(date(2026, 11, 18)));
        assert_eq!(shipped.requested_delivery_date, None);
    }

    #[test]
    fn order_numbers_and_counts_are_read_as_numbers_or_strings() {
        let body = r#"{"orderList":[{"orderNo":100000009999,"date":"2026-11-20T08:00:00",
            "shipmentList":[{"shipmentNo":1,"productList":[{"skuNo":"a","price":10,"count":"3"},
                                                          {"skuNo":"b","price":10}]}]}]}"#;
        let page = orders::parse_shipping_page(&response(200, body)).unwrap();
        let order = page
            .into_orders(&orders::StatusFilters::default(), &OmsStatus::New)
            .unwrap()
            .remove(0);
        assert_eq!(order.order_id, "100000009999");
        assert_eq!(order.items[0].quantity, 3);
        assert_eq!(order.items[1].quantity, 1, "a line without a count is one");
    }

    #[test]
    fn option_prices_are_added_to_the_unit_price_only_when_the_store_says_so() {
        let page = orders::parse_shipping_page(&response(200, fixture("shipping_search_200.json")))
            .unwrap();
        let clock = &page.orders[0].shipment_list[0].product_list[0];
        assert_eq!(clock.unit_price(false), 3000);
        assert_eq!(clock.unit_price(true), 3110);
        let bare: orders::ProductJson = serde_json::from_str(
            r#"{"skuNo":"x","price":100,"count":1,"optionPriceList":[20,{"price":5}]}"#,
        )
        .unwrap();
        assert_eq!(bare.unit_price(true), 125);
    }

    #[test]
    fn statuses_the_search_cannot_filter_are_filtered_after_each_page() {
        let mut seen = Vec::new();
        let orders = drive(
            Futureshop::list_orders(&api(), &import(&["COMPLETED"])),
            serve_pages(&mut seen),
        )
        .unwrap();
        let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
        assert_eq!(ids, ["100000002505"]);
        assert!(query(&seen[0]).iter().all(|(k, _)| k != "shippingStatus"));
    }

    #[test]
    fn asking_for_both_shipping_statuses_sends_no_shipping_filter() {
        let f = orders::StatusFilters::from_cart_statuses(&[
            "notShipped".into(),
            "shipped".into(),
            "received".into(),
        ]);
        assert_eq!(f.shipping_status, None);
        assert_eq!(f.payment_status.as_deref(), Some("received"));
        assert!(f.order_statuses.is_empty());
    }

    #[test]
    fn a_next_url_on_another_host_is_refused_so_the_token_stays_home() {
        let e = orders::build_next_page(
            &api(),
            "https://evil.example.com/admin-api/v1/shipping?cursor=x",
            &[],
        )
        .unwrap_err();
        assert_eq!(kind(&e), "malformed", "{e:?}");
        let same_host = orders::build_next_page(
            &api(),
            &format!("{BASE}/admin-api/v1/shipping?cursor=x"),
            &[],
        )
        .unwrap();
        assert_eq!(same_host.uri().query(), Some("cursor=x"));
    }

    #[test]
    fn a_next_url_pointing_at_the_same_page_ends_with_an_error_not_a_loop() {
        let body = r#"{"orderList":[],"nextUrl":"/admin-api/v1/shipping?cursor=same"}"#;
        let e = drive(Futureshop::list_orders(&api(), &import(&[])), |_| {
            Ok(response(200, body))
        })
        .unwrap_err();
        assert_eq!(kind(&e), "malformed", "{e:?}");
    }

    #[test]
    fn search_errors_are_classified() {
        let too_many_requests = fixture("error_429.json");
        let cases = [
            (401, "{}", "credentials"),
            (403, "{}", "credentials"),
            (429, too_many_requests.as_str(), "rate"),
            (503, "Service Unavailable", "transient"),
            (
                400,
                r#"{"status":"failed","errors":[{"code":"InvalidParameter","path":"orderDateStart","message":"x"}]}"#,
                "rejected",
            ),
            (200, r#"{"orderList":[{"orderNo":"1"}]}"#, "malformed"),
            (200, "<html>", "malformed"),
        ];
        for (status, body, expected) in cases {
            let e = drive(Futureshop::list_orders(&api(), &import(&[])), |_| {
                Ok(response(status, body))
            })
            .unwrap_err();
            assert_eq!(kind(&e), expected, "HTTP {status} {body}");
        }
    }

    #[test]
    fn a_rate_limit_answer_is_retryable_after_retry_after() {
        let r = http::Response::builder()
            .status(429)
            .header("Retry-After", "2")
            .body(fixture("error_429.json").into_bytes())
            .unwrap();
        let e = drive(Futureshop::list_orders(&api(), &import(&[])), move |_| {
            Ok(r.clone())
        })
        .unwrap_err();
        assert!(e.is_retryable());
        assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(2)));
    }

    #[test]
    fn the_connection_test_is_one_unfiltered_search() {
        let mut seen = Vec::new();
        drive(Futureshop::connection_test(&api()), |r| {
            seen.push(r);
            Ok(response(200, fixture("shipping_search_200_last_page.json")))
        })
        .unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].uri().path(), "/admin-api/v1/shipping");
        assert_eq!(seen[0].uri().query(), None);
    }
}

mod shipping_status {
    use super::*;

    fn golden(name: &str) -> Value {
        serde_json::from_str(&fixture(name)).unwrap()
    }

    fn with_tracking() -> FutureshopUpdate {
        update(
            "100000020732",
            vec![
                shipment(1, Some("123456789012"), Some(date(2026, 11, 20))),
                shipment(2, Some("123456789013"), None),
            ],
        )
    }

    /// Drives a write-back, answering each call with the next (status, body); returns the requests.
    fn run(
        update: &FutureshopUpdate,
        answers: &[(u16, &str)],
    ) -> (Result<(), CartError>, Vec<Request>) {
        let mut seen = Vec::new();
        let mut answers = answers.iter();
        let result = drive(Futureshop::write_back(&api(), &(), update), |r| {
            seen.push(r);
            let (status, body) = answers.next().expect("no more calls expected");
            Ok(response(*status, *body))
        });
        (result, seen)
    }

    #[test]
    fn a_shipment_with_tracking_and_expected_arrival_matches_the_golden_body() {
        let (result, seen) = run(
            &with_tracking(),
            &[(200, &fixture("shipping_status_200.json"))],
        );
        result.unwrap();
        assert_eq!(
            seen.len(),
            1,
            "the shipping data alone: 処理済 is its own update"
        );
        let r = &seen[0];
        assert_eq!(r.method(), http::Method::POST);
        assert_eq!(
            r.uri().to_string(),
            format!("{BASE}/admin-api/v1/shipping/status")
        );
        assert_eq!(header(r, "content-type"), Some("application/json"));
        assert_eq!(header(r, "authorization"), Some("Bearer fs-access-token-1"));
        assert_eq!(header(r, HEADER_SHOP_KEY), Some("shop-key-1"));
        assert_eq!(
            json(r),
            golden("shipping_status_request_with_tracking.json")
        );
    }

    #[test]
    fn fields_without_a_value_are_left_out_never_sent_empty() {
        let u = update("100000020733", vec![shipment(1, None, None)]);
        let (result, seen) = run(&u, &[(200, &fixture("shipping_status_200.json"))]);
        result.unwrap();
        assert_eq!(
            json(&seen[0]),
            golden("shipping_status_request_ship_date_only.json")
        );
        assert!(!String::from_utf8_lossy(seen[0].body()).contains("\"\""));
    }

    #[test]
    fn the_processed_step_reads_the_order_then_completes_it_alone() {
        let (result, seen) = run(
            &complete("100000020732"),
            &[
                (200, &fixture("order_detail_200_shipped.json")),
                (200, &fixture("order_complete_200.json")),
            ],
        );
        result.unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].method(), http::Method::GET);
        assert_eq!(seen[0].uri().path(), "/admin-api/v1/orders/100000020732");
        assert_eq!(seen[1].method(), http::Method::POST);
        assert_eq!(seen[1].uri().path(), "/admin-api/v1/order/complete");
        assert_eq!(header(&seen[1], HEADER_SHOP_KEY), Some("shop-key-1"));
        assert_eq!(json(&seen[1]), golden("order_complete_request.json"));
        assert!(
            seen.iter()
                .all(|r| r.uri().path() != "/admin-api/v1/shipping/status"),
            "a 処理済 retry never resends the shipping data"
        );
    }

    #[test]
    fn an_order_futureshop_shows_cancelled_is_never_completed() {
        let (result, seen) = run(
            &complete("100000020732"),
            &[(200, &fixture("order_detail_200_cancelled.json"))],
        );
        assert_eq!(seen.len(), 1, "only the read: no 処理済 call");
        match result.unwrap_err() {
            e @ CartError::Rejected { .. } => {
                assert!(!e.is_retryable());
                let text = e.to_string();
                assert!(
                    text.contains("キャンセル") && text.contains("cancelled"),
                    "{text}"
                );
                assert!(text.contains("100000020732"), "{text}");
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn an_order_already_completed_is_done_without_a_call() {
        let done =
            fixture("order_detail_200_shipped.json").replace("AWAITING_PAYMENT", "COMPLETED");
        let (result, seen) = run(&complete("100000020732"), &[(200, &done)]);
        result.unwrap();
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn an_order_whose_shipping_data_is_not_in_is_not_completed_yet() {
        let (result, seen) = run(
            &complete("100000020732"),
            &[(200, &fixture("order_detail_200_not_shipped.json"))],
        );
        assert_eq!(seen.len(), 1);
        assert!(matches!(
            result.unwrap_err(),
            CartError::Rejected { code: Some(c), .. } if c == "not_shipped"
        ));
    }

    #[test]
    fn a_refused_complete_step_is_reported() {
        let refused = r#"{"status":"failed","errors":[],"results":[{"status":"failed","orderNo":"100000020732","code":"InvalidStatus","message":"x"}]}"#;
        let (result, seen) = run(
            &complete("100000020732"),
            &[
                (200, &fixture("order_detail_200_shipped.json")),
                (200, refused),
            ],
        );
        assert_eq!(seen.len(), 2);
        assert!(matches!(
            result.unwrap_err(),
            CartError::Rejected { code: Some(c), .. } if c == "InvalidStatus"
        ));
    }

    #[test]
    fn a_store_pickup_order_is_refused_with_futureshops_code() {
        let (result, seen) = run(
            &with_tracking(),
            &[(200, &fixture("shipping_status_200_store_pickup.json"))],
        );
        let e = result.unwrap_err();
        assert_eq!(seen.len(), 1);
        match e {
            CartError::Rejected { code, message, .. } => {
                assert_eq!(code.as_deref(), Some(write_back::ERROR_STORE_PICKUP));
                assert!(message.contains("店舗受取"), "{message}");
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn the_batch_builder_sends_up_to_one_hundred_orders_and_refuses_more() {
        let batch: Vec<FutureshopUpdate> = (0..MAX_ORDERS_PER_BATCH)
            .map(|i| update(&format!("1000{i:08}"), vec![shipment(1, None, None)]))
            .collect();
        let refs: Vec<&FutureshopUpdate> = batch.iter().collect();
        let r = build_shipping_status(&api(), &refs).unwrap();
        assert_eq!(json(&r)["orderList"].as_array().unwrap().len(), 100);

        let overflow = update("overflow", vec![shipment(1, None, None)]);
        let mut too_many = refs.clone();
        too_many.push(&overflow);
        let e = build_shipping_status(&api(), &too_many).unwrap_err();
        assert_eq!(kind(&e), "invalid", "{e:?}");
        assert!(build_shipping_status(&api(), &[]).is_err());
        assert!(build_order_complete(&api(), &[]).is_err());
    }

    #[test]
    fn the_processed_step_never_travels_in_a_shipping_batch() {
        assert!(!Futureshop::batches(&complete("1")));
        assert!(Futureshop::batches(&update(
            "1",
            vec![shipment(1, None, None)]
        )));
        assert_eq!(Futureshop::MAX_BATCH, 100);
        let ship = update("1", vec![shipment(1, None, None)]);
        let done = complete("2");
        let e = build_shipping_status(&api(), &[&ship, &done]).unwrap_err();
        assert_eq!(kind(&e), "invalid", "{e:?}");
    }

    /// One result per update, or the batch's own error.
    type BatchResults = Result<Vec<Result<(), CartError>>, CartError>;

    /// Drives a batch, answering its one call with `body`; returns the results and the requests.
    fn run_batch(
        updates: &[&FutureshopUpdate],
        status: u16,
        body: &str,
    ) -> (BatchResults, Vec<Request>) {
        let mut seen = Vec::new();
        let api = api();
        let result = drive(Futureshop::write_back_batch(&api, &(), updates), |r| {
            seen.push(r);
            Ok(response(status, body))
        });
        (result, seen)
    }

    #[test]
    fn a_batch_ships_every_order_in_one_call_with_one_result_per_order_in_order() {
        let updates = [
            update("1", vec![shipment(1, Some("111"), None)]),
            update("2", vec![shipment(1, Some("222"), None)]),
            update("3", vec![shipment(1, Some("333"), None)]),
        ];
        let refs: Vec<&FutureshopUpdate> = updates.iter().collect();
        let pickup = r#"{"status":"failed","errors":[],"results":[
            {"status":"success","orderNo":"1"},
            {"status":"failed","orderNo":"2","code":"CannotUpdateStorePickup","message":"店舗受取"},
            {"status":"success","orderNo":"3"}]}"#;
        let (results, seen) = run_batch(&refs, 200, pickup);
        let results = results.unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].uri().path(), "/admin-api/v1/shipping/status");
        assert_eq!(json(&seen[0])["orderList"].as_array().unwrap().len(), 3);
        assert_eq!(results.len(), 3);
        assert!(results[0].is_ok());
        assert!(matches!(
            &results[1],
            Err(CartError::Rejected { code: Some(c), .. }) if c == "CannotUpdateStorePickup"
        ));
        assert!(results[2].is_ok());
    }

    #[test]
    fn a_batch_refused_as_a_whole_is_an_error_of_the_exchange() {
        let u = update("1", vec![shipment(1, None, None)]);
        let (result, seen) = run_batch(&[&u], 429, &fixture("error_429.json"));
        assert_eq!(seen.len(), 1);
        assert!(result.unwrap_err().is_retryable());
    }

    #[test]
    fn an_order_without_shipments_is_refused_before_sending() {
        let e = build_shipping_status(&api(), &[&update("1", vec![])]).unwrap_err();
        assert_eq!(kind(&e), "invalid");
    }

    #[test]
    fn too_many_from_futureshop_is_a_rejection_not_a_retry() {
        for status in [200, 400] {
            let e = parse_write_result(&response(
                status,
                fixture("shipping_status_400_too_many.json"),
            ))
            .unwrap_err();
            match &e {
                CartError::Rejected { code, .. } => {
                    assert_eq!(code.as_deref(), Some(write_back::ERROR_TOO_MANY))
                }
                other => panic!("HTTP {status}: expected a rejection, got {other:?}"),
            }
            assert!(!e.is_retryable());
        }
    }

    #[test]
    fn a_batch_answer_gives_one_outcome_per_order() {
        let body = r#"{"status":"failed","errors":[],"results":[
            {"status":"success","orderNo":"1","code":"","message":""},
            {"status":"failed","orderNo":"2","code":"CannotUpdateStorePickup","message":"店舗受取"}]}"#;
        let outcomes = parse_write_result(&response(200, body)).unwrap();
        assert_eq!(outcomes.len(), 2);
        assert_eq!(outcomes[0].order_no, "1");
        assert!(outcomes[0].result.is_ok());
        assert!(matches!(
            &outcomes[1].result,
            Err(CartError::Rejected { code: Some(c), .. }) if c == "CannotUpdateStorePickup"
        ));
    }

    #[test]
    fn write_errors_are_classified() {
        for (status, expected) in [
            (401, "credentials"),
            (429, "rate"),
            (500, "transient"),
            (502, "transient"),
            (404, "rejected"),
        ] {
            let (result, _) = run(&with_tracking(), &[(status, "{}")]);
            assert_eq!(kind(&result.unwrap_err()), expected, "HTTP {status}");
        }
        let (result, _) = run(&with_tracking(), &[(200, "not json")]);
        assert_eq!(kind(&result.unwrap_err()), "malformed");
        let (result, _) = run(&with_tracking(), &[(200, r#"{"status":"failed"}"#)]);
        assert_eq!(kind(&result.unwrap_err()), "rejected");
    }

    #[test]
    fn write_back_before_a_token_fails_without_sending() {
        let api = Futureshop::api(credentials(), None);
        let update = with_tracking();
        let mut x = Futureshop::write_back(&api, &(), &update);
        assert!(matches!(
            x.step(None),
            Err(CartError::CredentialsRejected { .. })
        ));
    }

    #[test]
    fn the_exchange_yields_one_call_then_finishes() {
        let (api, update) = (api(), with_tracking());
        let mut x = Futureshop::write_back(&api, &(), &update);
        assert!(matches!(x.step(None), Ok(Step::Send(_))));
        assert!(matches!(
            x.step(Some(response(200, fixture("shipping_status_200.json")))),
            Ok(Step::Done(()))
        ));
    }
}

mod parsers_never_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn on_any_bytes(status in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let r = response(status, "").map(|_| body.clone());
            let _ = orders::parse_shipping_page(&r);
            let _ = parse_write_result(&r);
            let _ = Futureshop::parse_token(r.clone(), now());
        }

        #[test]
        fn on_json_shaped_like_the_search(
            order_no in "\\PC{0,12}",
            date in "\\PC{0,25}",
            shipment_no in any::<i64>(),
            price in any::<i64>(),
            option in any::<i64>(),
            next in proptest::option::of("\\PC{0,40}"),
        ) {
            let body = serde_json::json!({
                "orderList": [{"orderNo": order_no, "date": date, "status": "X",
                  "shipmentList": [{"shipmentNo": shipment_no,
                    "shippingInfo": {"invoiceNo": date, "preferredDeliveryDate": date, "shippingDate": date},
                    "productList": [{"skuNo": "a", "price": price, "count": 1,
                                     "optionPriceList": [option, {"price": option}]}]}]}],
                "nextUrl": next,
            });
            let r = response(200, body.to_string());
            if let Ok(page) = orders::parse_shipping_page(&r) {
                for o in &page.orders {
                    for s in &o.shipment_list {
                        for p in &s.product_list {
                            let _ = p.unit_price(true);
                        }
                    }
                }
                let _ = page.clone().into_orders(&orders::StatusFilters::default(), &OmsStatus::New);
                if let Some(next) = page.next_url {
                    let _ = orders::build_next_page(&api(), &next, &[("orderDateStart", "x".to_string())]);
                }
            }
        }
    }
}
