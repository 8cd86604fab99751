//! `preview`'s engine: every pin of a manifest as a card in one self-contained HTML page,
//! grouped by board and section, with its images, text, schedule, state and problems.
//!
//! The page needs no network and loads nothing from outside: local images are embedded as
//! small thumbnails (data URIs), image URLs are shown as links, never fetched, and the style
//! sheet and the one small script are inline. Everything from the manifest is HTML-escaped.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::apply::progress::pin_url;
use crate::manifest::{
    Diagnostic, ImageSource, Manifest, Media, PinDraft, PinSpec, Position, PublishZone, Severity,
    VideoCover,
};
use crate::state::{PinStatus, StateSnapshot};

/// The longest side of an embedded thumbnail, in pixels.
pub const THUMBNAIL_PIXELS: u32 = 320;

/// What the page shows a pin's state as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardState {
    /// Created: the pin's id.
    Done(String),
    /// Not created yet.
    Pending,
    /// Due later.
    Scheduled,
    /// The last attempt failed, with its error.
    Failed(String),
    /// An attempt of unknown outcome, reconciled by the next `apply`.
    Unknown,
    /// Pinterest refused its link as spam, with its message.
    Blocked(String),
    /// The pin does not pass validation.
    Invalid,
}

impl CardState {
    fn name(&self) -> &'static str {
        match self {
            CardState::Done(_) => "done",
            CardState::Pending => "pending",
            CardState::Scheduled => "scheduled",
            CardState::Failed(_) => "failed",
            CardState::Unknown => "unknown",
            CardState::Blocked(_) => "blocked",
            CardState::Invalid => "invalid",
        }
    }
}

/// One image on a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picture {
    /// A local image, embedded (a `data:` URI of its thumbnail).
    Embedded {
        /// The path as written.
        reference: String,
        /// The thumbnail.
        data_uri: String,
        /// Width and height as shown (EXIF orientation applied), from the header; 0 unknown.
        size: (u32, u32),
    },
    /// A local file that could not be shown, and why.
    Unavailable {
        /// The path as written.
        reference: String,
        /// Why.
        reason: String,
    },
    /// An image URL: linked, not fetched.
    Link(String),
    /// A video file (its cover follows when it has one).
    Video(String),
}

/// One pin as a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// The pin's key, when it has one.
    pub key: Option<String>,
    /// Where it was written.
    pub location: String,
    /// Where it sorts in the file (for attaching diagnostics).
    position: Position,
    /// Board and section as written.
    pub board: String,
    /// Section, if any.
    pub section: Option<String>,
    /// Text fields.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Destination link.
    pub link: Option<String>,
    /// Alt text.
    pub alt_text: Option<String>,
    /// When it is scheduled, for people.
    pub scheduled: Option<String>,
    /// The images (several for a carousel).
    pub pictures: Vec<Picture>,
    /// State from the state file.
    pub state: CardState,
    /// The problems found on this pin.
    pub diagnostics: Vec<Diagnostic>,
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// The manifest's name.
    pub title: String,
    /// The time zone times are shown in.
    pub zone: String,
    /// The cards, in manifest order.
    pub cards: Vec<Card>,
    /// Problems that concern no single pin (the file, `defaults:`, `boards:`).
    pub general: Vec<Diagnostic>,
    /// The pins due each local day, under a schedule policy (empty without one).
    pub calendar: Vec<crate::plan::schedule::ScheduleDay>,
}

/// Makes an embeddable thumbnail of a local image: a `data:` URI, or why it cannot be shown.
pub type Thumbnailer = dyn Fn(&Path) -> Result<String, String> + Sync;

/// The inputs of a preview.
pub struct PreviewInput<'a> {
    /// The valid pins (all of them, or those that passed when others did not).
    pub manifest: &'a Manifest,
    /// The pins that failed their checks, as written.
    pub rejected: &'a [PinDraft],
    /// Every diagnostic.
    pub diagnostics: &'a [Diagnostic],
    /// The state, if one exists.
    pub state: Option<&'a StateSnapshot>,
    /// The zone times are shown in.
    pub zone: &'a PublishZone,
    /// Now, for telling scheduled pins.
    pub now: jiff::Timestamp,
    /// When each manifest pin not yet published is due (by index in `manifest.pins`): its
    /// `publish_at` or its time under the schedule. Empty: only `publish_at` is known.
    pub due: &'a [Option<jiff::Timestamp>],
    /// Whether a schedule policy gave the times (the page then shows a calendar).
    pub scheduled: bool,
}

