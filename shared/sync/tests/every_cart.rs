//! Every cart is wired up everywhere a cart must be: `Cart::ALL` (one line each in
//! `shared/rules/src/registry.rs`) is the list, and this test fails naming the file when a cart is
//! missing from one of them (the sync service's binding, cargo features, its component folder,
//! spin.toml and the Cloud manifest, the settings schema, the deploy files, the console's cart
//! list and the test lists). The README's "Adding a cart" lists the same steps.

use std::path::{Path, PathBuf};

use mallsync_rules::Cart;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Whether the TOML table `[table]` lists `item` in its array `key` (one line, as these files
/// keep them).
fn feature_lists(toml: &str, key: &str, item: &str) -> bool {
    toml.lines()
        .find(|line| line.trim_start().starts_with(&format!("{key} = [")))
        .is_some_and(|line| line.contains(&format!("\"{item}\"")))
}

#[test]
fn the_service_binds_every_cart() {
    for cart in Cart::ALL {
        assert!(
            mallsync_sync::carts::built_in(cart).is_ok(),
            "shared/sync/src/carts.rs: no with_cart! arm or binding for {}",
            cart.slug()
        );
    }
}

#[test]
fn every_cart_has_its_cargo_feature_and_its_component() {
    let sync = read("shared/sync/Cargo.toml");
    let rules = read("shared/rules/Cargo.toml");
    let openapi = read("shared/openapi/Cargo.toml");
    let shell = read("functions/common/Cargo.toml");
    let workspace = read("Cargo.toml");
    for cart in Cart::ALL {
        let slug = cart.slug();
        assert!(
            sync.contains(&format!(
                "\n{slug} = [\"mallsync-rules/{slug}\", \"mallsync-openapi/{slug}\"]"
            )) && feature_lists(&sync, "default", slug),
            "shared/sync/Cargo.toml: feature {slug} = [\"mallsync-rules/{slug}\", \"mallsync-openapi/{slug}\"] (and in default)"
        );
        assert!(
            openapi.contains(&format!("\n{slug} = [\"mallsync-rules/{slug}\"]")) && feature_lists(&openapi, "default", slug),
            "shared/openapi/Cargo.toml: feature {slug} = [\"mallsync-rules/{slug}\"] (and in default)"
        );
        assert!(
            rules.contains(&format!("\n{slug} = []")) && feature_lists(&rules, "default", slug),
            "shared/rules/Cargo.toml: feature {slug} (and in default)"
        );
        assert!(
            shell.contains(&format!("\n{slug} = [\"mallsync-sync/{slug}\"]"))
                && feature_lists(&shell, "all-carts", slug),
            "functions/common/Cargo.toml: feature {slug} (and in all-carts)"
        );
        let component = read(&format!("functions/{slug}/Cargo.toml"));
        assert!(
            component.contains(&format!("name = \"mallsync-{slug}\""))
                && component.contains(&format!("features = [\"{slug}\"]")),
            "functions/{slug}/Cargo.toml: package mallsync-{slug}, built with only its feature"
        );
        let lib = read(&format!("functions/{slug}/src/lib.rs"));
        assert!(
            lib.contains(&format!("Cart::{cart:?}")),
            "functions/{slug}/src/lib.rs serves Cart::{cart:?}"
        );
        assert!(
            workspace.contains(&format!("\"functions/{slug}\"")),
            "Cargo.toml: workspace member functions/{slug}"
        );
    }
}

#[test]
fn every_cart_is_in_the_manifests_and_deploy_files() {
    let spin = read("spin.toml");
    let cloud = read("spin.cloud.toml");
    let spinapp = read("deploy/kubernetes/spinapp.yaml");
    for cart in Cart::ALL {
        let slug = cart.slug();
        for (file, text) in [("spin.toml", &spin), ("spin.cloud.toml", &cloud)] {
            assert!(
                text.contains(&format!("route = \"/{slug}/...\""))
                    && text.contains(&format!("[component.{slug}]"))
                    && text.contains(&format!(
                        "cargo build -p mallsync-{slug} --target wasm32-wasip1"
                    )),
                "{file}: the {slug} route, component and build command"
            );
            assert!(
                text.contains(&format!(
                    "route = \"/{slug}/openapi.json\"\ncomponent = \"console\""
                )),
                "{file}: the console serves /{slug}/openapi.json"
            );
        }
        let origin = mallsync_sync::carts::capabilities(cart)
            .unwrap()
            .default_origin;
        assert!(
            spin.contains(&format!("{slug}_api_origin = {{ default = \"{origin}\" }}")),
            "spin.toml: {slug}_api_origin defaults to {origin}, the origin its client declares \
             (shared/carts/src/{slug}: Capabilities::default_origin)"
        );
        assert!(
            spin.contains(&format!("{slug}_api_origin = {{ default"))
                && spin.contains(&format!("\"{{{{ {slug}_api_origin }}}}\",")),
            "spin.toml: the {slug}_api_origin variable, and the dispatcher's and scheduler's host"
        );
        assert!(
            spinapp.contains(&format!("- {slug}\n")),
            "deploy/kubernetes/spinapp.yaml: the {slug} component"
        );
    }
}

#[test]
fn every_cart_has_its_settings_schema_and_its_place_in_the_test_lists() {
    let e2e = read("tests/e2e/tests/platform/helpers.rs");
    let bench = read("tests/support/benches/host.rs");
    let manifests = read("shared/host/tests/manifests.rs");
    let console = read("functions/console/assets/i18n.js");
    for cart in Cart::ALL {
        let slug = cart.slug();
        assert!(
            manifests.contains(&format!("\"{slug}\"")),
            "shared/host/tests/manifests.rs: CARTS lists {slug}"
        );
        assert!(
            console.contains(&format!(
                "{{ slug: \"{slug}\", ja: \"{}\"",
                cart.display_name()
            )),
            "functions/console/assets/i18n.js: CARTS lists {slug} as {}",
            cart.display_name()
        );
        let schema = mallsync_sync::openapi::settings_schema(cart)
            .unwrap_or_else(|e| panic!("shared/sync/settings-schema.json: {slug}: {e:?}"));
        assert!(schema.is_object(), "settings-schema.json: {slug}");
        assert!(
            e2e.contains(&format!("\"{slug}\"")),
            "tests/e2e/tests/platform/helpers.rs: CARTS lists {slug}"
        );
        assert!(
            bench.contains(&format!("\"{slug}\"")),
            "tests/support/benches/host.rs: the component list has {slug}"
        );
    }
}
