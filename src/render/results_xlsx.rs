//! `pinbatch report -o FILE.xlsx`: the report as a workbook, with rust_xlsxwriter. The first
//! sheet holds the rows (and reads back as a manifest: it is the first sheet); its header is
//! bold and frozen with a filter over every column, `pin_url` is a clickable link, times are
//! date cells, metrics are numbers, and the manifest's own cells keep the types they had (text
//! stays text, so an id keeps all its digits). With metrics, a second sheet sums them per
//! board.

use rust_xlsxwriter::{ExcelDateTime, Format, FormatBorder, Url, Workbook, Worksheet, XlsxError};

use super::results::{BOARD_TOTAL_COLUMNS, Report, ResultRow, metric_values};
use crate::apply::progress::pin_url;
use crate::manifest::written::WrittenCell;

/// Excel keeps at most this many links in a sheet; later `pin_url`s are plain text.
const MAX_LINKS: usize = 65_530;

/// The name of the board totals sheet.
pub(crate) const BOARDS_SHEET: &str = "Boards";

/// Column widths, in characters: at least the header's, at most this.
const MAX_WIDTH: usize = 60;

/// The formats of a report workbook.
struct Formats {
    header: Format,
    when: Format,
    decimals: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            header: Format::new()
                .set_bold()
                .set_background_color("#E9EEF3")
                .set_border_bottom(FormatBorder::Thin),
            when: Format::new().set_num_format("yyyy-mm-dd hh:mm"),
            decimals: Format::new().set_num_format("0.00"),
        }
    }
}

/// The workbook's bytes.
pub(crate) fn render(report: &Report) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let formats = Formats::new();
    {
        let sheet = book.add_worksheet();
        sheet.set_name(&report.sheet)?;
        let header = report.header();
        write_header(sheet, &header, &formats)?;
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count() + 2).collect();
        for (index, row) in report.rows.iter().enumerate() {
            let line = u32::try_from(index + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
            write_row(
                sheet,
                line,
                row,
                report,
                index < MAX_LINKS,
                &formats,
                &mut widths,
            )?;
        }
        finish_table(sheet, report.rows.len(), &widths)?;
    }
    if report.period.is_some() {
        let sheet = book.add_worksheet();
        sheet.set_name(BOARDS_SHEET)?;
        let header: Vec<String> = BOARD_TOTAL_COLUMNS
            .iter()
            .map(|c| (*c).to_owned())
            .collect();
        write_header(sheet, &header, &formats)?;
        let totals = report.board_totals();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count() + 2).collect();
        for (index, board) in totals.iter().enumerate() {
            let line = u32::try_from(index + 1).map_err(|_| XlsxError::RowColumnLimitError)?;
            sheet.write_string(line, 0, &board.board)?;
            widths[0] = widths[0].max(board.board.chars().count() + 2);
            let numbers = [
                board.pins as f64,
                board.published as f64,
                board.with_data as f64,
                board.impressions,
                board.saves,
                board.pin_clicks,
                board.outbound_clicks,
                board.video_views,
            ];
            for (offset, number) in numbers.iter().enumerate() {
                sheet.write_number(line, column(offset + 1)?, *number)?;
            }
        }
        finish_table(sheet, totals.len(), &widths)?;
    }
    book.save_to_buffer()
}

fn column(index: usize) -> Result<u16, XlsxError> {
    u16::try_from(index).map_err(|_| XlsxError::RowColumnLimitError)
}

fn write_header(
    sheet: &mut Worksheet,
    header: &[String],
    formats: &Formats,
) -> Result<(), XlsxError> {
    for (index, name) in header.iter().enumerate() {
        sheet.write_string_with_format(0, column(index)?, name, &formats.header)?;
    }
    Ok(())
}

