//! `export`'s engine: a manifest as Pinterest's own bulk-create CSV, at most 200 rows per file.
//!
//! That CSV cannot hold everything a manifest can: carousels are skipped, local files are written
//! as paths (Pinterest needs public URLs), and alt text, dominant colour, ids and `cover_frame`
//! are dropped. Each loss is reported as a warning.

use std::path::{Path, PathBuf};

use crate::fs::paths::relative_reference;
use crate::manifest::{BoardRef, ImageSource, Manifest, Media, PinSpec, VideoCover};

/// Pinterest's bulk-create header, in its order.
pub const BULK_HEADER: [&str; 8] = [
    "Title",
    "Media URL",
    "Pinterest board",
    "Thumbnail",
    "Description",
    "Link",
    "Publish date",
    "Keywords",
];

/// Most rows Pinterest takes in one bulk file.
pub const MAX_ROWS_PER_FILE: usize = 200;

/// One row of the bulk CSV, in [`BULK_HEADER`] order.
pub type BulkRow = [String; 8];

/// The rows of an export and what could not be expressed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkExport {
    /// One row per exported pin, in manifest order.
    pub rows: Vec<BulkRow>,
    /// One line per loss (skipped pin, local file, dropped field), naming the pin.
    pub warnings: Vec<String>,
    /// Pins left out (carousels).
    pub skipped: usize,
}

/// Builds the rows of `manifest`; local paths are written relative to `out_dir`, the folder the
/// CSV goes to, so the file still reads back as a manifest there. `dates` are the publish dates
/// by pin (a schedule's times); where it is shorter, a pin's own `publish_at` is written.
pub fn bulk_rows(
    manifest: &Manifest,
    out_dir: &Path,
    dates: &[Option<jiff::Timestamp>],
) -> BulkExport {
    let mut export = BulkExport::default();
    for (index, pin) in manifest.pins.iter().enumerate() {
        let date = dates.get(index).copied().unwrap_or(pin.publish_at);
        match row(pin, date, out_dir, &mut export.warnings) {
            Some(row) => export.rows.push(row),
            None => export.skipped += 1,
        }
    }
    export
}

fn row(
    pin: &PinSpec,
    date: Option<jiff::Timestamp>,
    out_dir: &Path,
    warnings: &mut Vec<String>,
) -> Option<BulkRow> {
    let at = format!("pin `{}` ({})", pin.key, pin.location);
    let local = |path: &Path, warnings: &mut Vec<String>, what: &str| {
        warnings.push(format!(
            "{at}: {what} is a local file; Pinterest's bulk upload needs a public URL, so the path was written instead: replace it before uploading"
        ));
        relative_reference(out_dir, path)
    };
    let (media_url, thumbnail) = match &pin.media {
        Media::Carousel(_) => {
            warnings.push(format!(
                "{at}: skipped: carousels cannot be written in Pinterest's bulk CSV"
            ));
            return None;
        }
        Media::Image(ImageSource::Url(url)) => (url.clone(), String::new()),
        Media::Image(ImageSource::File(image)) => {
            (local(&image.path, warnings, "the image"), String::new())
        }
        Media::Video(video) => {
            let media = local(&video.path, warnings, "the video");
            let thumbnail = match &video.cover {
                None => String::new(),
                Some(VideoCover::Url(url)) => url.clone(),
                Some(VideoCover::File(image)) => local(&image.path, warnings, "the cover"),
                Some(VideoCover::Frame(seconds)) => {
                    warnings.push(format!(
                        "{at}: `cover_frame: {seconds}` cannot be written in Pinterest's bulk CSV; the default cover is used"
                    ));
                    String::new()
                }
            };
            (media, thumbnail)
        }
    };
    if pin.title.is_none() {
        warnings.push(format!(
            "{at}: has no title; Pinterest's bulk upload needs one"
        ));
    }
    if matches!(pin.board, BoardRef::Id(_)) {
        warnings.push(format!(
            "{at}: the board is a numeric id; Pinterest's bulk upload needs the board's name"
        ));
    }
    if pin.alt_text.is_some() || pin.dominant_color.is_some() {
        warnings.push(format!(
            "{at}: alt text and dominant colour cannot be written in Pinterest's bulk CSV; dropped"
        ));
    }
    if !pin.ai_disclosures.is_empty() {
        let labels: Vec<&str> = pin.ai_disclosures.iter().map(|l| l.as_str()).collect();
        warnings.push(format!(
            "{at}: AI disclosure labels ({}) cannot be written in Pinterest's bulk CSV; dropped: declare them on Pinterest after uploading, or publish with `pinbatch apply`",
            labels.join(", ")
        ));
    }
    let board = match &pin.section {
        Some(section) => format!("{} / {section}", pin.board),
        None => pin.board.to_string(),
    };
    Some([
        pin.title.clone().unwrap_or_default(),
        media_url,
        board,
        thumbnail,
        pin.description.clone().unwrap_or_default(),
        pin.link.clone().unwrap_or_default(),
        date.map(publish_date).unwrap_or_default(),
        String::new(),
    ])
}

