//! Plans 100,000 orders per cart (a realistic mix) and prints milliseconds per 100,000 orders:
//! once against an empty ledger, once against a ledger holding the first run's result.
//! Run: `cargo bench -p mallsync-rules` (or `-- base cscart` for some carts only).

#[path = "../tests/rules/helpers.rs"]
mod helpers;

use std::hint::black_box;
use std::time::{Duration as Elapsed, Instant};

use chrono::Duration;
use helpers::{now, order, run_cart, shipment, shipment_tracked, today};
use mallsync_rules::{
    base, bcart, cscart, futureshop, shopserve, Cart, ExportMode, Ledger, OmsStatus, Order, Trigger,
};

const ORDERS: usize = 100_000;
const RUNS: usize = 5;

/// xorshift64: the same "random" mix on every run and machine.
struct Mix(u64);

impl Mix {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Mostly orders in progress, some new, cancelled or on hold; a fifth without a tracking number
/// yet; one or two shipments of one to three items; up to 200 days old.
fn orders() -> Vec<Order> {
    let mut mix = Mix(0x9E37_79B9_7F4A_7C15);
    (0..ORDERS)
        .map(|i| {
            let status = match mix.below(20) {
                0 | 1 => OmsStatus::New,
                2 => OmsStatus::Cancelled,
                3 => OmsStatus::OnHold,
                4..=9 => OmsStatus::Processing,
                10..=13 => OmsStatus::AwaitingShipment,
                14..=18 => OmsStatus::Processed,
                _ => OmsStatus::Custom("ピック済".into()),
            };
            let shipments = (0..1 + mix.below(2))
                .map(|s| {
                    let id = (s + 1).to_string();
                    let items: Vec<String> = (0..1 + mix.below(3))
                        .map(|n| format!("{i}-{s}-{n}"))
                        .collect();
                    let items: Vec<&str> = items.iter().map(String::as_str).collect();
                    if mix.below(4) == 0 {
                        shipment_tracked(&id, &format!("{i}{s}"), &items)
                    } else {
                        shipment(&id, &items)
                    }
                })
                .collect();
            let mut o = order(&format!("{i}"))
                .status(status)
                .ordered_ago(Duration::hours(mix.below(200 * 24) as i64))
                .ship_date(today() + Duration::days(mix.below(6) as i64 - 3))
                .shipments(shipments);
            o = if mix.below(10) < 8 {
                o.tracking(&format!("{:012}", mix.below(1_000_000_000_000)))
            } else {
                o.no_tracking()
            };
            o = if mix.below(5) == 0 {
                o.never_updated()
            } else {
                o.updated_ago(Duration::minutes(mix.below(10 * 24 * 60) as i64))
            };
            o.build()
        })
        .collect()
}

/// This thread's time on a CPU so far (Linux), so a busy machine does not inflate the figures.
fn cpu_time() -> Option<Elapsed> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Elapsed::from_nanos(ns))
}

/// The fastest of `RUNS` runs of `plan` in milliseconds per 100,000 orders: (wall, CPU).
fn fastest(plan: impl Fn() -> usize) -> (f64, Option<f64>) {
    let per_100k = |d: Elapsed| d.as_secs_f64() * 1000.0 * 100_000.0 / ORDERS as f64;
    let mut wall = Elapsed::MAX;
    let mut cpu: Option<Elapsed> = None;
    for _ in 0..RUNS {
        let (start, start_cpu) = (Instant::now(), cpu_time());
        black_box(plan());
        wall = wall.min(start.elapsed());
        if let (Some(a), Some(b)) = (start_cpu, cpu_time()) {
            cpu = Some(cpu.map_or(b - a, |c| c.min(b - a)));
        }
    }
    (per_100k(wall), cpu.map(per_100k))
}

fn show((wall, cpu): (f64, Option<f64>)) -> String {
    match cpu {
        Some(cpu) => format!("{cpu:.1} ({wall:.1})"),
        None => format!("- ({wall:.1})"),
    }
}

/// One cart's planner with its default settings: the number of updates planned.
fn plan(cart: Cart, orders: &[Order], ledger: &Ledger) -> usize {
    let (t, at) = (Trigger::Scheduled, now());
    match cart {
        Cart::Bcart => bcart::plan_write_back(&Default::default(), orders, t, ledger, at)
            .updates
            .len(),
        Cart::Base => base::plan_write_back(&Default::default(), orders, t, ledger, at)
            .updates
            .len(),
        Cart::Shopserve => shopserve::plan_write_back(&Default::default(), orders, t, ledger, at)
            .updates
            .len(),
        Cart::Cscart => cscart::plan_write_back(&Default::default(), orders, t, ledger, at)
            .updates
            .len(),
        Cart::Futureshop => futureshop::plan_write_back(&Default::default(), orders, t, ledger, at)
            .updates
            .len(),
    }
}

fn main() {
    let orders = orders();
    println!("ms per 100,000 orders, fastest of {RUNS} runs: CPU time (wall time)");
    println!(
        "{:<12}{:>18}{:>18}{:>10}",
        "cart", "empty ledger", "ledger of run 1", "planned"
    );
    // cargo passes `--bench`; any other argument names a cart to run.
    let chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let carts = Cart::ALL
        .into_iter()
        .filter(|c| chosen.is_empty() || chosen.iter().any(|a| a == c.slug()));
    for cart in carts {
        let first = run_cart(
            cart,
            &orders,
            Trigger::Scheduled,
            ExportMode::default(),
            &Ledger::new(),
        );
        let accepted = first.accepted_into(&Ledger::new());
        let empty = fastest(|| plan(cart, black_box(&orders), &Ledger::new()));
        let again = fastest(|| plan(cart, black_box(&orders), &accepted));
        println!(
            "{:<12}{:>18}{:>18}{:>10}",
            cart.slug(),
            show(empty),
            show(again),
            first.updates.len()
        );
    }
}
