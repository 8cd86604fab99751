//! `pinbatch apply`: validate, lock the state, resolve boards, execute the plan, report.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;

use crate::api::ledger::Ledger;
use crate::api::{ApiClient, Environment};
use crate::apply::progress::Reporter;
use crate::apply::{ExecuteOptions, Executor, StopReason, StopSignal, execute};
use crate::cli::{ApplyArgs, GlobalArgs, OutputFormat};
use crate::commands::common::{self, load_manifest};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::commands::import;
use crate::commands::settings::{ClientOptions, GlobalSettings, api_failure};
use crate::manifest::Manifest;
use crate::plan::resolve;
use crate::plan::{self, PlanOptions};
use crate::state::{self, StateFile};
use crate::ui::reporter::{self, summary_text};
use pinbatch_emulator::{Emulator, EmulatorConfig};

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
    let manifest = &loaded.manifest;
    if args.emulator {
        return rehearse(global, args, manifest).await;
    }
    let settings = GlobalSettings::resolve(global)?;
    let options = ClientOptions::from_args(&args.network);
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_state_path(&args.manifest));
    if args.dry_run {
        return common::print_plan(
            &loaded,
            &state_path,
            settings.environment.origin(),
            plan_options(args),
            args.format,
            global.quiet,
        );
    }
    apply(
        global,
        args,
        manifest,
        &state_path,
        &settings.environment,
        settings.config_dir.as_deref(),
        || settings.api_client(options),
    )
    .await
}

fn plan_options(args: &ApplyArgs) -> PlanOptions {
    PlanOptions {
        replace: args.replace,
        prune: args.prune,
    }
}

