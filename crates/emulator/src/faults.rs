//! Fault injection for the emulator: the `--faults` grammar, its parsed [`FaultPlan`], and the
//! seeded runtime state that decides, request by request, which fault (if any) to apply.
//!
//! Grammar: comma-separated `key=value` pairs, every key optional, order irrelevant:
//!
//! | key | value | effect |
//! |---|---|---|
//! | `latency` | duration (`100ms`, `1s`) | every request is handled this long after it arrived |
//! | `error-rate` | probability 0..=1 | answer a target request with `status` |
//! | `status` | HTTP status 400..=599 (default 503) | status used by `error-rate` and `fail-first` |
//! | `rate429` | probability | answer a target request with 429 code 8 |
//! | `retry-after` | duration, whole seconds sent | add `Retry-After` to injected 429s |
//! | `drop-before` | probability | close the connection without storing anything |
//! | `drop-after-commit` | probability | store, then close the connection without a response |
//! | `fail-first` | count | the first N target requests get `status` |
//! | `drop-before-first` | count | the next N target requests are dropped before storing |
//! | `drop-after-first` | count | the next N target requests are dropped after storing |
//! | `gateway-after-commit` | probability | store, then answer `gateway-status` with an HTML page, as a proxy does |
//! | `gateway-after-commit-first` | count | the next N target requests get that gateway page after storing |
//! | `gateway-status` | 502, 503 or 504 (default 502) | status of the gateway page |
//! | `stall-after-commit` | probability | store, then never answer (the client's timeout ends the request) |
//! | `stall-after-commit-first` | count | the next N target requests are stored, then never answered |
//! | `listing-lag` | duration | a stored pin shows in pin listings only this long after it was created |
//! | `clock-offset` | signed duration (`5m`, `-5m`) | the emulator's clock runs this far from the machine's (`created_at`, `Date`) |
//! | `list-order` | `newest` (default), `oldest`, `mixed` | the order of pin listings (Pinterest documents none) |
//! | `section-pins` | `in-board` (default), `apart` | whether board listings include the pins that are in a section |
//! | `bookmark` | `normal` (default), `repeat` | `repeat`: every later page of a pin listing hands back the bookmark it was asked for |
//! | `write-limit` | `N/s` | token bucket of N tokens refilled at N a second, over POST/PATCH/DELETE under /v5 (not /oauth/token) |
//! | `write-bucket` | `N/s` | a token bucket refilled at N a second, of `burst` tokens |
//! | `burst` | count | the size of `write-bucket`'s bucket (default N) |
//! | `write-fixed` | `N/DURATION` (`100/5s`) | at most N writes per window, a window starting with its first write |
//! | `write-aligned` | `N/DURATION` (`60/4s`) | at most N writes per window, windows starting at whole multiples of the window since the Unix epoch (by the emulator's clock) |
//! | `write-sliding` | `N/DURATION` | at most N writes in any trailing window |
//! | `write-window` | `N/s` | at most N writes in any trailing second, no burst and no `X-RateLimit-*` headers |
//! | `reset` | `delta` (default), `epoch` | `X-RateLimit-Reset` as seconds to go or as a Unix time |
//! | `rate-headers` | `x` (default), `list`, `ietf`, `garbled` | how the budget is announced: `X-RateLimit-*` numbers; `X-RateLimit-Limit` as a list of policies (`60, 60;w=4, 100000;w=86400`); the IETF `RateLimit-Policy` and `RateLimit` fields; or words no client can read |
//! | `daily-quota` | count | writes allowed per day; after them every write gets 429 until midnight UTC |
//! | `trial-access` | `on` or `off` (default) | every write under /v5 (not /oauth/token) is refused with 403 code 29, as production answers an app with Trial access |
//! | `token-lifetime` | duration | access tokens issued from now on work this long (default 30 days) |
//! | `refresh-token-lifetime` | duration | refresh tokens issued from now on work this long (default 60 days) |
//! | `block-domain` | domains separated by `|` | a pin (create or update) whose link is on one of them (or under it) is refused as spam: code 9, "Sorry! We blocked this link because it may lead to spam." |
//! | `block-status` | HTTP status 400..=599 (default 429) | the status of that refusal |
//! | `spam-after` | `N/DURATION` (`5/1m`) | the account is blocked as spam once more than N pins were created within DURATION |
//! | `spam-block` | duration (default 24h) | how long such a block lasts: every write gets a 429 about spam with `Retry-After` |
//! | `media-fail` | probability | a video upload's processing ends in `failed` |
//! | `media-outage` | `on` or `off` (default) | `POST /v5/media` and `GET /v5/media/{id}` answer 503: the media service is down, pins and boards work |
//! | `normalize-text` | `on` or `off` (default) | pins keep their title, description, alt text and link trimmed, with CRLF and CR line ends as LF, as many services store text |
//! | `media-polls` | count (default 2) | status polls spent in `processing` before the final state |
//! | `scope` | `pins` (default), `writes`, `all`, `analytics` | which requests are target requests |
//! | `seed` | integer (default 0) | seed of the random draws, so runs are reproducible |
//!
//! Target requests: `scope=pins` means `POST /v5/pins` only; `scope=writes` every POST, PATCH
//! and DELETE under /v5; `scope=all` every request under /v5; `scope=analytics` every
//! `GET /v5/pins/{id}/analytics`. `/v5/oauth/token` is never a
//! target. The random faults share one draw per target request, so their probabilities may sum
//! to at most 1. The deterministic counters run one after the other: `fail-first`, then
//! `drop-before-first`, `drop-after-first`, `gateway-after-commit-first` and
//! `stall-after-commit-first`, and they take precedence over random draws.
//!
//! The `listing-lag`, `clock-offset`, `list-order`, `section-pins`, `bookmark`, `media-outage`
//! and `normalize-text` keys are not per-request faults but ways real services behave: they apply
//! to every request.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use super::limits::{ResetFormat, WriteLimiter, WritePolicy, WriteQuota, parse_per_window};
use super::pushback::{Pushback, SpamDetector};

