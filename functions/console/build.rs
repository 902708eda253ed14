//! Writes each cart's OpenAPI document (`GET /<cart>/openapi.json`, which spin.toml routes to
//! this component) as the console serves it: built from the checked-in documents by
//! `mallsync-openapi` here, once, so the component only serves static files.

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for slug in mallsync_openapi::CARTS {
        let document = mallsync_openapi::document(slug).unwrap_or_else(|e| panic!("{e}"));
        fs::write(
            out.join(format!("openapi.{slug}.json")),
            document.to_string(),
        )
        .expect("OUT_DIR is writable");
    }
}
