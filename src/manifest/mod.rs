//! Manifest reading and validation: YAML, CSV and workbooks into one typed [`Manifest`], with
//! diagnostics.
//!
//! [`load`] never panics on bad input and never stops at the first problem: it returns every
//! diagnostic it found, and a `Manifest` only when none of them is an error. `init`'s scaffold
//! (a starter manifest from a folder of media) lives here too, as the reader's inverse, and
//! [`written`], a table manifest's cells as the user wrote them, for `pinbatch report`.
//!
//! The first stage of the pipeline: may use `fs` and the leaves, nothing else of pinbatch.

mod checks;
mod csv;
pub mod datetime;
pub mod diagnostic;
pub mod encoding;
mod entry;
pub mod files;
mod glob;
pub mod image;
pub mod keys;
pub mod limits;
pub(crate) mod links;
pub mod media;
pub mod model;
pub mod outside;
pub mod raw;
pub(crate) mod scaffold;
pub mod schedule;
pub mod schema;
pub(crate) mod suggest;
pub(crate) mod table;
pub(crate) mod twins;
pub mod utm;
pub mod video;
pub mod workbook;
pub mod written;
mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use datetime::PublishZone;
pub use diagnostic::{Diagnostic, Severity, Tally};
pub use encoding_rs::Encoding;
pub use model::*;
pub use schedule::SchedulePolicy;
pub use table::{BULK_COLUMNS, METRIC_COLUMNS, NATIVE_COLUMNS, RESULT_COLUMNS};

/// How to read a manifest: the `--sheet`, `--encoding` and `--timezone` options.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Workbooks: the sheet to read (default: the first visible worksheet).
    pub sheet: Option<String>,
    /// CSV: the text encoding (default: detected).
    pub encoding: Option<&'static Encoding>,
    /// The zone local publish times are read in (default: `defaults.timezone` of a YAML
    /// manifest, else the machine's).
    pub timezone: Option<PublishZone>,
    /// Keep what was written for pins that failed their checks (for `preview`).
    pub keep_rejected: bool,
    /// How local images may be prepared for upload (`--no-convert`, `--fit`).
    pub media: media::MediaRules,
    /// `--utm NAME=VALUE`: UTM values over `defaults.utm` (names without `utm_`).
    pub utm: Vec<(String, String)>,
}

/// What [`load`] found: the manifest when it is valid, and every diagnostic (errors and warnings).
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    /// The validated manifest; `Some` only when no diagnostic is an error.
    pub manifest: Option<Manifest>,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// With [`LoadOptions::keep_rejected`] and errors: the manifest of the pins that passed
    /// their checks (`manifest` is `None` then).
    pub partial: Option<Manifest>,
    /// The time zone local publish times were read in.
    pub zone: PublishZone,
    /// With [`LoadOptions::keep_rejected`]: the pins that failed their checks, as written.
    pub rejected: Vec<PinDraft>,
}

impl LoadOutcome {
    /// True when there is at least one error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The manifest formats, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.yaml`, `.yml`.
    Yaml,
    /// `.csv`.
    Csv,
    /// `.xlsx`, `.xlsm`, `.xls`, `.ods`.
    Workbook,
}

impl Format {
    /// The format of a manifest path, by its extension.
    pub fn of(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "csv" => Some(Format::Csv),
            other if workbook::EXTENSIONS.contains(&other) => Some(Format::Workbook),
            _ => None,
        }
    }

    /// Whether the format can declare boards to create (`boards:`); only YAML can.
    pub fn declares_boards(self) -> bool {
        self == Format::Yaml
    }
}

/// The folder relative media paths start from: the manifest's own folder, made absolute.
pub fn base_dir_of(path: &Path) -> PathBuf {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf())
}

/// Reads and validates the manifest at `path` with the default options.
pub fn load(path: &Path) -> LoadOutcome {
    load_with(path, &LoadOptions::default())
}

