//! Pieces shared by `plan`, `apply` and `status`: loading the manifest with its diagnostics,
//! printing a plan, and mapping state errors to exit codes.

use std::io::Write as _;
use std::path::Path;

use serde::Serialize;
use unicode_width::UnicodeWidthStr as _;

use crate::cli::{GlobalArgs, ManifestArgs, OutputFormat};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::manifest::{self, Manifest, PublishZone, SchedulePolicy, diagnostic};
use crate::plan::resolve::Survey;
use crate::plan::schedule::ScheduleDay;
use crate::plan::{self, Action, Plan, PlanOptions, Timing};
use crate::state::{self, StateError};

/// A valid manifest and the time zone its local publish times were read in.
pub struct Loaded {
    /// The manifest.
    pub manifest: Manifest,
    /// The zone of local times, also used to show due times.
    pub zone: PublishZone,
}

/// Loads and validates a manifest, printing its diagnostics on stderr. `None` when it has
/// errors: the caller must send nothing.
pub fn load_manifest(
    path: &Path,
    input: &ManifestArgs,
    global: &GlobalArgs,
) -> anyhow::Result<Option<Loaded>> {
    let options = crate::commands::settings::load_options(input)?;
    let outcome = manifest::load_with(path, &options);
    let text = diagnostic::render_human(
        &outcome.diagnostics,
        !global.quiet,
        global.terminal().stderr_color(),
    );
    std::io::stderr().write_all(text.as_bytes())?;
    if outcome.has_errors() {
        let tally = diagnostic::Tally::of(&outcome.diagnostics);
        eprintln!(
            "{}: invalid, {} error(s); nothing was sent (run `pinbatch validate {}` for details)",
            path.display(),
            tally.errors,
            path.display()
        );
        return Ok(None);
    }
    let zone = outcome.zone;
    Ok(outcome.manifest.map(|manifest| Loaded { manifest, zone }))
}

/// Finds share links (offline) and prints what it found on stderr; with `fix`, those with a
/// direct form are replaced by it for this run. False when one is left: send nothing.
pub fn check_share_links(
    loaded: &mut Loaded,
    fix: bool,
    global: &GlobalArgs,
) -> anyhow::Result<bool> {
    let report = crate::linkcheck::share_links(&mut loaded.manifest, fix);
    if report.rewritten > 0 && !global.quiet {
        eprintln!(
            "Using the direct form of {} share link(s) (--fix-share-links; {} is not changed)",
            report.rewritten,
            loaded.manifest.path.display()
        );
    }
    print_link_problems(&report.diagnostics, global)?;
    Ok(report.diagnostics.is_empty())
}

/// Prints link diagnostics on stderr, like a manifest's.
pub fn print_link_problems(
    found: &[diagnostic::Diagnostic],
    global: &GlobalArgs,
) -> anyhow::Result<()> {
    if found.is_empty() {
        return Ok(());
    }
    let text = diagnostic::render_human(found, true, global.terminal().stderr_color());
    std::io::stderr().write_all(text.as_bytes())?;
    Ok(())
}

/// Maps a state error to a command error: another environment or account is a configuration
/// problem (exit 3), everything else exit 1.
pub fn state_failure(err: StateError) -> anyhow::Error {
    let status = match err {
        StateError::WrongOrigin { .. } | StateError::WrongAccount { .. } => ExitStatus::Auth,
        _ => ExitStatus::Failure,
    };
    let hint = match &err {
        StateError::WrongOrigin { .. } => Some(
            "use the environment the state was made with (--sandbox / --api-base), or another --state",
        ),
        StateError::WrongAccount { .. } => {
            Some("log in as the account the state was made with, or use another --state")
        }
        StateError::Locked { .. } => {
            Some("wait for the other run to finish; a crashed run releases the lock by itself")
        }
        _ => None,
    };
    let fatal = Fatal::new(status, err.to_string());
    match hint {
        Some(hint) => fatal.with_hint(hint).into(),
        None => fatal.into(),
    }
}

/// Reads the state for planning (no lock, nothing created) and refuses another environment.
pub fn load_state_for(path: &Path, origin: &str) -> anyhow::Result<Option<state::StateSnapshot>> {
    let snapshot = state::load(path).map_err(state_failure)?;
    if let Some(snapshot) = &snapshot
        && snapshot.header.origin != origin
    {
        return Err(state_failure(StateError::WrongOrigin {
            path: path.to_owned(),
            recorded: snapshot.header.origin.clone(),
            current: origin.to_owned(),
        }));
    }
    Ok(snapshot)
}

