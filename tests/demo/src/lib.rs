//! The one-command demo: mallsync on its own host (`mallsync-host`, the real components) with the
//! project's fake carts, a demo shop with a store on each cart, and sample orders waiting for the
//! operator. Everything can be tried in the console without a cart account.
//!
//! ```no_run
//! let demo = mallsync_demo::start(mallsync_demo::Options::default())?;
//! println!("{} — log in with {}", demo.console_url, demo.shop_token);
//! # Ok::<(), anyhow::Error>(())
//! ```
//!
//! `start` is blocking and runs the app on a thread of its own, so it may be called from a test
//! with or without an async runtime (from async code, call it in `spawn_blocking`). Dropping the
//! `Demo` stops the app, then the fakes (which fail loudly if mallsync broke a cart's rule).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use mallsync_fake_carts::{base, bcart, cscart, futureshop, shopserve, OrderSeed};
use mallsync_host::{AppOptions, Server};
use mallsync_rules::Cart;
use serde_json::{json, Value};

/// How the demo starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the app listens; `127.0.0.1:0` picks a free port (tests).
    pub listen: SocketAddr,
    /// Build the components first (spin.toml's build commands); off when they are built.
    pub build: bool,
    /// Run the app's cron schedule (every 5 minutes; auto-export and auto-fetch are off in the
    /// demo stores, so it finds nothing to do until the operator turns them on).
    pub cron: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            build: true,
            cron: true,
        }
    }
}

/// The fake carts the demo's stores talk to (kept running as long as the demo).
pub struct Fakes {
    pub bcart: bcart::FakeBcart,
    pub base: base::FakeBase,
    pub shopserve: shopserve::FakeShopserve,
    pub cscart: cscart::FakeCscart,
    pub futureshop: futureshop::FakeFutureshop,
}

impl Fakes {
    fn start() -> Fakes {
        Fakes {
            bcart: bcart::FakeBcart::start(),
            base: base::FakeBase::start(),
            shopserve: shopserve::FakeShopserve::start(),
            cscart: cscart::FakeCscart::start(),
            futureshop: futureshop::FakeFutureshop::start(),
        }
    }

    /// The fake standing in for `cart`'s API.
    pub fn url(&self, cart: Cart) -> &str {
        match cart {
            Cart::Bcart => self.bcart.url(),
            Cart::Base => self.base.url(),
            Cart::Shopserve => self.shopserve.url(),
            Cart::Cscart => self.cscart.url(),
            Cart::Futureshop => self.futureshop.url(),
        }
    }
}

/// A demo store.
#[derive(Debug, Clone)]
pub struct DemoStore {
    pub cart: Cart,
    pub id: String,
    pub name: String,
}

/// The running demo.
pub struct Demo {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base_url: String,
    /// The operator console: `<base_url>/console/`.
    pub console_url: String,
    /// The demo shop's API token: what the operator logs in to the console with.
    pub shop_id: String,
    pub shop_token: String,
    pub webhook_secret: String,
    pub admin_token: String,
    /// One store per cart, in `Cart::ALL` order.
    pub stores: Vec<DemoStore>,
    // Dropped in this order: the app first, then the fakes it calls, then its data.
    server: Option<(tokio::sync::oneshot::Sender<()>, JoinHandle<()>)>,
    pub fakes: Fakes,
    data_dir: tempfile::TempDir,
}

/// An answer from the app.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// Starts the fakes and the app, and sets up the demo shop, its stores and sample orders.
pub fn start(options: Options) -> Result<Demo> {
    let manifest = workspace_manifest();
    if options.build {
        mallsync_host::build_components(&manifest).context("building the components")?;
    }
    let fakes = Fakes::start();
    let data_dir = tempfile::tempdir().context("creating the demo's data directory")?;
    let admin_token = format!("demo-admin-{}", random_hex(16)?);
    let mut app_options = AppOptions {
        data_dir: data_dir.path().to_path_buf(),
        cron: options.cron,
        ..AppOptions::new(&manifest)
    };
    let variables = &mut app_options.variables;
    variables.insert("admin_token".into(), admin_token.clone());
    variables.insert("encryption_key".into(), random_hex(32)?);
    for cart in Cart::ALL {
        // The cart's API origin and its only allowed outbound host: the fake.
        variables.insert(
            format!("{}_api_origin", cart.slug()),
            fakes.url(cart).to_string(),
        );
    }
    let (server, addr) = serve(app_options, options.listen)?;
    let mut demo = Demo {
        base_url: format!("http://{addr}"),
        console_url: format!("http://{addr}/console/"),
        shop_id: String::new(),
        shop_token: String::new(),
        webhook_secret: String::new(),
        admin_token,
        stores: Vec::new(),
        server: Some(server),
        fakes,
        data_dir,
    };
    demo.set_up()?;
    Ok(demo)
}