/// A publish time as the bulk CSV writes it: `YYYY-MM-DDTHH:MM:SS` in UTC, no offset.
pub fn publish_date(at: jiff::Timestamp) -> String {
    jiff::tz::TimeZone::UTC
        .to_datetime(at)
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// The files an export of `rows` rows is written to: `path` itself when it fits in one file,
/// else `STEM-1.EXT`, `STEM-2.EXT`, ... beside it, 200 rows each.
pub fn output_paths(path: &Path, rows: usize) -> Vec<PathBuf> {
    let files = rows.div_ceil(MAX_ROWS_PER_FILE).max(1);
    if files == 1 {
        return vec![path.to_owned()];
    }
    (1..=files).map(|n| part_path(path, n)).collect()
}

/// `STEM-N.EXT` beside `path`.
fn part_path(path: &Path, n: usize) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extension = path
        .extension()
        .map(|ext| format!(".{}", ext.to_string_lossy()))
        .unwrap_or_default();
    path.with_file_name(format!("{stem}-{n}{extension}"))
}

/// Files beside `path` that an earlier export wrote and this one did not (`path` itself, or
/// `STEM-N.EXT` parts): uploading them with the new ones would create their pins again.
pub fn leftover_parts(path: &Path, written: &[PathBuf]) -> Vec<PathBuf> {
    let mut candidates = vec![path.to_owned()];
    // Parts are numbered from 1 without gaps, so the first missing number ends the search.
    candidates.extend(
        (1..)
            .map(|n| part_path(path, n))
            .take_while(|part| part.exists()),
    );
    candidates
        .into_iter()
        .filter(|candidate| candidate.exists() && !written.contains(candidate))
        .collect()
}

/// One bulk CSV file: the header and `rows`.
pub fn render(rows: &[BulkRow]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = writer.write_record(BULK_HEADER);
    for row in rows {
        let _ = writer.write_record(row);
    }
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_without_an_offset() {
        let at: jiff::Timestamp = "2026-12-24T10:30:05+01:00".parse().unwrap();
        assert_eq!(publish_date(at), "2026-12-24T09:30:05");
    }

    #[test]
    fn large_exports_are_numbered() {
        let path = Path::new("/x/bulk.csv");
        assert_eq!(output_paths(path, 0), [PathBuf::from("/x/bulk.csv")]);
        assert_eq!(output_paths(path, 200), [PathBuf::from("/x/bulk.csv")]);
        assert_eq!(
            output_paths(path, 401),
            [
                PathBuf::from("/x/bulk-1.csv"),
                PathBuf::from("/x/bulk-2.csv"),
                PathBuf::from("/x/bulk-3.csv")
            ]
        );
    }

    #[test]
    fn parts_of_an_earlier_larger_export_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bulk.csv");
        for name in [
            "bulk.csv",
            "bulk-1.csv",
            "bulk-2.csv",
            "bulk-3.csv",
            "bulk-5.csv",
        ] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let written = output_paths(&path, 250);
        assert_eq!(
            leftover_parts(&path, &written),
            [dir.path().join("bulk.csv"), dir.path().join("bulk-3.csv")]
        );
        let single = output_paths(&path, 10);
        assert_eq!(
            leftover_parts(&path, &single),
            [
                dir.path().join("bulk-1.csv"),
                dir.path().join("bulk-2.csv"),
                dir.path().join("bulk-3.csv")
            ]
        );
        assert!(leftover_parts(&dir.path().join("other.csv"), &[]).is_empty());
    }

    #[test]
    fn the_header_is_pinterests() {
        let text = String::from_utf8(render(&[])).unwrap();
        assert_eq!(
            text,
            "Title,Media URL,Pinterest board,Thumbnail,Description,Link,Publish date,Keywords\n"
        );
    }
}
