//! The executor: carries out a plan with at most N requests in flight, one state writer, lazy
//! media encoding, write-ahead records, and creates made exactly once.
//!
//! Exactly once: Pinterest has no idempotency key, so every create is announced in the state
//! (fsynced) before it is sent, and a create whose outcome is unknown is resolved by reading the
//! board's listings before anything is sent again (see [`create`]). Pins that a listing cannot
//! tell apart are created one at a time (see `manifest::twins`).
//!
//! Layout: this file is the run loop (tasks, stops, results); [`create`] holds what one pin's
//! task does with the API, [`reconcile`] how a listing is searched, [`media`] how media is read
//! and videos uploaded, [`writer`] the thread that appends to the state file, [`progress`] the
//! events a run reports (implemented by `ui`), [`pushback`] what a link refused as spam or a
//! blocked account means for the run, [`follow`] what `apply --follow` asks between its turns,
//! [`import`] the matching of pins that already exist, for `pinbatch import`, and [`metrics`]
//! the reading of published pins' analytics, for `pinbatch report --metrics`.
//!
//! May use `plan`, `state`, `manifest`, `api` and the leaves; never the command line or the
//! terminal.

mod convert;
mod create;
pub(crate) mod follow;
pub(crate) mod import;
mod media;
pub(crate) mod metrics;
pub(crate) mod progress;
mod pushback;
pub(crate) mod reconcile;
mod writer;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;

use crate::api::retry::RetryPolicy;
use crate::api::{ApiClient, ApiError};
use crate::apply::progress::{PinOutcome, PinResult, Reporter, Summary, pin_url};
use crate::epoch::now_ms;
use crate::manifest::{Manifest, Media, PinSpec};
use crate::plan::resolve::ResolvedBoards;
use crate::plan::{Action, Plan, PlanOptions, PlannedPin};
use crate::state::{Ends, Record, StateError, StateFile};
use create::Target;
use writer::StateWriter;

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
    /// The account's request quota (a day's budget) is used up.
    Quota = 5,
    /// Production refused a write because the app has Trial access: every write would be.
    TrialAccess = 6,
    /// Writes kept being refused with 429s after their `Retry-After`, until the retries ran
    /// out: the account is throttled.
    Throttled = 7,
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
            5 => StopReason::Quota,
            6 => StopReason::TrialAccess,
            7 => StopReason::Throttled,
            _ => StopReason::None,
        }
    }

    fn stopped(&self) -> bool {
        self.reason() != StopReason::None
    }

    fn abandoned(&self) -> bool {
        self.abandon.load(Ordering::SeqCst)
    }

    /// Waits until `condition` holds, woken by every stop and abandon.
    async fn wait_until(&self, condition: impl Fn(&Self) -> bool) {
        loop {
            let notified = self.notify.notified();
            if condition(self) {
                return;
            }
            notified.await;
        }
    }

    /// Sleeps for `duration` unless the run stops first; returns whether it slept it out with
    /// the run still going.
    async fn sleep(&self, duration: Duration) -> bool {
        if self.stopped() {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => !self.stopped(),
            () = self.wait_until(Self::stopped) => false,
        }
    }
}

/// Knobs of the executor.
#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// At most this many requests in flight.
    pub concurrency: usize,
    /// Retry policy for creates whose outcome was unknown and not found on the board.
    pub retry: RetryPolicy,
    /// How long after a create's outcome became unknown its board listing is read: listings
    /// lag writes, and a pin read for too early would be created twice.
    pub settle: Duration,
    /// What the plan does with changed media, for pins adopted after an unknown outcome.
    pub plan: PlanOptions,
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

