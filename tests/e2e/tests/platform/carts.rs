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
fn each_carts_openapi_document_is_served_at_its_path_next_to_the_carts_own_routes() {
    let app = spawn_app();
    for cart in CARTS {
        // spin.toml routes this exact path to the console component, the rest to the cart's.
        let reply = get(&app, &format!("/{cart}/openapi.json"));
        assert_eq!(reply.status, 200, "{cart}: {}", reply.text());
        let document = reply.json();
        assert_eq!(document["servers"][0]["url"], format!("/{cart}"));
        let schema = get(&app, &format!("/{cart}/settings/schema"));
        assert_eq!(schema.status, 200, "{cart}: {}", schema.text());
        let name = format!("{}{}Settings", cart[..1].to_uppercase(), &cart[1..]);
        assert_eq!(
            document["components"]["schemas"][&name],
            schema.json(),
            "{cart}"
        );
    }
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
