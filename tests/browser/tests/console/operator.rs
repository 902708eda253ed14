//! An operator's day in the console, in a real browser, on the demo (mallsync-demo: the app,
//! the fake carts, a shop with a store on each cart and sample orders): log in with the shop's
//! token, set up a store (and see the problem next to its field), preview and update shipping
//! info, find the run in 自動処理ログ, import, and connect BASE through its OAuth page. One
//! browser session and one app for all of it: starting Chromium and the host is most of the time.

use mallsync_demo::{Demo, Options};
use mallsync_fake_carts::{bcart, OrderSeed};
use mallsync_rules::Cart;
use serde_json::{json, Value};

use crate::helpers::{Api, Browser, Chromedriver};

/// The demo, and plain HTTP to it for the checks.
struct World {
    demo: Demo,
    api: Api,
}

impl World {
    fn store(&self, cart: Cart) -> String {
        self.demo
            .store(cart)
            .unwrap_or_else(|| panic!("the demo has no {} store", cart.slug()))
            .id
            .clone()
    }

    /// A shop route as the demo shop.
    fn get(&self, path: &str) -> Value {
        let reply = self.api.call_as(&self.demo.shop_token, "GET", path, None);
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.body);
        reply.body
    }

    /// Every store of the shop, on every cart.
    fn all_store_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = Cart::ALL
            .iter()
            .flat_map(|cart| {
                self.get(&format!("/{}/stores", cart.slug()))["stores"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|s| s["id"].as_str().map(str::to_string))
            .collect();
        ids.sort();
        ids
    }
}

#[test]
fn an_operator_works_through_every_page_of_the_console() {
    let Some(driver) = Chromedriver::start() else {
        return;
    };
    let demo = mallsync_demo::start(Options {
        listen: "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        build: true,
        // No schedule: every run in the log is one the test started.
        cron: false,
    })
    .unwrap_or_else(|e| panic!("starting the demo: {e:?}"));
    let world = World {
        api: Api::new(&demo.base_url),
        demo,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("a runtime for the browser: {e}"));
    runtime.block_on(async {
        let browser = driver.session().await;
        the_page_is_served_with_a_strict_policy(&world, &browser).await;
        logging_in_takes_the_shops_token(&world, &browser).await;
        creating_a_store_shows_each_problem_next_to_its_field(&world, &browser).await;
        the_preview_gives_each_excluded_order_its_japanese_reason(&world, &browser).await;
        updating_shipping_info_shows_the_run_in_the_log(&world, &browser).await;
        importing_shows_the_result(&world, &browser).await;
        base_connects_through_its_authorization_page(&world, &browser).await;
        an_order_value_with_markup_shows_as_text(&world, &browser).await;
        the_store_list_shows_each_store_and_english_is_one_click_away(&world, &browser).await;
        let _ = browser.client.close().await;
    });
    let fakes = &world.demo.fakes;
    fakes.bcart.assert_no_violations();
    fakes.base.assert_no_violations();
    fakes.shopserve.assert_no_violations();
    fakes.cscart.assert_no_violations();
    fakes.futureshop.assert_no_violations();
}

async fn the_page_is_served_with_a_strict_policy(world: &World, browser: &Browser) {
    let page = world.api.call("GET", "/console/", &[], None);
    assert_eq!(page.status, 200);
    let header = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp:?}");
    }
    assert_eq!(header("x-content-type-options"), "nosniff");

    // The browser enforces it: a script added inline does not run.
    browser.goto(&world.demo.console_url).await;
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
    browser
        .wait_until("document.querySelector('#login') && document.querySelector('.notice.error')")
        .await;
    let refused = browser.text(".notice.error").await;
    assert!(refused.contains("トークン"), "{refused}");

    let token = &world.demo.shop_token;
    browser.fill("#token", token).await;
    browser.click("#login button[type=submit]").await;
    browser.wait("table#stores").await;
    let listed = browser.text("table#stores").await;
    for store in &world.demo.stores {
        assert!(
            listed.contains(&store.name),
            "{} not in {listed}",
            store.name
        );
    }
    // The token is kept for this tab only, and never put in the address.
    let kept = browser
        .run("return sessionStorage.getItem('mallsync.token');")
        .await;
    assert_eq!(kept, json!(token));
    assert!(!browser.url().await.contains(token.as_str()));
    let local = browser.run("return JSON.stringify(localStorage);").await;
    assert!(!local.to_string().contains(token.as_str()));
}