/// Builds the cards: valid pins with their state, rejected pins as written, and each
/// diagnostic on the pin it concerns.
pub fn build(input: &PreviewInput<'_>, thumbnail: &Thumbnailer) -> Preview {
    let images = thumbnails(input.manifest, thumbnail);
    let mut cards: Vec<Card> = input
        .manifest
        .pins
        .iter()
        .enumerate()
        .map(|(index, pin)| {
            let due = match input.due.get(index) {
                Some(due) => *due,
                None => pin.publish_at,
            };
            valid_card(pin, due, input, &images)
        })
        .collect();
    cards.extend(input.rejected.iter().map(rejected_card));
    cards.sort_by_key(|card| position_key(card.position));
    let mut general = Vec::new();
    for diagnostic in input.diagnostics {
        let whole_file = matches!(diagnostic.location.position, Position::File)
            || diagnostic
                .field
                .as_deref()
                .is_some_and(|f| f.starts_with("defaults.") || f.starts_with("boards."));
        let key = position_key(diagnostic.location.position);
        let owner = if whole_file {
            None
        } else {
            cards
                .iter()
                .rposition(|card| position_key(card.position) <= key && same_row(card, diagnostic))
        };
        match owner {
            Some(index) => cards[index].diagnostics.push(diagnostic.clone()),
            None => general.push(diagnostic.clone()),
        }
    }
    let calendar = if input.scheduled {
        crate::plan::schedule::days(input.due.iter().flatten().copied(), input.zone.time_zone())
    } else {
        Vec::new()
    };
    Preview {
        title: input.manifest.path.display().to_string(),
        zone: input.zone.name().to_owned(),
        cards,
        general,
        calendar,
    }
}

/// Rows of a table file hold one pin each: a diagnostic belongs to a card of its own row.
fn same_row(card: &Card, diagnostic: &Diagnostic) -> bool {
    match (card.position, diagnostic.location.position) {
        (Position::Row { row: a, .. }, Position::Row { row: b, .. })
        | (Position::Cell { row: a, .. }, Position::Cell { row: b, .. }) => a == b,
        _ => true,
    }
}

fn position_key(position: Position) -> (u32, u32) {
    match position {
        Position::File => (0, 0),
        Position::LineColumn { line, column } => (line, column),
        Position::Row { row, .. } => (row, 0),
        Position::Cell { row, column, .. } => (row, column),
    }
}

/// Thumbnails of every local image, made once per file, on all cores.
fn thumbnails(
    manifest: &Manifest,
    thumbnail: &Thumbnailer,
) -> HashMap<PathBuf, Result<String, String>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for pin in &manifest.pins {
        let mut push = |source: &ImageSource| {
            if let ImageSource::File(image) = source
                && !paths.contains(&image.path)
            {
                paths.push(image.path.clone());
            }
        };
        match &pin.media {
            Media::Image(source) => push(source),
            Media::Carousel(items) => items.iter().for_each(|item| push(&item.source)),
            Media::Video(video) => {
                if let Some(VideoCover::File(image)) = &video.cover {
                    push(&ImageSource::File(image.clone()));
                }
            }
        }
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(paths.len().max(1));
    let chunk = paths.len().div_ceil(workers).max(1);
    let mut out = HashMap::with_capacity(paths.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|path| (path.clone(), thumbnail(path)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            if let Ok(done) = handle.join() {
                out.extend(done);
            }
        }
    });
    out
}

fn picture(source: &ImageSource, images: &HashMap<PathBuf, Result<String, String>>) -> Picture {
    match source {
        ImageSource::Url(url) => Picture::Link(url.clone()),
        ImageSource::File(image) => match images.get(&image.path) {
            Some(Ok(data_uri)) => Picture::Embedded {
                reference: image.reference.clone(),
                data_uri: data_uri.clone(),
                size: (image.info.width, image.info.height),
            },
            Some(Err(reason)) => Picture::Unavailable {
                reference: image.reference.clone(),
                reason: reason.clone(),
            },
            None => Picture::Unavailable {
                reference: image.reference.clone(),
                reason: "not read".to_owned(),
            },
        },
    }
}

