//! Common behaviour: nothing already accepted is sent again unless the shipping data changed.

use mallsync_rules::{cscart, Cart, Ledger, Reason, Trigger};

use crate::helpers::*;

#[test]
fn nothing_already_accepted_with_the_same_data_is_planned_again() {
    for cart in Cart::ALL {
        let orders = [order("o").build()];
        let first = run(cart, &orders, &Ledger::new());
        assert!(!first.updates.is_empty(), "{cart:?}");
        let again = run(cart, &orders, &first.accepted_into(&Ledger::new()));
        assert!(again.updates.is_empty(), "{cart:?}");
        assert_eq!(again.reasons(), [Reason::AlreadyAccepted], "{cart:?}");
    }
}

#[test]
fn a_corrected_tracking_number_is_sent_again_except_to_base_which_cannot_change() {
    for cart in Cart::ALL {
        let first = run(cart, &[order("o").build()], &Ledger::new());
        let accepted = first.accepted_into(&Ledger::new());
        let corrected = run(cart, &[order("o").tracking("5555-6666").build()], &accepted);
        if cart == Cart::Base {
            assert!(corrected.updates.is_empty());
            assert_eq!(corrected.reasons(), [Reason::CartCannotChange]);
        } else {
            assert_eq!(corrected.updates.len(), 1, "{cart:?}");
            assert!(corrected.excluded.is_empty(), "{cart:?}");
        }
    }
}

#[test]
fn an_order_whose_shipments_are_partly_accepted_is_planned_for_the_rest() {
    let one = [order("o").shipments(vec![shipment("1", &["A"])]).build()];
    let two = [order("o")
        .shipments(vec![shipment("1", &["A"]), shipment("2", &["B"])])
        .build()];
    for cart in [Cart::Bcart, Cart::Base, Cart::Cscart] {
        let accepted = run(cart, &one, &Ledger::new()).accepted_into(&Ledger::new());
        let rest = run(cart, &two, &accepted);
        assert_eq!(rest.updates.len(), 1, "{cart:?}");
        assert!(rest.excluded.is_empty(), "{cart:?}");
    }
}

#[test]
fn a_redelivered_webhook_plans_nothing_the_second_time() {
    let orders = [order("o").build()];
    let first = cscart::plan_write_back(
        &Default::default(),
        &orders,
        Trigger::Webhook,
        &Ledger::new(),
        now(),
    );
    let mut ledger = Ledger::new();
    first.updates.iter().for_each(|u| ledger.record_update(u));
    let again = cscart::plan_write_back(
        &Default::default(),
        &orders,
        Trigger::Webhook,
        &ledger,
        now(),
    );
    assert!(again.updates.is_empty());
    assert_eq!(reason(&again, "o"), Some(Reason::AlreadyAccepted));
}
