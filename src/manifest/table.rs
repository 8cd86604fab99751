//! Tables of pins, whatever holds them (a CSV file or a worksheet): the header row names the
//! columns, pinbatch's own or Pinterest's bulk-create ones, and each later row becomes one pin
//! entry. The CSV and workbook readers share this, so both accept exactly the same columns,
//! including the result columns `pinbatch report` adds (so that a report reads back).

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
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

/// The columns `pinbatch report` writes after the manifest's own. A report read back as a
/// manifest honours `pin_id` (the pin the row already became); the others are results, read
/// and ignored.
pub const RESULT_COLUMNS: &[&str] = &["pin_id", "pin_url", "status", "published_at", "error"];

/// The analytics columns of `pinbatch report --metrics`, read and ignored likewise.
pub const METRIC_COLUMNS: &[&str] = &[
    "impressions",
    "saves",
    "pin_clicks",
    "outbound_clicks",
    "video_views",
    "avg_watch_time",
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
    /// Pinterest's `Publish date`: like `publish_at`, except that `YYYY-MM-DDTHH:MM:SS` without an
    /// offset is UTC (what Pinterest's bulk files and `pinbatch export` write).
    PublishDate,
    /// Accepted and ignored (Pinterest's `Keywords`: the API has no such field).
    Ignored,
}

/// A report's result or metric column: `pin_id` feeds the entry, the others are ignored.
fn result_column(name: &str) -> Option<Column> {
    if name == "pin_id" {
        return Some(Column::Text("pin_id"));
    }
    (RESULT_COLUMNS.contains(&name) || METRIC_COLUMNS.contains(&name)).then_some(Column::Ignored)
}

fn native_column(name: &str) -> Option<Column> {
    if let Some(column) = result_column(name) {
        return Some(column);
    }
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
        other => return result_column(other),
    })
}

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
/// reads exactly that form as UTC (what `pinbatch export` writes). Anything else is passed on
/// for the usual rule (local forms such as `2026-12-24 09:00` are read in the time zone).
fn utc_if_bulk_form(text: &str) -> String {
    let bulk_form = text.len() == 19
        && text.as_bytes()[10] == b'T'
        && text.parse::<jiff::civil::DateTime>().is_ok();
    if bulk_form {
        format!("{text}Z")
    } else {
        text.to_owned()
    }
}

/// The columns of a table, from its header row.
#[derive(Debug)]
pub(crate) struct Table {
    columns: Vec<Column>,
    /// Lowercase names, for the `field` of diagnostics about a cell.
    names: Vec<String>,
    /// In a bulk file, pin fields and the column header that feeds them, as written.
    bulk_names: Vec<(&'static str, String)>,
}

impl Table {
    /// Reads a header row (`(text, position)` per cell); every problem is reported. `None`
    /// when the header cannot be used.
    pub fn from_header(
        cells: &[(String, Position)],
        file: &Arc<str>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<Table> {
        let at = |position: Position| Location {
            file: file.clone(),
            position,
        };
        let written: Vec<String> = cells
            .iter()
            .map(|(text, _)| text.trim().to_owned())
            .collect();
        let names: Vec<String> = written.iter().map(|name| name.to_lowercase()).collect();
        let bulk = names
            .iter()
            .any(|n| n == "media url" || n == "pinterest board");
        let known: Vec<&str> = if bulk { BULK_COLUMNS } else { NATIVE_COLUMNS }
            .iter()
            .chain(RESULT_COLUMNS)
            .chain(METRIC_COLUMNS)
            .copied()
            .collect();
        let mut columns = Vec::with_capacity(names.len());
        let mut ok = true;
        for (index, name) in names.iter().enumerate() {
            let pos = cells[index].1;
            let column = if bulk {
                bulk_column(name)
            } else {
                native_column(name)
            };
            match column {
                Some(column) => {
                    if let Some(first) = columns.iter().position(|c| *c == column)
                        && column != Column::Ignored
                    {
                        diagnostics.push(
                            Diagnostic::error(
                                at(pos),
                                format!(
                                    "column `{name}` appears twice (columns {} and {})",
                                    first + 1,
                                    index + 1
                                ),
                            )
                            .with_hint("keep one of them"),
                        );
                        ok = false;
                    }
                    columns.push(column);
                }
                None if name.is_empty() => {
                    diagnostics.push(
                        Diagnostic::error(at(pos), format!("column {} has no name", index + 1))
                            .with_hint(format!("name it; known columns: {}", known.join(", "))),
                    );
                    ok = false;
                    columns.push(Column::Ignored);
                }
                None => {
                    diagnostics.push(
                        Diagnostic::error(at(pos), format!("unknown column `{name}`"))
                            .with_hint(unknown_name_hint(name, &known)),
                    );
                    ok = false;
                    columns.push(Column::Ignored);
                }
            }
        }
        if !ok {
            return None;
        }
        // In a bulk file, diagnostics name Pinterest's columns rather than pin fields.
        let bulk_names = if bulk {
            columns
                .iter()
                .zip(&written)
                .flat_map(|(column, header)| {
                    let fields: &[&'static str] = match column {
                        Column::Text(field) => std::slice::from_ref(field),
                        Column::MediaUrl => &["image", "video"],
                        Column::BoardAndSection => &["board", "section"],
                        Column::PublishDate => &["publish_at"],
                        Column::Image | Column::Ignored => &[],
                    };
                    fields.iter().map(move |field| (*field, header.clone()))
                })
                .collect()
        } else {
            Vec::new()
        };
        Some(Table {
            columns,
            names,
            bulk_names,
        })
    }

    /// How many columns the header has.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// The column's name as the `field` of a diagnostic (lowercase).
    pub fn name(&self, index: usize) -> &str {
        self.names.get(index).map_or("", String::as_str)
    }

    /// True for the column that holds publish times (`publish_at`, `Publish date`).
    pub fn is_publish_time(&self, index: usize) -> bool {
        matches!(
            self.columns.get(index),
            Some(Column::Text("publish_at") | Column::PublishDate)
        )
    }

    /// True for a column that is ignored.
    pub fn is_ignored(&self, index: usize) -> bool {
        matches!(self.columns.get(index), Some(Column::Ignored) | None)
    }

    /// Puts one non-empty cell's text, written at `pos`, into `entry`.
    pub fn fill(&self, entry: &mut PinEntry, index: usize, text: &str, pos: Position) {
        let Some(column) = self.columns.get(index) else {
            return;
        };
        match *column {
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
                entry.publish_at = Some(Located::new(utc_if_bulk_form(text), pos));
            }
            Column::Ignored => {}
        }
    }

