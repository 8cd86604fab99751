//! `pinbatch export`: a manifest as Pinterest's own bulk-create CSV, offline.
//!
//! What the bulk CSV cannot hold is reported as warnings on stderr (hidden by `-q`); the export
//! still succeeds. Under a schedule policy each pin's time is written as its publish date, so
//! that Pinterest's own scheduler can run the drip; the times are planned as if nothing had been
//! published, starting [`EXPORT_LEAD`] from now. Pins the schedule puts beyond `--horizon` (how
//! far ahead the bulk upload takes a date) are listed and left out: export again later for them.

use std::time::Duration;

use crate::cli::{ExportArgs, GlobalArgs};
use crate::commands::common::{self, load_manifest};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::commands::settings::schedule_policy;
use crate::fs::atomic::{self, Access, Existing};
use crate::manifest::Manifest;
use crate::plan::{self, PlanOptions};
use crate::render::export::{self, MAX_ROWS_PER_FILE};

/// How far from now the first exported time is, at the earliest: time to upload the file.
pub const EXPORT_LEAD: Duration = Duration::from_secs(15 * 60);

/// Runs `export`.
pub fn run(global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<ExitStatus> {
    let Some(loaded) = load_manifest(&args.manifest, &args.input, global)? else {
        return Ok(ExitStatus::Failure);
    };
    let policy = schedule_policy(
        &args.schedule,
        loaded.manifest.schedule.as_ref(),
        &loaded.zone,
    )?;
    let now = jiff::Timestamp::now();
    let horizon =
        now + jiff::SignedDuration::try_from(args.horizon).unwrap_or(jiff::SignedDuration::MAX);
    let (manifest, dates) = match &policy {
        None => (loaded.manifest.clone(), Vec::new()),
        Some(_) => {
            let from = now
                + jiff::SignedDuration::try_from(EXPORT_LEAD).unwrap_or(jiff::SignedDuration::ZERO);
            let plan = plan::plan_with(
                &loaded.manifest,
                None,
                from,
                PlanOptions::default(),
                loaded.timing(policy.as_ref()),
            );
            within_horizon(&loaded, &plan, horizon, global)
        }
    };
    if !global.quiet {
        for pin in manifest
            .pins
            .iter()
            .filter(|pin| pin.publish_at.is_some_and(|at| at > horizon))
        {
            eprintln!(
                "warning: pin `{}` ({}): its publish_at is more than {} ahead; Pinterest's bulk upload may refuse it",
                pin.key,
                pin.location,
                humantime::format_duration(args.horizon)
            );
        }
    }
    let out_dir = atomic::parent_dir(&args.output);
    let bulk = export::bulk_rows(&manifest, out_dir, &dates);
    if !global.quiet {
        for warning in &bulk.warnings {
            eprintln!("warning: {warning}");
        }
    }
    let paths = export::output_paths(&args.output, bulk.rows.len());
    let chunks: Vec<&[export::BulkRow]> = if bulk.rows.is_empty() {
        vec![&[]]
    } else {
        bulk.rows.chunks(MAX_ROWS_PER_FILE).collect()
    };
    for (path, rows) in paths.iter().zip(chunks) {
        let bytes = export::render(rows);
        atomic::write(path, &bytes, Access::Shared, Existing::Replace).map_err(|err| {
            Fatal::new(ExitStatus::Failure, err.to_string())
                .with_hint("check that the folder exists and is writable")
        })?;
        if !global.quiet {
            eprintln!("Wrote {} ({} pin(s))", path.display(), rows.len());
        }
    }
    // Not deleted: they may have been renamed or edited by hand since; the user decides.
    let leftovers = if global.quiet {
        Vec::new()
    } else {
        export::leftover_parts(&args.output, &paths)
    };
    for leftover in leftovers {
        eprintln!(
            "warning: {} is left from an earlier export and was not overwritten; delete it before uploading, or its pins will be created twice",
            leftover.display()
        );
    }
    if !global.quiet && bulk.skipped > 0 {
        eprintln!(
            "{} pin(s) could not be exported (see the warnings above)",
            bulk.skipped
        );
    }
    Ok(ExitStatus::Success)
}

/// The pins the schedule puts within the horizon, with their times; those beyond it are
/// listed on stderr (not with `-q`) and left out.
fn within_horizon(
    loaded: &common::Loaded,
    plan: &plan::Plan,
    horizon: jiff::Timestamp,
    global: &GlobalArgs,
) -> (Manifest, Vec<Option<jiff::Timestamp>>) {
    let mut manifest = loaded.manifest.clone();
    let mut dates = Vec::with_capacity(plan.pins.len());
    let mut later = Vec::new();
    let mut kept = Vec::with_capacity(manifest.pins.len());
    for (pin, planned) in manifest.pins.drain(..).zip(&plan.pins) {
        match planned.due {
            Some(due) if due > horizon && pin.publish_at.is_none() => later.push((pin, due)),
            due => {
                dates.push(due.or(pin.publish_at));
                kept.push(pin);
            }
        }
    }
    manifest.pins = kept;
    if !later.is_empty() && !global.quiet {
        eprintln!(
            "{} pin(s) are due after {} and were left out (Pinterest's bulk upload takes dates up to --horizon ahead); export again later for them:",
            later.len(),
            loaded.zone.human(horizon)
        );
        for (pin, due) in &later {
            eprintln!(
                "  {}  due {}  ({})",
                pin.key,
                loaded.zone.human(*due),
                pin.location
            );
        }
    }
    (manifest, dates)
}
