//! Every fake counts what the real cart would punish: over its rate limit (with the real numbers),
//! during a lockout, a reused BASE refresh token, a buyer e-mail sent twice, 処理済 on a cancelled
//! futureshop order, a CS-Cart shipment that names no products.

mod common;

use std::time::Duration;

use common::call;
use mallsync_fake_carts::base::{FakeBase, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI};
use mallsync_fake_carts::bcart::{FakeBcart, ACCESS_TOKEN};
use mallsync_fake_carts::cscart::{FakeCscart, ADMIN_EMAIL, API_KEY};
use mallsync_fake_carts::futureshop::{FakeFutureshop, SHOP_KEY};
use mallsync_fake_carts::shopserve::{FakeShopserve, MANAGER_KEY, SHOP_ID};
use mallsync_fake_carts::{OrderSeed, ViolationKind};
use serde_json::json;

fn kinds<C: mallsync_fake_carts::Cart>(
    fake: &mallsync_fake_carts::FakeServer<C>,
) -> Vec<ViolationKind> {
    fake.violations().iter().map(|v| v.kind).collect()
}

fn bcart_get(bcart: &FakeBcart) -> u16 {
    call("GET", &format!("{}/orders?limit=1", bcart.api_base_url()))
        .bearer(ACCESS_TOKEN)
        .send()
        .status()
}

#[test]
fn bcart_the_301st_request_in_any_300_seconds_is_a_violation_and_so_is_every_request_in_the_lockout(
) {
    let bcart = FakeBcart::start();
    // 150 requests, 200 s later 150 more: 300 within the window, none over.
    for _ in 0..150 {
        assert_eq!(bcart_get(&bcart), 200);
    }
    bcart.clock().advance(Duration::from_secs(200));
    for _ in 0..150 {
        assert_eq!(bcart_get(&bcart), 200);
    }
    assert!(bcart.violations().is_empty());
    // 250 s after the first burst it is still inside a 300 s interval with the second: a fixed
    // window from the first request would have reset at 300 s, a sliding one has not.
    bcart.clock().advance(Duration::from_secs(50));
    assert_eq!(bcart_get(&bcart), 429);
    assert_eq!(kinds(&bcart), vec![ViolationKind::OverRateLimit]);
    bcart.clock().advance(Duration::from_secs(100));
    assert_eq!(bcart_get(&bcart), 429);
    assert_eq!(
        kinds(&bcart),
        vec![ViolationKind::OverRateLimit, ViolationKind::DuringLockout]
    );
    bcart.clock().advance(Duration::from_secs(200));
    assert_eq!(bcart_get(&bcart), 200);
    assert_eq!(bcart.violations().len(), 2);
    // Provoked on purpose: forgotten so the fake's drop does not fail the test.
    bcart.clear_violations();
}

#[test]
fn bcart_300_requests_paced_over_300_seconds_are_no_violation() {
    let bcart = FakeBcart::start();
    for _ in 0..600 {
        assert_eq!(bcart_get(&bcart), 200);
        bcart.clock().advance(Duration::from_secs(1));
    }
    assert!(bcart.violations().is_empty(), "{:?}", bcart.violations());
}

fn base_get(base: &FakeBase, token: &str) -> common::Answer {
    call(
        "GET",
        &format!("{}/delivery_companies", base.api_base_url()),
    )
    .bearer(token)
    .send()
}

#[test]
fn base_the_5001st_request_in_a_clock_hour_is_a_400_hour_api_limit_violation() {
    let base = FakeBase::start();
    // Move to just after the top of an hour so the test's 5,001 requests share one clock hour.
    let now = base.clock().now();
    let into_hour = chrono::Timelike::minute(&now) * 60 + chrono::Timelike::second(&now);
    base.clock()
        .advance(Duration::from_secs(u64::from(3600 - into_hour + 1)));
    let token = base.issue_tokens().access_token;
    for _ in 0..5_000 {
        assert_eq!(base_get(&base, &token).status(), 200);
    }
    assert!(base.violations().is_empty());
    let over = base_get(&base, &token);
    assert_eq!(
        (over.status(), over.json()["error"].clone()),
        (400, json!("hour_api_limit"))
    );
    assert_eq!(kinds(&base), vec![ViolationKind::OverRateLimit]);
    // The counter resets at :00, not an hour after the first request.
    base.clock().advance(Duration::from_secs(3600));
    assert_eq!(
        base_get(&base, &base.issue_tokens().access_token).status(),
        200
    );
    assert_eq!(base.violations().len(), 1);
    // Provoked on purpose: read above, forgotten so the fake's drop does not fail the test.
    base.clear_violations();
}

