//! The typed manifest that every command works on, whatever file format it came from.
//!
//! A `Manifest` only exists once a file has passed validation: defaults are merged, paths are
//! absolute, `glob:` entries are expanded, and every pin has a unique key.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A validated manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The manifest file, as given on the command line.
    pub path: PathBuf,
    /// Boards (with sections) that pinbatch may create when they are missing.
    pub boards: Vec<BoardDecl>,
    /// The pins, in manifest order (glob entries expanded in sorted order).
    pub pins: Vec<PinSpec>,
    /// YAML's `schedule:` block, checked: when pins without `publish_at` go.
    pub schedule: Option<super::schedule::SchedulePolicy>,
}

/// A board declared under `boards:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardDecl {
    /// The board name.
    pub name: String,
    /// Optional board description.
    pub description: Option<String>,
    /// Privacy for a created board; Pinterest's default (PUBLIC) when absent.
    pub privacy: Option<Privacy>,
    /// Section names pinbatch may create on this board.
    pub sections: Vec<String>,
    /// Where it was declared.
    pub location: Location,
}

/// Board privacy as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Privacy {
    /// Visible to everyone.
    Public,
    /// Visible to the owner and collaborators only (not listed).
    Protected,
    /// Secret board.
    Secret,
}

/// One pin to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct PinSpec {
    /// The stable key: the explicit `id`, or one derived from board + media reference(s).
    pub key: String,
    /// Where the pin was written in the manifest.
    pub location: Location,
    /// The board, by name or numeric id.
    pub board: BoardRef,
    /// Optional section name on that board.
    pub section: Option<String>,
    /// Title (at most 100 characters).
    pub title: Option<String>,
    /// Description (at most 800 characters).
    pub description: Option<String>,
    /// Destination link, an absolute http(s) URL (at most 2048 characters).
    pub link: Option<String>,
    /// Alt text (at most 500 characters).
    pub alt_text: Option<String>,
    /// `#RRGGBB`.
    pub dominant_color: Option<String>,
    /// When the pin becomes due; `apply` skips it as scheduled until then.
    pub publish_at: Option<jiff::Timestamp>,
    /// AI disclosure labels (Pinterest API 5.28 `ai_disclosures`), without repeats, in the
    /// order written; empty when the pin declares none.
    pub ai_disclosures: Vec<AiDisclosure>,
    /// The media of the pin: exactly one.
    pub media: Media,
    /// The Pinterest pin it already became, when the manifest says so (a report's `pin_id`).
    pub pin_id: Option<KnownPin>,
}

/// A pin id written in a manifest (a report's `pin_id` column): the pin a row already became.
/// Never trusted blindly: `apply` reads the pin from the account before recording it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownPin {
    /// The pin id (digits).
    pub id: String,
    /// Where it was written (the cell, or the line and column).
    pub location: Location,
}

/// An AI disclosure label a creator declares about a pin (API 5.28 `AiDisclosureItem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AiDisclosure {
    /// `AI_MODIFIED`: the content was made or changed with AI.
    AiModified,
    /// `SYNTHETIC_PERFORMER`: it shows a synthetic (AI-generated) performer.
    SyntheticPerformer,
}

impl AiDisclosure {
    /// Every label, in the API's order.
    pub const ALL: [AiDisclosure; 2] = [AiDisclosure::AiModified, AiDisclosure::SyntheticPerformer];

    /// The label as the API and the manifest spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            AiDisclosure::AiModified => "AI_MODIFIED",
            AiDisclosure::SyntheticPerformer => "SYNTHETIC_PERFORMER",
        }
    }

    /// The label spelled exactly `text`, if any.
    pub fn parse(text: &str) -> Option<AiDisclosure> {
        AiDisclosure::ALL.into_iter().find(|d| d.as_str() == text)
    }
}

