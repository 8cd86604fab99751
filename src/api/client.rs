//! `ApiClient`: the typed Pinterest API v5 calls pinbatch makes, with retries, shared rate pacing
//! and token refresh inside. Every attempt rebuilds its request, so streamed uploads retry too.
//!
//! Creating calls (`create_pin`, `create_board`, `create_section`, `register_media`) have no
//! idempotency key on Pinterest's side, so they are retried only when the server provably did not
//! act (429, connection refused); otherwise the error says `outcome_unknown()` and the caller
//! decides (for Pins: look on the board before creating again).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::Method;
use serde::de::DeserializeOwned;

use crate::api::clock::{OffsetBounds, ServerClock};
use crate::api::environment::Environment;
use crate::api::error::{ApiError, ApiErrorKind};
use crate::api::gate::{QUOTA_WAIT, RateGate, RateLimitHeaders, RequestKind, Ticket};
use crate::api::ledger::Ledger;
use crate::api::limit_headers::HeaderReading;
use crate::api::oauth::AppCredentials;
use crate::api::reach::ConnectFailure;
use crate::api::retry::{ErrorClass, RetryPolicy, RetryState, classify};
use crate::api::retry_after::{RetryAfter, parse_retry_after};
use crate::api::types::{
    Account, Board, BoardCreate, BoardSection, BookmarkTrail, ErrorBody, MediaStatus, MediaUpload,
    Page, Pin, PinCreate, PinUpdate, TokenResponse,
};
use crate::secret::SecretString;

/// Items per page asked for on list calls (Pinterest's maximum).
pub const PAGE_SIZE: u32 = 250;

/// An access token is refreshed this long before it expires, so it cannot lapse mid-request.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// Longest a connection attempt may take; separate from the request timeout so a refused or
/// unreachable host is recognised as "nothing was sent".
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a client's tokens are kept between runs (the token store), shared with other
/// processes: a refresh takes its lock, reads what it holds, and stores the rotated pair.
pub trait TokenSink: Send + Sync {
    /// Holds other processes off the stored tokens until the returned lock is dropped. Blocks.
    fn lock(&self) -> Box<dyn TokenLock>;
}

/// The stored tokens, under their cross-process lock.
pub trait TokenLock: Send {
    /// The pair stored now, read under the lock; `None` when there is none (or it cannot be read).
    fn stored(&self) -> Option<StoredPair>;
    /// Stores the token endpoint's response after a successful refresh.
    fn tokens_refreshed(&self, tokens: &TokenResponse);
}

/// An access and refresh token pair as stored.
#[derive(Debug, Clone)]
pub struct StoredPair {
    /// The access token.
    pub access_token: SecretString,
    /// When it expires, if known.
    pub expires_at: Option<SystemTime>,
    /// The refresh token.
    pub refresh_token: SecretString,
}

/// The refresh token and the app it belongs to.
#[derive(Debug, Clone)]
pub struct RefreshCredentials {
    /// The refresh token.
    pub refresh_token: SecretString,
    /// The app's id and secret.
    pub app: AppCredentials,
}

/// The access token a client sends, and how to renew it.
#[derive(Clone)]
pub struct Credentials {
    /// The bearer token.
    pub access_token: SecretString,
    /// When it expires, if known; it is refreshed shortly before.
    pub expires_at: Option<SystemTime>,
    /// How to refresh it; without this a 401 is final.
    pub refresh: Option<RefreshCredentials>,
    /// Where rotated tokens go after a refresh.
    pub sink: Option<Arc<dyn TokenSink>>,
}

