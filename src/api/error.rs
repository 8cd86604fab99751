//! `ApiError`: everything known about one failed API call (step, status, Pinterest's code and
//! message, request id, retries), the questions callers ask of it, and a hint for the user.
//! The access token is never part of an error.

use std::fmt;
use std::time::SystemTime;

use crate::api::retry_after::RetryAfter;

/// Pinterest's error code for a link refused as spam.
pub const BLOCKED_LINK_CODE: i64 = 9;

/// A boxed underlying cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure an [`ApiError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// The server answered with a non-success HTTP status.
    Status,
    /// The request timed out after it was sent.
    Timeout,
    /// No connection could be made (refused, DNS, connect timeout): nothing was sent.
    Connect,
    /// The connection failed while sending or receiving (reset, closed mid-response).
    Transport,
    /// A success response whose body could not be decoded.
    Decode,
    /// No access token is available.
    NoToken,
    /// A local file (media upload) could not be read.
    Io,
    /// The request could not be built (bad URL and the like).
    Request,
    /// Not sent: the run is stopping, and the request was still waiting for its turn (the rate
    /// gate, a pause after a 429, a retry's backoff).
    Stopped,
}

/// A failed API call. Boxed inside, so `Result<T, ApiError>` stays small.
#[derive(Debug)]
pub struct ApiError {
    inner: Box<Details>,
}

#[derive(Debug)]
struct Details {
    kind: ApiErrorKind,
    method: String,
    path: String,
    status: Option<u16>,
    code: Option<i64>,
    message: Option<String>,
    message_detail: Option<String>,
    request_id: Option<String>,
    retry_after: Option<RetryAfter>,
    /// Set when the refusal is a used-up quota (a day's budget), not a pace to keep: when it
    /// comes back, if the server said.
    quota: Option<Option<SystemTime>>,
    retries: u32,
    source: Option<BoxError>,
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|source| source.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl ApiError {
    /// A new error of `kind` for `method path` (path without origin or query string).
    pub fn new(kind: ApiErrorKind, method: impl Into<String>, path: impl Into<String>) -> Self {
        ApiError {
            inner: Box::new(Details {
                kind,
                method: method.into(),
                path: path.into(),
                status: None,
                code: None,
                message: None,
                message_detail: None,
                request_id: None,
                retry_after: None,
                quota: None,
                retries: 0,
                source: None,
            }),
        }
    }

    /// An HTTP status error with Pinterest's `code`, `message` and `message_detail` when the body had them.
    pub fn status_error(
        method: impl Into<String>,
        path: impl Into<String>,
        status: u16,
        body: crate::api::types::ErrorBody,
    ) -> Self {
        let mut err = ApiError::new(ApiErrorKind::Status, method, path);
        err.inner.status = Some(status);
        err.inner.code = body.code;
        err.inner.message = body.message;
        err.inner.message_detail = body.message_detail;
        err
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Attaches a message (for errors without a response body).
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = Some(message.into());
        self
    }

    /// Attaches the `x-pinterest-rid` response header.
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.inner.request_id = request_id;
        self
    }

    /// Attaches a parsed `Retry-After` (or rate-limit reset) header.
    pub fn with_retry_after(mut self, retry_after: Option<RetryAfter>) -> Self {
        self.inner.retry_after = retry_after;
        self
    }

    /// Marks the refusal as a used-up quota that comes back at `until` (if known).
    pub fn with_quota(mut self, until: Option<SystemTime>) -> Self {
        self.inner.quota = Some(until);
        self
    }

    /// For a refusal because a quota (a day's budget) is used up: `Some` with when it comes back,
    /// if the server said.
    pub fn quota(&self) -> Option<Option<SystemTime>> {
        self.inner.quota
    }

    /// Records how many retries were made before giving up.
    pub fn with_retries(mut self, retries: u32) -> Self {
        self.inner.retries = retries;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ApiErrorKind {
        self.inner.kind
    }

    /// The HTTP status, for status errors.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        self.inner.retry_after
    }

    /// How many retries were made.
    pub fn retries(&self) -> u32 {
        self.inner.retries
    }

    /// True when the request was not sent because the run is stopping.
    pub fn is_stopped(&self) -> bool {
        self.inner.kind == ApiErrorKind::Stopped
    }

    /// True for a 401 (bad or expired token) and for a missing token.
    pub fn is_auth(&self) -> bool {
        self.inner.status == Some(401) || self.inner.kind == ApiErrorKind::NoToken
    }

