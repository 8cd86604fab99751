//! The executor: carries out a plan with at most N requests in flight, one state writer, lazy
//! media encoding, write-ahead records, and reconciliation of creates whose outcome is unknown.
//!
//! Exactly once: Pinterest has no idempotency key, so every create is announced in the state
//! (fsynced) before it is sent. When its outcome is unknown (timeout after sending, connection
//! lost, 5xx, process killed), the pin is looked for on its board before anything is sent again,
//! and adopted when found.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use futures::StreamExt as _;
use tokio::sync::{mpsc, oneshot};

use crate::api::retry::{RetryPolicy, RetryState};
use crate::api::types::{ImageBase64Item, ImageUrlItem, MediaSource, Pin, PinCreate, PinUpdate};
use crate::api::{ApiClient, ApiError};
use crate::manifest::{ImageSource, LocalImage, Manifest, Media, PinSpec, VideoCover};
use crate::plan::{Action, Plan, PlannedPin, Reconcile};
use crate::progress::{PinOutcome, PinResult, Reporter, Summary, pin_url};
use crate::resolve::ResolvedBoards;
use crate::state::{Fingerprint, Operation, Record, StateError, StateFile, now_ms};

/// Pinterest's `created_at` is whole seconds, and clocks differ: a pin created up to this long
/// before an attempt began may still be that attempt's result.
const CREATED_AT_SLACK_MS: i64 = 10_000;

/// How long to wait for a video to finish processing.
const VIDEO_PROCESSING_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Why a run stopped dispatching new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Not stopped.
    None = 0,
    /// Ctrl-C: in-flight requests finish.
    Interrupted = 1,
    /// The token was rejected even after a refresh.
    Auth = 2,
    /// Pinterest flagged the writes as spam.
    Spam = 3,
    /// The state file cannot be written.
    State = 4,
}

/// Shared flags to stop a run: the first Ctrl-C stops dispatching, the second abandons.
#[derive(Debug, Default)]
pub struct StopSignal {
    reason: AtomicU8,
    abandon: AtomicBool,
    notify: tokio::sync::Notify,
}

impl StopSignal {
    /// Asks the run to stop dispatching for `reason` (the first reason wins).
    pub fn stop(&self, reason: StopReason) {
        let _ = self.reason.compare_exchange(
            StopReason::None as u8,
            reason as u8,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        self.notify.notify_waiters();
    }

    /// Asks the run to abandon in-flight requests (they stay recorded as attempts).
    pub fn abandon(&self) {
        self.abandon.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Why the run stopped, if it did.
    pub fn reason(&self) -> StopReason {
        match self.reason.load(Ordering::SeqCst) {
            1 => StopReason::Interrupted,
            2 => StopReason::Auth,
            3 => StopReason::Spam,
            4 => StopReason::State,
            _ => StopReason::None,
        }
    }

    fn stopped(&self) -> bool {
        self.reason() != StopReason::None
    }

    fn abandoned(&self) -> bool {
        self.abandon.load(Ordering::SeqCst)
    }

    async fn wait_abandon(&self) {
        loop {
            let notified = self.notify.notified();
            if self.abandoned() {
                return;
            }
            notified.await;
        }
    }
}

/// Knobs of the executor.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// At most this many pins (and so requests) in flight.
    pub concurrency: usize,
    /// Retry policy for creates whose outcome was unknown and not found on the board.
    pub retry: RetryPolicy,
}

/// What a run did.
#[derive(Debug)]
pub struct Execution {
    /// One result per manifest pin and per orphan, in completion order.
    pub results: Vec<PinResult>,
    /// Totals.
    pub summary: Summary,
    /// Why it stopped early, if it did.
    pub stop: StopReason,
    /// The error that stopped it (auth, spam, state), for the final message.
    pub stop_error: Option<String>,
}

/// Everything a pin task needs, shared.
struct Context {
    client: ApiClient,
    /// Request slots: at most N pins talk to the API at once, however many tasks are running.
    slots: tokio::sync::Semaphore,
    /// One image is base64-encoded at a time (see [`read_base64`]).
    encoder: tokio::sync::Semaphore,
    writer: StateWriter,
    boards: ResolvedBoards,
    retry: RetryPolicy,
    stop: Arc<StopSignal>,
    reporter: Arc<dyn Reporter>,
    /// Pin ids already known to belong to some key: never adopted for another.
    claimed: Mutex<HashSet<String>>,
    stop_error: Mutex<Option<String>>,
    sandbox: bool,
}

/// What a run works with besides the manifest, the plan and the state.
pub struct Executor {
    /// The API client (shared pacing and retries).
    pub client: ApiClient,
    /// Board and section ids.
    pub boards: ResolvedBoards,
    /// Concurrency and retries.
    pub options: ExecuteOptions,
    /// Where progress goes.
    pub reporter: Arc<dyn Reporter>,
    /// Ctrl-C and fatal-error stops.
    pub stop: Arc<StopSignal>,
    /// True when the API is Pinterest's sandbox, which cannot create video pins: those fail up
    /// front, before any media call, and the rest of the batch goes on.
    pub sandbox: bool,
}

impl Context {
    /// Waits for a request slot; held while a pin's requests are in flight.
    async fn slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        // The semaphore is never closed, so acquiring only fails if it were; then go on.
        self.slots.acquire().await.ok()
    }
}

