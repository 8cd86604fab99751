//! `init --xlsx`'s engine: a workbook to start from, with pinbatch's columns, a note on each
//! header cell saying what goes in it, a board column whose drop-down offers the account's
//! boards (from a hidden `Boards` sheet), date-formatted publish times, and one row per image
//! or video found.
//!
//! Text columns are formatted as text, so a board id typed into the sheet keeps all its digits
//! (a spreadsheet keeps only 15 of a number).

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, Formula, Note, Workbook, XlsxError,
};

use crate::manifest::raw::{MAX_ALT_TEXT, MAX_DESCRIPTION, MAX_LINK, MAX_TITLE};
use crate::manifest::scaffold::{MediaKind, Scan};

/// The data sheet's name.
pub const PINS_SHEET: &str = "Pins";
/// The hidden sheet holding the board names of the drop-down.
pub const BOARDS_SHEET: &str = "Boards";
/// Rows below the header that get the drop-down and the formats, at least.
const EDITABLE_ROWS: u32 = 1000;

/// The columns, their width and the note on their header cell.
fn columns() -> Vec<(&'static str, f64, String)> {
    vec![
        (
            "id",
            18.0,
            "Optional stable key of the pin. Without it the key is made from the board and the media. \
             Keep it when you edit a row, so apply updates the pin instead of creating another."
                .to_owned(),
        ),
        (
            "board",
            22.0,
            "Required. The board's name (pick one from the list) or its numeric id. A board that \
             does not exist yet is created by `pinbatch apply --create-boards`."
                .to_owned(),
        ),
        (
            "section",
            16.0,
            "Optional section of the board.".to_owned(),
        ),
        (
            "title",
            28.0,
            format!("Optional title, at most {MAX_TITLE} characters."),
        ),
        (
            "description",
            36.0,
            format!("Optional description, at most {MAX_DESCRIPTION} characters."),
        ),
        (
            "link",
            28.0,
            format!("Optional destination: an http(s) URL of at most {MAX_LINK} characters."),
        ),
        (
            "alt_text",
            24.0,
            format!("Optional alt text, at most {MAX_ALT_TEXT} characters."),
        ),
        (
            "dominant_color",
            14.0,
            "Optional colour shown while the image loads, #RRGGBB.".to_owned(),
        ),
        (
            "publish_at",
            18.0,
            "Optional. A date and time: the pin waits until then (run apply again later). Read in \
             --timezone, else this machine's time zone; or write an offset, e.g. \
             2026-12-24T09:00:00+01:00."
                .to_owned(),
        ),
        (
            "image",
            32.0,
            "The image: a JPEG/PNG path relative to this file, or an http(s) URL. Several \
             separated by | make a carousel (2 to 5)."
                .to_owned(),
        ),
        (
            "video",
            24.0,
            "Or a video: an .mp4, .mov or .m4v path relative to this file.".to_owned(),
        ),
        (
            "cover",
            24.0,
            "Optional cover of a video: an image path or URL.".to_owned(),
        ),
        (
            "ai_disclosures",
            22.0,
            "Optional AI disclosure labels: AI_MODIFIED and/or SYNTHETIC_PERFORMER, separated by |."
                .to_owned(),
        ),
        utm_column("utm_source", "e.g. pinterest"),
        utm_column("utm_medium", "e.g. social"),
        utm_column("utm_campaign", "e.g. {board}"),
        utm_column("utm_term", "e.g. a keyword"),
        utm_column("utm_content", "e.g. {key}"),
    ]
}

/// A UTM column: its value is appended to the row's link (`--utm` gives one for every row).
fn utm_column(name: &'static str, example: &str) -> (&'static str, f64, String) {
    (
        name,
        16.0,
        format!(
            "Optional {name} added to the link ({example}); placeholders {{key}}, {{board}}, {{section}}, {{row}}. Leave empty for --utm's value, if any."
        ),
    )
}

