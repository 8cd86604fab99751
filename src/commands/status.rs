//! `pinbatch status`: a summary of the state file against the manifest: done, failed (with the
//! last error), pending, unknown outcome, scheduled. No network, no writes.

use std::io::Write as _;

use serde::Serialize;

use crate::apply::progress::pin_url;
use crate::cli::{GlobalArgs, OutputFormat, StatusArgs};
use crate::commands::common::{self, load_manifest};
use crate::commands::exit::ExitStatus;
use crate::state::{self, PinStatus};

#[derive(Serialize)]
struct Row<'a> {
    key: &'a str,
    location: String,
    status: &'static str,
    pin_id: Option<&'a str>,
    pin_url: Option<String>,
    attempts: u32,
    last_error: Option<&'a str>,
}

/// Runs `status`.
pub fn run(global: &GlobalArgs, args: &StatusArgs) -> anyhow::Result<ExitStatus> {
    let Some(common::Loaded { manifest, .. }) = load_manifest(&args.manifest, &args.input, global)?
    else {
        return Ok(ExitStatus::Failure);
    };
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_state_path(&args.manifest));
    let snapshot = state::load(&state_path).map_err(common::state_failure)?;
    let now = jiff::Timestamp::now();
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
        .map(|spec| {
            let recorded = snapshot.as_ref().and_then(|s| s.pin(&spec.key));
            let status = match recorded {
                Some(pin) if pin.is_unknown() => "unknown",
                Some(pin) => match pin.status {
                    PinStatus::Done => "done",
                    PinStatus::Failed => "failed",
                    PinStatus::Pending | PinStatus::Deleted => "pending",
                },
                None => "pending",
            };
            let status = match (status, spec.publish_at) {
                ("pending", Some(due)) if due > now => "scheduled",
                _ => status,
            };
            let pin_id = recorded.and_then(|pin| pin.pin_id.as_deref());
            Row {
                key: &spec.key,
                location: spec.location.to_string(),
                status,
                pin_id,
                pin_url: pin_id.map(pin_url),
                attempts: recorded.map_or(0, |pin| pin.attempts),
                last_error: recorded
                    .filter(|pin| pin.status == PinStatus::Failed || pin.is_unknown())
                    .and_then(|pin| pin.last_error.as_deref())
                    .or_else(|| shared_notes.get(spec.key.as_str()).map(String::as_str)),
            }
        })
        .collect();
    // A key removed from the manifest whose create's outcome is unknown may have made a pin.
    let unknown_orphans = snapshot
        .as_ref()
        .map(|snapshot| crate::plan::unknown_orphans(&manifest, snapshot))
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
        });
    }
    let count = |name: &str| rows.iter().filter(|row| row.status == name).count();
    let mut stdout = std::io::stdout().lock();
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
            for row in rows
                .iter()
                .filter(|row| row.status != "done" || row.last_error.is_some())
            {
                let mut line = format!("{:<10} {}", row.status, row.key);
                if let Some(error) = row.last_error {
                    line.push_str(&format!("  {error}"));
                }
                line.push_str(&format!("  ({})", row.location));
                writeln!(stdout, "{line}")?;
            }
            writeln!(
                stdout,
                "{} done, {} failed, {} pending, {} unknown outcome, {} scheduled",
                count("done"),
                count("failed"),
                count("pending"),
                count("unknown"),
                count("scheduled")
            )?;
        }
    }
    Ok(ExitStatus::Success)
}