/// How the write budget is announced in responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderForm {
    /// `X-RateLimit-Limit`, `-Remaining` and `-Reset` as numbers.
    #[default]
    X,
    /// `X-RateLimit-Limit` as a list of policies with their windows.
    List,
    /// IETF `RateLimit-Policy` and `RateLimit` fields.
    Ietf,
    /// Rate-limit headers no client can read (`about 60 a minute`).
    Garbled,
}

impl HeaderForm {
    fn as_str(self) -> &'static str {
        match self {
            HeaderForm::X => "x",
            HeaderForm::List => "list",
            HeaderForm::Ietf => "ietf",
            HeaderForm::Garbled => "garbled",
        }
    }
}

/// Which requests the error, 429 and drop faults apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FaultScope {
    /// Only `POST /v5/pins`.
    #[default]
    Pins,
    /// Every POST, PATCH and DELETE under /v5 except `/v5/oauth/token`.
    Writes,
    /// Every request under /v5 except `/v5/oauth/token`.
    All,
    /// Every `GET /v5/pins/{id}/analytics`.
    Analytics,
}

impl FaultScope {
    fn as_str(self) -> &'static str {
        match self {
            FaultScope::Pins => "pins",
            FaultScope::Writes => "writes",
            FaultScope::All => "all",
            FaultScope::Analytics => "analytics",
        }
    }
}

/// The order in which pin listings return pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListOrder {
    /// Newest first (what Pinterest appears to do, though it documents no order).
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// A fixed scramble of creation order: neither newest nor oldest first.
    Mixed,
}

impl ListOrder {
    fn as_str(self) -> &'static str {
        match self {
            ListOrder::Newest => "newest",
            ListOrder::Oldest => "oldest",
            ListOrder::Mixed => "mixed",
        }
    }
}

/// A complete description of the faults to inject; parse one with [`parse_fault_spec`].
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    /// How long after its arrival every request is handled.
    pub latency: Duration,
    /// Probability that a target request is answered with `error_status`.
    pub error_rate: f64,
    /// Status used by `error_rate` and `fail_first` (400..=599; 429 gets code 8).
    pub error_status: u16,
    /// Probability that a target request is answered with 429 code 8.
    pub rate429: f64,
    /// `Retry-After` sent with injected 429s; `None` sends no header.
    pub retry_after: Option<Duration>,
    /// Probability that a target request is stored and its connection then closed with no response.
    pub drop_after_commit: f64,
    /// Probability that a target request's connection is closed before anything is stored.
    pub drop_before: f64,
    /// The first N target requests are answered with `error_status`.
    pub fail_first: u32,
    /// After `fail_first`, the next N target requests are dropped before storing.
    pub drop_before_first: u32,
    /// After those, the next N target requests are stored and then dropped.
    pub drop_after_first: u32,
    /// Probability that a target request is stored and then answered by a gateway error page.
    pub gateway_after_commit: f64,
    /// After the drops, the next N target requests are stored and answered by a gateway page.
    pub gateway_after_commit_first: u32,
    /// Status of the gateway page (502, 503 or 504).
    pub gateway_status: u16,
    /// Probability that a target request is stored and then never answered.
    pub stall_after_commit: f64,
    /// After the gateway pages, the next N target requests are stored and never answered.
    pub stall_after_commit_first: u32,
    /// How long after its creation a pin first shows in pin listings (get by id is immediate).
    pub listing_lag: Duration,
    /// The emulator's clock minus the machine's, in milliseconds: `created_at` and `Date`.
    pub clock_offset_ms: i64,
    /// The order of pin listings.
    pub list_order: ListOrder,
    /// Whether a board's pin listing includes the pins that are in one of its sections.
    pub section_pins_in_board: bool,
    /// Whether later pages of pin listings hand back the bookmark they were asked for.
    pub repeat_bookmark: bool,
    /// How writes are limited; `None` means unlimited.
    pub write_policy: Option<WritePolicy>,
    /// How `X-RateLimit-Reset` is written.
    pub reset_format: ResetFormat,
    /// How the budget is announced.
    pub header_form: HeaderForm,
    /// Writes allowed per day, if limited.
    pub daily_quota: Option<u32>,
    /// Whether every write is refused as production refuses an app with Trial access.
    pub trial_access: bool,
    /// Lifetime of the access tokens issued from now on; `None` is Pinterest's 30 days.
    pub token_lifetime: Option<Duration>,
    /// Lifetime of the refresh tokens issued from now on; `None` is Pinterest's 60 days.
    pub refresh_token_lifetime: Option<Duration>,
    /// Link domains whose pins are refused as spam (code 9).
    pub blocked_domains: Vec<String>,
    /// The status of that refusal.
    pub blocked_link_status: u16,
    /// The account is blocked as spam once more than this many pins were created within the
    /// window.
    pub spam_after: Option<(u32, Duration)>,
    /// How long such a block lasts.
    pub spam_block: Duration,
    /// Probability that a video's processing ends in `failed`.
    pub media_fail: f64,
    /// How many status polls a video spends in `processing` before it succeeds or fails.
    pub media_polls: u32,
    /// Whether the media endpoints answer 503 (the rest works).
    pub media_outage: bool,
    /// Whether pins keep their text trimmed, with LF line ends.
    pub normalize_text: bool,
    /// Which requests are target requests.
    pub scope: FaultScope,
    /// Seed of the random draws.
    pub seed: u64,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            latency: Duration::ZERO,
            error_rate: 0.0,
            error_status: 503,
            rate429: 0.0,
            retry_after: None,
            drop_after_commit: 0.0,
            drop_before: 0.0,
            fail_first: 0,
            drop_before_first: 0,
            drop_after_first: 0,
            gateway_after_commit: 0.0,
            gateway_after_commit_first: 0,
            gateway_status: 502,
            stall_after_commit: 0.0,
            stall_after_commit_first: 0,
            listing_lag: Duration::ZERO,
            clock_offset_ms: 0,
            list_order: ListOrder::Newest,
            section_pins_in_board: true,
            repeat_bookmark: false,
            write_policy: None,
            reset_format: ResetFormat::Delta,
            header_form: HeaderForm::X,
            daily_quota: None,
            trial_access: false,
            token_lifetime: None,
            refresh_token_lifetime: None,
            blocked_domains: Vec::new(),
            blocked_link_status: 429,
            spam_after: None,
            spam_block: Duration::from_secs(24 * 3600),
            media_fail: 0.0,
            media_polls: 2,
            media_outage: false,
            normalize_text: false,
            scope: FaultScope::Pins,
            seed: 0,
        }
    }
}