impl Credentials {
    /// A plain, non-refreshable bearer token.
    pub fn bearer(access_token: SecretString) -> Self {
        Credentials {
            access_token,
            expires_at: None,
            refresh: None,
            sink: None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_token", &self.access_token)
            .field("expires_at", &self.expires_at)
            .field("refresh", &self.refresh)
            .field("sink", &self.sink.as_ref().map(|_| "TokenSink"))
            .finish()
    }
}

/// How to build an [`ApiClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Which API to talk to.
    pub environment: Environment,
    /// The token; `None` allows only the OAuth token calls.
    pub credentials: Option<Credentials>,
    /// Per-attempt timeout of one request (default 30 s).
    pub timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Client-side pacing in requests per second.
    pub rate_limit: Option<f64>,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl ClientConfig {
    /// Defaults for `environment`: no token, 30 s timeout, default retries, no pacing.
    pub fn new(environment: Environment) -> Self {
        ClientConfig {
            environment,
            credentials: None,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            rate_limit: None,
            user_agent: format!("pinbatch/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// The token currently in use; replaced on refresh.
struct TokenState {
    access_token: SecretString,
    expires_at: Option<SystemTime>,
    refresh: Option<RefreshCredentials>,
    /// Bumped on every refresh, so that concurrent 401s refresh only once.
    generation: u64,
}

struct Auth {
    state: tokio::sync::Mutex<TokenState>,
    sink: Option<Arc<dyn TokenSink>>,
}

struct Inner {
    http: reqwest::Client,
    environment: Environment,
    timeout: Duration,
    retry: RetryPolicy,
    gate: RateGate,
    clock: ServerClock,
    auth: Option<Auth>,
    /// Whether rate-limit headers that could not be read were reported (once is enough).
    unreadable_limits_reported: std::sync::atomic::AtomicBool,
    /// Cancelled when the run stops: requests still waiting for their turn are not sent.
    stopping: tokio_util::sync::CancellationToken,
}

/// The Pinterest API v5 client; cheap to clone, clones share connections, pacing and token.
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("origin", &self.origin())
            .finish_non_exhaustive()
    }
}

/// How a request authenticates.
enum AuthMode<'a> {
    Bearer,
    Basic(&'a AppCredentials),
}

enum Body {
    None,
    /// Serialized once; every attempt sends the same shared bytes, so a body holding a
    /// base64 image is in memory once here rather than once per representation and attempt.
    Json(Bytes),
    Form(Vec<(&'static str, String)>),
}

/// A writer that only counts the bytes written to it.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One logical API call, rebuilt into a request on every attempt.
pub(crate) struct Call<'a> {
    method: Method,
    segments: Vec<&'a str>,
    query: Vec<(&'static str, String)>,
    body: Body,
    auth: AuthMode<'a>,
    /// A creating POST: retried only when the server provably did not act.
    creates: bool,
}

impl<'a> Call<'a> {
    pub(crate) fn new(method: Method, segments: Vec<&'a str>) -> Self {
        Call {
            method,
            segments,
            query: Vec::new(),
            body: Body::None,
            auth: AuthMode::Bearer,
            creates: false,
        }
    }

    fn json(mut self, body: &impl serde::Serialize) -> Result<Self, ApiError> {
        let encode_error = |call: &Self, err: serde_json::Error| {
            ApiError::new(ApiErrorKind::Request, call.method.as_str(), call.path()).with_source(err)
        };
        // Measure first so the buffer is allocated once at its final size: growing it by
        // doubling would briefly hold up to three times a large body.
        let mut counter = ByteCounter(0);
        serde_json::to_writer(&mut counter, body).map_err(|err| encode_error(&self, err))?;
        let mut bytes = Vec::with_capacity(counter.0);
        serde_json::to_writer(&mut bytes, body).map_err(|err| encode_error(&self, err))?;
        self.body = Body::Json(Bytes::from(bytes));
        Ok(self)
    }

    fn creating(mut self) -> Self {
        self.creates = true;
        self
    }

    pub(crate) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    /// Whether the call spends the write budget: every POST, PATCH and DELETE but the token
    /// endpoint's (which Pinterest counts among reads).
    fn kind(&self) -> RequestKind {
        let token = matches!(self.auth, AuthMode::Basic(_));
        if self.method == Method::GET || token {
            RequestKind::Read
        } else {
            RequestKind::Write
        }
    }

    /// The path as shown in logs and errors: `/v5/boards/123/sections`.
    fn path(&self) -> String {
        let mut path = String::from("/v5");
        for segment in &self.segments {
            path.push('/');
            path.push_str(segment);
        }
        path
    }
}

/// A `reqwest` client builder with the TLS crypto provider in place. The crate uses rustls with
/// *ring* (see Cargo.toml), which reqwest does not install by itself and without which building a
/// client panics: every HTTP client of the crate and of its tests starts here.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    // An error only means a provider is installed already, which serves as well.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// A check run right before a request is sent (see [`ApiClient::create_pin_checked`]).
pub type BeforeSend<'a> =
    dyn Fn() -> futures::future::BoxFuture<'a, Result<(), ApiError>> + Send + Sync + 'a;

/// A success response's body as `T`.
fn decode<T: DeserializeOwned>(call: &Call<'_>, bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|err| {
        ApiError::new(ApiErrorKind::Decode, call.method.as_str(), call.path())
            .with_message(err.to_string())
            .with_source(err)
    })
}

/// The path of a board's pin listing, or of one of its sections'.
fn pin_listing<'a>(board_id: &'a str, section_id: Option<&'a str>) -> Vec<&'a str> {
    match section_id {
        Some(section_id) => vec!["boards", board_id, "sections", section_id, "pins"],
        None => vec!["boards", board_id, "pins"],
    }
}

impl ApiClient {
    /// Builds a client.
    pub fn new(config: ClientConfig) -> Result<Self, ApiError> {
        let http = http_client_builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|err| ApiError::new(ApiErrorKind::Request, "", "").with_source(err))?;
        let auth = config.credentials.map(|credentials| Auth {
            state: tokio::sync::Mutex::new(TokenState {
                access_token: credentials.access_token,
                expires_at: credentials.expires_at,
                refresh: credentials.refresh,
                generation: 0,
            }),
            sink: credentials.sink,
        });
        Ok(ApiClient {
            inner: Arc::new(Inner {
                http,
                environment: config.environment,
                timeout: config.timeout,
                retry: config.retry,
                gate: RateGate::new(config.rate_limit),
                clock: ServerClock::default(),
                auth,
                unreadable_limits_reported: std::sync::atomic::AtomicBool::new(false),
                stopping: tokio_util::sync::CancellationToken::new(),
            }),
        })
    }

    /// The run is stopping: every request still waiting for its turn (the rate gate, a pause
    /// after a 429, a retry's backoff) ends at once, not sent, with an error for which
    /// [`ApiError::is_stopped`] holds; a request already sent goes on to its answer.
    pub fn stop_waiting(&self) {
        self.inner.stopping.cancel();
    }

    /// Waits for `future` unless the run stops first (see [`ApiClient::stop_waiting`]).
    async fn unless_stopping<T>(
        &self,
        call: &Call<'_>,
        future: impl std::future::Future<Output = T>,
    ) -> Result<T, ApiError> {
        tokio::select! {
            biased;
            () = self.inner.stopping.cancelled() => Err(ApiError::new(
                ApiErrorKind::Stopped,
                call.method.as_str(),
                call.path(),
            )),
            output = future => Ok(output),
        }
    }

    /// The API origin, e.g. `https://api.pinterest.com`.
    pub fn origin(&self) -> &str {
        self.inner.environment.origin()
    }

    /// Shares this client's write budget with every pinbatch process that uses `ledger` (the
    /// same account on the same API, see [`crate::api::ledger`]).
    pub fn share_budget(&self, ledger: Ledger) {
        self.inner.gate.share(ledger);
    }

    /// The server's clock now, as estimated: this machine's when nothing is known, and when the
    /// two agree as far as the `Date` headers (whole seconds) can tell.
    fn server_now(&self) -> SystemTime {
        let now = SystemTime::now();
        let Some(offset) = self
            .inner
            .clock
            .offset()
            .filter(|o| o.low > 0 || o.high < 0)
        else {
            return now;
        };
        let middle = offset.low / 2 + offset.high / 2;
        let shift = Duration::from_millis(middle.unsigned_abs());
        if middle >= 0 {
            now + shift
        } else {
            now.checked_sub(shift).unwrap_or(now)
        }
    }

    /// How far the server's clock is from this machine's, as estimated from the `Date` headers
    /// of the responses so far; `None` before the first.
    pub fn server_clock(&self) -> Option<OffsetBounds> {
        self.inner.clock.offset()
    }

    /// `GET /v5/user_account`: who the token belongs to.
    pub async fn user_account(&self) -> Result<Account, ApiError> {
        self.call(Call::new(Method::GET, vec!["user_account"]))
            .await
    }

    /// `GET /v5/boards`, every page.
    pub async fn list_boards(&self) -> Result<Vec<Board>, ApiError> {
        self.list_all(vec!["boards"]).await
    }

    /// `POST /v5/boards`.
    pub async fn create_board(&self, board: &BoardCreate) -> Result<Board, ApiError> {
        self.call(
            Call::new(Method::POST, vec!["boards"])
                .json(board)?
                .creating(),
        )
        .await
    }

    /// `GET /v5/boards/{id}`: the plainest read, which the client's own tests exercise; no
    /// command needs it (board names and ids are resolved from the listing).
    #[cfg(test)]
    pub async fn get_board(&self, board_id: &str) -> Result<Board, ApiError> {
        self.call(Call::new(Method::GET, vec!["boards", board_id]))
            .await
    }

    /// `GET /v5/boards/{id}/sections`, every page.
    pub async fn list_sections(&self, board_id: &str) -> Result<Vec<BoardSection>, ApiError> {
        self.list_all(vec!["boards", board_id, "sections"]).await
    }

    /// `POST /v5/boards/{id}/sections`.
    pub async fn create_section(
        &self,
        board_id: &str,
        name: &str,
    ) -> Result<BoardSection, ApiError> {
        let body = serde_json::json!({ "name": name });
        self.call(
            Call::new(Method::POST, vec!["boards", board_id, "sections"])
                .json(&body)?
                .creating(),
        )
        .await
    }

    /// `POST /v5/pins`. Takes the body by value and drops it once serialized, so that a
    /// base64 image is held once (as the request bytes) while the request is in flight.
    pub async fn create_pin(&self, pin: PinCreate) -> Result<Pin, ApiError> {
        let call = Call::new(Method::POST, vec!["pins"]).json(&pin)?.creating();
        drop(pin);
        self.call(call).await
    }

    /// `POST /v5/pins`, with `before_send` run each time the request's turn under the rate gate
    /// has come, right before it goes out (again after each wait for a 429): an error from it
    /// cancels the send and is this call's error. The turn can come long after the caller
    /// looked at the world (a learnt budget holds writes for minutes), so this is where to look
    /// again.
    pub async fn create_pin_checked(
        &self,
        pin: PinCreate,
        before_send: &BeforeSend<'_>,
    ) -> Result<Pin, ApiError> {
        let call = Call::new(Method::POST, vec!["pins"]).json(&pin)?.creating();
        drop(pin);
        let bytes = self.execute_checked(&call, Some(before_send)).await?;
        decode(&call, &bytes)
    }

    /// `PATCH /v5/pins/{id}` (a beta endpoint: a 403 hints at `--replace`).
    pub async fn update_pin(&self, pin_id: &str, update: &PinUpdate) -> Result<Pin, ApiError> {
        self.call(Call::new(Method::PATCH, vec!["pins", pin_id]).json(update)?)
            .await
    }

    /// `DELETE /v5/pins/{id}` (200 or 204).
    pub async fn delete_pin(&self, pin_id: &str) -> Result<(), ApiError> {
        self.execute(&Call::new(Method::DELETE, vec!["pins", pin_id]))
            .await
            .map(|_| ())
    }

    /// `GET /v5/pins/{id}`.
    pub async fn get_pin(&self, pin_id: &str) -> Result<Pin, ApiError> {
        self.call(Call::new(Method::GET, vec!["pins", pin_id]))
            .await
    }

    /// `GET /v5/boards/{id}/pins`, every page (a bookmark handed back twice is an error).
    pub async fn list_board_pins(&self, board_id: &str) -> Result<Vec<Pin>, ApiError> {
        self.list_all(pin_listing(board_id, None)).await
    }

    /// `GET /v5/boards/{id}/sections/{section_id}/pins`, every page.
    pub async fn list_section_pins(
        &self,
        board_id: &str,
        section_id: &str,
    ) -> Result<Vec<Pin>, ApiError> {
        self.list_all(pin_listing(board_id, Some(section_id))).await
    }

    /// The pins of a board (or of one of its sections) page after page, each page handed to
    /// `visit`, which says whether the next one is worth reading.
    pub async fn walk_pins(
        &self,
        board_id: &str,
        section_id: Option<&str>,
        visit: impl FnMut(Vec<Pin>) -> bool,
    ) -> Result<(), ApiError> {
        self.walk_pages(pin_listing(board_id, section_id), visit)
            .await
    }

    async fn page<T: DeserializeOwned>(
        &self,
        segments: Vec<&str>,
        bookmark: Option<&str>,
    ) -> Result<Page<T>, ApiError> {
        let mut call = Call::new(Method::GET, segments).query("page_size", PAGE_SIZE.to_string());
        if let Some(bookmark) = bookmark {
            call = call.query("bookmark", bookmark);
        }
        self.call(call).await
    }

    /// `POST /v5/media`: registers a video upload.
    pub async fn register_media(&self) -> Result<MediaUpload, ApiError> {
        let body = serde_json::json!({ "media_type": "video" });
        self.call(
            Call::new(Method::POST, vec!["media"])
                .json(&body)?
                .creating(),
        )
        .await
    }

    /// `GET /v5/media/{id}`: processing status of an upload.
    pub async fn media_status(&self, media_id: &str) -> Result<MediaStatus, ApiError> {
        self.call(Call::new(Method::GET, vec!["media", media_id]))
            .await
    }

    /// Uploads a file to a registered media's `upload_url`: a multipart POST of every
    /// `upload_parameters` field, then `file` last (as S3 requires), streamed from disk and
    /// without the Pinterest token. Retried on transient failures (the upload key is fixed, so
    /// sending it again replaces the same object).
    pub async fn upload_media(&self, upload: &MediaUpload, path: &Path) -> Result<(), ApiError> {
        let shown = upload
            .upload_url
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut retry = RetryState::new(self.inner.retry);
        loop {
            let result = self.upload_once(upload, path, &shown).await;
            let err = match result {
                Ok(()) => return Ok(()),
                Err(err) => err,
            };
            let Some(delay) = retry.next_delay(&err, SystemTime::now(), fastrand::f64()) else {
                return Err(err.with_retries(retry.retries()));
            };
            tracing::info!(error = %err, delay_ms = delay.as_millis() as u64, "retrying media upload");
            tokio::time::sleep(delay).await;
        }
    }

    async fn upload_once(
        &self,
        upload: &MediaUpload,
        path: &Path,
        shown: &str,
    ) -> Result<(), ApiError> {
        let io_error = |err: std::io::Error| {
            ApiError::new(ApiErrorKind::Io, "POST", shown)
                .with_message(path.display().to_string())
                .with_source(err)
        };
        let file = tokio::fs::File::open(path).await.map_err(io_error)?;
        let length = file.metadata().await.map_err(io_error)?.len();
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in &upload.upload_parameters {
            form = form.text(name.clone(), value.clone());
        }
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let file_name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "upload".to_owned());
        let part = reqwest::multipart::Part::stream_with_length(body, length).file_name(file_name);
        form = form.part("file", part);
        tracing::debug!(url = shown, bytes = length, "uploading media");
        let response = self
            .inner
            .http
            .post(&upload.upload_url)
            .timeout(self.inner.timeout.max(Duration::from_secs(300)))
            .multipart(form)
            .send()
            .await
            .map_err(|err| transport_error(err, "POST", shown))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after =
            header_text(response.headers(), "retry-after").and_then(|v| parse_retry_after(&v));
        let text = response.text().await.unwrap_or_default();
        let body = ErrorBody {
            code: None,
            message: Some(truncate(text.trim(), 300)).filter(|m| !m.is_empty()),
            message_detail: None,
        };
        Err(ApiError::status_error("POST", shown, status.as_u16(), body)
            .with_retry_after(retry_after))
    }

    /// `POST /v5/oauth/token` with `grant_type=authorization_code` and `continuous_refresh=true`:
    /// exchanges a login's code.
    pub async fn exchange_code(
        &self,
        app: &AppCredentials,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenResponse, ApiError> {
        let mut call = Call::new(Method::POST, vec!["oauth", "token"]).creating();
        call.auth = AuthMode::Basic(app);
        call.body = Body::Form(vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
            // Apps created before 2025-09-25 get the continuous (60-day, renewable) refresh
            // token only when they ask; the legacy one is no longer supported. Newer apps get
            // it anyway.
            ("continuous_refresh", "true".to_owned()),
        ]);
        self.call(call).await
    }

    /// `POST /v5/oauth/token` with `grant_type=refresh_token`. The response carries a new
    /// refresh token: store it.
    pub async fn refresh_access_token(
        &self,
        app: &AppCredentials,
        refresh_token: &SecretString,
    ) -> Result<TokenResponse, ApiError> {
        let mut call = Call::new(Method::POST, vec!["oauth", "token"]).creating();
        call.auth = AuthMode::Basic(app);
        call.body = Body::Form(vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.expose().to_owned()),
        ]);
        self.call(call).await
    }

    async fn list_all<T: DeserializeOwned>(&self, segments: Vec<&str>) -> Result<Vec<T>, ApiError> {
        let mut items = Vec::new();
        self.walk_pages(segments, |page| {
            items.extend(page);
            true
        })
        .await?;
        Ok(items)
    }

    /// The one pagination loop: reads a listing page after page, following its bookmarks,
    /// until the last page, an empty page (the end too, as Pinterest's own client treats it),
    /// or `visit` saying the rest is not worth reading. A bookmark handed back twice is an
    /// error, never a loop.
    async fn walk_pages<T: DeserializeOwned>(
        &self,
        segments: Vec<&str>,
        mut visit: impl FnMut(Vec<T>) -> bool,
    ) -> Result<(), ApiError> {
        let mut trail = BookmarkTrail::default();
        loop {
            let page: Page<T> = self.page(segments.clone(), trail.current()).await?;
            let next = page.next_bookmark().map(str::to_owned);
            let empty = page.items.is_empty();
            let more = visit(page.items);
            match next {
                Some(next) if more && !empty => trail.follow(next).map_err(|err| {
                    let path = format!("/v5/{}", segments.join("/"));
                    ApiError::new(ApiErrorKind::Decode, "GET", path).with_message(err.to_string())
                })?,
                _ => return Ok(()),
            }
        }
    }

    pub(crate) async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, ApiError> {
        let bytes = self.execute(&call).await?;
        decode(&call, &bytes)
    }

    /// Runs one logical call: token, pacing, attempt, and the retry/refresh decisions.
    async fn execute(&self, call: &Call<'_>) -> Result<Bytes, ApiError> {
        self.execute_checked(call, None).await
    }

    /// [`ApiClient::execute`], with a check right before each send (see
    /// [`ApiClient::create_pin_checked`]).
    async fn execute_checked(
        &self,
        call: &Call<'_>,
        before_send: Option<&BeforeSend<'_>>,
    ) -> Result<Bytes, ApiError> {
        let mut retry = RetryState::new(self.inner.retry);
        let mut refreshed = false;
        loop {
            let (token, generation) = match call.auth {
                AuthMode::Bearer => {
                    let (token, generation, did_refresh) = self
                        .current_token(call)
                        .await
                        .map_err(|err| err.with_retries(retry.retries()))?;
                    refreshed |= did_refresh;
                    (Some(token), generation)
                }
                AuthMode::Basic(_) => (None, 0),
            };
            let turn = self
                .unless_stopping(call, self.inner.gate.wait(call.kind()))
                .await
                .map_err(|err| err.with_retries(retry.retries()))?;
            let ticket = match turn {
                Ok(ticket) => ticket,
                Err(until) => return Err(quota_used_up(call, until)),
            };
            if let Some(check) = before_send
                && let Err(err) = check().await
            {
                self.inner.gate.cancel(ticket);
                return Err(err.with_retries(retry.retries()));
            }
            let err = match self.send_once(call, token.as_ref(), ticket).await {
                Ok(bytes) => return Ok(bytes),
                Err(err) => err,
            };
            if let Some(until) = self.used_up_quota(&err) {
                if let Some(until) = until {
                    self.inner.gate.exhausted(until);
                }
                return Err(err.with_quota(until).with_retries(retry.retries()));
            }
            if err.status() == Some(401)
                && token.is_some()
                && !refreshed
                && self.can_refresh().await
            {
                refreshed = true;
                match self.refresh_after_401(generation).await {
                    Ok(()) => continue,
                    Err(refresh_err) => {
                        tracing::warn!(error = %refresh_err, "token refresh failed");
                        return Err(err.with_retries(retry.retries()));
                    }
                }
            }
            if call.creates && err.outcome_unknown() {
                return Err(err.with_retries(retry.retries()));
            }
            let Some(delay) = retry.next_delay(&err, SystemTime::now(), fastrand::f64()) else {
                return Err(err.with_retries(retry.retries()));
            };
            tracing::info!(error = %err, delay_ms = delay.as_millis() as u64, retry = retry.retries(), "retrying");
            if matches!(classify(&err), ErrorClass::RateLimited { .. }) {
                // One 429 holds every request of this client, not only this one.
                self.inner.gate.pause_for(delay);
                if call.kind() == RequestKind::Write {
                    self.inner.gate.refused();
                }
            } else {
                self.unless_stopping(call, tokio::time::sleep(delay))
                    .await
                    .map_err(|err| err.with_retries(retry.retries()))?;
            }
        }
    }

    async fn send_once(
        &self,
        call: &Call<'_>,
        token: Option<&SecretString>,
        ticket: Ticket,
    ) -> Result<Bytes, ApiError> {
        let method = call.method.as_str();
        let path = call.path();
        let url = self
            .url(call)
            .map_err(|err| ApiError::new(ApiErrorKind::Request, method, &path).with_message(err))?;
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url)
            .timeout(self.inner.timeout)
            .header(reqwest::header::ACCEPT, "application/json");
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        match (&call.auth, token) {
            (AuthMode::Bearer, Some(token)) => request = request.bearer_auth(token.expose()),
            (AuthMode::Basic(app), _) => {
                request = request.basic_auth(&app.app_id, Some(app.app_secret.expose()))
            }
            (AuthMode::Bearer, None) => {}
        }
        match &call.body {
            Body::None => {}
            Body::Json(bytes) => {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(bytes.clone());
            }
            Body::Form(pairs) => request = request.form(pairs),
        }
        tracing::debug!(method, path = %path, "sending request");
        if call.kind() == RequestKind::Write {
            self.inner.gate.sent(ticket);
        }
        let sent = SystemTime::now();
        let response = request.send().await.map_err(|err| {
            if call.kind() == RequestKind::Write {
                // Counted by the server, if at all, by now.
                self.inner.gate.sent(ticket);
            }
            transport_error(err, method, &path)
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(date) = header_text(&headers, "date") {
            self.inner.clock.observe(&date, sent, SystemTime::now());
        }
        if call.kind() == RequestKind::Write {
            let limits = match RateLimitHeaders::read(&headers) {
                HeaderReading::Read(limits) => Some(limits),
                HeaderReading::Absent => None,
                HeaderReading::Unreadable(text) => {
                    if !self
                        .inner
                        .unreadable_limits_reported
                        .swap(true, std::sync::atomic::Ordering::Relaxed)
                    {
                        tracing::info!(
                            header = %text,
                            "rate-limit headers in a form pinbatch cannot read: pacing by 429s and --rate-limit alone"
                        );
                    }
                    None
                }
            };
            self.inner.gate.answered(ticket, limits, self.server_now());
            if status.as_u16() != 429 {
                self.inner.gate.accepted(ticket);
            }
        }
        let request_id = header_text(&headers, "x-pinterest-rid");
        let bytes = response.bytes().await.map_err(|err| {
            transport_error(err, method, &path).with_request_id(request_id.clone())
        })?;
        tracing::debug!(method, path = %path, status = status.as_u16(), request_id = request_id.as_deref().unwrap_or(""), "response");
        if status.is_success() {
            return Ok(bytes);
        }
        let mut body: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        if body.message.is_none() {
            let text = String::from_utf8_lossy(&bytes);
            body.message = Some(truncate(text.trim(), 300)).filter(|m| !m.is_empty());
        }
        let retry_after = header_text(&headers, "retry-after")
            .and_then(|value| parse_retry_after(&value))
            .or_else(|| {
                // Without Retry-After, a 429's rate-limit reset says how long to wait.
                (status.as_u16() == 429)
                    .then(|| RateLimitHeaders::from_headers(&headers))
                    .flatten()
                    .and_then(|limits| limits.reset_in(self.server_now()))
                    .map(RetryAfter::Delay)
            });
        Err(ApiError::status_error(method, path, status.as_u16(), body)
            .with_request_id(request_id)
            .with_retry_after(retry_after))
    }

    fn url(&self, call: &Call<'_>) -> Result<url::Url, String> {
        let mut url = url::Url::parse(self.origin()).map_err(|err| err.to_string())?;
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| "the API origin cannot take a path".to_owned())?;
            segments.pop_if_empty().push("v5");
            for segment in &call.segments {
                segments.push(segment);
            }
        }
        Ok(url)
    }

    /// The token to send, refreshing it first when it is about to expire and can be refreshed.
    /// Returns the token, its generation and whether a refresh was attempted.
    async fn current_token(&self, call: &Call<'_>) -> Result<(SecretString, u64, bool), ApiError> {
        let Some(auth) = &self.inner.auth else {
            return Err(ApiError::new(
                ApiErrorKind::NoToken,
                call.method.as_str(),
                call.path(),
            ));
        };
        let mut state = auth.state.lock().await;
        let expiring = state
            .expires_at
            .is_some_and(|at| at <= SystemTime::now() + EXPIRY_MARGIN);
        let mut attempted = false;
        if expiring && state.refresh.is_some() {
            attempted = true;
            if let Err(err) = self.refresh_locked(auth, &mut state).await {
                tracing::warn!(error = %err, "could not refresh the expiring access token");
            }
        }
        Ok((state.access_token.clone(), state.generation, attempted))
    }

    async fn can_refresh(&self) -> bool {
        match &self.inner.auth {
            Some(auth) => auth.state.lock().await.refresh.is_some(),
            None => false,
        }
    }

    /// After a 401 with token generation `seen`: refresh unless another request already did.
    async fn refresh_after_401(&self, seen: u64) -> Result<(), ApiError> {
        let Some(auth) = &self.inner.auth else {
            return Err(ApiError::new(
                ApiErrorKind::NoToken,
                "POST",
                "/v5/oauth/token",
            ));
        };
        let mut state = auth.state.lock().await;
        if state.generation != seen {
            return Ok(());
        }
        self.refresh_locked(auth, &mut state).await
    }

    /// Renews the access token, holding the token store's cross-process lock throughout. When
    /// another process rotated the stored pair since this one read it, that pair is taken up
    /// instead (its access token when still fresh, else its refresh token for this refresh):
    /// the refresh token this process holds was spent by the other one.
    async fn refresh_locked(&self, auth: &Auth, state: &mut TokenState) -> Result<(), ApiError> {
        let Some(mut refresh) = state.refresh.clone() else {
            return Err(
                ApiError::new(ApiErrorKind::NoToken, "POST", "/v5/oauth/token")
                    .with_message("no refresh token and app credentials to renew the access token"),
            );
        };
        let lock = match &auth.sink {
            Some(sink) => {
                let sink = Arc::clone(sink);
                tokio::task::spawn_blocking(move || sink.lock()).await.ok()
            }
            None => None,
        };
        if let Some(stored) = lock.as_ref().and_then(|lock| lock.stored())
            && stored.refresh_token != refresh.refresh_token
        {
            let fresh = stored
                .expires_at
                .is_none_or(|at| at > SystemTime::now() + EXPIRY_MARGIN);
            if fresh && stored.access_token != state.access_token {
                tracing::info!("using the token pair another pinbatch process just refreshed");
                state.access_token = stored.access_token;
                state.expires_at = stored.expires_at;
                state.refresh = Some(RefreshCredentials {
                    refresh_token: stored.refresh_token,
                    app: refresh.app,
                });
                state.generation += 1;
                return Ok(());
            }
            refresh.refresh_token = stored.refresh_token;
        }
        tracing::info!("refreshing the access token");
        // Boxed: the token call runs through `execute`, which may itself come here.
        let tokens =
            Box::pin(self.refresh_access_token(&refresh.app, &refresh.refresh_token)).await?;
        state.access_token = SecretString::new(tokens.access_token.clone());
        state.expires_at = tokens
            .expires_in
            .map(|seconds| SystemTime::now() + Duration::from_secs(seconds));
        state.refresh = Some(RefreshCredentials {
            refresh_token: tokens
                .refresh_token
                .clone()
                .map_or(refresh.refresh_token, SecretString::new),
            app: refresh.app,
        });
        state.generation += 1;
        if let Some(lock) = &lock {
            lock.tokens_refreshed(&tokens);
        }
        Ok(())
    }
}

