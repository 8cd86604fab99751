//! `pinbatch report`'s rows: one per manifest pin, in manifest order, with the manifest's own
//! columns as the user wrote them first, then what became of the pin (`pin_id`, `pin_url`,
//! `status`, `published_at`, `error`) and, with `--metrics`, its analytics; and their CSV and
//! JSON forms (the workbook is in `results_xlsx`).
//!
//! The result columns are those `manifest::RESULT_COLUMNS` and `METRIC_COLUMNS` name, which
//! every manifest reader accepts: a report reads back as a manifest, and its `pin_id`s rebuild
//! a state that is lost. The status comes from one function, [`result_status`].

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{Value, json};

use crate::apply::metrics::{Period, PinMetrics};
use crate::apply::progress::pin_url;
use crate::manifest::written::{WrittenCell, WrittenTable};
use crate::manifest::{
    ImageSource, METRIC_COLUMNS, Manifest, Media, PinSpec, PublishZone, RESULT_COLUMNS, VideoCover,
};
use crate::plan::Action;
use crate::state::{PinState, PinStatus, StateSnapshot};

/// What became of a manifest pin, as a report's `status` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultStatus {
    /// The pin exists on Pinterest.
    Published,
    /// Its `publish_at` is still to come (`published_at` holds when).
    Scheduled,
    /// Nothing sent yet, or nothing came of it.
    Pending,
    /// The last attempt failed (`error` says why).
    Failed,
    /// Pinterest refused its link as spam.
    Blocked,
    /// A create was sent and whether it made the pin is not known yet.
    Unknown,
}

impl ResultStatus {
    /// The word in the `status` column.
    pub fn name(self) -> &'static str {
        match self {
            ResultStatus::Published => "published",
            ResultStatus::Scheduled => "scheduled",
            ResultStatus::Pending => "pending",
            ResultStatus::Failed => "failed",
            ResultStatus::Blocked => "blocked",
            ResultStatus::Unknown => "unknown",
        }
    }
}

/// The one mapping from what the planner and the state say of a pin to its report status. A
/// failure whose error is Pinterest blocking the link (code 9, or a spam block) is `blocked`;
/// a pin held back because another pin of its link's domain was refused is `pending`.
pub(crate) fn result_status(action: &Action, recorded: Option<&PinState>) -> ResultStatus {
    match action {
        Action::Scheduled { .. } => return ResultStatus::Scheduled,
        Action::Blocked { .. } => return ResultStatus::Blocked,
        _ => {}
    }
    match recorded {
        Some(pin) if pin.is_unknown() => ResultStatus::Unknown,
        Some(pin) if pin.status == PinStatus::Done => ResultStatus::Published,
        Some(pin) if pin.status == PinStatus::Blocked => ResultStatus::Blocked,
        Some(pin) if pin.status == PinStatus::Failed => {
            let error = pin.last_error.as_deref().unwrap_or("").to_ascii_lowercase();
            if error.contains("(code 9)") || error.contains("spam") {
                ResultStatus::Blocked
            } else {
                ResultStatus::Failed
            }
        }
        _ => ResultStatus::Pending,
    }
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResultRow {
    /// The pin's key.
    pub key: String,
    /// Where the pin was written.
    pub location: String,
    /// Its board as written (board totals group by it).
    pub board: String,
    /// The manifest's own cells, one per [`Report::columns`].
    pub written: Vec<WrittenCell>,
    /// The pin it became (or, before `apply` recorded it, the one the manifest names).
    pub pin_id: Option<String>,
    /// What became of it.
    pub status: ResultStatus,
    /// When it was published, or for a scheduled pin when it is due.
    pub published_at: Option<jiff::Timestamp>,
    /// Why it failed, is blocked or unknown.
    pub error: Option<String>,
    /// Its analytics over the period (with `--metrics`, for a pin with data).
    pub metrics: Option<PinMetrics>,
}

/// A whole report.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    /// The manifest, as given.
    pub manifest: String,
    /// The sheet name for a workbook report (the manifest's, when it is a workbook).
    pub sheet: String,
    /// The manifest's own columns, as written (result columns it already had left out).
    pub columns: Vec<String>,
    /// One row per manifest pin, in manifest order.
    pub rows: Vec<ResultRow>,
    /// The zone times are shown in (the manifest's).
    pub zone: PublishZone,
    /// With `--metrics`: the days summed.
    pub period: Option<Period>,
}

