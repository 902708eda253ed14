use crate::helpers::{get, spawn_app};

#[test]
fn a_panicking_request_gets_500_and_the_next_request_is_served() {
    let app = spawn_app();
    let crashed = get(&app, "/futureshop/__test/panic");
    assert_eq!(crashed.status, 500);
    let next = get(&app, "/futureshop/health");
    assert_eq!(next.status, 200, "{}", next.text());
    assert_eq!(next.json()["status"], "ok");
}
