//! `pinbatch export`: a manifest as Pinterest's own bulk-create CSV, offline.
//!
//! What the bulk CSV cannot hold is reported as warnings on stderr (hidden by `-q`); the export
//! still succeeds.

use crate::cli::{ExportArgs, GlobalArgs};
use crate::commands::common::{self, load_manifest};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::fs::atomic::{self, Access, Existing};
use crate::render::export::{self, MAX_ROWS_PER_FILE};

/// Runs `export`.
pub fn run(global: &GlobalArgs, args: &ExportArgs) -> anyhow::Result<ExitStatus> {
    let Some(common::Loaded { manifest, .. }) = load_manifest(&args.manifest, &args.input, global)?
    else {
        return Ok(ExitStatus::Failure);
    };
    let out_dir = atomic::parent_dir(&args.output);
    let bulk = export::bulk_rows(&manifest, out_dir);
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