/// Carries out `plan`. The state file is moved into a writer thread and given back at the end.
pub async fn execute(
    executor: Executor,
    manifest: &Manifest,
    plan: &Plan,
    state: StateFile,
) -> (Execution, StateFile) {
    let Executor {
        client,
        boards,
        options,
        reporter,
        stop,
        sandbox,
    } = executor;
    let started = Instant::now();
    let claimed: HashSet<String> = state
        .snapshot()
        .pins
        .values()
        .filter_map(|pin| pin.pin_id.clone())
        .collect();
    let attempts_before: std::collections::HashMap<String, u32> = state
        .snapshot()
        .pins
        .iter()
        .map(|(key, pin)| (key.clone(), pin.attempts))
        .collect();
    let (writer, writer_thread) = StateWriter::spawn(state);
    let concurrency = options.concurrency.max(1);
    let context = Arc::new(Context {
        client,
        slots: tokio::sync::Semaphore::new(concurrency),
        encoder: tokio::sync::Semaphore::new(1),
        writer,
        boards,
        retry: options.retry,
        stop: Arc::clone(&stop),
        reporter: Arc::clone(&reporter),
        claimed: Mutex::new(claimed),
        stop_error: Mutex::new(None),
        sandbox,
    });

    let mut results = Vec::with_capacity(plan.pins.len() + plan.orphans.len());
    let mut summary = Summary::default();
    reporter.on_start(plan.pins.len() + plan.orphans.len());

    // Pins that need no API call are reported at once.
    let mut work: Vec<Task<'_>> = Vec::new();
    for planned in &plan.pins {
        let spec = &manifest.pins[planned.index];
        let outcome = match &planned.action {
            Action::Unchanged { .. } => Some(PinOutcome::Unchanged),
            Action::Scheduled { .. } => Some(PinOutcome::Scheduled),
            Action::NeedsReplace { .. } => Some(PinOutcome::NeedsReplace),
            _ => None,
        };
        match outcome {
            Some(outcome) => {
                let pin_id = match &planned.action {
                    Action::Unchanged { pin_id } | Action::NeedsReplace { pin_id } => {
                        Some(pin_id.clone())
                    }
                    _ => None,
                };
                let error = match &planned.action {
                    Action::NeedsReplace { .. } => Some(planned.action.reason()),
                    _ => None,
                };
                let result = PinResult {
                    key: spec.key.clone(),
                    location: spec.location.to_string(),
                    status: outcome,
                    pin_url: pin_id.as_deref().map(pin_url),
                    pin_id,
                    attempts: attempts_before.get(&spec.key).copied().unwrap_or(0),
                    error,
                };
                summary.count(outcome);
                reporter.on_pin(&result);
                results.push(result);
            }
            None => work.push(Task::Pin(planned, spec)),
        }
    }
    for orphan in plan.orphans.iter().filter(|orphan| orphan.delete) {
        work.push(Task::Orphan(&orphan.key, &orphan.pin_id));
    }
    for orphan in plan.orphans.iter().filter(|orphan| !orphan.delete) {
        reporter.on_message(&format!(
            "pin `{}` ({}) is no longer in the manifest; --prune deletes it",
            orphan.key, orphan.pin_id
        ));
    }

    let pending: Vec<(String, String)> = work.iter().map(Task::identity).collect();
    let mut finished: HashSet<String> = HashSet::new();
    {
        let stream_context = Arc::clone(&context);
        let stop_dispatch = Arc::clone(&stop);
        let mut running = futures::stream::iter(work)
            .take_while(move |_| std::future::ready(!stop_dispatch.stopped()))
            .map(move |task| {
                let context = Arc::clone(&stream_context);
                async move { task.run(&context).await }
            })
            // Twice as many tasks as request slots: a task can make its write-ahead record
            // durable while the slots are busy, so the slots never wait for the disk.
            .buffer_unordered(concurrency * 2);
        loop {
            let next = tokio::select! {
                next = running.next() => next,
                () = stop.wait_abandon() => None,
            };
            let Some(result) = next else { break };
            finished.insert(result.key.clone());
            summary.count(result.status);
            reporter.on_pin(&result);
            results.push(result);
        }
    }
    for (key, location) in pending {
        if !finished.contains(&key) {
            let result = PinResult {
                key: key.clone(),
                location,
                status: PinOutcome::Skipped,
                pin_id: None,
                pin_url: None,
                attempts: attempts_before.get(&key).copied().unwrap_or(0),
                error: None,
            };
            summary.count(PinOutcome::Skipped);
            reporter.on_pin(&result);
            results.push(result);
        }
    }
    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    reporter.on_finish(&summary);
    let mut stop_error = context.stop_error.lock().map(|e| e.clone()).unwrap_or(None);
    let view = Arc::clone(&context.writer.view);
    drop(context);
    // The writer thread ends once every sender is gone; records queued without waiting are
    // durable (or have failed) when it has.
    let state = writer_thread.finish();
    if let Some(failure) = view.lock().ok().and_then(|view| view.failure.clone()) {
        stop.stop(StopReason::State);
        stop_error.get_or_insert(failure);
    }
    (
        Execution {
            results,
            summary,
            stop: stop.reason(),
            stop_error,
        },
        state,
    )
}