#[test]
fn base_a_refresh_token_used_twice_is_invalid_grant_and_a_violation() {
    let base = FakeBase::start();
    let refresh = base.issue_tokens().refresh_token;
    let url = format!("{}/oauth/token", base.api_base_url());
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("redirect_uri", REDIRECT_URI),
        ("refresh_token", refresh.as_str()),
    ];
    assert_eq!(call("POST", &url).form(&form).send().status(), 200);
    assert!(base.violations().is_empty());
    let again = call("POST", &url).form(&form).send();
    assert_eq!(
        (again.status(), again.json()["error"].clone()),
        (400, json!("invalid_grant"))
    );
    assert_eq!(kinds(&base), vec![ViolationKind::RefreshTokenReused]);
    // Provoked on purpose: read above, forgotten so the fake's drop does not fail the test.
    base.clear_violations();
}

#[test]
fn base_dispatching_each_item_once_sends_one_mail_each_and_no_violation() {
    let base = FakeBase::start();
    base.seed_order(
        &OrderSeed::new("A1", "2026-11-20T10:00:00+09:00")
            .item("11", "Tシャツ", 1, 1500)
            .item("12", "靴下", 1, 500),
    );
    let token = base.issue_tokens().access_token;
    for item in ["11", "12", "11"] {
        call(
            "POST",
            &format!("{}/orders/edit_status", base.api_base_url()),
        )
        .bearer(&token)
        .form(&[
            ("order_item_id", item),
            ("status", "dispatched"),
            ("tracking_number", "123456789012"),
        ])
        .send();
    }
    // The repeat is refused (not_change_status): BASE's state keeps the buyer from a second mail.
    assert_eq!(base.dispatch_emails_sent(), 2);
    assert!(base.violations().is_empty(), "{:?}", base.violations());
}

fn fs_get(fs: &FakeFutureshop, token: &str) -> u16 {
    call("GET", &format!("{}/admin-api/v1/shipping", fs.url()))
        .bearer(token)
        .header("X-SHOP-KEY", SHOP_KEY)
        .send()
        .status()
}

#[test]
fn futureshop_two_requests_less_than_a_second_apart_are_a_429_violation() {
    let fs = FakeFutureshop::start();
    let token = fs.issue_token();
    assert_eq!(fs_get(&fs, &token), 200);
    // Half a second later (the fake's clock also runs with the real one, so not 999 ms).
    fs.clock().advance(Duration::from_millis(500));
    assert_eq!(fs_get(&fs, &token), 429);
    assert_eq!(kinds(&fs), vec![ViolationKind::OverRateLimit]);
    fs.clock().advance(Duration::from_millis(1001));
    assert_eq!(fs_get(&fs, &token), 200);
    assert_eq!(fs.violations().len(), 1);
    // Provoked on purpose: read above, forgotten so the fake's drop does not fail the test.
    fs.clear_violations();
}

#[test]
fn futureshop_a_token_request_counts_against_the_one_a_second_limit() {
    let fs = FakeFutureshop::start();
    let token = fs.issue_token();
    assert_eq!(fs_get(&fs, &token), 200);
    let answer = call("POST", &format!("{}/oauth/token", fs.url()))
        .basic(
            mallsync_fake_carts::futureshop::CLIENT_ID,
            mallsync_fake_carts::futureshop::CLIENT_SECRET,
        )
        .header("X-SHOP-KEY", SHOP_KEY)
        .form(&[("grant_type", "client_credentials")])
        .send();
    assert_eq!(answer.status(), 429);
    assert_eq!(kinds(&fs), vec![ViolationKind::OverRateLimit]);
    // Provoked on purpose: read above, forgotten so the fake's drop does not fail the test.
    fs.clear_violations();
}

#[test]
fn futureshop_completing_an_order_the_cart_shows_cancelled_is_a_violation() {
    let fs = FakeFutureshop::start();
    fs.seed_order(
        &OrderSeed::new("100001", "2026-11-20T10:00:00+09:00").item("SKU-A", "帽子", 1, 2000),
    );
    fs.seed_order(
        &OrderSeed::new("100002", "2026-11-20T10:00:00+09:00").item("SKU-A", "帽子", 1, 2000),
    );
    fs.set_status("100002", "CANCELLED");
    let token = fs.issue_token();
    call("POST", &format!("{}/admin-api/v1/order/complete", fs.url()))
        .bearer(&token)
        .header("X-SHOP-KEY", SHOP_KEY)
        .json(&json!({"orderList": [{"orderNo": "100001"}, {"orderNo": "100002"}]}))
        .send();
    let violations = fs.violations();
    assert_eq!(kinds(&fs), vec![ViolationKind::CompletedCancelledOrder]);
    assert!(violations[0].message.contains("100002"), "{violations:?}");
    assert_eq!(violations[0].call, "POST /admin-api/v1/order/complete");
    // Provoked on purpose: read above, forgotten so the fake's drop does not fail the test.
    fs.clear_violations();
}