    /// True for a 429 whose message or detail mentions spam: a block of the account's writes,
    /// not a rate limit (a blocked link is [`ApiError::is_blocked_link`] instead).
    pub fn is_spam(&self) -> bool {
        self.inner.status == Some(429)
            && !self.is_blocked_link()
            && [&self.inner.message, &self.inner.message_detail]
                .iter()
                .any(|text| mentions(text.as_deref(), "spam"))
    }

    /// True when Pinterest refused the pin's link as spam: code 9, or its message ("Sorry! We
    /// blocked this link because it may lead to spam."), whatever the status. Seen as a 429 in
    /// public code, not in Pinterest's documentation, hence both signs.
    pub fn is_blocked_link(&self) -> bool {
        self.inner.kind == ApiErrorKind::Status
            && (self.inner.code == Some(BLOCKED_LINK_CODE)
                || [&self.inner.message, &self.inner.message_detail]
                    .iter()
                    .any(|text| mentions(text.as_deref(), "blocked this link")))
    }

    /// Pinterest's message, if the answer had one.
    pub fn message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    /// True for Pinterest's code 29 about Trial access (writes to production refused).
    pub fn is_trial_access(&self) -> bool {
        self.inner.code == Some(29) && mentions(self.inner.message.as_deref(), "trial access")
    }

    /// True when the server may have processed the request although the call failed: a timeout
    /// after sending, a connection lost mid-request, a 5xx on a POST, or an unreadable success body.
    /// False when nothing reached the server (connect errors) or the server said no (4xx, 429).
    pub fn outcome_unknown(&self) -> bool {
        match self.inner.kind {
            ApiErrorKind::Timeout | ApiErrorKind::Transport => true,
            ApiErrorKind::Decode => self.inner.method == "POST",
            // A link refused as spam is a refusal, whatever its status.
            ApiErrorKind::Status => {
                self.inner.method == "POST"
                    && self.inner.status.is_some_and(|status| status >= 500)
                    && !self.is_blocked_link()
            }
            ApiErrorKind::Connect
            | ApiErrorKind::NoToken
            | ApiErrorKind::Io
            | ApiErrorKind::Request
            | ApiErrorKind::Stopped => false,
        }
    }

    /// A suggestion for the user, when one is known.
    pub fn hint(&self) -> Option<String> {
        if let Some(until) = self.quota() {
            return Some(match until {
                Some(until) => format!(
                    "the budget comes back at {}; run the same command again then",
                    local_time(until)
                ),
                None => "the budget comes back later; run the same command again then".into(),
            });
        }
        if self.is_trial_access() {
            return Some(
                "this app has Trial access, which can write only to the API sandbox: add --sandbox (and log in there: `pinbatch --sandbox auth login`), or ask Pinterest for Standard access"
                    .into(),
            );
        }
        if self.is_auth() {
            return Some(
                "run `pinbatch auth login`, or set PINTEREST_ACCESS_TOKEN / --token-file to a valid token"
                    .into(),
            );
        }
        if self.is_spam() {
            return Some(
                "Pinterest flagged these requests as spam; wait before publishing more and vary the content"
                    .into(),
            );
        }
        if self.inner.method == "PATCH" && self.inner.status == Some(403) {
            return Some(
                "updating Pins is a beta endpoint not open to every app: use --replace to delete and re-create changed Pins"
                    .into(),
            );
        }
        if self.inner.status == Some(403) && self.inner.code == Some(3) {
            return Some("the token lacks a scope: run `pinbatch auth login` again".into());
        }
        None
    }
}