/// What a report cannot carry of a YAML manifest (it is one table), one entry per kind.
pub(crate) type Losses = BTreeMap<&'static str, usize>;

/// Where a report's own columns come from: a table's cells as written, or a YAML manifest's
/// pins in pinbatch's CSV columns.
enum Columns<'a> {
    /// A CSV file or worksheet: the header's columns but the result columns it already had.
    Table {
        table: &'a WrittenTable,
        kept: Vec<usize>,
    },
    /// A YAML manifest: the CSV columns its pins use.
    Yaml {
        names: Vec<String>,
        zone: PublishZone,
    },
}

impl Columns<'_> {
    fn names(&self) -> Vec<String> {
        match self {
            Columns::Table { table, kept } => {
                kept.iter().map(|i| table.header[*i].clone()).collect()
            }
            Columns::Yaml { names, .. } => names.clone(),
        }
    }

    /// A pin's cells, one per column.
    fn cells(&self, spec: &PinSpec) -> Vec<WrittenCell> {
        match self {
            Columns::Table { table, kept } => {
                let line = spec
                    .location
                    .position
                    .row()
                    .and_then(|row| table.rows.get(&row));
                kept.iter()
                    .map(|i| {
                        line.and_then(|cells| cells.get(*i))
                            .cloned()
                            .unwrap_or(WrittenCell::Empty)
                    })
                    .collect()
            }
            Columns::Yaml { names, zone } => names
                .iter()
                .map(|name| match yaml_cell(spec, name, zone) {
                    Some(text) if !text.is_empty() => WrittenCell::Text(text),
                    _ => WrittenCell::Empty,
                })
                .collect(),
        }
    }
}

/// The report's rows from the manifest, its cells as written (`None` for YAML), the state and
/// the plan made from it (one action per pin). Metrics are added by [`Report::add_metrics`].
pub(crate) fn build(
    manifest: &Manifest,
    written: Option<&WrittenTable>,
    snapshot: Option<&StateSnapshot>,
    actions: &[Action],
    zone: &PublishZone,
) -> (Report, Losses) {
    let mut losses = Losses::new();
    let columns = match written {
        Some(table) => Columns::Table {
            table,
            kept: (0..table.header.len())
                .filter(|index| !is_result_column(&table.header[*index]))
                .collect(),
        },
        None => {
            for spec in &manifest.pins {
                note_losses(spec, &mut losses);
            }
            Columns::Yaml {
                names: yaml_columns(manifest),
                zone: zone.clone(),
            }
        }
    };
    if !manifest.boards.is_empty() {
        losses.insert("board declarations (`boards:`)", manifest.boards.len());
    }
    let rows = manifest
        .pins
        .iter()
        .zip(actions)
        .map(|(spec, action)| {
            let recorded = snapshot.and_then(|s| s.pin(&spec.key));
            row_of(spec, action, recorded, columns.cells(spec))
        })
        .collect();
    let report = Report {
        manifest: manifest.path.display().to_string(),
        sheet: written
            .and_then(|table| table.sheet.clone())
            .unwrap_or_else(|| "Pins".to_owned()),
        columns: columns.names(),
        rows,
        zone: zone.clone(),
        period: None,
    };
    (report, losses)
}

/// One pin's row: its cells, then what the planner's `action` and the state say of it.
fn row_of(
    spec: &PinSpec,
    action: &Action,
    recorded: Option<&PinState>,
    written: Vec<WrittenCell>,
) -> ResultRow {
    let status = result_status(action, recorded);
    let published_at = match (status, action) {
        (ResultStatus::Scheduled, Action::Scheduled { due }) => Some(*due),
        (ResultStatus::Published, _) => recorded
            .and_then(|pin| pin.published_ms)
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()),
        _ => None,
    };
    let error = match (status, action) {
        (ResultStatus::Blocked, Action::Blocked { message }) => recorded
            .and_then(|pin| pin.last_error.clone())
            .or_else(|| Some(message.clone())),
        (ResultStatus::Failed | ResultStatus::Blocked | ResultStatus::Unknown, _) => {
            recorded.and_then(|pin| pin.last_error.clone())
        }
        (ResultStatus::Pending, Action::Held { .. }) => Some(action.reason()),
        _ => None,
    };
    // Before `apply` records it, the pin the manifest names is kept: it is not lost.
    let pin_id = recorded
        .filter(|pin| pin.status == PinStatus::Done)
        .and_then(|pin| pin.pin_id.clone())
        .or_else(|| spec.pin_id.as_ref().map(|known| known.id.clone()));
    ResultRow {
        key: spec.key.clone(),
        location: spec.location.to_string(),
        board: spec.board.to_string(),
        written,
        pin_id,
        status,
        published_at,
        error,
        metrics: None,
    }
}