/// Everything a pin task needs, shared.
struct Context {
    client: ApiClient,
    /// Request slots: at most N requests in flight, however many tasks are running.
    slots: tokio::sync::Semaphore,
    /// Places for busy tasks: twice as many as request slots, so that a task can make its
    /// write-ahead record durable while the slots are busy and the slots never wait for the disk.
    /// A task that only waits (for a listing to settle, for a video to be processed) gives its
    /// place up meanwhile, so waiting pins never keep other pins from starting.
    busy: tokio::sync::Semaphore,
    /// One image is base64-encoded at a time (see [`media`]).
    encoder: tokio::sync::Semaphore,
    writer: StateWriter,
    boards: ResolvedBoards,
    retry: RetryPolicy,
    settle: Duration,
    plan_options: PlanOptions,
    /// When this run began (ms since the epoch).
    run_started_ms: i64,
    stop: Arc<StopSignal>,
    reporter: Arc<dyn Reporter>,
    /// Which key each known pin id belongs to: a pin is never recorded for two keys.
    claimed: Mutex<HashMap<String, String>>,
    stop_error: Mutex<Option<String>>,
    sandbox: bool,
    /// Link domains held for the rest of the run: Pinterest refused one of their links.
    held: pushback::HeldDomains,
}

impl Context {
    /// Waits for a request slot, held while one request is in flight. Fails once the run is
    /// stopped: no request starts after a stop, even one that waited for its slot before.
    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, TaskError> {
        let permit = self.slots.acquire().await.map_err(|_| TaskError::Stopped)?;
        if self.stop.stopped() {
            return Err(TaskError::Stopped);
        }
        Ok(permit)
    }

    /// Like [`Context::slot`], for a request that sends `spec`'s link: fails too once a link
    /// of the same domain was refused in this run.
    async fn slot_for(
        &self,
        spec: &PinSpec,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, TaskError> {
        let permit = self.slot().await?;
        match self.held.holding(spec.link.as_deref()) {
            Some(reason) => Err(TaskError::Held(reason)),
            None => Ok(permit),
        }
    }

    /// Waits for `duration` without a place among the busy tasks (see [`Context::busy`]), then
    /// takes one again. Returns false when the run stopped meanwhile.
    async fn rest(&self, duration: Duration) -> bool {
        self.busy.add_permits(1);
        let rested = self.stop.sleep(duration).await;
        // The semaphore is never closed; without a place the task would only run unbounded.
        if let Ok(place) = self.busy.acquire().await {
            place.forget();
        }
        rested
    }

    /// Records that `pin_id` belongs to `key`; false when it already belongs to another key.
    fn claim(&self, pin_id: &str, key: &str) -> bool {
        self.claim_or_owner(pin_id, key).is_none()
    }

    /// Records that `pin_id` belongs to `key`, or names the other key it belongs to.
    fn claim_or_owner(&self, pin_id: &str, key: &str) -> Option<String> {
        let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        let owner = claimed
            .entry(pin_id.to_owned())
            .or_insert_with(|| key.to_owned());
        (owner != key).then(|| owner.clone())
    }
}

/// A context for unit tests of one task's parts: a client of an address never contacted, one
/// request slot, and a writer for `state`.
#[cfg(test)]
fn test_context(state: StateFile) -> (Context, writer::WriterThread) {
    let environment =
        crate::api::Environment::resolve(false, Some("http://127.0.0.1:9")).expect("loopback");
    let client = ApiClient::new(crate::api::ClientConfig::new(environment)).expect("client");
    let (writer, thread) = StateWriter::spawn(state);
    let context = Context {
        client,
        slots: tokio::sync::Semaphore::new(1),
        busy: tokio::sync::Semaphore::new(2),
        encoder: tokio::sync::Semaphore::new(1),
        writer,
        boards: ResolvedBoards::default(),
        retry: RetryPolicy::default(),
        settle: Duration::ZERO,
        plan_options: PlanOptions::default(),
        run_started_ms: now_ms(),
        stop: Arc::new(StopSignal::default()),
        reporter: Arc::new(crate::apply::progress::NoopReporter),
        claimed: Mutex::new(HashMap::new()),
        stop_error: Mutex::new(None),
        sandbox: false,
        held: pushback::HeldDomains::default(),
    };
    (context, thread)
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
    let claimed: HashMap<String, String> = state
        .snapshot()
        .pins
        .iter()
        .filter_map(|(key, pin)| Some((pin.pin_id.clone()?, key.clone())))
        .collect();
    let attempts_before: HashMap<String, u32> = state
        .snapshot()
        .pins
        .iter()
        .map(|(key, pin)| (key.clone(), pin.attempts))
        .collect();
    let (writer, writer_thread) = StateWriter::spawn(state);
    // Once the run stops, requests still waiting for their turn (a long wait under the rate
    // gate, a retry's backoff) end at once, not sent: Ctrl-C takes effect within moments.
    let stop_waiting = {
        let (client, stop) = (client.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            stop.wait_until(StopSignal::stopped).await;
            client.stop_waiting();
        })
    };
    let concurrency = options.concurrency.max(1);
    let context = Arc::new(Context {
        client,
        slots: tokio::sync::Semaphore::new(concurrency),
        busy: tokio::sync::Semaphore::new(concurrency * 2),
        encoder: tokio::sync::Semaphore::new(1),
        writer,
        boards,
        retry: options.retry,
        settle: options.settle,
        plan_options: options.plan,
        run_started_ms: now_ms(),
        stop: Arc::clone(&stop),
        reporter: Arc::clone(&reporter),
        claimed: Mutex::new(claimed),
        stop_error: Mutex::new(None),
        sandbox,
        held: pushback::HeldDomains::default(),
    });