/// The workspace's spin.toml (its component sources are relative to it).
pub fn workspace_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../spin.toml")
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| anyhow!("no random bytes: {e}"))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// Runs the app on a thread of its own (its own tokio runtime) until the sender is used.
#[allow(clippy::type_complexity)]
fn serve(
    options: AppOptions,
    listen: SocketAddr,
) -> Result<(
    (tokio::sync::oneshot::Sender<()>, JoinHandle<()>),
    SocketAddr,
)> {
    let (bound_tx, bound_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("mallsync-demo-host".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = bound_tx.send(Err(format!("starting a tokio runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                match Server::bind(&options, listen).await {
                    Ok(server) => {
                        let _ = bound_tx.send(Ok(server.local_addr()));
                        let stopped = async {
                            let _ = stop_rx.await;
                        };
                        if let Err(e) = server.run_until(stopped).await {
                            eprintln!("mallsync demo: the app stopped: {e:#}");
                        }
                    }
                    Err(e) => {
                        let _ = bound_tx.send(Err(format!("{e:#}")));
                    }
                }
            });
        })
        .context("starting the app's thread")?;
    match bound_rx.recv() {
        Ok(Ok(addr)) => Ok(((stop_tx, thread), addr)),
        Ok(Err(e)) => {
            let _ = thread.join();
            bail!("starting the app on {listen}: {e}")
        }
        Err(_) => {
            let _ = thread.join();
            bail!("the app's thread ended before it listened on {listen}")
        }
    }
}

fn now_jst() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&FixedOffset::east_opt(9 * 3600).expect("JST is a valid offset"))
}

fn jst_date(days_from_today: i64) -> String {
    (now_jst() + Duration::days(days_from_today))
        .format("%Y-%m-%d")
        .to_string()
}

/// One sample order: what it is, as the OMS posts it and as the cart holds it.
struct Sample {
    id: &'static str,
    status: &'static str,
    tracking: Option<&'static str>,
    /// Days from today (JST); `None`: no ship date yet.
    ship_in_days: Option<i64>,
    item: (&'static str, &'static str, u64),
    buyer: (&'static str, &'static str),
}

/// Orders with shipping data waiting for the operator: two ready to send, one still 新規受付,
/// one without a tracking number, one shipping in two days.
const SAMPLES: &[Sample] = &[
    Sample {
        id: "1001",
        status: "発送待ち",
        tracking: Some("4444-5555-6666"),
        ship_in_days: Some(0),
        item: ("11", "オーガニックコットンTシャツ", 3200),
        buyer: ("山田", "花子"),
    },
    Sample {
        id: "1002",
        status: "発送待ち",
        tracking: Some("7777-8888-9999"),
        ship_in_days: Some(0),
        item: ("12", "リネンエプロン", 4800),
        buyer: ("佐藤", "健"),
    },
    Sample {
        id: "1003",
        status: "新規受付",
        tracking: Some("1212-3434-5656"),
        ship_in_days: Some(0),
        item: ("13", "帆布トートバッグ", 2900),
        buyer: ("鈴木", "一郎"),
    },
    Sample {
        id: "1004",
        status: "発送待ち",
        tracking: None,
        ship_in_days: Some(0),
        item: ("14", "ウールソックス", 1200),
        buyer: ("高橋", "美咲"),
    },
    Sample {
        id: "1005",
        status: "処理中",
        tracking: Some("2468-1357-9024"),
        ship_in_days: Some(2),
        item: ("15", "マグカップ", 1800),
        buyer: ("田中", "翔"),
    },
];