impl fmt::Display for AiDisclosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PinSpec {
    /// What is done to its local images before they are sent (`photo.webp: WebP converted to
    /// JPEG`), one per image that is not sent as it is, joined by `; `; `None` when every image
    /// goes as it is. Runs' reports carry it, so a user can tell what Pinterest received.
    pub fn conversions(&self) -> Option<String> {
        let images: Vec<&LocalImage> = match &self.media {
            Media::Image(ImageSource::File(image)) => vec![image],
            Media::Image(ImageSource::Url(_)) => Vec::new(),
            Media::Carousel(items) => items
                .iter()
                .filter_map(|item| match &item.source {
                    ImageSource::File(image) => Some(image),
                    ImageSource::Url(_) => None,
                })
                .collect(),
            Media::Video(video) => match &video.cover {
                Some(VideoCover::File(image)) => vec![image],
                _ => Vec::new(),
            },
        };
        let described: Vec<String> = images
            .into_iter()
            .filter_map(|image| {
                let format = image.info.format;
                let target = match image.content_type {
                    ImageType::Jpeg => super::image::ImageFormat::Jpeg,
                    ImageType::Png => super::image::ImageFormat::Png,
                };
                let done = match (image.info.prepare, format == target) {
                    (Prepare::AsIs, _) => return None,
                    // A JPEG converted to JPEG is a CMYK one.
                    (Prepare::Convert, true) => format!("{format} converted to RGB colours"),
                    (Prepare::Convert, false) => format!("{format} converted to {target}"),
                    (Prepare::Fit, true) => format!("{format} scaled down to fit the size limit"),
                    (Prepare::Fit, false) => {
                        format!(
                            "{format} converted to {target} and scaled down to fit the size limit"
                        )
                    }
                };
                Some(format!("{}: {done}", image.reference))
            })
            .collect();
        (!described.is_empty()).then(|| described.join("; "))
    }
}

#[cfg(test)]
impl PinSpec {
    /// A pin for unit tests: key `key` at `m.yaml:1:1`, on board `board`, with `media` and no
    /// text; a test sets the fields it needs with `PinSpec { title: .., ..PinSpec::sample(..) }`.
    pub(crate) fn sample(key: &str, board: &str, media: Media) -> PinSpec {
        PinSpec {
            key: key.to_owned(),
            location: Location {
                file: std::sync::Arc::from("m.yaml"),
                position: Position::LineColumn { line: 1, column: 1 },
            },
            board: BoardRef::Name(board.to_owned()),
            section: None,
            title: None,
            description: None,
            link: None,
            alt_text: None,
            dominant_color: None,
            publish_at: None,
            ai_disclosures: Vec::new(),
            media,
            pin_id: None,
        }
    }
}

/// A pin that failed its checks, as it was written (for showing it with its problems).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinDraft {
    /// Where the pin was written.
    pub location: Location,
    /// The explicit `id`, if any.
    pub key: Option<String>,
    /// The board as written.
    pub board: Option<String>,
    /// The section as written.
    pub section: Option<String>,
    /// The title as written.
    pub title: Option<String>,
    /// The description as written.
    pub description: Option<String>,
    /// The link as written.
    pub link: Option<String>,
    /// The alt text as written.
    pub alt_text: Option<String>,
    /// The publish time as written.
    pub publish_at: Option<String>,
    /// Media references (paths, URLs or a glob) as written.
    pub media: Vec<String>,
}

/// A board reference: a numeric id is passed through, anything else is resolved by name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BoardRef {
    /// A board id (all digits).
    Id(String),
    /// A board name.
    Name(String),
}

impl BoardRef {
    /// Parses a manifest value: all digits is an id, anything else a name.
    pub fn parse(value: &str) -> BoardRef {
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            BoardRef::Id(value.to_owned())
        } else {
            BoardRef::Name(value.to_owned())
        }
    }
}

impl fmt::Display for BoardRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoardRef::Id(id) => write!(f, "{id}"),
            BoardRef::Name(name) => write!(f, "{name}"),
        }
    }
}

/// The media of one pin.
#[derive(Debug, Clone, PartialEq)]
pub enum Media {
    /// A single image.
    Image(ImageSource),
    /// A carousel of 2-5 images, all local files or all URLs.
    Carousel(Vec<CarouselItem>),
    /// A video file with its cover.
    Video(VideoSpec),
}

impl Media {
    /// A short name of the media kind for messages and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Media::Image(_) => "image",
            Media::Carousel(_) => "carousel",
            Media::Video(_) => "video",
        }
    }
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImageSource {
    /// A local JPEG or PNG, sent as base64. The path is resolved against the manifest's folder.
    File(LocalImage),
    /// A public http(s) URL that Pinterest fetches.
    Url(String),
}

/// A local image file, with what validation learned about it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalImage {
    /// The path as written in the manifest (used in keys and messages).
    pub reference: String,
    /// The resolved path.
    pub path: PathBuf,
    /// What is sent: JPEG or PNG (the file's own type, or what it is converted to).
    pub content_type: ImageType,
    /// File size in bytes at validation time.
    pub len: u64,
    /// What its header says and what is done to it before it is sent.
    pub info: ImageInfo,
}

