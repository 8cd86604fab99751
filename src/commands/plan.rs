//! `pinbatch plan`: what `apply` would do, using read-only calls (boards, sections) and a look
//! at every image URL, or none with `--offline`. Creates no state file.

use crate::api::error::local_time;
use crate::api::ledger::{Ledger, LedgerEntry};
use crate::cli::{GlobalArgs, PlanArgs};
use crate::commands::common::{self, load_manifest};
use crate::commands::exit::ExitStatus;
use crate::commands::import;
use crate::commands::settings::{ClientOptions, GlobalSettings, api_failure, schedule_policy};
use crate::linkcheck::{self, LinkCheckOptions};
use crate::plan::resolve;
use crate::plan::{self, PlanOptions};
use crate::state;

/// What the account's last known write budget (from earlier runs, see `api::ledger`) says of
/// how long `writes` writes take.
fn duration_estimate(writes: usize, budget: Option<LedgerEntry>) -> String {
    let writes_text = format!("{writes} write(s) to make");
    let Some(budget) = budget else {
        return format!(
            "{writes_text}; no write budget known yet for this account (apply learns it from Pinterest's answers)"
        );
    };
    let now_ms = crate::epoch::now_ms();
    if let Some(until) = budget.exhausted_until_ms.filter(|until| *until > now_ms) {
        let until = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(u64::try_from(until).unwrap_or(0));
        return format!(
            "{writes_text}; the account's request quota is used up until {}",
            local_time(until)
        );
    }
    match (
        budget.time_for(writes as u64),
        budget.limit,
        budget.window_ms,
    ) {
        (Some(time), Some(limit), Some(window_ms)) => format!(
            "{writes_text}; at the last known budget of {limit} writes per {}, that takes about {}",
            humantime::format_duration(std::time::Duration::from_millis(window_ms)),
            humantime::format_duration(std::time::Duration::from_secs(time.as_secs()))
        ),
        _ => format!("{writes_text}; no write budget known yet for this account"),
    }
}

/// The pins the manifest names by id (a report's `pin_id`), read from the account as `apply`
/// reads them and recorded in memory only, so that the plan shows what `apply` does with them.
/// A pin id that cannot be recorded is a located error, and the plan is not shown.
async fn adopt_in_memory(
    global: &GlobalArgs,
    client: &crate::api::ApiClient,
    manifest: &crate::manifest::Manifest,
    rows: &[&crate::manifest::PinSpec],
    snapshot: Option<state::StateSnapshot>,
) -> anyhow::Result<Option<state::StateSnapshot>> {
    let user = client.user_account().await.map_err(api_failure)?;
    let adoption =
        import::adopt_named_rows(client, manifest, rows, snapshot.as_ref(), &user.username).await?;
    if !adoption.problems.is_empty() {
        return Err(import::named_row_failure(&adoption.problems, global));
    }
    if !global.quiet {
        for line in adoption.lines() {
            eprintln!("{line}");
        }
    }
    let mut snapshot = snapshot.unwrap_or_else(|| state::StateSnapshot::new(client.origin()));
    for record in &adoption.records {
        snapshot.apply(record);
    }
    Ok(Some(snapshot))
}

/// Runs `plan`.
pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let Some(mut loaded) = load_manifest(&args.manifest, &args.input, global)? else {
        return Ok(ExitStatus::Failure);
    };
    let share_links_ok =
        common::check_share_links(&mut loaded, args.links.fix_share_links, global)?;
    let check_links = !(args.offline || args.no_link_check);
    let link_options = LinkCheckOptions {
        timeout: args.links.link_timeout,
        ..LinkCheckOptions::default()
    };
    // Destinations first: with --resolve-links, the plan is of the links that would be sent.
    let mut link_problems = if check_links {
        let found = linkcheck::destinations::follow_all(&loaded.manifest, link_options).await?;
        let resolve = args.links.resolve_links;
        let problems = linkcheck::destinations::diagnostics(&loaded.manifest, &found, resolve);
        if resolve {
            linkcheck::destinations::resolve(&mut loaded.manifest, &found);
        }
        problems
    } else {
        Vec::new()
    };
    let manifest = &loaded.manifest;
    let settings = GlobalSettings::resolve(global)?;
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_state_path(&args.manifest));
    let snapshot = common::load_state_for(&state_path, settings.environment.origin())?;
    let options = PlanOptions {
        replace: args.replace,
        prune: args.prune,
        retry_blocked_before: args
            .retry_blocked
            .then(|| jiff::Timestamp::now().as_millisecond()),
    };
    import::print_warnings(
        &import::conflicting_pin_ids(manifest, snapshot.as_ref()),
        global,
    );
    let rows = import::rows_to_adopt(manifest, snapshot.as_ref());
    let mut client = None;
    let snapshot = if rows.is_empty() {
        snapshot
    } else if args.offline {
        if !global.quiet {
            eprintln!("{}", import::assumed_rows_note(rows.len()));
        }
        import::assume_named_rows(&rows, snapshot, settings.environment.origin())
    } else {
        let reader = settings.api_client(ClientOptions::from_args(&args.network))?;
        let snapshot = adopt_in_memory(global, &reader, manifest, &rows, snapshot).await?;
        client = Some(reader);
        snapshot
    };
    let policy = schedule_policy(&args.schedule, manifest.schedule.as_ref(), &loaded.zone)?;
    let now = jiff::Timestamp::now();
    let plan = plan::plan_with(
        manifest,
        snapshot.as_ref(),
        now,
        options,
        loaded.timing(policy.as_ref()),
    );
    let survey = if args.offline || !plan.needs_api() {
        None
    } else {
        let client = match client {
            Some(client) => client,
            None => settings.api_client(ClientOptions::from_args(&args.network))?,
        };
        let needed = plan.boards_needed(manifest);
        Some(
            resolve::survey(&client, manifest, &needed, args.create_boards)
                .await
                .map_err(api_failure)?,
        )
    };
    if check_links {
        let progress = crate::ui::links::link_progress(global.terminal());
        link_problems.extend(linkcheck::check(manifest, link_options, progress.as_ref()).await?);
    }
    common::write_plan(
        &loaded,
        &plan,
        survey.as_ref(),
        policy.is_some(),
        args.format,
    )?;
    common::print_link_problems(&link_problems, global)?;
    if let Some(hold) = snapshot
        .as_ref()
        .and_then(|s| common::hold_in_force(s, now.as_millisecond()))
    {
        eprintln!(
            "note: Pinterest refused this account's writes ({}); `apply` writes nothing before {} (or with --force)",
            hold.reason,
            common::moment_text(&loaded.zone, hold.until_ms)
        );
    }
    if !global.quiet {
        let account = snapshot.as_ref().and_then(|s| s.header.account.clone());
        if let (Some(dir), Some(account)) = (settings.config_dir.as_deref(), account) {
            let ledger = Ledger::new(dir, settings.environment.origin(), &account);
            eprintln!(
                "{}",
                duration_estimate(plan.writes(manifest), ledger.read())
            );
        }
    }
    let problems = survey.as_ref().is_some_and(|s| !s.problems.is_empty())
        || link_problems
            .iter()
            .any(crate::manifest::Diagnostic::is_error)
        || !share_links_ok;
    Ok(if problems {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
