//! mallsync's rules: for each cart, which orders to write back and exactly what to send, and what
//! to import. No I/O, no clock (`now` is passed in), no Spin: it runs the same natively and in wasm.
//!
//! The calling contract: load the store's settings, plan against the ledger of what the cart
//! already accepted, send each planned update however you like, and record in the ledger only
//! what the cart accepted. A retry, a redelivered webhook or an overlapping run then plans nothing
//! twice; every order not planned carries the reason the operator sees in the preview.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use mallsync_rules::{bcart, parse_json, Ledger, Order, StoreSettings, Trigger};
//!
//! let settings = StoreSettings::from_json(br#"{"cart":"bcart","credentials":{"access_token":"t"}}"#)?;
//! let StoreSettings::Bcart(settings) = settings else { unreachable!() };
//! let orders: Vec<Order> = parse_json(r#"[{"order_id":"1001","status":"発送待ち",
//!     "ordered_at":"2026-11-20T10:00:00+09:00","ship_date":"2026-11-23",
//!     "tracking_numbers":["1234-5678"],"shipments":[{"shipment_id":"77"}]}]"#.as_bytes())?;
//! let now = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
//! let mut ledger = Ledger::new();
//!
//! let plan = bcart::plan_write_back(&settings, &orders, Trigger::Scheduled, &ledger, now);
//! assert_eq!(plan.updates[0].status, bcart::LogisticsStatus::Shipped);
//! for update in &plan.updates {
//!     // send `update` to the cart; on success:
//!     ledger.record_update(update);
//! }
//! let again = bcart::plan_write_back(&settings, &orders, Trigger::Webhook, &ledger, now);
//! assert!(again.updates.is_empty());
//! assert_eq!(again.excluded[0].reason.code(), "already_accepted");
//! # Ok::<(), mallsync_rules::Error>(())
//! ```

pub mod base;
pub mod bcart;
pub mod cscart;
pub mod error;
pub mod futureshop;
pub mod import;
pub mod imported;
pub mod order;
pub mod plan;
pub mod registry;
#[cfg(feature = "schema")]
pub mod schema;
pub mod secret;
pub mod settings;
pub mod shopserve;
pub mod store_settings;
pub mod time;

pub use error::{parse_json, Error, FieldError, Problems};
pub use import::{imported_order, ImportWindow};
pub use imported::{
    Address, Amounts, Buyer, CartState, CartStatus, ImportedItem, ImportedOrder, ImportedShipment,
    Payment,
};
pub use order::{Carrier, Item, OmsStatus, Order, Shipment, TrackingNumber};
pub use plan::{
    Cart, DataHash, Exclusion, Ledger, LedgerCheck, OnChange, Plan, PlanWarning, Reason, Trigger,
    WriteBack,
};
pub use secret::Secret;
pub use settings::{
    BuyerEmails, CartSettings, ExportMode, ExportSettings, ImportSettings, SettingKind,
    SettingLabel, SharedSettings, Warning,
};
pub use store_settings::{labels, StoreSettings};
