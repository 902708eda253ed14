//! BASE: OAuth, listing then reading orders, per-item dispatch with the carrier's BASE id.

mod support;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use mallsync_carts::base::{self, Base};
use mallsync_carts::{AccessToken, Api, CartError, Connector, ImportQuery};
use mallsync_rules::base::{BaseCredentials, BaseDispatch};
use mallsync_rules::{Carrier, OmsStatus, Secret, TrackingNumber};
use support::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

fn credentials() -> BaseCredentials {
    BaseCredentials {
        client_id: "cid".into(),
        client_secret: Secret::new("csecret"),
        redirect_uri: "https://mallsync.example.jp/oauth/base/callback".into(),
    }
}

fn token(expires_in_secs: i64) -> AccessToken {
    AccessToken {
        token: Secret::new("access-1"),
        expires_at: Some(now() + Duration::seconds(expires_in_secs)),
        refresh_token: Some(Secret::new("refresh-1")),
        refresh_expires_at: Some(now() + Duration::days(20)),
    }
}

fn api() -> Api<BaseCredentials> {
    Base::api(credentials(), Some(token(3600)))
}

fn dispatch(carrier: Option<Carrier>) -> BaseDispatch {
    BaseDispatch {
        order_id: "8A2C3E1F0B9D4C7A".into(),
        order_item_id: "41001".into(),
        tracking_number: TrackingNumber::parse("1234-5678-9012").unwrap(),
        carrier,
        ship_date: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
    }
}

fn limited(name: &str, date: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(400)
        .header("Date", date)
        .body(fixture("base", name))
        .unwrap()
}

#[test]
fn the_authorize_url_asks_for_order_scopes_and_carries_the_state() {
    let url = base::authorize_url(&api(), "st-42", &base::SCOPES);
    let uri: http::Uri = url.parse().unwrap();
    assert_eq!(uri.host(), Some("api.thebase.in"));
    assert_eq!(uri.path(), "/1/oauth/authorize");
    let q = form(uri.query().unwrap().as_bytes());
    assert_eq!(param(&q, "response_type"), Some("code"));
    assert_eq!(param(&q, "client_id"), Some("cid"));
    assert_eq!(
        param(&q, "redirect_uri"),
        Some("https://mallsync.example.jp/oauth/base/callback")
    );
    assert_eq!(param(&q, "scope"), Some("read_orders write_orders"));
    assert_eq!(param(&q, "state"), Some("st-42"));
}

