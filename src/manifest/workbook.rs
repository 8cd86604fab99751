//! Workbook reader: one sheet of an `.xlsx`, `.xlsm`, `.xls` or `.ods` file (calamine) as a
//! table of pins, with the columns of a CSV manifest.
//!
//! The header row is the sheet's first non-empty row. Cells keep their types: a date cell is a
//! local date-time (Excel serials, 1900 or 1904 system), a whole number is written without `.0`
//! (a number in `board` is a board id), booleans read `TRUE`/`FALSE`, formulas give their
//! computed value, and an error cell (`#N/A`) is a diagnostic. Every diagnostic names its cell
//! (`Sheet1!C7`). Hidden rows and columns are read like the others. `.xlsx` sheets are streamed
//! cell by cell; the other formats load the sheet first.

use std::path::Path;
use std::sync::Arc;

use calamine::{Data, Reader, SheetType, SheetVisible, Sheets};

use super::datetime;
use super::diagnostic::Diagnostic;
use super::entry::PinEntry;
use super::model::{Location, Position, SheetName};
use super::suggest::unknown_name_hint;
use super::table::Table;

/// Workbook file extensions, lowercase.
pub const EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xls", "ods"];

/// Whole numbers at or above this may have lost digits: spreadsheets keep 15 significant ones.
const EXACT_DIGITS_LIMIT: f64 = 1e15;

/// Reads the sheet `sheet` (default: the first visible worksheet) of the workbook at `path`,
/// calling `on_pin` with each row's entry in order; problems go to `diagnostics`.
///
/// The file is untrusted input parsed by a third-party reader: should that reader panic on
/// it, the panic is caught (where panics unwind) and reported as a diagnostic, not a crash.
pub(crate) fn read(
    path: &Path,
    file: &Arc<str>,
    sheet: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
    on_pin: impl FnMut(PinEntry, &mut Vec<Diagnostic>),
) {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_sheet(path, file, sheet, diagnostics, on_pin);
    }));
    if caught.is_err() {
        diagnostics.push(
            Diagnostic::error(
                Location {
                    file: file.clone(),
                    position: Position::File,
                },
                "cannot read the workbook: the spreadsheet reader failed on it",
            )
            .with_hint(
                "open it in a spreadsheet program and save it again; please report the file",
            ),
        );
    }
}

fn read_sheet(
    path: &Path,
    file: &Arc<str>,
    sheet: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
    on_pin: impl FnMut(PinEntry, &mut Vec<Diagnostic>),
) {
    let at = |position: Position| Location {
        file: file.clone(),
        position,
    };
    let mut workbook = match calamine::open_workbook_auto(path) {
        Ok(workbook) => workbook,
        Err(err) => {
            diagnostics.push(
                Diagnostic::error(
                    at(Position::File),
                    format!("cannot read the workbook: {err}"),
                )
                .with_hint(
                    "save it from a spreadsheet program as .xlsx, .xlsm, .xls or .ods (without a password)",
                ),
            );
            return;
        }
    };
    let Some(name) = choose_sheet(&workbook, sheet, file, diagnostics) else {
        return;
    };
    let mut rows = Rows::new(SheetName::intern(&name), file.clone(), on_pin);
    let result = for_each_cell(&mut workbook, &name, |row, column, value| {
        rows.cell(row, column, value, diagnostics);
    });
    rows.finish(diagnostics);
    if let Err(err) = result {
        diagnostics.push(
            Diagnostic::error(
                at(Position::File),
                format!("cannot read sheet `{name}`: {err}"),
            )
            .with_hint("open the file in a spreadsheet program and save it again"),
        );
    }
}

/// Calls `visit` with every cell of the sheet `name` (0-based row and column), in row order:
/// `.xlsx` sheets are streamed, the other formats loaded first.
pub(super) fn for_each_cell<RS: std::io::Read + std::io::Seek>(
    workbook: &mut Sheets<RS>,
    name: &str,
    mut visit: impl FnMut(u32, u32, Data),
) -> Result<(), String> {
    match workbook {
        Sheets::Xlsx(xlsx) => match xlsx.worksheet_cells_reader(name) {
            Ok(mut cells) => loop {
                match cells.next_cell() {
                    Ok(Some(cell)) => {
                        let (row, column) = cell.get_position();
                        visit(row, column, Data::from(cell.get_value().clone()));
                    }
                    Ok(None) => break Ok(()),
                    Err(err) => break Err(err.to_string()),
                }
            },
            Err(err) => Err(err.to_string()),
        },
        other => match other.worksheet_range(name) {
            Ok(range) => {
                let (start_row, start_column) = range.start().unwrap_or((0, 0));
                for (row, column, value) in range.used_cells() {
                    let row = start_row.saturating_add(u32::try_from(row).unwrap_or(u32::MAX));
                    let column =
                        start_column.saturating_add(u32::try_from(column).unwrap_or(u32::MAX));
                    visit(row, column, value.clone());
                }
                Ok(())
            }
            Err(err) => Err(err.to_string()),
        },
    }
}

