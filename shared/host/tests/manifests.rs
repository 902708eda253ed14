//! Every manifest mallsync ships is one a runtime accepts: spin.toml (spin up, mallsync-host), the
//! Fermyon Cloud manifest, the SpinKube app, the runtime configs and the schedules outside Spin.

use mallsync_host::{
    check_manifest,
    cloud::{cloud_manifest, CLOUD_MANIFEST},
    manifest::Manifest,
    runtime_config::{KeyValueBackend, RuntimeConfig, SqliteBackend},
    variables::AppVariables,
};
use mallsync_test_support::workspace_manifest;
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

const CARTS: [&str; 5] = ["bcart", "base", "shopserve", "cscart", "futureshop"];
/// The components that work for every cart (the dispatch route and the cron schedule).
const ALL_CART_COMPONENTS: [&str; 2] = ["dispatcher", "scheduler"];

fn root() -> PathBuf {
    workspace_manifest()
        .parent()
        .expect("spin.toml has a directory")
        .to_path_buf()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn load(path: &str) -> Manifest {
    Manifest::load(&root().join(path)).unwrap_or_else(|e| panic!("{path}: {e:#}"))
}

/// The variables' defaults; required secrets (set on each platform, never in a file) stay unset.
fn defaults(manifest: &Manifest) -> AppVariables {
    let required = manifest.required_variables();
    AppVariables::resolve_deferring(manifest, &BTreeMap::new(), &[], &required).unwrap()
}

fn cron_components(manifest: &Manifest) -> BTreeSet<String> {
    manifest
        .trigger
        .cron
        .iter()
        .map(|t| t.component.clone())
        .collect()
}

fn http_components(manifest: &Manifest) -> BTreeSet<String> {
    manifest
        .trigger
        .http
        .iter()
        .map(|t| t.component.clone())
        .collect()
}

#[test]
fn every_manifest_the_app_ships_parses_and_resolves_with_its_defaults() {
    for path in ["spin.toml", CLOUD_MANIFEST] {
        check_manifest(&root().join(path), &BTreeMap::new())
            .unwrap_or_else(|e| panic!("{path}: {e:#}"));
    }
}

#[test]
fn the_cron_trigger_owns_a_component_of_its_own_with_no_http_route() {
    let spin = load("spin.toml");
    assert_eq!(
        cron_components(&spin),
        BTreeSet::from(["scheduler".to_string()])
    );
    assert!(http_components(&spin).is_disjoint(&cron_components(&spin)));
    let dispatch_route = spin
        .trigger
        .http
        .iter()
        .find(|t| t.route == "/internal/dispatch")
        .expect("a /internal/dispatch route");
    assert_eq!(dispatch_route.component, "dispatcher");
}

#[test]
fn the_checked_in_cloud_manifest_is_what_spin_toml_generates() {
    let spin = load("spin.toml");
    let generated = cloud_manifest(&read("spin.toml"), &defaults(&spin)).unwrap();
    assert!(
        read(CLOUD_MANIFEST) == generated,
        "{CLOUD_MANIFEST} is stale: run `cargo run -p mallsync-host -- cloud-manifest`"
    );
}

#[test]
fn the_cloud_manifest_is_spin_toml_without_cron_and_with_every_host_written_out() {
    let spin = load("spin.toml");
    let cloud = load(CLOUD_MANIFEST);
    let vars = defaults(&spin);

    assert!(
        cloud.trigger.cron.is_empty(),
        "Cloud runs HTTP triggers only"
    );
    let routes = |m: &Manifest| -> Vec<(String, String)> {
        m.trigger
            .http
            .iter()
            .map(|t| (t.route.clone(), t.component.clone()))
            .collect()
    };
    assert_eq!(routes(&cloud), routes(&spin));
    assert_eq!(
        cloud.variables.keys().collect::<Vec<_>>(),
        spin.variables.keys().collect::<Vec<_>>()
    );
    let expected: BTreeSet<&String> = spin
        .component
        .keys()
        .filter(|id| !cron_components(&spin).contains(*id))
        .collect();
    assert_eq!(cloud.component.keys().collect::<BTreeSet<_>>(), expected);
    for (id, c) in &cloud.component {
        let local = &spin.component[id];
        assert_eq!(c.source, local.source, "{id}");
        assert_eq!(c.key_value_stores, local.key_value_stores, "{id}");
        assert_eq!(c.sqlite_databases, local.sqlite_databases, "{id}");
        assert_eq!(c.variables, local.variables, "{id}");
        // The console reaches no host; every other component reaches its carts.
        assert_eq!(
            c.allowed_outbound_hosts.is_empty(),
            local.allowed_outbound_hosts.is_empty(),
            "{id}"
        );
        for (host, template) in c
            .allowed_outbound_hosts
            .iter()
            .zip(&local.allowed_outbound_hosts)
        {
            assert!(!host.contains("{{"), "{id}: {host} is still a template");
            assert_eq!(host, &vars.expand(template).unwrap(), "{id}");
        }
    }
}

#[test]
fn a_cloud_manifest_for_another_futureshop_domain_allows_exactly_that_domain() {
    let spin = load("spin.toml");
    let required = spin.required_variables();
    let vars = AppVariables::resolve_deferring(
        &spin,
        &BTreeMap::from([(
            "futureshop_api_origin".to_string(),
            "https://api.shop-x.future-shop.net".to_string(),
        )]),
        &[],
        &required,
    )
    .unwrap();
    let text = cloud_manifest(&read("spin.toml"), &vars).unwrap();
    let cloud: Manifest = toml::from_str(&text).unwrap();
    assert_eq!(
        cloud.component["futureshop"].allowed_outbound_hosts,
        [
            "https://api.shop-x.future-shop.net",
            "https://hooks.slack.com"
        ]
    );
    assert!(cloud.component["dispatcher"]
        .allowed_outbound_hosts
        .contains(&"https://api.shop-x.future-shop.net".to_string()));
    assert_eq!(
        cloud.component["bcart"].allowed_outbound_hosts,
        ["https://api.bcart.jp", "https://hooks.slack.com"]
    );
}

#[test]
fn each_component_may_reach_only_what_its_cart_needs() {
    let spin = load("spin.toml");
    let cloud = load(CLOUD_MANIFEST);
    let vars = defaults(&spin);
    let origin = |cart: &str| format!("{{{{ {cart}_api_origin }}}}");
    for (id, c) in &spin.component {
        // Every component may also send notifications (its own hosts, then the notification one).
        let notify = "{{ notification_origin }}".to_string();
        let expected: Vec<String> = if CARTS.contains(&id.as_str()) {
            vec![origin(id), notify]
        } else if ALL_CART_COMPONENTS.contains(&id.as_str()) {
            CARTS
                .iter()
                .map(|cart| origin(cart))
                .chain([notify])
                .collect()
        } else if id == "console" {
            // It only serves its own files (it sends no notifications); the browser calls the
            // cart routes.
            Vec::new()
        } else {
            panic!(
                "component {id} is neither a cart nor the dispatcher/scheduler: add its hosts here"
            )
        };
        assert_eq!(
            c.allowed_outbound_hosts, expected,
            "spin.toml component {id}"
        );
        if let Some(cloud_component) = cloud.component.get(id) {
            let written_out: Vec<String> =
                expected.iter().map(|t| vars.expand(t).unwrap()).collect();
            assert_eq!(
                cloud_component.allowed_outbound_hosts, written_out,
                "{CLOUD_MANIFEST} component {id}"
            );
        }
    }
    // Only CS-Cart, which runs on each shop's own domain, is open to any https host by default.
    for cart in CARTS {
        let default = spin.variables[&format!("{cart}_api_origin")]
            .default
            .clone()
            .unwrap();
        assert!(default.starts_with("https://"), "{cart}: {default}");
        assert_eq!(default.contains('*'), cart == "cscart", "{cart}: {default}");
    }
}

/// The items of a block-style YAML list `key:` directly under `spec:` (the file is plain enough
/// that this is the whole of the YAML it needs).
fn yaml_list(yaml: &str, key: &str) -> Vec<String> {
    let header = format!("  {key}:");
    let mut lines = yaml.lines().skip_while(|l| l.trim_end() != header).skip(1);
    let mut items = Vec::new();
    for line in lines.by_ref() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        match line.strip_prefix("    - ") {
            Some(item) => items.push(item.trim().trim_matches('"').to_string()),
            None => break,
        }
    }
    items
}

