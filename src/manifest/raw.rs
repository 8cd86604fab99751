//! The YAML document as plain serde types: the source of the JSON Schema (`pinbatch schema`).
//!
//! These types describe the file format for editors and for the schema; the reader itself walks
//! a position-aware YAML tree (see `yaml.rs`) and applies the same rules with better messages.
//! The field-name lists below are what the reader accepts; a test checks they match the schema.

use schemars::JsonSchema;
use serde::Deserialize;

/// Largest title, in characters.
pub const MAX_TITLE: usize = 100;
/// Largest description, in characters.
pub const MAX_DESCRIPTION: usize = 800;
/// Largest link, in characters.
pub const MAX_LINK: usize = 2048;
/// Largest alt text, in characters.
pub const MAX_ALT_TEXT: usize = 500;
/// Largest section name, in characters.
pub const MAX_SECTION: usize = 180;

/// Keys of the top-level document.
pub const DOCUMENT_FIELDS: &[&str] = &["version", "defaults", "boards", "schedule", "pins"];
/// Keys of the `schedule:` block.
pub const SCHEDULE_FIELDS: &[&str] = &[
    "start",
    "per_day",
    "between",
    "days",
    "every",
    "jitter",
    "same_link",
];
/// Keys of a pin entry.
pub const PIN_FIELDS: &[&str] = &[
    "id",
    "board",
    "section",
    "title",
    "description",
    "link",
    "alt_text",
    "dominant_color",
    "publish_at",
    "ai_disclosures",
    "image",
    "images",
    "video",
    "cover",
    "cover_frame",
    "glob",
    "pin_id",
    "utm",
];
/// Keys of `defaults:` (every pin field except the id and the media, plus `timezone`).
pub const DEFAULT_FIELDS: &[&str] = &[
    "timezone",
    "board",
    "section",
    "title",
    "description",
    "link",
    "alt_text",
    "dominant_color",
    "publish_at",
    "ai_disclosures",
    "utm",
];
/// Keys of a board declaration.
pub const BOARD_FIELDS: &[&str] = &["name", "description", "privacy", "sections"];
/// Keys of `utm:`.
pub const UTM_FIELDS: &[&str] = &["source", "medium", "campaign", "term", "content"];
/// Keys of a carousel slide written as a mapping.
pub const SLIDE_FIELDS: &[&str] = &["src", "title", "description", "link"];

/// A pinbatch manifest: boards that may be created, defaults, and the pins to publish.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "pinbatch manifest")]
pub struct RawDocument {
    /// Format version; always 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Values merged into every pin that does not set the field itself.
    #[serde(default)]
    pub defaults: Option<RawDefaults>,
    /// Boards (with sections) that pinbatch may create when they are missing.
    #[serde(default)]
    pub boards: Option<Vec<RawBoard>>,
    /// When pins without their own `publish_at` go: a pace (`per_day`, `every`), a daily window
    /// and days, starting at `start`. Command-line flags override each setting.
    #[serde(default)]
    pub schedule: Option<RawSchedule>,
    /// The pins to publish, in order.
    pub pins: Vec<RawPin>,
}

/// The schedule policy: pins without `publish_at` are given times in manifest order, boards
/// interleaved, at most `per_day` a day, at least `every` apart, inside the `between` window on
/// `days`. Set `per_day` or `every`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    /// When the first pin may go: a local date and time in `defaults.timezone` (or RFC 3339
    /// with an offset), as `publish_at` is written. Default: now.
    #[schemars(regex(pattern = r"^[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}([ Tt].*)?$"))]
    pub start: Option<String>,
    /// At most this many pins in one local calendar day.
    #[schemars(range(min = 1))]
    pub per_day: Option<u32>,
    /// The daily window, in local time: `08:00-21:00` (the end may be `24:00`).
    #[schemars(regex(pattern = r"^\s*[0-9]{1,2}:[0-9]{2}\s*-\s*[0-9]{1,2}:[0-9]{2}\s*$"))]
    pub between: Option<String>,
    /// The weekdays pins go on: a list of `mon` ... `sun`, or text such as `mon..fri`.
    pub days: Option<RawDays>,
    /// The least time between two pins, e.g. `30m`.
    pub every: Option<String>,
    /// A random offset within each pin's slot, at most this long, the same on every run
    /// (seeded by the pin's key), e.g. `20m`.
    pub jitter: Option<String>,
    /// The least time between two pins with the same link, e.g. `48h` (the default); `0` for none.
    pub same_link: Option<String>,
}

