//! The service through its routes, natively: rusqlite storage and loopback fake carts.

mod access;
mod base;
mod carts;
mod dispatch;
mod helpers;
mod import;
mod limits;
mod pending;
mod import_whole;
mod preview;
mod security;
mod webhook;
mod write_back;