/// One unit of work.
enum Task<'a> {
    Pin(&'a PlannedPin, &'a PinSpec),
    Orphan(&'a str, &'a str),
}

impl Task<'_> {
    fn identity(&self) -> (String, String) {
        match self {
            Task::Pin(_, spec) => (spec.key.clone(), spec.location.to_string()),
            Task::Orphan(key, _) => ((*key).to_owned(), String::new()),
        }
    }

    async fn run(self, context: &Context) -> PinResult {
        match self {
            Task::Pin(planned, spec) => {
                let outcome = run_pin(context, planned, spec).await;
                finish(context, &spec.key, spec.location.to_string(), outcome)
            }
            Task::Orphan(key, pin_id) => {
                let outcome = delete_orphan(context, key, pin_id).await;
                finish(context, key, String::new(), outcome)
            }
        }
    }
}

/// The end of one task: either an outcome with a pin id, or a failure.
type TaskOutcome = Result<(PinOutcome, Option<String>), TaskError>;

/// Why a task did not succeed.
#[derive(Debug)]
enum TaskError {
    /// The API said no (recorded as failed).
    Api(ApiError),
    /// Media could not be read or processed (recorded as failed).
    Media(String),
    /// The state could not be written: the run stops.
    State(StateError),
    /// A create may or may not have happened and it could not be checked (the board listing
    /// failed too). Nothing is recorded, so the attempt stays in flight and the next run looks
    /// for the pin before creating it.
    Unknown(ApiError),
    /// The run was stopped before the task did anything.
    Stopped,
}

fn finish(context: &Context, key: &str, location: String, outcome: TaskOutcome) -> PinResult {
    let attempts = context.writer.attempts(key);
    match outcome {
        Ok((status, pin_id)) => PinResult {
            key: key.to_owned(),
            location,
            status,
            pin_url: pin_id.as_deref().map(pin_url),
            pin_id,
            attempts,
            error: None,
        },
        Err(TaskError::Stopped) => PinResult {
            key: key.to_owned(),
            location,
            status: PinOutcome::Skipped,
            pin_id: None,
            pin_url: None,
            attempts,
            error: None,
        },
        Err(err) => PinResult {
            key: key.to_owned(),
            location,
            status: PinOutcome::Failed,
            pin_id: None,
            pin_url: None,
            attempts,
            error: Some(describe(&err)),
        },
    }
}

fn describe(err: &TaskError) -> String {
    match err {
        TaskError::Api(err) => match err.hint() {
            Some(hint) => format!("{err} (hint: {hint})"),
            None => err.to_string(),
        },
        TaskError::Media(message) => message.clone(),
        TaskError::Unknown(err) => format!(
            "{err}; the pin may have been created: the next run looks for it before creating it again"
        ),
        TaskError::State(err) => err.to_string(),
        TaskError::Stopped => "stopped".to_owned(),
    }
}

async fn run_pin(context: &Context, planned: &PlannedPin, spec: &PinSpec) -> TaskOutcome {
    if context.stop.stopped() {
        return Err(TaskError::Stopped);
    }
    if context.sandbox
        && let Some(message) = sandbox_refusal(spec, &planned.action)
    {
        return fail(context, &spec.key, TaskError::Media(message)).await;
    }
    let Some(board_id) = context.boards.board_id(&spec.board).map(str::to_owned) else {
        return fail(
            context,
            &spec.key,
            TaskError::Media(format!("board `{}` was not resolved", spec.board)),
        )
        .await;
    };
    let section_id = match &spec.section {
        Some(section) => match context.boards.section_id(&board_id, section) {
            Some(id) => Some(id.to_owned()),
            None => {
                return fail(
                    context,
                    &spec.key,
                    TaskError::Media(format!("section `{section}` was not resolved")),
                )
                .await;
            }
        },
        None => None,
    };
    let target = Target {
        board_id,
        section_id,
        fingerprint: planned.fingerprint.clone(),
    };
    let result = match &planned.action {
        Action::Create { reconcile } => create(context, spec, &target, reconcile.as_ref()).await,
        Action::Update { pin_id, .. } => update(context, spec, &target, pin_id).await,
        Action::Replace { pin_id } => replace(context, spec, &target, pin_id).await,
        Action::Unchanged { .. } | Action::Scheduled { .. } | Action::NeedsReplace { .. } => {
            return Err(TaskError::Stopped);
        }
    };
    match result {
        Ok(done) => Ok(done),
        Err(err) => fail(context, &spec.key, err).await,
    }
}

/// Why a pin cannot be sent to the sandbox: it cannot create video pins, so creating one (or
/// replacing a pin by one, which would delete the old pin first) is refused before any call.
/// Updating the text of an existing video pin sends no media and is allowed.
fn sandbox_refusal(spec: &PinSpec, action: &Action) -> Option<String> {
    let creates = matches!(action, Action::Create { .. } | Action::Replace { .. });
    (creates && matches!(spec.media, Media::Video(_))).then(|| {
        format!(
            "the Pinterest sandbox cannot create video pins; publish `{}` without --sandbox",
            spec.key
        )
    })
}

