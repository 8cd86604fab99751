//! The rate-limit headers of a response, in the forms servers send them: `X-RateLimit-Limit`,
//! `-Remaining` and `-Reset` as numbers; `X-RateLimit-Limit` as a list of policies
//! (`100, 100;w=1, 1000;w=60`, the first the one Remaining counts down); the same without the
//! `X-` prefix (early IETF drafts); and the IETF `RateLimit-Policy` and `RateLimit` fields
//! (`"writes";q=100;w=60` and `"writes";r=42;t=17`). Every policy read binds: the one the
//! remaining count belongs to is the budget, the others hold as extra windows.
//!
//! A response that carries such headers but none that can be read is reported (see
//! [`RateLimitHeaders::read`]) rather than silently paced as if it had none.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

/// A `Reset` above this is read as Unix seconds, below it as seconds from now.
pub const EPOCH_THRESHOLD: u64 = 1_000_000_000;

/// The most extra policies kept from one response.
const MAX_EXTRA: usize = 4;

/// What one response says of the write budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimitHeaders {
    /// Writes allowed per window.
    pub limit: Option<u64>,
    /// Writes left in this window.
    pub remaining: Option<u64>,
    /// Unix seconds (large values) or seconds from now until the budget is back.
    pub reset: Option<u64>,
    /// The window's length in seconds, when the headers name it (`w=`); otherwise it is learnt
    /// from Reset.
    pub window: Option<u64>,
    /// Other policies that hold too: (writes, window in seconds).
    pub extra: [Option<(u64, u64)>; MAX_EXTRA],
}

/// What reading a response's rate-limit headers came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderReading {
    /// No rate-limit headers at all.
    Absent,
    /// Readable headers.
    Read(RateLimitHeaders),
    /// Rate-limit headers in a form this does not understand, with the first one's text.
    Unreadable(String),
}

/// One `q;w=` or `"name";q=..;w=..` policy, or one `"name";r=..;t=..` status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Item {
    name: Option<String>,
    /// The bare number of a list item (`100` in `100;w=1`).
    number: Option<u64>,
    params: Vec<(String, u64)>,
}

impl Item {
    fn param(&self, key: &str) -> Option<u64> {
        self.params
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| *value)
    }
}

/// Parses a comma-separated list of items: a number or a quoted name, then `;key=value`
/// parameters. `None` when any item does not read.
fn items(text: &str) -> Option<Vec<Item>> {
    let mut items = Vec::new();
    for part in text.split(',') {
        let mut pieces = part.split(';').map(str::trim);
        let head = pieces.next()?;
        let mut item = Item::default();
        if let Some(name) = head
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
        {
            item.name = Some(name.to_owned());
        } else if !head.is_empty() {
            item.number = Some(whole(head)?);
        }
        for piece in pieces.filter(|piece| !piece.is_empty()) {
            let (key, value) = piece.split_once('=')?;
            item.params
                .push((key.trim().to_ascii_lowercase(), whole(value.trim())?));
        }
        items.push(item);
    }
    Some(items)
}

/// A number as servers write them: whole, or with a fraction (whole seconds are enough here).
fn whole(text: &str) -> Option<u64> {
    text.trim_matches('"').split('.').next()?.parse().ok()
}

impl RateLimitHeaders {
    /// Reads the headers; `None` when no readable form gives the writes remaining.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        match Self::read(headers) {
            HeaderReading::Read(read) => Some(read),
            HeaderReading::Absent | HeaderReading::Unreadable(_) => None,
        }
    }

    /// Reads the headers in any of the forms this module knows, saying when some are there
    /// but none can be read.
    pub fn read(headers: &HeaderMap) -> HeaderReading {
        let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let present = [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "ratelimit-policy",
            "ratelimit",
        ]
        .into_iter()
        .find_map(|name| headers.get(name).map(|value| (name, value)));
        let Some((first, value)) = present else {
            return HeaderReading::Absent;
        };
        let read = ietf_fields(text("ratelimit-policy"), text("ratelimit"))
            .or_else(|| numbered(&text, "x-ratelimit-"))
            .or_else(|| numbered(&text, "ratelimit-"));
        match read {
            Some(read) => HeaderReading::Read(read),
            None => HeaderReading::Unreadable(format!(
                "{first}: {}",
                value.to_str().unwrap_or("(not text)")
            )),
        }
    }

    /// How long from `server_now` (the server's clock, as estimated) until the reset.
    pub fn reset_in(&self, server_now: SystemTime) -> Option<Duration> {
        let reset = self.reset?;
        if reset >= EPOCH_THRESHOLD {
            let at = SystemTime::UNIX_EPOCH + Duration::from_secs(reset);
            Some(at.duration_since(server_now).unwrap_or(Duration::ZERO))
        } else {
            Some(Duration::from_secs(reset))
        }
    }
}