/// Whether a header names one of the report's own columns (a report of a report replaces
/// them instead of repeating them).
fn is_result_column(header: &str) -> bool {
    let name = header.trim().to_lowercase();
    RESULT_COLUMNS.contains(&name.as_str()) || METRIC_COLUMNS.contains(&name.as_str())
}

/// The columns a YAML manifest's pins use, in pinbatch's CSV order (`id` always: the key).
fn yaml_columns(manifest: &Manifest) -> Vec<String> {
    let zone = PublishZone::named("UTC").unwrap_or_else(|_| PublishZone::system());
    crate::manifest::NATIVE_COLUMNS
        .iter()
        .filter(|name| {
            **name == "id"
                || manifest
                    .pins
                    .iter()
                    .any(|spec| yaml_cell(spec, name, &zone).is_some_and(|t| !t.is_empty()))
        })
        .map(|name| (*name).to_owned())
        .collect()
}

/// A YAML pin's value in a CSV manifest column, as the CSV reader would read it back.
fn yaml_cell(spec: &PinSpec, column: &str, zone: &PublishZone) -> Option<String> {
    let image = |source: &ImageSource| match source {
        ImageSource::File(file) => file.reference.clone(),
        ImageSource::Url(url) => url.clone(),
    };
    match column {
        "id" => Some(spec.key.clone()),
        "board" => Some(spec.board.to_string()),
        "section" => spec.section.clone(),
        "title" => spec.title.clone(),
        "description" => spec.description.clone(),
        "link" => spec.link.clone(),
        "alt_text" => spec.alt_text.clone(),
        "dominant_color" => spec.dominant_color.clone(),
        "publish_at" => spec.publish_at.map(|at| zone.rfc3339(at)),
        "image" => match &spec.media {
            Media::Image(source) => Some(image(source)),
            Media::Carousel(items) => Some(
                items
                    .iter()
                    .map(|item| image(&item.source))
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            Media::Video(_) => None,
        },
        "video" => match &spec.media {
            Media::Video(video) => Some(video.reference.clone()),
            _ => None,
        },
        "cover" => match &spec.media {
            Media::Video(video) => match &video.cover {
                Some(VideoCover::File(file)) => Some(file.reference.clone()),
                Some(VideoCover::Url(url)) => Some(url.clone()),
                Some(VideoCover::Frame(_)) | None => None,
            },
            _ => None,
        },
        "ai_disclosures" => (!spec.ai_disclosures.is_empty()).then(|| {
            spec.ai_disclosures
                .iter()
                .map(|label| label.as_str())
                .collect::<Vec<_>>()
                .join("|")
        }),
        _ => None,
    }
}

/// Counts what of a YAML pin a table cannot hold.
fn note_losses(spec: &PinSpec, losses: &mut Losses) {
    match &spec.media {
        Media::Carousel(items)
            if items
                .iter()
                .any(|i| i.title.is_some() || i.description.is_some() || i.link.is_some()) =>
        {
            *losses.entry("carousel slide texts").or_default() += 1;
        }
        Media::Video(video) if matches!(video.cover, Some(VideoCover::Frame(_))) => {
            *losses
                .entry("video cover frames (`cover_frame`)")
                .or_default() += 1;
        }
        _ => {}
    }
}

impl Report {
    /// Adds each published pin's analytics (by pin id) and the period they cover.
    pub fn add_metrics(
        &mut self,
        period: Period,
        metrics: &std::collections::HashMap<String, Option<PinMetrics>>,
    ) {
        self.period = Some(period);
        for row in &mut self.rows {
            if row.status != ResultStatus::Published {
                continue;
            }
            row.metrics = row
                .pin_id
                .as_ref()
                .and_then(|id| metrics.get(id).cloned().flatten());
        }
    }

    /// Every column of the report, in order: the manifest's, the results, then the metrics
    /// when asked for.
    pub fn header(&self) -> Vec<String> {
        let mut header = self.columns.clone();
        header.extend(RESULT_COLUMNS.iter().map(|c| (*c).to_owned()));
        if self.period.is_some() {
            header.extend(METRIC_COLUMNS.iter().map(|c| (*c).to_owned()));
        }
        header
    }

    /// Totals per board (as written), in the order boards first appear: only with metrics.
    pub fn board_totals(&self) -> Vec<BoardTotals> {
        let mut totals: Vec<BoardTotals> = Vec::new();
        for row in &self.rows {
            let index = match totals.iter().position(|t| t.board == row.board) {
                Some(index) => index,
                None => {
                    totals.push(BoardTotals {
                        board: row.board.clone(),
                        ..BoardTotals::default()
                    });
                    totals.len() - 1
                }
            };
            let board = &mut totals[index];
            board.pins += 1;
            if row.status == ResultStatus::Published {
                board.published += 1;
            }
            if let Some(metrics) = &row.metrics {
                board.with_data += 1;
                board.impressions += metrics.impressions;
                board.saves += metrics.saves;
                board.pin_clicks += metrics.pin_clicks;
                board.outbound_clicks += metrics.outbound_clicks;
                board.video_views += metrics.video_views.unwrap_or(0.0);
            }
        }
        totals
    }

    /// How many rows have each status, in the vocabulary's order.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        [
            ResultStatus::Published,
            ResultStatus::Scheduled,
            ResultStatus::Pending,
            ResultStatus::Failed,
            ResultStatus::Blocked,
            ResultStatus::Unknown,
        ]
        .iter()
        .map(|status| {
            let n = self.rows.iter().filter(|r| r.status == *status).count();
            (status.name(), n)
        })
        .collect()
    }
}