/// The sheet to read: the one named (exactly, else ignoring case), or the first visible
/// worksheet. `None` (reported) when there is none.
pub(super) fn choose_sheet<RS: std::io::Read + std::io::Seek>(
    workbook: &Sheets<RS>,
    wanted: Option<&str>,
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<String> {
    let at = Location {
        file: file.clone(),
        position: Position::File,
    };
    let sheets = workbook.sheets_metadata();
    let worksheets: Vec<&str> = sheets
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.as_str())
        .collect();
    match wanted {
        Some(wanted) => {
            let found = worksheets.iter().find(|name| **name == wanted).or_else(|| {
                worksheets
                    .iter()
                    .find(|name| name.eq_ignore_ascii_case(wanted))
            });
            match found {
                Some(name) => Some((*name).to_owned()),
                None => {
                    diagnostics.push(
                        Diagnostic::error(at, format!("the workbook has no sheet `{wanted}`"))
                            .with_hint(unknown_name_hint(wanted, &worksheets)),
                    );
                    None
                }
            }
        }
        None => {
            let first = sheets
                .iter()
                .find(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
                .or_else(|| sheets.iter().find(|s| s.typ == SheetType::WorkSheet));
            match first {
                Some(sheet) => Some(sheet.name.clone()),
                None => {
                    diagnostics.push(
                        Diagnostic::error(at, "the workbook has no worksheet")
                            .with_hint("add a sheet with a header row and one pin per row"),
                    );
                    None
                }
            }
        }
    }
}

/// Collects the cells of one row at a time (they arrive in row order) and turns finished rows
/// into the header or into pin entries.
struct Rows<F> {
    sheet: SheetName,
    file: Arc<str>,
    on_pin: F,
    /// The row being collected (0-based) and its non-empty cells (0-based column, value).
    current: Option<u32>,
    cells: Vec<(u32, Data)>,
    /// The header, once read: the table, and the sheet column of each table column.
    header: Option<Header>,
    /// The header row was read and was unusable: later rows are not checked.
    unusable: bool,
}

struct Header {
    table: Table,
    columns: Vec<u32>,
    row: u32,
}

impl<F: FnMut(PinEntry, &mut Vec<Diagnostic>)> Rows<F> {
    fn new(sheet: SheetName, file: Arc<str>, on_pin: F) -> Self {
        Rows {
            sheet,
            file,
            on_pin,
            current: None,
            cells: Vec::new(),
            header: None,
            unusable: false,
        }
    }

    fn position(&self, row: u32, column: u32) -> Position {
        Position::Cell {
            sheet: self.sheet,
            row: row.saturating_add(1),
            column: column.saturating_add(1),
        }
    }

    fn location(&self, position: Position) -> Location {
        Location {
            file: self.file.clone(),
            position,
        }
    }

    fn cell(&mut self, row: u32, column: u32, value: Data, diagnostics: &mut Vec<Diagnostic>) {
        if self.current != Some(row) {
            self.flush(diagnostics);
            self.current = Some(row);
        }
        let blank = match &value {
            Data::Empty => true,
            Data::String(text) => text.trim().is_empty(),
            _ => false,
        };
        if !blank {
            self.cells.push((column, value));
        }
    }

    fn finish(&mut self, diagnostics: &mut Vec<Diagnostic>) {
        self.flush(diagnostics);
        if self.header.is_none() && !self.unusable {
            diagnostics.push(
                Diagnostic::error(
                    self.location(Position::File),
                    format!("sheet `{}` is empty", self.sheet.as_str()),
                )
                .with_hint("the first non-empty row names the columns, e.g. board, title, image"),
            );
        }
    }

    fn flush(&mut self, diagnostics: &mut Vec<Diagnostic>) {
        let Some(row) = self.current.take() else {
            return;
        };
        let cells = std::mem::take(&mut self.cells);
        if cells.is_empty() || self.unusable {
            return;
        }
        match &self.header {
            None => self.read_header(row, cells, diagnostics),
            Some(_) => self.read_pin(row, cells, diagnostics),
        }
    }

    fn read_header(
        &mut self,
        row: u32,
        cells: Vec<(u32, Data)>,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let mut named = Vec::with_capacity(cells.len());
        let mut columns = Vec::with_capacity(cells.len());
        for (column, value) in cells {
            let position = self.position(row, column);
            match value {
                Data::String(text) => named.push((text, position)),
                Data::Error(error) => {
                    diagnostics.push(error_cell(self.location(position), &error.to_string()));
                    self.unusable = true;
                    return;
                }
                other => named.push((plain_text(&other), position)),
            }
            columns.push(column);
        }
        match Table::from_header(&named, &self.file, diagnostics) {
            Some(table) => {
                self.header = Some(Header {
                    table,
                    columns,
                    row,
                });
            }
            None => self.unusable = true,
        }
    }

    fn read_pin(&mut self, row: u32, cells: Vec<(u32, Data)>, diagnostics: &mut Vec<Diagnostic>) {
        let Some(header) = &self.header else {
            return;
        };
        let mut entry = PinEntry::empty(Position::Cell {
            sheet: self.sheet,
            row: row.saturating_add(1),
            column: 0,
        });
        for (column, value) in cells {
            let position = self.position(row, column);
            let Some(index) = header.columns.iter().position(|c| *c == column) else {
                diagnostics.push(
                    Diagnostic::error(
                        self.location(position),
                        format!(
                            "the cell has a value but its column has no name in the header (row {})",
                            header.row + 1
                        ),
                    )
                    .with_hint("name the column in the header row, or clear the cell"),
                );
                entry.malformed = true;
                continue;
            };
            if header.table.is_ignored(index) {
                continue;
            }
            let field = header.table.name(index);
            match cell_text(&value, header.table.is_publish_time(index)) {
                Ok(text) if text.is_empty() => {}
                Ok(text) => header.table.fill(&mut entry, index, &text, position),
                Err(problem) => {
                    let diagnostic = match problem {
                        CellProblem::Error(error) => {
                            error_cell(self.location(position), &error).with_field(field)
                        }
                        CellProblem::Bad { message, hint } => {
                            Diagnostic::error(self.location(position), message)
                                .with_field(field)
                                .with_hint(hint)
                        }
                    };
                    let before = diagnostics.len();
                    diagnostics.push(diagnostic);
                    header.table.rename_fields(&mut diagnostics[before..]);
                    entry.malformed = true;
                }
            }
        }
        // A malformed entry still goes through the checks: they report its other problems
        // (without repeating a missing field already reported) and never accept it.
        let before = diagnostics.len();
        (self.on_pin)(entry, diagnostics);
        header.table.rename_fields(&mut diagnostics[before..]);
    }
}

fn error_cell(location: Location, error: &str) -> Diagnostic {
    Diagnostic::error(
        location,
        format!("the cell holds the spreadsheet error {error}"),
    )
    .with_hint("fix the formula or the cells it refers to, or clear the cell")
}

/// Why a cell's value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CellProblem {
    /// An error value such as `#N/A`.
    Error(String),
    /// A value of the wrong kind for its column.
    Bad { message: String, hint: String },
}

