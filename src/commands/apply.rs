//! `pinbatch apply`: validate, lock the state, resolve boards, execute the plan, report. With
//! `--follow`, the plan is made again after each turn and the run sleeps until the next pin is
//! due, until every pin is published (or `--until`), holding the state's lock throughout.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::Context as _;

use crate::api::ledger::Ledger;
use crate::api::{ApiClient, Environment};
use crate::apply::follow::{self, FollowReporter, Wake};
use crate::apply::progress::{PinOutcome, PinResult, Reporter, Summary};
use crate::apply::{ExecuteOptions, Execution, Executor, StopReason, StopSignal, execute};
use crate::cli::{ApplyArgs, GlobalArgs, OutputFormat};
use crate::commands::common::{self, Loaded, load_manifest};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::commands::import;
use crate::commands::settings::{
    ClientOptions, GlobalSettings, api_failure, local_instant, schedule_policy,
};
use crate::manifest::{BoardRef, Manifest, SchedulePolicy};
use crate::plan::resolve;
use crate::plan::{self, Plan, PlanOptions};
use crate::state::{self, StateFile};
use crate::ui::reporter::{self, summary_text};
use pinbatch_emulator::{Emulator, EmulatorConfig};

/// What a run works on: the manifest (read again between the turns of `--follow` when the file
/// changed), its schedule policy, and when `--follow` stops at the latest.
struct Run {
    loaded: Loaded,
    policy: Option<SchedulePolicy>,
    until: Option<jiff::Timestamp>,
    /// When the manifest file was last modified, as read.
    modified: Option<SystemTime>,
    /// When the run started (ms since the epoch).
    started_ms: i64,
}

impl Run {
    fn plan(&self, state: &StateFile, args: &ApplyArgs) -> Plan {
        plan::plan_with(
            &self.loaded.manifest,
            Some(state.snapshot()),
            jiff::Timestamp::now(),
            plan_options(args, self.started_ms),
            self.loaded.timing(self.policy.as_ref()),
        )
    }
}

/// Whether this runs in CI: `CI` set to anything but empty, `0` or `false` (GitHub Actions,
/// GitLab and most others set `CI=true`).
fn running_in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.trim(), "" | "0" | "false" | "FALSE"))
}

/// Under CI, media outside the manifest's folder is refused unless `--allow-outside`: a
/// manifest from a pull request must not publish whatever the runner can read. The message,
/// when refused.
fn outside_refusal(
    manifest: &crate::manifest::Manifest,
    allowed: bool,
    in_ci: bool,
) -> Option<String> {
    if allowed || !in_ci {
        return None;
    }
    let base_dir = crate::manifest::base_dir_of(&manifest.path);
    let outside = crate::manifest::outside::outside_files(manifest, &base_dir);
    if outside.is_empty() {
        return None;
    }
    let listed: Vec<String> = outside
        .iter()
        .map(|file| {
            format!(
                "  {} ({}): {}",
                file.reference,
                file.key,
                file.resolved.display()
            )
        })
        .collect();
    Some(format!(
        "error: {} media file(s) resolve outside the manifest's folder {}, and CI is set; nothing was sent:\n{}\n  hint: move them into the folder, or pass --allow-outside if this manifest is trusted",
        outside.len(),
        base_dir.display(),
        listed.join("\n")
    ))
}

/// `--resolve-links`: follows every destination link and sends where it leads. False (the
/// problems printed) when a link leads nowhere: nothing is sent then.
async fn resolve_links(
    loaded: &mut common::Loaded,
    args: &ApplyArgs,
    global: &GlobalArgs,
) -> anyhow::Result<bool> {
    use crate::linkcheck::{LinkCheckOptions, destinations};
    let options = LinkCheckOptions {
        timeout: args.link_timeout,
        ..LinkCheckOptions::default()
    };
    let found = destinations::follow_all(&loaded.manifest, options).await?;
    let problems = destinations::diagnostics(&loaded.manifest, &found, true);
    common::print_link_problems(&problems, global)?;
    if problems.iter().any(crate::manifest::Diagnostic::is_error) {
        eprintln!(
            "{}: a destination link leads nowhere; nothing was sent",
            args.manifest.display()
        );
        return Ok(false);
    }
    destinations::resolve(&mut loaded.manifest, &found);
    Ok(true)
}

