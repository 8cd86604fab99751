//! `pinbatch status`: a summary of the state file against the manifest: done, failed (with the
//! last error), pending, unknown outcome, scheduled (with its time), blocked and held, and what
//! is next. No network, no writes.

use std::io::Write as _;

use serde::Serialize;

use crate::apply::progress::pin_url;
use crate::cli::{GlobalArgs, OutputFormat, StatusArgs};
use crate::commands::common::{self, load_manifest};
use crate::commands::exit::ExitStatus;
use crate::commands::settings::schedule_policy;
use crate::plan::{self, Action, PlanOptions};
use crate::state::{self, PinState, PinStatus};

#[derive(Serialize)]
struct Row<'a> {
    key: &'a str,
    location: String,
    status: &'static str,
    pin_id: Option<&'a str>,
    pin_url: Option<String>,
    attempts: u32,
    last_error: Option<&'a str>,
    /// When a pin not yet published is due (RFC 3339, the manifest's zone).
    due: Option<String>,
}

/// A pin's status as `status` names it, from the state and what the plan would do.
fn status_name(recorded: Option<&PinState>, action: &Action) -> &'static str {
    match action {
        Action::Scheduled { .. } => return "scheduled",
        Action::Blocked { .. } => return "blocked",
        Action::Held { .. } => return "held",
        _ => {}
    }
    match recorded {
        Some(pin) if pin.is_unknown() => "unknown",
        Some(pin) => match pin.status {
            PinStatus::Done => "done",
            PinStatus::Failed => "failed",
            PinStatus::Blocked => "blocked",
            PinStatus::Pending | PinStatus::Deleted => "pending",
        },
        None => "pending",
    }
}

