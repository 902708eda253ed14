//! An operator's day in the console, in a real browser: log in with the shop's token, set up a
//! store (and see the problem next to its field), preview and update shipping info, find the run
//! in 自動処理ログ, import, and connect BASE through its OAuth page. One browser session and one
//! app for all of it, because starting Chromium and the host is most of the time.

use mallsync_fake_carts::{base, bcart, OrderSeed};
use mallsync_host::{TestApp, TestOptions};
use serde_json::{json, Value};

use crate::helpers::{jst_hours_ago, order, Api, Browser, Chromedriver, ADMIN_TOKEN};

/// The shop and what the admin handed its operator and its OMS.
struct Shop {
    token: String,
    webhook_secret: String,
}

/// The app with Bカート and BASE pointed at their fakes, a shop, and a BASE store created (not
/// yet connected) the way the shop's first setup would leave it.
struct World {
    // Dropped in this order: the app before the fakes it calls.
    app: TestApp,
    api: Api,
    bcart: bcart::FakeBcart,
    base: base::FakeBase,
    shop: Shop,
    base_store: String,
}

fn world() -> World {
    let bcart = bcart::FakeBcart::start();
    for (id, logistics) in [("X1", "XL1"), ("X2", "XL2"), ("X3", "XL3")] {
        bcart.seed_order(&OrderSeed::new(id, &jst_hours_ago(72)).shipment(logistics, &[]));
    }
    let base = base::FakeBase::start();
    base.seed_order(&OrderSeed::new("K1", &jst_hours_ago(72)).item("11", "Tシャツ", 1, 1500));
    let app = TestApp::spawn(
        TestOptions::default()
            .variable("admin_token", ADMIN_TOKEN)
            .variable("bcart_api_origin", bcart.url())
            .variable("base_api_origin", base.url()),
    )
    .unwrap_or_else(|e| panic!("starting the app: {e:?}"));
    let api = Api::new(app.url());
    // BASE sends the browser back to the app: the fake's app registration says where.
    let redirect_uri = format!("{}/base/oauth/callback", app.url());
    base.with_cart(|cart| cart.redirect_uri = redirect_uri.clone());

    let created = api.call_as(
        ADMIN_TOKEN,
        "POST",
        "/bcart/shops",
        Some(&json!({ "name": "テスト商店" })),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let field = |name: &str| created.body[name].as_str().unwrap_or_default().to_string();
    let shop = Shop {
        token: field("api_token"),
        webhook_secret: field("webhook_secret"),
    };
    let store = api.call_as(
        &shop.token,
        "POST",
        "/base/stores",
        Some(&json!({ "name": "BASE 本店", "settings": { "credentials": {
            "client_id": base::CLIENT_ID, "client_secret": base::CLIENT_SECRET,
            "redirect_uri": redirect_uri,
        } } })),
    );
    assert_eq!(store.status, 201, "{}", store.body);
    let base_store = store.body["id"].as_str().unwrap_or_default().to_string();
    World {
        app,
        api,
        bcart,
        base,
        shop,
        base_store,
    }
}

#[test]
fn an_operator_works_through_every_page_of_the_console() {
    let Some(driver) = Chromedriver::start() else {
        return;
    };
    let world = world();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("a runtime for the browser: {e}"));
    runtime.block_on(async {
        let browser = driver.session().await;
        the_page_is_served_with_a_strict_policy(&world, &browser).await;
        logging_in_takes_the_shops_token(&world, &browser).await;
        let store = creating_a_store_shows_each_problem_next_to_its_field(&world, &browser).await;
        the_preview_gives_each_excluded_order_its_japanese_reason(&world, &browser, &store).await;
        updating_shipping_info_shows_the_run_in_the_log(&world, &browser, &store).await;
        importing_shows_the_result(&world, &browser, &store).await;
        base_connects_through_its_authorization_page(&world, &browser).await;
        an_order_value_with_markup_shows_as_text(&world, &browser).await;
        the_store_list_shows_each_store_and_english_is_one_click_away(&world, &browser).await;
        let _ = browser.client.close().await;
    });
    world.bcart.assert_no_violations();
    world.base.assert_no_violations();
}