fn valid_card(
    pin: &PinSpec,
    due: Option<jiff::Timestamp>,
    input: &PreviewInput<'_>,
    images: &HashMap<PathBuf, Result<String, String>>,
) -> Card {
    let pictures = match &pin.media {
        Media::Image(source) => vec![picture(source, images)],
        Media::Carousel(items) => items.iter().map(|i| picture(&i.source, images)).collect(),
        Media::Video(video) => {
            let mut pictures = vec![Picture::Video(video.reference.clone())];
            match &video.cover {
                Some(VideoCover::File(image)) => {
                    pictures.push(picture(&ImageSource::File(image.clone()), images));
                }
                Some(VideoCover::Url(url)) => pictures.push(Picture::Link(url.clone())),
                Some(VideoCover::Frame(_)) | None => {}
            }
            pictures
        }
    };
    let recorded = input.state.and_then(|state| state.pin(&pin.key));
    let due_later = due.is_some_and(|due| due > input.now);
    let state = match recorded {
        Some(state) if state.in_flight.is_some() => CardState::Unknown,
        Some(state) => match (&state.status, &state.pin_id) {
            (PinStatus::Done, Some(id)) => CardState::Done(id.clone()),
            (PinStatus::Blocked, _) => CardState::Blocked(
                state
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "refused as spam".to_owned()),
            ),
            (PinStatus::Failed, _) => CardState::Failed(
                state
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "failed".to_owned()),
            ),
            _ if due_later => CardState::Scheduled,
            _ => CardState::Pending,
        },
        None if due_later => CardState::Scheduled,
        None => CardState::Pending,
    };
    Card {
        key: Some(pin.key.clone()),
        location: pin.location.to_string(),
        position: pin.location.position,
        board: pin.board.to_string(),
        section: pin.section.clone(),
        title: pin.title.clone(),
        description: pin.description.clone(),
        link: pin.link.clone(),
        alt_text: pin.alt_text.clone(),
        scheduled: match (&state, due) {
            (CardState::Done(_), _) => pin.publish_at.map(|due| input.zone.human(due)),
            (_, Some(due)) if due <= input.now => Some("now (due)".to_owned()),
            (_, due) => due.map(|due| input.zone.human(due)),
        },
        pictures,
        state,
        diagnostics: Vec::new(),
    }
}

fn rejected_card(draft: &PinDraft) -> Card {
    Card {
        key: draft.key.clone(),
        location: draft.location.to_string(),
        position: draft.location.position,
        board: draft.board.clone().unwrap_or_default(),
        section: draft.section.clone(),
        title: draft.title.clone(),
        description: draft.description.clone(),
        link: draft.link.clone(),
        alt_text: draft.alt_text.clone(),
        scheduled: draft.publish_at.clone(),
        pictures: draft
            .media
            .iter()
            .map(|reference| {
                if reference.contains("://") {
                    Picture::Link(reference.clone())
                } else {
                    Picture::Unavailable {
                        reference: reference.clone(),
                        reason: "the pin does not pass validation".to_owned(),
                    }
                }
            })
            .collect(),
        state: CardState::Invalid,
        diagnostics: Vec::new(),
    }
}

/// Bytes all thumbnail decodes may hold at once, shared by every worker: a decode waits for
/// its share (four bytes a pixel, from the header) and an image needing more than all of it is
/// not shown. One bound for the whole page, whatever the number of cores.
pub const THUMBNAIL_DECODE_BUDGET: u64 = 256 * 1024 * 1024;

/// What is left of [`THUMBNAIL_DECODE_BUDGET`], and the waiters for it.
static DECODE_BUDGET: (std::sync::Mutex<u64>, std::sync::Condvar) = (
    std::sync::Mutex::new(THUMBNAIL_DECODE_BUDGET),
    std::sync::Condvar::new(),
);

/// A share of the decode budget, given back when dropped.
struct DecodeShare(u64);

