//! The service through its routes, natively: rusqlite storage and loopback fake carts.

mod access;
mod base;
mod buyer_emails;
mod carts;
mod console;
mod dispatch;
mod helpers;
mod import;
mod import_whole;
mod limits;
mod notifications;
mod pending;
mod preview;
mod security;
mod webhook;
mod write_back;
