//! CSV reader: a header row, then one pin per row, streamed to the checks row by row.
//!
//! Accepts pinbatch's own columns and Pinterest's bulk-create header. UTF-8 with or without a
//! BOM; the delimiter (`,` or `;`) is sniffed from the header line. Rows are numbered as a
//! spreadsheet shows them: the header is row 1, the first pin row 2.

use std::sync::Arc;

use super::diagnostic::Diagnostic;
use super::entry::{Located, PinEntry, SlideEntry, SlidesEntry};
use super::model::{Location, Position};
use super::suggest::unknown_name_hint;

/// pinbatch's own column names.
pub const NATIVE_COLUMNS: &[&str] = &[
    "id",
    "board",
    "section",
    "title",
    "description",
    "link",
    "alt_text",
    "dominant_color",
    "publish_at",
    "image",
    "video",
    "cover",
    "ai_disclosures",
];

/// Pinterest's bulk-create column names (lowercase).
pub const BULK_COLUMNS: &[&str] = &[
    "title",
    "media url",
    "pinterest board",
    "thumbnail",
    "description",
    "link",
    "publish date",
    "keywords",
];

/// What one column feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    /// A text field of the entry, by pin field name.
    Text(&'static str),
    /// `image`: one path/URL, or several separated by `|` (a carousel).
    Image,
    /// Pinterest's `Media URL`: an image or a video, by extension.
    MediaUrl,
    /// Pinterest's `Pinterest board`: `board` or `board / section`.
    BoardAndSection,
    /// Pinterest's `Publish date`: RFC 3339, or `YYYY-MM-DDTHH:MM:SS` without an offset, read as UTC.
    PublishDate,
    /// Accepted and ignored (Pinterest's `Keywords`: the API has no such field).
    Ignored,
}

fn native_column(name: &str) -> Option<Column> {
    let column = NATIVE_COLUMNS.iter().find(|c| **c == name)?;
    Some(if *column == "image" {
        Column::Image
    } else {
        Column::Text(column)
    })
}

fn bulk_column(name: &str) -> Option<Column> {
    Some(match name {
        "title" => Column::Text("title"),
        "description" => Column::Text("description"),
        "link" => Column::Text("link"),
        "thumbnail" => Column::Text("cover"),
        "publish date" => Column::PublishDate,
        "media url" => Column::MediaUrl,
        "pinterest board" => Column::BoardAndSection,
        "keywords" => Column::Ignored,
        _ => return None,
    })
}