/// Records a definite failure (nothing was created) and stops the run for auth and spam errors.
async fn fail(context: &Context, key: &str, err: TaskError) -> TaskOutcome {
    match &err {
        TaskError::Api(api) | TaskError::Unknown(api) if api.is_auth() => {
            context.stop.stop(StopReason::Auth);
            set_stop_error(context, &err);
        }
        TaskError::Api(api) | TaskError::Unknown(api) if api.is_spam() => {
            context.stop.stop(StopReason::Spam);
            set_stop_error(context, &err);
        }
        TaskError::State(_) => {
            context.stop.stop(StopReason::State);
            set_stop_error(context, &err);
            return Err(err);
        }
        TaskError::Stopped => return Err(err),
        _ => {}
    }
    if matches!(err, TaskError::Unknown(_)) {
        return Err(err);
    }
    let record = Record::Failed {
        key: key.to_owned(),
        error: describe(&err),
        at_ms: now_ms(),
    };
    if let Err(state_err) = context.writer.record(vec![record]).await {
        context.stop.stop(StopReason::State);
        set_stop_error(context, &TaskError::State(state_err));
    }
    Err(err)
}

fn set_stop_error(context: &Context, err: &TaskError) {
    if let Ok(mut slot) = context.stop_error.lock()
        && slot.is_none()
    {
        *slot = Some(describe(err));
    }
}

/// Where a pin goes and what it will hold.
struct Target {
    board_id: String,
    section_id: Option<String>,
    fingerprint: Fingerprint,
}

async fn create(
    context: &Context,
    spec: &PinSpec,
    target: &Target,
    reconcile: Option<&Reconcile>,
) -> Result<(PinOutcome, Option<String>), TaskError> {
    if let Some(earlier) = reconcile {
        // The earlier attempt may have gone to another board if the manifest changed since;
        // look where it was sent.
        let _slot = context.slot().await;
        if let Some(pin) =
            find_created(context, spec, &earlier.board_id, earlier.started_ms).await?
        {
            return adopt(context, spec, target, &earlier.board_id, pin).await;
        }
    }
    let mut retry = RetryState::new(context.retry);
    loop {
        if context.stop.stopped() {
            return Err(TaskError::Stopped);
        }
        // The announcement is made durable before taking a request slot, so that the disk
        // wait overlaps other pins' requests instead of idling a slot.
        let started_ms = record_attempt(context, &spec.key, Operation::Create, target).await?;
        let slot = context.slot().await;
        // Media is read only now, inside the slot: at most N pins' media are in memory.
        let media_source = media_source(context, spec).await?;
        let body = PinCreate {
            board_id: target.board_id.clone(),
            board_section_id: target.section_id.clone(),
            title: spec.title.clone(),
            description: spec.description.clone(),
            link: spec.link.clone(),
            alt_text: spec.alt_text.clone(),
            dominant_color: spec.dominant_color.clone(),
            media_source,
        };
        let sent = context.client.create_pin(body).await;
        match sent {
            Ok(pin) => {
                drop(slot);
                claim(context, &pin.id);
                record_done(context, spec, target, &pin.id, false).await?;
                return Ok((PinOutcome::Created, Some(pin.id)));
            }
            Err(err) if err.outcome_unknown() => {
                if let Some(pin) = find_created(context, spec, &target.board_id, started_ms).await?
                {
                    drop(slot);
                    return adopt(context, spec, target, &target.board_id, pin).await;
                }
                drop(slot);
                match retry.next_delay(&err, SystemTime::now(), fastrand::f64()) {
                    Some(delay) => {
                        context
                            .reporter
                            .on_retry(&spec.key, delay, &err.to_string());
                        tokio::time::sleep(delay).await;
                    }
                    None => return Err(TaskError::Api(err)),
                }
            }
            Err(err) => return Err(TaskError::Api(err)),
        }
    }
}

async fn adopt(
    context: &Context,
    spec: &PinSpec,
    target: &Target,
    board_id: &str,
    pin: Pin,
) -> Result<(PinOutcome, Option<String>), TaskError> {
    let adopted_target = Target {
        board_id: board_id.to_owned(),
        section_id: pin
            .board_section_id
            .clone()
            .or_else(|| target.section_id.clone()),
        fingerprint: target.fingerprint.clone(),
    };
    record_done(context, spec, &adopted_target, &pin.id, true).await?;
    Ok((PinOutcome::Adopted, Some(pin.id)))
}

fn claim(context: &Context, pin_id: &str) -> bool {
    context
        .claimed
        .lock()
        .map(|mut claimed| claimed.insert(pin_id.to_owned()))
        .unwrap_or(false)
}

async fn record_done(
    context: &Context,
    spec: &PinSpec,
    target: &Target,
    pin_id: &str,
    adopted: bool,
) -> Result<(), TaskError> {
    // The outcome is queued without waiting for its fsync: it lands in the log before any
    // later record, and a crash before it is durable only leaves the attempt in flight, which
    // the next run reconciles by finding this pin. Waiting would add an fsync to every pin.
    context
        .writer
        .record_soon(vec![Record::Done {
            key: spec.key.clone(),
            pin_id: pin_id.to_owned(),
            board_id: target.board_id.clone(),
            section_id: target.section_id.clone(),
            fingerprint: target.fingerprint.clone(),
            adopted,
            at_ms: now_ms(),
        }])
        .map_err(TaskError::State)
}

