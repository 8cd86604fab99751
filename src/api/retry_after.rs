//! The `Retry-After` header (seconds or an HTTP date, see
//! <https://www.rfc-editor.org/rfc/rfc9110#field.retry-after>), parsed and capped: a value that
//! errors carry and the retry decision reads, so it depends on neither.

use std::time::{Duration, SystemTime};

/// The longest `Retry-After` pinbatch honours; longer values are cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A parsed `Retry-After`: a delay, or a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this long.
    Delay(Duration),
    /// Wait until this moment.
    At(SystemTime),
}

impl RetryAfter {
    /// The wait from `now`, capped at [`MAX_RETRY_AFTER`]; a moment in the past means no wait.
    pub fn delay_from(self, now: SystemTime) -> Duration {
        self.asked_from(now).min(MAX_RETRY_AFTER)
    }

    /// The wait the server asked for, from `now`, whatever its length.
    pub fn asked_from(self, now: SystemTime) -> Duration {
        match self {
            RetryAfter::Delay(delay) => delay,
            RetryAfter::At(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
        }
    }
}

/// Parses a `Retry-After` value: whole seconds (`"120"`) or an HTTP date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`). Anything else is ignored (`None`).
pub fn parse_retry_after(value: &str) -> Option<RetryAfter> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(RetryAfter::Delay(Duration::from_secs(seconds)));
    }
    let timestamp = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    let seconds = u64::try_from(timestamp.as_second()).ok()?;
    Some(RetryAfter::At(
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_accepts_seconds_and_http_dates_and_ignores_garbage() {
        assert_eq!(
            parse_retry_after(" 120 "),
            Some(RetryAfter::Delay(Duration::from_secs(120)))
        );
        let at = parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        assert_eq!(at.delay_from(now), Duration::from_secs(10));
        // A date in the past means "now"; long waits are capped.
        assert_eq!(
            at.delay_from(now + Duration::from_secs(100)),
            Duration::ZERO
        );
        assert_eq!(
            parse_retry_after("3600").unwrap().delay_from(now),
            MAX_RETRY_AFTER
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-5"), None);
        assert_eq!(parse_retry_after(""), None);
    }
}