/// Runs `apply`.
pub async fn run(global: &GlobalArgs, args: &ApplyArgs) -> anyhow::Result<ExitStatus> {
    let modified = modified(&args.manifest);
    let Some(mut loaded) = load_manifest(&args.manifest, &args.input, global)? else {
        return Ok(ExitStatus::Failure);
    };
    if !common::check_share_links(&mut loaded, args.fix_share_links, global)? {
        eprintln!(
            "{}: share links are not images; nothing was sent",
            args.manifest.display()
        );
        return Ok(ExitStatus::Failure);
    }
    if args.resolve_links && !resolve_links(&mut loaded, args, global).await? {
        return Ok(ExitStatus::Failure);
    }
    if let Some(refusal) = outside_refusal(&loaded.manifest, args.allow_outside, running_in_ci()) {
        eprintln!("{refusal}");
        return Ok(ExitStatus::Failure);
    }
    let policy = schedule_policy(
        &args.schedule,
        loaded.manifest.schedule.as_ref(),
        &loaded.zone,
    )?;
    let until = args
        .until
        .as_deref()
        .map(|text| local_instant("--until", text, &loaded.zone))
        .transpose()?;
    let run = Run {
        loaded,
        policy,
        until,
        modified,
        started_ms: crate::epoch::now_ms(),
    };
    if args.emulator {
        return rehearse(global, args, run).await;
    }
    let settings = GlobalSettings::resolve(global)?;
    let options = ClientOptions::from_args(&args.network);
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_state_path(&args.manifest));
    if args.dry_run {
        return common::print_plan(
            &run.loaded,
            &state_path,
            settings.environment.origin(),
            plan_options(args, run.started_ms),
            run.policy.as_ref(),
            args.format,
            global.quiet,
        );
    }
    let account = Account {
        environment: &settings.environment,
        budget_dir: settings.config_dir.as_deref(),
    };
    apply(global, args, run, &state_path, account, || {
        settings.api_client(options)
    })
    .await
}