fn yaml_value<'y>(yaml: &'y str, key: &str) -> Option<&'y str> {
    yaml.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().trim_matches('"'))
}

#[test]
fn the_spinkube_app_runs_every_http_component_and_no_cron_one() {
    let spin = load("spin.toml");
    let app = read("deploy/kubernetes/spinapp.yaml");
    let components: BTreeSet<String> = yaml_list(&app, "components").into_iter().collect();
    assert!(!components.is_empty(), "spinapp.yaml lists no components");
    for id in &components {
        assert!(
            spin.component.contains_key(id),
            "spinapp.yaml names {id}, which spin.toml lacks"
        );
    }
    assert!(
        components.is_disjoint(&cron_components(&spin)),
        "the shim refuses a cron component: {components:?}"
    );
    assert_eq!(
        components,
        http_components(&spin),
        "every HTTP route must be served"
    );
    assert_eq!(yaml_value(&app, "executor"), Some("containerd-shim-spin"));
    assert_eq!(yaml_value(&app, "kind"), Some("SpinApp"));

    let secret_name = yaml_value(&app, "loadFromSecret").expect("runtimeConfig.loadFromSecret");
    let secret = read("deploy/kubernetes/runtime-config-secret.yaml");
    assert_eq!(yaml_value(&secret, "name"), Some(secret_name));
}