/// Reads and validates the manifest at `path` (`.yaml`, `.yml`, `.csv`, `.xlsx`, `.xlsm`,
/// `.xls` or `.ods`).
pub fn load_with(path: &Path, options: &LoadOptions) -> LoadOutcome {
    let file: Arc<str> = Arc::from(path.display().to_string());
    let mut diagnostics = Vec::new();
    let whole_file = Location {
        file: file.clone(),
        position: Position::File,
    };
    let failed = |diagnostics: Vec<Diagnostic>, zone: PublishZone| LoadOutcome {
        manifest: None,
        diagnostics,
        partial: None,
        zone,
        rejected: Vec::new(),
    };
    let zone = || options.timezone.clone().unwrap_or_else(PublishZone::system);
    let Some(format) = Format::of(path) else {
        diagnostics.push(
            Diagnostic::error(whole_file, "is not a manifest: unknown file extension")
                .with_hint("use a .yaml, .yml, .csv, .xlsx, .xlsm, .xls or .ods file"),
        );
        return failed(diagnostics, zone());
    };
    warn_of_ignored_options(format, options, &whole_file, &mut diagnostics);
    let mut checker = checks::Checker::new(file.clone(), base_dir_of(path));
    if options.keep_rejected {
        checker.keep_rejected();
    }
    checker.set_media_rules(options.media);
    checker.set_utm_flag(options.utm.clone());
    if let Err(too_large) = check_size(path, format) {
        diagnostics.push(
            Diagnostic::error(
                Location {
                    file: file.clone(),
                    position: too_large.position,
                },
                too_large.message,
            )
            .with_hint(too_large.hint),
        );
        return failed(diagnostics, zone());
    }
    if format == Format::Workbook {
        checker.set_zone(zone());
        workbook::read(
            path,
            &file,
            options.sheet.as_deref(),
            &mut diagnostics,
            |pin, diagnostics| checker.add(pin, diagnostics),
        );
        return finish(path, file, checker, Vec::new(), None, diagnostics);
    }
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
            return failed(diagnostics, zone());
        }
    };
    let mut boards = Vec::new();
    let mut schedule = None;
    match format {
        Format::Yaml => match std::str::from_utf8(&bytes) {
            Ok(text) => {
                (boards, schedule) =
                    read_yaml(text, &file, options, &mut checker, &mut diagnostics);
            }
            Err(err) => diagnostics.push(not_utf8(&bytes, err.valid_up_to(), &file)),
        },
        Format::Csv => {
            checker.set_zone(zone());
            csv::read(
                &bytes,
                &file,
                options.encoding,
                &mut diagnostics,
                |pin, diagnostics| checker.add(pin, diagnostics),
            );
        }
        Format::Workbook => {}
    }
    finish(path, file, checker, boards, schedule, diagnostics)
}

/// Refuses, before reading it, a manifest whose reading would cost more than its format's bound
/// (see [`limits`]).
fn check_size(path: &Path, format: Format) -> Result<(), limits::TooLarge> {
    match format {
        Format::Yaml => limits::check_file_size(path, limits::MAX_YAML_BYTES, "YAML"),
        Format::Csv => limits::check_file_size(path, limits::MAX_CSV_BYTES, "CSV"),
        Format::Workbook => limits::check_workbook(path),
    }
}

/// Warns of `--sheet` and `--encoding` given for a file they do not apply to.
fn warn_of_ignored_options(
    format: Format,
    options: &LoadOptions,
    whole_file: &Location,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if options.sheet.is_some() && format != Format::Workbook {
        diagnostics.push(
            Diagnostic::warning(
                whole_file.clone(),
                "--sheet is ignored: the file is not a workbook",
            )
            .with_hint("--sheet chooses the sheet of an .xlsx, .xlsm, .xls or .ods file"),
        );
    }
    if options.encoding.is_some() && format != Format::Csv {
        diagnostics.push(
            Diagnostic::warning(
                whole_file.clone(),
                "--encoding is ignored: the file is not a CSV file",
            )
            .with_hint("YAML manifests are UTF-8; workbooks carry their own encoding"),
        );
    }
}