/// Freezes the header, puts a filter over every column and sets the widths.
fn finish_table(sheet: &mut Worksheet, rows: usize, widths: &[usize]) -> Result<(), XlsxError> {
    sheet.set_freeze_panes(1, 0)?;
    let last_row = u32::try_from(rows).map_err(|_| XlsxError::RowColumnLimitError)?;
    let last_column = column(widths.len().saturating_sub(1))?;
    sheet.autofilter(0, 0, last_row, last_column)?;
    for (index, width) in widths.iter().enumerate() {
        sheet.set_column_width(column(index)?, (*width).min(MAX_WIDTH) as f64)?;
    }
    Ok(())
}

/// One row: the manifest's cells by type, then the results and the metrics.
fn write_row(
    sheet: &mut Worksheet,
    line: u32,
    row: &ResultRow,
    report: &Report,
    link: bool,
    formats: &Formats,
    widths: &mut [usize],
) -> Result<(), XlsxError> {
    let mut at = 0usize;
    let mut note_width = |index: usize, text_len: usize| {
        if let Some(width) = widths.get_mut(index) {
            *width = (*width).max(text_len + 2);
        }
    };
    for cell in &row.written {
        let col = column(at)?;
        match cell {
            WrittenCell::Empty => {}
            WrittenCell::Text(text) => {
                sheet.write_string(line, col, text)?;
            }
            WrittenCell::Number(number) => {
                sheet.write_number(line, col, *number)?;
            }
            WrittenCell::Bool(value) => {
                sheet.write_boolean(line, col, *value)?;
            }
            WrittenCell::DateTime(at) => {
                sheet.write_datetime_with_format(line, col, &excel_time(*at)?, &formats.when)?;
            }
        }
        note_width(at, cell.text().chars().count());
        at += 1;
    }
    if let Some(pin_id) = &row.pin_id {
        sheet.write_string(line, column(at)?, pin_id)?;
        let url = pin_url(pin_id);
        if link {
            sheet.write_url(line, column(at + 1)?, Url::new(url.as_str()))?;
        } else {
            sheet.write_string(line, column(at + 1)?, &url)?;
        }
        note_width(at, pin_id.len());
        note_width(at + 1, url.len());
    }
    sheet.write_string(line, column(at + 2)?, row.status.name())?;
    if let Some(published) = row.published_at {
        let local = published
            .to_zoned_datetime(report.zone.time_zone().clone())
            .datetime();
        sheet.write_datetime_with_format(
            line,
            column(at + 3)?,
            &excel_time(local)?,
            &formats.when,
        )?;
        note_width(at + 3, 16);
    }
    if let Some(error) = &row.error {
        sheet.write_string(line, column(at + 4)?, error)?;
        note_width(at + 4, error.chars().count());
    }
    if let Some(metrics) = &row.metrics {
        for (offset, value) in metric_values(metrics).iter().enumerate() {
            let Some(value) = value else {
                continue;
            };
            let col = column(at + 5 + offset)?;
            if offset == 5 {
                sheet.write_number_with_format(line, col, *value, &formats.decimals)?;
            } else {
                sheet.write_number(line, col, *value)?;
            }
        }
    }
    Ok(())
}

/// A civil date-time as Excel's, to the second.
fn excel_time(at: jiff::civil::DateTime) -> Result<ExcelDateTime, XlsxError> {
    let number = |value: i64| {
        u16::try_from(value).map_err(|_| XlsxError::DateTimeRangeError(format!("{at}")))
    };
    ExcelDateTime::from_ymd(
        number(i64::from(at.year()))?,
        u8::try_from(at.month()).map_err(|_| XlsxError::DateTimeRangeError(format!("{at}")))?,
        u8::try_from(at.day()).map_err(|_| XlsxError::DateTimeRangeError(format!("{at}")))?,
    )?
    .and_hms(
        number(i64::from(at.hour()))?,
        u8::try_from(at.minute()).map_err(|_| XlsxError::DateTimeRangeError(format!("{at}")))?,
        f64::from(at.second()),
    )
}