impl Loaded {
    /// The schedule of a command: its policy (the manifest's block with the flags over it) in
    /// the manifest's time zone, if any.
    pub fn timing<'a>(&'a self, policy: Option<&'a SchedulePolicy>) -> Option<Timing<'a>> {
        policy.map(|policy| Timing {
            policy,
            zone: self.zone.time_zone(),
        })
    }
}

/// Plans offline against the state and prints the plan (`apply --dry-run`).
pub fn print_plan(
    loaded: &Loaded,
    state_path: &Path,
    origin: &str,
    options: PlanOptions,
    policy: Option<&SchedulePolicy>,
    format: OutputFormat,
    quiet: bool,
) -> anyhow::Result<ExitStatus> {
    let snapshot = load_state_for(state_path, origin)?;
    let rows = crate::commands::import::rows_to_adopt(&loaded.manifest, snapshot.as_ref());
    if !rows.is_empty() && !quiet {
        eprintln!("{}", crate::commands::import::assumed_rows_note(rows.len()));
    }
    let snapshot = crate::commands::import::assume_named_rows(&rows, snapshot, origin);
    let plan = plan::plan_with(
        &loaded.manifest,
        snapshot.as_ref(),
        jiff::Timestamp::now(),
        options,
        loaded.timing(policy),
    );
    write_plan(loaded, &plan, None, policy.is_some(), format)?;
    Ok(ExitStatus::Success)
}

/// A refusal of the account's writes that is not over: `apply` does not write before its time
/// unless `--force`.
pub fn hold_in_force(state: &state::StateSnapshot, now_ms: i64) -> Option<&state::AccountHold> {
    state.hold.as_ref().filter(|hold| hold.until_ms > now_ms)
}

/// A moment (ms since the epoch) for people, in the manifest's time zone.
pub fn moment_text(zone: &PublishZone, ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|at| zone.human(at))
        .unwrap_or_else(|_| "an unknown time".to_owned())
}

#[derive(Serialize)]
struct PlanRow<'a> {
    key: &'a str,
    action: &'static str,
    location: String,
    board: &'a str,
    section: Option<&'a str>,
    /// The link as sent: UTM-tagged, share links fixed.
    link: Option<&'a str>,
    pin_id: Option<&'a str>,
    due: Option<String>,
    reason: String,
}

#[derive(Serialize)]
struct PlanDocument<'a> {
    pins: Vec<PlanRow<'a>>,
    orphans: Vec<OrphanRow<'a>>,
    /// Keys no longer in the manifest whose create's outcome is unknown.
    unknown_orphans: Vec<UnknownOrphanRow<'a>>,
    boards_to_create: Vec<&'a str>,
    sections_to_create: Vec<String>,
    problems: Vec<String>,
    counts: serde_json::Map<String, serde_json::Value>,
    /// Under a schedule policy: the pins due each local day.
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule: Option<Vec<ScheduleDay>>,
}

#[derive(Serialize)]
struct UnknownOrphanRow<'a> {
    key: &'a str,
    board_ids: &'a [String],
    message: String,
}

#[derive(Serialize)]
struct OrphanRow<'a> {
    key: &'a str,
    pin_id: &'a str,
    action: &'static str,
}

/// The pins of `plan` that are due at a time, grouped by local day in `zone`.
pub fn schedule_days(plan: &Plan, zone: &PublishZone) -> Vec<ScheduleDay> {
    plan::schedule::days(plan.pins.iter().filter_map(|p| p.due), zone.time_zone())
}

/// Prints a plan: a table on stdout for humans, or one JSON document. Due times are shown in
/// the manifest's time zone; under a schedule policy (`scheduled`), with the pins of each day.
pub fn write_plan(
    loaded: &Loaded,
    plan: &Plan,
    survey: Option<&Survey>,
    scheduled: bool,
    format: OutputFormat,
) -> anyhow::Result<()> {
    let mut document = PlanDocument::new(loaded, plan, survey);
    if scheduled {
        document.schedule = Some(schedule_days(plan, &loaded.zone));
    }
    // Buffered: stdout is line-buffered, and a plan of many pins has a line per field.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &document)?;
            writeln!(stdout)?;
            stdout.flush()?;
        }
        OutputFormat::Human => {
            document.write_table(&mut stdout, plan)?;
            stdout.flush()?;
            drop(stdout);
            for problem in &document.problems {
                eprintln!("error: {problem}");
            }
        }
    }
    Ok(())
}

