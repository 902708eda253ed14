//! mallsync's rules: for each cart, which orders to write back and exactly what to send, and what
//! to import. No I/O, no clock (`now` is passed in), no Spin: it runs the same natively and in wasm.

pub mod base;
pub mod bcart;
pub mod cscart;
pub mod error;
pub mod futureshop;
pub mod import;
pub mod order;
pub mod plan;
pub mod secret;
pub mod settings;
pub mod shopserve;
pub mod time;

pub use error::{parse_json, Error, FieldError, Problems};
pub use import::{imported_order, ImportWindow};
pub use order::{Carrier, Item, OmsStatus, Order, Shipment, TrackingNumber};
pub use plan::{
    Cart, DataHash, Exclusion, Ledger, LedgerCheck, OnChange, Plan, Reason, Trigger, WriteBack,
};
pub use secret::Secret;
pub use settings::{
    CartSettings, ExportMode, ExportSettings, ImportSettings, StoreSettings, Warning,
};