impl DecodeShare {
    /// Waits until `bytes` of the budget are free; `None` when `bytes` exceeds the whole budget.
    fn take(bytes: u64) -> Option<DecodeShare> {
        if bytes > THUMBNAIL_DECODE_BUDGET {
            return None;
        }
        let (left, freed) = &DECODE_BUDGET;
        let mut left = left
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *left < bytes {
            left = freed
                .wait(left)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *left -= bytes;
        Some(DecodeShare(bytes))
    }
}

impl Drop for DecodeShare {
    fn drop(&mut self) {
        let (left, freed) = &DECODE_BUDGET;
        let mut left = left
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *left += self.0;
        freed.notify_all();
    }
}

/// A thumbnail of a local image as a `data:` URI: at most [`THUMBNAIL_PIXELS`] on its
/// longer side, JPEG (PNG when the image has transparency), upright by its EXIF orientation.
/// The decode holds its share of [`THUMBNAIL_DECODE_BUDGET`] and runs under that limit.
pub fn thumbnail_data_uri(path: &Path) -> Result<String, String> {
    use image::ImageDecoder as _;
    let mut reader = image::ImageReader::open(path)
        .map_err(|err| format!("cannot open it: {err}"))?
        .with_guessed_format()
        .map_err(|err| format!("cannot read it: {err}"))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(THUMBNAIL_DECODE_BUDGET);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|err| format!("cannot decode it: {err}"))?;
    let (width, height) = decoder.dimensions();
    let bytes = u64::from(width) * u64::from(height) * 4;
    let _share = DecodeShare::take(bytes).ok_or_else(|| {
        format!(
            "{width} x {height} is too large to preview (the page decodes at most {} MB at once)",
            THUMBNAIL_DECODE_BUDGET / (1024 * 1024)
        )
    })?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = image::DynamicImage::from_decoder(decoder)
        .map_err(|err| format!("cannot decode it: {err}"))?;
    image.apply_orientation(orientation);
    let image = if image.width() > THUMBNAIL_PIXELS || image.height() > THUMBNAIL_PIXELS {
        image.thumbnail(THUMBNAIL_PIXELS, THUMBNAIL_PIXELS)
    } else {
        image
    };
    let mut bytes = Vec::new();
    let mime = if image.color().has_alpha() {
        image
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .map_err(|err| format!("cannot make a thumbnail: {err}"))?;
        "image/png"
    } else {
        let rgb = image::DynamicImage::ImageRgb8(image.to_rgb8());
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 80);
        rgb.write_with_encoder(encoder)
            .map_err(|err| format!("cannot make a thumbnail: {err}"))?;
        "image/jpeg"
    };
    Ok(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&bytes)
    ))
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A link's host for the card (`example.com`), or the link itself when it has none.
fn link_host(link: &str) -> String {
    url::Url::parse(link)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| link.to_owned())
}

/// Only http(s) URLs become clickable; anything else stays text.
fn safe_href(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| escape(parsed.as_str()))
}

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa;
  --red: #cf222e; --amber: #9a6700; --green: #1a7f37; --blue: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
