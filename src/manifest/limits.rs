//! What reading a manifest may cost, checked before it is read: the size of a CSV or YAML
//! file, the size of a workbook's parts once unzipped, and the grid an `.ods` sheet expands to.
//!
//! A manifest small on disk can be huge once read: calamine loads every sheet of an `.ods`
//! file whole at open, as one cell per position of the sheet's used range, so one far cell
//! (column 10 000, row 9 000) in a 1.6 KB file asks for 90 million cells (5.5 GB). The used
//! range of each sheet is measured here first by streaming the file's XML, in constant memory,
//! and a sheet too large is refused with the cell that makes it so. `.xlsx`/`.xlsm` sheets are
//! streamed cell by cell and need no such check; their zipped parts are bounded in size.

use std::io::{BufReader, Read, Seek};
use std::path::Path;

use quick_xml::events::{BytesStart, Event};

use super::model::{Position, SheetName, column_letters};

/// Largest CSV manifest read, in bytes (the file is decoded whole; its rows then stream).
pub const MAX_CSV_BYTES: u64 = 256 * 1024 * 1024;
/// Largest YAML manifest read, in bytes (its tree is built whole, about ten times its size).
pub const MAX_YAML_BYTES: u64 = 32 * 1024 * 1024;
/// Largest part of a zipped workbook once unzipped (a sheet's XML, shared strings), in bytes.
pub const MAX_ZIP_PART_BYTES: u64 = 512 * 1024 * 1024;
/// Most cells of the used range of an `.ods` sheet (rows x columns), which is loaded whole:
/// about 60 bytes each, so the bound costs at most about 120 MB.
pub const MAX_SHEET_CELLS: u64 = 2_000_000;

/// Why a manifest is refused before it is read, with how to make it readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    /// Where: the whole file, or the farthest cell of a sheet.
    pub position: Position,
    /// What is too large, and the limit.
    pub message: String,
    /// How to split or shrink the file.
    pub hint: String,
}

fn megabytes(bytes: u64) -> u64 {
    bytes / (1024 * 1024)
}

/// Refuses a CSV or YAML file larger than its limit (`max`), by its size on disk.
pub fn check_file_size(path: &Path, max: u64, kind: &str) -> Result<(), TooLarge> {
    let Ok(len) = std::fs::metadata(path).map(|m| m.len()) else {
        // A file that cannot be read is reported by the reader itself.
        return Ok(());
    };
    if len <= max {
        return Ok(());
    }
    Err(TooLarge {
        position: Position::File,
        message: format!(
            "is {} MB, more than the {} MB a {kind} manifest may be",
            megabytes(len),
            megabytes(max)
        ),
        hint: "split the pins over several manifests, each under the limit, and run them one after the other".to_owned(),
    })
}

/// Checks a zipped workbook (`.xlsx`, `.xlsm`, `.ods`) before calamine opens it: no part
/// unzips to more than [`MAX_ZIP_PART_BYTES`], and (for `.ods`) no sheet's used range holds
/// more than [`MAX_SHEET_CELLS`] cells. A file that is not a zip archive is left to the reader.
pub fn check_workbook(path: &Path) -> Result<(), TooLarge> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !matches!(extension.as_str(), "xlsx" | "xlsm" | "ods") {
        return Ok(());
    }
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let Ok(mut archive) = zip::ZipArchive::new(BufReader::new(file)) else {
        return Ok(());
    };
    for index in 0..archive.len() {
        let Ok(part) = archive.by_index_raw(index) else {
            continue;
        };
        if part.size() > MAX_ZIP_PART_BYTES {
            return Err(TooLarge {
                position: Position::File,
                message: format!(
                    "its part `{}` unzips to {} MB, more than the {} MB pinbatch reads",
                    part.name().unwrap_or_default(),
                    megabytes(part.size()),
                    megabytes(MAX_ZIP_PART_BYTES)
                ),
                hint: "split the pins over several workbooks, or save the sheet as CSV".to_owned(),
            });
        }
    }
    if extension == "ods" {
        return check_ods_sheets(&mut archive);
    }
    Ok(())
}

