//! `pinbatch init`: scaffold a manifest from a folder of images and videos: CSV or YAML offline,
//! or a workbook (`--xlsx`) whose board column offers the account's boards when logged in.
//!
//! Without `--board` the board is left empty: `validate` reports every pin until it is filled
//! in, so a scaffold never sends pins to a guessed board.

use std::path::{Path, PathBuf};

use crate::cli::{GlobalArgs, InitArgs};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::commands::settings::{ClientOptions, GlobalSettings};
use crate::fs::atomic::{self, Access, AtomicError, Existing};
use crate::manifest::scaffold::{self, ManifestFormat, MediaKind, Scan};

/// What `init` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// A CSV or YAML manifest.
    Text(ManifestFormat),
    /// A workbook.
    Workbook,
}

fn is_workbook(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
}

/// Runs `init`.
pub async fn run(global: &GlobalArgs, args: &InitArgs) -> anyhow::Result<ExitStatus> {
    let path: PathBuf = match (&args.xlsx, &args.output, &args.dir) {
        (Some(xlsx), _, _) => xlsx.clone(),
        (None, Some(output), _) => output.clone(),
        (None, None, Some(dir)) => dir.join("pins.csv"),
        (None, None, None) => {
            return Err(Fatal::new(ExitStatus::Usage, "init needs a folder or --xlsx FILE").into());
        }
    };
    let kind = if is_workbook(&path) {
        Output::Workbook
    } else {
        match ManifestFormat::of(&path) {
            Some(format) if args.xlsx.is_none() => Output::Text(format),
            _ => {
                return Err(Fatal::new(
                    ExitStatus::Usage,
                    format!(
                        "cannot tell the manifest format of `{}` from its name",
                        path.display()
                    ),
                )
                .with_hint("name the output file .csv, .yaml, .yml or .xlsx")
                .into());
            }
        }
    };
    if path.exists() && !args.force {
        return Err(exists(&path));
    }
    let scan = match &args.dir {
        Some(dir) => scaffold::scan(dir, &args.glob, atomic::parent_dir(&path))
            .map_err(|err| Fatal::new(ExitStatus::Failure, err.to_string()))?,
        None => Scan::default(),
    };
    if !global.quiet {
        for skipped in &scan.skipped {
            eprintln!("warning: skipped {skipped}");
        }
    }
    if let (true, Some(dir)) = (scan.files.is_empty(), &args.dir) {
        return Err(Fatal::new(
            ExitStatus::Failure,
            format!(
                "no JPEG/PNG image or video under `{}` matches `{}`; nothing was written",
                dir.display(),
                args.glob
            ),
        )
        .with_hint("check the folder, or choose the files with --glob")
        .into());
    }
    let bytes = match kind {
        Output::Text(format) => scaffold::render(&scan, args.board.as_deref(), format),
        Output::Workbook => {
            let boards = account_boards(global).await;
            if !global.quiet {
                match &boards {
                    Ok(names) => eprintln!(
                        "The board column offers your {} board(s) in a drop-down.",
                        names.len()
                    ),
                    Err(why) => eprintln!("The board column has no drop-down: {why}."),
                }
            }
            crate::render::template::render(
                &scan,
                args.board.as_deref(),
                boards.as_deref().unwrap_or_default(),
            )
            .map_err(|err| {
                Fatal::new(
                    ExitStatus::Failure,
                    format!("cannot make the workbook: {err}"),
                )
            })?
        }
    };
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

/// The names of the account's boards when a token is at hand (`auth login`, the environment or
/// `--token-file`); otherwise, or when the listing fails, why there are none. A short timeout
/// and one retry: a scaffold should not wait long for a drop-down.
async fn account_boards(global: &GlobalArgs) -> Result<Vec<String>, String> {
    let settings = GlobalSettings::resolve(global).map_err(|err| err.to_string())?;
    if settings
        .credentials()
        .map_err(|err| err.to_string())?
        .is_none()
    {
        return Err("not logged in (run `pinbatch auth login` to get one)".to_owned());
    }
    let mut options = ClientOptions::default();
    options.retry.max_retries = 1;
    options.timeout = std::time::Duration::from_secs(10);
    let client = settings
        .api_client(options)
        .map_err(|err| err.to_string())?;
    let boards = client
        .list_boards()
        .await
        .map_err(|err| format!("the boards could not be listed ({err})"))?;
    let mut names: Vec<String> = boards.into_iter().map(|board| board.name).collect();
    names.sort_by_key(|name| name.to_lowercase());
    names.dedup();
    Ok(names)
}

fn exists(path: &std::path::Path) -> anyhow::Error {
    Fatal::new(
        ExitStatus::Failure,
        format!("`{}` already exists; nothing was written", path.display()),
    )
    .with_hint("pass --force to replace it, or choose another file with -o")
    .into()
}
