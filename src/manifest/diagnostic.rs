//! Diagnostics: one problem found in a manifest, where it is, and how to fix it; plus the three
//! ways `validate` prints them (human, JSON, GitHub Actions annotations).

use std::fmt;
use std::fmt::Write as _;

use serde::Serialize;

use super::model::{Location, Position};

/// How bad a problem is: errors block sending anything, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The manifest cannot be used until this is fixed.
    Error,
    /// Probably a mistake, but the manifest is usable.
    Warning,
    /// Worth knowing, nothing to fix: what pinbatch will do (a conversion), or a count.
    Note,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One problem found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// File and line:column (YAML) or row (CSV).
    pub location: Location,
    /// The field or column concerned (`title`, `images[2].src`), when there is one.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `location`.
    pub fn error(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            location,
            field: None,
            message: message.into(),
            hint: None,
        }
    }

    /// A warning at `location`.
    pub fn warning(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(location, message)
        }
    }

    /// Names the field or column concerned.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Adds a `hint:` telling how to fix it.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A note at `location`: nothing to fix, but worth knowing.
    pub fn note(location: Location, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(location, message)
        }
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `pins.yaml:12:5: error: title: is 134 characters, at most 100 allowed`, then an indented
/// `hint:` line when there is one. CSV positions read `pins.csv: row 7: error: ...`.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: ", self.location, self.severity.as_str())?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Counts of errors, warnings and notes in a list of diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Number of errors.
    pub errors: usize,
    /// Number of warnings.
    pub warnings: usize,
    /// Number of notes.
    pub notes: usize,
}