/// What a local image's header says, and how it is prepared for upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageInfo {
    /// The file's own format.
    pub format: super::image::ImageFormat,
    /// Width as shown (EXIF orientation applied), in pixels.
    pub width: u32,
    /// Height as shown, in pixels.
    pub height: u32,
    /// What is done to the file before it is sent.
    pub prepare: Prepare,
}

impl ImageInfo {
    /// A JPEG or PNG of unknown size, sent as it is (for tests of other parts).
    pub fn sent_as_is(content_type: ImageType) -> ImageInfo {
        ImageInfo {
            format: match content_type {
                ImageType::Jpeg => super::image::ImageFormat::Jpeg,
                ImageType::Png => super::image::ImageFormat::Png,
            },
            width: 0,
            height: 0,
            prepare: Prepare::AsIs,
        }
    }
}

/// What is done to a local image before it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prepare {
    /// Its bytes are sent as they are.
    AsIs,
    /// Decoded (the first frame of a GIF), turned upright by its EXIF orientation and encoded
    /// as the `content_type`: a format Pinterest does not take, or a CMYK JPEG.
    Convert,
    /// Converted as above, and scaled down until it is under the size limit (`--fit`).
    Fit,
}

/// Image types Pinterest accepts as base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageType {
    /// `image/jpeg`.
    Jpeg,
    /// `image/png`.
    Png,
}

impl ImageType {
    /// The MIME type the API expects in `content_type`.
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
        }
    }
}

/// One carousel slide.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CarouselItem {
    /// The image.
    pub source: ImageSource,
    /// Optional per-slide title.
    pub title: Option<String>,
    /// Optional per-slide description.
    pub description: Option<String>,
    /// Optional per-slide link.
    pub link: Option<String>,
}

/// A video pin's media.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VideoSpec {
    /// The path as written in the manifest.
    pub reference: String,
    /// The resolved video path (.mp4, .mov or .m4v).
    pub path: PathBuf,
    /// File size in bytes at validation time.
    pub len: u64,
    /// The cover; Pinterest's default (first frame) when absent.
    pub cover: Option<VideoCover>,
    /// Duration, size and codec, from its container.
    pub info: super::video::VideoInfo,
}

/// A video cover.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VideoCover {
    /// A local JPEG or PNG.
    File(LocalImage),
    /// A public image URL.
    Url(String),
    /// A key frame, in seconds from the start.
    Frame(u32),
}

/// Where something was written in a manifest file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The manifest file, as given on the command line.
    pub file: Arc<str>,
    /// Line:column or row.
    pub position: Position,
}

/// A position inside a manifest file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    /// The file as a whole (for example, it cannot be read).
    File,
    /// YAML: 1-based line and column.
    LineColumn {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
    },
    /// CSV: the row as a spreadsheet numbers it (header = 1, first pin = 2), and its physical line.
    Row {
        /// Spreadsheet row number.
        row: u32,
        /// 1-based line in the file where the row starts (differs from `row` with multi-line cells).
        line: u32,
    },
    /// Workbooks: a cell (`Sheet1!C7`), or a whole row (`Sheet1!7:7`) when `column` is 0.
    Cell {
        /// The sheet.
        sheet: SheetName,
        /// 1-based row, as the spreadsheet shows it.
        row: u32,
        /// 1-based column (A = 1), or 0 for the whole row.
        column: u32,
    },
}

/// A worksheet's name, as small and cheap to copy as a number so that positions stay `Copy`
/// and small.
///
/// Names are interned for the life of the process: one small string per distinct sheet name
/// a run reads (a command reads one sheet of one workbook), never one per cell or row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SheetName(u32);

static SHEET_NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

fn sheet_names() -> std::sync::MutexGuard<'static, Vec<&'static str>> {
    SHEET_NAMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl SheetName {
    /// The interned name `name`.
    pub fn intern(name: &str) -> SheetName {
        let mut names = sheet_names();
        let index = match names.iter().position(|known| *known == name) {
            Some(index) => index,
            None => {
                names.push(Box::leak(name.to_owned().into_boxed_str()));
                names.len() - 1
            }
        };
        SheetName(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// The name as written in the workbook.
    pub fn as_str(self) -> &'static str {
        let names = sheet_names();
        usize::try_from(self.0)
            .ok()
            .and_then(|index| names.get(index).copied())
            .unwrap_or("")
    }
}

/// A sheet name as a cell reference writes it: quoted (`'My pins'!C7`) unless it is a plain
/// word.
impl fmt::Display for SheetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.as_str();
        let plain = !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if plain {
            f.write_str(name)
        } else {
            write!(f, "'{}'", name.replace('\'', "''"))
        }
    }
}

