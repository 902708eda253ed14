//! Properties every planner keeps, over generated orders.

use chrono::Duration;
use mallsync_rules::{Cart, ExportMode, Ledger, OmsStatus, Order, Reason, Trigger};
use proptest::prelude::*;

use crate::helpers::*;

fn status() -> impl Strategy<Value = OmsStatus> {
    prop_oneof![
        4 => proptest::sample::select(OmsStatus::KNOWN.to_vec()),
        1 => "[a-zピック済]{1,4}".prop_map(|name| OmsStatus::from_name(&name)),
    ]
}

fn shipments() -> impl Strategy<Value = Vec<mallsync_rules::Shipment>> {
    proptest::collection::vec((any::<bool>(), any::<bool>(), 0..3usize), 0..3).prop_map(|specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (numbered, tracked, items))| {
                let id = if numbered {
                    (i + 1).to_string()
                } else {
                    format!("s{i}")
                };
                let items: Vec<String> = (0..items).map(|n| format!("{id}-{n}")).collect();
                let items: Vec<&str> = items.iter().map(String::as_str).collect();
                if tracked {
                    shipment_tracked(&id, &format!("T{i}"), &items)
                } else {
                    shipment(&id, &items)
                }
            })
            .collect()
    })
}

prop_compose! {
    fn an_order(id: usize)(
        status in status(),
        ordered_mins in 0..(400 * 24 * 60i64),
        updated_mins in proptest::option::of(0..(10 * 24 * 60i64)),
        ship_offset in proptest::option::of(-5..5i64),
        tracked in any::<bool>(),
        shipments in shipments(),
        items in 0..3usize,
        requested in proptest::option::of(0..10i64),
    ) -> Order {
        let mut o = order(&format!("o{id}"))
            .status(status)
            .ordered_ago(Duration::minutes(ordered_mins))
            .shipments(shipments);
        o = match updated_mins {
            Some(m) => o.updated_ago(Duration::minutes(m.min(ordered_mins))),
            None => o.never_updated(),
        };
        o = match ship_offset {
            Some(d) => o.ship_date(today() + Duration::days(d)),
            None => o.no_ship_date(),
        };
        if !tracked {
            o = o.no_tracking();
        }
        if let Some(d) = requested {
            o = o.requested_delivery(today() + Duration::days(d));
        }
        let item_ids: Vec<String> = (0..items).map(|n| format!("item-{n}")).collect();
        o.items(&item_ids.iter().map(String::as_str).collect::<Vec<_>>()).build()
    }
}

fn orders() -> impl Strategy<Value = Vec<Order>> {
    (0..25usize).prop_flat_map(|n| (0..n).map(an_order).collect::<Vec<_>>())
}

fn trigger() -> impl Strategy<Value = Trigger> {
    prop_oneof![
        Just(Trigger::Scheduled),
        Just(Trigger::Webhook),
        (1..30u32).prop_map(|period_days| Trigger::Manual { period_days }),
        // Built directly or deserialized, a trigger may skip `Trigger::manual`'s checks.
        any::<u32>().prop_map(|period_days| Trigger::Manual { period_days }),
    ]
}

fn mode() -> impl Strategy<Value = ExportMode> {
    prop_oneof![
        Just(ExportMode::ExceptUnprocessed),
        Just(ExportMode::OnlyProcessed)
    ]
}

proptest! {
    #[test]
    fn every_planner_is_deterministic(orders in orders(), trigger in trigger(), mode in mode()) {
        for cart in Cart::ALL {
            let first = run_cart(cart, &orders, trigger, mode, &Ledger::new());
            prop_assert_eq!(&first, &run_cart(cart, &orders, trigger, mode, &Ledger::new()));
        }
    }

    #[test]
    fn no_cart_is_ever_sent_a_cancelled_order(orders in orders(), trigger in trigger(), mode in mode()) {
        for cart in Cart::ALL {
            let plan = run_cart(cart, &orders, trigger, mode, &Ledger::new());
            for (order_id, _, _) in &plan.updates {
                let order = orders.iter().find(|o| &o.order_id == order_id).unwrap();
                prop_assert_ne!(&order.status, &OmsStatus::Cancelled, "{:?}", cart);
            }
        }
    }

    #[test]
    fn every_order_is_either_planned_or_excluded_once(orders in orders(), trigger in trigger(), mode in mode()) {
        for cart in Cart::ALL {
            let plan = run_cart(cart, &orders, trigger, mode, &Ledger::new());
            for order in &orders {
                let planned = plan.updates.iter().any(|(id, _, _)| *id == order.order_id);
                let excluded = plan.excluded.iter().filter(|e| e.order_id == order.order_id).count();
                prop_assert_eq!(usize::from(planned) + excluded, 1, "{:?} {}", cart, order.order_id);
            }
            prop_assert!(plan.updates.iter().all(|(id, _, _)| orders.iter().any(|o| &o.order_id == id)));
        }
    }

    #[test]
    fn a_plan_run_again_against_its_own_accepted_result_plans_nothing(
        orders in orders(), trigger in trigger(), mode in mode()
    ) {
        for cart in Cart::ALL {
            let first = run_cart(cart, &orders, trigger, mode, &Ledger::new());
            let ledger = first.accepted_into(&Ledger::new());
            let again = run_cart(cart, &orders, trigger, mode, &ledger);
            prop_assert!(again.updates.is_empty(), "{:?}", cart);
            // What was sent is now already accepted; everything else keeps its reason.
            for e in &again.excluded {
                let was_planned = first.updates.iter().any(|(id, _, _)| *id == e.order_id);
                if was_planned {
                    prop_assert_eq!(&e.reason, &Reason::AlreadyAccepted);
                } else {
                    prop_assert!(first.excluded.contains(e));
                }
            }
        }
    }
}
