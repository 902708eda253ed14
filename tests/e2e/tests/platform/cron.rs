use crate::helpers::{send, spawn_app, spawn_app_with, test_options, ADMIN_TOKEN};
use mallsync_test_support::TestApp;
use std::time::{Duration, Instant};

fn runs(app: &TestApp) -> serde_json::Value {
    let reply = send(
        app.addr(),
        "GET",
        "/internal/dispatch",
        &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        b"",
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

#[test]
fn the_cron_trigger_runs_the_dispatcher_on_its_schedule() {
    let app = spawn_app_with(test_options().with_cron("* * * * * *"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut cron_runs = 0;
    while cron_runs < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        cron_runs = runs(&app)["runs"]["cron"].as_i64().unwrap_or(0);
    }
    assert!(
        cron_runs >= 2,
        "the dispatcher ran {cron_runs} times by cron in 10 s on a 1 s schedule"
    );
    assert_eq!(runs(&app)["last_run"]["trigger"], "cron");
}

#[test]
fn the_dispatch_route_runs_the_same_work_only_for_the_admin_token() {
    let app = spawn_app();
    let post = |auth: &str| {
        send(
            app.addr(),
            "POST",
            "/internal/dispatch",
            &[("authorization", auth)],
            b"",
        )
    };
    assert_eq!(
        send(app.addr(), "POST", "/internal/dispatch", &[], b"").status,
        401
    );
    assert_eq!(post("Bearer wrong-token").status, 401);
    assert_eq!(post(&format!("Bearer {ADMIN_TOKEN}x")).status, 401);

    let ran = post(&format!("Bearer {ADMIN_TOKEN}"));
    assert_eq!(ran.status, 200, "{}", ran.text());
    assert_eq!(ran.json()["trigger"], "http");
    assert_eq!(runs(&app)["runs"]["http"], 1);
    assert!(
        runs(&app)["runs"].get("cron").is_none(),
        "cron is off unless a test asks for it"
    );
}

#[test]
fn the_dispatch_route_is_off_while_admin_token_is_empty() {
    let app = spawn_app_with(test_options().variable("admin_token", ""));
    let reply = send(
        app.addr(),
        "POST",
        "/internal/dispatch",
        &[("authorization", "Bearer ")],
        b"",
    );
    assert_eq!(reply.status, 503, "{}", reply.text());
}
