//! A table manifest's own cells as the user wrote them (a CSV file or a worksheet), for the
//! report that gives the sheet back with its results: the header row as written, and each row's
//! cells by the row number diagnostics use, typed as the spreadsheet typed them.
//!
//! It reads the file the way the manifest readers do (the same decoding and delimiter for CSV,
//! the same sheet choice and cell walk for workbooks), so rows line up with the pins' locations.
//! YAML manifests have no cells: [`read`] gives `None` for them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use calamine::Data;

use super::workbook;
use super::{Format, LoadOptions};

/// One cell as written.
#[derive(Debug, Clone, PartialEq)]
pub enum WrittenCell {
    /// Nothing in it.
    Empty,
    /// Text (every CSV cell, and text cells of a workbook).
    Text(String),
    /// A number cell.
    Number(f64),
    /// A boolean cell.
    Bool(bool),
    /// A date (and time) cell, as the spreadsheet shows it: no time zone.
    DateTime(jiff::civil::DateTime),
}

impl WrittenCell {
    /// The cell as text, as a spreadsheet shows it by default.
    pub fn text(&self) -> String {
        match self {
            WrittenCell::Empty => String::new(),
            WrittenCell::Text(text) => text.clone(),
            WrittenCell::Number(number) => workbook::number_text(*number),
            WrittenCell::Bool(true) => "TRUE".to_owned(),
            WrittenCell::Bool(false) => "FALSE".to_owned(),
            WrittenCell::DateTime(at) => super::datetime::local_text(*at),
        }
    }
}

/// The header and rows of a table manifest, as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WrittenTable {
    /// The sheet read, for a workbook.
    pub sheet: Option<String>,
    /// The header cells, as written, one per column.
    pub header: Vec<String>,
    /// Each row's cells, one per header column, keyed by the row number a spreadsheet shows
    /// (the header's is the first); rows are those of the pins' locations.
    pub rows: HashMap<u32, Vec<WrittenCell>>,
}

/// Reads the cells of the table manifest at `path` as written; `None` for a YAML manifest.
/// An error is a file that cannot be read again (it was read a moment ago to load it).
pub fn read(path: &Path, options: &LoadOptions) -> Result<Option<WrittenTable>, String> {
    match Format::of(path) {
        Some(Format::Csv) => read_csv(path, options).map(Some),
        Some(Format::Workbook) => read_workbook(path, options).map(Some),
        Some(Format::Yaml) | None => Ok(None),
    }
}

fn read_csv(path: &Path, options: &LoadOptions) -> Result<WrittenTable, String> {
    let bytes = std::fs::read(path).map_err(|err| err.to_string())?;
    let decoded = super::encoding::decode(&bytes, options.encoding)
        .map_err(|problem| format!("the file {}", problem.message))?;
    let text = decoded.text.as_bytes();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(super::csv::sniff_delimiter(text))
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut table = WrittenTable::default();
    let mut row: u32 = 0;
    for record in reader.records() {
        let record = record.map_err(|err| err.to_string())?;
        row = row.saturating_add(1);
        if row == 1 {
            table.header = record.iter().map(str::to_owned).collect();
            continue;
        }
        let cells = record
            .iter()
            .map(|cell| match cell.trim() {
                "" => WrittenCell::Empty,
                _ => WrittenCell::Text(cell.to_owned()),
            })
            .collect();
        table.rows.insert(row, cells);
    }
    Ok(table)
}

