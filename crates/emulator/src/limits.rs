//! The write budgets the emulator enforces, as real servers do: a token bucket, a fixed window
//! and a sliding window, each announcing itself in `X-RateLimit-*` headers (or not), and a daily
//! quota. Pure state over `Instant`s, so every policy is unit-tested with a made-up clock.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

/// How the server limits writes (POST, PATCH, DELETE under /v5, but the token endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritePolicy {
    /// A token bucket refilled at `rate` a second up to `burst` tokens, full at the start.
    /// `X-RateLimit-Reset` is the time until it is full again.
    Bucket {
        /// Tokens added per second.
        rate: u32,
        /// The bucket's size: the most writes at once.
        burst: u32,
    },
    /// At most `limit` writes per window of `window`; a window starts with the first write after
    /// the previous one ended or, `aligned`, at every whole multiple of `window` since the Unix
    /// epoch by the server's clock (how most fixed-window limiters are built, so a client's first
    /// write usually lands mid-window). `X-RateLimit-Reset` is the time until the window ends.
    Fixed {
        /// Writes per window.
        limit: u32,
        /// The window's length.
        window: Duration,
        /// Whether windows are aligned to the clock rather than started by a write.
        aligned: bool,
    },
    /// At most `limit` writes in any trailing `window`. `X-RateLimit-Reset` is the time until
    /// the oldest write in the window leaves it (and one more write is allowed).
    Sliding {
        /// Writes per window.
        limit: u32,
        /// The window's length.
        window: Duration,
        /// Whether responses carry `X-RateLimit-*` headers and 429s `Retry-After`; a server
        /// that publishes its limit but does not announce it sends none.
        announced: bool,
    },
}

impl fmt::Display for WritePolicy {
    /// The fault spec that gives this policy (`write-bucket=20/s,burst=20`, ...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WritePolicy::Bucket { rate, burst } if rate == burst => {
                write!(f, "write-limit={rate}/s")
            }
            WritePolicy::Bucket { rate, burst } => write!(f, "write-bucket={rate}/s,burst={burst}"),
            WritePolicy::Fixed {
                limit,
                window,
                aligned,
            } => {
                let key = if aligned {
                    "write-aligned"
                } else {
                    "write-fixed"
                };
                write!(f, "{key}={limit}/{}ms", window.as_millis())
            }
            WritePolicy::Sliding {
                limit,
                window,
                announced: true,
            } => write!(f, "write-sliding={limit}/{}ms", window.as_millis()),
            WritePolicy::Sliding { limit, .. } => write!(f, "write-window={limit}/s"),
        }
    }
}

/// How `X-RateLimit-Reset` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResetFormat {
    /// Whole seconds from now, rounded up.
    #[default]
    Delta,
    /// The Unix time (whole seconds, rounded up) by the emulator's clock.
    Epoch,
}

/// The outcome of counting one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteQuota {
    /// Whether the write may proceed.
    pub allowed: bool,
    /// `X-RateLimit-Limit`.
    pub limit: u32,
    /// `X-RateLimit-Remaining`.
    pub remaining: u32,
    /// When the budget grows again (see each policy), from now.
    pub reset: Duration,
    /// Whether responses carry the headers (and refusals `Retry-After`).
    pub announced: bool,
    /// Refused because the day's quota is used up.
    pub daily: bool,
    /// The policy's window (a bucket's: the time it takes to fill), for headers that name it.
    pub window: Option<Duration>,
}

/// The running state of a [`WritePolicy`] and of a daily quota.
pub struct WriteLimiter {
    policy: Policy,
    daily: Option<Daily>,
}

enum Policy {
    None,
    Bucket {
        rate: f64,
        burst: f64,
        tokens: f64,
        refilled_at: Instant,
    },
    Fixed {
        limit: u32,
        window: Duration,
        started: Option<Instant>,
        used: u32,
    },
    Aligned {
        limit: u32,
        window: Duration,
        /// The current window, as its number since the epoch.
        current: Option<i64>,
        used: u32,
    },
    Sliding {
        limit: u32,
        window: Duration,
        announced: bool,
        admitted: VecDeque<Instant>,
    },
}

struct Daily {
    quota: u32,
    used: u32,
}

impl WriteLimiter {
    /// A limiter for `policy` (none: only the daily quota, if any), starting at `now`.
    pub fn new(policy: Option<WritePolicy>, daily_quota: Option<u32>, now: Instant) -> Self {
        let policy = match policy {
            None => Policy::None,
            Some(WritePolicy::Bucket { rate, burst }) => Policy::Bucket {
                rate: f64::from(rate),
                burst: f64::from(burst),
                tokens: f64::from(burst),
                refilled_at: now,
            },
            Some(WritePolicy::Fixed {
                limit,
                window,
                aligned: false,
            }) => Policy::Fixed {
                limit,
                window,
                started: None,
                used: 0,
            },
            Some(WritePolicy::Fixed {
                limit,
                window,
                aligned: true,
            }) => Policy::Aligned {
                limit,
                window,
                current: None,
                used: 0,
            },
            Some(WritePolicy::Sliding {
                limit,
                window,
                announced,
            }) => Policy::Sliding {
                limit,
                window,
                announced,
                admitted: VecDeque::new(),
            },
        };
        WriteLimiter {
            policy,
            daily: daily_quota.map(|quota| Daily { quota, used: 0 }),
        }
    }