async fn the_page_is_served_with_a_strict_policy(world: &World, browser: &Browser) {
    let page = world.api.call("GET", "/console/", &[], None);
    assert_eq!(page.status, 200);
    let csp = page
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp:?}");
    }
    assert_eq!(
        page.headers
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );

    // The browser enforces it: a script added inline does not run.
    browser.goto(&format!("{}/console/", world.app.url())).await;
    browser.wait("#login").await;
    let ran = browser
        .run(
            "const s = document.createElement('script');
             s.textContent = 'window.inlineRan = true';
             document.body.append(s);
             return window.inlineRan === true;",
        )
        .await;
    assert_eq!(ran, Value::Bool(false), "an inline script ran");
}

async fn logging_in_takes_the_shops_token(world: &World, browser: &Browser) {
    browser.screenshot("login").await;
    browser.fill("#token", "not-a-shop-token").await;
    browser.click("#login button[type=submit]").await;
    browser.wait("#login").await;
    browser
        .wait_until("document.querySelector('.notice.error') !== null")
        .await;
    assert!(
        browser.text(".notice.error").await.contains("トークン"),
        "{}",
        browser.text("body").await
    );

    browser.fill("#token", &world.shop.token).await;
    browser.click("#login button[type=submit]").await;
    browser.wait("table#stores").await;
    assert!(browser.text("table#stores").await.contains("BASE 本店"));
    // The token is kept for the tab only, and never put in the address.
    let kept = browser
        .run("return sessionStorage.getItem('mallsync.token');")
        .await;
    assert_eq!(kept, json!(world.shop.token));
    assert!(!browser.url().await.contains(&world.shop.token));
    let in_local = browser.run("return JSON.stringify(localStorage);").await;
    assert!(!in_local.to_string().contains(&world.shop.token));
}

/// Creates a Bカート store through the form; returns its id.
async fn creating_a_store_shows_each_problem_next_to_its_field(
    world: &World,
    browser: &Browser,
) -> String {
    browser.select("#new-store-cart", "bcart").await;
    browser.click("#add-store").await;
    let days = "#f-import-days-to-fetch";
    browser.wait(days).await;
    // The form comes from the cart's schema: its Japanese label and default.
    let label = browser
        .text("[data-field='import.days_to_fetch'] label")
        .await;
    assert_eq!(label, "受注を取得する日数");
    let default_days = browser
        .wait(days)
        .await
        .prop("value")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let schema = world.api.call("GET", "/bcart/settings/schema", &[], None);
    let default = &schema.body["properties"]["import"]["properties"]["days_to_fetch"]["default"];
    assert!(default.is_u64(), "{}", schema.body);
    assert_eq!(default_days, Some(default.to_string()));

    browser.fill("#f-name", "Bカート 本店").await;
    browser
        .fill("#f-credentials-access-token", bcart::ACCESS_TOKEN)
        .await;
    browser.fill(days, "0").await;
    browser.click("#save").await;
    let problem = "[data-field='import.days_to_fetch'] .problem";
    browser
        .wait_until(&format!("!document.querySelector(\"{problem}\").hidden"))
        .await;
    let message = browser.text(problem).await;
    assert!(
        message.chars().any(|c| !c.is_ascii()),
        "the problem is not in Japanese: {message:?}"
    );
    // Only that field has one, and nothing was stored.
    let shown = browser
        .run("return [...document.querySelectorAll('.problem:not([hidden])')].map(p => p.dataset.problem);")
        .await;
    assert_eq!(shown, json!(["import.days_to_fetch"]));
    let stores = world
        .api
        .call_as(&world.shop.token, "GET", "/bcart/stores", None);
    assert_eq!(stores.body["stores"], json!([]), "{}", stores.body);
    // The picture shows the form from its top; the field and its problem are within it.
    browser.run("window.scrollTo(0, 0); return null;").await;
    browser.screenshot("settings").await;

    browser.fill(days, "30").await;
    browser.click("#save").await;
    browser
        .wait_until(
            "location.hash.startsWith('#/settings/bcart/') && !location.hash.endsWith('/new')",
        )
        .await;
    browser.wait("#connection-test").await;
    let stores = world
        .api
        .call_as(&world.shop.token, "GET", "/bcart/stores", None);
    let created = &stores.body["stores"][0];
    assert_eq!(created["name"], "Bカート 本店", "{}", stores.body);
    assert_eq!(created["settings"]["import"]["days_to_fetch"], 30);
    assert_eq!(
        created["settings"]["credentials"]["access_token"],
        "********"
    );
    // The stored secret stays out of the page: the field is empty, marked as set.
    let secret = browser
        .run("const f = document.querySelector('#f-credentials-access-token'); return [f.value, f.dataset.set];")
        .await;
    assert_eq!(secret, json!(["", "1"]));

    browser.click("#connection-test").await;
    browser.wait("#connection-result .notice.ok").await;
    created["id"].as_str().unwrap_or_default().to_string()
}