    let mut tally = Tally {
        results: Vec::with_capacity(plan.pins.len() + plan.orphans.len()),
        summary: Summary::default(),
        reporter: Arc::clone(&reporter),
    };
    reporter.on_start(plan.pins.len() + plan.orphans.len());
    let api_pins = report_pins_without_calls(manifest, plan, &attempts_before, &mut tally);
    let mut work = tasks(&context, api_pins);
    for orphan in plan.orphans.iter().filter(|orphan| orphan.delete) {
        work.push(Task::Orphan(&orphan.key, &orphan.pin_id));
    }
    for orphan in plan.orphans.iter().filter(|orphan| !orphan.delete) {
        reporter.on_message(&format!(
            "pin `{}` ({}) is no longer in the manifest; --prune deletes it",
            orphan.key, orphan.pin_id
        ));
    }
    for orphan in &plan.unknown_orphans {
        reporter.on_message(&orphan.message());
    }
    let pending: Vec<(String, String)> = work.iter().flat_map(Task::identities).collect();
    let finished = run_tasks(&context, work, &mut tally).await;
    // What a stop left undispatched is reported as skipped.
    for (key, location) in pending {
        if !finished.contains(&key) {
            tally.record(PinResult {
                attempts: attempts_before.get(&key).copied().unwrap_or(0),
                key,
                location,
                status: PinOutcome::Skipped,
                pin_id: None,
                pin_url: None,
                error: None,
                converted: None,
            });
        }
    }
    let Tally {
        results,
        mut summary,
        ..
    } = tally;
    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    reporter.on_finish(&summary);
    stop_waiting.abort();
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

/// The results of a run so far, each counted and reported as it is recorded.
struct Tally {
    results: Vec<PinResult>,
    summary: Summary,
    reporter: Arc<dyn Reporter>,
}

impl Tally {
    fn record(&mut self, result: PinResult) {
        self.summary.count(result.status);
        self.reporter.on_pin(&result);
        self.results.push(result);
    }
}

/// Reports at once the pins that need no API call (unchanged, scheduled, needing `--replace`)
/// and returns the others, in plan order.
fn report_pins_without_calls<'a>(
    manifest: &'a Manifest,
    plan: &'a Plan,
    attempts_before: &HashMap<String, u32>,
    tally: &mut Tally,
) -> Vec<(&'a PlannedPin, &'a PinSpec)> {
    let mut api_pins = Vec::new();
    for planned in &plan.pins {
        let spec = &manifest.pins[planned.index];
        let (outcome, pin_id) = match &planned.action {
            Action::Unchanged { pin_id } => (PinOutcome::Unchanged, Some(pin_id.clone())),
            Action::NeedsReplace { pin_id } => (PinOutcome::NeedsReplace, Some(pin_id.clone())),
            Action::Scheduled { .. } => (PinOutcome::Scheduled, None),
            Action::Blocked { .. } => (PinOutcome::Blocked, None),
            Action::Held { .. } => (PinOutcome::Held, None),
            Action::Create { .. } | Action::Update { .. } | Action::Replace { .. } => {
                api_pins.push((planned, spec));
                continue;
            }
        };
        let error = matches!(
            planned.action,
            Action::NeedsReplace { .. } | Action::Blocked { .. } | Action::Held { .. }
        )
        .then(|| planned.action.reason());
        tally.record(PinResult {
            key: spec.key.clone(),
            location: spec.location.to_string(),
            status: outcome,
            pin_url: pin_id.as_deref().map(pin_url),
            pin_id,
            attempts: attempts_before.get(&spec.key).copied().unwrap_or(0),
            error,
            converted: None,
        });
    }
    api_pins
}