/// One board's totals over the period.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct BoardTotals {
    /// The board, as the manifest writes it.
    pub board: String,
    /// Manifest pins on it.
    pub pins: usize,
    /// Of them, published.
    pub published: usize,
    /// Of them, with analytics in the period.
    pub with_data: usize,
    /// Summed impressions.
    pub impressions: f64,
    /// Summed saves.
    pub saves: f64,
    /// Summed pin clicks.
    pub pin_clicks: f64,
    /// Summed outbound clicks.
    pub outbound_clicks: f64,
    /// Summed video views.
    pub video_views: f64,
}

/// The header of the board totals (sheet and JSON).
pub(crate) const BOARD_TOTAL_COLUMNS: &[&str] = &[
    "board",
    "pins",
    "published",
    "with_data",
    "impressions",
    "saves",
    "pin_clicks",
    "outbound_clicks",
    "video_views",
];

/// A metric as a report shows it: whole numbers as they are, the average watch time to two
/// decimals.
pub(crate) fn metric_values(metrics: &PinMetrics) -> [Option<f64>; 6] {
    [
        Some(metrics.impressions),
        Some(metrics.saves),
        Some(metrics.pin_clicks),
        Some(metrics.outbound_clicks),
        metrics.video_views,
        metrics.avg_watch_time.map(|t| (t * 100.0).round() / 100.0),
    ]
}

/// The file's format, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportFormat {
    /// `.csv`.
    Csv,
    /// `.xlsx`.
    Xlsx,
    /// `.json`.
    Json,
}

impl ReportFormat {
    /// The format of `path`, by its extension.
    pub fn of(path: &Path) -> Option<ReportFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" => Some(ReportFormat::Csv),
            "xlsx" => Some(ReportFormat::Xlsx),
            "json" => Some(ReportFormat::Json),
            _ => None,
        }
    }
}

/// Writes the report to `path` in its format, atomically.
pub(crate) fn write(path: &Path, format: ReportFormat, report: &Report) -> anyhow::Result<()> {
    let bytes = match format {
        ReportFormat::Csv => csv_bytes(report)?,
        ReportFormat::Json => json_bytes(report)?,
        ReportFormat::Xlsx => super::results_xlsx::render(report)
            .with_context(|| format!("Cannot build the workbook `{}`", path.display()))?,
    };
    crate::fs::atomic::write(
        path,
        &bytes,
        crate::fs::atomic::Access::Shared,
        crate::fs::atomic::Existing::Replace,
    )
    .with_context(|| format!("Cannot write the report `{}`", path.display()))
}

