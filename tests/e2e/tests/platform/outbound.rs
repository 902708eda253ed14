use crate::helpers::{get, spawn_app_with, test_options, FakeUpstream};

#[test]
fn a_cart_reaches_its_configured_api_origin_but_no_other_host() {
    let cart_api = FakeUpstream::start("pong");
    let elsewhere = FakeUpstream::start("should never be reached");
    let app = spawn_app_with(test_options().variable("bcart_api_origin", cart_api.origin()));

    let allowed = get(
        &app,
        &format!("/bcart/__test/outbound?url={}/ping", cart_api.origin()),
    );
    assert_eq!(allowed.status, 200, "{}", allowed.text());
    assert_eq!(allowed.json()["status"], 200);
    assert_eq!(allowed.json()["body"], "pong");
    assert_eq!(cart_api.hits(), 1);

    let denied = get(
        &app,
        &format!("/bcart/__test/outbound?url={}/ping", elsewhere.origin()),
    );
    assert_eq!(denied.status, 502, "{}", denied.text());
    assert!(
        denied.text().contains("HttpRequestDenied"),
        "{}",
        denied.text()
    );
    assert_eq!(elsewhere.hits(), 0);
}

#[test]
fn another_cart_may_not_use_the_first_carts_api_origin() {
    let cart_api = FakeUpstream::start("pong");
    let app = spawn_app_with(test_options().variable("bcart_api_origin", cart_api.origin()));
    let reply = get(
        &app,
        &format!("/base/__test/outbound?url={}/ping", cart_api.origin()),
    );
    assert_eq!(reply.status, 502, "{}", reply.text());
    assert_eq!(cart_api.hits(), 0);
}
