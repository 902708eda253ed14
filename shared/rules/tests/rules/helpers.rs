//! One small order builder and clock for every test (and the bench).

#![allow(dead_code)] // each test binary uses a different part of it

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use mallsync_rules::plan::{DataHash, Exclusion, Plan, Reason, WriteBack};
use mallsync_rules::time::jst;
use mallsync_rules::{
    base, bcart, cscart, futureshop, shopserve, Carrier, Cart, ExportMode, Item, Ledger, OmsStatus,
    Order, Shipment, TrackingNumber, Trigger,
};

/// The tests' "now": 2026-11-23 12:00 in Japan (03:00 UTC).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

/// Today in Japan at `now()`.
pub fn today() -> NaiveDate {
    date(2026, 11, 23)
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// `now()` minus `ago`, as the OMS writes it (Japan time).
pub fn ago(ago: Duration) -> DateTime<FixedOffset> {
    (now() - ago).with_timezone(&jst())
}

pub fn tn(s: &str) -> TrackingNumber {
    TrackingNumber::parse(s).unwrap()
}

pub fn item(id: &str) -> Item {
    Item {
        item_id: id.into(),
        quantity: 1,
    }
}

/// A shipment without its own tracking number (it falls back to the order's).
pub fn shipment(id: &str, items: &[&str]) -> Shipment {
    Shipment {
        shipment_id: id.into(),
        tracking_number: None,
        items: items.iter().map(|i| item(i)).collect(),
    }
}

pub fn shipment_tracked(id: &str, tracking: &str, items: &[&str]) -> Shipment {
    Shipment {
        tracking_number: Some(tn(tracking)),
        ..shipment(id, items)
    }
}

/// An order every cart would send: 処理中, ordered a day ago, updated an hour ago, shipped today
/// with a tracking number by ヤマト, one shipment "1" holding item "A".
pub fn order(id: &str) -> OrderBuilder {
    OrderBuilder(Order {
        order_id: id.into(),
        status: OmsStatus::Processing,
        ordered_at: ago(Duration::days(1)),
        updated_at: Some(ago(Duration::hours(1))),
        ship_date: Some(today()),
        tracking_numbers: vec![tn("1234-5678-9012")],
        carrier: Some(Carrier::Yamato),
        requested_delivery_date: None,
        shipments: vec![shipment("1", &["A"])],
        items: Vec::new(),
    })
}

pub struct OrderBuilder(pub Order);

impl OrderBuilder {
    pub fn status(mut self, status: OmsStatus) -> Self {
        self.0.status = status;
        self
    }
    pub fn status_named(self, name: &str) -> Self {
        self.status(OmsStatus::from_name(name))
    }
    pub fn ordered_ago(mut self, d: Duration) -> Self {
        self.0.ordered_at = ago(d);
        self
    }
    pub fn updated_ago(mut self, d: Duration) -> Self {
        self.0.updated_at = Some(ago(d));
        self
    }
    pub fn never_updated(mut self) -> Self {
        self.0.updated_at = None;
        self
    }
    pub fn ship_date(mut self, d: NaiveDate) -> Self {
        self.0.ship_date = Some(d);
        self
    }
    pub fn no_ship_date(mut self) -> Self {
        self.0.ship_date = None;
        self
    }
    pub fn tracking(mut self, t: &str) -> Self {
        self.0.tracking_numbers = vec![tn(t)];
        self
    }
    pub fn no_tracking(mut self) -> Self {
        self.0.tracking_numbers.clear();
        self
    }
    pub fn carrier(mut self, c: Option<Carrier>) -> Self {
        self.0.carrier = c;
        self
    }
    pub fn requested_delivery(mut self, d: NaiveDate) -> Self {
        self.0.requested_delivery_date = Some(d);
        self
    }
    pub fn shipments(mut self, s: Vec<Shipment>) -> Self {
        self.0.shipments = s;
        self
    }
    pub fn items(mut self, ids: &[&str]) -> Self {
        self.0.items = ids.iter().map(|i| item(i)).collect();
        self
    }
    pub fn build(self) -> Order {
        self.0
    }
}

/// The one reason `order_id` was left out, or `None` if it was planned.
pub fn reason<U>(plan: &Plan<U>, order_id: &str) -> Option<Reason> {
    let mut reasons = plan.excluded.iter().filter(|e| e.order_id == order_id);
    let reason = reasons.next().map(|e| e.reason.clone());
    assert!(reasons.next().is_none(), "{order_id} excluded twice");
    reason
}

/// A plan of any cart, reduced to what cart-agnostic checks need.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// (order id, ledger key, data hash) of each planned update, in order.
    pub updates: Vec<(String, String, DataHash)>,
    pub excluded: Vec<Exclusion>,
}

impl Summary {
    fn of<U: WriteBack>(plan: Plan<U>) -> Summary {
        Summary {
            updates: plan
                .updates
                .iter()
                .map(|u| (u.order_id().to_string(), u.ledger_key(), u.data_hash()))
                .collect(),
            excluded: plan.excluded,
        }
    }

    /// `ledger` after the cart accepted every planned update.
    pub fn accepted_into(&self, ledger: &Ledger) -> Ledger {
        let mut accepted = ledger.clone();
        for (_, key, hash) in &self.updates {
            accepted.record(key.clone(), *hash);
        }
        accepted
    }

    pub fn reasons(&self) -> Vec<Reason> {
        self.excluded.iter().map(|e| e.reason.clone()).collect()
    }
}

/// Plans `orders` for `cart` with its default settings (and `mode` where the cart has one).
pub fn run_cart(
    cart: Cart,
    orders: &[Order],
    trigger: Trigger,
    mode: ExportMode,
    ledger: &Ledger,
) -> Summary {
    let at = now();
    match cart {
        Cart::Bcart => Summary::of(bcart::plan_write_back(
            &Default::default(),
            orders,
            trigger,
            ledger,
            at,
        )),
        Cart::Base => {
            let settings = base::BaseSettings {
                export_mode: mode,
                ..Default::default()
            };
            Summary::of(base::plan_write_back(
                &settings, orders, trigger, ledger, at,
            ))
        }
        Cart::Shopserve => Summary::of(shopserve::plan_write_back(
            &Default::default(),
            orders,
            trigger,
            ledger,
            at,
        )),
        Cart::Cscart => {
            let settings = cscart::CscartSettings {
                export_mode: mode,
                ..Default::default()
            };
            Summary::of(cscart::plan_write_back(
                &settings, orders, trigger, ledger, at,
            ))
        }
        Cart::Futureshop => Summary::of(futureshop::plan_write_back(
            &Default::default(),
            orders,
            trigger,
            ledger,
            at,
        )),
    }
}

/// A scheduled run with default settings.
pub fn run(cart: Cart, orders: &[Order], ledger: &Ledger) -> Summary {
    run_cart(
        cart,
        orders,
        Trigger::Scheduled,
        ExportMode::default(),
        ledger,
    )
}