impl FaultPlan {
    /// A plan that injects nothing (the default).
    pub fn none() -> Self {
        FaultPlan::default()
    }

    /// Whether the plan injects anything at all.
    pub fn is_empty(&self) -> bool {
        *self
            == FaultPlan {
                seed: self.seed,
                ..FaultPlan::default()
            }
    }
}

impl FromStr for FaultPlan {
    type Err = String;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        parse_fault_spec(spec)
    }
}

impl fmt::Display for FaultPlan {
    /// Prints the canonical spec string (only the keys that differ from the defaults).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = FaultPlan::default();
        let mut parts: Vec<String> = Vec::new();
        if self.latency != default.latency {
            parts.push(format!("latency={}ms", self.latency.as_millis()));
        }
        let rates = [
            ("error-rate", self.error_rate),
            ("rate429", self.rate429),
            ("drop-after-commit", self.drop_after_commit),
            ("drop-before", self.drop_before),
            ("gateway-after-commit", self.gateway_after_commit),
            ("stall-after-commit", self.stall_after_commit),
            ("media-fail", self.media_fail),
        ];
        for (key, value) in rates {
            if value != 0.0 {
                parts.push(format!("{key}={value}"));
            }
        }
        if self.error_status != default.error_status {
            parts.push(format!("status={}", self.error_status));
        }
        if let Some(after) = self.retry_after {
            parts.push(format!("retry-after={}s", after.as_secs()));
        }
        let counts = [
            ("fail-first", self.fail_first),
            ("drop-before-first", self.drop_before_first),
            ("drop-after-first", self.drop_after_first),
            (
                "gateway-after-commit-first",
                self.gateway_after_commit_first,
            ),
            ("stall-after-commit-first", self.stall_after_commit_first),
        ];
        for (key, value) in counts {
            if value != 0 {
                parts.push(format!("{key}={value}"));
            }
        }
        if self.gateway_status != default.gateway_status {
            parts.push(format!("gateway-status={}", self.gateway_status));
        }
        if !self.listing_lag.is_zero() {
            parts.push(format!("listing-lag={}ms", self.listing_lag.as_millis()));
        }
        if self.clock_offset_ms != 0 {
            parts.push(format!("clock-offset={}ms", self.clock_offset_ms));
        }
        if self.list_order != default.list_order {
            parts.push(format!("list-order={}", self.list_order.as_str()));
        }
        if !self.section_pins_in_board {
            parts.push("section-pins=apart".to_owned());
        }
        if self.repeat_bookmark {
            parts.push("bookmark=repeat".to_owned());
        }
        if let Some(policy) = self.write_policy {
            parts.push(policy.to_string());
        }
        if self.reset_format == ResetFormat::Epoch {
            parts.push("reset=epoch".to_owned());
        }
        if self.header_form != HeaderForm::X {
            parts.push(format!("rate-headers={}", self.header_form.as_str()));
        }
        if let Some(quota) = self.daily_quota {
            parts.push(format!("daily-quota={quota}"));
        }
        if self.trial_access {
            parts.push("trial-access=on".to_owned());
        }
        if let Some(lifetime) = self.token_lifetime {
            parts.push(format!("token-lifetime={}ms", lifetime.as_millis()));
        }
        if let Some(lifetime) = self.refresh_token_lifetime {
            parts.push(format!("refresh-token-lifetime={}ms", lifetime.as_millis()));
        }
        if !self.blocked_domains.is_empty() {
            parts.push(format!("block-domain={}", self.blocked_domains.join("|")));
        }
        if self.blocked_link_status != default.blocked_link_status {
            parts.push(format!("block-status={}", self.blocked_link_status));
        }
        if let Some((limit, window)) = self.spam_after {
            parts.push(format!("spam-after={limit}/{}ms", window.as_millis()));
        }
        if self.spam_block != default.spam_block {
            parts.push(format!("spam-block={}ms", self.spam_block.as_millis()));
        }
        if self.media_polls != default.media_polls {
            parts.push(format!("media-polls={}", self.media_polls));
        }
        if self.media_outage {
            parts.push("media-outage=on".to_owned());
        }
        if self.normalize_text {
            parts.push("normalize-text=on".to_owned());
        }
        if self.scope != default.scope {
            parts.push(format!("scope={}", self.scope.as_str()));
        }
        if self.seed != default.seed {
            parts.push(format!("seed={}", self.seed));
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

/// Every key of the grammar, for the message about an unknown one.
const KEYS: &str = "latency, error-rate, status, rate429, retry-after, drop-after-commit, \
    drop-before, fail-first, drop-before-first, drop-after-first, gateway-after-commit, \
    gateway-after-commit-first, gateway-status, stall-after-commit, stall-after-commit-first, \
    listing-lag, clock-offset, list-order, section-pins, bookmark, write-limit, write-bucket, \
    burst, write-fixed, write-aligned, write-sliding, write-window, reset, rate-headers, \
    daily-quota, trial-access, token-lifetime, refresh-token-lifetime, block-domain, \
    block-status, spam-after, spam-block, media-fail, media-polls, media-outage, normalize-text, \
    scope, seed";

/// Parses a fault spec such as `latency=100ms,error-rate=0.1,status=503,seed=7`.
///
/// An empty string or `none` is the empty plan. Errors name the offending pair.
pub fn parse_fault_spec(spec: &str) -> Result<FaultPlan, String> {
    let mut parser = SpecParser::default();
    let trimmed = spec.trim();
    if trimmed.is_empty() || trimmed == "none" {
        return Ok(parser.plan);
    }
    for pair in trimmed.split(',') {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("`{pair}` is not a key=value pair"));
        };
        parser
            .pair(key.trim(), value.trim())
            .map_err(|refusal| match refusal {
                Refusal::Value(err) => format!("`{pair}`: {err}"),
                Refusal::Spec(err) => err,
            })?;
    }
    parser.finish()
}

