use crate::helpers::{get, put, spawn_app};

#[test]
fn a_key_value_written_by_one_request_is_read_by_the_next_and_survives_a_restart() {
    let app = spawn_app();
    assert_eq!(get(&app, "/base/__test/kv/cursor").status, 404);
    assert_eq!(
        put(&app, "/base/__test/kv/cursor", b"2026-11-23T10:00:00Z").status,
        204
    );
    assert_eq!(
        get(&app, "/base/__test/kv/cursor").text(),
        "2026-11-23T10:00:00Z"
    );

    let app = app.restart().expect("restarting the app");
    let reply = get(&app, "/base/__test/kv/cursor");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "2026-11-23T10:00:00Z");
}

#[test]
fn a_sqlite_row_written_by_one_request_is_read_by_the_next_and_survives_a_restart() {
    let app = spawn_app();
    assert_eq!(
        put(&app, "/shopserve/__test/sqlite/order-1", b"shipped").status,
        204
    );
    assert_eq!(
        put(&app, "/shopserve/__test/sqlite/order-1", b"delivered").status,
        204
    );
    assert_eq!(
        get(&app, "/shopserve/__test/sqlite/order-1").text(),
        "delivered"
    );

    let app = app.restart().expect("restarting the app");
    assert_eq!(
        get(&app, "/shopserve/__test/sqlite/order-1").text(),
        "delivered"
    );
    assert_eq!(get(&app, "/shopserve/__test/sqlite/order-2").status, 404);
}

#[test]
fn the_data_lives_in_spin_compatible_files_in_the_apps_data_dir() {
    let app = spawn_app();
    assert_eq!(put(&app, "/bcart/__test/kv/k", b"v").status, 204);
    assert_eq!(put(&app, "/bcart/__test/sqlite/k", b"v").status, 204);
    assert!(app.data_dir().join("sqlite_key_value.db").is_file());
    assert!(app.data_dir().join("sqlite_db.db").is_file());
}
