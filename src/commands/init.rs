//! `pinbatch init`: scaffold a manifest from a folder of images and videos, offline.
//!
//! Without `--board` the board is left empty: `validate` reports every pin until it is filled
//! in, so a scaffold never sends pins to a guessed board.

use crate::atomic::{self, Access, AtomicError, Existing};
use crate::cli::{GlobalArgs, InitArgs};
use crate::exit::{ExitStatus, Fatal};
use crate::scaffold::{self, ManifestFormat, MediaKind};

/// Runs `init`.
pub fn run(global: &GlobalArgs, args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| args.dir.join("pins.csv"));
    let Some(format) = ManifestFormat::of(&path) else {
        return Err(Fatal::new(
            ExitStatus::Usage,
            format!(
                "cannot tell the manifest format of `{}` from its name",
                path.display()
            ),
        )
        .with_hint("name the output file .csv, .yaml or .yml")
        .into());
    };
    if path.exists() && !args.force {
        return Err(exists(&path));
    }
    let scan = scaffold::scan(&args.dir, &args.glob, atomic::parent_dir(&path))
        .map_err(|err| Fatal::new(ExitStatus::Failure, err.to_string()))?;
    if !global.quiet {
        for skipped in &scan.skipped {
            eprintln!("warning: skipped {skipped}");
        }
    }
    if scan.files.is_empty() {
        return Err(Fatal::new(
            ExitStatus::Failure,
            format!(
                "no JPEG/PNG image or video under `{}` matches `{}`; nothing was written",
                args.dir.display(),
                args.glob
            ),
        )
        .with_hint("check the folder, or choose the files with --glob")
        .into());
    }
    let bytes = scaffold::render(&scan, args.board.as_deref(), format);
    let existing = if args.force {
        Existing::Replace
    } else {
        Existing::Keep
    };
    atomic::write(&path, &bytes, Access::Shared, existing).map_err(|err| match err {
        AtomicError::Exists(path) => exists(&path),
        other => anyhow::Error::new(other),
    })?;
    if !global.quiet {
        let videos = scan
            .files
            .iter()
            .filter(|file| file.kind == MediaKind::Video)
            .count();
        eprintln!(
            "Wrote {} with {} pin(s) ({} image(s), {videos} video(s)).",
            path.display(),
            scan.files.len(),
            scan.files.len() - videos
        );
        if args.board.is_none() {
            eprintln!(
                "Fill in the board (or pass --board when scaffolding), then run `pinbatch validate {}`.",
                path.display()
            );
        } else {
            eprintln!(
                "Next: edit titles and descriptions, then `pinbatch validate {}` and `pinbatch apply {}`.",
                path.display(),
                path.display()
            );
        }
    }
    Ok(ExitStatus::Success)
}

fn exists(path: &std::path::Path) -> anyhow::Error {
    Fatal::new(
        ExitStatus::Failure,
        format!("`{}` already exists; nothing was written", path.display()),
    )
    .with_hint("pass --force to replace it, or choose another file with -o")
    .into()
}
