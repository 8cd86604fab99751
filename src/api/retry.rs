//! The retry policy as a pure decision: which failures are worth retrying, and how long to wait
//! before the next attempt. Nothing here sleeps or reads a clock; the client's loop does both.
//!
//! Backoff is exponential with full jitter (a random delay between zero and the capped
//! exponential step), as described in <https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/>.
//! A `Retry-After` header (seconds or an HTTP date, see
//! <https://www.rfc-editor.org/rfc/rfc9110#field.retry-after>) overrides the backoff, capped.

use std::time::{Duration, SystemTime};

use crate::api::error::{ApiError, ApiErrorKind};
use crate::api::retry_after::RetryAfter;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The first backoff step; each retry doubles it.
    pub base_delay: Duration,
    /// The largest backoff step.
    pub max_delay: Duration,
    /// The most time one request may spend waiting between attempts in total.
    pub total_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            total_budget: Duration::from_secs(300),
        }
    }
}

/// What a failure means for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Worth retrying after a backoff: 408, 5xx, timeouts, connection failures.
    Transient,
    /// A 429 rate limit; wait `retry_after` when the server said so.
    RateLimited {
        /// The server's `Retry-After`, if any.
        retry_after: Option<RetryAfter>,
    },
    /// A 429 spam block: stop writing, do not retry.
    Spam,
    /// A link refused as spam (code 9, whatever the status): that pin is refused, do not retry.
    BlockedLink,
    /// The token is missing, invalid or expired (401): refreshing may help, retrying does not.
    Auth,
    /// Any other failure: retrying would give the same answer.
    Fatal,
}

/// Sorts a failure into an [`ErrorClass`].
pub fn classify(err: &ApiError) -> ErrorClass {
    match err.kind() {
        ApiErrorKind::Timeout | ApiErrorKind::Connect | ApiErrorKind::Transport => {
            ErrorClass::Transient
        }
        ApiErrorKind::NoToken => ErrorClass::Auth,
        ApiErrorKind::Status if err.is_blocked_link() => ErrorClass::BlockedLink,
        ApiErrorKind::Status => match err.status() {
            Some(401) => ErrorClass::Auth,
            Some(429) if err.is_spam() => ErrorClass::Spam,
            Some(429) => ErrorClass::RateLimited {
                retry_after: err.retry_after(),
            },
            Some(408) => ErrorClass::Transient,
            Some(status) if (500..=599).contains(&status) => ErrorClass::Transient,
            _ => ErrorClass::Fatal,
        },
        ApiErrorKind::Decode | ApiErrorKind::Io | ApiErrorKind::Request | ApiErrorKind::Stopped => {
            ErrorClass::Fatal
        }
    }
}

/// The retry bookkeeping of one logical request.
#[derive(Debug, Clone)]
pub struct RetryState {
    policy: RetryPolicy,
    retries: u32,
    waited: Duration,
}