/// Spreadsheet column letters: 1 -> `A`, 26 -> `Z`, 27 -> `AA`.
pub fn column_letters(column: u32) -> String {
    let mut letters = Vec::new();
    let mut n = column;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

impl Position {
    /// The row a spreadsheet shows, for a CSV row or a workbook cell.
    pub fn row(&self) -> Option<u32> {
        match *self {
            Position::Row { row, .. } | Position::Cell { row, .. } => Some(row),
            Position::File | Position::LineColumn { .. } => None,
        }
    }

    /// The cell or row reference of a workbook position (`Sheet1!C7`, `Sheet1!7:7`).
    pub fn cell_reference(&self) -> Option<String> {
        match *self {
            Position::Cell {
                sheet,
                row,
                column: 0,
            } => Some(format!("{sheet}!{row}:{row}")),
            Position::Cell { sheet, row, column } => {
                Some(format!("{sheet}!{}{row}", column_letters(column)))
            }
            _ => None,
        }
    }
}

impl Location {
    /// Where in its file, without the file's name: `line 12`, `row 7`, `Sheet1!C7`.
    pub fn position_text(&self) -> String {
        match self.position {
            Position::File => "the file".to_owned(),
            Position::LineColumn { line, .. } => format!("line {line}"),
            Position::Row { row, .. } => format!("row {row}"),
            Position::Cell { .. } => self.position.cell_reference().unwrap_or_default(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Position::File => write!(f, "{}", self.file),
            Position::LineColumn { line, column } => write!(f, "{}:{line}:{column}", self.file),
            Position::Row { row, .. } => write!(f, "{}: row {row}", self.file),
            Position::Cell { .. } => write!(
                f,
                "{}: {}",
                self.file,
                self.position.cell_reference().unwrap_or_default()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_a_spreadsheet_writes_them() {
        assert_eq!(column_letters(1), "A");
        assert_eq!(column_letters(26), "Z");
        assert_eq!(column_letters(27), "AA");
        assert_eq!(column_letters(703), "AAA");
        let sheet = SheetName::intern("Sheet1");
        assert_eq!(SheetName::intern("Sheet1"), sheet);
        let cell = Position::Cell {
            sheet,
            row: 7,
            column: 3,
        };
        assert_eq!(cell.cell_reference().as_deref(), Some("Sheet1!C7"));
        let row = Position::Cell {
            sheet: SheetName::intern("My pins"),
            row: 7,
            column: 0,
        };
        assert_eq!(row.cell_reference().as_deref(), Some("'My pins'!7:7"));
        assert_eq!(SheetName::intern("it's").to_string(), "'it''s'");
        assert!(std::mem::size_of::<Position>() <= 16);
    }

    #[test]
    fn conversions_name_each_image_not_sent_as_it_is() {
        use crate::manifest::image::ImageFormat;
        let local = |reference: &str, format, content_type, prepare| {
            ImageSource::File(LocalImage {
                reference: reference.to_owned(),
                path: PathBuf::from(reference),
                content_type,
                len: 1,
                info: ImageInfo {
                    format,
                    width: 600,
                    height: 900,
                    prepare,
                },
            })
        };
        let item = |source| CarouselItem {
            source,
            title: None,
            description: None,
            link: None,
        };
        let carousel = Media::Carousel(vec![
            item(local(
                "a.jpg",
                ImageFormat::Jpeg,
                ImageType::Jpeg,
                Prepare::AsIs,
            )),
            item(local(
                "cmyk.jpg",
                ImageFormat::Jpeg,
                ImageType::Jpeg,
                Prepare::Convert,
            )),
            item(local(
                "big.png",
                ImageFormat::Png,
                ImageType::Png,
                Prepare::Fit,
            )),
            item(local(
                "scan.tif",
                ImageFormat::Tiff,
                ImageType::Jpeg,
                Prepare::Fit,
            )),
        ]);
        assert_eq!(
            PinSpec::sample("k", "B", carousel).conversions().as_deref(),
            Some(
                "cmyk.jpg: JPEG converted to RGB colours; big.png: PNG scaled down to fit the size limit; scan.tif: TIFF converted to JPEG and scaled down to fit the size limit"
            )
        );
        let plain = Media::Image(local(
            "a.png",
            ImageFormat::Png,
            ImageType::Png,
            Prepare::AsIs,
        ));
        assert_eq!(PinSpec::sample("k", "B", plain).conversions(), None);
        let url = Media::Image(ImageSource::Url("https://example.com/a.webp".into()));
        assert_eq!(PinSpec::sample("k", "B", url).conversions(), None);
    }
}