/// Why one pair was refused: its value (the message names the pair), or the spec as a whole.
enum Refusal {
    Value(String),
    Spec(String),
}

impl From<String> for Refusal {
    fn from(err: String) -> Self {
        Refusal::Value(err)
    }
}

/// The plan being filled in, pair after pair.
#[derive(Default)]
struct SpecParser {
    plan: FaultPlan,
    /// `burst`, which may come before or after the bucket it sizes.
    burst: Option<u32>,
}

impl SpecParser {
    fn pair(&mut self, key: &str, value: &str) -> Result<(), Refusal> {
        match key {
            "latency"
            | "error-rate"
            | "status"
            | "rate429"
            | "retry-after"
            | "drop-after-commit"
            | "drop-before"
            | "fail-first"
            | "drop-before-first"
            | "drop-after-first"
            | "gateway-after-commit"
            | "gateway-after-commit-first"
            | "gateway-status"
            | "stall-after-commit"
            | "stall-after-commit-first"
            | "media-fail"
            | "scope"
            | "seed" => Ok(self.request_fault(key, value)?),
            "listing-lag" | "clock-offset" | "list-order" | "section-pins" | "bookmark"
            | "media-polls" | "media-outage" | "normalize-text" => Ok(self.behaviour(key, value)?),
            "write-limit" | "write-bucket" | "write-fixed" | "write-aligned" | "write-sliding"
            | "write-window" => self.write_limit(key, value),
            "burst" => Ok(self.bucket_size(value)?),
            "reset"
            | "rate-headers"
            | "daily-quota"
            | "trial-access"
            | "token-lifetime"
            | "refresh-token-lifetime" => Ok(self.account(key, value)?),
            "block-domain" | "block-status" | "spam-after" | "spam-block" => {
                Ok(self.pushback(key, value)?)
            }
            _ => Err(Refusal::Spec(format!(
                "unknown fault `{key}` (known: {KEYS})"
            ))),
        }
    }

    /// Faults drawn or counted per target request, and which requests are targets.
    fn request_fault(&mut self, key: &str, value: &str) -> Result<(), String> {
        let plan = &mut self.plan;
        match key {
            "latency" => plan.latency = parse_duration(value)?,
            "error-rate" => plan.error_rate = parse_probability(value)?,
            "status" => plan.error_status = parse_status(value)?,
            "rate429" => plan.rate429 = parse_probability(value)?,
            "retry-after" => plan.retry_after = Some(parse_duration(value)?),
            "drop-after-commit" => plan.drop_after_commit = parse_probability(value)?,
            "drop-before" => plan.drop_before = parse_probability(value)?,
            "fail-first" => plan.fail_first = parse_count(value)?,
            "drop-before-first" => plan.drop_before_first = parse_count(value)?,
            "drop-after-first" => plan.drop_after_first = parse_count(value)?,
            "gateway-after-commit" => plan.gateway_after_commit = parse_probability(value)?,
            "gateway-after-commit-first" => plan.gateway_after_commit_first = parse_count(value)?,
            "gateway-status" => {
                plan.gateway_status = match value.parse::<u16>() {
                    Ok(status @ (502..=504)) => status,
                    _ => return Err("expected 502, 503 or 504".into()),
                }
            }
            "stall-after-commit" => plan.stall_after_commit = parse_probability(value)?,
            "stall-after-commit-first" => plan.stall_after_commit_first = parse_count(value)?,
            "media-fail" => plan.media_fail = parse_probability(value)?,
            "scope" => {
                plan.scope = one_of(
                    value,
                    &[
                        ("pins", FaultScope::Pins),
                        ("writes", FaultScope::Writes),
                        ("all", FaultScope::All),
                        ("analytics", FaultScope::Analytics),
                    ],
                )?
            }
            _ => {
                plan.seed = value
                    .parse()
                    .map_err(|_| "expected a non-negative integer".to_owned())?
            }
        }
        Ok(())
    }