impl RetryState {
    /// Fresh state for one request under `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        RetryState {
            policy,
            retries: 0,
            waited: Duration::ZERO,
        }
    }

    /// Retries granted so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Decides whether to retry after `err`: `Some(wait)` counts one retry, `None` means give up.
    /// `random` in `[0, 1)` picks the jitter; `now` resolves an HTTP-date `Retry-After`.
    pub fn next_delay(&mut self, err: &ApiError, now: SystemTime, random: f64) -> Option<Duration> {
        let (retry_after, rate_limited) = match classify(err) {
            ErrorClass::Transient => (err.retry_after(), false),
            ErrorClass::RateLimited { retry_after } => (retry_after, true),
            ErrorClass::Spam | ErrorClass::BlockedLink | ErrorClass::Auth | ErrorClass::Fatal => {
                return None;
            }
        };
        if self.retries >= self.policy.max_retries {
            return None;
        }
        let delay = match retry_after {
            Some(retry_after) => retry_after.delay_from(now),
            // A 429 pauses every worker, so a near-zero wait would just trigger the next 429:
            // keep at least half the step ("equal jitter").
            None if rate_limited => {
                let step = self.backoff(1.0);
                step / 2 + step.mul_f64(random.clamp(0.0, 1.0) / 2.0)
            }
            None => self.backoff(random),
        };
        let waited = self.waited.saturating_add(delay);
        if waited > self.policy.total_budget {
            return None;
        }
        self.waited = waited;
        self.retries += 1;
        Some(delay)
    }

    /// Full jitter: uniformly between zero and `min(max_delay, base_delay * 2^retries)`.
    fn backoff(&self, random: f64) -> Duration {
        let factor = 2u32.saturating_pow(self.retries.min(31));
        let step = self
            .policy
            .base_delay
            .saturating_mul(factor)
            .min(self.policy.max_delay);
        step.mul_f64(random.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::ErrorBody;

    fn status(method: &str, status: u16, message: &str) -> ApiError {
        ApiError::status_error(
            method,
            "/v5/pins",
            status,
            ErrorBody {
                code: None,
                message: Some(message.into()),
                message_detail: None,
            },
        )
    }

    fn label(class: ErrorClass) -> &'static str {
        match class {
            ErrorClass::Transient => "transient",
            ErrorClass::RateLimited { .. } => "rate-limited",
            ErrorClass::Spam => "spam",
            ErrorClass::BlockedLink => "blocked-link",
            ErrorClass::Auth => "auth",
            ErrorClass::Fatal => "fatal",
        }
    }

    #[test]
    fn every_status_from_100_to_599_has_the_documented_class() {
        // Ranges of statuses with the same class, in order; together they cover 100..=599.
        let table: &[(u16, u16, &str)] = &[
            (100, 400, "fatal"),
            (401, 401, "auth"),
            (402, 407, "fatal"),
            (408, 408, "transient"),
            (409, 428, "fatal"),
            (429, 429, "rate-limited"),
            (430, 499, "fatal"),
            (500, 599, "transient"),
        ];
        for code in 100..=599u16 {
            let expected = table
                .iter()
                .find(|(low, high, _)| (*low..=*high).contains(&code))
                .map(|(_, _, class)| *class)
                .unwrap();
            let got = label(classify(&status("GET", code, "x")));
            assert_eq!(got, expected, "status {code}");
        }
        assert_eq!(
            label(classify(&status("POST", 429, "Blocked: spam"))),
            "spam"
        );
        // A refused link is recognised by its message whatever the status, and never retried.
        for code in [400, 403, 429, 500] {
            let refused = status(
                "POST",
                code,
                "Sorry! We blocked this link because it may lead to spam.",
            );
            assert_eq!(label(classify(&refused)), "blocked-link", "status {code}");
            let mut state = RetryState::new(RetryPolicy::default());
            assert_eq!(state.next_delay(&refused, SystemTime::now(), 0.5), None);
        }
    }

    #[test]
    fn transport_failures_are_transient_and_local_ones_fatal() {
        for kind in [
            ApiErrorKind::Timeout,
            ApiErrorKind::Connect,
            ApiErrorKind::Transport,
        ] {
            assert_eq!(
                classify(&ApiError::new(kind, "GET", "/v5/boards")),
                ErrorClass::Transient
            );
        }
        assert_eq!(
            classify(&ApiError::new(ApiErrorKind::Decode, "GET", "/v5/boards")),
            ErrorClass::Fatal
        );
        assert_eq!(
            classify(&ApiError::new(ApiErrorKind::NoToken, "GET", "/v5/boards")),
            ErrorClass::Auth
        );
    }

    #[test]
    fn backoff_grows_exponentially_within_the_cap_and_stops_after_max_retries() {
        let policy = RetryPolicy {
            max_retries: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            total_budget: Duration::from_secs(60),
        };
        let err = status("GET", 503, "busy");
        let now = SystemTime::UNIX_EPOCH;
        let mut state = RetryState::new(policy);
        let upper: Vec<Duration> = (0..6)
            .map(|_| state.next_delay(&err, now, 0.999_999).unwrap())
            .collect();
        let ms: Vec<u128> = upper
            .iter()
            .map(|d| (d.as_secs_f64() * 1000.0).round() as u128)
            .collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(state.next_delay(&err, now, 0.5), None);
        assert_eq!(state.retries(), 6);

        let mut state = RetryState::new(policy);
        assert_eq!(state.next_delay(&err, now, 0.0), Some(Duration::ZERO));
        let half = state.next_delay(&err, now, 0.5).unwrap();
        assert_eq!(half, Duration::from_millis(100));
    }

    #[test]
    fn retry_after_overrides_backoff_and_fatal_errors_are_never_retried() {
        let mut state = RetryState::new(RetryPolicy::default());
        let limited = status("POST", 429, "slow down")
            .with_retry_after(Some(RetryAfter::Delay(Duration::from_secs(7))));
        assert_eq!(
            state.next_delay(&limited, SystemTime::UNIX_EPOCH, 0.1),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            state.next_delay(&status("POST", 400, "bad"), SystemTime::UNIX_EPOCH, 0.1),
            None
        );
        assert_eq!(
            state.next_delay(&status("POST", 429, "spam"), SystemTime::UNIX_EPOCH, 0.1),
            None
        );
    }

    #[test]
    fn a_429_without_retry_after_waits_at_least_half_the_step() {
        let mut state = RetryState::new(RetryPolicy::default());
        let limited = status("GET", 429, "slow down");
        assert_eq!(
            state.next_delay(&limited, SystemTime::UNIX_EPOCH, 0.0),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            state.next_delay(&limited, SystemTime::UNIX_EPOCH, 1.0),
            Some(Duration::from_millis(1000))
        );
    }

    #[test]
    fn the_total_budget_ends_retrying() {
        let policy = RetryPolicy {
            max_retries: 100,
            total_budget: Duration::from_secs(20),
            ..RetryPolicy::default()
        };
        let limited = status("GET", 429, "slow down")
            .with_retry_after(Some(RetryAfter::Delay(Duration::from_secs(8))));
        let mut state = RetryState::new(policy);
        assert!(
            state
                .next_delay(&limited, SystemTime::UNIX_EPOCH, 0.5)
                .is_some()
        );
        assert!(
            state
                .next_delay(&limited, SystemTime::UNIX_EPOCH, 0.5)
                .is_some()
        );
        assert_eq!(
            state.next_delay(&limited, SystemTime::UNIX_EPOCH, 0.5),
            None
        );
    }
}
