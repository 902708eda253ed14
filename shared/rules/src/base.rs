//! BASE: which orders are dispatched, per order item, and with what.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::order::{Carrier, TrackingNumber};
use crate::plan::WriteBack;
use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseCredentials {
    pub client_id: String,
    pub client_secret: Secret,
    /// The redirect URL registered with BASE (mallsync's OAuth callback route).
    pub redirect_uri: String,
}

/// `POST /1/orders/edit_status` with `status=dispatched` for one order item. One-way: BASE e-mails
/// the buyer and never lets the item go back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseDispatch {
    /// BASE's `unique_key`.
    pub order_id: String,
    pub order_item_id: String,
    pub tracking_number: TrackingNumber,
    pub carrier: Option<Carrier>,
    pub ship_date: NaiveDate,
}

impl WriteBack for BaseDispatch {
    fn order_id(&self) -> &str {
        &self.order_id
    }
    fn ledger_key(&self) -> String {
        format!("{}/{}", self.order_id, self.order_item_id)
    }
}
