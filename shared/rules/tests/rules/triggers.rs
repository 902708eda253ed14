//! Manual write-back ("update shipping info now") periods.

use mallsync_rules::Trigger;

#[test]
fn manual_period_is_1_to_365_days() {
    assert_eq!(
        Trigger::manual(1).unwrap(),
        Trigger::Manual { period_days: 1 }
    );
    assert_eq!(
        Trigger::manual(365).unwrap(),
        Trigger::Manual { period_days: 365 }
    );
    for bad in [-3, 0, 366, i64::MAX, i64::MIN] {
        let e = Trigger::manual(bad).unwrap_err();
        assert_eq!(e.field(), Some("period_days"), "{bad}");
    }
}

#[test]
fn a_manual_period_replaces_the_webhook_one() {
    assert_eq!(Trigger::manual(5).unwrap().period_days(Some(1)), Some(5));
    assert_eq!(Trigger::manual(5).unwrap().period_days(None), Some(5));
    assert_eq!(Trigger::Webhook.period_days(Some(1)), Some(1));
    assert_eq!(Trigger::Webhook.period_days(None), None);
}

#[test]
fn the_schedule_has_no_period_rule_so_work_left_over_is_never_forgotten() {
    assert_eq!(Trigger::Scheduled.period_days(Some(1)), None);
    assert_eq!(Trigger::Scheduled.period_days(None), None);
}