/// The planner's options; `--retry-blocked` retries the refusals recorded before the run
/// started (`started_ms`), not those of the run itself.
fn plan_options(args: &ApplyArgs, started_ms: i64) -> PlanOptions {
    PlanOptions {
        replace: args.replace,
        prune: args.prune,
        retry_blocked_before: args.retry_blocked.then_some(started_ms),
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// `apply --emulator`: a fresh in-process emulator, a throwaway token and a temporary state.
async fn rehearse(
    global: &GlobalArgs,
    args: &ApplyArgs,
    mut run: Run,
) -> anyhow::Result<ExitStatus> {
    // The emulator starts empty: pin ids of a report name nothing there, so every pin is made.
    for spec in &mut run.loaded.manifest.pins {
        spec.pin_id = None;
    }
    let config = EmulatorConfig::default();
    let token = config.access_token.clone();
    let emulator = Emulator::start(config)
        .await
        .context("Cannot start the local emulator")?;
    let environment = Environment::resolve(false, Some(&emulator.base_url()))
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let temp = tempfile::tempdir().context("Cannot create a temporary folder for the state")?;
    let state_path = temp.path().join("rehearsal.state");
    if !global.quiet && args.format == OutputFormat::Human {
        eprintln!(
            "Rehearsal against a local Pinterest emulator at {} (nothing is sent to Pinterest; boards are created as needed)",
            emulator.base_url()
        );
    }
    let mut settings_args = global.clone();
    settings_args.api_base = Some(emulator.base_url());
    settings_args.sandbox = false;
    settings_args.token_file = None;
    let settings = GlobalSettings::resolve(&settings_args)?;
    let options = ClientOptions::from_args(&args.network);
    let rehearsal_args = ApplyArgs {
        create_boards: true,
        ..args.clone()
    };
    let account = Account {
        environment: &environment,
        budget_dir: None,
    };
    let status = apply(global, &rehearsal_args, run, &state_path, account, || {
        settings.client_with_token(crate::secret::SecretString::new(token.clone()), options)
    })
    .await;
    let snapshot = emulator.snapshot();
    if !global.quiet && args.format == OutputFormat::Human {
        eprintln!(
            "The emulator now holds {} pin(s) on {} board(s).",
            snapshot.pins.len(),
            snapshot.boards.len()
        );
    }
    emulator.shutdown().await;
    status
}

/// Where a run's writes go and are accounted: the environment (its state records the account)
/// and, with a config directory, the write budget shared with every other pinbatch process.
#[derive(Clone, Copy)]
struct Account<'a> {
    environment: &'a Environment,
    budget_dir: Option<&'a Path>,
}

/// The boards a run has resolved so far, and whether the account was checked.
#[derive(Default)]
struct Boards {
    resolved: resolve::ResolvedBoards,
    known: BTreeSet<(BoardRef, Option<String>)>,
    account_checked: bool,
}

/// Runs `apply` (one turn, or with `--follow` as many as the schedule takes).
async fn apply(
    global: &GlobalArgs,
    args: &ApplyArgs,
    mut run: Run,
    state_path: &Path,
    account: Account<'_>,
    client: impl FnOnce() -> anyhow::Result<ApiClient>,
) -> anyhow::Result<ExitStatus> {
    // Credentials first: a missing or rejected token must not leave a new state file behind.
    let client = client()?;
    // So must a pin id that cannot be recorded: they are read before the state is opened.
    let named = read_named_rows(
        global,
        &client,
        &run.loaded.manifest,
        state_path,
        account.environment,
    )
    .await?;
    let mut state =
        StateFile::open(state_path, account.environment.origin()).map_err(common::state_failure)?;
    refuse_while_held(&state, &run, args.force)?;
    let shown: Arc<dyn Reporter> = make_reporter(global, args.format, args.follow);
    let reporter: Arc<dyn Reporter> = if args.follow {
        Arc::new(FollowReporter::new(Arc::clone(&shown)))
    } else {
        Arc::clone(&shown)
    };
    if let Some(named) = named {
        record_named_rows(&mut state, &run.loaded.manifest, named, &reporter)?;
    }
    let stop = Arc::new(StopSignal::default());
    let interrupt = tokio::spawn(watch_interrupts(Arc::clone(&stop), Arc::clone(&reporter)));
    let started = Instant::now();
    let mut boards = Boards::default();
    let mut turns: Vec<Execution> = Vec::new();
    let mut given_up: HashSet<String> = HashSet::new();
    let stopped_at_until = loop {
        let plan = run.plan(&state, args);
        if turns.is_empty() || plan.needs_api() {
            let execution = turn(
                &client,
                &run,
                &plan,
                state,
                &mut boards,
                args,
                &stop,
                &reporter,
                account,
            )
            .await?;
            let (execution, returned) = execution;
            state = returned;
            // A pin that failed is left for the next run, not retried by this one at once.
            given_up.extend(
                execution
                    .results
                    .iter()
                    .filter(|r| matches!(r.status, PinOutcome::Failed | PinOutcome::Unknown))
                    .map(|r| r.key.clone()),
            );
            let stopped = execution.stop != StopReason::None;
            turns.push(execution);
            if !args.follow || stopped {
                break false;
            }
            run.loaded
                .manifest
                .pins
                .retain(|pin| !given_up.contains(&pin.key));
            continue;
        }
        let Some((due, key)) = follow::next_due(&plan) else {
            break false;
        };
        let due_text = run.loaded.zone.human(due);
        reporter.on_wait(
            key,
            crate::epoch::from_millis(due.as_millisecond()),
            &due_text,
        );
        match follow::wait_until(&stop, due, run.until).await {
            Wake::Due => reload(args, global, &mut run, &given_up, &reporter)?,
            Wake::Until => break true,
            Wake::Stopped => break false,
        }
    };
    interrupt.abort();
    let final_plan = run.plan(&state, args);
    drop(state);
    let ending = Ending {
        stop: stop.reason(),
        stopped_at_until,
        started,
    };
    finish(
        global,
        args,
        &run,
        account,
        turns,
        &final_plan,
        ending,
        &shown,
    )
}

/// The pins a manifest names by id (a report's `pin_id`) that the state does not record, read
/// from the account with the import path; `None` when there are none. A pin id that cannot be
/// recorded ends the run, with every such id located, before anything is written.
async fn read_named_rows(
    global: &GlobalArgs,
    client: &ApiClient,
    manifest: &Manifest,
    state_path: &Path,
    environment: &Environment,
) -> anyhow::Result<Option<NamedRows>> {
    let snapshot = common::load_state_for(state_path, environment.origin())?;
    import::print_warnings(
        &import::conflicting_pin_ids(manifest, snapshot.as_ref()),
        global,
    );
    let rows = import::rows_to_adopt(manifest, snapshot.as_ref());
    if rows.is_empty() {
        return Ok(None);
    }
    let user = client.user_account().await.map_err(api_failure)?;
    let adoption =
        import::adopt_named_rows(client, manifest, &rows, snapshot.as_ref(), &user.username)
            .await?;
    if !adoption.problems.is_empty() {
        return Err(import::named_row_failure(&adoption.problems, global));
    }
    Ok(Some(NamedRows { adoption, user }))
}

/// What [`read_named_rows`] found, and whose token read it.
struct NamedRows {
    adoption: import::RowAdoption,
    user: crate::api::types::Account,
}

/// Records the pins read by [`read_named_rows`] in the locked state (tied to the account), those
/// of keys the state still records nothing for.
fn record_named_rows(
    state: &mut StateFile,
    manifest: &Manifest,
    named: NamedRows,
    reporter: &Arc<dyn Reporter>,
) -> anyhow::Result<()> {
    let account_id = named
        .user
        .id
        .clone()
        .unwrap_or_else(|| named.user.username.clone());
    state
        .check_account(&account_id, &named.user.username)
        .map_err(common::state_failure)?;
    let still_open: std::collections::HashSet<&str> =
        import::rows_to_adopt(manifest, Some(state.snapshot()))
            .into_iter()
            .map(|spec| spec.key.as_str())
            .collect();
    let mut adoption = named.adoption;
    adoption.records.retain(|record| {
        matches!(record, crate::state::Record::Done { key, .. } if still_open.contains(key.as_str()))
    });
    state
        .append(&adoption.records)
        .map_err(common::state_failure)?;
    for line in adoption.lines() {
        reporter.on_message(&line);
    }
    Ok(())
}

/// Refuses to write while Pinterest's block of the account's writes is not over (`--force`
/// writes anyway).
fn refuse_while_held(state: &StateFile, run: &Run, force: bool) -> anyhow::Result<()> {
    let Some(hold) = common::hold_in_force(state.snapshot(), crate::epoch::now_ms()) else {
        return Ok(());
    };
    if force {
        eprintln!(
            "warning: Pinterest refused this account's writes ({}) and asked to wait until {}; writing anyway (--force)",
            hold.reason,
            common::moment_text(&run.loaded.zone, hold.until_ms)
        );
        return Ok(());
    }
    Err(Fatal::new(
        ExitStatus::Failure,
        format!(
            "Pinterest refused this account's writes at {} ({}); nothing is written before {}",
            common::moment_text(&run.loaded.zone, hold.at_ms),
            hold.reason,
            common::moment_text(&run.loaded.zone, hold.until_ms)
        ),
    )
    .with_hint("run the same command again after that time (a cron job simply will), or pass --force to write anyway")
    .into())
}

/// One turn: the boards the plan needs resolved (and the account checked) once, then the plan
/// carried out. The state is handed to the executor and back.
#[allow(clippy::too_many_arguments)]
async fn turn(
    client: &ApiClient,
    run: &Run,
    plan: &Plan,
    state: StateFile,
    boards: &mut Boards,
    args: &ApplyArgs,
    stop: &Arc<StopSignal>,
    reporter: &Arc<dyn Reporter>,
    account: Account<'_>,
) -> anyhow::Result<(Execution, StateFile)> {
    let manifest = &run.loaded.manifest;
    let mut state = state;
    if plan.needs_api() {
        let needed = if args.follow {
            plan.boards_to_come(manifest)
        } else {
            plan.boards_needed(manifest)
        };
        if !boards.account_checked || !needed.is_subset(&boards.known) {
            let needed: BTreeSet<_> = needed.union(&boards.known).cloned().collect();
            boards.resolved = prepare_boards(
                client,
                run,
                &needed,
                &mut state,
                account,
                args,
                reporter,
                boards.account_checked,
            )
            .await?;
            boards.known = needed;
            boards.account_checked = true;
        }
    }
    let network = ClientOptions::from_args(&args.network);
    let executor = Executor {
        client: client.clone(),
        boards: boards.resolved.clone(),
        options: ExecuteOptions {
            concurrency: usize::from(args.concurrency),
            retry: network.retry,
            settle: args.settle,
            plan: plan_options(args, run.started_ms),
        },
        reporter: Arc::clone(reporter),
        stop: Arc::clone(stop),
        sandbox: *account.environment == Environment::Sandbox,
    };
    Ok(execute(executor, manifest, plan, state).await)
}

/// Reads the manifest again when its file changed since it was read, so that edits made while
/// `--follow` runs are picked up at the next pin. A manifest that no longer validates is
/// reported and the run goes on with the one it had.
fn reload(
    args: &ApplyArgs,
    global: &GlobalArgs,
    run: &mut Run,
    given_up: &HashSet<String>,
    reporter: &Arc<dyn Reporter>,
) -> anyhow::Result<()> {
    let modified = modified(&args.manifest);
    if modified == run.modified {
        return Ok(());
    }
    run.modified = modified;
    let options = crate::commands::settings::load_options(&args.input)?;
    let outcome = crate::manifest::load_with(&args.manifest, &options);
    let valid = !outcome.has_errors();
    let Some(manifest) = outcome.manifest.filter(|_| valid) else {
        reporter.on_message(&format!(
            "warning: {} changed and no longer validates; going on with the version read before (`pinbatch validate {}` shows the problems)",
            args.manifest.display(),
            args.manifest.display()
        ));
        return Ok(());
    };
    let mut loaded = Loaded {
        manifest,
        zone: outcome.zone,
    };
    if !common::check_share_links(&mut loaded, args.fix_share_links, global)? {
        reporter.on_message(
            "warning: the edited manifest has share links; going on with the version read before",
        );
        return Ok(());
    }
    let policy = schedule_policy(
        &args.schedule,
        loaded.manifest.schedule.as_ref(),
        &loaded.zone,
    )?;
    loaded
        .manifest
        .pins
        .retain(|pin| !given_up.contains(&pin.key));
    reporter.on_message(&format!(
        "{} changed: read again ({} pins)",
        args.manifest.display(),
        loaded.manifest.pins.len()
    ));
    run.loaded = loaded;
    run.policy = policy;
    Ok(())
}

/// Learns whose token it is (refusing a state of another account) while resolving the boards
/// the run needs, then creates the missing ones. Nothing is created when any board or section
/// is a problem: every problem is printed and the run ends.
#[allow(clippy::too_many_arguments)]
async fn prepare_boards(
    client: &ApiClient,
    run: &Run,
    needed: &BTreeSet<(BoardRef, Option<String>)>,
    state: &mut StateFile,
    account: Account<'_>,
    args: &ApplyArgs,
    reporter: &Arc<dyn Reporter>,
    account_checked: bool,
) -> anyhow::Result<resolve::ResolvedBoards> {
    let manifest = &run.loaded.manifest;
    let survey = resolve::survey(client, manifest, needed, args.create_boards);
    let survey = if account_checked {
        survey.await.map_err(api_failure)?
    } else {
        // Who the token belongs to and which boards exist are independent reads: overlap them.
        let (user, survey) =
            tokio::try_join!(client.user_account(), survey).map_err(api_failure)?;
        // The id is the stable identity; the username is kept for messages.
        let username = user.username.clone();
        let account_id = user.id.clone().unwrap_or_else(|| username.clone());
        state
            .check_account(&account_id, &username)
            .map_err(common::state_failure)?;
        if let Some(dir) = account.budget_dir {
            client.share_budget(Ledger::new(dir, account.environment.origin(), &account_id));
        }
        survey
    };
    if !survey.problems.is_empty() {
        for problem in &survey.problems {
            eprintln!("error: {problem}");
        }
        return Err(Fatal::new(
            ExitStatus::Failure,
            format!(
                "{} board or section problem(s); nothing was created",
                survey.problems.len()
            ),
        )
        .into());
    }
    let messages = Arc::clone(reporter);
    survey
        .create_missing(client, |message| messages.on_message(message))
        .await
        .map_err(api_failure)
}

/// The end of a run: the report, the summary, what is scheduled next, and how it ended.
#[allow(clippy::too_many_arguments)]
fn finish(
    global: &GlobalArgs,
    args: &ApplyArgs,
    run: &Run,
    account: Account<'_>,
    turns: Vec<Execution>,
    final_plan: &Plan,
    ending: Ending,
    shown: &Arc<dyn Reporter>,
) -> anyhow::Result<ExitStatus> {
    let Ending {
        stop,
        stopped_at_until,
        started,
    } = ending;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let summaries: Vec<Summary> = turns.iter().map(|turn| turn.summary.clone()).collect();
    let summary = if args.follow {
        follow::follow_summary(&summaries, final_plan, elapsed_ms)
    } else {
        summaries.last().cloned().unwrap_or_default()
    };
    // A stop while --follow slept (Ctrl-C, SIGTERM) is the signal's; one in a turn its own.
    let stop_error = turns.last().and_then(|turn| turn.stop_error.clone());
    let results = last_results(turns);
    if args.follow {
        shown.on_finish(&summary);
    }
    if let Some(report) = &args.report {
        crate::render::report::write_report(report, &results)?;
    }
    let human = args.format == OutputFormat::Human && !global.quiet;
    if human {
        eprintln!("{}", summary_text(&summary));
        if let Some((due, key)) = follow::next_due(final_plan) {
            let waiting = final_plan
                .pins
                .iter()
                .filter(|p| matches!(p.action, plan::Action::Scheduled { .. }))
                .count();
            let lead = if stopped_at_until {
                "Stopped at --until: "
            } else {
                ""
            };
            eprintln!(
                "{lead}{waiting} pin(s) scheduled; the next, {key}, is due at {}",
                run.loaded.zone.human(due)
            );
        }
    }
    let how = How {
        stop,
        stop_error,
        summary,
    };
    outcome(global, args, run, account, how, &results)
}

/// The last result of each pin over a run's turns, in the order pins first reported.
fn last_results(turns: Vec<Execution>) -> Vec<PinResult> {
    let mut order: Vec<String> = Vec::new();
    let mut last: HashMap<String, PinResult> = HashMap::new();
    for result in turns.into_iter().flat_map(|turn| turn.results) {
        // A later turn's unchanged is an earlier turn's creation: keep what happened.
        if let Some(earlier) = last.get(&result.key)
            && result.status == PinOutcome::Unchanged
            && earlier.status != PinOutcome::Unchanged
        {
            continue;
        }
        if !last.contains_key(&result.key) {
            order.push(result.key.clone());
        }
        last.insert(result.key.clone(), result);
    }
    order
        .into_iter()
        .filter_map(|key| last.remove(&key))
        .collect()
}

/// How a run ended: why it stopped, if it did, at `--until` or not, and when it started.
struct Ending {
    stop: StopReason,
    stopped_at_until: bool,
    started: Instant,
}

/// What the exit status is decided on.
struct How {
    stop: StopReason,
    stop_error: Option<String>,
    summary: Summary,
}

/// How the run ended, as an exit status or a fatal error that says why it stopped.
fn outcome(
    global: &GlobalArgs,
    args: &ApplyArgs,
    run: &Run,
    account: Account<'_>,
    how: How,
    results: &[PinResult],
) -> anyhow::Result<ExitStatus> {
    let How {
        stop,
        stop_error,
        summary,
    } = how;
    let status = match stop {
        StopReason::Interrupted => {
            eprintln!("Interrupted: the state is saved; run the same command again to resume.");
            ExitStatus::Interrupted
        }
        StopReason::Auth => {
            return Err(Fatal::new(
                ExitStatus::Auth,
                stop_error.unwrap_or_else(|| "the access token was rejected".to_owned()),
            )
            .with_hint(crate::commands::settings::LOGIN_HINT)
            .into());
        }
        StopReason::Spam | StopReason::Throttled => {
            return Err(account_blocked(args, run, stop, stop_error));
        }
        StopReason::Quota => {
            return Err(Fatal::new(
                ExitStatus::Failure,
                format!(
                    "The account's request quota is used up, so no further pins were sent; the state is saved: {}",
                    stop_error.unwrap_or_default()
                ),
            )
            .into());
        }
        StopReason::TrialAccess => {
            return Err(Fatal::new(
                ExitStatus::Auth,
                format!(
                    "Pinterest refused to publish in {} because the app has Trial access, which can write only to the API sandbox; no further pins were sent: {}",
                    account.environment,
                    stop_error.unwrap_or_default()
                ),
            )
            .with_hint(
                "add --sandbox to publish to the sandbox (log in there with `pinbatch --sandbox auth login`; its pins are visible only to you), or ask Pinterest for Standard access to publish in production",
            )
            .into());
        }
        StopReason::State => {
            return Err(Fatal::new(
                ExitStatus::Failure,
                format!(
                    "The state file could not be written, so the run stopped: {}",
                    stop_error.unwrap_or_default()
                ),
            )
            .with_hint(
                "free disk space and run the same command again; every pin recorded so far is kept",
            )
            .into());
        }
        StopReason::None
            if summary.failed + summary.unknown + summary.blocked + summary.held > 0 =>
        {
            if !global.quiet {
                explain_what_did_not_go(args, run, &summary, results);
            }
            ExitStatus::Failure
        }
        StopReason::None => ExitStatus::Success,
    };
    Ok(status)
}

/// The error for a run that Pinterest's block of the account's writes stopped.
fn account_blocked(
    args: &ApplyArgs,
    run: &Run,
    stop: StopReason,
    stop_error: Option<String>,
) -> anyhow::Error {
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_state_path(&args.manifest));
    let until = state::load(&state_path)
        .ok()
        .flatten()
        .and_then(|snapshot| snapshot.hold)
        .map(|hold| common::moment_text(&run.loaded.zone, hold.until_ms));
    let what = if stop == StopReason::Spam {
        "Pinterest refused the account's writes as spam"
    } else {
        "Pinterest kept refusing writes after waiting as it asked (429 rate limits that did not lift)"
    };
    let until = until.unwrap_or_else(|| "later".to_owned());
    Fatal::new(
        ExitStatus::Failure,
        format!(
            "{what}; no further pins were sent and the state is saved: {}",
            stop_error.unwrap_or_default()
        ),
    )
    .with_hint(format!(
        "this is not a pace to keep: try again after {until}; until then `apply` refuses to write (--force overrides). A slower schedule (--per-day, --every) helps keep clear of it"
    ))
    .into()
}