/// A cell as the text pinbatch reads, by its type. In the publish-time column a date cell
/// becomes a local date-time (`2026-12-24 09:00:00`), and a plain number is refused.
fn cell_text(value: &Data, publish_time: bool) -> Result<String, CellProblem> {
    let bad = |message: String, hint: &str| CellProblem::Bad {
        message,
        hint: hint.to_owned(),
    };
    const DATE_HINT: &str = "format the cell as a date and time, or write e.g. 2026-12-24 09:00";
    match value {
        Data::Empty => Ok(String::new()),
        Data::String(text) => Ok(text.trim().to_owned()),
        Data::Error(error) => Err(CellProblem::Error(error.to_string())),
        Data::Int(_) | Data::Float(_) if publish_time => Err(bad(
            format!("is the number {}, not a date", plain_text(value)),
            DATE_HINT,
        )),
        Data::Float(number) if number.fract() == 0.0 && number.abs() >= EXACT_DIGITS_LIMIT => {
            Err(bad(
                format!(
                    "is the number {}: more digits than a spreadsheet keeps exactly (15)",
                    plain_text(value)
                ),
                "format the column as Text and type the value again (board ids are long numbers)",
            ))
        }
        Data::DateTime(date) if date.is_duration() => {
            Err(bad("holds a duration, not a date".to_owned(), DATE_HINT))
        }
        Data::DateTime(date) => {
            let (year, month, day, hour, minute, second, milli) = date.to_ymd_hms_milli();
            let civil = civil_from_parts(year, month, day, hour, minute, second, milli)
                .ok_or_else(|| {
                    bad(
                        format!("holds a date that does not exist ({year}-{month:02}-{day:02})"),
                        DATE_HINT,
                    )
                })?;
            Ok(
                if publish_time || civil.time() != jiff::civil::Time::midnight() {
                    datetime::local_text(civil)
                } else {
                    civil.date().to_string()
                },
            )
        }
        Data::DateTimeIso(text) if publish_time => {
            // ODS dates carry no offset: a local date-time, like a typed one.
            let has_offset = text.parse::<jiff::Timestamp>().is_ok();
            Ok(if has_offset {
                text.clone()
            } else {
                text.replacen('T', " ", 1)
            })
        }
        Data::DurationIso(_) if publish_time => {
            Err(bad("holds a duration, not a date".to_owned(), DATE_HINT))
        }
        other => Ok(plain_text(other)),
    }
}

