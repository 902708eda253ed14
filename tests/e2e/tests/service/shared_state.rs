//! Scaled out: two host instances share one Redis (key-value, through Spin's runtime config
//! `type = "redis"`) and one SQLite file, as replicas on SpinKube share Redis and libSQL. Webhook,
//! presses, dispatch calls and cron ticks on both overlap, and every buyer gets each 発送メール
//! exactly once.
//!
//! Needs `redis-server` on the PATH (`apt-get install redis-server`; .ci/run installs it). Without
//! it the test says so and passes, unless MALLSYNC_REQUIRE_REDIS is set (CI sets it).

use mallsync_fake_carts::{base, OrderSeed};
use mallsync_test_support::TestOptions;
use serde_json::{json, Value};
use std::{
    collections::BTreeSet,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::carts::connected_base_store;
use crate::helpers::{jst_date, jst_days_ago, order, spawn_app_with, ADMIN_TOKEN};

/// A redis-server of this test's own on a free loopback port, stopped when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Option<Redis> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if std::env::var_os("MALLSYNC_REQUIRE_REDIS").is_none() => {
                eprintln!("SKIPPED: redis-server could not start ({e}); install redis-server to run this test");
                return None;
            }
            Err(e) => panic!("MALLSYNC_REQUIRE_REDIS is set but redis-server could not start: {e}"),
        };
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis.cli(&["PING"]) != "PONG" {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(redis)
    }

    fn cli(&self, args: &[&str]) -> String {
        Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A runtime config in Spin's syntax: key-value on `redis`, SQLite in `sqlite_file`.
fn runtime_config(dir: &Path, redis: &Redis, sqlite_file: &Path) -> PathBuf {
    let path = dir.join("runtime-config.toml");
    std::fs::write(
        &path,
        format!(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:{}/0\"\n\n\
             [sqlite_database.default]\ntype = \"spin\"\npath = {:?}\n",
            redis.port,
            sqlite_file.display().to_string()
        ),
    )
    .unwrap();
    path
}

const ORDERS: usize = 30;

fn shipped_batch() -> Value {
    let today = jst_date(0);
    let orders: Vec<Value> = (0..ORDERS)
        .map(|i| {
            let mut o = order(
                &format!("R{i}"),
                "発送待ち",
                Some(&format!("5000-0000-{i:04}")),
                Some(&today),
            );
            o["items"] = json!([{ "item_id": format!("{i}a") }, { "item_id": format!("{i}b") }]);
            o
        })
        .collect();
    json!({ "orders": orders })
}

#[test]
fn two_hosts_on_one_redis_and_one_sqlite_file_send_each_dispatch_once_through_overlapping_runs() {
    let Some(redis) = Redis::start() else { return };
    let shared = tempfile::tempdir().unwrap();
    let config = runtime_config(shared.path(), &redis, &shared.path().join("mallsync.db"));
    let fake = base::FakeBase::start();
    for i in 0..ORDERS {
        fake.seed_order(
            &OrderSeed::new(&format!("R{i}"), &jst_days_ago(3))
                .item(&format!("{i}a"), "Tシャツ", 1, 1500)
                .item(&format!("{i}b"), "帽子", 1, 2000),
        );
    }
    let options = || {
        TestOptions::default()
            .runtime_config_file(&config)
            .with_cron("* * * * * *")
    };
    let a = spawn_app_with("base", fake.url(), options());
    let b = spawn_app_with("base", fake.url(), options());

    // Shop and store made on A, BASE connected through A: B sees them (one SQLite file), and the
    // OAuth tokens are in Redis, not in a key-value file of either host.
    let shop = a.create_shop();
    let store = connected_base_store(&a, &fake, &shop);
    let seen_by_b = b.call_as(&shop.token, "GET", &format!("/stores/{store}"), None);
    assert_eq!(seen_by_b.status, 200, "{}", seen_by_b.body);
    assert_ne!(redis.cli(&["DBSIZE"]), "0", "nothing was written to Redis");
    for app in [&a, &b] {
        assert!(!app.data_dir().join("sqlite_key_value.db").exists());
        assert!(!app.data_dir().join("sqlite_db.db").exists());
    }

    // Everything at once, on both hosts, while both run their cron every second.
    let batch = shipped_batch();
    std::thread::scope(|s| {
        s.spawn(|| {
            let reply = a.webhook(&store, &shop.webhook_secret, &batch);
            assert_eq!(reply.status, 200, "{}", reply.body);
        });
        for app in [&a, &b] {
            s.spawn(|| {
                for _ in 0..3 {
                    app.press(&shop, &store, 3);
                }
            });
            s.spawn(|| {
                for _ in 0..3 {
                    let reply = app.call_as(ADMIN_TOKEN, "POST", "/internal/dispatch", None);
                    assert_eq!(reply.status, 200, "{}", reply.body);
                }
            });
        }
    });
    // Whatever a run left over (a claim held by the other host), the next runs finish; then a few
    // more cron ticks on both must send nothing more.
    let expected = ORDERS * 2;
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.dispatch_emails_sent() < expected && Instant::now() < deadline {
        b.press(&shop, &store, 3);
        std::thread::sleep(Duration::from_millis(200));
    }
    let settled = fake.dispatch_emails_sent();
    std::thread::sleep(Duration::from_secs(3));
    a.press(&shop, &store, 3);
    b.press(&shop, &store, 3);

    let emails = fake.dispatch_emails();
    let distinct: BTreeSet<(String, String)> = emails
        .iter()
        .map(|e| (e.unique_key.clone(), e.order_item_id.clone()))
        .collect();
    assert_eq!(distinct.len(), expected, "every item dispatched");
    assert_eq!(emails.len(), expected, "a buyer got a 発送メール twice");
    assert_eq!(settled, expected);
    let refused: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| c.status == 429)
        .collect();
    assert!(refused.is_empty(), "over BASE's rate limit: {refused:?}");
}
