//! Bカート authentication: the shop's personal access token (a long-lived JWT), sent as Bearer.

use mallsync_rules::bcart::BcartCredentials;

use crate::{wire, Api};

/// The `Authorization` value for every Bカート call.
pub fn authorization(api: &Api<BcartCredentials>) -> String {
    wire::bearer(&api.credentials.access_token)
}
