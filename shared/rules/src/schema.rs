//! Each cart's store settings as a JSON Schema (OpenAPI 3.0 dialect), generated from the Rust
//! types with schemars and completed from the cart's labels (`SettingLabel`): the seeds' Japanese
//! label as `title`, an English one as `x-title-en`, what it does as `description`, the Rust
//! default as `default`, ranges, choices with `x-enum-labels`, secrets `writeOnly`.
//!
//! Native only (feature `schema`): the result is checked in as `shared/sync/settings-schema.json`
//! and served from there, so the components carry no schema generator.

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::order::OmsStatus;
use crate::plan::Cart;
use crate::secret::Secret;
use crate::settings::{SettingKind, SettingLabel, INTERVAL_MINUTES, MAX_DAYS};
use crate::store_settings::{labels, with_settings_type};

impl JsonSchema for Secret {
    fn schema_name() -> Cow<'static, str> {
        "Secret".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "writeOnly": true, "format": "password" })
    }
}

impl JsonSchema for OmsStatus {
    fn schema_name() -> Cow<'static, str> {
        "OmsStatus".into()
    }

    fn inline_schema() -> bool {
        true
    }

    /// Any OMS status name; the known ones are suggested (a shop may define its own).
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let known: Vec<&str> = OmsStatus::KNOWN.iter().map(OmsStatus::name).collect();
        json_schema!({ "type": "string", "minLength": 1, "x-suggestions": known })
    }
}

/// The schema of the `settings` object of `cart`'s store routes (without the `cart` tag, which
/// the route adds).
pub fn settings_schema(cart: Cart) -> Value {
    let generator = SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let schema = with_settings_type!(cart, S => generator.into_root_schema_for::<S>());
    let mut value = schema.to_value();
    let labels = labels(cart);
    if let Some(object) = value.as_object_mut() {
        for key in ["$schema", "definitions", "$defs", "components"] {
            object.remove(key);
        }
        object.insert(
            "title".into(),
            json!(format!("{} の設定", cart.display_name())),
        );
        object.insert(
            "x-title-en".into(),
            json!(format!("{} store settings", cart.display_name())),
        );
        object.insert("x-cart".into(), json!(cart.slug()));
    }
    complete(&mut value, "", &labels);
    value
}

/// Adds the labels, ranges and order to an object schema's properties, recursively. Every field
/// may be left out (it then takes the cart's default), so nothing is `required`, and a field
/// whose default the generator gave only for its group gets it from there.
fn complete(schema: &mut Value, path: &str, labels: &[SettingLabel]) {
    let group_default = schema.get("default").cloned();
    if let Some(object) = schema.as_object_mut() {
        object.remove("required");
    }
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    let mut order: Vec<(usize, String)> = Vec::new();
    for (name, property) in properties.iter_mut() {
        if let (Some(object), Some(default)) = (
            property.as_object_mut(),
            group_default.as_ref().and_then(|d| d.get(name)),
        ) {
            object.entry("default").or_insert_with(|| default.clone());
        }
        let full = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        let rank = labels.iter().position(|l| l.path == full);
        order.push((rank.unwrap_or(usize::MAX), name.clone()));
        if let Some(label) = rank.map(|i| &labels[i]) {
            apply(property, label);
        }
        complete(property, &full, labels);
    }
    order.sort();
    let order: Vec<String> = order.into_iter().map(|(_, name)| name).collect();
    if let Some(object) = schema.as_object_mut() {
        object.insert("x-order".into(), json!(order));
    }
}

fn apply(property: &mut Value, label: &SettingLabel) {
    let Some(object) = property.as_object_mut() else {
        return;
    };
    object.insert("title".into(), json!(label.ja));
    object.insert("x-title-en".into(), json!(label.en));
    object.insert("description".into(), json!(label.help));
    match label.kind {
        SettingKind::Days => {
            object.insert("minimum".into(), json!(1));
            object.insert("maximum".into(), json!(MAX_DAYS));
        }
        SettingKind::Interval => {
            object.insert("enum".into(), json!(INTERVAL_MINUTES));
            object.remove("minimum");
            object.remove("format");
        }
        SettingKind::Url => {
            object.insert("format".into(), json!("uri"));
        }
        SettingKind::Email => {
            object.insert("format".into(), json!("email"));
        }
        SettingKind::Secret | SettingKind::Group | SettingKind::Plain => {}
    }
    if !label.choices.is_empty() {
        let target = if object.get("type") == Some(&json!("array")) {
            object.insert("uniqueItems".into(), json!(true));
            object
                .get_mut("items")
                .and_then(Value::as_object_mut)
                .map(|items| choices(items, label))
        } else {
            Some(choices(object, label))
        };
        debug_assert!(target.is_some(), "{} has choices but no items", label.path);
    }
}

/// A choice field as a plain `enum` (OpenAPI 3.0 has no `const`) with each value's labels.
fn choices(object: &mut Map<String, Value>, label: &SettingLabel) {
    object.remove("oneOf");
    object.insert("type".into(), json!("string"));
    let values: Vec<&str> = label.choices.iter().map(|(v, _, _)| *v).collect();
    object.insert("enum".into(), json!(values));
    let names: Map<String, Value> = label
        .choices
        .iter()
        .map(|(v, ja, en)| (v.to_string(), json!({ "ja": ja, "en": en })))
        .collect();
    object.insert("x-enum-labels".into(), Value::Object(names));
}