fn check_ods_sheets<R: Read + Seek>(archive: &mut zip::ZipArchive<R>) -> Result<(), TooLarge> {
    let Ok(content) = archive.by_name("content.xml") else {
        return Ok(());
    };
    // The declared size was checked; `take` holds the reader to it whatever the archive claims.
    let mut reader =
        quick_xml::Reader::from_reader(BufReader::new(content.take(MAX_ZIP_PART_BYTES)));
    let mut buf = Vec::with_capacity(1024);
    let mut sheet: Option<UsedRange> = None;
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            // Malformed XML is the reader's to report, with its own message.
            Err(_) => return Ok(()),
        };
        match event {
            Event::Start(e) | Event::Empty(e) if e.name().into_inner() == "table:table" => {
                sheet = Some(UsedRange::new(
                    attribute(&e, "table:name").unwrap_or_default(),
                ));
            }
            Event::End(e) if e.name().into_inner() == "table:table" => {
                if let Some(done) = sheet.take() {
                    done.check()?;
                }
            }
            Event::Start(e) if e.name().into_inner() == "table:table-row" => {
                if let Some(sheet) = &mut sheet {
                    sheet.start_row(repeats(&e, "table:number-rows-repeated"));
                }
            }
            Event::Empty(e) if e.name().into_inner() == "table:table-row" => {
                if let Some(sheet) = &mut sheet {
                    sheet.start_row(repeats(&e, "table:number-rows-repeated"));
                    sheet.end_row();
                }
            }
            Event::End(e) if e.name().into_inner() == "table:table-row" => {
                if let Some(sheet) = &mut sheet {
                    sheet.end_row();
                }
            }
            Event::Start(e) | Event::Empty(e) if is_cell(&e) => {
                if let Some(sheet) = &mut sheet {
                    // A cell with a value widens the used range; an empty one only moves on.
                    sheet.cell(
                        repeats(&e, "table:number-columns-repeated"),
                        holds_value(&e),
                    );
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// Whether a cell holds something: a value type or a formula, as calamine reads it (text
/// without a value type reads as empty there).
fn holds_value(e: &BytesStart<'_>) -> bool {
    attribute(e, "office:value-type").is_some() || attribute(e, "table:formula").is_some()
}

fn is_cell(e: &BytesStart<'_>) -> bool {
    matches!(
        e.name().into_inner(),
        "table:table-cell" | "table:covered-table-cell"
    )
}

fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    let attribute = e.try_get_attribute(name).ok().flatten()?;
    Some(attribute.value.into_owned())
}

fn repeats(e: &BytesStart<'_>, name: &str) -> u64 {
    attribute(e, name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .max(1)
}

/// The used range of one sheet as its rows go by: the smallest rectangle holding every cell
/// with a value, as calamine builds it.
struct UsedRange {
    name: String,
    /// The first row of the row being read (0-based) and how many times it repeats.
    row: u64,
    row_repeats: u64,
    column: u64,
    /// Rows and columns of used cells: (first, last), 0-based.
    rows: Option<(u64, u64)>,
    columns: Option<(u64, u64)>,
}

impl UsedRange {
    fn new(name: String) -> Self {
        UsedRange {
            name,
            row: 0,
            row_repeats: 1,
            column: 0,
            rows: None,
            columns: None,
        }
    }

    fn start_row(&mut self, repeats: u64) {
        self.row_repeats = repeats;
        self.column = 0;
    }

    fn end_row(&mut self) {
        self.row = self.row.saturating_add(self.row_repeats);
        self.row_repeats = 1;
    }

    fn cell(&mut self, repeats: u64, used: bool) {
        if used {
            let last_column = self.column.saturating_add(repeats - 1);
            let last_row = self.row.saturating_add(self.row_repeats - 1);
            widen(&mut self.columns, self.column, last_column);
            widen(&mut self.rows, self.row, last_row);
        }
        self.column = self.column.saturating_add(repeats);
    }

    fn check(&self) -> Result<(), TooLarge> {
        let (Some((first_row, last_row)), Some((first_column, last_column))) =
            (self.rows, self.columns)
        else {
            return Ok(());
        };
        let rows = last_row - first_row + 1;
        let columns = last_column - first_column + 1;
        let cells = rows.saturating_mul(columns);
        if cells <= MAX_SHEET_CELLS {
            return Ok(());
        }
        let cell = |row: u64, column: u64| {
            format!(
                "{}{}",
                column_letters(u32::try_from(column + 1).unwrap_or(u32::MAX)),
                row + 1
            )
        };
        // The far corner names the cell to look at; a single far cell is the usual cause.
        let far = Position::Cell {
            sheet: SheetName::intern(&self.name),
            row: u32::try_from(last_row + 1).unwrap_or(u32::MAX),
            column: u32::try_from(last_column + 1).unwrap_or(u32::MAX),
        };
        Err(TooLarge {
            position: far,
            message: format!(
                "sheet `{}` spans {}:{} ({rows} rows x {columns} columns, {cells} cells); an .ods sheet is loaded whole, and pinbatch reads at most {MAX_SHEET_CELLS} cells of one",
                self.name,
                cell(first_row, first_column),
                cell(last_row, last_column),
            ),
            hint: "clear the cells far outside the table of pins (this one is the farthest), split the pins over several files, or save the workbook as .xlsx, which is read cell by cell".to_owned(),
        })
    }
}

fn widen(span: &mut Option<(u64, u64)>, first: u64, last: u64) {
    *span = Some(match *span {
        None => (first, last),
        Some((low, high)) => (low.min(first), high.max(last)),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_used_range_counts_repeats_and_ignores_empty_cells() {
        let mut sheet = UsedRange::new("S".to_owned());
        sheet.start_row(1);
        sheet.cell(2, true);
        sheet.cell(100, false);
        sheet.end_row();
        sheet.start_row(5000);
        sheet.cell(16000, false);
        sheet.end_row();
        assert_eq!(sheet.rows, Some((0, 0)));
        assert_eq!(sheet.columns, Some((0, 1)));
        assert!(sheet.check().is_ok());
        sheet.start_row(1);
        sheet.cell(9999, false);
        sheet.cell(1, true);
        sheet.end_row();
        let err = sheet.check().unwrap_err();
        assert!(err.message.contains("A1:NTP5002"), "{}", err.message);
        assert!(err.message.contains("50020000 cells"), "{}", err.message);
        assert_eq!(err.position.cell_reference().as_deref(), Some("S!NTP5002"));
    }
}
