//! CSV reader: the text decoded first (UTF-8, UTF-16, Shift_JIS or Windows-1252, see
//! `encoding.rs`), then a header row and one pin per row, streamed to the checks row by row.
//!
//! Columns are those of `table.rs` (pinbatch's own or Pinterest's bulk-create header). The
//! delimiter (`,`, `;` or tab) is sniffed from the header line. Rows are numbered as a
//! spreadsheet shows them: the header is row 1, the first pin row 2.

use std::sync::Arc;

use encoding_rs::Encoding;

use super::diagnostic::Diagnostic;
use super::encoding;
use super::entry::PinEntry;
use super::model::{Location, Position};
use super::table::Table;

/// The most frequent of `,`, `;` and tab outside quotes on the header line; `,` on a tie.
pub(super) fn sniff_delimiter(text: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut tabs, mut quoted) = (0usize, 0usize, 0usize, false);
    for &byte in text {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            b'\t' if !quoted => tabs += 1,
            _ => {}
        }
    }
    if tabs > commas && tabs > semicolons {
        b'\t'
    } else if semicolons > commas {
        b';'
    } else {
        b','
    }
}

/// The error for a file that does not decode, with a hint that fits how its encoding was
/// chosen.
fn undecodable(
    problem: &encoding::Undecodable,
    forced: Option<&'static Encoding>,
    file: &Arc<str>,
) -> Diagnostic {
    let hint = if forced.is_some() {
        format!(
            "check the encoding named with --encoding, or leave it out to detect one of {}",
            encoding::DETECTED
        )
    } else {
        format!(
            "save the file as UTF-8 (in Excel: \"CSV UTF-8\"), or name its encoding with --encoding NAME ({})",
            encoding::NAMES_HINT
        )
    };
    let at = Location {
        file: file.clone(),
        position: Position::Row {
            row: problem.row,
            line: problem.line,
        },
    };
    Diagnostic::error(at, format!("the file {}", problem.message)).with_hint(hint)
}

