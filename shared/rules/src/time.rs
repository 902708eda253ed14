//! Japan time. Every date and "today" in mallsync is a Japan date (UTC+09:00, no daylight saving).

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};

/// Longest look-back (days to fetch, periods, import ranges): one year.
pub const MAX_DAYS: u32 = 365;

/// UTC+09:00.
pub fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

/// Today's date in Japan at `now`.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&jst()).date_naive()
}

/// "Within N days": at or after `now` minus N×24 h (SPEC.md, Words).
pub fn within_days(t: DateTime<FixedOffset>, days: u32, now: DateTime<Utc>) -> bool {
    // A period reaching past chrono's earliest date (a huge deserialized one) holds every time.
    match now.checked_sub_signed(Duration::days(i64::from(days))) {
        Some(since) => t >= since,
        None => true,
    }
}

/// "Today counts": the date is today or earlier, in Japan.
pub fn on_or_before_today(date: NaiveDate, now: DateTime<Utc>) -> bool {
    date <= today(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn today_is_the_japan_date() {
        // 2026-11-23 15:30 UTC is already 2026-11-24 00:30 in Japan.
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 15, 30, 0).unwrap();
        assert_eq!(today(now), NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
    }

    #[test]
    fn within_n_days_includes_exactly_n_days_ago() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        let exactly = (now - Duration::days(170)).with_timezone(&jst());
        assert!(within_days(exactly, 170, now));
        assert!(!within_days(exactly - Duration::seconds(1), 170, now));
    }

    #[test]
    fn a_period_longer_than_the_calendar_holds_every_time_instead_of_panicking() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        let long_ago = Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).unwrap();
        assert!(within_days(long_ago.with_timezone(&jst()), u32::MAX, now));
    }
}