/// Looks for a pin created by an attempt that began at `started_ms`: same title, description,
/// link and media kind, on the board, created no earlier than the attempt (less slack), and not
/// already belonging to another key. Pages newest first and stops at older pins.
async fn find_created(
    context: &Context,
    spec: &PinSpec,
    board_id: &str,
    started_ms: i64,
) -> Result<Option<Pin>, TaskError> {
    let since_ms = started_ms - CREATED_AT_SLACK_MS;
    let mut bookmark: Option<String> = None;
    loop {
        let page = context
            .client
            .list_board_pins_page(board_id, bookmark.as_deref())
            .await
            .map_err(TaskError::Unknown)?;
        let mut older_seen = false;
        for pin in page.items {
            match pin.created_at.as_deref().and_then(parse_created_at) {
                Some(created) if created < since_ms => {
                    older_seen = true;
                    continue;
                }
                _ => {}
            }
            if matches_spec(&pin, spec) && claim(context, &pin.id) {
                return Ok(Some(pin));
            }
        }
        match page.bookmark {
            Some(next) if !older_seen && !next.is_empty() => bookmark = Some(next),
            _ => return Ok(None),
        }
    }
}

fn matches_spec(pin: &Pin, spec: &PinSpec) -> bool {
    fn same(remote: &Option<String>, local: &Option<String>) -> bool {
        remote.as_deref().unwrap_or("") == local.as_deref().unwrap_or("")
    }
    let kind_matches = match pin.media.as_ref().and_then(|m| m.media_type.as_deref()) {
        None => true,
        Some(kind) => match &spec.media {
            Media::Image(_) => kind == "image",
            Media::Carousel(_) => kind == "multiple_images",
            Media::Video(_) => kind == "video",
        },
    };
    kind_matches
        && same(&pin.title, &spec.title)
        && same(&pin.description, &spec.description)
        && same(&pin.link, &spec.link)
}

/// Parses Pinterest's `created_at` (`2026-11-29T17:00:00`, UTC, sometimes with an offset) into
/// milliseconds since the epoch.
fn parse_created_at(text: &str) -> Option<i64> {
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp.as_millisecond());
    }
    let civil: jiff::civil::DateTime = text.parse().ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(civil)
        .ok()
        .map(|timestamp| timestamp.as_millisecond())
}

/// Writes (and fsyncs) the announcement of an attempt before it is made; returns its start time.
async fn record_attempt(
    context: &Context,
    key: &str,
    op: Operation,
    target: &Target,
) -> Result<i64, TaskError> {
    let started_ms = now_ms();
    context
        .writer
        .record(vec![Record::Attempt {
            key: key.to_owned(),
            op,
            started_ms,
            fingerprint: target.fingerprint.clone(),
            board_id: target.board_id.clone(),
            section_id: target.section_id.clone(),
        }])
        .await
        .map_err(TaskError::State)?;
    Ok(started_ms)
}

async fn update(
    context: &Context,
    spec: &PinSpec,
    target: &Target,
    pin_id: &str,
) -> Result<(PinOutcome, Option<String>), TaskError> {
    record_attempt(context, &spec.key, Operation::Update, target).await?;
    let body = PinUpdate {
        title: spec.title.clone(),
        description: spec.description.clone(),
        link: spec.link.clone(),
        alt_text: spec.alt_text.clone(),
        board_id: Some(target.board_id.clone()),
        board_section_id: target.section_id.clone(),
    };
    let slot = context.slot().await;
    let pin = context
        .client
        .update_pin(pin_id, &body)
        .await
        .map_err(TaskError::Api)?;
    drop(slot);
    record_done(context, spec, target, &pin.id, false).await?;
    Ok((PinOutcome::Updated, Some(pin.id)))
}

async fn replace(
    context: &Context,
    spec: &PinSpec,
    target: &Target,
    pin_id: &str,
) -> Result<(PinOutcome, Option<String>), TaskError> {
    record_attempt(context, &spec.key, Operation::Replace, target).await?;
    delete_remote(context, pin_id).await?;
    context
        .writer
        .record(vec![Record::Deleted {
            key: spec.key.clone(),
            at_ms: now_ms(),
        }])
        .await
        .map_err(TaskError::State)?;
    let (_, new_id) = create(context, spec, target, None).await?;
    Ok((PinOutcome::Replaced, new_id))
}

async fn delete_orphan(context: &Context, key: &str, pin_id: &str) -> TaskOutcome {
    if context.stop.stopped() {
        return Err(TaskError::Stopped);
    }
    let result = async {
        context
            .writer
            .record(vec![Record::Attempt {
                key: key.to_owned(),
                op: Operation::Delete,
                started_ms: now_ms(),
                fingerprint: Fingerprint {
                    text: String::new(),
                    placement: String::new(),
                    media: String::new(),
                },
                board_id: String::new(),
                section_id: None,
            }])
            .await
            .map_err(TaskError::State)?;
        delete_remote(context, pin_id).await?;
        context
            .writer
            .record(vec![Record::Deleted {
                key: key.to_owned(),
                at_ms: now_ms(),
            }])
            .await
            .map_err(TaskError::State)?;
        Ok((PinOutcome::Deleted, None))
    }
    .await;
    match result {
        Ok(done) => Ok(done),
        Err(err) => fail(context, key, err).await,
    }
}