/// Orders only the carts have: what データ取込 (import) brings in.
const IMPORT_ONLY: &[Sample] = &[
    Sample {
        id: "2001",
        status: "新規受付",
        tracking: None,
        ship_in_days: None,
        item: ("21", "ハンドタオル", 900),
        buyer: ("伊藤", "さくら"),
    },
    Sample {
        id: "2002",
        status: "新規受付",
        tracking: None,
        ship_in_days: None,
        item: ("22", "木製スプーン", 700),
        buyer: ("渡辺", "大輔"),
    },
];

impl Sample {
    fn seed(&self, cart: Cart) -> OrderSeed {
        let ordered_at = (now_jst() - Duration::days(3)).to_rfc3339();
        let (item_id, name, price) = self.item;
        let seed = OrderSeed::new(self.id, &ordered_at)
            .buyer(self.buyer.0, self.buyer.1)
            .item(item_id, name, 1, price);
        match cart {
            Cart::Bcart => seed.shipment(&format!("L{}", self.id), &[]),
            Cart::Futureshop => seed.shipment("1", &[item_id]),
            Cart::Shopserve => seed.status("処理中"),
            Cart::Base | Cart::Cscart => seed,
        }
    }

    /// The order as the OMS posts it to the store's webhook.
    fn oms_order(&self, cart: Cart) -> Value {
        let (item_id, _, _) = self.item;
        let mut order = json!({
            "order_id": self.id,
            "status": self.status,
            "ordered_at": (now_jst() - Duration::days(3)).to_rfc3339(),
            "updated_at": (now_jst() - Duration::hours(1)).to_rfc3339(),
            "carrier": "yamato",
            "items": [{ "item_id": item_id }],
        });
        if let Some(tracking) = self.tracking {
            order["tracking_numbers"] = json!([tracking]);
        }
        if let Some(days) = self.ship_in_days {
            order["ship_date"] = json!(jst_date(days));
        }
        match cart {
            Cart::Bcart => {
                order["shipments"] = json!([{ "shipment_id": format!("L{}", self.id) }]);
            }
            Cart::Futureshop => {
                order["shipments"] =
                    json!([{ "shipment_id": "1", "items": [{ "item_id": item_id }] }]);
            }
            Cart::Base | Cart::Shopserve | Cart::Cscart => {}
        }
        order
    }
}