impl<'a> PlanDocument<'a> {
    /// The plan of `loaded`'s pins, with what the survey of its boards found, if it ran.
    fn new(loaded: &'a Loaded, plan: &'a Plan, survey: Option<&'a Survey>) -> Self {
        let manifest = &loaded.manifest;
        let zone = &loaded.zone;
        let pins = plan
            .pins
            .iter()
            .map(|planned| {
                let spec = &manifest.pins[planned.index];
                let pin_id = match &planned.action {
                    Action::Update { pin_id, .. }
                    | Action::Replace { pin_id }
                    | Action::NeedsReplace { pin_id }
                    | Action::Unchanged { pin_id } => Some(pin_id.as_str()),
                    _ => None,
                };
                let due = planned.due.map(|due| zone.rfc3339(due));
                let reason = match (&planned.action, planned.due) {
                    (Action::Scheduled { due }, _) => format!("due at {}", zone.human(*due)),
                    (Action::Create { reconcile }, Some(_)) if reconcile.is_empty() => {
                        "due now".to_owned()
                    }
                    (action, _) => action.reason(),
                };
                PlanRow {
                    key: &spec.key,
                    action: planned.action.name(),
                    location: spec.location.to_string(),
                    board: plan::board_text(spec),
                    section: spec.section.as_deref(),
                    link: spec.link.as_deref(),
                    pin_id,
                    due,
                    reason,
                }
            })
            .collect();
        let orphans = plan
            .orphans
            .iter()
            .map(|orphan| OrphanRow {
                key: &orphan.key,
                pin_id: &orphan.pin_id,
                action: if orphan.delete { "delete" } else { "orphaned" },
            })
            .collect();
        let counts = plan
            .counts()
            .into_iter()
            .map(|(name, n)| (name.to_owned(), serde_json::Value::from(n)))
            .collect();
        PlanDocument {
            pins,
            orphans,
            unknown_orphans: plan
                .unknown_orphans
                .iter()
                .map(|orphan| UnknownOrphanRow {
                    key: &orphan.key,
                    board_ids: &orphan.board_ids,
                    message: orphan.message(),
                })
                .collect(),
            boards_to_create: survey
                .map(|s| s.boards_to_create.iter().map(|b| b.name.as_str()).collect())
                .unwrap_or_default(),
            sections_to_create: survey
                .map(|s| {
                    s.sections_to_create
                        .iter()
                        .map(|(board, section)| format!("{board} / {section}"))
                        .collect()
                })
                .unwrap_or_default(),
            problems: survey
                .map(|s| s.problems.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            counts,
            schedule: None,
        }
    }

    /// The plan as a table: one line per pin and orphan, the boards and sections to create,
    /// and the counts in `plan`'s order.
    fn write_table(&self, out: &mut impl std::io::Write, plan: &Plan) -> std::io::Result<()> {
        // Keys may hold wide characters (board names in CJK): pad by display width.
        let width = self
            .pins
            .iter()
            .map(|r| r.key.width())
            .max()
            .unwrap_or(3)
            .max(3);
        writeln!(out, "{:<13} {}  DETAIL", "ACTION", pad("KEY", width))?;
        for row in &self.pins {
            let mut detail = row.reason.clone();
            if let Some(pin_id) = row.pin_id {
                detail.push_str(&format!("; pin {pin_id}"));
            }
            writeln!(
                out,
                "{:<13} {}  {detail} ({})",
                row.action,
                pad(row.key, width),
                row.location
            )?;
        }
        for orphan in &self.orphans {
            let detail = if orphan.action == "delete" {
                "no longer in the manifest: --prune deletes it"
            } else {
                "no longer in the manifest (kept; --prune deletes it)"
            };
            writeln!(
                out,
                "{:<13} {}  {detail}; pin {}",
                orphan.action,
                pad(orphan.key, width),
                orphan.pin_id
            )?;
        }
        for orphan in &self.unknown_orphans {
            writeln!(
                out,
                "{:<13} {}  {}",
                "unknown",
                pad(orphan.key, width),
                orphan.message
            )?;
        }
        for board in &self.boards_to_create {
            writeln!(out, "create board  {board}")?;
        }
        for section in &self.sections_to_create {
            writeln!(out, "create section {section}")?;
        }
        let counts: Vec<String> = plan
            .counts()
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{n} {name}"))
            .collect();
        writeln!(
            out,
            "Plan: {}",
            if counts.is_empty() {
                "nothing to do".to_owned()
            } else {
                counts.join(", ")
            }
        )?;
        if let Some(days) = &self.schedule {
            match (days.first(), days.last()) {
                (Some(first), Some(last)) => writeln!(
                    out,
                    "Schedule: {} pin(s) over {} day(s), {} to {}",
                    days.iter().map(|d| d.pins).sum::<usize>(),
                    days.len(),
                    first.date,
                    last.date
                )?,
                _ => writeln!(out, "Schedule: no pin left to publish")?,
            }
            for day in days {
                writeln!(out, "  {}", day.line())?;
            }
        }
        Ok(())
    }
}

/// `text` padded with spaces to `width` terminal columns.
fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(text.width());
    format!("{text}{}", " ".repeat(fill))
}
