//! The OpenAPI 3 document of every route (checked in as `openapi.json`, served at
//! `GET /<cart>/openapi.json`) and each cart's settings schema (`GET /<cart>/settings/schema`),
//! as the crate `mallsync-openapi` embeds them. On Spin the console component serves the
//! documents (spin.toml routes `/<cart>/openapi.json` there), so the cart components are built
//! without the route (feature `openapi`) and carry only their own cart's schema.

use mallsync_rules::Cart;

use crate::api_error::ApiError;

/// The checked-in document (`openapi.json`), without its indentation.
pub use mallsync_openapi::DOCUMENT;

/// Each cart's store settings as a JSON Schema, by cart slug: generated from the Rust types and
/// labels (`mallsync_rules::schema`, native only) and checked in, so the components serve it as
/// text. A test fails when it is stale; `MALLSYNC_BLESS=1 cargo test -p mallsync-sync --lib
/// settings_schema` rewrites it. The components embed only their own cart's line of it
/// ([`settings_schema_text`]).
pub const SETTINGS_SCHEMAS: &str = include_str!("../settings-schema.json");

/// `cart`'s settings schema as checked in (its line of `settings-schema.json`). Only the carts
/// this build serves have theirs compiled in: a cart component carries its own schema only.
pub fn settings_schema_text(cart: Cart) -> Result<&'static str, ApiError> {
    mallsync_openapi::settings_schema_text(cart.slug())
        .ok_or_else(|| crate::carts::not_built_in(cart))
}

/// The settings schema of `cart`'s stores (`GET /<cart>/settings/schema`).
pub fn settings_schema(cart: Cart) -> Result<serde_json::Value, ApiError> {
    serde_json::from_str(settings_schema_text(cart)?).map_err(|e| {
        ApiError::Internal(format!(
            "settings-schema.json ({}) does not parse: {e}",
            cart.slug()
        ))
    })
}

/// The name of `cart`'s settings schema in the document's components, e.g. `BaseSettings`.
pub fn settings_schema_name(cart: Cart) -> &'static str {
    cart.settings_type_name()
}

