//! A local, in-memory Pinterest API v5 emulator for rehearsals and tests, bound to 127.0.0.1.
//!
//! It serves the endpoints pinbatch uses (user account, boards, sections, pins, pin analytics,
//! video media upload, OAuth authorize and token) with the official response shapes and error
//! codes, injects
//! faults from a [`FaultPlan`] (latency, 5xx, 429 with or without `Retry-After`, a write rate
//! limit, connections dropped before or after a Pin is stored), records every request, and can
//! check request bodies against the official OpenAPI document.
//!
//! Each accepted connection is served by its own hyper task, raced against a per-connection
//! signal: when a drop fault fires, the handler raises the signal and never answers, and the task
//! drops the connection, so the client sees the socket close with no HTTP response at all.

pub mod analytics;
mod faults;
pub mod limits;
mod openapi;
mod pushback;
mod record;
mod routes;
mod store;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt as _;

pub use faults::{FaultPlan, FaultScope, HeaderForm, ListOrder, parse_fault_spec};
pub use limits::{ResetFormat, WritePolicy};
pub use openapi::{OpenApiError, SpecValidator};
pub use record::{AppliedFault, RecordedRequest};
pub use store::{
    ApiFailure, BoardRecord, CarouselItemRecord, ImageRecord, MediaRecord, MediaStatus,
    PinMediaRecord, PinRecord, SectionRecord, StoreSnapshot, TokenPair, sha256_hex,
};

use faults::FaultState;
use store::Store;

/// How to run an emulator. `Default` gives the documented throwaway credentials and port 0.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The bearer token accepted from the start.
    pub access_token: String,
    /// OAuth app id (`client_id`, HTTP Basic user of `/v5/oauth/token`).
    pub app_id: String,
    /// OAuth app secret (HTTP Basic password of `/v5/oauth/token`).
    pub app_secret: String,
    /// Faults to inject from the start.
    pub faults: FaultPlan,
    /// OpenAPI JSON document; when set, every JSON and form request body is validated against it.
    pub openapi: Option<PathBuf>,
    /// Username reported by `/v5/user_account` and as board and Pin owner.
    pub username: String,
}

/// The access token an emulator accepts unless configured otherwise.
pub const DEFAULT_ACCESS_TOKEN: &str = "emulator-token";
/// The OAuth app id an emulator accepts unless configured otherwise.
pub const DEFAULT_APP_ID: &str = "1234";
/// The OAuth app secret an emulator accepts unless configured otherwise.
pub const DEFAULT_APP_SECRET: &str = "emulator-secret";
/// The username an emulator reports unless configured otherwise.
pub const DEFAULT_USERNAME: &str = "pinbatch-emulator";

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            port: 0,
            access_token: DEFAULT_ACCESS_TOKEN.into(),
            app_id: DEFAULT_APP_ID.into(),
            app_secret: DEFAULT_APP_SECRET.into(),
            faults: FaultPlan::default(),
            openapi: None,
            username: DEFAULT_USERNAME.into(),
        }
    }
}

/// State shared by every connection and handler.
pub(crate) struct Shared {
    pub(crate) base_url: String,
    pub(crate) app_id: String,
    pub(crate) app_secret: String,
    pub(crate) username: String,
    pub(crate) store: Mutex<Store>,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) records: Mutex<Vec<RecordedRequest>>,
    pub(crate) violations: Mutex<Vec<String>>,
    pub(crate) response_violations: Mutex<Vec<String>>,
    pub(crate) validator: Option<Arc<SpecValidator>>,
    /// When the emulator started; recorded requests are timed from here.
    pub(crate) started: std::time::Instant,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    next_request_id: AtomicU64,
}

