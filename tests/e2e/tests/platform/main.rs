//! The Spin platform pieces the components rely on, through the host, on the built wasm.

mod helpers;

mod carts;
mod cloud;
mod cron;
mod outbound;
mod storage;
mod traps;
