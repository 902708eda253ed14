//! The fake BASE behaves as BASE documents: OAuth with rotation, paging, one-way dispatch.

mod common;

use std::time::Duration;

use common::call;
use mallsync_fake_carts::base::{
    FakeBase, ACCESS_TOKEN_LIFETIME, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI,
};
use mallsync_fake_carts::{Fault, OrderSeed, RateLimit};
use serde_json::json;

fn token_form<'a>(grant: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("redirect_uri", REDIRECT_URI),
    ];
    form.extend_from_slice(grant);
    form
}

fn seeded() -> (FakeBase, String) {
    let base = FakeBase::start();
    base.seed_order(
        &OrderSeed::new("ABC123", "2026-11-20T10:00:00+09:00")
            .item("101", "Tシャツ", 1, 1500)
            .item("102", "靴下", 2, 500),
    );
    let token = base.issue_tokens().access_token;
    (base, token)
}

fn dispatch(base: &FakeBase, token: &str, item: &str) -> common::Answer {
    call("POST", &format!("{}/1/orders/edit_status", base.url()))
        .bearer(token)
        .form(&[
            ("order_item_id", item),
            ("status", "dispatched"),
            ("delivery_company_id", "1"),
            ("tracking_number", "123456789012"),
        ])
        .send()
}

#[test]
fn an_authorization_code_is_exchanged_once_for_tokens() {
    let base = FakeBase::start();
    let code = base.authorization_code();
    let url = format!("{}/1/oauth/token", base.url());
    let form = token_form(&[("grant_type", "authorization_code"), ("code", &code)]);
    let first = call("POST", &url).form(&form).send();
    assert_eq!(first.status(), 200);
    assert_eq!(first.json()["expires_in"], 3600);
    assert!(first.json()["refresh_token"].is_string());
    let again = call("POST", &url).form(&form).send();
    assert_eq!(again.status(), 400);
    assert_eq!(again.json()["error"], "invalid_grant");
}

#[test]
fn authorize_redirects_back_with_a_code_and_the_state() {
    let base = FakeBase::start();
    let url = format!(
        "{}/1/oauth/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={}&scope=read_orders%20write_orders&state=xyz",
        base.url(),
        form_urlencoded::byte_serialize(REDIRECT_URI.as_bytes()).collect::<String>()
    );
    let answer = call("GET", &url).send();
    assert_eq!(answer.status(), 302);
    let location = answer.header("location").unwrap();
    assert!(location.starts_with(&format!("{REDIRECT_URI}?code=code-")));
    assert!(location.ends_with("&state=xyz"));
}

#[test]
fn a_refresh_rotates_the_refresh_token_and_refuses_the_old_one() {
    let base = FakeBase::start();
    let tokens = base.issue_tokens();
    let url = format!("{}/1/oauth/token", base.url());
    let refresh = |token: &str| {
        call("POST", &url)
            .form(&token_form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
            ]))
            .send()
    };
    let first = refresh(&tokens.refresh_token);
    assert_eq!(first.status(), 200);
    let new_refresh = first.json()["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, tokens.refresh_token);
    assert!(!base.is_refresh_token_valid(&tokens.refresh_token));
    let old = refresh(&tokens.refresh_token);
    assert_eq!(
        (old.status(), old.json()["error"].clone()),
        (400, json!("invalid_grant"))
    );
    assert_eq!(refresh(&new_refresh).status(), 200);
    // Provoked on purpose: read above, forgotten so the fake's drop does not fail the test.
    base.clear_violations();
}

#[test]
fn a_refresh_without_the_redirect_uri_is_refused() {
    let base = FakeBase::start();
    let tokens = base.issue_tokens();
    let answer = call("POST", &format!("{}/1/oauth/token", base.url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", &tokens.refresh_token),
        ])
        .send();
    assert_eq!(answer.status(), 400);
    assert!(base.is_refresh_token_valid(&tokens.refresh_token));
}

#[test]
fn access_tokens_expire_after_an_hour_or_when_forced() {
    let (base, token) = seeded();
    let orders = format!("{}/1/orders", base.url());
    assert_eq!(call("GET", &orders).bearer(&token).send().status(), 200);
    base.clock().advance(ACCESS_TOKEN_LIFETIME);
    let expired = call("GET", &orders).bearer(&token).send();
    assert_eq!(expired.status(), 400);
    assert_eq!(expired.json()["error"], "invalid_request");
    let fresh = base.issue_tokens().access_token;
    assert_eq!(call("GET", &orders).bearer(&fresh).send().status(), 200);
    base.expire_access_tokens();
    assert_eq!(call("GET", &orders).bearer(&fresh).send().status(), 400);
}