#[test]
fn shopserve_is_assumed_to_allow_one_request_a_second() {
    let ss = FakeShopserve::start();
    let get = || {
        call("POST", &format!("{}/v2/orders/_search", ss.url()))
            .basic(SHOP_ID, MANAGER_KEY)
            .json(&json!({}))
            .send()
            .status()
    };
    assert_ne!(get(), 429);
    assert_eq!(get(), 429);
    assert_eq!(kinds(&ss), vec![ViolationKind::OverRateLimit]);
    // Provoked on purpose: read above, forgotten so the fake's drop does not fail the test.
    ss.clear_violations();
}

fn cs_post(cs: &FakeCscart, body: serde_json::Value) -> common::Answer {
    call("POST", &format!("{}/api/shipments", cs.url()))
        .basic(ADMIN_EMAIL, API_KEY)
        .json(&body)
        .send()
}

fn two_group_order(cs: &FakeCscart) {
    cs.seed_order(
        &OrderSeed::new("101", "2026-11-20T10:00:00+09:00")
            .item("11", "茶碗", 2, 1200)
            .item("12", "箸", 1, 300)
            .shipment("1", &["11"])
            .shipment("2", &["12"]),
    );
}

#[test]
fn cscart_a_shipment_without_products_is_a_bare_400_and_a_violation() {
    let cs = FakeCscart::start();
    two_group_order(&cs);
    let answer = cs_post(
        &cs,
        json!({"order_id": "101", "shipping_id": "2", "tracking_number": "5555"}),
    );
    assert_eq!(answer.status(), 400);
    assert!(answer.0.body().is_empty());
    assert!(cs.shipments("101").is_empty());
    assert_eq!(kinds(&cs), vec![ViolationKind::ShipmentWithoutProducts]);
    // Provoked on purpose: read above, forgotten so the fake's drop does not fail the test.
    cs.clear_violations();
}

#[test]
fn cscart_telling_the_customer_the_same_status_twice_is_a_violation() {
    let cs = FakeCscart::start();
    two_group_order(&cs);
    let put = |status: &str| {
        call("PUT", &format!("{}/api/orders/101", cs.url()))
            .basic(ADMIN_EMAIL, API_KEY)
            .json(&json!({"status": status, "notify_user": "Y"}))
            .send()
            .status()
    };
    assert_eq!(put("C"), 200);
    assert_eq!(put("C"), 200); // unchanged status: no e-mail, no violation
    assert!(cs.violations().is_empty());
    assert_eq!(put("P"), 200);
    assert_eq!(put("C"), 200); // "完了" again: the customer already had that mail
    assert_eq!(kinds(&cs), vec![ViolationKind::DuplicateBuyerEmail]);
    // Provoked on purpose: read above, forgotten so the fake's drop does not fail the test.
    cs.clear_violations();
}

#[test]
fn cscart_the_same_shipment_created_twice_mails_the_customer_twice() {
    let cs = FakeCscart::start();
    two_group_order(&cs);
    let body = |item: &str, group: &str| json!({"order_id": "101", "shipping_id": group, "tracking_number": "7777", "products": {item: 1}});
    assert_eq!(cs_post(&cs, body("11", "1")).status(), 201);
    assert!(cs.violations().is_empty());
    assert_eq!(cs_post(&cs, body("11", "1")).status(), 201);
    assert_eq!(kinds(&cs), vec![ViolationKind::DuplicateBuyerEmail]);
    // Provoked on purpose: read above, forgotten so the fake's drop does not fail the test.
    cs.clear_violations();
}

#[test]
fn a_fake_reports_the_peak_requests_within_a_window_on_its_clock() {
    let bcart = FakeBcart::start();
    for _ in 0..3 {
        assert_eq!(bcart_get(&bcart), 200);
    }
    bcart.clock().advance(Duration::from_secs(400));
    for _ in 0..2 {
        assert_eq!(bcart_get(&bcart), 200);
    }
    assert_eq!(bcart.peak_requests_within(Duration::from_secs(300)), 3);
    assert_eq!(bcart.peak_requests_within(Duration::from_secs(500)), 5);
    bcart.assert_no_violations();
}

#[test]
#[should_panic(expected = "OverRateLimit")]
fn assert_no_violations_names_what_the_cart_would_punish() {
    let fs = FakeFutureshop::start();
    let token = fs.issue_token();
    fs_get(&fs, &token);
    fs_get(&fs, &token);
    fs.assert_no_violations();
}