/// The report as CSV: UTF-8 with a byte-order mark (so that Excel reads it as UTF-8), comma
/// separated, every value as text; times in RFC 3339 with the manifest zone's offset.
fn csv_bytes(report: &Report) -> anyhow::Result<Vec<u8>> {
    let mut buffer = b"\xEF\xBB\xBF".to_vec();
    let mut writer = csv::Writer::from_writer(&mut buffer);
    writer.write_record(report.header())?;
    for row in &report.rows {
        let mut record: Vec<String> = row.written.iter().map(WrittenCell::text).collect();
        record.push(row.pin_id.clone().unwrap_or_default());
        record.push(row.pin_id.as_deref().map(pin_url).unwrap_or_default());
        record.push(row.status.name().to_owned());
        record.push(
            row.published_at
                .map(|at| report.zone.rfc3339(at))
                .unwrap_or_default(),
        );
        record.push(row.error.clone().unwrap_or_default());
        if report.period.is_some() {
            let values = row.metrics.as_ref().map(metric_values).unwrap_or_default();
            record.extend(values.iter().map(|value| {
                value
                    .map(crate::manifest::workbook::number_text)
                    .unwrap_or_default()
            }));
        }
        writer.write_record(&record)?;
    }
    writer.flush()?;
    drop(writer);
    Ok(buffer)
}

/// One row of the JSON report.
#[derive(Serialize)]
struct JsonRow<'a> {
    key: &'a str,
    location: &'a str,
    /// The manifest's cells by column name (`columns` gives their order).
    manifest: serde_json::Map<String, Value>,
    pin_id: Option<&'a str>,
    pin_url: Option<String>,
    status: &'static str,
    published_at: Option<String>,
    error: Option<&'a str>,
    metrics: Option<serde_json::Map<String, Value>>,
}

/// The JSON report.
#[derive(Serialize)]
struct JsonReport<'a> {
    manifest: &'a str,
    time_zone: &'a str,
    metrics_period: Option<Value>,
    columns: Vec<String>,
    rows: Vec<JsonRow<'a>>,
    boards: Option<Vec<Value>>,
}