impl Demo {
    /// One request to the app as the demo shop (`Authorization: Bearer <shop token>`); `path`
    /// is the full path, e.g. `/bcart/stores`.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Reply> {
        self.call_with(
            method,
            path,
            &[("authorization", &format!("Bearer {}", self.shop_token))],
            body.map(|b| b.to_string().into_bytes()),
        )
    }

    fn call_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .into();
        let url = format!("{}{path}", self.base_url);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .body(body.unwrap_or_default())
            .with_context(|| format!("building {method} {url}"))?;
        let response = agent
            .run(request)
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status().as_u16();
        let text = response
            .into_body()
            .read_to_string()
            .with_context(|| format!("reading the answer to {method} {url}"))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok(Reply { status, body })
    }

    fn expect(&self, reply: Reply, status: u16, what: &str) -> Result<Value> {
        if reply.status == status {
            Ok(reply.body)
        } else {
            bail!("{what}: HTTP {} {}", reply.status, reply.body)
        }
    }

    fn set_up(&mut self) -> Result<()> {
        let admin = format!("Bearer {}", self.admin_token);
        let shop = self.call_with(
            "POST",
            "/bcart/shops",
            &[("authorization", &admin)],
            Some(json!({ "name": "デモ商店" }).to_string().into_bytes()),
        )?;
        let shop = self.expect(shop, 201, "creating the demo shop")?;
        let text = |name: &str| -> Result<String> {
            shop[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("no {name} in {shop}"))
        };
        self.shop_id = text("id")?;
        self.shop_token = text("api_token")?;
        self.webhook_secret = text("webhook_secret")?;

        // BASE sends the operator's browser back to this app's callback after consent.
        let callback = format!("{}/base/oauth/callback", self.base_url);
        self.fakes
            .base
            .with_cart(|cart| cart.redirect_uri = callback.clone());

        for cart in Cart::ALL {
            for sample in SAMPLES.iter().chain(IMPORT_ONLY) {
                let seed = sample.seed(cart);
                match cart {
                    Cart::Bcart => self.fakes.bcart.seed_order(&seed),
                    Cart::Base => self.fakes.base.seed_order(&seed),
                    Cart::Shopserve => self.fakes.shopserve.seed_order(&seed),
                    Cart::Cscart => self.fakes.cscart.seed_order(&seed),
                    Cart::Futureshop => self.fakes.futureshop.seed_order(&seed),
                }
            }
            let name = format!("デモ {}店", cart.display_name());
            let settings = self.settings(cart, &callback);
            let store = self.call(
                "POST",
                &format!("/{}/stores", cart.slug()),
                Some(&json!({ "name": name, "settings": settings })),
            )?;
            let store = self.expect(store, 201, &format!("creating the {} store", cart.slug()))?;
            let id = store["id"]
                .as_str()
                .ok_or_else(|| anyhow!("no id in {store}"))?
                .to_string();
            self.stores.push(DemoStore { cart, id, name });
            let orders: Vec<Value> = SAMPLES.iter().map(|s| s.oms_order(cart)).collect();
            let delivered = self.post_orders(cart, &json!({ "orders": orders }))?;
            self.expect(
                delivered,
                200,
                &format!("posting the {} sample orders", cart.slug()),
            )?;
        }
        Ok(())
    }

    /// Credentials the fakes accept, auto-export off (orders wait for the operator).
    fn settings(&self, cart: Cart, base_callback: &str) -> Value {
        let credentials = match cart {
            Cart::Bcart => json!({ "access_token": bcart::ACCESS_TOKEN }),
            Cart::Base => json!({
                "client_id": base::CLIENT_ID,
                "client_secret": base::CLIENT_SECRET,
                "redirect_uri": base_callback,
            }),
            Cart::Shopserve => json!({
                "shop_id": shopserve::SHOP_ID,
                "manager_key": shopserve::MANAGER_KEY,
            }),
            Cart::Cscart => json!({
                "store_url": self.fakes.cscart.url(),
                "admin_email": cscart::ADMIN_EMAIL,
                "api_key": cscart::API_KEY,
            }),
            Cart::Futureshop => json!({
                "shop_key": futureshop::SHOP_KEY,
                "client_id": futureshop::CLIENT_ID,
                "client_secret": futureshop::CLIENT_SECRET,
                "api_base_url": self.fakes.futureshop.url(),
            }),
        };
        json!({ "credentials": credentials, "export": { "auto_export": false } })
    }

    /// Posts a batch (`{"orders": [...]}`) to the store on `cart` as the OMS does: the signed
    /// webhook, signed now with the shop's webhook secret.
    pub fn post_orders(&self, cart: Cart, batch: &Value) -> Result<Reply> {
        let store = self
            .store(cart)
            .ok_or_else(|| anyhow!("the demo has no {} store", cart.slug()))?;
        let body = batch.to_string().into_bytes();
        let signature =
            mallsync_sync::auth::sign(&self.webhook_secret, Utc::now().timestamp(), &body);
        self.call_with(
            "POST",
            &format!("/{}/stores/{}/orders", cart.slug(), store.id),
            &[(mallsync_sync::auth::HEADER_SIGNATURE, &signature)],
            Some(body),
        )
    }

    /// The store on `cart`.
    pub fn store(&self, cart: Cart) -> Option<&DemoStore> {
        self.stores.iter().find(|s| s.cart == cart)
    }

    /// Where the app keeps its key-value and SQLite files (removed with the demo).
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// What to tell the operator: the console, the token, the stores and the fakes.
    pub fn banner(&self) -> String {
        let mut text = format!(
            "mallsync demo is running.\n\n  Console:      {}\n  Shop token:   {}   (log in to the console with it)\n  Admin token:  {}\n  OpenAPI:      {}/bcart/openapi.json\n\n  Stores (auto-export off: the sample orders wait in 更新対象の確認 / データ書出):\n",
            self.console_url, self.shop_token, self.admin_token, self.base_url
        );
        for store in &self.stores {
            text.push_str(&format!(
                "    {:<12} {}  {}  (fake cart at {})\n",
                store.cart.slug(),
                store.id,
                store.name,
                self.fakes.url(store.cart)
            ));
        }
        text.push_str(
            "\n  BASE is not connected yet: press アクセスキー「取得する」 in モール詳細設定 (the fake BASE\n  consents at once).\n",
        );
        text
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.server.take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}