/// The document for one cart's component (`mallsync_openapi::document`): its server prefix is
/// `/<cart>`, its cart's settings schema is in `components.schemas`, and a store's `settings`
/// refer to it.
pub fn document(cart: Cart) -> Result<serde_json::Value, ApiError> {
    // A cart this build lacks gets the same error as its other routes.
    settings_schema_text(cart)?;
    mallsync_openapi::document(cart.slug()).map_err(ApiError::Internal)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::native::NativeIo;
    use crate::routes::table;
    use mallsync_rules::StoreSettings;
    use serde_json::Value;

    fn generated() -> Value {
        Cart::ALL
            .iter()
            .map(|c| {
                (
                    c.slug().to_string(),
                    mallsync_rules::schema::settings_schema(*c),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    #[test]
    fn settings_schema_json_is_generated_from_the_rust_types() {
        let checked_in: Value = serde_json::from_str(SETTINGS_SCHEMAS).unwrap();
        let generated = generated();
        if checked_in != generated {
            if std::env::var_os("MALLSYNC_BLESS").is_some() {
                let path = concat!(env!("CARGO_MANIFEST_DIR"), "/settings-schema.json");
                // One compact line per cart: the components embed this text.
                let lines: Vec<String> = generated
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(cart, schema)| format!("{}:{schema}", Value::from(cart.as_str())))
                    .collect();
                let text = format!("{{\n{}\n}}\n", lines.join(",\n"));
                std::fs::write(path, text).unwrap();
            } else {
                panic!(
                    "shared/sync/settings-schema.json is stale (the settings types or labels \
                     changed): run MALLSYNC_BLESS=1 cargo test -p mallsync-sync --lib settings_schema"
                );
            }
        }
    }

    /// Calls `f` with the path and schema of every property, groups included.
    fn each_property(schema: &Value, path: &str, f: &mut impl FnMut(&str, &Value)) {
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            let full = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            f(&full, property);
            each_property(property, &full, f);
        }
    }

    #[test]
    fn every_setting_has_a_japanese_and_an_english_label_and_every_choice_too() {
        for cart in Cart::ALL {
            let schema = mallsync_rules::schema::settings_schema(cart);
            let mut seen = Vec::new();
            each_property(&schema, "", &mut |path, property| {
                seen.push(path.to_string());
                for key in ["title", "x-title-en", "description"] {
                    let text = property[key].as_str().unwrap_or_default();
                    assert!(!text.trim().is_empty(), "{cart:?} {path} has no {key}");
                }
                let title = property["title"].as_str().unwrap();
                assert!(
                    title.chars().any(|c| !c.is_ascii()) || title == "URL",
                    "{cart:?} {path}: title {title:?} is not Japanese"
                );
                let choices = if property["type"] == "array" {
                    &property["items"]
                } else {
                    property
                };
                for value in choices["enum"].as_array().into_iter().flatten() {
                    if let Some(value) = value.as_str() {
                        for lang in ["ja", "en"] {
                            let label = &choices["x-enum-labels"][value][lang];
                            assert!(
                                label.is_string(),
                                "{cart:?} {path}: choice {value} has no {lang} label"
                            );
                        }
                    }
                }
            });
            for label in mallsync_rules::labels(cart) {
                assert!(
                    seen.iter().any(|p| p == label.path),
                    "{cart:?}: label {} names no setting",
                    label.path
                );
            }
        }
    }

    #[test]
    fn the_schema_defaults_are_the_rust_defaults() {
        for cart in Cart::ALL {
            let schema = mallsync_rules::schema::settings_schema(cart);
            let defaults = serde_json::to_value(StoreSettings::defaults(cart)).unwrap();
            let mut leaves = 0;
            each_property(&schema, "", &mut |path, property| {
                if property["type"] == "object" {
                    return;
                }
                leaves += 1;
                let rust = path.split('.').fold(&defaults, |v, key| &v[key]);
                assert!(
                    !rust.is_null(),
                    "{cart:?} {path} is not in the Rust defaults"
                );
                assert_eq!(&property["default"], rust, "{cart:?} {path}");
            });
            // Every leaf of the Rust defaults is in the schema (but the `cart` tag).
            fn count(v: &Value) -> usize {
                match v {
                    Value::Object(o) => o.values().map(count).sum(),
                    _ => 1,
                }
            }
            assert_eq!(leaves, count(&defaults) - 1, "{cart:?}");
        }
    }

    #[test]
    fn the_served_document_refers_a_stores_settings_to_its_carts_schema() {
        let document = document(Cart::Cscart).unwrap();
        let settings = &document["components"]["schemas"]["StoreInput"]["properties"]["settings"];
        assert_eq!(
            settings["allOf"][0]["$ref"],
            "#/components/schemas/CscartSettings"
        );
        let target = &document["components"]["schemas"]["CscartSettings"];
        assert_eq!(target["properties"]["period_days"]["default"], 1);
        assert!(settings["description"].is_string());
        // The other carts' schemas are not this component's.
        for other in Cart::ALL.into_iter().filter(|c| *c != Cart::Cscart) {
            let name = settings_schema_name(other);
            assert!(
                document["components"]["schemas"].get(name).is_none(),
                "{name}"
            );
        }
    }

    #[test]
    fn every_route_in_the_route_table_is_in_the_openapi_document_and_nothing_else() {
        let document = document(Cart::Base).unwrap();
        let paths = document["paths"].as_object().unwrap();
        let mut documented: Vec<(String, String)> = paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                    .map(move |m| (m.to_uppercase(), path.clone()))
            })
            .collect();
        let mut routed: Vec<(String, String)> = table::<NativeIo>()
            .iter()
            .filter(|r| r.in_openapi())
            .map(|r| (r.method.to_string(), r.openapi_path()))
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
    }
}
