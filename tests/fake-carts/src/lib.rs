//! Stateful fakes of the five carts' HTTP APIs on loopback, for tests of the sans-IO clients and
//! of the Spin components: each records every call, serves injected faults and lets a test read
//! back what the cart now holds. Behaviour follows shared/cart-apis.md; see each module's doc.
//!
//! ```no_run
//! use mallsync_fake_carts::{base::FakeBase, Fault, OrderSeed};
//!
//! let base = FakeBase::start();
//! base.seed_order(&OrderSeed::new("A1", "2026-11-20T10:00:00+09:00").item("11", "Tシャツ", 1, 1500));
//! base.faults().on("POST", "/1/orders/edit_status", 1, Fault::Status(503));
//! // … point the client at base.url(), run it …
//! assert_eq!(base.dispatch_emails_sent(), 1);
//! assert!(base.calls().iter().any(|c| c.is("POST", "/1/orders/edit_status")));
//! ```

pub mod base;
pub mod bcart;
pub mod cscart;
mod faults;
pub mod futureshop;
mod seed;
mod server;
pub mod shopserve;

pub use faults::{Fault, Faults};
pub use seed::{ItemSeed, OrderSeed, ShipmentSeed};
pub use server::{Cart, Clock, FakeServer, RateLimit, RecordedCall, Reply};
