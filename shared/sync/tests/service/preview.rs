//! Preview details that need no cart: operator warnings.

use mallsync_rules::Cart;
use serde_json::json;

use crate::helpers::spawn_app;

#[test]
fn a_futureshop_preview_warns_that_points_are_not_activated_by_the_api() {
    let app = spawn_app(Cart::Futureshop, "http://127.0.0.1:9");
    let shop = app.create_shop("テスト商店");
    let store = app.create_store(
        &shop,
        json!({
            "credentials": { "shop_key": "k", "client_id": "c", "client_secret": "s", "api_base_url": "http://127.0.0.1:9" },
            "point_timing": "on_shipped"
        }),
    );

    let preview = app.call(
        "POST",
        &format!("/stores/{store}/write-back/preview"),
        Some(&shop.token),
        None,
    );
    let read = app.call("GET", &format!("/stores/{store}"), Some(&shop.token), None);

    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(
        preview.body["warnings"][0]["code"],
        "futureshop_points_not_activated"
    );
    assert!(preview.body["warnings"][0]["message_ja"]
        .as_str()
        .unwrap()
        .contains("発送済み"));
    assert_eq!(
        read.body["warnings"][0]["code"],
        "futureshop_points_not_activated"
    );
}