/// Deletes a pin; one that is already gone counts as deleted.
async fn delete_remote(context: &Context, pin_id: &str) -> Result<(), TaskError> {
    let _slot = context.slot().await;
    match context.client.delete_pin(pin_id).await {
        Ok(()) => Ok(()),
        Err(err) if err.status() == Some(404) => Ok(()),
        Err(err) => Err(TaskError::Api(err)),
    }
}

/// Builds the `media_source` of a pin, reading and encoding local files only now, inside the
/// request slot, so memory holds at most one pin's media per slot.
async fn media_source(context: &Context, spec: &PinSpec) -> Result<MediaSource, TaskError> {
    match &spec.media {
        Media::Image(ImageSource::Url(url)) => Ok(MediaSource::ImageUrl { url: url.clone() }),
        Media::Image(ImageSource::File(image)) => {
            let data = read_base64(context, image).await?;
            Ok(MediaSource::ImageBase64 {
                content_type: image.content_type.mime().to_owned(),
                data,
            })
        }
        Media::Carousel(items) => {
            if items
                .iter()
                .all(|item| matches!(item.source, ImageSource::Url(_)))
            {
                let items = items
                    .iter()
                    .filter_map(|item| match &item.source {
                        ImageSource::Url(url) => Some(ImageUrlItem {
                            url: url.clone(),
                            title: item.title.clone(),
                            description: item.description.clone(),
                            link: item.link.clone(),
                        }),
                        ImageSource::File(_) => None,
                    })
                    .collect();
                Ok(MediaSource::MultipleImageUrls { items })
            } else {
                let mut encoded = Vec::with_capacity(items.len());
                for item in items {
                    let ImageSource::File(image) = &item.source else {
                        return Err(TaskError::Media(
                            "a carousel mixes local files and URLs".to_owned(),
                        ));
                    };
                    encoded.push(ImageBase64Item {
                        content_type: image.content_type.mime().to_owned(),
                        data: read_base64(context, image).await?,
                        title: item.title.clone(),
                        description: item.description.clone(),
                        link: item.link.clone(),
                    });
                }
                Ok(MediaSource::MultipleImageBase64 { items: encoded })
            }
        }
        Media::Video(video) => {
            let media_id = upload_video(context, spec, video).await?;
            let mut source = MediaSource::VideoId {
                media_id,
                cover_image_url: None,
                cover_image_content_type: None,
                cover_image_data: None,
                cover_image_key_frame_time: None,
            };
            if let MediaSource::VideoId {
                cover_image_url,
                cover_image_content_type,
                cover_image_data,
                cover_image_key_frame_time,
                ..
            } = &mut source
            {
                match &video.cover {
                    Some(VideoCover::Url(url)) => *cover_image_url = Some(url.clone()),
                    Some(VideoCover::File(image)) => {
                        *cover_image_content_type = Some(image.content_type.mime().to_owned());
                        *cover_image_data = Some(read_base64(context, image).await?);
                    }
                    Some(VideoCover::Frame(seconds)) => {
                        *cover_image_key_frame_time = Some(u64::from(*seconds));
                    }
                    None => {}
                }
            }
            Ok(source)
        }
    }
}

/// Reads and encodes an image on a blocking thread: encoding a large image takes tens of
/// milliseconds, and every pin's future is polled by the same task, so doing it inline would
/// hold up the responses of all the other pins in the meantime. One image at a time: while it
/// is encoded both its bytes and its text are in memory, and encoding several at once (measured
/// with 8 MB images) pushed the peak past `30 MB + N x 3 x largest image`.
async fn read_base64(context: &Context, image: &LocalImage) -> Result<String, TaskError> {
    // Never closed, so acquiring cannot fail; without a permit the encode would still be correct.
    let _encoding = context.encoder.acquire().await.ok();
    let path = image.path.clone();
    tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path)
            .map_err(|err| TaskError::Media(format!("cannot read `{}`: {err}", path.display())))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
    })
    .await
    .map_err(|err| TaskError::Media(format!("the image reader stopped: {err}")))?
}

/// Registers, uploads and waits for a video, reusing a media id the state already holds so that
/// a crash after the upload does not upload the file again.
///
/// A media registered but not recorded as uploaded is asked for its status first: a crash just
/// after the upload finished leaves it `processing` or `succeeded`, and it is kept. Only one still
/// waiting for its file (whose upload parameters are gone), failed or unknown is registered anew.
async fn upload_video(
    context: &Context,
    spec: &PinSpec,
    video: &crate::manifest::VideoSpec,
) -> Result<String, TaskError> {
    let reusable = match context.writer.media(&spec.key) {
        Some((media_id, true)) => Some(media_id),
        Some((media_id, false)) => match context.client.media_status(&media_id).await {
            Ok(status) if matches!(status.status.as_str(), "processing" | "succeeded") => {
                record_media(context, spec, &media_id, true).await?;
                Some(media_id)
            }
            Ok(_) => None,
            Err(err) if err.status() == Some(404) => None,
            Err(err) => return Err(TaskError::Api(err)),
        },
        None => None,
    };
    let media_id = match reusable {
        Some(media_id) => media_id,
        None => {
            let upload = context
                .client
                .register_media()
                .await
                .map_err(TaskError::Api)?;
            record_media(context, spec, &upload.media_id, false).await?;
            context
                .client
                .upload_media(&upload, &video.path)
                .await
                .map_err(TaskError::Api)?;
            record_media(context, spec, &upload.media_id, true).await?;
            upload.media_id
        }
    };
    wait_for_processing(context, spec, video, &media_id).await
}