/// Runs the tasks, at most twice the concurrency of them dispatched at once (each waits for a
/// request slot inside), until all are done or a stop ends dispatching; an abandoning stop
/// leaves the running ones. Returns the keys whose results came back.
async fn run_tasks(context: &Context, work: Vec<Task<'_>>, tally: &mut Tally) -> HashSet<String> {
    let mut finished = HashSet::new();
    let mut work = work.into_iter().peekable();
    let mut running = futures::stream::FuturesUnordered::<
        std::pin::Pin<Box<dyn std::future::Future<Output = Vec<PinResult>> + Send + '_>>,
    >::new();
    loop {
        let dispatch = work.peek().is_some() && !context.stop.stopped();
        if !dispatch && running.is_empty() {
            break;
        }
        tokio::select! {
            () = context.stop.wait_until(StopSignal::abandoned) => break,
            Some(task_results) = running.next(), if !running.is_empty() => {
                context.busy.add_permits(1);
                for result in task_results {
                    finished.insert(result.key.clone());
                    tally.record(result);
                }
            }
            Ok(place) = context.busy.acquire(), if dispatch => {
                place.forget();
                if let Some(task) = work.next() {
                    running.push(Box::pin(task.run(context)));
                }
            }
        }
    }
    finished
}

/// Splits the pins that need the API into tasks: one per pin, except pins that a listing could
/// not tell apart, which share one task that creates them one after another (those with an
/// earlier attempt to resolve first).
fn tasks<'a>(context: &Context, pins: Vec<(&'a PlannedPin, &'a PinSpec)>) -> Vec<Task<'a>> {
    let identities: Vec<Vec<String>> = pins
        .iter()
        .map(|(planned, spec)| {
            let mut keys = Vec::new();
            if matches!(
                planned.action,
                Action::Create { .. } | Action::Replace { .. }
            ) {
                let board = context
                    .boards
                    .board_id(&spec.board)
                    .map_or_else(|| spec.board.to_string(), str::to_owned);
                keys.push(crate::manifest::twins::on_board(
                    &board,
                    &planned.fingerprint.identity,
                ));
            }
            if let Action::Create { reconcile } = &planned.action {
                for earlier in reconcile {
                    if !earlier.fingerprint.identity.is_empty() {
                        keys.push(crate::manifest::twins::on_board(
                            &earlier.board_id,
                            &earlier.fingerprint.identity,
                        ));
                    }
                }
            }
            keys
        })
        .collect();
    let groups = crate::manifest::twins::groups(&identities);
    let mut grouped = vec![None; pins.len()];
    for (number, group) in groups.iter().enumerate() {
        for &item in group {
            grouped[item] = Some(number);
        }
    }
    let mut work = Vec::new();
    for (item, pin) in pins.iter().enumerate() {
        match grouped[item] {
            None => work.push(Task::Pins(vec![*pin])),
            // The group's task goes where its first pin is.
            Some(number) if groups[number][0] == item => {
                let mut members: Vec<(&PlannedPin, &PinSpec)> =
                    groups[number].iter().map(|&i| pins[i]).collect();
                members.sort_by_key(|(planned, _)| {
                    !matches!(&planned.action, Action::Create { reconcile } if !reconcile.is_empty())
                });
                work.push(Task::Pins(members));
            }
            Some(_) => {}
        }
    }
    work
}

/// One unit of work.
enum Task<'a> {
    /// Pins created, updated or replaced one after another (most often just one).
    Pins(Vec<(&'a PlannedPin, &'a PinSpec)>),
    /// An orphan deleted by `--prune`.
    Orphan(&'a str, &'a str),
}

