//! Eストアー ショップサーブ: which orders are written back and which fields each gets.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::order::{Carrier, TrackingNumber};
use crate::plan::WriteBack;
use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopserveCredentials {
    pub shop_id: String,
    /// マネージャー認証キー
    pub manager_key: Secret,
}

/// One order's update. Without a tracking number only `scheduled_ship_date` is set (SPEC.md: no
/// carrier, no status, so the cart raises no error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopserveUpdate {
    pub order_id: String,
    /// 発送ステータス = 発送済み; only with a tracking number.
    pub mark_shipped: bool,
    pub carrier: Option<Carrier>,
    pub tracking_number: Option<TrackingNumber>,
    /// 発送予定日 (the OMS ship date).
    pub scheduled_ship_date: Option<NaiveDate>,
}

impl WriteBack for ShopserveUpdate {
    fn order_id(&self) -> &str {
        &self.order_id
    }
    fn ledger_key(&self) -> String {
        self.order_id.clone()
    }
}