/// Weekdays: a list of day names, or one text such as `mon..fri` or `mon,wed,fri`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawDays {
    /// `mon..fri`, `mon-fri`, `mon,wed,fri`.
    Text(String),
    /// `[mon, tue, wed]`.
    List(Vec<RawDay>),
}

/// A day of the week.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawDay {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

/// A board: its name, or its numeric id.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawBoardRef {
    /// A board name (or a numeric id written as text).
    Name(String),
    /// A numeric board id.
    Id(u64),
}

/// The Pinterest pin a manifest pin already became (a report's `pin_id` column): digits.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawPinId {
    /// The pin id as text.
    Text(#[schemars(regex(pattern = r"^\s*[0-9]+\s*$"))] String),
    /// The pin id as a number.
    Number(u64),
}

/// Values merged into every pin that does not set the field itself.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// The IANA time zone (e.g. `Europe/Paris`) that local publish times such as
    /// `2026-12-24 09:00` are read in; the machine's when absent. `--timezone` overrides it.
    pub timezone: Option<String>,
    /// Default board name or numeric board id.
    pub board: Option<RawBoardRef>,
    /// Default section name on the board.
    #[schemars(length(min = 1, max = 180))]
    pub section: Option<String>,
    /// Default title.
    #[schemars(length(max = 100))]
    pub title: Option<String>,
    /// Default description.
    #[schemars(length(max = 800))]
    pub description: Option<String>,
    /// Default destination link (absolute http or https URL).
    #[schemars(length(max = 2048), regex(pattern = r"^[hH][tT][tT][pP][sS]?://"))]
    pub link: Option<String>,
    /// Default alt text.
    #[schemars(length(max = 500))]
    pub alt_text: Option<String>,
    /// Default dominant colour, `#RRGGBB`.
    #[schemars(regex(pattern = r"^#[0-9A-Fa-f]{6}$"))]
    pub dominant_color: Option<String>,
    /// Default publication time: RFC 3339 with an offset (`2026-12-24T09:00:00Z`), or a local
    /// date and time (`2026-12-24 09:00`, `2026/12/24 9:00`, `2026-12-24`) in `timezone`.
    #[schemars(regex(pattern = r"^[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}([ Tt].*)?$"))]
    pub publish_at: Option<String>,
    /// Default AI disclosure labels.
    pub ai_disclosures: Option<Vec<RawAiDisclosure>>,
    /// UTM parameters appended to every pin's link (and its carousel items' links).
    pub utm: Option<RawUtm>,
}

/// UTM parameters appended to a link's query (`utm_source=...`), unless the link has them.
/// Values may use `{key}`, `{board}`, `{section}` and `{row}`; an empty value leaves the
/// parameter out.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUtm {
    /// `utm_source`, e.g. `pinterest`.
    pub source: Option<String>,
    /// `utm_medium`, e.g. `social`.
    pub medium: Option<String>,
    /// `utm_campaign`, e.g. `{board}`.
    pub campaign: Option<String>,
    /// `utm_term`.
    pub term: Option<String>,
    /// `utm_content`, e.g. `{key}`.
    pub content: Option<String>,
}

/// An AI disclosure label (Pinterest API 5.28), sent as `ai_disclosures: {"values": [...]}`.
#[derive(Debug, Deserialize, JsonSchema)]
pub enum RawAiDisclosure {
    /// The content was made or changed with AI.
    #[serde(rename = "AI_MODIFIED")]
    AiModified,
    /// The pin shows a synthetic (AI-generated) performer.
    #[serde(rename = "SYNTHETIC_PERFORMER")]
    SyntheticPerformer,
}

/// Board privacy.
#[derive(Debug, Deserialize, JsonSchema)]
pub enum RawPrivacy {
    /// Visible to everyone.
    #[serde(rename = "PUBLIC")]
    Public,
    /// Visible to the owner and collaborators only.
    #[serde(rename = "PROTECTED")]
    Protected,
    /// A secret board.
    #[serde(rename = "SECRET")]
    Secret,
}