impl ApiClient {
    /// Whether a refusal is a used-up quota (a day's budget) rather than a pace to keep: a 429
    /// that says so, or one that asks to wait longer than [`QUOTA_WAIT`]. `Some` with when the
    /// quota comes back, if the server said.
    fn used_up_quota(&self, err: &ApiError) -> Option<Option<SystemTime>> {
        if !matches!(classify(err), ErrorClass::RateLimited { .. }) {
            return None;
        }
        let now = self.server_now();
        let asked = err.retry_after().map(|after| after.asked_from(now));
        let says_so = ["daily", "per day", "quota"]
            .iter()
            .any(|word| err.to_string().to_ascii_lowercase().contains(word));
        if !says_so && asked.is_none_or(|asked| asked <= QUOTA_WAIT) {
            return None;
        }
        // Back to this machine's clock for the message.
        Some(asked.map(|asked| SystemTime::now() + asked))
    }
}

/// The error of a request not sent because a quota is used up until `until`.
fn quota_used_up(call: &Call<'_>, until: SystemTime) -> ApiError {
    ApiError::status_error(
        call.method.as_str(),
        call.path(),
        429,
        ErrorBody {
            code: None,
            message: Some("not sent: the account's request quota is used up".to_owned()),
            message_detail: None,
        },
    )
    .with_quota(Some(until))
}

fn header_text(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((index, _)) => format!("{}...", &text[..index]),
        None => text.to_owned(),
    }
}

/// Maps a reqwest failure onto the error kinds that matter for retrying and for "did the server act".
fn transport_error(err: reqwest::Error, method: &str, path: &str) -> ApiError {
    let kind = if err.is_connect() {
        ApiErrorKind::Connect
    } else if err.is_timeout() {
        ApiErrorKind::Timeout
    } else if err.is_builder() {
        ApiErrorKind::Request
    } else {
        ApiErrorKind::Transport
    };
    let message = match kind {
        ApiErrorKind::Connect => ConnectFailure::of(&err).to_string(),
        _ => root_cause(&err),
    };
    ApiError::new(kind, method, path)
        .with_message(message)
        .with_source(err.without_url())
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