    /// Counts one write at `now`, when the server's clock reads `server_ms` (milliseconds since
    /// the epoch; what clock-aligned windows follow); `until_tomorrow` is how long the day's quota
    /// has left to run. `None` when no limit is set at all.
    pub fn take(
        &mut self,
        now: Instant,
        server_ms: i64,
        until_tomorrow: Duration,
    ) -> Option<WriteQuota> {
        if let Some(daily) = &self.daily
            && daily.used >= daily.quota
        {
            return Some(WriteQuota {
                allowed: false,
                limit: daily.quota,
                remaining: 0,
                reset: until_tomorrow,
                announced: true,
                daily: true,
                window: None,
            });
        }
        let quota = self.policy.take(now, server_ms);
        if let Some(daily) = &mut self.daily
            && quota.is_none_or(|quota| quota.allowed)
        {
            daily.used += 1;
        }
        quota.or_else(|| {
            self.daily.as_ref().map(|daily| WriteQuota {
                allowed: true,
                limit: daily.quota,
                remaining: daily.quota - daily.used,
                reset: until_tomorrow,
                announced: true,
                daily: false,
                window: None,
            })
        })
    }
}

impl Policy {
    fn take(&mut self, now: Instant, server_ms: i64) -> Option<WriteQuota> {
        match self {
            Policy::None => None,
            Policy::Bucket {
                rate,
                burst,
                tokens,
                refilled_at,
            } => {
                let elapsed = now.saturating_duration_since(*refilled_at).as_secs_f64();
                *tokens = (*tokens + elapsed * *rate).min(*burst);
                *refilled_at = now;
                let allowed = *tokens >= 1.0;
                if allowed {
                    *tokens -= 1.0;
                }
                Some(WriteQuota {
                    allowed,
                    limit: *burst as u32,
                    remaining: tokens.floor() as u32,
                    reset: Duration::from_secs_f64((*burst - *tokens) / *rate),
                    announced: true,
                    daily: false,
                    window: Some(Duration::from_secs_f64(*burst / *rate)),
                })
            }
            Policy::Fixed {
                limit,
                window,
                started,
                used,
            } => {
                if started.is_none_or(|start| now >= start + *window) {
                    *started = Some(now);
                    *used = 0;
                }
                let allowed = *used < *limit;
                if allowed {
                    *used += 1;
                }
                let end = started.map_or(now, |start| start + *window);
                Some(WriteQuota {
                    allowed,
                    limit: *limit,
                    remaining: *limit - *used,
                    reset: end.saturating_duration_since(now),
                    announced: true,
                    daily: false,
                    window: Some(*window),
                })
            }
            Policy::Aligned {
                limit,
                window,
                current,
                used,
            } => {
                let length = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
                let index = server_ms.div_euclid(length);
                if *current != Some(index) {
                    *current = Some(index);
                    *used = 0;
                }
                let allowed = *used < *limit;
                if allowed {
                    *used += 1;
                }
                let into = u64::try_from(server_ms.rem_euclid(length)).unwrap_or(0);
                Some(WriteQuota {
                    allowed,
                    limit: *limit,
                    remaining: *limit - *used,
                    reset: window.saturating_sub(Duration::from_millis(into)),
                    announced: true,
                    daily: false,
                    window: Some(*window),
                })
            }
            Policy::Sliding {
                limit,
                window,
                announced,
                admitted,
            } => {
                while admitted
                    .front()
                    .is_some_and(|&at| now.saturating_duration_since(at) >= *window)
                {
                    admitted.pop_front();
                }
                let allowed = admitted.len() < *limit as usize;
                if allowed {
                    admitted.push_back(now);
                }
                let reset = admitted.front().map_or(Duration::ZERO, |&oldest| {
                    (oldest + *window).saturating_duration_since(now)
                });
                Some(WriteQuota {
                    allowed,
                    limit: *limit,
                    remaining: limit.saturating_sub(admitted.len() as u32),
                    reset,
                    announced: *announced,
                    daily: false,
                    window: Some(*window),
                })
            }
        }
    }
}