/// A moment as people read it: local time to the minute, with its offset.
pub fn local_time(at: SystemTime) -> String {
    jiff::Timestamp::try_from(at)
        .map(|at| {
            at.to_zoned_datetime(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M %:z")
                .to_string()
        })
        .unwrap_or_else(|_| "an unknown time".to_owned())
}

fn mentions(text: Option<&str>, needle: &str) -> bool {
    text.is_some_and(|text| text.to_ascii_lowercase().contains(needle))
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} failed: ", self.inner.method, self.inner.path)?;
        match (self.inner.kind, self.inner.status) {
            (ApiErrorKind::Status, Some(status)) => {
                let reason = reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("");
                write!(f, "{status} {reason}")?;
                if let Some(code) = self.inner.code {
                    write!(f, " (code {code})")?;
                }
            }
            (ApiErrorKind::Timeout, _) => f.write_str("timed out")?,
            (ApiErrorKind::Connect, _) => f.write_str("could not connect")?,
            (ApiErrorKind::Transport, _) => f.write_str("connection failed")?,
            (ApiErrorKind::Decode, _) => f.write_str("unexpected response body")?,
            (ApiErrorKind::NoToken, _) => f.write_str("no access token")?,
            (ApiErrorKind::Io, _) => f.write_str("cannot read the file")?,
            (ApiErrorKind::Stopped, _) => f.write_str("not sent: the run is stopping")?,
            (ApiErrorKind::Request, _) | (ApiErrorKind::Status, None) => {
                f.write_str("invalid request")?
            }
        }
        if let Some(message) = &self.inner.message {
            write!(f, ": {message}")?;
        }
        if let Some(detail) = &self.inner.message_detail {
            write!(f, " ({detail})")?;
        }
        if let Some(request_id) = &self.inner.request_id {
            write!(f, " [request id {request_id}]")?;
        }
        if self.inner.retries > 0 {
            let plural = if self.inner.retries == 1 {
                "retry"
            } else {
                "retries"
            };
            write!(f, " after {} {plural}", self.inner.retries)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::ErrorBody;

    fn status(method: &str, code: u16, pcode: Option<i64>, message: &str) -> ApiError {
        ApiError::status_error(
            method,
            "/v5/pins",
            code,
            ErrorBody {
                code: pcode,
                message: Some(message.into()),
                message_detail: None,
            },
        )
    }

    #[test]
    fn display_names_the_call_status_code_message_and_request_id() {
        let err = status("POST", 404, Some(40), "Board not found.")
            .with_request_id(Some("abc123".into()));
        assert_eq!(
            err.to_string(),
            "POST /v5/pins failed: 404 Not Found (code 40): Board not found. [request id abc123]"
        );
        let err = status("POST", 503, None, "busy").with_retries(5);
        assert_eq!(
            err.to_string(),
            "POST /v5/pins failed: 503 Service Unavailable: busy after 5 retries"
        );
    }

    #[test]
    fn spam_trial_and_auth_are_recognised() {
        let spam = ApiError::status_error(
            "POST",
            "/v5/pins",
            429,
            ErrorBody {
                code: Some(8),
                message: Some("Rate limited".into()),
                message_detail: Some("Request blocked as spam".into()),
            },
        );
        assert!(spam.is_spam());
        let limited = status("POST", 429, Some(8), "This request exceeded a rate limit.");
        assert!(!limited.is_spam());
        let link = status(
            "POST",
            429,
            Some(9),
            "Sorry! We blocked this link because it may lead to spam.",
        );
        assert!(link.is_blocked_link());
        assert!(!link.is_spam(), "a blocked link is not an account block");
        assert!(status("POST", 400, Some(9), "Blocked.").is_blocked_link());
        assert!(
            status(
                "POST",
                403,
                None,
                "Sorry! We blocked this link because it may lead to spam."
            )
            .is_blocked_link()
        );
        assert!(!limited.is_blocked_link());
        let trial = status(
            "POST",
            403,
            Some(29),
            "Apps with Trial access may not create Pins in production",
        );
        assert!(trial.is_trial_access());
        assert!(trial.hint().unwrap().contains("--sandbox"));
        let unauthorized = status("GET", 401, Some(2), "Authentication failed.");
        assert!(unauthorized.is_auth());
        assert!(unauthorized.hint().unwrap().contains("auth login"));
        let patch = status("PATCH", 403, Some(29), "Not authorized to update Pin.");
        assert!(patch.hint().unwrap().contains("--replace"));
    }

    #[test]
    fn outcome_is_unknown_only_when_the_server_may_have_acted() {
        assert!(ApiError::new(ApiErrorKind::Timeout, "POST", "/v5/pins").outcome_unknown());
        assert!(ApiError::new(ApiErrorKind::Transport, "POST", "/v5/pins").outcome_unknown());
        assert!(!ApiError::new(ApiErrorKind::Connect, "POST", "/v5/pins").outcome_unknown());
        assert!(status("POST", 502, None, "bad gateway").outcome_unknown());
        assert!(!status("GET", 502, None, "bad gateway").outcome_unknown());
        assert!(!status("POST", 429, Some(8), "slow down").outcome_unknown());
        assert!(!status("POST", 400, Some(1), "Invalid").outcome_unknown());
        assert!(!status("POST", 503, Some(9), "Blocked.").outcome_unknown());
    }
}