impl Task<'_> {
    /// The key and manifest location of each pin the task reports on.
    fn identities(&self) -> Vec<(String, String)> {
        match self {
            Task::Pins(pins) => pins
                .iter()
                .map(|(_, spec)| (spec.key.clone(), spec.location.to_string()))
                .collect(),
            Task::Orphan(key, _) => vec![((*key).to_owned(), String::new())],
        }
    }

    async fn run(self, context: &Context) -> Vec<PinResult> {
        match self {
            Task::Pins(pins) => {
                let mut results = Vec::with_capacity(pins.len());
                // A pin left with an unknown outcome holds back the others of its group: two
                // unknown creates of look-alike pins could not be told apart.
                let mut unresolved: Option<String> = None;
                for (planned, spec) in pins {
                    let outcome = match &unresolved {
                        Some(twin) => Err(TaskError::Blocked(format!(
                            "not sent: pin `{twin}` looks the same on the board (title, description, link and media) and its outcome is unknown; the next run resolves it first"
                        ))),
                        None => run_pin(context, planned, spec).await,
                    };
                    let mut result = finish(context, &spec.key, spec.location.to_string(), outcome);
                    if result.status.sent_media() {
                        result.converted = spec.conversions();
                    }
                    if result.status == PinOutcome::Unknown {
                        unresolved = Some(spec.key.clone());
                    }
                    results.push(result);
                }
                results
            }
            Task::Orphan(key, pin_id) => {
                let outcome = match context.stop.stopped() {
                    true => Err(TaskError::Stopped),
                    false => match create::delete_orphan(context, key, pin_id).await {
                        Ok(done) => Ok(done),
                        Err(err) => fail(context, key, None, err).await,
                    },
                };
                vec![finish(context, key, String::new(), outcome)]
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
    /// Pinterest answered with a pin id the state holds for another key (recorded as failed).
    Conflict(String),
    /// The state could not be written: the run stops.
    State(StateError),
    /// A create was sent and whether it made the pin is unknown. Recorded as unknown: the attempt
    /// stays in flight, and the next run looks for the pin before anything else for this key.
    Unknown {
        /// What happened, for the user.
        message: String,
        /// Whether the token was rejected on the way (the run stops).
        auth: bool,
    },
    /// Not sent, because a look-alike pin's outcome is unknown.
    Blocked(String),
    /// Pinterest refused the pin's link as spam (recorded as blocked).
    Refused(String),
    /// Not sent: a link of the same domain was refused in this run.
    Held(String),
    /// The run was stopped before the task did anything.
    Stopped,
}

fn finish(context: &Context, key: &str, location: String, outcome: TaskOutcome) -> PinResult {
    let (status, pin_id, error) = match outcome {
        Ok((status, pin_id)) => (status, pin_id, None),
        Err(TaskError::Stopped) => (PinOutcome::Skipped, None, None),
        Err(TaskError::Blocked(reason)) => (PinOutcome::Skipped, None, Some(reason)),
        Err(TaskError::Refused(message)) => (PinOutcome::Blocked, None, Some(message)),
        Err(TaskError::Held(reason)) => (PinOutcome::Held, None, Some(reason)),
        Err(err @ TaskError::Unknown { .. }) => (PinOutcome::Unknown, None, Some(describe(&err))),
        Err(err) => (PinOutcome::Failed, None, Some(describe(&err))),
    };
    PinResult {
        key: key.to_owned(),
        location,
        status,
        pin_url: pin_id.as_deref().map(pin_url),
        pin_id,
        attempts: context.writer.attempts(key),
        error,
        converted: None,
    }
}

fn describe(err: &TaskError) -> String {
    match err {
        TaskError::Api(err) => match err.hint() {
            Some(hint) => format!("{err} (hint: {hint})"),
            None => err.to_string(),
        },
        TaskError::Media(message)
        | TaskError::Conflict(message)
        | TaskError::Blocked(message)
        | TaskError::Refused(message)
        | TaskError::Held(message)
        | TaskError::Unknown { message, .. } => message.clone(),
        TaskError::State(err) => err.to_string(),
        TaskError::Stopped => "stopped".to_owned(),
    }
}

async fn run_pin(context: &Context, planned: &PlannedPin, spec: &PinSpec) -> TaskOutcome {
    if context.stop.stopped() {
        return Err(TaskError::Stopped);
    }
    let sends_link = matches!(
        planned.action,
        Action::Create { .. } | Action::Update { .. } | Action::Replace { .. }
    );
    if sends_link && let Some(reason) = context.held.holding(spec.link.as_deref()) {
        return Err(TaskError::Held(reason));
    }
    let result = match resolve_target(context, planned, spec) {
        Err(err) => Err(err),
        Ok(target) => match &planned.action {
            Action::Create { reconcile } => create::create(context, spec, &target, reconcile).await,
            Action::Update { pin_id, .. } => create::update(context, spec, &target, pin_id).await,
            Action::Replace { pin_id } => create::replace(context, spec, &target, pin_id).await,
            Action::Unchanged { .. }
            | Action::Scheduled { .. }
            | Action::NeedsReplace { .. }
            | Action::Blocked { .. }
            | Action::Held { .. } => Err(TaskError::Stopped),
        },
    };
    match result {
        Ok(done) => Ok(done),
        // A create that found its domain held once it had a request slot took its attempt
        // back: say why it was not sent.
        Err(TaskError::Stopped) if !context.stop.stopped() && sends_link => {
            match context.held.holding(spec.link.as_deref()) {
                Some(reason) => Err(TaskError::Held(reason)),
                None => Err(TaskError::Stopped),
            }
        }
        Err(err) => fail(context, &spec.key, spec.link.as_deref(), err).await,
    }
}

/// The resolved board and section of a pin, or why it cannot be sent.
fn resolve_target(
    context: &Context,
    planned: &PlannedPin,
    spec: &PinSpec,
) -> Result<Target, TaskError> {
    if context.sandbox
        && let Some(message) = sandbox_refusal(spec, &planned.action)
    {
        return Err(TaskError::Media(message));
    }
    let Some(board_id) = context.boards.board_id(&spec.board).map(str::to_owned) else {
        return Err(TaskError::Media(format!(
            "board `{}` was not resolved",
            spec.board
        )));
    };
    let section_id = match &spec.section {
        Some(section) => match context.boards.section_id(&board_id, section) {
            Some(id) => Some(id.to_owned()),
            None => {
                return Err(TaskError::Media(format!(
                    "section `{section}` was not resolved"
                )));
            }
        },
        None => None,
    };
    Ok(Target {
        board_id,
        section_id,
        fingerprint: planned.fingerprint.clone(),
    })
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

/// Records how a task ended without success (failed for sure, refused, or unknown) and stops
/// the run for auth, a blocked account, Trial access and state errors. `link` is the link the
/// task sent, if any.
async fn fail(context: &Context, key: &str, link: Option<&str>, err: TaskError) -> TaskOutcome {
    if let TaskError::Api(api) = &err
        && let Some(pushback) = pushback::classify(api, link, std::time::SystemTime::now())
    {
        return push_back(context, key, link, pushback, err).await;
    }
    match &err {
        TaskError::Api(api) if api.is_stopped() => {
            // Still waiting for its turn when the run stopped: never sent. An attempt announced
            // for it is taken back; earlier ones of unknown outcome stay so.
            if let Err(state_err) = context
                .writer
                .record(vec![Record::Unsent {
                    key: key.to_owned(),
                    ends: context.writer.open_attempt(key),
                }])
                .await
            {
                stop_for(context, StopReason::State, &TaskError::State(state_err));
            }
            return Err(TaskError::Stopped);
        }
        TaskError::Api(api) if api.is_auth() => stop_for(context, StopReason::Auth, &err),
        TaskError::Unknown { auth: true, .. } => stop_for(context, StopReason::Auth, &err),
        TaskError::Api(api) if api.quota().is_some() => {
            // Refused, so nothing happened: the announced attempt is taken back, and the pin is
            // sent by the run after the quota comes back.
            stop_for(context, StopReason::Quota, &err);
            if let Err(state_err) = context
                .writer
                .record(vec![Record::Unsent {
                    key: key.to_owned(),
                    ends: context.writer.open_attempt(key),
                }])
                .await
            {
                stop_for(context, StopReason::State, &TaskError::State(state_err));
            }
            return Err(TaskError::Blocked(describe(&err)));
        }
        TaskError::Api(api) if api.is_trial_access() => {
            stop_for(context, StopReason::TrialAccess, &err);
        }
        TaskError::State(_) => {
            stop_for(context, StopReason::State, &err);
            return Err(err);
        }
        TaskError::Stopped | TaskError::Blocked(_) | TaskError::Refused(_) | TaskError::Held(_) => {
            return Err(err);
        }
        _ => {}
    }
    let record = match &err {
        TaskError::Unknown { message, .. } => Record::Unknown {
            key: key.to_owned(),
            error: message.clone(),
            at_ms: now_ms(),
        },
        _ => Record::Failed {
            key: key.to_owned(),
            error: describe(&err),
            at_ms: now_ms(),
            ends: context.writer.open_attempt(key),
        },
    };
    if let Err(state_err) = context.writer.record(vec![record]).await {
        stop_for(context, StopReason::State, &TaskError::State(state_err));
    }
    Err(err)
}

/// Records a refusal by Pinterest: a blocked link (the pin, and its domain held for the run),
/// or a blocked account (the attempt taken back, the hold recorded, the run stopped).
async fn push_back(
    context: &Context,
    key: &str,
    link: Option<&str>,
    pushback: pushback::Pushback,
    err: TaskError,
) -> TaskOutcome {
    let (records, outcome) = match pushback {
        pushback::Pushback::Link { domain, message } => {
            if let (Some(domain), Some(link)) = (domain, link) {
                context.held.hold(domain, link);
            }
            let record = Record::Blocked {
                key: key.to_owned(),
                link: link.map(str::to_owned),
                error: message.clone(),
                at_ms: now_ms(),
            };
            (vec![record], TaskError::Refused(message))
        }
        pushback::Pushback::Account {
            reason,
            until_ms,
            message,
        } => {
            stop_for(context, reason, &err);
            let records = vec![
                // Refused for sure: that create made nothing.
                Record::Unsent {
                    key: key.to_owned(),
                    ends: Ends::Latest,
                },
                Record::Hold {
                    until_ms,
                    reason: message,
                    at_ms: now_ms(),
                },
            ];
            (records, TaskError::Blocked(describe(&err)))
        }
    };
    if let Err(state_err) = context.writer.record(records).await {
        stop_for(context, StopReason::State, &TaskError::State(state_err));
    }
    Err(outcome)
}

fn stop_for(context: &Context, reason: StopReason, err: &TaskError) {
    context.stop.stop(reason);
    if let Ok(mut slot) = context.stop_error.lock()
        && slot.is_none()
    {
        *slot = Some(describe(err));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pin_id_belongs_to_one_key_and_no_slot_is_handed_out_after_a_stop() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateFile::open(&dir.path().join("s.state"), "o").unwrap();
        let (context, thread) = test_context(state);
        assert!(context.claim("11", "a"));
        assert!(context.claim("11", "a"), "the same key may claim it again");
        assert!(!context.claim("11", "b"));
        assert!(context.slot().await.is_ok());
        context.stop.stop(StopReason::Interrupted);
        assert!(matches!(context.slot().await, Err(TaskError::Stopped)));
        assert!(
            !context.rest(Duration::from_secs(60)).await,
            "a rest ends at a stop"
        );
        drop(context);
        thread.finish();
    }

    /// Runs `apply` of a video pin and an image pin against a local emulator, as if it were the
    /// sandbox: the video fails up front with no media call, the image pin is created.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sandbox_refuses_video_pins_before_any_media_call() {
        use crate::api::{ClientConfig, Credentials, Environment};
        use pinbatch_emulator::{Emulator, EmulatorConfig};

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("clip.mp4"),
            crate::manifest::video::sample_mp4(30, 1080, 1920, b"avc1"),
        )
        .unwrap();
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
            access_token: crate::secret::SecretString::new(token),
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
        let boards = crate::plan::resolve::survey(&client, &manifest, &needed, false)
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
                settle: Duration::from_millis(100),
                plan: PlanOptions::default(),
            },
            reporter: Arc::new(crate::apply::progress::NoopReporter),
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
}