#[test]
fn orders_page_by_limit_and_offset_within_the_ordered_window() {
    let base = FakeBase::start();
    for day in 1..=5 {
        base.seed_order(&OrderSeed::new(
            &format!("K{day}"),
            &format!("2026-11-0{day}T12:00:00+09:00"),
        ));
    }
    let token = base.issue_tokens().access_token;
    let page = |query: &str| {
        let answer = call("GET", &format!("{}/1/orders?{query}", base.url()))
            .bearer(&token)
            .send();
        assert_eq!(answer.status(), 200);
        answer.json()["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["unique_key"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let window = "start_ordered=2026-11-02&end_ordered=2026-11-04%2023:59:59";
    assert_eq!(page(&format!("{window}&limit=2&offset=0")), ["K4", "K3"]);
    assert_eq!(page(&format!("{window}&limit=2&offset=2")), ["K2"]);
    assert_eq!(
        page(&format!("{window}&limit=2&offset=4")),
        Vec::<String>::new()
    );
    let too_many = call("GET", &format!("{}/1/orders?limit=101", base.url()))
        .bearer(&token)
        .send();
    assert_eq!(
        (too_many.status(), too_many.json()["error"].clone()),
        (400, json!("bad_params"))
    );
}

#[test]
fn order_detail_lists_the_items_and_delivery_companies_are_listed() {
    let (base, token) = seeded();
    let detail = call("GET", &format!("{}/1/orders/detail/ABC123", base.url()))
        .bearer(&token)
        .send();
    assert_eq!(detail.status(), 200);
    let items = detail.json()["order"]["order_items"].clone();
    assert_eq!(items[0]["order_item_id"], 101);
    assert_eq!(items[1]["status"], "ordered");
    let companies = call("GET", &format!("{}/1/delivery_companies", base.url()))
        .bearer(&token)
        .send();
    assert_eq!(
        companies.json()["delivery_companies"][0]["delivery_company_id"],
        1
    );
}

#[test]
fn dispatch_is_one_way_and_each_success_emails_the_buyer_once() {
    let (base, token) = seeded();
    let first = dispatch(&base, &token, "101");
    assert_eq!(first.status(), 200);
    assert_eq!(first.json()["order"]["tracking_number"], "123456789012");
    assert_eq!(
        base.item_status("ABC123", "101").as_deref(),
        Some("dispatched")
    );
    assert_eq!(base.order("ABC123").unwrap().dispatch_status, "ordered");
    assert_eq!(base.dispatch_emails_sent(), 1);

    let again = dispatch(&base, &token, "101");
    assert_eq!(
        (again.status(), again.json()["error"].clone()),
        (400, json!("not_change_status"))
    );
    assert_eq!(base.dispatch_emails_sent(), 1);

    assert_eq!(dispatch(&base, &token, "102").status(), 200);
    assert_eq!(base.order("ABC123").unwrap().dispatch_status, "dispatched");
    assert_eq!(base.dispatch_emails_sent(), 2);
}

#[test]
fn tracking_numbers_must_be_half_width_alphanumerics() {
    let (base, token) = seeded();
    let answer = call("POST", &format!("{}/1/orders/edit_status", base.url()))
        .bearer(&token)
        .form(&[
            ("order_item_id", "101"),
            ("status", "dispatched"),
            ("tracking_number", "1234-5678"),
        ])
        .send();
    assert_eq!(
        (answer.status(), answer.json()["error"].clone()),
        (400, json!("bad_params"))
    );
    assert_eq!(base.dispatch_emails_sent(), 0);
}

#[test]
fn only_cash_on_delivery_orders_can_be_cancelled() {
    let (base, token) = seeded();
    let cancel = |item: &str| {
        call("POST", &format!("{}/1/orders/edit_status", base.url()))
            .bearer(&token)
            .form(&[("order_item_id", item), ("status", "cancelled")])
            .send()
    };
    assert_eq!(cancel("101").json()["error"], "not_cancel_creditcard");
    base.set_payment("ABC123", "cod");
    assert_eq!(cancel("101").status(), 200);
    assert_eq!(
        base.item_status("ABC123", "101").as_deref(),
        Some("cancelled")
    );
}

#[test]
fn the_hourly_limit_is_a_400_hour_api_limit() {
    let (base, token) = seeded();
    base.set_rate_limit(Some(RateLimit::ClockAligned {
        per_hour: 2,
        per_day: 100_000,
    }));
    let orders = format!("{}/1/orders", base.url());
    for _ in 0..2 {
        assert_eq!(call("GET", &orders).bearer(&token).send().status(), 200);
    }
    let limited = call("GET", &orders).bearer(&token).send();
    assert_eq!(
        (limited.status(), limited.json()["error"].clone()),
        (400, json!("hour_api_limit"))
    );
    base.clock().advance(Duration::from_secs(3600));
    // The token expired with the hour too.
    let token = base.issue_tokens().access_token;
    assert_eq!(call("GET", &orders).bearer(&token).send().status(), 200);
    // Provoked on purpose: forgotten so the fake's drop does not fail the test.
    base.clear_violations();
}

#[test]
fn a_lost_response_still_dispatches_and_the_retry_is_refused() {
    let (base, token) = seeded();
    base.faults().on(
        "POST",
        "/1/orders/edit_status",
        1,
        Fault::StatusAfterApplying(503),
    );
    assert_eq!(dispatch(&base, &token, "101").status(), 503);
    assert_eq!(base.dispatch_emails_sent(), 1);
    assert_eq!(
        dispatch(&base, &token, "101").json()["error"],
        "not_change_status"
    );
    let statuses: Vec<u16> = base.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [503, 400]);
    assert_eq!(
        base.calls()[0].form_param("tracking_number").as_deref(),
        Some("123456789012")
    );
}
