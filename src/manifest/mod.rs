//! Manifest reading and validation: YAML and CSV into one typed [`Manifest`], with diagnostics.
//!
//! [`load`] never panics on bad input and never stops at the first problem: it returns every
//! diagnostic it found, and a `Manifest` only when none of them is an error.

mod checks;
mod csv;
pub mod diagnostic;
mod entry;
pub mod files;
mod glob;
pub mod keys;
pub mod model;
pub mod raw;
pub mod schema;
mod suggest;
mod twins;
mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use diagnostic::{Diagnostic, Severity, Tally};
pub use model::*;

/// What [`load`] found: the manifest when it is valid, and every diagnostic (errors and warnings).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOutcome {
    /// The validated manifest; `Some` only when no diagnostic is an error.
    pub manifest: Option<Manifest>,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadOutcome {
    /// True when there is at least one error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The manifest formats, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Csv,
}

fn format_of(path: &Path) -> Option<Format> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "yaml" | "yml" => Some(Format::Yaml),
        "csv" => Some(Format::Csv),
        _ => None,
    }
}

/// The folder relative media paths start from: the manifest's own folder, made absolute.
fn base_dir_of(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

/// Reads and validates the manifest at `path` (`.yaml`, `.yml` or `.csv`).
pub fn load(path: &Path) -> LoadOutcome {
    let file: Arc<str> = Arc::from(path.display().to_string());
    let mut diagnostics = Vec::new();
    let whole_file = Location {
        file: file.clone(),
        position: Position::File,
    };
    let Some(format) = format_of(path) else {
        diagnostics.push(
            Diagnostic::error(whole_file, "is not a manifest: unknown file extension")
                .with_hint("use a .yaml, .yml or .csv file"),
        );
        return LoadOutcome {
            manifest: None,
            diagnostics,
        };
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            let hint = if err.kind() == std::io::ErrorKind::NotFound {
                "check the path"
            } else {
                "check the file's permissions"
            };
            diagnostics.push(
                Diagnostic::error(whole_file, format!("cannot read the manifest: {err}"))
                    .with_hint(hint),
            );
            return LoadOutcome {
                manifest: None,
                diagnostics,
            };
        }
    };
    let mut checker = checks::Checker::new(file.clone(), base_dir_of(path));
    let mut boards = Vec::new();
    match format {
        Format::Yaml => match std::str::from_utf8(&bytes) {
            Ok(text) => {
                let document = yaml::read(text, &file, &mut diagnostics);
                boards = checks::boards(&document.boards, &file, &mut diagnostics);
                if let Some(defaults) = &document.defaults {
                    checker.set_defaults(defaults, &mut diagnostics);
                }
                for pin in document.pins {
                    checker.add(pin, &mut diagnostics);
                }
            }
            Err(err) => {
                let valid = &bytes[..err.valid_up_to()];
                let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
                let column = valid
                    .rsplit(|b| *b == b'\n')
                    .next()
                    .map_or(0, |l| String::from_utf8_lossy(l).chars().count())
                    + 1;
                let position = Position::LineColumn {
                    line: u32::try_from(line).unwrap_or(u32::MAX),
                    column: u32::try_from(column).unwrap_or(u32::MAX),
                };
                diagnostics.push(
                    Diagnostic::error(
                        Location {
                            file: file.clone(),
                            position,
                        },
                        "is not valid UTF-8 text",
                    )
                    .with_hint("save the file as UTF-8"),
                );
            }
        },
        Format::Csv => csv::read(&bytes, &file, &mut diagnostics, |pin, diagnostics| {
            checker.add(pin, diagnostics);
        }),
    }
    let pins = checker.finish();
    diagnostics.extend(twins::warnings(&pins));
    if pins.is_empty() && !diagnostics.iter().any(Diagnostic::is_error) {
        diagnostics.push(
            Diagnostic::warning(
                Location {
                    file: file.clone(),
                    position: Position::File,
                },
                "the manifest has no pins",
            )
            .with_hint("add pins: one `pins:` entry or CSV row per pin"),
        );
    }
    sort_by_position(&mut diagnostics);
    let has_errors = diagnostics.iter().any(Diagnostic::is_error);
    let manifest = (!has_errors).then(|| Manifest {
        path: path.to_path_buf(),
        boards,
        pins,
    });
    LoadOutcome {
        manifest,
        diagnostics,
    }
}

/// File order: whole-file problems first, then by line and column (or row). Stable, so
/// problems at one place keep the order they were found in.
fn sort_by_position(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| match d.location.position {
        Position::File => (0, 0, 0),
        Position::LineColumn { line, column } => (1, line, column),
        Position::Row { row, .. } => (1, row, 0),
    });
}

#[cfg(test)]
mod tests;
