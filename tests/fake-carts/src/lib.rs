//! Stateful fakes of the five carts' HTTP APIs on loopback, for tests of the sans-IO clients and
//! of the Spin components: each records every call, serves injected faults and lets a test read
//! back what the cart now holds. Behaviour follows shared/cart-apis.md; see each module's doc.
//!
//! | fake | `api_base_url()` | credentials the fake accepts |
//! |---|---|---|
//! | [`bcart::FakeBcart`] | `<url>/api/v1` | Bearer [`bcart::ACCESS_TOKEN`] |
//! | [`base::FakeBase`] | `<url>/1` | [`base::CLIENT_ID`]/[`base::CLIENT_SECRET`], redirect [`base::REDIRECT_URI`]; tokens from `issue_tokens()` or the OAuth endpoints |
//! | [`shopserve::FakeShopserve`] | `<url>/v2` | Basic [`shopserve::SHOP_ID`]:[`shopserve::MANAGER_KEY`] |
//! | [`cscart::FakeCscart`] | `<url>` (the store URL) | Basic [`cscart::ADMIN_EMAIL`]:[`cscart::API_KEY`] |
//! | [`futureshop::FakeFutureshop`] | `<url>` (the API domain) | [`futureshop::SHOP_KEY`], [`futureshop::CLIENT_ID`]/[`futureshop::CLIENT_SECRET`] |
//! | [`notifications::FakeDestination`] | `<url>/hook` (signed webhook), `<url>/chat/…` (chat) | the destination's signing secret, set with `set_secret` |
//!
//! Every fake is a [`FakeServer`]: `start()`, `url()`, `api_base_url()`, `calls()`/`calls_to()`,
//! `faults()`, `clock()` (move time instead of waiting), `set_rate_limit()`, `with_cart()` (the
//! state itself), `violations()` / `assert_no_violations()`, `peak_requests_within(window)` (on the
//! fake's clock, for benchmarks), plus its cart's `seed_order(&OrderSeed)` and read-back methods.
//! It stops when dropped.
//!
//! The fakes are strict: each counts every request the real cart would punish as a
//! [`Violation`] (over its rate limit, during a lockout, a reused BASE refresh token, a buyer
//! e-mail sent twice, 処理済 on a cancelled futureshop order, a CS-Cart shipment naming no
//! products). Each starts with its cart's real rate limit on (CS-Cart has none); a test that is
//! not about limits turns it off with `set_rate_limit(None)`.
//!
//! ```no_run
//! use mallsync_fake_carts::{base::FakeBase, Fault, OrderSeed};
//!
//! let base = FakeBase::start();
//! base.seed_order(&OrderSeed::new("A1", "2026-11-20T10:00:00+09:00").item("11", "Tシャツ", 1, 1500));
//! base.faults().on("POST", "/1/orders/edit_status", 1, Fault::StatusAfterApplying(503));
//! // … point the client or component at base.api_base_url(), run it …
//! assert_eq!(base.dispatch_emails_sent(), 1);
//! assert!(base.calls().iter().any(|c| c.is("POST", "/1/orders/edit_status")));
//! ```

pub mod base;
pub mod bcart;
pub mod cscart;
mod faults;
pub mod futureshop;
pub mod notifications;
mod seed;
mod server;
pub mod shopserve;

pub use faults::{Fault, Faults};
pub use seed::{ItemSeed, OrderSeed, ShipmentSeed};
pub use server::{
    Cart, Clock, FakeServer, Limited, RateLimit, RecordedCall, Reply, Violation, ViolationKind,
};