/// The TOML inside the Secret's `runtime-config.toml: |` block.
fn embedded_runtime_config(secret: &str) -> String {
    secret
        .lines()
        .skip_while(|l| l.trim() != "runtime-config.toml: |")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_runtime_configs_use_spins_syntax_for_redis_and_libsql() {
    let data = Path::new("/data");
    let base = root().join("deploy");
    for (name, text) in [
        (
            "deploy/runtime-config.toml",
            read("deploy/runtime-config.toml"),
        ),
        (
            "deploy/kubernetes/runtime-config-secret.yaml",
            embedded_runtime_config(&read("deploy/kubernetes/runtime-config-secret.yaml")),
        ),
    ] {
        let config =
            RuntimeConfig::parse(&text, &base, data).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        assert!(
            matches!(config.key_value, KeyValueBackend::Redis { .. }),
            "{name}"
        );
        assert!(
            matches!(config.sqlite, SqliteBackend::LibSql { .. }),
            "{name}"
        );
    }
    let local =
        RuntimeConfig::parse(&read("deploy/runtime-config.local.toml"), &base, data).unwrap();
    assert_eq!(
        local.key_value,
        KeyValueBackend::Redis {
            url: "redis://127.0.0.1:6379/0".into()
        }
    );
    assert_eq!(
        local.sqlite,
        SqliteBackend::Spin {
            path: ".spin/sqlite_db.db".into()
        }
    );
}

#[test]
fn the_schedules_outside_spin_post_the_dispatch_route_without_overlapping_jobs() {
    let cronjob = read("deploy/kubernetes/dispatch-cronjob.yaml");
    assert_eq!(yaml_value(&cronjob, "kind"), Some("CronJob"));
    assert_eq!(yaml_value(&cronjob, "concurrencyPolicy"), Some("Forbid"));
    assert!(cronjob.contains("-X POST") && cronjob.contains("/internal/dispatch"));
    assert!(
        cronjob.contains("http://mallsync."),
        "the SpinApp's Service is named mallsync"
    );

    let workflow = read("deploy/github-actions/mallsync-dispatch.yml");
    assert!(workflow.contains("schedule:") && workflow.contains("cron: \"*/5 * * * *\""));
    assert!(workflow.contains("-X POST \"$MALLSYNC_URL/internal/dispatch\""));
    for text in [&cronjob, &workflow] {
        // The token reaches curl on stdin, never on a command line.
        assert!(text.contains("-K -"));
        assert!(!text.contains("-H \"Authorization"));
    }
}
