//! What the emulator saw: one [`RecordedRequest`] per request, when it came and went, and the
//! fault applied to it.

use std::fmt;

/// A fault the emulator applied to one request (latency, which applies to all, is not listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppliedFault {
    /// Answered with an injected status (`error-rate`, `rate429`, `fail-first`).
    Injected(u16),
    /// Answered 429 because the write token bucket was empty (`write-limit`).
    WriteLimited,
    /// Connection closed before anything was stored.
    DropBefore,
    /// Stored, then the connection was closed without a response.
    DropAfterCommit,
    /// Stored, then answered by a gateway's HTML error page with this status.
    GatewayAfterCommit(u16),
    /// Stored, then never answered.
    StallAfterCommit,
    /// A write refused with 403 code 29, as production refuses apps with Trial access
    /// (`trial-access`).
    TrialAccess,
    /// A pin refused because its link is on a blocked domain (`block-domain`).
    LinkBlocked,
    /// A write refused because the account is blocked as spam (`spam-after`).
    SpamBlocked,
}

impl fmt::Display for AppliedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppliedFault::Injected(status) => write!(f, "injected {status}"),
            AppliedFault::WriteLimited => f.write_str("write-limit"),
            AppliedFault::DropBefore => f.write_str("drop-before"),
            AppliedFault::DropAfterCommit => f.write_str("drop-after-commit"),
            AppliedFault::GatewayAfterCommit(status) => write!(f, "gateway {status} after commit"),
            AppliedFault::StallAfterCommit => f.write_str("stall-after-commit"),
            AppliedFault::TrialAccess => f.write_str("trial-access"),
            AppliedFault::LinkBlocked => f.write_str("block-domain"),
            AppliedFault::SpamBlocked => f.write_str("spam-after"),
        }
    }
}

/// One request as received and answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method, uppercase.
    pub method: String,
    /// Path as sent, e.g. `/v5/pins`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Status sent back; `None` when the connection was dropped without a response.
    pub status: Option<u16>,
    /// The JSON body (form bodies of `/v5/oauth/token` as an object of strings), if any.
    pub body: Option<serde_json::Value>,
    /// The fault applied, if any.
    pub fault: Option<AppliedFault>,
    /// When the request arrived, from the emulator's start.
    pub arrived: std::time::Duration,
    /// When it was answered, dropped or left unanswered, from the emulator's start.
    pub finished: std::time::Duration,
}

impl RecordedRequest {
    /// Whether this is `method` on exactly `path`.
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }
}
