//! Writes the documents as the components embed them: `shared/sync/openapi.json` without its
//! indentation (97 KB as written, 51 KB compact), and `shared/sync/settings-schema.json` split into
//! one file per cart, so a cart component embeds only its own cart's schema. Plain text work, no
//! JSON library: the tests check that the embedded texts are the checked-in documents.

use std::path::Path;
use std::{env, fs};

fn main() {
    let documents = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sync");
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let out = Path::new(&out);

    let openapi = documents.join("openapi.json");
    println!("cargo::rerun-if-changed={}", openapi.display());
    let text = fs::read_to_string(&openapi).expect("shared/sync/openapi.json is readable");
    fs::write(out.join("openapi.compact.json"), compact(&text)).expect("OUT_DIR is writable");

    // The file has one line per cart, `"<slug>":{…}` (the test that blesses it writes it so).
    let schemas = documents.join("settings-schema.json");
    println!("cargo::rerun-if-changed={}", schemas.display());
    let text = fs::read_to_string(&schemas).expect("shared/sync/settings-schema.json is readable");
    for line in text.lines() {
        let Some((slug, schema)) = line
            .strip_prefix('"')
            .and_then(|line| line.split_once("\":"))
        else {
            continue;
        };
        let schema = schema.strip_suffix(',').unwrap_or(schema);
        fs::write(out.join(format!("settings-schema.{slug}.json")), schema)
            .expect("OUT_DIR is writable");
    }
}

/// `json` without the whitespace between its tokens (strings are kept as they are).
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}