    /// Ways real listings, clocks and media processing behave, applied to every request.
    fn behaviour(&mut self, key: &str, value: &str) -> Result<(), String> {
        let plan = &mut self.plan;
        match key {
            "listing-lag" => plan.listing_lag = parse_duration(value)?,
            "clock-offset" => plan.clock_offset_ms = parse_signed_ms(value)?,
            "list-order" => {
                plan.list_order = one_of(
                    value,
                    &[
                        ("newest", ListOrder::Newest),
                        ("oldest", ListOrder::Oldest),
                        ("mixed", ListOrder::Mixed),
                    ],
                )?
            }
            "section-pins" => {
                plan.section_pins_in_board = one_of(value, &[("in-board", true), ("apart", false)])?
            }
            "bookmark" => {
                plan.repeat_bookmark = one_of(value, &[("normal", false), ("repeat", true)])?
            }
            "media-outage" => plan.media_outage = on_or_off(value)?,
            "normalize-text" => plan.normalize_text = on_or_off(value)?,
            _ => plan.media_polls = parse_count(value)?,
        }
        Ok(())
    }

    /// The one write limit of the plan (a bucket, a fixed, sliding or unannounced window).
    fn write_limit(&mut self, key: &str, value: &str) -> Result<(), Refusal> {
        if self.plan.write_policy.is_some() {
            return Err(Refusal::Spec(
                "choose one write limit: write-limit, write-bucket, write-fixed, write-aligned, \
                 write-sliding or write-window"
                    .to_owned(),
            ));
        }
        let (limit, window) = parse_per_window(value)?;
        let per_second = || {
            (window == Duration::from_secs(1))
                .then_some(limit)
                .ok_or_else(|| "expected a rate per second, like 20/s".to_owned())
        };
        self.plan.write_policy = Some(match key {
            "write-limit" | "write-bucket" => {
                let rate = per_second()?;
                WritePolicy::Bucket {
                    rate,
                    burst: self.burst.unwrap_or(rate),
                }
            }
            "write-fixed" => WritePolicy::Fixed {
                limit,
                window,
                aligned: false,
            },
            "write-aligned" => WritePolicy::Fixed {
                limit,
                window,
                aligned: true,
            },
            "write-sliding" => WritePolicy::Sliding {
                limit,
                window,
                announced: true,
            },
            _ => WritePolicy::Sliding {
                limit: per_second()?,
                window,
                announced: false,
            },
        });
        Ok(())
    }

    /// `burst`: the size of the write bucket, before or after it is named.
    fn bucket_size(&mut self, value: &str) -> Result<(), String> {
        let size = parse_count(value)?;
        if size == 0 {
            return Err("expected at least 1".into());
        }
        self.burst = Some(size);
        if let Some(WritePolicy::Bucket { burst, .. }) = &mut self.plan.write_policy {
            *burst = size;
        }
        Ok(())
    }

    /// What the account and its tokens are allowed: quota, access level, token lifetimes.
    fn account(&mut self, key: &str, value: &str) -> Result<(), String> {
        let plan = &mut self.plan;
        match key {
            "reset" => {
                plan.reset_format = one_of(
                    value,
                    &[("delta", ResetFormat::Delta), ("epoch", ResetFormat::Epoch)],
                )?
            }
            "rate-headers" => {
                plan.header_form = one_of(
                    value,
                    &[
                        ("x", HeaderForm::X),
                        ("list", HeaderForm::List),
                        ("ietf", HeaderForm::Ietf),
                        ("garbled", HeaderForm::Garbled),
                    ],
                )?
            }
            "daily-quota" => plan.daily_quota = Some(parse_count(value)?),
            "trial-access" => plan.trial_access = on_or_off(value)?,
            "token-lifetime" => plan.token_lifetime = Some(parse_lifetime(value)?),
            _ => plan.refresh_token_lifetime = Some(parse_lifetime(value)?),
        }
        Ok(())
    }

    /// How Pinterest pushes back on what is published: blocked link domains, a spam detector.
    fn pushback(&mut self, key: &str, value: &str) -> Result<(), String> {
        let plan = &mut self.plan;
        match key {
            "block-domain" => {
                let domains: Vec<String> = value
                    .split('|')
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect();
                if domains.is_empty() {
                    return Err("expected domains separated by |, like spam.example".into());
                }
                plan.blocked_domains = domains;
            }
            "block-status" => plan.blocked_link_status = parse_status(value)?,
            "spam-after" => plan.spam_after = Some(parse_per_window(value)?),
            _ => plan.spam_block = parse_duration(value)?,
        }
        Ok(())
    }

    /// The plan, once the pairs agree with each other.
    fn finish(self) -> Result<FaultPlan, String> {
        let plan = self.plan;
        if self.burst.is_some() && !matches!(plan.write_policy, Some(WritePolicy::Bucket { .. })) {
            return Err("burst sizes a bucket: use it with write-bucket or write-limit".to_owned());
        }
        let total = plan.error_rate
            + plan.rate429
            + plan.drop_after_commit
            + plan.drop_before
            + plan.gateway_after_commit
            + plan.stall_after_commit;
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "error-rate + rate429 + drop-after-commit + drop-before + gateway-after-commit + \
                 stall-after-commit is {total}, more than 1"
            ));
        }
        Ok(plan)
    }
}