/// Reads the header row into the table of columns; an empty or unreadable file is a problem.
fn read_header(
    reader: &mut csv::Reader<&[u8]>,
    record: &mut csv::StringRecord,
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Table> {
    let at = |position: Position| Location {
        file: file.clone(),
        position,
    };
    let header_pos = Position::Row { row: 1, line: 1 };
    match reader.read_record(record) {
        Ok(true) => {}
        Ok(false) => {
            diagnostics.push(
                Diagnostic::error(at(Position::File), "the CSV file is empty")
                    .with_hint("the first row names the columns, e.g. `board,title,image`"),
            );
            return None;
        }
        Err(err) => {
            diagnostics.push(Diagnostic::error(
                at(header_pos),
                format!("unreadable CSV: {err}"),
            ));
            return None;
        }
    }
    let header: Vec<(String, Position)> = record
        .iter()
        .map(|cell| (cell.to_owned(), header_pos))
        .collect();
    Table::from_header(&header, file, diagnostics)
}

/// Reads CSV bytes in `forced` encoding (or a detected one), calling `on_pin` with each row's
/// entry in order; problems go to `diagnostics`. A file that does not decode is one problem.
pub(crate) fn read(
    bytes: &[u8],
    file: &Arc<str>,
    forced: Option<&'static Encoding>,
    diagnostics: &mut Vec<Diagnostic>,
    mut on_pin: impl FnMut(PinEntry, &mut Vec<Diagnostic>),
) {
    let at = |position: Position| Location {
        file: file.clone(),
        position,
    };
    let decoded = match encoding::decode(bytes, forced) {
        Ok(decoded) => decoded,
        Err(problem) => {
            diagnostics.push(undecodable(&problem, forced, file));
            return;
        }
    };
    let bytes = decoded.text.as_bytes();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(bytes))
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::StringRecord::new();
    let Some(table) = read_header(&mut reader, &mut record, file, diagnostics) else {
        return;
    };

    let mut row: u32 = 1;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => {
                let line = err
                    .position()
                    .map_or(0, |p| u32::try_from(p.line()).unwrap_or(u32::MAX));
                diagnostics.push(Diagnostic::error(
                    at(Position::Row { row: row + 1, line }),
                    format!("unreadable CSV row: {err}"),
                ));
                break;
            }
        }
        row = row.saturating_add(1);
        let line = record
            .position()
            .map_or(0, |p| u32::try_from(p.line()).unwrap_or(u32::MAX));
        let pos = Position::Row { row, line };
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if record.len() != table.len() {
            diagnostics.push(
                Diagnostic::error(
                    at(pos),
                    format!(
                        "has {} cells but the header has {} columns",
                        record.len(),
                        table.len()
                    ),
                )
                .with_hint(
                    "every row needs one cell per column; quote cells that contain the delimiter",
                ),
            );
            continue;
        }
        let mut entry = PinEntry::empty(pos);
        for (index, cell) in record.iter().enumerate() {
            let text = cell.trim();
            if !text.is_empty() {
                table.fill(&mut entry, index, text, pos);
            }
        }
        let before = diagnostics.len();
        on_pin(entry, diagnostics);
        table.rename_fields(&mut diagnostics[before..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> (Vec<PinEntry>, Vec<Diagnostic>) {
        let file: Arc<str> = Arc::from("p.csv");
        let mut diagnostics = Vec::new();
        let mut pins = Vec::new();
        read(bytes, &file, None, &mut diagnostics, |pin, _| {
            pins.push(pin)
        });
        (pins, diagnostics)
    }

    #[test]
    fn headers_are_case_insensitive_and_trimmed() {
        let (pins, diagnostics) = read_all(b" Board ,TITLE, image\nAnimals,Cat,a.jpg\n");
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(pins[0].board.as_ref().unwrap().value, "Animals");
        assert_eq!(pins[0].title.as_ref().unwrap().value, "Cat");
        assert_eq!(pins[0].pos, Position::Row { row: 2, line: 2 });
    }

    #[test]
    fn semicolons_and_bom_are_accepted() {
        let (pins, diagnostics) =
            read_all(b"\xEF\xBB\xBFboard;title;image\nA;Hello, world;a.jpg\n");
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(pins[0].title.as_ref().unwrap().value, "Hello, world");
    }

    #[test]
    fn pipes_make_a_carousel_and_empty_cells_are_absent() {
        let (pins, _) = read_all(b"board,title,image\nA,,a.jpg|b.png\n");
        assert!(pins[0].title.is_none());
        assert_eq!(pins[0].images.as_ref().unwrap().slides.len(), 2);
    }

    #[test]
    fn unknown_columns_suggest_the_closest() {
        let (_, diagnostics) = read_all(b"board,titel,image\nA,B,c.jpg\n");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(
            diagnostics[0].hint.as_deref(),
            Some("did you mean `title`?")
        );
    }

    #[test]
    fn ragged_rows_are_reported_with_their_row() {
        let (pins, diagnostics) = read_all(b"board,title,image\nA,B\nA,ok,d.jpg\n");
        assert_eq!(pins.len(), 1);
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(
            diagnostics[0].location.position,
            Position::Row { row: 2, line: 2 }
        );
    }

    #[test]
    fn excel_encodings_and_tabs_are_read() {
        let text = "board\ttitle\timage\n動物\t眠っている猫\ta.jpg\n";
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let (pins, diagnostics) = read_all(&utf16);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(pins[0].title.as_ref().unwrap().value, "眠っている猫");
        let sjis = encoding_rs::SHIFT_JIS
            .encode(&text.replace('\t', ","))
            .0
            .into_owned();
        let (pins, diagnostics) = read_all(&sjis);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(pins[0].board.as_ref().unwrap().value, "動物");
        let (pins, _) = read_all(b"board;title;image\nA;Caf\xe9;a.jpg\n");
        assert_eq!(pins[0].title.as_ref().unwrap().value, "Café");
    }

    #[test]
    fn an_undecodable_file_is_one_diagnostic() {
        let (pins, diagnostics) = read_all(b"board,title\nA,ok\nB,\x81\x81\x81\nC,\x81\n");
        assert!(pins.is_empty());
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert_eq!(
            diagnostics[0].location.position,
            Position::Row { row: 3, line: 3 }
        );
        assert!(
            diagnostics[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("--encoding")
        );
    }

    #[test]
    fn multi_line_cells_keep_spreadsheet_rows() {
        let (pins, _) = read_all(b"board,description,image\nA,\"two\nlines\",a.jpg\nB,x,b.jpg\n");
        assert_eq!(pins[1].pos, Position::Row { row: 3, line: 4 });
    }

    #[test]
    fn bulk_diagnostics_name_pinterest_columns() {
        let file: Arc<str> = Arc::from("p.csv");
        let mut diagnostics = Vec::new();
        read(
            b"Title,Media URL,Pinterest board,Publish date\nCat,x.jpg,B,soon\n",
            &file,
            None,
            &mut diagnostics,
            |_, diagnostics| {
                diagnostics.push(
                    Diagnostic::error(
                        Location {
                            file: file.clone(),
                            position: Position::Row { row: 2, line: 2 },
                        },
                        "bad",
                    )
                    .with_field("publish_at"),
                );
            },
        );
        assert_eq!(diagnostics[0].field.as_deref(), Some("Publish date"));
    }

    #[test]
    fn bulk_publish_dates_without_an_offset_are_utc() {
        let (pins, diagnostics) = read_all(
            b"Title,Media URL,Pinterest board,Publish date\n\
              A,https://example.com/a.jpg,B,2026-12-24T09:00:00\n\
              C,https://example.com/c.jpg,B,2026-12-24T10:00:00+01:00\n\
              D,https://example.com/d.jpg,B,tomorrow\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let dates: Vec<&str> = pins
            .iter()
            .map(|p| p.publish_at.as_ref().unwrap().value.as_str())
            .collect();
        assert_eq!(
            dates,
            [
                "2026-12-24T09:00:00Z",
                "2026-12-24T10:00:00+01:00",
                "tomorrow"
            ]
        );
    }

    #[test]
    fn pinterest_bulk_header_is_accepted() {
        let (pins, diagnostics) = read_all(
            b"Title,Media URL,Pinterest board,Thumbnail,Description,Link,Publish date,Keywords\n\
              Cat,https://example.com/cat.jpg,Animals / Cats,,Calm,https://example.com,,cat;pet\n\
              Run,https://example.com/run.mp4,Sport,https://example.com/c.jpg,,,,\n",
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(pins[0].board.as_ref().unwrap().value, "Animals");
        assert_eq!(pins[0].section.as_ref().unwrap().value, "Cats");
        assert!(pins[0].image.is_some());
        assert!(pins[1].video.is_some());
        assert_eq!(
            pins[1].cover.as_ref().unwrap().value,
            "https://example.com/c.jpg"
        );
    }
}
