//! Pinterest pushing back on what is published, as the `block-domain` and `spam-after` faults
//! model it: a pin whose link is on a blocked domain is refused as spam (code 9, "Sorry! We
//! blocked this link because it may lead to spam.", with the status `block-status`), and an
//! account that creates more than N pins within a window is blocked as spam for `spam-block`
//! (every write refused with a 429 that says so, with `Retry-After`).
//!
//! The shape of both answers is what public code shows, not what Pinterest documents (see
//! `pinterest-api.md` section 13); clients are expected to recognise them by code and message.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::faults::FaultPlan;

/// The message Pinterest sends with a link refused as spam (code 9).
pub const BLOCKED_LINK_MESSAGE: &str = "Sorry! We blocked this link because it may lead to spam.";

/// The message of a write refused because the account is blocked as spam.
pub const SPAM_BLOCK_MESSAGE: &str = "Your account has been temporarily blocked from saving Pins because of activity that looks like spam.";

/// What the faults decided for one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushback {
    /// The pin's link is on a blocked domain: answer `status` with code 9.
    Link {
        /// The status of the answer.
        status: u16,
    },
    /// The account is blocked as spam for this much longer.
    Account {
        /// Until the block ends.
        left: Duration,
    },
}

/// Counts the account's creates and blocks it when they come too fast.
#[derive(Debug, Default)]
pub(crate) struct SpamDetector {
    creates: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

impl SpamDetector {
    /// Decides for one write under `plan`'s faults: `is_create` for `POST /v5/pins`,
    /// `is_pin_write` for that and `PATCH /v5/pins/{id}`, `link` the link it carries.
    pub fn decide(
        &mut self,
        plan: &FaultPlan,
        is_create: bool,
        is_pin_write: bool,
        link: Option<&str>,
        now: Instant,
    ) -> Option<Pushback> {
        if let Some(until) = self.blocked_until {
            if now < until {
                return Some(Pushback::Account { left: until - now });
            }
            self.blocked_until = None;
        }
        if is_pin_write && link.is_some_and(|link| on_blocked_domain(link, &plan.blocked_domains)) {
            return Some(Pushback::Link {
                status: plan.blocked_link_status,
            });
        }
        let (limit, window) = match plan.spam_after {
            Some(rule) if is_create => rule,
            _ => return None,
        };
        while self
            .creates
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= window)
        {
            self.creates.pop_front();
        }
        if self.creates.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
            self.blocked_until = Some(now + plan.spam_block);
            return Some(Pushback::Account {
                left: plan.spam_block,
            });
        }
        self.creates.push_back(now);
        None
    }
}

/// Whether `link`'s host is one of `domains` or under one of them.
fn on_blocked_domain(link: &str, domains: &[String]) -> bool {
    let Some(host) = url::Url::parse(link)
        .ok()
        .and_then(|url| url.host_str().map(str::to_ascii_lowercase))
    else {
        return false;
    };
    domains.iter().any(|domain| {
        host == *domain
            || host
                .strip_suffix(domain.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_on_blocked_domains_are_refused_and_fast_accounts_blocked() {
        let plan: FaultPlan = "block-domain=spam.example,spam-after=2/1s,spam-block=60s"
            .parse()
            .unwrap();
        let mut detector = SpamDetector::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let block = Duration::from_secs(60);
        let mut decide = |create: bool, link: &str, ms: u64| {
            detector.decide(&plan, create, true, Some(link), at(ms))
        };
        assert_eq!(
            decide(true, "https://www.spam.example/a", 0),
            Some(Pushback::Link { status: 429 })
        );
        assert_eq!(decide(true, "https://notspam.example/a", 0), None);
        assert_eq!(decide(true, "https://fine.example/b", 500), None);
        // A third create within the second trips the detector; then every write is refused.
        assert_eq!(
            decide(true, "https://fine.example/c", 900),
            Some(Pushback::Account { left: block })
        );
        assert_eq!(
            decide(false, "https://fine.example/d", 10_900),
            Some(Pushback::Account {
                left: Duration::from_secs(50)
            })
        );
        assert_eq!(decide(true, "https://fine.example/e", 61_000), None);
    }

    #[test]
    fn creates_spaced_out_stay_clear() {
        let plan: FaultPlan = "spam-after=2/1s".parse().unwrap();
        let mut detector = SpamDetector::default();
        let start = Instant::now();
        for i in 0..20u64 {
            let now = start + Duration::from_millis(i * 600);
            assert_eq!(
                detector.decide(&plan, true, true, None, now),
                None,
                "create {i}"
            );
        }
    }
}