/// `on` (or `true`) and `off` (or `false`).
fn on_or_off(value: &str) -> Result<bool, String> {
    let value = match value {
        "true" => "on",
        "false" => "off",
        other => other,
    };
    one_of(value, &[("on", true), ("off", false)])
}

/// The value among `options` that `value` names, else "expected a, b or c".
fn one_of<T: Copy>(value: &str, options: &[(&str, T)]) -> Result<T, String> {
    if let Some((_, chosen)) = options.iter().find(|(name, _)| *name == value) {
        return Ok(*chosen);
    }
    let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
    Err(match names.split_last() {
        Some((last, [])) => format!("expected {last}"),
        Some((last, rest)) => format!("expected {} or {last}", rest.join(", ")),
        None => "no value is accepted".to_owned(),
    })
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    humantime::parse_duration(value).map_err(|err| format!("expected a duration like 100ms: {err}"))
}

/// A duration with an optional sign (`5m`, `+5m`, `-300s`), in milliseconds.
fn parse_signed_ms(value: &str) -> Result<i64, String> {
    let (sign, magnitude) = match value.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, value.strip_prefix('+').unwrap_or(value)),
    };
    let duration = parse_duration(magnitude.trim())?;
    i64::try_from(duration.as_millis())
        .map(|ms| sign * ms)
        .map_err(|_| "the offset is too large".to_owned())
}

/// A token lifetime: a duration of at least a second.
fn parse_lifetime(value: &str) -> Result<Duration, String> {
    let lifetime = parse_duration(value)?;
    if lifetime < Duration::from_secs(1) {
        return Err("a token lifetime is at least 1s".into());
    }
    Ok(lifetime)
}

fn parse_probability(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err("expected a probability between 0 and 1".into()),
    }
}

fn parse_count(value: &str) -> Result<u32, String> {
    value
        .parse()
        .map_err(|_| "expected a non-negative integer".into())
}

fn parse_status(value: &str) -> Result<u16, String> {
    match value.parse::<u16>() {
        Ok(status) if (400..=599).contains(&status) => Ok(status),
        _ => Err("expected an HTTP status between 400 and 599".into()),
    }
}

/// What the fault state decided for one target request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injection {
    /// Handle the request normally.
    Pass,
    /// Answer with this status (429 gets code 8 and maybe `Retry-After`).
    Error { status: u16 },
    /// Close the connection before handling.
    DropBefore,
    /// Handle, then close the connection instead of answering.
    DropAfterCommit,
    /// Handle, then answer with a gateway's HTML error page of this status instead.
    GatewayAfterCommit { status: u16 },
    /// Handle, then never answer.
    StallAfterCommit,
}

/// The mutable side of a plan: the seeded generator, counters and the write limiter.
pub(crate) struct FaultState {
    plan: FaultPlan,
    rng: fastrand::Rng,
    targets_seen: u64,
    limiter: WriteLimiter,
    spam: SpamDetector,
}

impl FaultState {
    /// Fresh state for a plan: counters at zero, a full bucket, the generator seeded.
    pub fn new(plan: FaultPlan) -> Self {
        let limiter = WriteLimiter::new(plan.write_policy, plan.daily_quota, Instant::now());
        FaultState {
            rng: fastrand::Rng::with_seed(plan.seed),
            targets_seen: 0,
            limiter,
            spam: SpamDetector::default(),
            plan,
        }
    }

    /// The plan in force.
    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// Whether a request is a target of the error, 429 and drop faults.
    pub fn is_target(&self, method: &str, api_path: &str) -> bool {
        if api_path == "/oauth/token" || api_path.starts_with("/oauth/token/") {
            return false;
        }
        match self.plan.scope {
            FaultScope::Pins => method == "POST" && api_path == "/pins",
            FaultScope::Writes => is_write_method(method),
            FaultScope::All => true,
            FaultScope::Analytics => {
                method == "GET"
                    && api_path.starts_with("/pins/")
                    && api_path.ends_with("/analytics")
            }
        }
    }

    /// Decides the fault for the next target request.
    pub fn decide(&mut self) -> Injection {
        let index = self.targets_seen;
        self.targets_seen += 1;
        let plan = &self.plan;
        let fail_end = u64::from(plan.fail_first);
        let drop_before_end = fail_end + u64::from(plan.drop_before_first);
        let drop_after_end = drop_before_end + u64::from(plan.drop_after_first);
        let gateway_end = drop_after_end + u64::from(plan.gateway_after_commit_first);
        let stall_end = gateway_end + u64::from(plan.stall_after_commit_first);
        let gateway = Injection::GatewayAfterCommit {
            status: plan.gateway_status,
        };
        if index < fail_end {
            return Injection::Error {
                status: plan.error_status,
            };
        }
        if index < drop_before_end {
            return Injection::DropBefore;
        }
        if index < drop_after_end {
            return Injection::DropAfterCommit;
        }
        if index < gateway_end {
            return gateway;
        }
        if index < stall_end {
            return Injection::StallAfterCommit;
        }
        let draw = self.rng.f64();
        let mut threshold = plan.drop_before;
        if draw < threshold {
            return Injection::DropBefore;
        }
        threshold += plan.error_rate;
        if draw < threshold {
            return Injection::Error {
                status: plan.error_status,
            };
        }
        threshold += plan.rate429;
        if draw < threshold {
            return Injection::Error { status: 429 };
        }
        threshold += plan.drop_after_commit;
        if draw < threshold {
            return Injection::DropAfterCommit;
        }
        threshold += plan.gateway_after_commit;
        if draw < threshold {
            return gateway;
        }
        threshold += plan.stall_after_commit;
        if draw < threshold {
            return Injection::StallAfterCommit;
        }
        Injection::Pass
    }