async fn record_media(
    context: &Context,
    spec: &PinSpec,
    media_id: &str,
    uploaded: bool,
) -> Result<(), TaskError> {
    context
        .writer
        .record(vec![Record::Media {
            key: spec.key.clone(),
            media_id: media_id.to_owned(),
            uploaded,
        }])
        .await
        .map_err(TaskError::State)
}

/// Polls a media's status with a growing delay until it succeeds, fails or takes too long.
async fn wait_for_processing(
    context: &Context,
    spec: &PinSpec,
    video: &crate::manifest::VideoSpec,
    media_id: &str,
) -> Result<String, TaskError> {
    let media_id = media_id.to_owned();
    let deadline = Instant::now() + VIDEO_PROCESSING_LIMIT;
    let mut delay = Duration::from_millis(200);
    loop {
        let status = context
            .client
            .media_status(&media_id)
            .await
            .map_err(TaskError::Api)?;
        match status.status.as_str() {
            "succeeded" => return Ok(media_id),
            "failed" => {
                // Forget the upload so the next run sends the file again (perhaps fixed)
                // instead of finding the same failed media forever.
                record_media(context, spec, &media_id, false).await?;
                return Err(TaskError::Media(format!(
                    "Pinterest could not process video `{}` (media {media_id}): check its format (H.264/H.265 .mp4/.mov/.m4v, 4 s to 15 min)",
                    video.reference
                )));
            }
            _ => {}
        }
        if Instant::now() >= deadline {
            return Err(TaskError::Media(format!(
                "video `{}` (media {media_id}) was still processing after {} minutes",
                video.reference,
                VIDEO_PROCESSING_LIMIT.as_secs() / 60
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// The single writer of the state: records are sent to a thread that appends them, one fsync per
/// batch of whatever is queued (group commit), and acknowledges each once it is durable.
#[derive(Clone)]
struct StateWriter {
    sender: mpsc::UnboundedSender<WriteRequest>,
    view: Arc<Mutex<StateView>>,
    /// The state file, for messages.
    path: Arc<std::path::Path>,
}

/// What tasks may read from the state while the writer owns it.
#[derive(Default)]
struct StateView {
    attempts: std::collections::HashMap<String, u32>,
    media: std::collections::HashMap<String, (String, bool)>,
    /// Set when an append failed: nothing more is written (a partial line may end the file,
    /// and only a last line may be torn).
    failure: Option<String>,
}

struct WriteRequest {
    records: Vec<Record>,
    /// `None` for records whose writer does not wait (see [`StateWriter::record_soon`]).
    ack: Option<oneshot::Sender<Result<(), StateError>>>,
}

struct WriterThread {
    handle: std::thread::JoinHandle<StateFile>,
}

impl WriterThread {
    fn finish(self) -> StateFile {
        match self.handle.join() {
            Ok(state) => state,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl StateWriter {
    fn spawn(mut state: StateFile) -> (StateWriter, WriterThread) {
        let path: Arc<std::path::Path> = Arc::from(state.path());
        let mut view = StateView::default();
        for (key, pin) in &state.snapshot().pins {
            view.attempts.insert(key.clone(), pin.attempts);
            if let Some(media_id) = &pin.media_id {
                view.media
                    .insert(key.clone(), (media_id.clone(), pin.media_uploaded));
            }
        }
        let view = Arc::new(Mutex::new(view));
        let (sender, mut receiver) = mpsc::unbounded_channel::<WriteRequest>();
        let thread_view = Arc::clone(&view);
        let handle = std::thread::spawn(move || {
            while let Some(first) = receiver.blocking_recv() {
                let mut batch = vec![first];
                while let Ok(next) = receiver.try_recv() {
                    batch.push(next);
                }
                let records: Vec<Record> = batch
                    .iter()
                    .flat_map(|request| request.records.iter().cloned())
                    .collect();
                let failure = thread_view
                    .lock()
                    .ok()
                    .and_then(|view| view.failure.clone());
                let result = match failure {
                    Some(failure) => Err(failure),
                    None => state.append(&records).map_err(|err| err.to_string()),
                };
                if let (Err(failure), Ok(mut view)) = (&result, thread_view.lock()) {
                    view.failure.get_or_insert_with(|| failure.clone());
                }
                if result.is_ok()
                    && let Ok(mut view) = thread_view.lock()
                {
                    for record in &records {
                        match record {
                            Record::Attempt { key, .. } => {
                                *view.attempts.entry(key.clone()).or_default() += 1;
                            }
                            Record::Media {
                                key,
                                media_id,
                                uploaded,
                            } => {
                                view.media
                                    .insert(key.clone(), (media_id.clone(), *uploaded));
                            }
                            Record::Deleted { key, .. } => {
                                view.media.remove(key);
                            }
                            _ => {}
                        }
                    }
                }
                for request in batch {
                    let reply = match &result {
                        Ok(()) => Ok(()),
                        Err(err) => Err(StateError::Io {
                            action: "write",
                            path: state.path().to_owned(),
                            source: std::io::Error::other(err.clone()),
                        }),
                    };
                    if let Some(ack) = request.ack {
                        let _ = ack.send(reply);
                    }
                }
            }
            state
        });
        let writer = StateWriter { sender, view, path };
        (writer, WriterThread { handle })
    }

    /// Appends records and waits until they are durable.
    async fn record(&self, records: Vec<Record>) -> Result<(), StateError> {
        let (ack, done) = oneshot::channel();
        self.sender
            .send(WriteRequest {
                records,
                ack: Some(ack),
            })
            .map_err(|_| self.stopped())?;
        done.await.map_err(|_| self.stopped())?
    }

    /// Queues records without waiting for them to be durable. Fails only if an earlier write
    /// failed (the run must stop) or the writer is gone.
    fn record_soon(&self, records: Vec<Record>) -> Result<(), StateError> {
        if let Some(failure) = self.failure() {
            return Err(self.error(failure));
        }
        self.sender
            .send(WriteRequest { records, ack: None })
            .map_err(|_| self.stopped())
    }

    fn stopped(&self) -> StateError {
        self.error("the state writer stopped".to_owned())
    }

    fn error(&self, reason: String) -> StateError {
        StateError::Io {
            action: "write",
            path: self.path.to_path_buf(),
            source: std::io::Error::other(reason),
        }
    }

    /// The first write failure, if any.
    fn failure(&self) -> Option<String> {
        self.view.lock().ok().and_then(|view| view.failure.clone())
    }

    fn attempts(&self, key: &str) -> u32 {
        self.view
            .lock()
            .ok()
            .and_then(|view| view.attempts.get(key).copied())
            .unwrap_or(0)
    }

    fn media(&self, key: &str) -> Option<(String, bool)> {
        self.view
            .lock()
            .ok()
            .and_then(|view| view.media.get(key).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file the validator takes for an MP4: an `ftyp` box, then a few bytes.
    const TINY_MP4: &[u8] = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2\0\0\0\x08mdat";

    /// Runs `apply` of a video pin and an image pin against a local emulator, as if it were the
    /// sandbox: the video fails up front with no media call, the image pin is created.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sandbox_refuses_video_pins_before_any_media_call() {
        use crate::api::{ClientConfig, Credentials, Environment};
        use crate::emulator::{Emulator, EmulatorConfig};

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("clip.mp4"), TINY_MP4).unwrap();
        let manifest_path = dir.path().join("pins.yaml");
        std::fs::write(
            &manifest_path,
            "version: 1\ndefaults:\n  board: Clips\npins:\n  - id: video\n    video: clip.mp4\n  - id: image\n    image: https://example.com/a.jpg\n",
        )
        .unwrap();
        let manifest = crate::manifest::load(&manifest_path).manifest.unwrap();

        let config = EmulatorConfig::default();
        let token = config.access_token.clone();
        let emulator = Emulator::start(EmulatorConfig { port: 0, ..config })
            .await
            .unwrap();
        emulator.seed_board("Clips", "PUBLIC");
        let environment = Environment::resolve(false, Some(&emulator.base_url())).unwrap();
        let mut client_config = ClientConfig::new(environment.clone());
        client_config.credentials = Some(Credentials {
            access_token: crate::credentials::SecretString::new(token),
            expires_at: None,
            refresh: None,
            sink: None,
        });
        let client = ApiClient::new(client_config).unwrap();
        let needed = manifest
            .pins
            .iter()
            .map(|pin| (pin.board.clone(), pin.section.clone()))
            .collect();
        let boards = crate::resolve::survey(&client, &manifest, &needed, false)
            .await
            .unwrap()
            .create_missing(&client, |_| {})
            .await
            .unwrap();
        let state = StateFile::open(&dir.path().join("pins.state"), environment.origin()).unwrap();
        let plan = crate::plan::plan(
            &manifest,
            Some(state.snapshot()),
            jiff::Timestamp::now(),
            crate::plan::PlanOptions::default(),
        );
        let executor = Executor {
            client,
            boards,
            options: ExecuteOptions {
                concurrency: 2,
                retry: RetryPolicy::default(),
            },
            reporter: Arc::new(crate::progress::NoopReporter),
            stop: Arc::new(StopSignal::default()),
            sandbox: true,
        };
        let (execution, state) = execute(executor, &manifest, &plan, state).await;

        let video = execution.results.iter().find(|r| r.key == "video").unwrap();
        assert_eq!(video.status, PinOutcome::Failed);
        let error = video.error.as_deref().unwrap_or_default();
        assert!(
            error.contains("sandbox cannot create video pins"),
            "{error}"
        );
        let image = execution.results.iter().find(|r| r.key == "image").unwrap();
        assert_eq!(image.status, PinOutcome::Created);
        assert!(
            !emulator
                .requests()
                .iter()
                .any(|r| r.path.starts_with("/v5/media") || r.path.starts_with("/upload")),
            "{:?}",
            emulator.requests()
        );
        assert_eq!(
            state.snapshot().pins["video"].last_error.as_deref(),
            Some(error)
        );
        drop(state);
        emulator.shutdown().await;
    }

    #[test]
    fn created_at_is_read_with_or_without_an_offset() {
        assert_eq!(parse_created_at("1970-01-01T00:00:01"), Some(1000));
        assert_eq!(parse_created_at("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_created_at("1970-01-01T01:00:01+01:00"), Some(1000));
        assert_eq!(parse_created_at("yesterday"), None);
    }
}