/// A board pinbatch may create (with `apply`), and its sections.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBoard {
    /// The board name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The board description.
    pub description: Option<String>,
    /// Privacy of a created board (PUBLIC when absent).
    pub privacy: Option<RawPrivacy>,
    /// Section names pinbatch may create on this board.
    #[serde(default)]
    #[schemars(inner(length(min = 1, max = 180)))]
    pub sections: Option<Vec<String>>,
}

/// A carousel slide: a path or URL, or a mapping with per-slide text.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawSlide {
    /// A local JPEG/PNG path (relative to the manifest) or an http(s) URL.
    Source(String),
    /// A slide with its own title, description and link.
    Detailed(RawSlideDetail),
}

/// A carousel slide with its own text.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSlideDetail {
    /// A local JPEG/PNG path (relative to the manifest) or an http(s) URL.
    #[schemars(length(min = 1))]
    pub src: String,
    /// Slide title.
    #[schemars(length(max = 100))]
    pub title: Option<String>,
    /// Slide description.
    #[schemars(length(max = 800))]
    pub description: Option<String>,
    /// Slide link (absolute http or https URL).
    #[schemars(length(max = 2048), regex(pattern = r"^[hH][tT][tT][pP][sS]?://"))]
    pub link: Option<String>,
}

/// One pin (or, with `glob`, one pin per matched file). Exactly one of `image`, `images`,
/// `video` or `glob` gives its media.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    { "required": ["image"] },
    { "required": ["images"] },
    { "required": ["video"] },
    { "required": ["glob"] }
]))]
pub struct RawPin {
    /// Stable key; derived from board + media when absent. With `glob`, may use placeholders.
    #[schemars(length(min = 1))]
    pub id: Option<String>,
    /// Board name or numeric board id (falls back to `defaults.board`).
    pub board: Option<RawBoardRef>,
    /// Section name on the board.
    #[schemars(length(min = 1, max = 180))]
    pub section: Option<String>,
    /// Pin title.
    #[schemars(length(max = 100))]
    pub title: Option<String>,
    /// Pin description.
    #[schemars(length(max = 800))]
    pub description: Option<String>,
    /// Destination link (absolute http or https URL).
    #[schemars(length(max = 2048), regex(pattern = r"^[hH][tT][tT][pP][sS]?://"))]
    pub link: Option<String>,
    /// Alt text for the image.
    #[schemars(length(max = 500))]
    pub alt_text: Option<String>,
    /// Dominant colour, `#RRGGBB`.
    #[schemars(regex(pattern = r"^#[0-9A-Fa-f]{6}$"))]
    pub dominant_color: Option<String>,
    /// Publication time: RFC 3339 with an offset (`2026-12-24T09:00:00Z`), or a local date and
    /// time (`2026-12-24 09:00`, `2026/12/24 9:00`, `2026-12-24`) in `defaults.timezone`;
    /// `apply` holds the pin back until then.
    #[schemars(regex(pattern = r"^[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}([ Tt].*)?$"))]
    pub publish_at: Option<String>,
    /// AI disclosure labels the creator declares about the pin (an empty list declares none).
    pub ai_disclosures: Option<Vec<RawAiDisclosure>>,
    /// One image: a local JPEG/PNG path (relative to the manifest) or an http(s) URL.
    #[schemars(length(min = 1))]
    pub image: Option<String>,
    /// A carousel of 2 to 5 images, all local files or all URLs.
    #[schemars(length(min = 2, max = 5))]
    pub images: Option<Vec<RawSlide>>,
    /// A video file (.mp4, .mov or .m4v), relative to the manifest.
    #[schemars(length(min = 1))]
    pub video: Option<String>,
    /// The video's cover image: a local JPEG/PNG or an http(s) URL.
    #[schemars(length(min = 1))]
    pub cover: Option<String>,
    /// The video's cover as a key frame, in seconds from the start.
    pub cover_frame: Option<u32>,
    /// One pin per matching file (relative to the manifest, sorted); text fields and `id` may
    /// use `{stem}`, `{name}`, `{dir}` and `{index}`.
    #[schemars(length(min = 1))]
    pub glob: Option<String>,
    /// The Pinterest pin this pin already became, as a report writes it: `apply` checks it
    /// against the account and records it instead of creating the pin again.
    pub pin_id: Option<RawPinId>,
    /// UTM parameters for this pin's link, over `defaults.utm` and `--utm`.
    pub utm: Option<RawUtm>,
}