    /// In a bulk file, renames the pin fields of `diagnostics` to the column headers that feed
    /// them (`publish_at` -> `Publish date`).
    pub fn rename_fields(&self, diagnostics: &mut [Diagnostic]) {
        if self.bulk_names.is_empty() {
            return;
        }
        for diagnostic in diagnostics {
            let renamed = diagnostic.field.as_deref().and_then(|field| {
                self.bulk_names
                    .iter()
                    .find(|(f, _)| *f == field)
                    .map(|(_, h)| h.clone())
            });
            if let Some(header) = renamed {
                diagnostic.field = Some(header);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> (Option<Table>, Vec<Diagnostic>) {
        let file: Arc<str> = Arc::from("t.csv");
        let pos = Position::Row { row: 1, line: 1 };
        let cells: Vec<(String, Position)> = names.iter().map(|n| ((*n).to_owned(), pos)).collect();
        let mut diagnostics = Vec::new();
        let table = Table::from_header(&cells, &file, &mut diagnostics);
        (table, diagnostics)
    }

    #[test]
    fn native_and_bulk_headers() {
        let (table, diagnostics) = header(&[" Board ", "TITLE", "publish_at"]);
        assert!(diagnostics.is_empty());
        let table = table.unwrap();
        assert_eq!(table.len(), 3);
        assert_eq!(table.name(0), "board");
        assert!(table.is_publish_time(2));
        let (table, _) = header(&["Title", "Media URL", "Pinterest board", "Publish date"]);
        assert!(table.unwrap().is_publish_time(3));
    }

    #[test]
    fn unknown_and_repeated_columns_are_reported() {
        let (table, diagnostics) = header(&["board", "titel", "board", ""]);
        assert!(table.is_none());
        assert_eq!(diagnostics.len(), 3, "{diagnostics:?}");
        assert_eq!(
            diagnostics[0].hint.as_deref(),
            Some("did you mean `title`?")
        );
    }

    #[test]
    fn result_columns_are_known_in_both_kinds_of_header() {
        let (table, diagnostics) = header(&["board", "image", "pin_id", "Status", "impressions"]);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let table = table.unwrap();
        assert!(!table.is_ignored(2), "pin_id is read");
        assert!(table.is_ignored(3) && table.is_ignored(4));
        let (table, diagnostics) = header(&["Title", "Media URL", "Pinterest board", "pin_id"]);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert!(!table.unwrap().is_ignored(3));
        let (_, diagnostics) = header(&["board", "pin_idd"]);
        assert_eq!(
            diagnostics[0].hint.as_deref(),
            Some("did you mean `pin_id`?")
        );
    }

    #[test]
    fn only_the_exact_bulk_form_is_utc() {
        assert_eq!(
            utc_if_bulk_form("2026-12-24T09:00:00"),
            "2026-12-24T09:00:00Z"
        );
        assert_eq!(
            utc_if_bulk_form("2026-12-24 09:00:00"),
            "2026-12-24 09:00:00"
        );
        assert_eq!(
            utc_if_bulk_form("2026-12-24T09:00:00Z"),
            "2026-12-24T09:00:00Z"
        );
        assert_eq!(utc_if_bulk_form("2026/12/24 9:00"), "2026/12/24 9:00");
    }
}