#[test]
fn the_code_exchange_posts_the_form_with_the_redirect_uri() {
    let req = base::build_code_exchange(&api(), "code-9").unwrap();
    assert_eq!(req.method(), "POST");
    assert_eq!(
        req.uri().to_string(),
        "https://api.thebase.in/1/oauth/token"
    );
    assert_eq!(
        header(&req, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let f = form(req.body());
    assert_eq!(param(&f, "grant_type"), Some("authorization_code"));
    assert_eq!(param(&f, "code"), Some("code-9"));
    assert_eq!(param(&f, "client_secret"), Some("csecret"));
    assert!(param(&f, "redirect_uri").is_some());
    assert_eq!(header(&req, "authorization"), None);
}

#[test]
fn a_fresh_token_needs_no_refresh() {
    assert!(Base::token_request(&api(), now()).unwrap().is_none());
}

#[test]
fn a_token_expiring_within_five_minutes_is_refreshed_with_the_refresh_token() {
    let api = Base::api(credentials(), Some(token(299)));
    let req = Base::token_request(&api, now())
        .unwrap()
        .expect("a refresh");
    let f = form(req.body());
    assert_eq!(param(&f, "grant_type"), Some("refresh_token"));
    assert_eq!(param(&f, "refresh_token"), Some("refresh-1"));
    assert!(param(&f, "redirect_uri").is_some());
}

#[test]
fn without_a_token_or_a_live_refresh_token_the_operator_must_connect() {
    let never = Base::api(credentials(), None);
    assert!(matches!(
        Base::token_request(&never, now()),
        Err(CartError::CredentialsRejected { .. })
    ));
    let mut stale = token(-10);
    stale.refresh_expires_at = Some(now() - Duration::seconds(1));
    let stale = Base::api(credentials(), Some(stale));
    let e = Base::token_request(&stale, now()).unwrap_err();
    assert!(matches!(e, CartError::CredentialsRejected { .. }));
    assert!(e.to_string().contains("30 days"), "{e}");
}

#[test]
fn a_token_response_sets_expiry_from_expires_in_and_rotates_the_refresh_token() {
    let t = Base::parse_token(fixture_response("base", 200, "token_200.json"), now()).unwrap();
    assert_eq!(t.token.expose(), "2b5bd9c3f0e8a1d7c6b4a3e2f1d0c9b8");
    assert_eq!(t.expires_at, Some(now() + Duration::seconds(3600)));
    assert_eq!(
        t.refresh_token.as_ref().map(Secret::expose),
        Some("9f8e7d6c5b4a39281706f5e4d3c2b1a0")
    );
    assert_eq!(t.refresh_expires_at, Some(now() + Duration::days(30)));
}

#[test]
fn a_refused_refresh_token_means_reconnecting() {
    let e = Base::parse_token(fixture_response("base", 400, "token_400.json"), now()).unwrap_err();
    assert!(matches!(e, CartError::CredentialsRejected { .. }), "{e:?}");
}

#[test]
fn listing_reads_each_order_after_the_list() {
    let (out, sent) = run(
        Base::list_orders(
            &api(),
            &ImportQuery {
                from: Utc.with_ymd_and_hms(2026, 11, 15, 15, 0, 0).unwrap(),
                to: Utc.with_ymd_and_hms(2026, 11, 22, 15, 0, 0).unwrap(),
                cart_statuses: vec![],
                option_price: false,
                target_status: OmsStatus::New,
            },
        ),
        vec![
            fixture_response("base", 200, "orders_200.json"),
            fixture_response("base", 200, "orders_detail_200.json"),
            fixture_response("base", 200, "orders_detail_200_dispatched.json"),
        ],
    );
    let orders = out.unwrap();
    let q = support::query(&sent[0]);
    assert_eq!(sent[0].uri().path(), "/1/orders");
    assert_eq!(param(&q, "start_ordered"), Some("2026-11-16 00:00:00"));
    assert_eq!(param(&q, "end_ordered"), Some("2026-11-22 23:59:59"));
    assert_eq!(param(&q, "limit"), Some("100"));
    assert_eq!(header(&sent[0], "authorization"), Some("Bearer access-1"));
    assert_eq!(sent[1].uri().path(), "/1/orders/detail/8A2C3E1F0B9D4C7A");
    assert_eq!(sent[2].uri().path(), "/1/orders/detail/1F3D5B7A9C0E2B4D");

    let o = &orders[0];
    assert_eq!(o.order_id, "8A2C3E1F0B9D4C7A");
    assert_eq!(o.status, OmsStatus::New);
    assert_eq!(o.ordered_at.to_rfc3339(), "2025-11-21T10:55:00+09:00");
    assert_eq!(
        o.requested_delivery_date,
        NaiveDate::from_ymd_opt(2025, 11, 25)
    );
    assert_eq!(o.items.len(), 2);
    assert_eq!(
        (o.items[0].item_id.as_str(), o.items[0].quantity),
        ("41001", 2)
    );
    assert!(o.tracking_numbers.is_empty());
    let d = &orders[1];
    assert_eq!(d.tracking_numbers[0].as_str(), "4455-6677-8899");
    assert_eq!(d.ship_date, NaiveDate::from_ymd_opt(2025, 11, 22));
}

#[test]
fn dispatch_reads_the_order_looks_up_the_carrier_and_posts_the_golden_form() {
    let (out, sent) = run(
        Base::write_back(
            &api(),
            &Default::default(),
            &dispatch(Some(Carrier::Yamato)),
        ),
        vec![
            fixture_response("base", 200, "orders_detail_200.json"),
            fixture_response("base", 200, "delivery_companies_200.json"),
            fixture_response("base", 200, "edit_status_200.json"),
        ],
    );
    out.unwrap();
    assert_eq!(sent[0].uri().path(), "/1/orders/detail/8A2C3E1F0B9D4C7A");
    assert_eq!(sent[1].uri().path(), "/1/delivery_companies");
    let edit = &sent[2];
    assert_eq!(edit.method(), "POST");
    assert_eq!(edit.uri().path(), "/1/orders/edit_status");
    assert_eq!(
        header(edit, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let sent_form: serde_json::Map<String, serde_json::Value> = form(edit.body())
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let golden: serde_json::Value =
        serde_json::from_slice(&fixture("base", "write_back_request.json")).unwrap();
    assert_eq!(serde_json::Value::Object(sent_form), golden);
}

#[test]
fn dispatch_without_a_carrier_skips_the_lookup_and_the_company_id() {
    let (out, sent) = run(
        Base::write_back(&api(), &Default::default(), &dispatch(None)),
        vec![
            fixture_response("base", 200, "orders_detail_200.json"),
            fixture_response("base", 200, "edit_status_200.json"),
        ],
    );
    out.unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(param(&form(sent[1].body()), "delivery_company_id"), None);
}

#[test]
fn an_item_already_dispatched_is_success_without_sending_again() {
    let mut u = dispatch(Some(Carrier::Sagawa));
    u.order_id = "1F3D5B7A9C0E2B4D".into();
    u.order_item_id = "42001".into();
    u.tracking_number = TrackingNumber::parse("445566778899").unwrap();
    let (out, sent) = run(
        Base::write_back(&api(), &Default::default(), &u),
        vec![fixture_response(
            "base",
            200,
            "orders_detail_200_dispatched.json",
        )],
    );
    out.unwrap();
    assert_eq!(sent.len(), 1, "only the read");
}

#[test]
fn an_item_dispatched_by_hand_with_another_number_is_refused_naming_both() {
    let mut u = dispatch(Some(Carrier::Sagawa));
    u.order_id = "1F3D5B7A9C0E2B4D".into();
    u.order_item_id = "42001".into();
    let (out, sent) = run(
        Base::write_back(&api(), &Default::default(), &u),
        vec![fixture_response(
            "base",
            200,
            "orders_detail_200_dispatched.json",
        )],
    );
    let e = out.unwrap_err();
    assert!(!e.is_retryable());
    let text = e.to_string();
    assert!(
        text.contains("445566778899") && text.contains("123456789012"),
        "{text}"
    );
    assert_eq!(sent.len(), 1);
}

#[test]
fn an_item_not_in_the_order_is_refused_before_dispatching() {
    let mut u = dispatch(None);
    u.order_item_id = "99999".into();
    let (out, sent) = run(
        Base::write_back(&api(), &Default::default(), &u),
        vec![fixture_response("base", 200, "orders_detail_200.json")],
    );
    assert!(matches!(out.unwrap_err(), CartError::Rejected { .. }));
    assert_eq!(sent.len(), 1);
}

#[test]
fn a_carrier_base_does_not_list_is_refused_before_dispatching() {
    let (out, sent) = run(
        Base::write_back(
            &api(),
            &Default::default(),
            &dispatch(Some(Carrier::Fukuyama)),
        ),
        vec![
            fixture_response("base", 200, "orders_detail_200.json"),
            fixture_response("base", 200, "delivery_companies_200.json"),
        ],
    );
    let e = out.unwrap_err();
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("福山通運"), "{e}");
    assert_eq!(sent.len(), 2, "nothing dispatched");
}

#[test]
fn a_status_base_will_not_change_is_a_rejection_with_its_code() {
    let (out, _) = run(
        Base::write_back(&api(), &Default::default(), &dispatch(None)),
        vec![
            fixture_response("base", 200, "orders_detail_200.json"),
            fixture_response("base", 400, "edit_status_400.json"),
        ],
    );
    let e = out.unwrap_err();
    assert!(matches!(
        &e,
        CartError::Rejected { status: 400, code: Some(c), .. } if c == "not_change_status"
    ));
    assert!(!e.is_retryable());
}

#[test]
fn the_hourly_limit_is_retried_at_the_next_hour() {
    let (out, _) = run(
        Base::connection_test(&api()),
        vec![limited(
            "orders_400_hour_api_limit.json",
            "Mon, 23 Nov 2026 03:41:00 GMT",
        )],
    );
    let e = out.unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(
        e.retry_after(),
        Some(std::time::Duration::from_secs(19 * 60))
    );
}

#[test]
fn the_daily_limit_is_retried_after_midnight_in_japan() {
    // 14:00 UTC = 23:00 JST: one hour to midnight.
    let (out, _) = run(
        Base::connection_test(&api()),
        vec![limited(
            "orders_400_day_api_limit.json",
            "Mon, 23 Nov 2026 14:00:00 GMT",
        )],
    );
    assert_eq!(
        out.unwrap_err().retry_after(),
        Some(std::time::Duration::from_secs(3600))
    );
}

#[test]
fn an_invalid_token_asks_for_new_credentials() {
    let (out, _) = run(
        Base::connection_test(&api()),
        vec![fixture_response("base", 401, "orders_401.json")],
    );
    assert!(matches!(
        out.unwrap_err(),
        CartError::CredentialsRejected { .. }
    ));
}

fn atobarai_detail(dispatch_status: &str) -> http::Response<Vec<u8>> {
    let mut detail: serde_json::Value =
        serde_json::from_slice(&fixture("base", "orders_detail_200.json")).unwrap();
    detail["order"]["payment"] = "atobarai".into();
    detail["order"]["dispatch_status"] = dispatch_status.into();
    response(200, serde_json::to_vec(&detail).unwrap())
}

#[test]
fn an_atobarai_order_is_set_to_shipping_with_its_carrier_instead_of_dispatched() {
    let (out, sent) = run(
        Base::write_back(
            &api(),
            &Default::default(),
            &dispatch(Some(Carrier::Sagawa)),
        ),
        vec![
            atobarai_detail("ordered"),
            fixture_response("base", 200, "delivery_companies_200.json"),
            fixture_response("base", 200, "edit_status_200.json"),
        ],
    );
    out.unwrap();
    let f = form(sent[2].body());
    assert_eq!(param(&f, "atobarai_status"), Some("shipping"));
    assert_eq!(param(&f, "status"), None);
    assert_eq!(param(&f, "delivery_company_id"), Some("2"));
}

#[test]
fn an_atobarai_order_already_shipping_is_not_sent_again() {
    let mut detail: serde_json::Value =
        serde_json::from_slice(atobarai_detail("shipping").body()).unwrap();
    detail["order"]["tracking_number"] = "123456789012".into();
    let (out, sent) = run(
        Base::write_back(
            &api(),
            &Default::default(),
            &dispatch(Some(Carrier::Sagawa)),
        ),
        vec![response(200, serde_json::to_vec(&detail).unwrap())],
    );
    out.unwrap();
    assert_eq!(sent.len(), 1);
}

#[test]
fn an_atobarai_order_without_a_carrier_is_refused_before_sending() {
    let (out, sent) = run(
        Base::write_back(&api(), &Default::default(), &dispatch(None)),
        vec![atobarai_detail("ordered")],
    );
    let e = out.unwrap_err();
    assert!(e.to_string().contains("後払い"), "{e}");
    assert_eq!(sent.len(), 1);
}

#[test]
fn a_run_reuses_the_delivery_companies_it_looked_up() {
    let (out, sent) = run(
        base::dispatch_reusing(api(), dispatch(Some(Carrier::Yamato)), None),
        vec![
            fixture_response("base", 200, "orders_detail_200.json"),
            fixture_response("base", 200, "delivery_companies_200.json"),
            fixture_response("base", 200, "edit_status_200.json"),
        ],
    );
    let companies = out.unwrap().expect("the looked-up list");
    assert_eq!(sent.len(), 3);
    let mut second = dispatch(Some(Carrier::Yamato));
    second.order_item_id = "41002".into();
    let (out, sent) = run(
        base::dispatch_reusing(api(), second, Some(companies)),
        vec![
            fixture_response("base", 200, "orders_detail_200.json"),
            fixture_response("base", 200, "edit_status_200.json"),
        ],
    );
    out.unwrap();
    assert_eq!(sent.len(), 2, "no second lookup");
    assert_eq!(
        param(&form(sent[1].body()), "delivery_company_id"),
        Some("1")
    );
}

#[test]
fn an_expired_token_is_a_400_invalid_request_that_means_the_credentials() {
    let (out, _) = run(
        Base::connection_test(&api()),
        vec![fixture_response(
            "base",
            400,
            "orders_400_invalid_token.json",
        )],
    );
    assert!(matches!(
        out.unwrap_err(),
        CartError::CredentialsRejected { .. }
    ));
    // The same code about something else stays a rejection.
    let (out, _) = run(
        Base::connection_test(&api()),
        vec![fixture_response(
            "base",
            400,
            "orders_400_invalid_request.json",
        )],
    );
    assert!(matches!(out.unwrap_err(), CartError::Rejected { .. }));
}

#[test]
fn an_absurd_token_lifetime_is_malformed_not_a_panic() {
    for expires_in in ["-9223372036854775808", "9223372036854775807", "0"] {
        let body =
            format!(r#"{{"access_token":"a","expires_in":{expires_in},"refresh_token":"r"}}"#);
        let e = Base::parse_token(response(200, body.into_bytes()), now()).unwrap_err();
        assert!(
            matches!(e, CartError::Malformed { .. }),
            "{expires_in}: {e:?}"
        );
    }
}
