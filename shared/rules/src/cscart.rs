//! CS-Cart: which orders are written back, and the shipment + status C each gets.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::order::{Carrier, Item, TrackingNumber};
use crate::plan::WriteBack;
use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CscartCredentials {
    /// The store URL: the admin URL without `admin.php`, e.g. `https://shop.example.jp/`.
    pub store_url: String,
    pub admin_email: String,
    pub api_key: Secret,
}

/// `POST /api/shipments` for one shipping group, then a status-only `PUT /api/orders/{id}` to C.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CscartShipment {
    pub order_id: String,
    /// CS-Cart's shipping group (shipping_id); `None` when the order has one group.
    pub shipping_id: Option<String>,
    pub tracking_number: TrackingNumber,
    pub carrier: Option<Carrier>,
    pub ship_date: NaiveDate,
    /// Items and amounts shipped; empty means every item of the order.
    pub items: Vec<Item>,
}

impl WriteBack for CscartShipment {
    fn order_id(&self) -> &str {
        &self.order_id
    }
    fn ledger_key(&self) -> String {
        format!(
            "{}/{}",
            self.order_id,
            self.shipping_id.as_deref().unwrap_or("-")
        )
    }
}