/// `<prefix>limit`, `-remaining` and `-reset`, the limit a number or a list of policies.
fn numbered<'a>(text: &impl Fn(&str) -> Option<&'a str>, prefix: &str) -> Option<RateLimitHeaders> {
    let remaining = whole(text(&format!("{prefix}remaining"))?)?;
    let reset = match text(&format!("{prefix}reset")) {
        Some(reset) => Some(whole(reset)?),
        None => None,
    };
    let mut read = RateLimitHeaders {
        remaining: Some(remaining),
        reset,
        ..RateLimitHeaders::default()
    };
    if let Some(limit) = text(&format!("{prefix}limit")) {
        let items = items(limit)?;
        let mut policies = items.iter().filter_map(|item| {
            let writes = item.number.or(item.param("q"))?;
            Some((writes, item.param("w")))
        });
        let (limit, window) = policies.next()?;
        read.limit = Some(limit);
        read.window = window;
        let mut extra = Vec::new();
        for (writes, window) in policies {
            match window {
                // The first item repeated with its window (`100, 100;w=1`): it names the window.
                Some(window) if writes == limit && read.window.is_none() => {
                    read.window = Some(window);
                }
                Some(window) if (writes, Some(window)) != (limit, read.window) => {
                    extra.push((writes, window));
                }
                _ => {}
            }
        }
        read.extra = extras(extra);
    }
    Some(read)
}

/// The IETF fields: `RateLimit-Policy` names each policy's quota and window, `RateLimit` each
/// one's remaining count and reset; the one with the least left is the budget.
fn ietf_fields(policy: Option<&str>, status: Option<&str>) -> Option<RateLimitHeaders> {
    let status = items(status?)?;
    let policies = policy.and_then(items).unwrap_or_default();
    let named = |name: &Option<String>| policies.iter().find(|policy| &policy.name == name);
    let tightest = status
        .iter()
        .filter(|item| item.param("r").is_some())
        .min_by_key(|item| item.param("r"))?;
    let own = named(&tightest.name);
    let extra = policies
        .iter()
        .filter(|policy| policy.name != tightest.name)
        .filter_map(|policy| Some((policy.param("q")?, policy.param("w")?)))
        .collect();
    Some(RateLimitHeaders {
        limit: own.and_then(|policy| policy.param("q")),
        remaining: tightest.param("r"),
        reset: tightest.param("t"),
        window: own.and_then(|policy| policy.param("w")),
        extra: extras(extra),
    })
}

fn extras(mut policies: Vec<(u64, u64)>) -> [Option<(u64, u64)>; MAX_EXTRA] {
    // The tightest first, when there are more than fit.
    policies.sort_by(|a, b| (a.0 * b.1).cmp(&(b.0 * a.1)));
    let mut extra = [None; MAX_EXTRA];
    for (slot, policy) in extra.iter_mut().zip(policies) {
        *slot = Some(policy);
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn plain_numbers_are_read_case_insensitively_and_need_remaining() {
        assert_eq!(
            RateLimitHeaders::read(&map(&[("X-RateLimit-Limit", "100")])),
            HeaderReading::Unreadable("x-ratelimit-limit: 100".into())
        );
        let read = RateLimitHeaders::from_headers(&map(&[
            ("X-RateLimit-Limit", "100"),
            ("X-RateLimit-Remaining", "7"),
            ("X-RateLimit-Reset", "12.5"),
        ]))
        .unwrap();
        assert_eq!(
            (read.limit, read.remaining, read.reset, read.window),
            (Some(100), Some(7), Some(12), None)
        );
        assert_eq!(
            RateLimitHeaders::read(&HeaderMap::new()),
            HeaderReading::Absent
        );
    }

    #[test]
    fn a_list_of_policies_gives_the_window_and_extra_limits() {
        let read = RateLimitHeaders::from_headers(&map(&[
            ("X-RateLimit-Limit", "100, 100;w=1, 1000;w=60"),
            ("X-RateLimit-Remaining", "42"),
            ("X-RateLimit-Reset", "1"),
        ]))
        .unwrap();
        assert_eq!((read.limit, read.window), (Some(100), Some(1)));
        assert_eq!(read.extra[0], Some((1000, 60)));
        assert_eq!(read.extra[1], None);
        // Without the X- prefix (early IETF drafts), a window on the first item itself.
        let read = RateLimitHeaders::from_headers(&map(&[
            ("RateLimit-Limit", "60;w=4"),
            ("RateLimit-Remaining", "3"),
            ("RateLimit-Reset", "2"),
        ]))
        .unwrap();
        assert_eq!(
            (read.limit, read.window, read.remaining),
            (Some(60), Some(4), Some(3))
        );
    }

    #[test]
    fn ietf_fields_take_the_policy_with_the_least_left() {
        let read = RateLimitHeaders::from_headers(&map(&[
            (
                "RateLimit-Policy",
                "\"burst\";q=100;w=1, \"day\";q=5000;w=86400",
            ),
            ("RateLimit", "\"burst\";r=90;t=1, \"day\";r=12;t=3600"),
        ]))
        .unwrap();
        assert_eq!(
            (read.limit, read.remaining, read.reset, read.window),
            (Some(5000), Some(12), Some(3600), Some(86400))
        );
        assert_eq!(read.extra[0], Some((100, 1)));
    }

    #[test]
    fn headers_that_do_not_read_are_reported_not_ignored() {
        let reading = RateLimitHeaders::read(&map(&[
            ("X-RateLimit-Limit", "plenty"),
            ("X-RateLimit-Remaining", "3"),
        ]));
        assert_eq!(
            reading,
            HeaderReading::Unreadable("x-ratelimit-limit: plenty".into())
        );
        let reading = RateLimitHeaders::read(&map(&[("RateLimit", "\"w\";r=soon")]));
        assert!(
            matches!(reading, HeaderReading::Unreadable(_)),
            "{reading:?}"
        );
    }
}