/// Parses `N/s`, `N/5s`, `N/min`, `N/500ms`: a count per window.
pub(crate) fn parse_per_window(value: &str) -> Result<(u32, Duration), String> {
    let bad = || format!("expected a count per window like 20/s or 100/5s, not `{value}`");
    let (count, window) = value.split_once('/').ok_or_else(bad)?;
    let count: u32 = count.trim().parse().map_err(|_| bad())?;
    let window = window.trim();
    let window = match window {
        "s" | "sec" => Duration::from_secs(1),
        "min" | "m" => Duration::from_secs(60),
        "h" => Duration::from_secs(3600),
        other => humantime::parse_duration(other).map_err(|_| bad())?,
    };
    if count == 0 || window.is_zero() {
        return Err("the count and the window must be more than zero".to_owned());
    }
    Ok((count, window))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn day() -> Duration {
        Duration::from_secs(3600)
    }

    fn allowed(limiter: &mut WriteLimiter, at: Instant, n: usize) -> usize {
        (0..n)
            .filter(|_| limiter.take(at, 0, day()).unwrap().allowed)
            .count()
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let t0 = Instant::now();
        let policy = WritePolicy::Bucket {
            rate: 20,
            burst: 20,
        };
        let mut limiter = WriteLimiter::new(Some(policy), None, t0);
        assert_eq!(allowed(&mut limiter, t0, 25), 20);
        let quota = limiter.take(t0, 0, day()).unwrap();
        assert_eq!((quota.remaining, quota.reset), (0, ms(1000)));
        assert_eq!(allowed(&mut limiter, t0 + ms(500), 25), 10);
    }

    #[test]
    fn a_fixed_window_starts_with_the_first_write_and_comes_back_whole() {
        let t0 = Instant::now();
        let policy = WritePolicy::Fixed {
            limit: 100,
            window: ms(5000),
            aligned: false,
        };
        let mut limiter = WriteLimiter::new(Some(policy), None, t0);
        let later = t0 + ms(700);
        assert_eq!(allowed(&mut limiter, later, 150), 100);
        let quota = limiter.take(later + ms(1000), 0, day()).unwrap();
        assert_eq!((quota.allowed, quota.reset), (false, ms(4000)));
        assert_eq!(allowed(&mut limiter, later + ms(4999), 10), 0);
        assert_eq!(allowed(&mut limiter, later + ms(5000), 150), 100);
    }

    #[test]
    fn an_aligned_window_starts_at_a_multiple_of_its_length_on_the_servers_clock() {
        let t0 = Instant::now();
        let policy = WritePolicy::Fixed {
            limit: 60,
            window: ms(4000),
            aligned: true,
        };
        let mut limiter = WriteLimiter::new(Some(policy), None, t0);
        // The first write comes 3.5 s into a window: it ends half a second later, whole.
        let server = 1_765_000_003_500_i64;
        let quota = limiter.take(t0, server, day()).unwrap();
        assert_eq!((quota.remaining, quota.reset), (59, ms(500)));
        let count = (0..70)
            .filter(|_| limiter.take(t0, server, day()).unwrap().allowed)
            .count();
        assert_eq!(count, 59);
        let next = limiter.take(t0 + ms(500), server + 500, day()).unwrap();
        assert_eq!(
            (next.allowed, next.remaining, next.reset),
            (true, 59, ms(4000))
        );
    }

    #[test]
    fn a_sliding_window_frees_each_write_a_window_after_it() {
        let t0 = Instant::now();
        let policy = WritePolicy::Sliding {
            limit: 2,
            window: ms(5000),
            announced: true,
        };
        let mut limiter = WriteLimiter::new(Some(policy), None, t0);
        assert!(limiter.take(t0, 0, day()).unwrap().allowed);
        assert!(limiter.take(t0 + ms(1000), 0, day()).unwrap().allowed);
        let refused = limiter.take(t0 + ms(4999), 0, day()).unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.reset, ms(1));
        assert!(limiter.take(t0 + ms(5000), 0, day()).unwrap().allowed);
        assert!(!limiter.take(t0 + ms(5999), 0, day()).unwrap().allowed);
    }

    #[test]
    fn a_daily_quota_refuses_once_used_up_and_says_when_it_returns() {
        let t0 = Instant::now();
        let mut limiter = WriteLimiter::new(None, Some(3), t0);
        assert_eq!(allowed(&mut limiter, t0, 3), 3);
        let refused = limiter.take(t0, 0, day()).unwrap();
        assert!(!refused.allowed && refused.daily);
        assert_eq!(refused.reset, day());
        // Refusals by the policy itself do not use up the quota.
        let policy = WritePolicy::Fixed {
            limit: 1,
            window: ms(1000),
            aligned: false,
        };
        let mut limiter = WriteLimiter::new(Some(policy), Some(2), t0);
        assert_eq!(allowed(&mut limiter, t0, 5), 1);
        assert_eq!(allowed(&mut limiter, t0 + ms(1000), 5), 1);
        assert!(limiter.take(t0 + ms(2000), 0, day()).unwrap().daily);
    }

    #[test]
    fn windows_are_written_as_a_count_per_duration() {
        assert_eq!(parse_per_window("20/s").unwrap(), (20, ms(1000)));
        assert_eq!(parse_per_window("100/5s").unwrap(), (100, ms(5000)));
        assert_eq!(parse_per_window("600/min").unwrap(), (600, ms(60_000)));
        for bad in ["20", "0/s", "x/s", "5/never", "5/0s"] {
            assert!(parse_per_window(bad).is_err(), "{bad}");
        }
    }
}
