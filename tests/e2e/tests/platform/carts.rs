use crate::helpers::{get, spawn_app, spawn_app_with, CARTS};
use mallsync_test_support::TestOptions;

#[test]
fn every_cart_component_answers_its_health_route_with_its_configured_api_origin() {
    let app = spawn_app_with(
        crate::helpers::test_options().variable("cscart_api_origin", "https://shop.example.jp"),
    );
    for cart in CARTS {
        let reply = get(&app, &format!("/{cart}/health"));
        assert_eq!(reply.status, 200, "{cart}: {}", reply.text());
        let body = reply.json();
        assert_eq!(body["cart"], cart);
        assert_eq!(body["status"], "ok");
    }
    assert_eq!(
        get(&app, "/bcart/health").json()["api_origin"],
        "https://api.bcart.jp"
    );
    assert_eq!(
        get(&app, "/cscart/health").json()["api_origin"],
        "https://shop.example.jp"
    );
}

#[test]
fn a_path_no_route_matches_gets_404_from_the_host_and_an_unknown_cart_path_404_from_the_component()
{
    let app = spawn_app();
    assert_eq!(get(&app, "/nowhere").status, 404);
    let reply = get(&app, "/bcart/no-such-thing");
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"], "no such route");
}

#[test]
fn diagnostic_routes_are_hidden_unless_test_routes_are_enabled() {
    let app = spawn_app_with(TestOptions::default());
    assert_eq!(get(&app, "/bcart/__test/kv/anything").status, 404);
    assert_eq!(get(&app, "/bcart/__test/panic").status, 404);
}
