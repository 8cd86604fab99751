//! How far the server's clock is from this machine's, estimated from the `Date` headers of its
//! responses, so that times the server writes (`created_at`) can be compared with times this
//! machine measured. A laptop after sleep or a machine without NTP can be minutes off.
//!
//! A `Date` header says the server's clock read some time in `[date, date + 1 s)` while it
//! answered, and this machine's clock read some time between sending the request and reading
//! the answer. So the offset (server minus local) lies in an interval; every response narrows it.

use std::sync::Mutex;
use std::time::SystemTime;

/// Bounds on the server's clock minus this machine's, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetBounds {
    /// The offset is at least this.
    pub low: i64,
    /// The offset is at most this.
    pub high: i64,
}

impl OffsetBounds {
    /// What one response says: its `Date` (whole seconds, in ms since the epoch) and this
    /// machine's clock when the request was sent and when the answer came (ms since the epoch).
    pub fn from_response(date_ms: i64, sent_ms: i64, received_ms: i64) -> Self {
        OffsetBounds {
            low: date_ms - received_ms.max(sent_ms),
            high: date_ms + 999 - sent_ms.min(received_ms),
        }
    }

    /// The bounds both `self` and `other` allow, or `other` alone when they contradict each
    /// other (one of the clocks was set in between: the newer observation wins).
    fn narrowed(self, other: OffsetBounds) -> OffsetBounds {
        let low = self.low.max(other.low);
        let high = self.high.min(other.high);
        if low <= high {
            OffsetBounds { low, high }
        } else {
            other
        }
    }
}

/// The running estimate, shared by every request of a client.
#[derive(Debug, Default)]
pub struct ServerClock {
    bounds: Mutex<Option<OffsetBounds>>,
}

impl ServerClock {
    /// Takes one response into account: its `Date` header (ignored when unreadable), and this
    /// machine's clock when the request was sent and when the answer came.
    pub fn observe(&self, date: &str, sent: SystemTime, received: SystemTime) {
        let Ok(timestamp) = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(date.trim())
        else {
            return;
        };
        let seen = OffsetBounds::from_response(
            timestamp.as_millisecond(),
            crate::epoch::millis(sent),
            crate::epoch::millis(received),
        );
        if let Ok(mut bounds) = self.bounds.lock() {
            *bounds = Some(match *bounds {
                Some(known) => known.narrowed(seen),
                None => seen,
            });
        }
    }

    /// The bounds so far; `None` before any response carried a readable `Date`.
    pub fn offset(&self) -> Option<OffsetBounds> {
        self.bounds.lock().ok().and_then(|bounds| *bounds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_response_bounds_the_offset_by_its_round_trip_and_the_second() {
        // Sent at 10.000 s, answered at 10.200 s, the server's Date says 310 s: the server is
        // between 299.8 and 300.999 s ahead.
        let bounds = OffsetBounds::from_response(310_000, 10_000, 10_200);
        assert_eq!(
            bounds,
            OffsetBounds {
                low: 299_800,
                high: 300_999
            }
        );
    }

    #[test]
    fn responses_narrow_the_estimate_and_a_reset_clock_starts_it_afresh() {
        let at = |ms: u64| std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
        let clock = ServerClock::default();
        assert_eq!(clock.offset(), None);
        clock.observe("Wed, 02 Dec 2026 06:05:10 GMT", at(0), at(0));
        let first = clock.offset().unwrap();
        let date_ms = jiff::Timestamp::from_second(1_796_191_510)
            .unwrap()
            .as_millisecond();
        assert_eq!(first.low, date_ms);
        // Half a second later by both clocks, the server's second has not turned yet.
        clock.observe("Wed, 02 Dec 2026 06:05:10 GMT", at(500), at(500));
        let second = clock.offset().unwrap();
        assert_eq!((second.low, second.high), (date_ms, date_ms + 499));
        // A Date that contradicts everything so far: this machine's clock was set.
        clock.observe("Wed, 02 Dec 2026 07:05:10 GMT", at(600), at(600));
        assert_eq!(clock.offset().unwrap().low, date_ms + 3_600_000 - 600);
        clock.observe("not a date", at(700), at(700));
        assert_eq!(clock.offset().unwrap().low, date_ms + 3_600_000 - 600);
    }
}