impl Tally {
    /// Counts `diagnostics`.
    pub fn of(diagnostics: &[Diagnostic]) -> Tally {
        let count = |severity| {
            diagnostics
                .iter()
                .filter(|d| d.severity == severity)
                .count()
        };
        Tally {
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            notes: count(Severity::Note),
        }
    }
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// The human summary line: `examples/pins.yaml: 5 pins, 0 errors, 1 warning` for a valid
/// manifest (`pins` is Some), `pins.csv: invalid, 2 errors, 0 warnings` otherwise.
pub fn summary_line(file: &str, pins: Option<usize>, tally: Tally) -> String {
    let head = match pins {
        Some(pins) => plural(pins, "pin"),
        None => "invalid".to_owned(),
    };
    let notes = if tally.notes > 0 {
        format!(", {}", plural(tally.notes, "note"))
    } else {
        String::new()
    };
    format!(
        "{file}: {head}, {}, {}{notes}",
        plural(tally.errors, "error"),
        plural(tally.warnings, "warning")
    )
}

/// Diagnostics as readable lines (one per diagnostic, plus hint lines), warnings included only
/// when `include_warnings` is set. With `color`, the severity and `hint:` labels are coloured
/// with ANSI escapes; the text reads the same without them.
pub fn render_human(diagnostics: &[Diagnostic], include_warnings: bool, color: bool) -> String {
    const RESET: &str = "\x1b[0m";
    let mut out = String::new();
    for d in diagnostics {
        if !(d.is_error() || include_warnings) {
            continue;
        }
        if !color {
            let _ = writeln!(out, "{d}");
            continue;
        }
        let paint = match d.severity {
            Severity::Error => "\x1b[1;31m",
            Severity::Warning => "\x1b[1;33m",
            Severity::Note => "\x1b[1;36m",
        };
        let _ = write!(
            out,
            "{}: {paint}{}{RESET}: ",
            d.location,
            d.severity.as_str()
        );
        if let Some(field) = &d.field {
            let _ = write!(out, "\x1b[1m{field}{RESET}: ");
        }
        let _ = writeln!(out, "{}", d.message);
        if let Some(hint) = &d.hint {
            let _ = writeln!(out, "  \x1b[36mhint{RESET}: {hint}");
        }
    }
    out
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    line: Option<u32>,
    column: Option<u32>,
    row: Option<u32>,
    sheet: Option<&'a str>,
    cell: Option<String>,
    field: Option<&'a str>,
    severity: Severity,
    message: &'a str,
    hint: Option<&'a str>,
}

/// All diagnostics as one JSON array: objects with `file`, `line`, `column`, `row`, `sheet`,
/// `cell` (workbooks: `Sheet1!C7`), `field`, `severity`, `message` and `hint` (absent values are
/// `null`).
pub fn render_json(diagnostics: &[Diagnostic]) -> String {
    let items: Vec<JsonDiagnostic<'_>> = diagnostics
        .iter()
        .map(|d| {
            let (line, column, row) = match d.location.position {
                Position::File => (None, None, None),
                Position::LineColumn { line, column } => (Some(line), Some(column), None),
                Position::Row { row, line } => (Some(line), None, Some(row)),
                Position::Cell { row, column, .. } => {
                    (None, (column > 0).then_some(column), Some(row))
                }
            };
            let sheet = match d.location.position {
                Position::Cell { sheet, .. } => Some(sheet.as_str()),
                _ => None,
            };
            JsonDiagnostic {
                file: &d.location.file,
                line,
                column,
                row,
                sheet,
                cell: d.location.position.cell_reference(),
                field: d.field.as_deref(),
                severity: d.severity,
                message: &d.message,
                hint: d.hint.as_deref(),
            }
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned())
}

/// Escapes a value for a GitHub workflow command's message (`%`, CR, LF).
fn escape_github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a value for a GitHub workflow command's property (also `:` and `,`).
fn escape_github_property(text: &str) -> String {
    escape_github_data(text)
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// Diagnostics as GitHub Actions workflow commands, one per line:
/// `::error file=pins.yaml,line=12,col=5,title=title::is 134 characters, ...`.
///
/// See: <https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions>
pub fn render_github(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let mut properties = format!("file={}", escape_github_property(&d.location.file));
        match d.location.position {
            Position::File => {}
            Position::LineColumn { line, column } => {
                let _ = write!(properties, ",line={line},col={column}");
            }
            Position::Row { line, .. } => {
                let _ = write!(properties, ",line={line}");
            }
            // A workbook has no text lines to annotate: the cell goes in the message.
            Position::Cell { .. } => {}
        }
        let mut message = String::new();
        if let Position::Row { row, .. } = d.location.position {
            let _ = write!(message, "row {row}: ");
        }
        if let Some(cell) = d.location.position.cell_reference() {
            let _ = write!(message, "{cell}: ");
        }
        if let Some(field) = &d.field {
            let _ = write!(message, "{field}: ");
        }
        message.push_str(&d.message);
        if let Some(hint) = &d.hint {
            let _ = write!(message, "\nhint: {hint}");
        }
        // GitHub's three levels: a note is a `notice`.
        let level = match d.severity {
            Severity::Note => "notice",
            other => other.as_str(),
        };
        let _ = writeln!(
            out,
            "::{level} {properties}::{}",
            escape_github_data(&message)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn at(line: u32, column: u32) -> Location {
        Location {
            file: Arc::from("pins.yaml"),
            position: Position::LineColumn { line, column },
        }
    }

    #[test]
    fn display_reads_file_line_column_severity_field_message_hint() {
        let d = Diagnostic::error(at(12, 5), "is 134 characters, at most 100 allowed")
            .with_field("title")
            .with_hint("shorten it");
        assert_eq!(
            d.to_string(),
            "pins.yaml:12:5: error: title: is 134 characters, at most 100 allowed\n  hint: shorten it"
        );
    }

    #[test]
    fn csv_rows_display_as_rows() {
        let location = Location {
            file: Arc::from("pins.csv"),
            position: Position::Row { row: 7, line: 9 },
        };
        let d = Diagnostic::warning(location, "repeated").with_field("link");
        assert_eq!(d.to_string(), "pins.csv: row 7: warning: link: repeated");
    }

    #[test]
    fn human_output_colours_only_when_asked() {
        let d = Diagnostic::error(at(1, 2), "bad")
            .with_field("link")
            .with_hint("fix");
        let plain = render_human(std::slice::from_ref(&d), true, false);
        assert_eq!(plain, "pins.yaml:1:2: error: link: bad\n  hint: fix\n");
        let coloured = render_human(std::slice::from_ref(&d), true, true);
        assert!(coloured.contains("\x1b[1;31merror\x1b[0m"));
        let warning = Diagnostic::warning(at(1, 2), "meh");
        assert_eq!(render_human(&[warning], false, false), "");
    }

    #[test]
    fn github_lines_escape_and_carry_positions() {
        let d = Diagnostic::error(at(3, 1), "bad, really: 100%").with_hint("fix");
        assert_eq!(
            render_github(&[d]),
            "::error file=pins.yaml,line=3,col=1::bad, really: 100%25%0Ahint: fix\n"
        );
    }

    #[test]
    fn json_has_one_object_per_diagnostic() {
        let d = Diagnostic::warning(at(2, 4), "x").with_field("link");
        let value: serde_json::Value = serde_json::from_str(&render_json(&[d])).unwrap();
        assert_eq!(value[0]["line"], 2);
        assert_eq!(value[0]["column"], 4);
        assert_eq!(value[0]["row"], serde_json::Value::Null);
        assert_eq!(value[0]["severity"], "warning");
        assert_eq!(value[0]["field"], "link");
    }

    #[test]
    fn summary_pluralises() {
        let tally = Tally {
            errors: 0,
            warnings: 1,
            notes: 0,
        };
        assert_eq!(
            summary_line("examples/pins.yaml", Some(5), tally),
            "examples/pins.yaml: 5 pins, 0 errors, 1 warning"
        );
        let tally = Tally {
            errors: 2,
            warnings: 0,
            notes: 3,
        };
        assert_eq!(
            summary_line("p.csv", None, tally),
            "p.csv: invalid, 2 errors, 0 warnings, 3 notes"
        );
    }
}