/// Creates a second Bカート store through the form.
async fn creating_a_store_shows_each_problem_next_to_its_field(world: &World, browser: &Browser) {
    let before = world.get("/bcart/stores")["stores"].clone();
    browser.select("#new-store-cart", "bcart").await;
    browser.click("#add-store").await;
    let days = "#f-import-days-to-fetch";
    let field = browser.wait(days).await;
    // The form comes from the cart's schema: its Japanese label and its default.
    let label = browser
        .text("[data-field='import.days_to_fetch'] label")
        .await;
    assert_eq!(label, "受注を取得する日数");
    let schema = world.api.call("GET", "/bcart/settings/schema", &[], None);
    let default = &schema.body["properties"]["import"]["properties"]["days_to_fetch"]["default"];
    assert!(default.is_u64(), "{}", schema.body);
    let shown = field.prop("value").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shown, Some(default.to_string()));

    browser.fill("#f-name", "Bカート 2号店").await;
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
    assert_eq!(world.get("/bcart/stores")["stores"], before);
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
    let stores = world.get("/bcart/stores");
    let created = stores["stores"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "Bカート 2号店"))
        .cloned()
        .unwrap_or_else(|| panic!("not stored: {stores}"));
    assert_eq!(created["settings"]["import"]["days_to_fetch"], 30);
    assert_eq!(
        created["settings"]["credentials"]["access_token"],
        "********"
    );
    let id = created["id"].as_str().unwrap_or_default();
    assert!(browser
        .url()
        .await
        .ends_with(&format!("#/settings/bcart/{id}")));
    // The stored secret stays out of the page: the field is empty, marked as set.
    let secret = browser
        .run("const f = document.querySelector('#f-credentials-access-token'); return [f.value, f.dataset.set];")
        .await;
    assert_eq!(secret, json!(["", "1"]));

    browser.click("#connection-test").await;
    browser.wait("#connection-result .notice.ok").await;
}

/// The demo's Bカート store holds the sample orders, auto-export off.
async fn the_preview_gives_each_excluded_order_its_japanese_reason(
    world: &World,
    browser: &Browser,
) {
    let store = world.store(Cart::Bcart);
    browser
        .goto(&format!("{}#/export/bcart/{store}", world.demo.console_url))
        .await;
    browser.wait("#preview").await;
    browser.fill("#period-days", "7").await;
    browser.click("#preview").await;
    browser.wait("#preview-result").await;
    let preview = world.api.call_as(
        &world.demo.shop_token,
        "POST",
        &format!("/bcart/stores/{store}/write-back/preview"),
        Some(&json!({ "period_days": 7 })),
    );
    assert_eq!(preview.status, 200, "{}", preview.body);
    let excluded = preview.body["excluded"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!excluded.is_empty(), "{}", preview.body);
    for order in &excluded {
        let id = order["order_id"].as_str().unwrap_or_default();
        let reason = browser
            .text(&format!("#excluded tr[data-order='{id}'] td.reason"))
            .await;
        assert_eq!(json!(reason), order["message_ja"]);
        assert!(reason.chars().any(|c| !c.is_ascii()), "{reason}");
    }
    for planned in preview.body["planned"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let id = planned["order_id"].as_str().unwrap_or_default();
        let row = browser
            .text(&format!("#planned tr[data-order='{id}']"))
            .await;
        let tracking = planned["fields"]["tracking_number"]
            .as_str()
            .unwrap_or_default();
        assert!(row.contains(tracking), "{row} lacks {tracking}");
    }
    // A preview sends nothing.
    assert!(world.demo.fakes.bcart.logistics_patches().is_empty());
    browser.screenshot("export").await;
}

async fn updating_shipping_info_shows_the_run_in_the_log(world: &World, browser: &Browser) {
    let store = world.store(Cart::Bcart);
    browser.click("#write-back").await;
    let result = browser.wait("#run-result").await;
    let run_id = result
        .attr("data-run")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no run id on the result"));
    let patches = world.demo.fakes.bcart.logistics_patches().len();
    assert!(patches > 0);
    assert_eq!(
        browser.text("#run-result .count.sent dd").await,
        patches.to_string()
    );

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
    let run = world.get(&format!("/bcart/stores/{store}/runs/{run_id}"));
    for line in run["orders"].as_array().cloned().unwrap_or_default() {
        let id = line["order_id"].as_str().unwrap_or_default();
        let shown = browser
            .text(&format!("#run-detail tr[data-order='{id}']"))
            .await;
        let expected = match line["outcome"].as_str() {
            Some("sent") => "送信済",
            Some("excluded") => "対象外",
            other => panic!("unexpected outcome {other:?} in {run}"),
        };
        assert!(shown.contains(expected), "{shown}");
    }
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
    let newest = world.get(&format!("/bcart/stores/{store}/runs"))["runs"][0]["id"].to_string();
    assert_ne!(newest, run_id);
    browser
        .wait(&format!("#runs tr[data-run='{newest}'].selected"))
        .await;
    assert_eq!(
        world.demo.fakes.bcart.logistics_patches().len(),
        patches,
        "sent twice"
    );
}