/// Says which pins failed, are unknown, or were refused, and what to do about each.
fn explain_what_did_not_go(args: &ApplyArgs, run: &Run, summary: &Summary, results: &[PinResult]) {
    if summary.failed > 0 {
        eprintln!(
            "{} pin(s) failed; run the same command again to retry them (`pinbatch status {}` lists the errors)",
            summary.failed,
            args.manifest.display()
        );
    }
    if summary.unknown > 0 {
        eprintln!(
            "{} pin(s) were sent but whether Pinterest created them is unknown; the next run looks for them on their boards before sending anything again",
            summary.unknown
        );
    }
    if summary.blocked + summary.held > 0 {
        let links: HashMap<&str, &str> = run
            .loaded
            .manifest
            .pins
            .iter()
            .filter_map(|pin| Some((pin.key.as_str(), pin.link.as_deref()?)))
            .collect();
        let refused: Vec<String> = results
            .iter()
            .filter(|r| r.status == PinOutcome::Blocked)
            .map(|r| match links.get(r.key.as_str()) {
                Some(link) => format!("{link} (pin {})", r.key),
                None => format!("pin {}", r.key),
            })
            .collect();
        eprintln!(
            "Pinterest refused {} link(s) as spam, and {} other pin(s) of the same domains are held: {}",
            summary.blocked,
            summary.held,
            if refused.is_empty() {
                "see `pinbatch status`".to_owned()
            } else {
                refused.join(", ")
            }
        );
        eprintln!(
            "They are not sent again until you pass --retry-blocked (check the links first: a page Pinterest takes for spam is usually refused again)"
        );
    }
}