/// X1 ready to ship, X2 cancelled, X3 without a tracking number.
fn oms_orders() -> Value {
    let with = |mut o: Value, logistics: &str| {
        o["shipments"] = json!([{ "shipment_id": logistics }]);
        o
    };
    json!({ "orders": [
        with(order("X1", "発送待ち", Some("1000-0001")), "XL1"),
        with(order("X2", "キャンセル", Some("1000-0002")), "XL2"),
        with(order("X3", "発送待ち", None), "XL3"),
    ]})
}

async fn the_preview_gives_each_excluded_order_its_japanese_reason(
    world: &World,
    browser: &Browser,
    store: &str,
) {
    let posted = world
        .api
        .webhook("bcart", store, &world.shop.webhook_secret, &oms_orders());
    assert_eq!(posted.status, 200, "{}", posted.body);

    browser.click("#nav a[data-page=export]").await;
    browser.wait("#preview").await;
    browser.fill("#period-days", "7").await;
    browser.click("#preview").await;
    browser.wait("#preview-result").await;
    let preview = world.api.call_as(
        &world.shop.token,
        "POST",
        &format!("/bcart/stores/{store}/write-back/preview"),
        Some(&json!({ "period_days": 7 })),
    );
    assert_eq!(preview.status, 200, "{}", preview.body);
    let x2 = preview.body["excluded"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["order_id"] == "X2"))
        .cloned()
        .unwrap_or_else(|| panic!("X2 is not excluded: {}", preview.body));
    let reason = browser
        .text("#excluded tr[data-order='X2'] td.reason")
        .await;
    assert_eq!(json!(reason), x2["message_ja"]);
    assert!(reason.contains("キャンセル"), "{reason}");
    let planned = browser.text("#planned tr[data-order='X1']").await;
    assert!(planned.contains("1000-0001"), "{planned}");
    assert!(browser
        .text("#excluded tr[data-order='X3']")
        .await
        .chars()
        .any(|c| !c.is_ascii()));
    // A preview sends nothing.
    assert!(world.bcart.logistics_patches().is_empty());
    browser.screenshot("export").await;
}

async fn updating_shipping_info_shows_the_run_in_the_log(
    world: &World,
    browser: &Browser,
    store: &str,
) {
    browser.click("#write-back").await;
    let result = browser.wait("#run-result").await;
    let run_id = result
        .attr("data-run")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no run id on the result"));
    let patched: Vec<String> = world
        .bcart
        .logistics_patches()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(patched, ["XL1"]);
    assert_eq!(browser.text("#run-result .count.sent dd").await, "1");

    browser.click("#see-in-log").await;
    browser
        .wait(&format!("#runs tr[data-run='{run_id}'].selected"))
        .await;
    let row = browser
        .text(&format!("#runs tr[data-run='{run_id}']"))
        .await;
    assert!(row.contains("手動"), "{row}");
    browser
        .wait(&format!("#run-detail[data-run='{run_id}']"))
        .await;
    let line = browser.text("#run-detail tr[data-order='X1']").await;
    assert!(line.contains("送信済"), "{line}");
    browser.screenshot("log").await;

    // Failures only: this run had none, so it is not listed.
    browser.click("#failures-only").await;
    browser
        .wait_until(&format!(
            "document.querySelector(\"#runs tr[data-run='{run_id}']\") === null"
        ))
        .await;
    browser.click("#failures-only").await;
    browser
        .wait(&format!("#runs tr[data-run='{run_id}']"))
        .await;

    // Retry now: a new manual run, which finds everything already accepted.
    browser.click("#retry-now").await;
    browser
        .wait_until(&format!(
            "(() => {{ const d = document.querySelector('#run-detail'); \
               return d !== null && d.dataset.run !== '{run_id}'; }})()"
        ))
        .await;
    let runs = world.api.call_as(
        &world.shop.token,
        "GET",
        &format!("/bcart/stores/{store}/runs"),
        None,
    );
    let newest = runs.body["runs"][0]["id"].to_string();
    assert_ne!(newest, run_id);
    browser
        .wait(&format!("#runs tr[data-run='{newest}'].selected"))
        .await;
    assert_eq!(world.bcart.logistics_patches().len(), 1, "sent twice");
}