async fn importing_shows_the_result(world: &World, browser: &Browser) {
    let store = world.store(Cart::Bcart);
    browser.click("#nav a[data-page=import]").await;
    browser.wait("#import").await;
    browser.click("#import").await;
    let result = browser.wait("#import-result").await;
    let run_id = result
        .attr("data-run")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no run id on the import result"));
    let run = world.get(&format!("/bcart/stores/{store}/runs/{run_id}"));
    let shown = browser.text("#import-result .count.imported dd").await;
    assert_eq!(json!(shown.parse::<u64>().ok()), run["imported"], "{run}");
    let orders = world.get(&format!("/bcart/stores/{store}/imported-orders"));
    let imported = orders["orders"].as_array().map_or(0, Vec::len);
    assert!(imported > 0, "{orders}");
    assert_eq!(shown, imported.to_string(), "{orders}");
    browser.screenshot("import").await;
}

async fn base_connects_through_its_authorization_page(world: &World, browser: &Browser) {
    let store = world.store(Cart::Base);
    browser
        .goto(&format!(
            "{}#/settings/base/{store}",
            world.demo.console_url
        ))
        .await;
    browser.click("#base-oauth").await;
    // The fake BASE consents at once and sends the browser back through the app's callback.
    browser
        .wait_until(&format!(
            "location.hash === '#/settings/base/{store}' && document.querySelector('.notice.ok') !== null"
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
    let ordered_at = chrono::Utc::now() - chrono::Duration::days(3);
    world
        .demo
        .fakes
        .base
        .seed_order(&OrderSeed::new("3001", &ordered_at.to_rfc3339()).item(
            "31",
            "帆布ポーチ",
            1,
            1500,
        ));
    let order = json!({
        "order_id": "3001",
        "status": "発送待ち",
        "ordered_at": ordered_at.to_rfc3339(),
        "updated_at": (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
        "tracking_numbers": ["5555-6666-7777"],
        "ship_date": (chrono::Utc::now() + chrono::Duration::hours(9)).format("%Y-%m-%d").to_string(),
        "carrier": format!("other:{markup}"),
        "items": [{ "item_id": "31" }],
    });
    let posted = world
        .demo
        .post_orders(Cart::Base, &json!({ "orders": [order] }))
        .unwrap_or_else(|e| panic!("posting the order: {e:?}"));
    assert_eq!(posted.status, 200, "{}", posted.body);

    browser.click("#nav a[data-page=export]").await;
    browser.click("#preview").await;
    let row = browser.text("#planned tr[data-order='3001']").await;
    assert!(row.contains(markup), "{row}");
    let scripts = browser
        .run("return document.querySelectorAll('#preview-result script').length;")
        .await;
    assert_eq!(scripts, json!(0));
    // The preview sent nothing to BASE (no 発送メール to a buyer).
    assert_eq!(world.demo.fakes.base.dispatch_emails_sent(), 0);
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
    assert_eq!(rows, json!(world.all_store_ids()));
    // BASE, connected above: its state is what the service says of its token.
    let base = world.store(Cart::Base);
    let state = browser
        .text(&format!(
            "table#stores tr[data-store='{base}'] td:nth-child(9)"
        ))
        .await;
    let listed = world.get("/base/stores");
    let view = listed["stores"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == base.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("{base} not listed: {listed}"));
    match view["credentials"]["days_left"].as_i64() {
        Some(days) => assert!(state.contains(&format!("残り {days} 日")), "{state}"),
        None => assert_eq!(state, "正常"),
    }
    browser.screenshot("stores").await;

    browser.click("#lang").await;
    browser
        .wait_until("document.querySelector('#nav a[data-page=stores]').textContent === 'Stores'")
        .await;
    // The page is drawn again in English (the table comes after the titles).
    browser
        .wait_until(
            "document.querySelector('table#stores thead')?.textContent.includes('Auto write-back')",
        )
        .await;
    browser.click("#lang").await;
    browser
        .wait_until(
            "document.querySelector('#nav a[data-page=stores]').textContent === 'ストア一覧'",
        )
        .await;
}