/// Reads a YAML manifest's text into the checker (its time zone and defaults first) and
/// returns its declared boards and its schedule.
fn read_yaml(
    text: &str,
    file: &Arc<str>,
    options: &LoadOptions,
    checker: &mut checks::Checker,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<BoardDecl>, Option<SchedulePolicy>) {
    let document = yaml::read(text, file, diagnostics);
    let boards = checks::boards(&document.boards, file, diagnostics);
    let declared = document.defaults.as_ref().and_then(|d| d.timezone.as_ref());
    let zone = match (&options.timezone, declared) {
        (Some(zone), _) => zone.clone(),
        (None, Some(name)) => PublishZone::named(&name.value).unwrap_or_else(|message| {
            diagnostics.push(
                Diagnostic::error(
                    Location {
                        file: file.clone(),
                        position: name.pos,
                    },
                    message,
                )
                .with_field("defaults.timezone")
                .with_hint("write an IANA time zone name, e.g. Europe/Paris or Asia/Tokyo"),
            );
            PublishZone::system()
        }),
        (None, None) => PublishZone::system(),
    };
    let schedule = document
        .schedule
        .as_ref()
        .and_then(|entry| schedule::policy_from_entry(entry, &zone, file, diagnostics));
    checker.set_zone(zone);
    if let Some(defaults) = &document.defaults {
        checker.set_defaults(defaults, diagnostics);
    }
    for pin in document.pins {
        checker.add(pin, diagnostics);
    }
    (boards, schedule)
}

/// The error for a YAML file that is not UTF-8, at the first byte that is not.
fn not_utf8(bytes: &[u8], valid_up_to: usize, file: &Arc<str>) -> Diagnostic {
    let valid = &bytes[..valid_up_to];
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
    Diagnostic::error(
        Location {
            file: file.clone(),
            position,
        },
        "is not valid UTF-8 text",
    )
    .with_hint("save the file as UTF-8")
}

/// The outcome once every entry went through the checks.
fn finish(
    path: &Path,
    file: Arc<str>,
    mut checker: checks::Checker,
    boards: Vec<BoardDecl>,
    schedule: Option<SchedulePolicy>,
    mut diagnostics: Vec<Diagnostic>,
) -> LoadOutcome {
    let zone = checker.zone().clone();
    let rejected = checker.take_rejected();
    let keep_partial = checker.keeps_rejected();
    // Under a drip schedule, the planner keeps the pins it times `same_link` apart; the pins
    // given their own `publish_at` are checked against that spacing here.
    let spacing = schedule
        .as_ref()
        .filter(|policy| policy.has_pace())
        .map(|policy| policy.same_link.unwrap_or(schedule::DEFAULT_SAME_LINK));
    diagnostics.extend(links::repeated(checker.link_uses(), spacing));
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
    let manifest = Manifest {
        path: path.to_path_buf(),
        boards,
        pins,
        schedule,
    };
    let (manifest, partial) = match (has_errors, keep_partial) {
        (false, _) => (Some(manifest), None),
        (true, true) => (None, Some(manifest)),
        (true, false) => (None, None),
    };
    LoadOutcome {
        manifest,
        diagnostics,
        partial,
        zone,
        rejected,
    }
}

/// File order: whole-file problems first, then by line and column (or row, or cell). Stable,
/// so problems at one place keep the order they were found in.
pub fn sort_by_position(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| match d.location.position {
        Position::File => (0, 0, 0),
        Position::LineColumn { line, column } => (1, line, column),
        Position::Row { row, .. } => (1, row, 0),
        Position::Cell { row, column, .. } => (1, row, column),
    });
}

#[cfg(test)]
mod tests;
