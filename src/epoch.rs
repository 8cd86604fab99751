//! Time as the state file, the rate ledger, the token store and the server's clock estimate keep
//! it: milliseconds (or whole seconds) since the Unix epoch. A leaf: the one conversion between
//! `SystemTime` and those numbers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch at `at`, negative before it (saturating).
pub fn millis(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    millis(SystemTime::now())
}

/// The `SystemTime` of `ms` milliseconds since the Unix epoch (negative: before it).
pub fn from_millis(ms: i64) -> SystemTime {
    let span = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH + span
    } else {
        UNIX_EPOCH.checked_sub(span).unwrap_or(UNIX_EPOCH)
    }
}

/// Whole seconds since the Unix epoch at `at` (0 before it).
pub fn seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |after| after.as_secs())
}

/// The `SystemTime` of `seconds` since the Unix epoch.
pub fn from_seconds(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_round_trip_on_both_sides_of_the_epoch() {
        for ms in [0, 1, 1_765_000_000_123, -1500] {
            assert_eq!(millis(from_millis(ms)), ms);
        }
        assert_eq!(seconds(from_seconds(1_765_000_000)), 1_765_000_000);
        assert_eq!(seconds(from_millis(-5)), 0);
    }
}