fn read_workbook(path: &Path, options: &LoadOptions) -> Result<WrittenTable, String> {
    let file: Arc<str> = Arc::from(path.display().to_string());
    let mut workbook = calamine::open_workbook_auto(path).map_err(|err| err.to_string())?;
    let mut problems = Vec::new();
    let name = workbook::choose_sheet(&workbook, options.sheet.as_deref(), &file, &mut problems)
        .ok_or_else(|| {
            problems
                .first()
                .map_or_else(|| "no worksheet".to_owned(), |d| d.message.clone())
        })?;
    // Cells by 0-based row, then the header: the first row with a non-blank cell.
    let mut cells: Vec<(u32, u32, WrittenCell)> = Vec::new();
    workbook::for_each_cell(&mut workbook, &name, |row, column, value| {
        let cell = written(&value);
        if cell != WrittenCell::Empty {
            cells.push((row, column, cell));
        }
    })?;
    let mut table = WrittenTable {
        sheet: Some(name),
        ..WrittenTable::default()
    };
    let Some(header_row) = cells.iter().map(|(row, _, _)| *row).min() else {
        return Ok(table);
    };
    let mut columns: Vec<u32> = Vec::new();
    for (row, column, cell) in &cells {
        if *row == header_row {
            columns.push(*column);
            table.header.push(cell.text());
        }
    }
    for (row, column, cell) in cells {
        if row == header_row {
            continue;
        }
        let Some(index) = columns.iter().position(|c| *c == column) else {
            continue;
        };
        let line = table
            .rows
            .entry(row.saturating_add(1))
            .or_insert_with(|| vec![WrittenCell::Empty; columns.len()]);
        line[index] = cell;
    }
    Ok(table)
}

/// A workbook cell by its type; blank text is empty.
fn written(value: &Data) -> WrittenCell {
    match value {
        Data::Empty => WrittenCell::Empty,
        Data::String(text) if text.trim().is_empty() => WrittenCell::Empty,
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => {
            WrittenCell::Text(text.clone())
        }
        Data::Int(number) => WrittenCell::Number(*number as f64),
        Data::Float(number) => WrittenCell::Number(*number),
        Data::Bool(value) => WrittenCell::Bool(*value),
        Data::DateTime(date) if date.is_duration() => WrittenCell::Number(date.as_f64()),
        Data::DateTime(date) => {
            let (year, month, day, hour, minute, second, milli) = date.to_ymd_hms_milli();
            workbook::civil_from_parts(year, month, day, hour, minute, second, milli)
                .map_or(WrittenCell::Number(date.as_f64()), WrittenCell::DateTime)
        }
        Data::Error(error) => WrittenCell::Text(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_kept_as_written_by_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        std::fs::write(
            &path,
            "\u{feff} Board ;TITLE;image\nA;Caf\u{e9};a.jpg\n;;\nB; spaced ;b.jpg\n",
        )
        .unwrap();
        let table = read(&path, &LoadOptions::default()).unwrap().unwrap();
        assert_eq!(table.header, [" Board ", "TITLE", "image"]);
        assert_eq!(table.rows[&2][1], WrittenCell::Text("Café".into()));
        assert_eq!(table.rows[&4][1], WrittenCell::Text(" spaced ".into()));
        assert_eq!(table.rows[&3], vec![WrittenCell::Empty; 3]);
        assert_eq!(table.sheet, None);
    }

    #[test]
    fn workbook_cells_keep_their_types_under_a_header_that_need_not_start_at_a1() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name("Mine").unwrap();
        sheet.write_string(2, 1, "board").unwrap();
        sheet.write_string(2, 2, "publish_at").unwrap();
        sheet.write_string(2, 3, "title").unwrap();
        sheet.write_number(3, 1, 12345).unwrap();
        let when = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 12, 24)
            .unwrap()
            .and_hms(9, 30, 0)
            .unwrap();
        let format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm");
        sheet
            .write_datetime_with_format(3, 2, &when, &format)
            .unwrap();
        sheet.write_boolean(3, 3, true).unwrap();
        sheet.write_string(3, 6, "outside the header").unwrap();
        book.save(&path).unwrap();
        let table = read(&path, &LoadOptions::default()).unwrap().unwrap();
        assert_eq!(table.sheet.as_deref(), Some("Mine"));
        assert_eq!(table.header, ["board", "publish_at", "title"]);
        assert_eq!(
            table.rows[&4],
            [
                WrittenCell::Number(12345.0),
                WrittenCell::DateTime("2026-12-24T09:30:00".parse().unwrap()),
                WrittenCell::Bool(true),
            ]
        );
        assert_eq!(table.rows[&4][0].text(), "12345");
    }
}