/// A civil date-time from a spreadsheet's parts, rounded to the second.
pub(super) fn civil_from_parts(
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    milli: u16,
) -> Option<jiff::civil::DateTime> {
    let civil = jiff::civil::DateTime::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
        i8::try_from(hour).ok()?,
        i8::try_from(minute).ok()?,
        i8::try_from(second).ok()?,
        0,
    )
    .ok()?;
    if milli >= 500 {
        civil.checked_add(jiff::Span::new().seconds(1)).ok()
    } else {
        Some(civil)
    }
}

/// A value as a spreadsheet shows it by default: whole numbers without `.0`, other numbers with
/// at most 15 significant digits, booleans as `TRUE`/`FALSE`.
fn plain_text(value: &Data) -> String {
    match value {
        Data::Empty => String::new(),
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => text.clone(),
        Data::Int(number) => number.to_string(),
        Data::Float(number) => number_text(*number),
        Data::Bool(true) => "TRUE".to_owned(),
        Data::Bool(false) => "FALSE".to_owned(),
        Data::DateTime(date) => number_text(date.as_f64()),
        Data::Error(error) => error.to_string(),
    }
}

/// A number as a spreadsheet shows it by default: whole numbers without `.0`, others with at
/// most the 15 significant digits a spreadsheet keeps.
pub(crate) fn number_text(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < EXACT_DIGITS_LIMIT {
        #[allow(clippy::cast_possible_truncation)]
        let whole = number as i64;
        return whole.to_string();
    }
    // Round to the 15 significant digits a spreadsheet keeps, then print the shortest form.
    let rounded: f64 = format!("{number:.14e}").parse().unwrap_or(number);
    rounded.to_string()
}

#[cfg(test)]
mod tests {
    use calamine::{CellErrorType, ExcelDateTime, ExcelDateTimeType};

    use super::*;

    fn date(serial: f64, is_1904: bool) -> Data {
        Data::DateTime(ExcelDateTime::new(
            serial,
            ExcelDateTimeType::DateTime,
            is_1904,
        ))
    }

    #[test]
    fn numbers_read_as_a_spreadsheet_shows_them() {
        assert_eq!(cell_text(&Data::Float(12.0), false).unwrap(), "12");
        assert_eq!(
            cell_text(&Data::Int(549_755_885_175), false).unwrap(),
            "549755885175"
        );
        assert_eq!(cell_text(&Data::Float(0.1 + 0.2), false).unwrap(), "0.3");
        assert_eq!(cell_text(&Data::Float(-2.5), false).unwrap(), "-2.5");
        assert_eq!(cell_text(&Data::Bool(true), false).unwrap(), "TRUE");
        assert!(matches!(
            cell_text(&Data::Float(1_234_567_890_123_456_800.0), false),
            Err(CellProblem::Bad { .. })
        ));
    }

    #[test]
    fn date_cells_in_both_systems_are_local_times() {
        // 2026-12-24 09:00 is serial 46380.375 (1900 system) and 44918.375 (1904 system).
        for (serial, is_1904) in [
            (46380.375, false),
            (44918.375, true),
            (46_380.374_999_9, false),
        ] {
            assert_eq!(
                cell_text(&date(serial, is_1904), true).unwrap(),
                "2026-12-24 09:00:00",
                "{serial} {is_1904}"
            );
        }
        assert_eq!(
            cell_text(&date(46380.0, false), false).unwrap(),
            "2026-12-24"
        );
        assert_eq!(
            cell_text(&Data::DateTimeIso("2026-12-24T09:00:00".into()), true).unwrap(),
            "2026-12-24 09:00:00"
        );
        let duration = Data::DateTime(ExcelDateTime::new(0.5, ExcelDateTimeType::TimeDelta, false));
        assert!(cell_text(&duration, true).is_err());
        assert!(cell_text(&Data::Float(46380.375), true).is_err());
    }

    #[test]
    fn error_cells_are_problems() {
        assert_eq!(
            cell_text(&Data::Error(CellErrorType::NA), false),
            Err(CellProblem::Error("#N/A".into()))
        );
    }
}
