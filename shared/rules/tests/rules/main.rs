//! The rules of SPEC.md, one test per rule, named after it.

mod bad_input;
mod bounds;
mod base;
mod bcart;
mod cscart;
mod futureshop;
mod helpers;
mod import;
mod ledger;
mod properties;
mod settings;
mod shopserve;
mod triggers;
