//! When Pinterest pushes back on what is sent, beyond a rate limit to keep: a link refused as
//! spam, and a block of the account's writes. What each means is decided here; the run loop
//! (`mod.rs`) records it and stops or goes on.
//!
//! - **A refused link** (code 9, or "blocked this link", whatever the status) is never retried:
//!   the pin is recorded as blocked with Pinterest's message, and every other pin whose link has
//!   the same domain is held for the rest of the run, unsent. The rest go on.
//! - **A blocked account** (a 429 about spam, or 429s that kept coming after their
//!   `Retry-After` until the retries ran out) stops the run. The state records until when no
//!   run writes: the `Retry-After` of a spam block, else [`SPAM_HOLD`]; for rate limits that did
//!   not lift, their `Retry-After` and at least [`THROTTLE_HOLD`].

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::StopReason;
use crate::api::ApiError;
use crate::plan::link_domain;

/// How long the account's writes are held after a spam block that named no time: Pinterest's
/// help says most blocks clear within 24 hours.
pub(crate) const SPAM_HOLD: Duration = Duration::from_secs(24 * 3600);

/// How long they are held, at least, after rate limits that did not lift.
pub(crate) const THROTTLE_HOLD: Duration = Duration::from_secs(3600);

/// What a refusal means for the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pushback {
    /// The pin's link was refused as spam.
    Link {
        /// The link's domain, held for the rest of the run.
        domain: Option<String>,
        /// Pinterest's message.
        message: String,
    },
    /// The account's writes were refused: the run stops.
    Account {
        /// Why, for the final message.
        reason: StopReason,
        /// No run writes before this (ms since the epoch).
        until_ms: i64,
        /// What Pinterest said, as the state records it.
        message: String,
    },
}

/// What `err`, the answer to a write of a pin with `link`, means, if it is a push back.
pub(super) fn classify(err: &ApiError, link: Option<&str>, now: SystemTime) -> Option<Pushback> {
    if err.is_blocked_link() {
        return Some(Pushback::Link {
            domain: link.and_then(link_domain),
            message: err.message().map_or_else(|| err.to_string(), str::to_owned),
        });
    }
    let retry_after = err.retry_after().map(|after| after.asked_from(now));
    let (reason, hold) = if err.is_spam() {
        (StopReason::Spam, retry_after.unwrap_or(SPAM_HOLD))
    } else if err.status() == Some(429) && err.quota().is_none() && err.retries() > 0 {
        (
            StopReason::Throttled,
            retry_after.unwrap_or_default().max(THROTTLE_HOLD),
        )
    } else {
        return None;
    };
    let until = now + hold;
    let status = err.status().unwrap_or(429);
    Some(Pushback::Account {
        reason,
        until_ms: crate::epoch::millis(until),
        message: match err.message() {
            Some(message) => format!("{status}: {message}"),
            None => status.to_string(),
        },
    })
}

/// The link domains held in this run, each with the link Pinterest refused first.
#[derive(Debug, Default)]
pub(super) struct HeldDomains(Mutex<BTreeMap<String, String>>);

impl HeldDomains {
    /// Holds `domain` because Pinterest refused `link`.
    pub fn hold(&self, domain: String, link: &str) {
        if let Ok(mut held) = self.0.lock() {
            held.entry(domain).or_insert_with(|| link.to_owned());
        }
    }

    /// Why a pin with `link` must not be sent, if its domain is held.
    pub fn holding(&self, link: Option<&str>) -> Option<String> {
        let domain = link.and_then(link_domain)?;
        let held = self.0.lock().ok()?;
        held.get(&domain).map(|refused| {
            format!("not sent: Pinterest refused {refused} as spam in this run, and this link has the same domain ({domain}); --retry-blocked sends it")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::retry_after::RetryAfter;
    use crate::api::types::ErrorBody;

    fn refusal(status: u16, code: Option<i64>, message: &str) -> ApiError {
        ApiError::status_error(
            "POST",
            "/v5/pins",
            status,
            ErrorBody {
                code,
                message: Some(message.into()),
                message_detail: None,
            },
        )
    }

    #[test]
    fn a_refused_link_holds_its_domain() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let err = refusal(
            429,
            Some(9),
            "Sorry! We blocked this link because it may lead to spam.",
        );
        assert_eq!(
            classify(&err, Some("https://www.Spam.example/a?b=1"), now),
            Some(Pushback::Link {
                domain: Some("spam.example".into()),
                message: "Sorry! We blocked this link because it may lead to spam.".into(),
            })
        );
        let held = HeldDomains::default();
        held.hold("spam.example".into(), "https://www.spam.example/a");
        let reason = held.holding(Some("https://spam.example/other")).unwrap();
        assert!(reason.contains("https://www.spam.example/a"), "{reason}");
        assert_eq!(held.holding(Some("https://fine.example/x")), None);
        assert_eq!(held.holding(None), None);
    }

    #[test]
    fn account_blocks_are_held_until_a_time() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let now_ms = 1_000_000_000;
        let spam = refusal(429, Some(8), "Your account is blocked as spam.");
        assert_eq!(
            classify(&spam, None, now),
            Some(Pushback::Account {
                reason: StopReason::Spam,
                until_ms: now_ms + 24 * 3_600_000,
                message: "429: Your account is blocked as spam.".into(),
            })
        );
        let told = refusal(429, None, "blocked: spam")
            .with_retry_after(Some(RetryAfter::Delay(Duration::from_secs(600))));
        assert!(matches!(
            classify(&told, None, now),
            Some(Pushback::Account { until_ms, .. }) if until_ms == now_ms + 600_000
        ));
        // Rate limits that outlasted the retries; a single 429 (no retries allowed) is not one.
        let limited = refusal(429, Some(8), "This request exceeded a rate limit.")
            .with_retry_after(Some(RetryAfter::Delay(Duration::from_secs(2))));
        assert_eq!(classify(&limited, None, now), None);
        assert!(matches!(
            classify(&limited.with_retries(5), None, now),
            Some(Pushback::Account { reason: StopReason::Throttled, until_ms, .. }) if until_ms == now_ms + 3_600_000
        ));
        assert_eq!(classify(&refusal(400, Some(1), "Invalid"), None, now), None);
    }
}
