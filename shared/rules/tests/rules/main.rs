//! The rules of SPEC.md, one test per rule, named after it.

mod bad_input;
mod base;
mod bcart;
mod bounds;
mod cscart;
mod futureshop;
mod helpers;
mod import;
mod ledger;
mod properties;
mod settings;
mod shopserve;
mod triggers;