/// The workbook's bytes: the header, one row per file of `scan` (on `board` when given), and
/// a drop-down of `boards` in the board column when there are any.
pub fn render(scan: &Scan, board: Option<&str>, boards: &[String]) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let columns = columns();
    let header = Format::new()
        .set_bold()
        .set_background_color("#E9EEF3")
        .set_border_bottom(rust_xlsxwriter::FormatBorder::Thin);
    let text = Format::new().set_num_format("@");
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let last_row = EDITABLE_ROWS.max(u32::try_from(scan.files.len()).unwrap_or(u32::MAX) + 1);
    let board_column = column_index(&columns, "board");
    {
        let sheet = book.add_worksheet();
        sheet.set_name(PINS_SHEET)?;
        for (index, (name, width, note)) in columns.iter().enumerate() {
            let col = u16::try_from(index).unwrap_or(u16::MAX);
            let format = if *name == "publish_at" { &when } else { &text };
            sheet.set_column_width(col, *width)?;
            sheet.set_column_format(col, format)?;
            sheet.write_string_with_format(0, col, *name, &header)?;
            sheet.insert_note(
                0,
                col,
                &Note::new(note.as_str())
                    .set_author("pinbatch")
                    .set_width(320)
                    .set_height(110),
            )?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (row, file) in (1u32..).zip(&scan.files) {
            let media_column = match file.kind {
                MediaKind::Image => "image",
                MediaKind::Video => "video",
            };
            let at = |name: &str| column_index(&columns, name);
            sheet.write_string_with_format(row, at("id"), &file.id, &text)?;
            if let Some(board) = board {
                sheet.write_string_with_format(row, board_column, board, &text)?;
            }
            sheet.write_string_with_format(row, at("title"), &file.title, &text)?;
            sheet.write_string_with_format(row, at(media_column), &file.reference, &text)?;
        }
        if !boards.is_empty() {
            let count = boards.len();
            let validation = DataValidation::new()
                .allow_list_formula(Formula::new(format!("={BOARDS_SHEET}!$A$1:$A${count}")))
                .set_input_title("Board")?
                .set_input_message("Pick one of your boards, or type a board id or a new name.")?
                .set_error_title("Not one of your boards")?
                .set_error_message(
                    "pinbatch creates a new board only with `apply --create-boards`. Keep it?",
                )?
                .set_error_style(DataValidationErrorStyle::Warning);
            sheet.add_data_validation(1, board_column, last_row, board_column, &validation)?;
        }
    }
    if !boards.is_empty() {
        let sheet = book.add_worksheet();
        sheet.set_name(BOARDS_SHEET)?;
        for (row, name) in (0u32..).zip(boards) {
            sheet.write_string(row, 0, name)?;
        }
        sheet.set_hidden(true);
    }
    book.save_to_buffer()
}

fn column_index(columns: &[(&'static str, f64, String)], name: &str) -> u16 {
    columns
        .iter()
        .position(|(column, _, _)| *column == name)
        .and_then(|index| u16::try_from(index).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use calamine::{Data, Reader as _};

    use super::*;
    use crate::manifest::scaffold::FoundFile;
    use crate::manifest::table::NATIVE_COLUMNS;

    fn scan() -> Scan {
        Scan {
            files: vec![FoundFile {
                id: "cats/tom.jpg".into(),
                title: "tom".into(),
                reference: "photos/cats/tom.jpg".into(),
                kind: MediaKind::Image,
            }],
            skipped: Vec::new(),
        }
    }

    #[test]
    fn the_columns_are_the_csv_columns() {
        let names: Vec<&str> = columns().iter().map(|(name, _, _)| *name).collect();
        assert_eq!(names, NATIVE_COLUMNS);
    }

    #[test]
    fn the_workbook_reads_back_with_its_rows_and_boards() {
        let bytes = render(&scan(), Some("Cats"), &["Cats".into(), "Dogs".into()]).unwrap();
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), [PINS_SHEET, BOARDS_SHEET]);
        let pins = book.worksheet_range(PINS_SHEET).unwrap();
        assert_eq!(pins.get((1, 0)), Some(&Data::String("cats/tom.jpg".into())));
        assert_eq!(pins.get((1, 1)), Some(&Data::String("Cats".into())));
        assert_eq!(
            pins.get((1, 9)),
            Some(&Data::String("photos/cats/tom.jpg".into()))
        );
        let boards = book.worksheet_range(BOARDS_SHEET).unwrap();
        assert_eq!(boards.get((1, 0)), Some(&Data::String("Dogs".into())));
        let without = render(&Scan::default(), None, &[]).unwrap();
        let book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(without)).unwrap();
        assert_eq!(book.sheet_names(), [PINS_SHEET]);
    }
}