/// The report as one JSON document: the manifest, the period, the rows (the manifest's cells
/// by column name, then the results) and, with metrics, the board totals.
fn json_bytes(report: &Report) -> anyhow::Result<Vec<u8>> {
    let rows = report
        .rows
        .iter()
        .map(|row| JsonRow {
            key: &row.key,
            location: &row.location,
            manifest: report
                .columns
                .iter()
                .zip(&row.written)
                .map(|(column, cell)| (column.clone(), cell_json(cell)))
                .collect(),
            pin_id: row.pin_id.as_deref(),
            pin_url: row.pin_id.as_deref().map(pin_url),
            status: row.status.name(),
            published_at: row.published_at.map(|at| report.zone.rfc3339(at)),
            error: row.error.as_deref(),
            metrics: row.metrics.as_ref().map(|m| {
                METRIC_COLUMNS
                    .iter()
                    .zip(metric_values(m))
                    .map(|(name, value)| ((*name).to_owned(), json!(value)))
                    .collect()
            }),
        })
        .collect();
    let boards = report.period.map(|_| {
        report
            .board_totals()
            .iter()
            .map(|t| {
                json!({
                    "board": t.board, "pins": t.pins, "published": t.published,
                    "with_data": t.with_data, "impressions": t.impressions, "saves": t.saves,
                    "pin_clicks": t.pin_clicks, "outbound_clicks": t.outbound_clicks,
                    "video_views": t.video_views,
                })
            })
            .collect()
    });
    let document = JsonReport {
        manifest: &report.manifest,
        time_zone: report.zone.name(),
        metrics_period: report
            .period
            .map(|p| json!({"since": p.since.to_string(), "until": p.until.to_string()})),
        columns: report.header(),
        rows,
        boards,
    };
    let mut bytes = serde_json::to_vec_pretty(&document)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A manifest cell in JSON: text, number, boolean, or a local date-time as text; empty is null.
fn cell_json(cell: &WrittenCell) -> Value {
    match cell {
        WrittenCell::Empty => Value::Null,
        WrittenCell::Text(text) => json!(text),
        WrittenCell::Number(number) => json!(number),
        WrittenCell::Bool(value) => json!(value),
        WrittenCell::DateTime(_) => json!(cell.text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{ImageSource, Media};

    fn recorded(status: PinStatus, error: Option<&str>) -> PinState {
        PinState {
            status,
            pin_id: (status == PinStatus::Done).then(|| "9".to_owned()),
            last_error: error.map(str::to_owned),
            ..PinState::new()
        }
    }

    #[test]
    fn one_mapping_gives_each_status() {
        let create = Action::Create {
            reconcile: Vec::new(),
        };
        let due = "2099-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            result_status(&Action::Scheduled { due }, None),
            ResultStatus::Scheduled
        );
        assert_eq!(result_status(&create, None), ResultStatus::Pending);
        let done = recorded(PinStatus::Done, None);
        assert_eq!(
            result_status(&Action::Unchanged { pin_id: "9".into() }, Some(&done)),
            ResultStatus::Published
        );
        let failed = recorded(
            PinStatus::Failed,
            Some("POST /v5/pins failed: 400 (code 1)"),
        );
        assert_eq!(result_status(&create, Some(&failed)), ResultStatus::Failed);
        let blocked = recorded(
            PinStatus::Failed,
            Some(
                "POST /v5/pins: 429 (code 9): Sorry! We blocked this link because it may lead to spam.",
            ),
        );
        assert_eq!(
            result_status(&create, Some(&blocked)),
            ResultStatus::Blocked
        );
        // What the drip's spam stop records, and what the planner then says of the pin.
        let refused = recorded(PinStatus::Blocked, Some("spam"));
        assert_eq!(
            result_status(&create, Some(&refused)),
            ResultStatus::Blocked
        );
        let blocked_action = Action::Blocked {
            message: "spam".into(),
        };
        assert_eq!(
            result_status(&blocked_action, Some(&refused)),
            ResultStatus::Blocked
        );
        let held = Action::Held {
            domain: "example.com".into(),
        };
        assert_eq!(result_status(&held, None), ResultStatus::Pending);
        let mut unknown = recorded(PinStatus::Pending, Some("timed out"));
        unknown.in_flight = Some(crate::state::InFlight {
            op: crate::state::Operation::Create,
            started_ms: 1,
            server_started_ms: None,
            ended_ms: None,
            fingerprint: crate::plan::fingerprint(&PinSpec::sample(
                "a",
                "B",
                Media::Image(ImageSource::Url("https://x/a.jpg".into())),
            )),
            board_id: "1".into(),
            section_id: None,
        });
        assert_eq!(
            result_status(&create, Some(&unknown)),
            ResultStatus::Unknown
        );
    }

    #[test]
    fn a_report_of_a_report_does_not_repeat_its_result_columns() {
        assert!(is_result_column(" PIN_ID "));
        assert!(is_result_column("impressions"));
        assert!(!is_result_column("title"));
    }

    #[test]
    fn a_yaml_manifest_becomes_the_csv_columns_its_pins_use() {
        let mut spec = PinSpec::sample(
            "cat",
            "Animals",
            Media::Image(ImageSource::Url("https://x/cat.jpg".into())),
        );
        spec.title = Some("Cat".into());
        spec.publish_at = Some("2099-01-01T09:00:00Z".parse().unwrap());
        let manifest = Manifest {
            path: "m.yaml".into(),
            boards: Vec::new(),
            pins: vec![spec],
            schedule: None,
        };
        let zone = PublishZone::named("Asia/Tokyo").unwrap();
        let due = manifest.pins[0].publish_at.unwrap();
        let (report, losses) = build(&manifest, None, None, &[Action::Scheduled { due }], &zone);
        assert!(losses.is_empty());
        assert_eq!(
            report.columns,
            ["id", "board", "title", "publish_at", "image"]
        );
        assert_eq!(
            report.rows[0].written[3],
            WrittenCell::Text("2099-01-01T18:00:00+09:00".into())
        );
        assert_eq!(report.rows[0].status, ResultStatus::Scheduled);
        assert_eq!(report.rows[0].published_at, Some(due));
    }
}
