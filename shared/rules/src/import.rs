//! Import (取込) rules: which dates an import covers and what an imported order becomes.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::error::{Error, Problems};
use crate::order::Order;
use crate::settings::{ImportSettings, MAX_DAYS};
use crate::time::{jst, today};

/// The orders an import fetches: ordered at or after `from` and before `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl ImportWindow {
    /// The last `days` days (受注を取得する日数) up to `now`: what auto-fetch and the plain
    /// manual import use.
    pub fn from_days(days: u32, now: DateTime<Utc>) -> Result<ImportWindow, Error> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(Error::invalid(
                "days_to_fetch",
                format!("must be 1 to {MAX_DAYS} days, not {days}"),
            ));
        }
        Ok(ImportWindow {
            from: now - Duration::days(i64::from(days)),
            to: now,
        })
    }

    /// A manual import's range of Japan dates, both days whole: from 00:00 JST on `from` to the end
    /// of `to` (or `now`, if `to` is today). `to` may not be in the future, and the range spans at
    /// most 365 days.
    pub fn between(
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<ImportWindow, Error> {
        let mut p = Problems::new();
        let today = today(now);
        if to > today {
            p.add_ja_en(
                "to",
                format!("{to} は未来の日付です（今日は {today}）"),
                format!("{to} is in the future (today is {today} in Japan)"),
            );
        }
        if from > to {
            p.add_ja_en(
                "from",
                format!("開始日 {from} が終了日 {to} より後です"),
                format!("{from} is after to ({to})"),
            );
        } else if (to - from).num_days() >= i64::from(MAX_DAYS) {
            p.add_ja_en(
                "from",
                format!(
                    "{from}〜{to} は{MAX_DAYS}日を超えています。期間を分けて取り込んでください"
                ),
                format!(
                    "the range {from}..{to} is longer than {MAX_DAYS} days: import it in parts"
                ),
            );
        }
        p.into_result()?;
        let day_after_to = to.succ_opt().unwrap_or(to);
        Ok(ImportWindow {
            from: start_of_japan_day(from),
            to: start_of_japan_day(day_after_to).min(now),
        })
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && t < self.to
    }

    /// The window cut into consecutive windows of at most `max_days` days (a cart that answers
    /// only short ranges, such as ショップサーブ's one week).
    pub fn split(&self, max_days: u32) -> Vec<ImportWindow> {
        let step = Duration::days(i64::from(max_days.max(1)));
        let mut windows = Vec::new();
        let mut from = self.from;
        while from < self.to {
            let to = (from + step).min(self.to);
            windows.push(ImportWindow { from, to });
            from = to;
        }
        windows
    }
}

/// 00:00 in Japan on `date`, as a UTC instant.
fn start_of_japan_day(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // +09:00 has no gaps or folds, so the local time always maps to one instant.
    jst()
        .from_local_datetime(&midnight)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// An order as it enters the OMS: in the store's target status (受注格納先ステータス).
pub fn imported_order(mut order: Order, settings: &ImportSettings) -> Order {
    order.status = settings.target_status.clone();
    order
}
