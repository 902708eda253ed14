//! The Fermyon Cloud manifest (spin.cloud.toml) serves the same app: every cart route and the
//! dispatch route, with literal outbound hosts and no scheduler component.

use crate::helpers::{get, send, spawn_app_with, test_options, FakeUpstream, ADMIN_TOKEN, CARTS};
use mallsync_test_support::workspace_manifest;

#[test]
fn the_cloud_manifest_serves_every_cart_and_the_dispatch_route_and_keeps_its_literal_hosts() {
    let cloud = workspace_manifest().with_file_name("spin.cloud.toml");
    let upstream = FakeUpstream::start("should never be reached");
    // Setting the origin variable does not widen the Cloud manifest's written-out hosts.
    let app = spawn_app_with(
        test_options()
            .manifest(cloud)
            .variable("bcart_api_origin", upstream.origin()),
    );
    for cart in CARTS {
        let reply = get(&app, &format!("/{cart}/health"));
        assert_eq!(reply.status, 200, "{cart}: {}", reply.text());
    }
    let ran = send(
        app.addr(),
        "POST",
        "/internal/dispatch",
        &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        b"",
    );
    assert_eq!(ran.status, 200, "{}", ran.text());
    assert_eq!(ran.json()["trigger"], "http");
    let refused = get(
        &app,
        &format!("/bcart/__test/outbound?url={}/ping", upstream.origin()),
    );
    assert_eq!(refused.status, 502, "{}", refused.text());
    assert!(
        refused.text().contains("HttpRequestDenied"),
        "{}",
        refused.text()
    );
    assert_eq!(upstream.hits(), 0);
}