/// Locks a mutex even if a handler panicked while holding it (the data stays usable for tests).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// The emulator's clock: the machine's, moved by the `clock-offset` fault.
    pub(crate) fn now(&self) -> jiff::Timestamp {
        let offset = lock(&self.faults).plan().clock_offset_ms;
        let now = jiff::Timestamp::now();
        now.checked_add(jiff::SignedDuration::from_millis(offset))
            .unwrap_or(now)
    }

    /// How pin listings behave now, under the fault plan in force.
    pub(crate) fn listing_rules(&self) -> store::ListingRules {
        let faults = lock(&self.faults);
        let plan = faults.plan();
        store::ListingRules {
            now: std::time::Instant::now(),
            lag: plan.listing_lag,
            order: plan.list_order,
            section_pins_in_board: plan.section_pins_in_board,
            repeat_bookmark: plan.repeat_bookmark,
        }
    }

    pub(crate) fn next_request_id(&self) -> String {
        format!(
            "{:016x}",
            self.next_request_id.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// Per-connection signal a handler raises to close its connection without answering.
#[derive(Clone, Default)]
pub(crate) struct ConnectionKiller(Arc<Notify>);

impl ConnectionKiller {
    pub(crate) fn kill(&self) {
        self.0.notify_one();
    }
}

/// Counts a request as in flight until dropped.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A running emulator. Dropping it stops the server; [`Emulator::shutdown`] also waits for that.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Binds 127.0.0.1:`config.port`, compiles the OpenAPI validators if asked, and starts serving.
    pub async fn start(config: EmulatorConfig) -> std::io::Result<Emulator> {
        let validator = match &config.openapi {
            Some(path) => Some(cached_validator(path)?),
            None => None,
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            base_url: format!("http://{addr}"),
            app_id: config.app_id,
            app_secret: config.app_secret,
            username: config.username,
            store: Mutex::new(Store::new(&config.access_token)),
            faults: Mutex::new(FaultState::new(config.faults)),
            records: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            response_violations: Mutex::new(Vec::new()),
            validator,
            started: std::time::Instant::now(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            next_request_id: AtomicU64::new(1),
        });
        let (stop, stopped) = oneshot::channel();
        let server = tokio::spawn(serve(listener, shared.clone(), stopped));
        Ok(Emulator {
            shared,
            addr,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// `http://127.0.0.1:PORT`; clients append `/v5/...`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the fault plan; counters and the write bucket start afresh.
    pub fn set_faults(&self, faults: FaultPlan) {
        *lock(&self.shared.faults) = FaultState::new(faults);
    }

    /// The fault plan in force.
    pub fn faults(&self) -> FaultPlan {
        lock(&self.shared.faults).plan().clone()
    }

    /// A copy of every stored board, section, Pin and media upload.
    pub fn snapshot(&self) -> StoreSnapshot {
        lock(&self.shared.store).snapshot()
    }

    /// Every request received so far, in the order they were answered (or dropped).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.records).clone()
    }

    /// Forgets the recorded requests (the store is untouched).
    pub fn clear_requests(&self) {
        lock(&self.shared.records).clear();
    }

    /// How many requests are being handled right now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// The highest number of requests handled at the same time so far.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Request bodies that failed the OpenAPI schema (empty when no document was configured).
    pub fn spec_violations(&self) -> Vec<String> {
        lock(&self.shared.violations).clone()
    }

    /// Successful JSON responses of the emulator itself that do not match the OpenAPI schema
    /// (empty when no document was configured); a non-empty list is an emulator bug.
    pub fn response_violations(&self) -> Vec<String> {
        lock(&self.shared.response_violations).clone()
    }

    /// Creates a board directly in the store and returns its id; panics on a duplicate name,
    /// which in a test setup is a bug in the test.
    pub fn seed_board(&self, name: &str, privacy: &str) -> String {
        let now = routes::pinterest_time(self.shared.now());
        match lock(&self.shared.store).create_board(name, None, privacy, &now) {
            Ok(board) => board.id,
            Err(err) => panic!("cannot seed board {name:?}: {}", err.message),
        }
    }

    /// Adds a group board shared with the account, whose name may repeat one of its own boards
    /// (so that name lookups can be ambiguous, as on Pinterest). Returns its id.
    pub fn seed_group_board(&self, name: &str, privacy: &str) -> String {
        let now = routes::pinterest_time(self.shared.now());
        lock(&self.shared.store)
            .insert_board(name, None, privacy, &now)
            .id
    }

    /// Creates a section directly in the store and returns its id; panics on a bad board or name.
    pub fn seed_section(&self, board_id: &str, name: &str) -> String {
        match lock(&self.shared.store).create_section(board_id, name) {
            Ok(section) => section.id,
            Err(err) => panic!("cannot seed section {name:?}: {}", err.message),
        }
    }

    /// Stores an image pin as if it had been made on Pinterest by hand (not through pinbatch),
    /// created now by the emulator's clock and listed at once; returns its id. Panics on a bad
    /// board or text, which in a test setup is a bug in the test.
    pub fn seed_pin(&self, board_id: &str, title: &str, description: &str, link: &str) -> String {
        let body = serde_json::json!({
            "board_id": board_id,
            "title": title,
            "description": description,
            "link": link,
            "media_source": {"source_type": "image_url", "url": "https://example.com/by-hand.jpg"},
        });
        let now = routes::pinterest_time(self.shared.now());
        match lock(&self.shared.store).create_pin(&body, &now, None) {
            Ok(pin) => pin.id,
            Err(err) => panic!("cannot seed pin {title:?}: {}", err.message),
        }
    }

    /// Stores a pin from a `PinCreate`-shaped body (`board_id`, `board_section_id`, text,
    /// `media_source`, `ai_disclosures`) as if it had been made on Pinterest by hand, created
    /// now by the emulator's clock and listed at once; returns its id. Panics on a body the
    /// emulator refuses, which in a test setup is a bug in the test.
    pub fn seed_pin_body(&self, body: &serde_json::Value) -> String {
        let now = routes::pinterest_time(self.shared.now());
        match lock(&self.shared.store).create_pin(body, &now, None) {
            Ok(pin) => pin.id,
            Err(err) => panic!("cannot seed pin {body}: {}", err.message),
        }
    }

    /// Makes a pin belong to another account (`username`), as a public pin of someone else
    /// that this account can still read; panics on an unknown pin (a bug in the test).
    pub fn give_pin_to(&self, pin_id: &str, username: &str) {
        if let Err(err) = lock(&self.shared.store).give_pin_to(pin_id, username) {
            panic!("cannot give pin {pin_id} away: {}", err.message);
        }
    }

    /// Moves every stored pin's `created_at` `days` days back, as if the pins had been made
    /// that long ago (analytics have data only from a pin's creation on).
    pub fn backdate_pins(&self, days: i64) {
        lock(&self.shared.store).backdate_pins(days);
    }

    /// Time since the emulator started: the clock of [`RecordedRequest::arrived`] and
    /// [`RecordedRequest::finished`].
    pub fn elapsed(&self) -> std::time::Duration {
        self.shared.started.elapsed()
    }

    /// Mints a fresh access and refresh token pair (scope `boards:read,boards:write,pins:read,
    /// pins:write,user_accounts:read`), as an OAuth login would.
    pub fn issue_tokens(&self) -> TokenPair {
        lock(&self.shared.store)
            .issue_tokens("boards:read,boards:write,pins:read,pins:write,user_accounts:read")
    }

    /// Makes one access token answer 401 from now on; returns whether it was valid.
    pub fn expire_access_token(&self, token: &str) -> bool {
        lock(&self.shared.store).expire_access_token(token)
    }

    /// Makes every access token answer 401 from now on; refresh tokens keep working.
    pub fn expire_all_access_tokens(&self) {
        lock(&self.shared.store).expire_all_access_tokens();
    }

    /// Whether a token is currently accepted.
    pub fn is_valid_access_token(&self, token: &str) -> bool {
        lock(&self.shared.store).is_valid_access_token(token)
    }

    /// Stops serving as a crashed server would (the listener and every connection are closed,
    /// requests in progress get no response) but keeps the store, so that [`Emulator::resume`]
    /// brings the same server back on the same address.
    pub async fn suspend(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }

    /// Serves again on the same address after [`Emulator::suspend`], with the same store, faults
    /// and records. Does nothing when already serving.
    pub async fn resume(&mut self) -> std::io::Result<()> {
        if self.server.is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr).await?;
        let (stop, stopped) = oneshot::channel();
        self.server = Some(tokio::spawn(serve(listener, self.shared.clone(), stopped)));
        self.stop = Some(stop);
        Ok(())
    }

    /// Stops accepting, closes every connection and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Loads an OpenAPI document once per process and path: test suites start many emulators, and
/// parsing 2 MB of JSON and compiling the validators each time would dominate their run time.
fn cached_validator(path: &std::path::Path) -> std::io::Result<Arc<SpecValidator>> {
    static CACHE: Mutex<Vec<(PathBuf, Arc<SpecValidator>)>> = Mutex::new(Vec::new());
    let mut cache = lock(&CACHE);
    if let Some((_, validator)) = cache.iter().find(|(cached, _)| cached == path) {
        return Ok(validator.clone());
    }
    let validator = Arc::new(
        SpecValidator::load(path)
            .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err))?,
    );
    cache.push((path.to_path_buf(), validator.clone()));
    Ok(validator)
}

/// Accepts connections until stopped; each connection runs in its own task.
async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    let router = routes::router(shared.clone());
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors or similar: back off instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                connections.spawn(serve_connection(stream, router.clone(), shared.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    router: axum::Router,
    shared: Arc<Shared>,
) {
    let killer = ConnectionKiller::default();
    let signal = killer.0.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(killer.clone());
        let router = router.clone();
        let shared = shared.clone();
        async move {
            let _in_flight = InFlight::enter(&shared);
            router.oneshot(request).await
        }
    });
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        // Dropping the connection future closes the socket without writing a response.
        _ = signal.notified() => {}
    }
}
