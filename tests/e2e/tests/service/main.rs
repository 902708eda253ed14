//! The sync service end to end: real HTTP to the built components, served by mallsync-host, with
//! every cart call going to a loopback fake cart.

mod helpers;

mod carts;
mod import;
mod import_whole;
mod latency;
mod load;
mod notifications;
mod once;
mod preview;
mod promise;
mod schedule;
mod security;
mod shared_state;
mod webhook;