/// Runs `status`.
pub fn run(global: &GlobalArgs, args: &StatusArgs) -> anyhow::Result<ExitStatus> {
    let Some(loaded) = load_manifest(&args.manifest, &args.input, global)? else {
        return Ok(ExitStatus::Failure);
    };
    let manifest = &loaded.manifest;
    let policy = schedule_policy(&args.schedule, manifest.schedule.as_ref(), &loaded.zone)?;
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_state_path(&args.manifest));
    let snapshot = state::load(&state_path).map_err(common::state_failure)?;
    let now = jiff::Timestamp::now();
    let plan = plan::plan_with(
        manifest,
        snapshot.as_ref(),
        now,
        PlanOptions::default(),
        loaded.timing(policy.as_ref()),
    );
    let shared_notes: std::collections::HashMap<&str, String> = snapshot
        .iter()
        .flat_map(|snapshot| &snapshot.pins)
        .filter_map(|(key, pin)| {
            let other = pin.shared_with.as_deref()?;
            Some((
                key.as_str(),
                format!(
                    "pin {} is recorded for `{other}` too: check on Pinterest which pin is whose",
                    pin.pin_id.as_deref().unwrap_or("?")
                ),
            ))
        })
        .collect();
    let mut rows: Vec<Row<'_>> = manifest
        .pins
        .iter()
        .zip(&plan.pins)
        .map(|(spec, planned)| {
            let recorded = snapshot.as_ref().and_then(|s| s.pin(&spec.key));
            let status = status_name(recorded, &planned.action);
            let pin_id = recorded.and_then(|pin| pin.pin_id.as_deref());
            Row {
                key: &spec.key,
                location: spec.location.to_string(),
                status,
                pin_id,
                pin_url: pin_id.map(pin_url),
                attempts: recorded.map_or(0, |pin| pin.attempts),
                last_error: recorded
                    .filter(|pin| {
                        matches!(pin.status, PinStatus::Failed | PinStatus::Blocked)
                            || pin.is_unknown()
                    })
                    .and_then(|pin| pin.last_error.as_deref())
                    .or_else(|| shared_notes.get(spec.key.as_str()).map(String::as_str)),
                due: planned.due.map(|due| loaded.zone.rfc3339(due)),
            }
        })
        .collect();
    // When each row's pin is due, for people (rows of keys no longer in the manifest: never).
    let mut dues: Vec<Option<jiff::Timestamp>> = plan.pins.iter().map(|p| p.due).collect();
    // A key removed from the manifest whose create's outcome is unknown may have made a pin.
    let unknown_orphans = snapshot
        .as_ref()
        .map(|snapshot| plan::unknown_orphans(manifest, snapshot))
        .unwrap_or_default();
    let messages: Vec<String> = unknown_orphans.iter().map(|o| o.message()).collect();
    for (orphan, message) in unknown_orphans.iter().zip(&messages) {
        let recorded = snapshot.as_ref().and_then(|s| s.pin(&orphan.key));
        rows.push(Row {
            key: &orphan.key,
            location: "no longer in the manifest".to_owned(),
            status: "unknown",
            pin_id: None,
            pin_url: None,
            attempts: recorded.map_or(0, |pin| pin.attempts),
            last_error: Some(message),
            due: None,
        });
        dues.push(None);
    }
    let count = |name: &str| rows.iter().filter(|row| row.status == name).count();
    // Buffered: stdout is line-buffered, and a manifest may have many pins.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &rows)?;
            writeln!(stdout)?;
        }
        OutputFormat::Human => {
            if snapshot.is_none() {
                writeln!(
                    stdout,
                    "No state file at {}: nothing has been applied yet.",
                    state_path.display()
                )?;
            } else if let Some(snapshot) = &snapshot {
                writeln!(
                    stdout,
                    "State {} ({}{})",
                    state_path.display(),
                    snapshot.header.origin,
                    snapshot
                        .header
                        .username
                        .as_deref()
                        .map(|name| format!(", account {name}"))
                        .unwrap_or_default()
                )?;
            }
            for (row, due) in rows.iter().zip(&dues) {
                if row.status == "done" && row.last_error.is_none() {
                    continue;
                }
                let mut line = format!("{:<10} {}", row.status, row.key);
                if let (Some(due), "scheduled") = (due, row.status) {
                    line.push_str(&format!("  due at {}", loaded.zone.human(*due)));
                }
                if let Some(error) = row.last_error {
                    line.push_str(&format!("  {error}"));
                }
                line.push_str(&format!("  ({})", row.location));
                writeln!(stdout, "{line}")?;
            }
            let mut totals = format!(
                "{} done, {} failed, {} pending, {} unknown outcome, {} scheduled",
                count("done"),
                count("failed"),
                count("pending"),
                count("unknown"),
                count("scheduled")
            );
            if count("blocked") + count("held") > 0 {
                totals.push_str(&format!(
                    ", {} blocked as spam, {} held",
                    count("blocked"),
                    count("held")
                ));
            }
            writeln!(stdout, "{totals}")?;
            write_next(&mut stdout, &plan, &loaded, snapshot.as_ref(), now)?;
        }
    }
    stdout.flush()?;
    Ok(ExitStatus::Success)
}

/// `Next: pin-004 due at ...` (or due now), and a block of the account's writes, if one holds.
fn write_next(
    out: &mut impl std::io::Write,
    plan: &plan::Plan,
    loaded: &common::Loaded,
    snapshot: Option<&state::StateSnapshot>,
    now: jiff::Timestamp,
) -> std::io::Result<()> {
    if let Some(hold) = snapshot.and_then(|s| common::hold_in_force(s, now.as_millisecond())) {
        writeln!(
            out,
            "Pinterest refused this account's writes ({}); nothing is written before {}",
            hold.reason,
            common::moment_text(&loaded.zone, hold.until_ms)
        )?;
    }
    let due_now = plan
        .pins
        .iter()
        .find(|p| p.due.is_some() && matches!(p.action, Action::Create { .. }));
    if let Some(pin) = due_now {
        return writeln!(out, "Next: {} is due now", pin.key);
    }
    if let Some((due, key)) = crate::apply::follow::next_due(plan) {
        writeln!(out, "Next: {key} due at {}", loaded.zone.human(due))?;
    }
    Ok(())
}