/// `;` when the header line has more semicolons than commas outside quotes, else `,`.
fn sniff_delimiter(text: &[u8]) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0usize, 0usize, false);
    for &byte in text {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => commas += 1,
            b';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

const VIDEO_EXTENSIONS: &[&str] = &["mp4", "mov", "m4v"];

/// True when the path or URL ends in a video extension (ignoring a URL's query or fragment).
fn looks_like_video(reference: &str) -> bool {
    let path = reference.split(['?', '#']).next().unwrap_or(reference);
    path.rsplit_once('.').is_some_and(|(_, ext)| {
        VIDEO_EXTENSIONS
            .iter()
            .any(|video| ext.eq_ignore_ascii_case(video))
    })
}

/// Pinterest's bulk files write publish dates as `YYYY-MM-DDTHH:MM:SS` with no offset; pinbatch
/// reads those as UTC (what `pinbatch export` writes). Anything else is passed on for the usual
/// RFC 3339 check.
fn utc_if_no_offset(text: &str) -> String {
    let has_offset = text.parse::<jiff::Timestamp>().is_ok();
    if !has_offset && text.parse::<jiff::civil::DateTime>().is_ok() {
        format!("{text}Z")
    } else {
        text.to_owned()
    }
}

/// Reads CSV bytes, calling `on_pin` with each row's entry in order; problems go to `diagnostics`.
pub(crate) fn read(
    bytes: &[u8],
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
    mut on_pin: impl FnMut(PinEntry, &mut Vec<Diagnostic>),
) {
    let at = |position: Position| Location {
        file: file.clone(),
        position,
    };
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(bytes))
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let header_pos = Position::Row { row: 1, line: 1 };
    match reader.read_byte_record(&mut record) {
        Ok(true) => {}
        Ok(false) => {
            diagnostics.push(
                Diagnostic::error(at(Position::File), "the CSV file is empty")
                    .with_hint("the first row names the columns, e.g. `board,title,image`"),
            );
            return;
        }
        Err(err) => {
            diagnostics.push(Diagnostic::error(
                at(header_pos),
                format!("unreadable CSV: {err}"),
            ));
            return;
        }
    }
    let mut names = Vec::with_capacity(record.len());
    let mut written = Vec::with_capacity(record.len());
    for (index, cell) in record.iter().enumerate() {
        match std::str::from_utf8(cell) {
            Ok(name) => {
                written.push(name.trim().to_owned());
                names.push(name.trim().to_lowercase());
            }
            Err(_) => {
                diagnostics.push(
                    Diagnostic::error(
                        at(header_pos),
                        format!("header cell {} is not valid UTF-8 text", index + 1),
                    )
                    .with_hint("save the file as UTF-8"),
                );
                return;
            }
        }
    }
    let bulk = names
        .iter()
        .any(|n| n == "media url" || n == "pinterest board");
    let mut columns = Vec::with_capacity(names.len());
    let mut header_ok = true;
    for (index, name) in names.iter().enumerate() {
        let column = if bulk {
            bulk_column(name)
        } else {
            native_column(name)
        };
        let known = if bulk { BULK_COLUMNS } else { NATIVE_COLUMNS };
        match column {
            Some(column) => {
                if let Some(first) = columns.iter().position(|c| *c == column)
                    && column != Column::Ignored
                {
                    diagnostics.push(
                        Diagnostic::error(
                            at(header_pos),
                            format!(
                                "column `{name}` appears twice (columns {} and {})",
                                first + 1,
                                index + 1
                            ),
                        )
                        .with_hint("keep one of them"),
                    );
                    header_ok = false;
                }
                columns.push(column);
            }
            None if name.is_empty() => {
                diagnostics.push(
                    Diagnostic::error(at(header_pos), format!("column {} has no name", index + 1))
                        .with_hint(format!("name it; known columns: {}", known.join(", "))),
                );
                header_ok = false;
                columns.push(Column::Ignored);
            }
            None => {
                diagnostics.push(
                    Diagnostic::error(at(header_pos), format!("unknown column `{name}`"))
                        .with_hint(unknown_name_hint(name, known)),
                );
                header_ok = false;
                columns.push(Column::Ignored);
            }
        }
    }
    if !header_ok {
        return;
    }
    // In a bulk file, diagnostics name Pinterest's columns rather than pin fields.
    let bulk_names: Vec<(&str, &str)> = if bulk {
        columns
            .iter()
            .zip(&written)
            .flat_map(|(column, header)| {
                let fields: &[&str] = match column {
                    Column::Text(field) => std::slice::from_ref(field),
                    Column::MediaUrl => &["image", "video"],
                    Column::BoardAndSection => &["board", "section"],
                    Column::PublishDate => &["publish_at"],
                    Column::Image | Column::Ignored => &[],
                };
                fields.iter().map(move |field| (*field, header.as_str()))
            })
            .collect()
    } else {
        Vec::new()
    };

    let mut row: u32 = 1;
    loop {
        match reader.read_byte_record(&mut record) {
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
        if record
            .iter()
            .all(|cell| cell.iter().all(u8::is_ascii_whitespace))
        {
            continue;
        }
        if record.len() != columns.len() {
            diagnostics.push(
                Diagnostic::error(
                    at(pos),
                    format!(
                        "has {} cells but the header has {} columns",
                        record.len(),
                        columns.len()
                    ),
                )
                .with_hint(
                    "every row needs one cell per column; quote cells that contain the delimiter",
                ),
            );
            continue;
        }
        let mut entry = PinEntry::empty(pos);
        let mut row_ok = true;
        for (index, cell) in record.iter().enumerate() {
            let Ok(text) = std::str::from_utf8(cell) else {
                diagnostics.push(
                    Diagnostic::error(at(pos), "is not valid UTF-8 text")
                        .with_field(names[index].clone())
                        .with_hint("save the file as UTF-8"),
                );
                row_ok = false;
                continue;
            };
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            match columns[index] {
                Column::Text(field) => {
                    if let Some(slot) = entry.text_field_mut(field) {
                        *slot = Some(Located::new(text, pos));
                    }
                }
                Column::Image if text.contains('|') => {
                    let slides = text
                        .split('|')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|src| SlideEntry {
                            pos,
                            src: Some(Located::new(src, pos)),
                            title: None,
                            description: None,
                            link: None,
                        })
                        .collect();
                    entry.images = Some(SlidesEntry { pos, slides });
                }
                Column::Image => entry.image = Some(Located::new(text, pos)),
                Column::MediaUrl if looks_like_video(text) => {
                    entry.video = Some(Located::new(text, pos));
                }
                Column::MediaUrl => entry.image = Some(Located::new(text, pos)),
                Column::BoardAndSection => {
                    let (board, section) = match text.split_once('/') {
                        Some((board, section)) => (board.trim(), section.trim()),
                        None => (text, ""),
                    };
                    if !board.is_empty() {
                        entry.board = Some(Located::new(board, pos));
                    }
                    if !section.is_empty() {
                        entry.section = Some(Located::new(section, pos));
                    }
                }
                Column::PublishDate => {
                    entry.publish_at = Some(Located::new(utc_if_no_offset(text), pos));
                }
                Column::Ignored => {}
            }
        }
        if row_ok {
            let before = diagnostics.len();
            on_pin(entry, diagnostics);
            if bulk {
                for diagnostic in &mut diagnostics[before..] {
                    let renamed = diagnostic.field.as_deref().and_then(|field| {
                        bulk_names
                            .iter()
                            .find(|(f, _)| *f == field)
                            .map(|(_, h)| *h)
                    });
                    if let Some(header) = renamed {
                        diagnostic.field = Some(header.to_owned());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> (Vec<PinEntry>, Vec<Diagnostic>) {
        let file: Arc<str> = Arc::from("p.csv");
        let mut diagnostics = Vec::new();
        let mut pins = Vec::new();
        read(bytes, &file, &mut diagnostics, |pin, _| pins.push(pin));
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
    fn ragged_and_non_utf8_rows_are_reported_with_their_row() {
        let (pins, diagnostics) =
            read_all(b"board,title,image\nA,B\nA,\xff\xfe,c.jpg\nA,ok,d.jpg\n");
        assert_eq!(pins.len(), 1);
        assert_eq!(diagnostics.len(), 2);
        assert_eq!(
            diagnostics[0].location.position,
            Position::Row { row: 2, line: 2 }
        );
        assert_eq!(
            diagnostics[1].location.position,
            Position::Row { row: 3, line: 3 }
        );
        assert_eq!(diagnostics[1].field.as_deref(), Some("title"));
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