async fn importing_shows_the_result(world: &World, browser: &Browser, store: &str) {
    browser.click("#nav a[data-page=import]").await;
    browser.wait("#import").await;
    browser.click("#import").await;
    let result = browser.wait("#import-result").await;
    let run_id = result
        .attr("data-run")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no run id on the import result"));
    let run = world.api.call_as(
        &world.shop.token,
        "GET",
        &format!("/bcart/stores/{store}/runs/{run_id}"),
        None,
    );
    assert_eq!(run.status, 200, "{}", run.body);
    let shown = browser.text("#import-result .count.imported dd").await;
    assert_eq!(json!(shown.parse::<u64>().ok()), run.body["imported"]);
    let orders = world.api.call_as(
        &world.shop.token,
        "GET",
        &format!("/bcart/stores/{store}/imported-orders"),
        None,
    );
    let imported = orders.body["orders"].as_array().map_or(0, Vec::len);
    assert_eq!(shown, imported.to_string(), "{}", orders.body);
    assert!(imported > 0, "{}", orders.body);
    browser.screenshot("import").await;
}

async fn base_connects_through_its_authorization_page(world: &World, browser: &Browser) {
    browser
        .goto(&format!(
            "{}/console/#/settings/base/{}",
            world.app.url(),
            world.base_store
        ))
        .await;
    browser.click("#base-oauth").await;
    // The fake BASE consents at once and sends the browser back through the app's callback.
    browser
        .wait_until(&format!(
            "location.hash === '#/settings/base/{}' && document.querySelector('.notice.ok') !== null",
            world.base_store
        ))
        .await;
    let url = browser.url().await;
    assert!(!url.contains("oauth="), "the query stayed: {url}");
    assert!(browser.text(".notice.ok").await.contains("BASE"));
    browser.click("#connection-test").await;
    browser.wait("#connection-result .notice.ok").await;
    browser.screenshot("settings-base").await;
}

async fn an_order_value_with_markup_shows_as_text(world: &World, browser: &Browser) {
    let markup = "<script>alert(1)</script>";
    let mut k1 = order("K1", "発送待ち", Some("4444-5555-6666"));
    k1["items"] = json!([{ "item_id": "11" }]);
    k1["carrier"] = json!(format!("other:{markup}"));
    let posted = world.api.webhook(
        "base",
        &world.base_store,
        &world.shop.webhook_secret,
        &json!({ "orders": [k1] }),
    );
    assert_eq!(posted.status, 200, "{}", posted.body);

    browser.click("#nav a[data-page=export]").await;
    browser.click("#preview").await;
    browser.wait("#planned tr[data-order='K1']").await;
    let row = browser.text("#planned tr[data-order='K1']").await;
    assert!(row.contains(markup), "{row}");
    let elements = browser
        .run("return document.querySelectorAll('#preview-result script').length;")
        .await;
    assert_eq!(elements, json!(0));
    // Nothing was sent to BASE by the preview (no dispatch e-mail to the buyer).
    assert_eq!(world.base.dispatch_emails_sent(), 0);
}

async fn the_store_list_shows_each_store_and_english_is_one_click_away(
    world: &World,
    browser: &Browser,
) {
    browser.click("#nav a[data-page=stores]").await;
    browser.wait("table#stores").await;
    let rows = browser
        .run("return [...document.querySelectorAll('table#stores tbody tr')].map(r => r.dataset.store).sort();")
        .await;
    let mut expected = vec![world.base_store.clone()];
    let bcart = world
        .api
        .call_as(&world.shop.token, "GET", "/bcart/stores", None);
    expected.push(
        bcart.body["stores"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    );
    expected.sort();
    assert_eq!(rows, json!(expected));
    browser.screenshot("stores").await;

    browser.click("#lang").await;
    browser
        .wait_until("document.querySelector('#nav a[data-page=stores]').textContent === 'Stores'")
        .await;
    browser.wait("table#stores").await;
    assert!(browser
        .text("table#stores thead")
        .await
        .contains("Auto write-back"));
    browser.click("#lang").await;
    browser
        .wait_until(
            "document.querySelector('#nav a[data-page=stores]').textContent === 'ストア一覧'",
        )
        .await;
}
