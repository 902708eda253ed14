//! Bカート: which orders are written back, and what each 出荷 (logistics) record gets.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::order::TrackingNumber;
use crate::plan::WriteBack;
use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BcartCredentials {
    /// Personal access token (Bearer).
    pub access_token: Secret,
}

/// Bカート's 発送状況 of one 出荷 record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogisticsStatus {
    #[serde(rename = "発送指示")]
    ShipInstructed,
    #[serde(rename = "発送済")]
    Shipped,
}

impl LogisticsStatus {
    pub fn label(self) -> &'static str {
        match self {
            LogisticsStatus::ShipInstructed => "発送指示",
            LogisticsStatus::Shipped => "発送済",
        }
    }
}

/// `PATCH /logistics/{logistics_id}` for one 出荷 record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BcartUpdate {
    pub order_id: String,
    pub logistics_id: String,
    pub status: LogisticsStatus,
    pub tracking_number: TrackingNumber,
    pub ship_date: Option<NaiveDate>,
}

impl WriteBack for BcartUpdate {
    fn order_id(&self) -> &str {
        &self.order_id
    }
    fn ledger_key(&self) -> String {
        format!("{}/{}", self.order_id, self.logistics_id)
    }
}