    /// Counts one write against the write limits; `None` when none is set. `until_tomorrow` is
    /// how long the emulator's day has left to run.
    pub fn take_write(
        &mut self,
        now: Instant,
        server_ms: i64,
        until_tomorrow: Duration,
    ) -> Option<WriteQuota> {
        self.limiter.take(now, server_ms, until_tomorrow)
    }

    /// Whether Pinterest pushes back on a write (`block-domain`, `spam-after`): `method` on
    /// `api_path`, carrying `link`.
    pub fn push_back(
        &mut self,
        method: &str,
        api_path: &str,
        link: Option<&str>,
        now: Instant,
    ) -> Option<Pushback> {
        if api_path.starts_with("/oauth/token") || !is_write_method(method) {
            return None;
        }
        let is_create = method == "POST" && api_path == "/pins";
        let is_pin_write = is_create || (method == "PATCH" && api_path.starts_with("/pins/"));
        self.spam
            .decide(&self.plan, is_create, is_pin_write, link, now)
    }

    /// Decides whether a newly uploaded video's processing fails.
    pub fn media_processing_fails(&mut self) -> bool {
        self.plan.media_fail > 0.0 && self.rng.f64() < self.plan.media_fail
    }
}

/// Whether a method changes state (and so counts against the write limit).
pub(crate) fn is_write_method(method: &str) -> bool {
    matches!(method, "POST" | "PATCH" | "DELETE" | "PUT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let plan = parse_fault_spec(
            "latency=100ms,error-rate=0.1,status=503,rate429=0.05,retry-after=1s,\
             drop-after-commit=0.1,drop-before=0.05,write-limit=20/s,media-fail=1,seed=7",
        )
        .unwrap();
        assert_eq!(plan.latency, Duration::from_millis(100));
        assert_eq!(plan.error_rate, 0.1);
        assert_eq!(plan.error_status, 503);
        assert_eq!(plan.rate429, 0.05);
        assert_eq!(plan.retry_after, Some(Duration::from_secs(1)));
        assert_eq!(plan.drop_after_commit, 0.1);
        assert_eq!(plan.drop_before, 0.05);
        assert_eq!(
            plan.write_policy,
            Some(WritePolicy::Bucket {
                rate: 20,
                burst: 20
            })
        );
        assert_eq!(plan.media_fail, 1.0);
        assert_eq!(plan.seed, 7);
        assert_eq!(plan.scope, FaultScope::Pins);
    }

    #[test]
    fn empty_and_none_are_the_empty_plan() {
        assert!(parse_fault_spec("").unwrap().is_empty());
        assert!(parse_fault_spec("none").unwrap().is_empty());
        assert!(parse_fault_spec("seed=3").unwrap().is_empty());
        assert!(!parse_fault_spec("fail-first=1").unwrap().is_empty());
    }

    #[test]
    fn rejects_bad_input_with_the_pair_named() {
        for bad in [
            "latency",
            "latency=fast",
            "error-rate=1.5",
            "status=200",
            "write-limit=0/s",
            "write-limit=x/s",
            "scope=everything",
            "bogus=1",
            "error-rate=0.6,rate429=0.6",
            "write-limit=5/s,write-window=5/s",
            "write-fixed=100/5s,burst=3",
            "write-window=10/5s",
            "reset=soon",
            "daily-quota=many",
            "media-outage=sometimes",
            "block-domain=|",
            "block-status=200",
            "spam-after=0/1s",
            "spam-after=many",
            "spam-block=soon",
        ] {
            assert!(parse_fault_spec(bad).is_err(), "{bad} should fail");
        }
        let err = parse_fault_spec("status=99").unwrap_err();
        assert!(err.contains("status=99"), "{err}");
    }

    #[test]
    fn display_round_trips() {
        let spec = "latency=250ms,error-rate=0.2,status=500,retry-after=2s,fail-first=3,\
                    write-limit=5/s,media-polls=1,scope=writes,seed=9";
        let plan = parse_fault_spec(spec).unwrap();
        assert_eq!(parse_fault_spec(&plan.to_string()).unwrap(), plan);
        assert_eq!(FaultPlan::none().to_string(), "none");
        let window = parse_fault_spec("write-window=7/s").unwrap();
        assert_eq!(
            window.write_policy,
            Some(WritePolicy::Sliding {
                limit: 7,
                window: Duration::from_secs(1),
                announced: false
            })
        );
        assert_eq!(parse_fault_spec(&window.to_string()).unwrap(), window);
        for spec in [
            "write-bucket=20/s,burst=40",
            "burst=5,write-bucket=20/s",
            "write-fixed=100/5s,reset=epoch",
            "write-aligned=60/4s,reset=epoch",
            "write-fixed=60/4s,rate-headers=list",
            "write-sliding=60/4s,rate-headers=ietf",
            "write-sliding=100/5s,daily-quota=1000",
            "media-outage=on,normalize-text=on,trial-access=true",
        ] {
            let plan = parse_fault_spec(spec).unwrap();
            assert_eq!(parse_fault_spec(&plan.to_string()).unwrap(), plan, "{spec}");
        }
        assert_eq!(
            parse_fault_spec("burst=5,write-bucket=20/s")
                .unwrap()
                .write_policy,
            Some(WritePolicy::Bucket { rate: 20, burst: 5 })
        );
        let real = "gateway-after-commit=0.2,gateway-status=504,stall-after-commit=0.1,\
                    gateway-after-commit-first=2,stall-after-commit-first=1,listing-lag=3s,\
                    clock-offset=-5m,list-order=mixed,section-pins=apart,bookmark=repeat,\
                    block-domain=spam.example|Bad.Example,block-status=400,spam-after=5/1m,\
                    spam-block=2h";
        let plan = parse_fault_spec(real).unwrap();
        assert_eq!(parse_fault_spec(&plan.to_string()).unwrap(), plan);
    }

    #[test]
    fn services_that_lag_drift_and_reorder_are_described() {
        let plan = parse_fault_spec(
            "listing-lag=3s,clock-offset=-5m,list-order=oldest,section-pins=apart,bookmark=repeat",
        )
        .unwrap();
        assert_eq!(plan.listing_lag, Duration::from_secs(3));
        assert_eq!(plan.clock_offset_ms, -300_000);
        assert_eq!(plan.list_order, ListOrder::Oldest);
        assert!(!plan.section_pins_in_board);
        assert!(plan.repeat_bookmark);
        assert_eq!(
            parse_fault_spec("clock-offset=+90s")
                .unwrap()
                .clock_offset_ms,
            90_000
        );
        for bad in [
            "gateway-status=500",
            "clock-offset=soon",
            "list-order=random",
            "section-pins=hidden",
            "bookmark=loop",
            "gateway-after-commit=0.6,stall-after-commit=0.6",
        ] {
            assert!(parse_fault_spec(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn failures_after_the_commit_follow_the_drops() {
        let plan = parse_fault_spec(
            "drop-after-first=1,gateway-after-commit-first=1,stall-after-commit-first=1,\
             gateway-status=504",
        )
        .unwrap();
        let mut state = FaultState::new(plan);
        let decided: Vec<_> = (0..4).map(|_| state.decide()).collect();
        assert_eq!(
            decided,
            vec![
                Injection::DropAfterCommit,
                Injection::GatewayAfterCommit { status: 504 },
                Injection::StallAfterCommit,
                Injection::Pass,
            ]
        );
    }

    #[test]
    fn counters_run_in_order_before_random_draws() {
        let plan =
            parse_fault_spec("fail-first=2,drop-before-first=1,drop-after-first=1,status=500")
                .unwrap();
        let mut state = FaultState::new(plan);
        let decided: Vec<_> = (0..5).map(|_| state.decide()).collect();
        assert_eq!(
            decided,
            vec![
                Injection::Error { status: 500 },
                Injection::Error { status: 500 },
                Injection::DropBefore,
                Injection::DropAfterCommit,
                Injection::Pass,
            ]
        );
    }

    #[test]
    fn random_draws_are_reproducible_with_a_seed() {
        let plan = parse_fault_spec("error-rate=0.3,rate429=0.3,seed=42").unwrap();
        let run = |plan: &FaultPlan| {
            let mut state = FaultState::new(plan.clone());
            (0..50).map(|_| state.decide()).collect::<Vec<_>>()
        };
        let first = run(&plan);
        assert_eq!(first, run(&plan));
        assert!(first.contains(&Injection::Error { status: 429 }));
        assert!(first.contains(&Injection::Error { status: 503 }));
        assert!(first.contains(&Injection::Pass));
    }

    #[test]
    fn scope_selects_target_requests() {
        let pins = FaultState::new(FaultPlan::default());
        assert!(pins.is_target("POST", "/pins"));
        assert!(!pins.is_target("POST", "/boards"));
        assert!(!pins.is_target("GET", "/pins"));
        let writes = FaultState::new(parse_fault_spec("scope=writes").unwrap());
        assert!(writes.is_target("POST", "/boards"));
        assert!(writes.is_target("DELETE", "/pins/1"));
        assert!(!writes.is_target("GET", "/boards"));
        assert!(!writes.is_target("POST", "/oauth/token"));
        let all = FaultState::new(parse_fault_spec("scope=all").unwrap());
        assert!(all.is_target("GET", "/boards"));
        assert!(!all.is_target("POST", "/oauth/token"));
    }

    #[test]
    fn sliding_window_allows_no_burst_across_its_edge() {
        let ms = Duration::from_millis;
        let start = Instant::now();
        let mut state = FaultState::new(parse_fault_spec("write-window=2/s").unwrap());
        let mut take = |at: Duration| state.take_write(start + at, 0, Duration::ZERO).unwrap();
        let first = take(ms(0));
        assert!(first.allowed);
        assert_eq!((first.limit, first.remaining), (2, 1));
        assert!(take(ms(900)).allowed);
        // A fixed window starting at 1 s would allow this one; the trailing second does not.
        let denied = take(ms(999));
        assert!(!denied.allowed);
        assert_eq!((denied.remaining, denied.reset), (0, ms(1)));
        // Refused writes do not count: at 1 s the first write has left the window.
        assert!(take(ms(1000)).allowed);
        assert!(!take(ms(1899)).allowed);
        assert!(take(ms(1900)).allowed);
    }
}