header { padding: 20px 28px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: var(--muted); }
main { padding: 8px 28px 40px; }
h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 16px 0 8px; color: var(--muted); font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 16px; align-items: start; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 12px; overflow: hidden; display: flex; flex-direction: column; }
.card.invalid { border-color: var(--red); }
.strip { display: flex; gap: 4px; overflow-x: auto; background: #eef1f4; min-height: 160px; align-items: center; padding: 4px; }
.strip img { display: block; height: 160px; max-width: 100%; object-fit: cover; border-radius: 8px; background: #fff; }
.strip.carousel img { height: 140px; max-width: 70%; }
.strip figure.feed { margin: 0; flex: 0 0 auto; width: 120px; }
.strip .carousel figure.feed, .strip.carousel figure.feed { width: 100px; }
.crop { position: relative; overflow: hidden; border-radius: 8px; background: #fff; }
.strip .crop img { width: 100%; height: 100%; max-width: none; object-fit: fill; border-radius: 0; }
.frame23 { position: absolute; left: 0; right: 0; top: 0; outline: 2px dashed var(--blue); outline-offset: -2px; pointer-events: none; }
.cut { position: absolute; left: 0; right: 0; bottom: 0; border-top: 2px dashed var(--red); background: rgba(31, 35, 40, .55); color: #fff; font-size: 10px; text-align: center; padding-top: 2px; }
figure.feed figcaption { font-size: 11px; color: var(--muted); text-align: center; }
.placeholder { flex: 1; height: 150px; display: flex; flex-direction: column; align-items: center; justify-content: center; text-align: center;
  padding: 8px; border: 1px dashed var(--line); border-radius: 8px; color: var(--muted); word-break: break-all; font-size: 12px; background: #fff; }
.placeholder a { color: var(--blue); }
.body { padding: 10px 12px 12px; display: flex; flex-direction: column; gap: 4px; overflow-wrap: anywhere; }
.title { font-weight: 600; font-size: 15px; }
.title.missing { color: var(--muted); font-weight: 400; font-style: italic; }
.description { color: var(--ink); white-space: pre-wrap; }
.meta { color: var(--muted); font-size: 12px; }
.meta a { color: var(--blue); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.badge.done { background: #dafbe1; color: var(--green); }
.badge.pending, .badge.unknown { background: #eef1f4; color: var(--muted); }
.badge.scheduled { background: #ddf4ff; color: var(--blue); }
.calendar table { border-collapse: collapse; margin: 0 0 1rem; }
.calendar td, .calendar th { padding: 0.15rem 0.8rem; text-align: left; border-bottom: 1px solid #ddd; }
.badge.failed, .badge.invalid { background: #ffebe9; color: var(--red); }
.problems { list-style: none; margin: 6px 0 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }
.problems li { font-size: 12px; padding: 4px 6px; border-radius: 6px; }
.problems li.error { background: #ffebe9; color: var(--red); }
.problems li.warning { background: #fff8c5; color: var(--amber); }
.problems li.note { background: #ddf4ff; color: var(--blue); }
.problems .hint { display: block; color: var(--muted); }
.broken { outline: 2px solid var(--red); }
"#;

/// Marks thumbnails the browser could not decode, so a broken one is visible (and testable).
const SCRIPT: &str = r#"
window.addEventListener("load", function () {
  var images = document.querySelectorAll("img.thumb");
  var shown = 0;
  images.forEach(function (img) {
    if (img.complete && img.naturalWidth > 0) { shown += 1; } else { img.classList.add("broken"); }
  });
  document.body.setAttribute("data-thumbnails-shown", String(shown));
});
"#;

/// A section (or the cards with none) and its cards.
type SectionCards<'a> = (Option<&'a str>, Vec<&'a Card>);

/// The whole page.
pub fn render(preview: &Preview, generated: &str) -> String {
    let mut html = String::with_capacity(16 * 1024 + preview.cards.len() * 1024);
    let count = |name: &str| {
        preview
            .cards
            .iter()
            .filter(|card| card.state.name() == name)
            .count()
    };
    let errors = preview
        .cards
        .iter()
        .flat_map(|card| &card.diagnostics)
        .chain(&preview.general)
        .filter(|d| d.severity == Severity::Error)
        .count();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <title>Preview of {title}</title>\n<style>{STYLE}</style>\n<script>{SCRIPT}</script>\n</head>\n\
         <body data-pins=\"{pins}\">\n<header>\n<h1>Preview of {title}</h1>\n\
         <p>{pins} pin(s): {done} done, {pending} pending, {scheduled} scheduled, {failed} failed, {invalid} invalid; \
         {errors} error(s). Times in {zone}. Made {generated}.</p>\n</header>\n<main>\n",
        title = escape(&preview.title),
        pins = preview.cards.len(),
        done = count("done"),
        pending = count("pending"),
        scheduled = count("scheduled"),
        failed = count("failed"),
        invalid = count("invalid"),
        zone = escape(&preview.zone),
        generated = escape(generated),
    );
    calendar_html(&mut html, &preview.calendar);
    if !preview.general.is_empty() {
        html.push_str("<section class=\"general\">\n<h2>Problems in the file</h2>\n");
        problems(&mut html, &preview.general);
        html.push_str("</section>\n");
    }
    // Boards and sections in the order they first appear.
    let mut boards: Vec<(&str, Vec<SectionCards<'_>>)> = Vec::new();
    for card in &preview.cards {
        let board = match boards.iter_mut().find(|(name, _)| *name == card.board) {
            Some(board) => board,
            None => {
                boards.push((&card.board, Vec::new()));
                boards.last_mut().expect("just pushed")
            }
        };
        let section = card.section.as_deref();
        match board.1.iter_mut().find(|(name, _)| *name == section) {
            Some((_, cards)) => cards.push(card),
            None => board.1.push((section, vec![card])),
        }
    }
    for (board, sections) in &boards {
        let shown = if board.is_empty() {
            "(no board)"
        } else {
            board
        };
        let _ = writeln!(
            html,
            "<section class=\"board\" data-board=\"{0}\">\n<h2>{1}</h2>",
            escape(board),
            escape(shown)
        );
        for (section, cards) in sections {
            html.push_str("<section class=\"section\"");
            if let Some(section) = section {
                let _ = write!(html, " data-section=\"{0}\"><h3>{0}</h3>", escape(section));
            } else {
                html.push('>');
            }
            html.push_str("\n<div class=\"cards\">\n");
            for card in cards {
                card_html(&mut html, card);
            }
            html.push_str("</div>\n</section>\n");
        }
        html.push_str("</section>\n");
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

/// The schedule's calendar: one row per local day, with its pins and their first and last time.
fn calendar_html(html: &mut String, days: &[crate::plan::schedule::ScheduleDay]) {
    if days.is_empty() {
        return;
    }
    let total: usize = days.iter().map(|day| day.pins).sum();
    let _ = writeln!(
        html,
        "<section class=\"calendar\">\n<h2>Schedule: {total} pin(s) over {} day(s)</h2>\n<table>\n<tr><th>Day</th><th>Pins</th><th>First</th><th>Last</th></tr>",
        days.len()
    );
    for day in days {
        let _ = writeln!(
            html,
            "<tr data-date=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&day.date),
            escape(&day.label),
            day.pins,
            escape(&day.first),
            escape(&day.last)
        );
    }
    html.push_str("</table>\n</section>\n");
}

fn card_html(html: &mut String, card: &Card) {
    let state = card.state.name();
    let _ = writeln!(
        html,
        "<article class=\"card {state}\" data-state=\"{state}\" data-key=\"{key}\" data-location=\"{location}\">",
        key = escape(card.key.as_deref().unwrap_or("")),
        location = escape(&card.location),
    );
    let carousel = card.pictures.len() > 1;
    let _ = write!(
        html,
        "<div class=\"strip{}\">",
        if carousel { " carousel" } else { "" }
    );
    for picture in &card.pictures {
        picture_html(html, picture, card.alt_text.as_deref());
    }
    html.push_str("</div>\n<div class=\"body\">\n");
    match &card.title {
        Some(title) => {
            let _ = writeln!(html, "<div class=\"title\">{}</div>", escape(title));
        }
        None => html.push_str("<div class=\"title missing\">(no title)</div>\n"),
    }
    if let Some(description) = &card.description {
        let _ = writeln!(
            html,
            "<div class=\"description\">{}</div>",
            escape(description)
        );
    }
    if let Some(link) = &card.link {
        let host = escape(&link_host(link));
        match safe_href(link) {
            Some(href) => {
                let _ = writeln!(
                    html,
                    "<div class=\"meta link\">Link: <a href=\"{href}\" rel=\"noreferrer\">{host}</a></div>"
                );
            }
            None => {
                let _ = writeln!(html, "<div class=\"meta link\">Link: {host}</div>");
            }
        }
    }
    if let Some(alt) = &card.alt_text {
        let _ = writeln!(
            html,
            "<div class=\"meta alt\">Alt text: {}</div>",
            escape(alt)
        );
    }
    if let Some(when) = &card.scheduled {
        let _ = writeln!(
            html,
            "<div class=\"meta scheduled\">Publish at: {}</div>",
            escape(when)
        );
    }
    let badge = state_badge(&card.state);
    let _ = writeln!(
        html,
        "<div class=\"meta state\">{badge} <span class=\"where\">{}</span></div>",
        escape(&card.location)
    );
    problems(html, &card.diagnostics);
    html.push_str("</div>\n</article>\n");
}

/// One picture of a card's strip: the embedded thumbnail, or a placeholder saying what it is.
fn picture_html(html: &mut String, picture: &Picture, alt_text: Option<&str>) {
    match picture {
        Picture::Embedded {
            reference,
            data_uri,
            size,
        } => {
            let alt = alt_text.unwrap_or(reference);
            let _ = write!(
                html,
                "<figure class=\"feed\">{}<img class=\"thumb\" src=\"{data_uri}\" alt=\"{}\" title=\"{}\">{}</figure>",
                feed_frame_open(*size),
                escape(alt),
                escape(reference),
                feed_frame_close(*size)
            );
        }
        Picture::Unavailable { reference, reason } => {
            let _ = write!(
                html,
                "<div class=\"placeholder\">{}<br>({})</div>",
                escape(reference),
                escape(reason)
            );
        }
        Picture::Link(url) => {
            let text = escape(url);
            match safe_href(url) {
                Some(href) => {
                    let _ = write!(
                        html,
                        "<div class=\"placeholder url\">image at<br><a href=\"{href}\" rel=\"noreferrer\">{text}</a></div>"
                    );
                }
                None => {
                    let _ = write!(html, "<div class=\"placeholder url\">{text}</div>");
                }
            }
        }
        Picture::Video(reference) => {
            let _ = write!(
                html,
                "<div class=\"placeholder video\">video<br>{}</div>",
                escape(reference)
            );
        }
    }
}

/// The start of a picture's feed frame: a box of the image's shape, so that the marks drawn
/// over it fall where the feed crops.
fn feed_frame_open((width, height): (u32, u32)) -> String {
    if width == 0 || height == 0 {
        return "<div class=\"crop\">".to_owned();
    }
    format!("<div class=\"crop\" style=\"aspect-ratio: {width} / {height}\">")
}

/// The end of a picture's feed frame: the 2:3 frame the feed recommends (outlined), the part
/// below 1:2.1 that the feed cuts off (shaded, with a dashed line), then the size.
fn feed_frame_close((width, height): (u32, u32)) -> String {
    use crate::manifest::image::FEED_CUT_RATIO;
    if width == 0 || height == 0 {
        return "</div>".to_owned();
    }
    let ratio = f64::from(height) / f64::from(width);
    let mut out = String::new();
    // Percentages of the image's height where the 2:3 frame ends and the cut falls.
    let frame = (1.5 / ratio * 100.0).min(100.0);
    let _ = write!(
        out,
        "<span class=\"frame23\" style=\"height: {frame:.1}%\" title=\"2:3, the recommended frame\"></span>"
    );
    if ratio > FEED_CUT_RATIO {
        let cut = FEED_CUT_RATIO / ratio * 100.0;
        let _ = write!(
            out,
            "<span class=\"cut\" style=\"top: {cut:.1}%\" title=\"below 1:2.1 the feed cuts the pin off\">cut off in the feed</span>"
        );
    }
    let _ = write!(out, "</div><figcaption>{width} x {height}</figcaption>");
    out
}

/// The badge of a card's state: done (with its pin's link), failed (with the error), and so on.
fn state_badge(state: &CardState) -> String {
    match state {
        CardState::Done(id) => format!(
            "<span class=\"badge done\">done</span> <a href=\"{}\" rel=\"noreferrer\">pin {}</a>",
            escape(&pin_url(id)),
            escape(id)
        ),
        CardState::Failed(error) => format!(
            "<span class=\"badge failed\">failed</span> <span class=\"error\">{}</span>",
            escape(error)
        ),
        CardState::Blocked(error) => format!(
            "<span class=\"badge failed\">blocked</span> <span class=\"error\">{}</span>",
            escape(error)
        ),
        CardState::Invalid => "<span class=\"badge invalid\">invalid</span>".to_owned(),
        other => format!("<span class=\"badge {0}\">{0}</span>", other.name()),
    }
}

fn problems(html: &mut String, diagnostics: &[Diagnostic]) {
    if diagnostics.is_empty() {
        return;
    }
    html.push_str("<ul class=\"problems\">\n");
    for d in diagnostics {
        let severity = d.severity.as_str();
        let _ = write!(html, "<li class=\"{severity}\">{severity}: ");
        if let Some(field) = &d.field {
            let _ = write!(html, "<b>{}</b>: ", escape(field));
        }
        html.push_str(&escape(&d.message));
        if let Some(hint) = &d.hint {
            let _ = write!(html, "<span class=\"hint\">hint: {}</span>", escape(hint));
        }
        html.push_str("</li>\n");
    }
    html.push_str("</ul>\n");
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::manifest::{CarouselItem, ImageType, LocalImage, Location};

    fn at(row: u32) -> Location {
        Location {
            file: Arc::from("pins.csv"),
            position: Position::Row { row, line: row },
        }
    }

    fn pin(key: &str, row: u32, board: &str, media: Media) -> PinSpec {
        PinSpec {
            location: at(row),
            title: Some(format!("<b>{key}</b>")),
            link: Some("https://shop.example/p?x=1&y=2".to_owned()),
            ..PinSpec::sample(key, board, media)
        }
    }

    fn local(name: &str) -> ImageSource {
        ImageSource::File(LocalImage {
            reference: name.to_owned(),
            path: PathBuf::from(name),
            content_type: ImageType::Jpeg,
            len: 1,
            info: crate::manifest::ImageInfo::sent_as_is(ImageType::Jpeg),
        })
    }

    #[test]
    fn cards_group_by_board_escape_text_and_carry_their_problems() {
        let manifest = Manifest {
            path: PathBuf::from("pins.csv"),
            boards: Vec::new(),
            pins: vec![
                pin("a", 2, "Cats", Media::Image(local("a.jpg"))),
                pin(
                    "b",
                    4,
                    "Dogs",
                    Media::Carousel(vec![
                        CarouselItem {
                            source: ImageSource::Url("https://cdn.example/1.jpg".into()),
                            title: None,
                            description: None,
                            link: None,
                        },
                        CarouselItem {
                            source: ImageSource::Url("javascript:alert(1)".into()),
                            title: None,
                            description: None,
                            link: None,
                        },
                    ]),
                ),
            ],
            schedule: None,
        };
        let rejected = [PinDraft {
            location: at(3),
            key: None,
            board: Some("Cats".into()),
            section: None,
            title: Some("Broken".into()),
            description: None,
            link: None,
            alt_text: None,
            publish_at: None,
            media: vec!["missing.jpg".into()],
        }];
        let diagnostics = [
            Diagnostic::error(at(3), "file not found: missing.jpg").with_field("image"),
            Diagnostic::warning(at(4), "same link").with_field("link"),
            Diagnostic::error(
                Location {
                    file: Arc::from("pins.csv"),
                    position: Position::File,
                },
                "whole file",
            ),
        ];
        let zone = PublishZone::named("UTC").unwrap();
        let input = PreviewInput {
            manifest: &manifest,
            rejected: &rejected,
            diagnostics: &diagnostics,
            state: None,
            zone: &zone,
            now: jiff::Timestamp::UNIX_EPOCH,
            due: &[],
            scheduled: false,
        };
        let fake_thumbnail = |path: &Path| {
            if path == Path::new("a.jpg") {
                Ok("data:image/jpeg;base64,AAAA".to_owned())
            } else {
                Err("no".to_owned())
            }
        };
        let preview = build(&input, &fake_thumbnail);
        let keys: Vec<Option<&str>> = preview.cards.iter().map(|c| c.key.as_deref()).collect();
        assert_eq!(keys, [Some("a"), None, Some("b")], "manifest order");
        assert_eq!(preview.cards[1].state, CardState::Invalid);
        assert_eq!(preview.cards[1].diagnostics.len(), 1);
        assert_eq!(preview.cards[2].diagnostics.len(), 1);
        assert_eq!(preview.general.len(), 1);
        let html = render(&preview, "today");
        assert!(html.contains("&lt;b&gt;a&lt;/b&gt;"), "titles are escaped");
        assert!(!html.contains("<b>a</b>"));
        assert!(html.contains("src=\"data:image/jpeg;base64,AAAA\""));
        assert!(html.contains("href=\"https://cdn.example/1.jpg\""));
        assert!(
            !html.contains("href=\"javascript"),
            "only http(s) links are clickable"
        );
        assert!(html.contains(">shop.example</a>"));
        assert!(html.find("data-board=\"Cats\"") < html.find("data-board=\"Dogs\""));
        assert!(
            !html.contains("src=\"http"),
            "nothing is loaded from the network"
        );
    }

    #[test]
    fn thumbnails_are_small_embedded_images() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.png");
        image::RgbaImage::from_pixel(1000, 500, image::Rgba([200, 100, 50, 128]))
            .save(&path)
            .unwrap();
        let uri = thumbnail_data_uri(&path).unwrap();
        let data = uri.strip_prefix("data:image/png;base64,").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap();
        let small = image::load_from_memory(&bytes).unwrap();
        assert_eq!((small.width(), small.height()), (320, 160));
        let text = dir.path().join("x.jpg");
        std::fs::write(&text, b"not an image").unwrap();
        assert!(thumbnail_data_uri(&text).is_err());
    }
}

#[cfg(test)]
mod feed_tests {
    use super::*;

    #[test]
    fn pictures_show_the_feeds_frame_its_cut_and_their_size() {
        let mut html = String::new();
        let tall = Picture::Embedded {
            reference: "tall.png".to_owned(),
            data_uri: "data:image/png;base64,AA".to_owned(),
            size: (1000, 2500),
        };
        picture_html(&mut html, &tall, None);
        assert!(html.contains("aspect-ratio: 1000 / 2500"), "{html}");
        assert!(
            html.contains("class=\"frame23\" style=\"height: 60.0%\""),
            "{html}"
        );
        assert!(
            html.contains("class=\"cut\" style=\"top: 84.0%\""),
            "{html}"
        );
        assert!(
            html.contains("<figcaption>1000 x 2500</figcaption>"),
            "{html}"
        );
        let mut html = String::new();
        let square = Picture::Embedded {
            reference: "sq.jpg".to_owned(),
            data_uri: "data:image/jpeg;base64,AA".to_owned(),
            size: (800, 800),
        };
        picture_html(&mut html, &square, None);
        assert!(!html.contains("class=\"cut\""), "{html}");
        assert!(
            html.contains("<figcaption>800 x 800</figcaption>"),
            "{html}"
        );
    }
}
