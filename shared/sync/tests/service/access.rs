//! Who may call what: admin token, shop tokens, and one shop never reaching another's stores.

use mallsync_rules::Cart;
use serde_json::json;

use crate::helpers::{bcart_settings, spawn_app, ADMIN_TOKEN};

#[test]
fn one_shops_token_cannot_reach_another_shops_store() {
    let app = spawn_app(Cart::Bcart, "http://127.0.0.1:9");
    let mine = app.create_shop("自分の店");
    let theirs = app.create_shop("よその店");
    let store = app.create_store(&mine, bcart_settings(false));

    let own = app.call("GET", &format!("/stores/{store}"), Some(&mine.token), None);
    let other = app.call(
        "GET",
        &format!("/stores/{store}"),
        Some(&theirs.token),
        None,
    );
    let press = app.call(
        "POST",
        &format!("/stores/{store}/write-back"),
        Some(&theirs.token),
        None,
    );
    let listed = app.call("GET", "/stores", Some(&theirs.token), None);

    assert_eq!(own.status, 200);
    assert_eq!(other.status, 404, "{}", other.body);
    assert!(other.body["error"].as_str().unwrap().contains(&store));
    assert_eq!(press.status, 404);
    assert_eq!(listed.body["stores"], json!([]));
}

#[test]
fn missing_or_wrong_tokens_get_a_401_saying_what_to_send() {
    let app = spawn_app(Cart::Bcart, "http://127.0.0.1:9");
    let shop = app.create_shop("自分の店");
    let store = app.create_store(&shop, bcart_settings(false));

    let none = app.call("GET", &format!("/stores/{store}"), None, None);
    let wrong = app.call("GET", &format!("/stores/{store}"), Some("mst_guess"), None);
    let not_admin = app.call(
        "POST",
        "/shops",
        Some(&shop.token),
        Some(&json!({ "name": "x" })),
    );

    assert_eq!(none.status, 401);
    assert!(none.body["error"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));
    assert_eq!(wrong.status, 401);
    assert_eq!(not_admin.status, 401);
    let shops = app.call("GET", "/shops", Some(ADMIN_TOKEN), None);
    assert_eq!(shops.status, 200);
    assert_eq!(shops.body["shops"][0]["id"], shop.id.as_str());
    assert!(
        !shops.body.to_string().contains(&shop.token),
        "a shop's token is shown only once"
    );
}

#[test]
fn a_store_read_never_shows_its_credentials_and_a_masked_secret_keeps_its_value_on_update() {
    let app = spawn_app(Cart::Bcart, "http://127.0.0.1:9");
    let shop = app.create_shop("自分の店");
    let store = app.create_store(&shop, bcart_settings(false));

    let read = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    assert_eq!(
        read.body["settings"]["credentials"]["access_token"],
        "********"
    );
    assert!(!read
        .body
        .to_string()
        .contains(mallsync_fake_carts::bcart::ACCESS_TOKEN));

    let mut settings = read.body["settings"].clone();
    settings["period_days"] = json!(5);
    let updated = app.call(
        "PUT",
        &format!("/stores/{store}"),
        Some(&shop.token),
        Some(&json!({ "name": "2号店", "settings": settings })),
    );
    assert_eq!(updated.status, 200, "{}", updated.body);
    // The settings are stored sealed: open them to see the kept token.
    use mallsync_sync::Io;
    let rows = app
        .io
        .sql(
            &format!("SELECT settings FROM stores WHERE id = '{store}' AND name = '2号店'"),
            &[],
        )
        .unwrap();
    let sealed = rows.first().unwrap().text("settings").unwrap().to_string();
    assert!(!sealed.contains(mallsync_fake_carts::bcart::ACCESS_TOKEN));
    let opened = mallsync_sync::crypto::open_text(
        app.io.as_ref(),
        &sealed,
        &mallsync_sync::secret_places::settings_place(&store),
    )
    .unwrap();
    assert!(
        opened.contains(mallsync_fake_carts::bcart::ACCESS_TOKEN),
        "{opened}"
    );
}

#[test]
fn invalid_store_settings_are_refused_with_every_problem_named() {
    let app = spawn_app(Cart::Bcart, "http://127.0.0.1:9");
    let shop = app.create_shop("自分の店");

    let reply = app.call(
        "POST",
        "/stores",
        Some(&shop.token),
        Some(&json!({ "name": "", "settings": { "period_days": 0 } })),
    );

    assert_eq!(reply.status, 400, "{}", reply.body);
    let fields: Vec<&str> = reply.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"name"), "{fields:?}");
    assert!(
        fields.contains(&"settings.credentials.access_token"),
        "{fields:?}"
    );
    assert!(fields.contains(&"settings.period_days"), "{fields:?}");
}

#[test]
fn a_store_on_another_cart_is_not_reachable_through_this_carts_routes() {
    let bcart = spawn_app(Cart::Bcart, "http://127.0.0.1:9");
    let shop = bcart.create_shop("自分の店");
    let store = bcart.create_store(&shop, bcart_settings(false));
    let base = crate::helpers::App {
        io: std::sync::Arc::clone(&bcart.io),
        cart: Cart::Base,
    };

    let read = base.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);
    let hook = base.webhook(&store, &shop.webhook_secret, &json!({ "orders": [] }));

    assert_eq!(read.status, 404);
    // A webhook does not tell whether a store exists: the same 401 as a wrong signature.
    assert_eq!(hook.status, 401);
}

/// One admin check for every component: with `admin_token` unset, a cart's admin route and the
/// dispatcher's `/internal/dispatch` both answer 503 naming the variable, whatever token is sent.
#[test]
fn with_no_admin_token_every_admin_route_is_off_with_a_503_naming_the_variable() {
    let app = crate::helpers::spawn_app_with(Cart::Bcart, "http://127.0.0.1:9", |io| {
        io.with_variable("admin_token", "")
    });
    let cart_route = app.call("GET", "/shops", Some(ADMIN_TOKEN), None);
    let request = http::Request::post("/internal/dispatch")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(Vec::new())
        .unwrap();
    let (dispatcher_route, follow_up) = mallsync_sync::routes::handle_then(
        mallsync_sync::Component::Dispatcher,
        app.io.as_ref(),
        request,
    );
    assert!(follow_up.is_none());
    let dispatcher_body: serde_json::Value =
        serde_json::from_slice(dispatcher_route.body()).unwrap();

    assert_eq!(cart_route.status, 503, "{}", cart_route.body);
    assert_eq!(dispatcher_route.status(), 503, "{dispatcher_body}");
    assert_eq!(cart_route.body["error"], dispatcher_body["error"]);
    assert!(cart_route.body["error"]
        .as_str()
        .unwrap()
        .contains("set the admin_token variable"));
}