/// `apply --emulator`: a fresh in-process emulator, a throwaway token and a temporary state.
async fn rehearse(
    global: &GlobalArgs,
    args: &ApplyArgs,
    manifest: &Manifest,
) -> anyhow::Result<ExitStatus> {
    // The emulator starts empty: pin ids of a report name nothing there, so every pin is made.
    let mut manifest = manifest.clone();
    for spec in &mut manifest.pins {
        spec.pin_id = None;
    }
    let manifest = &manifest;
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
    let status = apply(
        global,
        &rehearsal_args,
        manifest,
        &state_path,
        &environment,
        None,
        || settings.client_with_token(crate::secret::SecretString::new(token.clone()), options),
    )
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

/// Runs `apply` against `environment`. With `budget_dir` (the config directory), the account's
/// write budget is shared with every other pinbatch process writing to it.
async fn apply(
    global: &GlobalArgs,
    args: &ApplyArgs,
    manifest: &Manifest,
    state_path: &Path,
    environment: &Environment,
    budget_dir: Option<&Path>,
    client: impl FnOnce() -> anyhow::Result<ApiClient>,
) -> anyhow::Result<ExitStatus> {
    // Credentials first: a missing or rejected token must not leave a new state file behind.
    let client = client()?;
    // So must a pin id that cannot be recorded: they are read before the state is opened.
    let named = read_named_rows(global, &client, manifest, state_path, environment).await?;
    let mut state =
        StateFile::open(state_path, environment.origin()).map_err(common::state_failure)?;
    let reporter: Arc<dyn Reporter> = make_reporter(global, args.format);
    if let Some(named) = named {
        record_named_rows(&mut state, manifest, named, &reporter)?;
    }
    let plan = plan::plan(
        manifest,
        Some(state.snapshot()),
        jiff::Timestamp::now(),
        plan_options(args),
    );
    let boards = if plan.needs_api() {
        let account = Account {
            state: &mut state,
            environment,
            budget_dir,
        };
        prepare_boards(&client, manifest, &plan, account, args, &reporter).await?
    } else {
        resolve::ResolvedBoards::default()
    };

    let stop = Arc::new(StopSignal::default());
    let interrupt = tokio::spawn(watch_interrupts(Arc::clone(&stop), Arc::clone(&reporter)));
    let network = ClientOptions::from_args(&args.network);
    let options = ExecuteOptions {
        concurrency: usize::from(args.concurrency),
        retry: network.retry,
        settle: args.settle,
        plan: plan_options(args),
    };
    let executor = Executor {
        client,
        boards,
        options,
        reporter: Arc::clone(&reporter),
        stop: Arc::clone(&stop),
        sandbox: *environment == Environment::Sandbox,
    };
    let (execution, state) = execute(executor, manifest, &plan, state).await;
    interrupt.abort();
    drop(state);

    if let Some(report) = &args.report {
        crate::render::report::write_report(report, &execution.results)?;
    }
    if args.format == OutputFormat::Human && !global.quiet {
        eprintln!("{}", summary_text(&execution.summary));
    }
    outcome(global, args, environment, execution)
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

/// Where a run's writes are accounted: its state (which records the account) and, with a
/// config directory, the write budget shared with other processes.
struct Account<'a> {
    state: &'a mut StateFile,
    environment: &'a Environment,
    budget_dir: Option<&'a Path>,
}

/// Learns whose token it is (refusing a state of another account) while resolving the boards
/// the plan needs, then creates the missing ones. Nothing is created when any board or section
/// is a problem: every problem is printed and the run ends.
async fn prepare_boards(
    client: &ApiClient,
    manifest: &Manifest,
    plan: &plan::Plan,
    account: Account<'_>,
    args: &ApplyArgs,
    reporter: &Arc<dyn Reporter>,
) -> anyhow::Result<resolve::ResolvedBoards> {
    let needed = plan.boards_needed(manifest);
    // Who the token belongs to and which boards exist are independent reads: overlap them.
    let (user, survey) = tokio::try_join!(
        client.user_account(),
        resolve::survey(client, manifest, &needed, args.create_boards)
    )
    .map_err(api_failure)?;
    // The id is the stable identity; the username is kept for messages.
    let username = user.username.clone();
    let account_id = user.id.clone().unwrap_or_else(|| username.clone());
    account
        .state
        .check_account(&account_id, &username)
        .map_err(common::state_failure)?;
    if let Some(dir) = account.budget_dir {
        client.share_budget(Ledger::new(dir, account.environment.origin(), &account_id));
    }
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

/// How the run ended, as an exit status or a fatal error that says why it stopped.
fn outcome(
    global: &GlobalArgs,
    args: &ApplyArgs,
    environment: &Environment,
    execution: crate::apply::Execution,
) -> anyhow::Result<ExitStatus> {
    let status = match execution.stop {
        StopReason::Interrupted => {
            eprintln!("Interrupted: the state is saved; run the same command again to resume.");
            ExitStatus::Interrupted
        }
        StopReason::Auth => {
            return Err(Fatal::new(
                ExitStatus::Auth,
                execution
                    .stop_error
                    .unwrap_or_else(|| "the access token was rejected".to_owned()),
            )
            .with_hint(crate::commands::settings::LOGIN_HINT)
            .into());
        }
        StopReason::Spam => {
            return Err(Fatal::new(
                ExitStatus::Failure,
                format!(
                    "Pinterest flagged the writes as spam; no further pins were sent: {}",
                    execution.stop_error.unwrap_or_default()
                ),
            )
            .with_hint("this is not a rate limit: wait, review the content, and re-run later")
            .into());
        }
        StopReason::Quota => {
            return Err(Fatal::new(
                ExitStatus::Failure,
                format!(
                    "The account's request quota is used up, so no further pins were sent; the state is saved: {}",
                    execution.stop_error.unwrap_or_default()
                ),
            )
            .into());
        }
        StopReason::TrialAccess => {
            return Err(Fatal::new(
                ExitStatus::Auth,
                format!(
                    "Pinterest refused to publish in {} because the app has Trial access, which can write only to the API sandbox; no further pins were sent: {}",
                    environment,
                    execution.stop_error.unwrap_or_default()
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
                    execution.stop_error.unwrap_or_default()
                ),
            )
            .with_hint(
                "free disk space and run the same command again; every pin recorded so far is kept",
            )
            .into());
        }
        StopReason::None if execution.summary.failed + execution.summary.unknown > 0 => {
            if !global.quiet {
                let summary = &execution.summary;
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
            }
            ExitStatus::Failure
        }
        StopReason::None => ExitStatus::Success,
    };
    Ok(status)
}

fn make_reporter(global: &GlobalArgs, format: OutputFormat) -> Arc<dyn Reporter> {
    let verbosity = if global.quiet {
        reporter::Verbosity::Quiet
    } else if global.verbose > 0 {
        reporter::Verbosity::Verbose
    } else {
        reporter::Verbosity::Normal
    };
    match format {
        OutputFormat::Json => Arc::new(reporter::JsonReporter::new()),
        OutputFormat::Human => {
            if global.terminal().shows_progress() {
                Arc::new(reporter::BarReporter::new(verbosity))
            } else {
                Arc::new(reporter::LineReporter::new(verbosity))
            }
        }
    }
}

/// First Ctrl-C: stop dispatching and let in-flight requests finish. Second: abandon them.
async fn watch_interrupts(stop: Arc<StopSignal>, reporter: Arc<dyn Reporter>) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    stop.stop(StopReason::Interrupted);
    reporter.on_message(
        "Stopping: waiting for requests in flight to finish (press Ctrl-C again to abandon them)",
    );
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    reporter
        .on_message("Abandoning requests in flight; they are recorded and checked on the next run");
    stop.abandon();
}
