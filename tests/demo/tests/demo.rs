//! The demo sets up what it promises: a store on every cart, reachable through the host with the
//! shop token, with the sample orders pending and the carts' own orders ready to import.

use mallsync_rules::Cart;
use serde_json::json;

#[test]
fn the_demo_has_a_store_on_every_cart_with_orders_waiting_and_orders_to_import() {
    let demo = mallsync_demo::start(mallsync_demo::Options {
        listen: "127.0.0.1:0".parse().unwrap(),
        cron: false,
        ..Default::default()
    })
    .unwrap_or_else(|e| panic!("starting the demo: {e:#}"));
    assert_eq!(demo.console_url, format!("{}/console/", demo.base_url));
    assert!(demo.banner().contains(&demo.shop_token));

    for cart in Cart::ALL {
        let store = demo
            .store(cart)
            .unwrap_or_else(|| panic!("no {cart:?} store"));
        let list = demo
            .call("GET", &format!("/{}/stores", cart.slug()), None)
            .unwrap();
        assert_eq!(list.status, 200, "{cart:?}: {}", list.body);
        let listed = &list.body["stores"][0];
        assert_eq!(listed["id"], store.id.as_str(), "{cart:?}");
        assert_eq!(listed["summary"]["auto_export"], false, "{cart:?}");
        // Every sample order posted through the webhook waits for the operator.
        assert_eq!(listed["summary"]["pending_orders"], 5, "{cart:?}: {listed}");
    }

    // 更新対象の確認 on Bカート: the 新規受付 order is left out, with its reason in Japanese.
    let bcart = demo.store(Cart::Bcart).unwrap();
    let preview = demo
        .call(
            "POST",
            &format!("/bcart/stores/{}/write-back/preview", bcart.id),
            Some(&json!({})),
        )
        .unwrap();
    assert_eq!(preview.status, 200, "{}", preview.body);
    let excluded = preview.body["excluded"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", preview.body));
    let new_order = excluded
        .iter()
        .find(|e| e["order_id"] == "1003")
        .unwrap_or_else(|| panic!("1003 not excluded: {}", preview.body));
    let reason = new_order["message_ja"]
        .as_str()
        .or(new_order["reason_ja"].as_str())
        .unwrap_or_default();
    assert!(!reason.is_empty() && !reason.is_ascii(), "{new_order}");

    // データ取込 on ショップサーブ: the cart's orders, those only the cart has included.
    let shopserve = demo.store(Cart::Shopserve).unwrap();
    let import = demo
        .call(
            "POST",
            &format!("/shopserve/stores/{}/import", shopserve.id),
            None,
        )
        .unwrap();
    assert_eq!(import.status, 200, "{}", import.body);
    let imported = demo
        .call(
            "GET",
            &format!("/shopserve/stores/{}/imported-orders", shopserve.id),
            None,
        )
        .unwrap();
    let ids: Vec<&str> = imported.body["orders"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", imported.body))
        .iter()
        .filter_map(|o| o["order"]["order_id"].as_str().or(o["order_id"].as_str()))
        .collect();
    assert!(
        ids.contains(&"2001") && ids.contains(&"2002"),
        "{ids:?}: {}",
        imported.body
    );

    demo.fakes.bcart.assert_no_violations();
    demo.fakes.shopserve.assert_no_violations();
}