fn make_reporter(global: &GlobalArgs, format: OutputFormat, follow: bool) -> Arc<dyn Reporter> {
    let verbosity = if global.quiet {
        reporter::Verbosity::Quiet
    } else if global.verbose > 0 {
        reporter::Verbosity::Verbose
    } else {
        reporter::Verbosity::Normal
    };
    match format {
        OutputFormat::Json => Arc::new(reporter::JsonReporter::new()),
        OutputFormat::Human => match (global.terminal().shows_progress(), follow) {
            (true, true) => Arc::new(reporter::CountdownReporter::new(verbosity)),
            (true, false) => Arc::new(reporter::BarReporter::new(verbosity)),
            (false, _) => Arc::new(reporter::LineReporter::new(verbosity)),
        },
    }
}

/// First Ctrl-C (or SIGTERM, as a service manager stops a run): stop dispatching and let
/// in-flight requests finish. Second: abandon them.
async fn watch_interrupts(stop: Arc<StopSignal>, reporter: Arc<dyn Reporter>) {
    if interrupted().await.is_err() {
        return;
    }
    stop.stop(StopReason::Interrupted);
    reporter.on_message(
        "Stopping: waiting for requests in flight to finish (press Ctrl-C again to abandon them)",
    );
    if interrupted().await.is_err() {
        return;
    }
    reporter
        .on_message("Abandoning requests in flight; they are recorded and checked on the next run");
    stop.abandon();
}

/// Waits for Ctrl-C, or on Unix for SIGTERM too.
async fn interrupted() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
