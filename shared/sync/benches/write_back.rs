//! mallsync's own cost, measured natively (release): a write-back of 10,000 orders against a cart
//! that answers at once, and the planning query over 1,000,000 stored orders of one store.
//!
//! `cargo bench -p mallsync-sync --bench write_back` (figures in the service README section).

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use mallsync_carts::bcart::Bcart;
use mallsync_rules::{Order, Trigger};
use mallsync_sync::native::NativeIo;
use mallsync_sync::shops::{self, Store};
use mallsync_sync::{orders, schema, write_back, Io};

const WRITE_BACK_ORDERS: usize = 10_000;
const STORED_ORDERS: usize = 1_000_000;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

/// A cart that accepts everything at once: what remains is mallsync's own time.
fn instant_cart() -> NativeIo {
    NativeIo::in_memory(now(), |_request| {
        Ok(http::Response::builder()
            .status(200)
            .body(b"{}".to_vec())
            .unwrap())
    })
    .unwrap()
}

fn bcart_store(io: &NativeIo) -> Store {
    schema::ensure(io).unwrap();
    let shop = shops::create_shop(io, "bench").unwrap();
    let settings = mallsync_rules::StoreSettings::from_json(
        br#"{"cart":"bcart","credentials":{"access_token":"t"}}"#,
    )
    .unwrap();
    shops::create_store(io, &shop.shop.id, "bench", settings).unwrap()
}

/// An order ready to write back, updated `age` before `now()`.
fn order(i: usize, age: chrono::Duration) -> Order {
    let updated = (now() - age).with_timezone(&mallsync_rules::time::jst());
    serde_json::from_value(serde_json::json!({
        "order_id": format!("O{i:07}"),
        "status": "発送待ち",
        "ordered_at": (now() - chrono::Duration::days(1)).with_timezone(&mallsync_rules::time::jst()),
        "updated_at": updated,
        "ship_date": "2026-11-22",
        "tracking_numbers": [format!("{:012}", i)],
        "carrier": "yamato",
        "shipments": [{ "shipment_id": format!("L{i}") }],
        "items": [{ "item_id": format!("I{i}"), "quantity": 1 }],
    }))
    .unwrap()
}

fn bench_write_back() {
    let io = instant_cart();
    let store = bcart_store(&io);
    let batch: Vec<Order> = (0..WRITE_BACK_ORDERS)
        .map(|i| order(i, chrono::Duration::hours(1)))
        .collect();
    orders::upsert(&io, &store.id, batch.clone()).unwrap();
    let deadline = now() + chrono::Duration::days(1);
    let started = Instant::now();
    let report = write_back::run::<Bcart>(
        &io,
        &store,
        Trigger::Manual { period_days: 3 },
        &batch,
        deadline,
    )
    .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(report.sent, WRITE_BACK_ORDERS, "{:?}", report.stopped);
    println!(
        "write-back: {WRITE_BACK_ORDERS} orders sent in {:.1} ms = {:.1} µs of mallsync's own time per order (plan, claim, build, ledger, run log; the cart answers at once)",
        ms(elapsed),
        elapsed.as_secs_f64() * 1e6 / WRITE_BACK_ORDERS as f64
    );
}

fn bench_planning_query() {
    let io = instant_cart();
    let store = bcart_store(&io);
    // One store's year: orders updated evenly over the last 365 days.
    let fill = Instant::now();
    io.sql("BEGIN", &[]).unwrap();
    for chunk in (0..STORED_ORDERS).collect::<Vec<_>>().chunks(10_000) {
        let batch: Vec<Order> = chunk
            .iter()
            .map(|&i| {
                order(
                    i,
                    chrono::Duration::seconds((i as i64 * 31_536) % 31_536_000),
                )
            })
            .collect();
        orders::upsert(&io, &store.id, batch).unwrap();
    }
    io.sql("COMMIT", &[]).unwrap();
    println!(
        "setup: {STORED_ORDERS} orders stored in {:.1} s",
        fill.elapsed().as_secs_f64()
    );
    let mut raw = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let rows = io
            .sql(
                "SELECT order_id, body FROM orders WHERE store_id = ? AND updated_at >= ?",
                &[
                    store.id.clone().into(),
                    (now() - chrono::Duration::days(3)).timestamp().into(),
                ],
            )
            .unwrap();
        raw.push((started.elapsed(), rows.rows.len()));
    }
    raw.sort();
    println!(
        "planning query (SQL only): {} rows of {STORED_ORDERS} in {:.1} ms (median of 5)",
        raw[2].1,
        ms(raw[2].0)
    );
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let window = orders::updated_within(&io, &store.id, 3, now()).unwrap();
        times.push(started.elapsed());
        found = window.len();
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "planning query: {found} of {STORED_ORDERS} orders (updated within 3 days) loaded and parsed in {:.1} ms (median of 5; best {:.1} ms)",
        ms(median),
        ms(times[0])
    );
    let orders = orders::updated_within(&io, &store.id, 3, now()).unwrap();
    let settings = match &store.settings {
        mallsync_rules::StoreSettings::Bcart(s) => s.clone(),
        _ => unreachable!("the bench store is a Bカート store"),
    };
    let started = Instant::now();
    let plan = mallsync_rules::bcart::plan_write_back(
        &settings,
        &orders,
        Trigger::Manual { period_days: 3 },
        &mallsync_rules::Ledger::new(),
        now(),
    );
    println!(
        "planning: {} updates planned in {:.1} ms",
        plan.updates.len(),
        ms(started.elapsed())
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    bench_write_back();
    bench_planning_query();
}
