//! futureshop: which orders are written back, per shipment (お届け先), in batches of ≤100 orders.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::order::TrackingNumber;
use crate::plan::WriteBack;
use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FutureshopCredentials {
    /// 店舗キー, sent as `X-SHOP-KEY`.
    pub shop_key: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The API domain futureshop issues per contract, e.g. `https://api.example.future-shop.jp`.
    pub api_base_url: String,
}

/// Most orders futureshop takes in one `POST /admin-api/v1/shipping/status`.
pub const MAX_ORDERS_PER_BATCH: usize = 100;

/// One shipment's fields. Absent values are omitted on the wire, never sent as "" (futureshop
/// overwrites a field with blank when sent an empty string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FutureshopShipment {
    pub shipment_no: u32,
    pub ship_date: NaiveDate,
    pub tracking_number: Option<TrackingNumber>,
    /// 到着予定日 = the requested delivery date when there is one.
    pub expected_arrival: Option<NaiveDate>,
}

/// One order's update: its shipments, and whether to set it to 処理済 afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FutureshopUpdate {
    pub order_id: String,
    pub shipments: Vec<FutureshopShipment>,
    pub mark_processed: bool,
}

impl WriteBack for FutureshopUpdate {
    fn order_id(&self) -> &str {
        &self.order_id
    }
    fn ledger_key(&self) -> String {
        self.order_id.clone()
    }
}
