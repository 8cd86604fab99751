//! The emulator's in-memory state: boards, sections, pins, media uploads and OAuth tokens, the
//! Pinterest validation rules for writes, bookmark pagination, and the public snapshot types.
//!
//! Everything here is synchronous and free of HTTP types, so the rules are unit-tested directly;
//! `routes` turns [`ApiFailure`]s into `{code, message}` responses. This file holds the records
//! and the store itself; each concern has its own file: [`oauth`] (tokens and codes),
//! [`boards`] (boards and sections), [`pins`] (pins and their listings), [`media`] (video
//! uploads), [`fields`] (reading and checking request bodies) and [`pages`] (pagination).

mod boards;
mod fields;
mod media;
mod oauth;
mod pages;
mod pins;

use std::collections::HashMap;
use std::time::Instant;

pub use fields::sha256_hex;
pub use oauth::{TokenLifetimes, TokenPair};
pub use pages::parse_page_size;
pub(crate) use pins::ListingRules;

use oauth::AuthCode;

/// A failed API call: the HTTP status and Pinterest's `{code, message}` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP status.
    pub status: u16,
    /// Pinterest error code (sometimes equal to the status, as on the real API).
    pub code: u32,
    /// Human-readable message.
    pub message: String,
}

impl ApiFailure {
    fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        ApiFailure {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 code 1 "Invalid parameters." with a detail.
    pub fn invalid(detail: impl AsRef<str>) -> Self {
        ApiFailure::new(
            400,
            1,
            format!(
                "Invalid parameters: {}",
                detail.as_ref().trim_end_matches('.')
            ),
        )
    }

    /// 403 code 29: production refuses a write of an app with Trial access.
    pub fn trial_access() -> Self {
        ApiFailure::new(
            403,
            29,
            "Apps with Trial access may not create Pins in production https://api.pinterest.com - use API Sandbox https://api-sandbox.pinterest.com instead.",
        )
    }

    /// 503: the service behind the endpoint is down.
    pub fn unavailable() -> Self {
        ApiFailure::new(503, 503, "Service unavailable. Please try again later.")
    }

    /// 401 code 2 "Authentication failed."
    pub fn unauthenticated() -> Self {
        ApiFailure::new(401, 2, "Authentication failed.")
    }

    fn board_not_found() -> Self {
        ApiFailure::new(404, 40, "Board not found.")
    }

    fn section_not_found() -> Self {
        ApiFailure::new(404, 2031, "Sorry! We couldn't find this board section.")
    }

    fn pin_not_found() -> Self {
        ApiFailure::new(404, 50, "Pin not found.")
    }

    fn media_not_found() -> Self {
        ApiFailure::new(404, 404, "Media upload not found")
    }
}

/// A board as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRecord {
    /// Digit-string id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Description, if any.
    pub description: Option<String>,
    /// `PUBLIC`, `PROTECTED` or `SECRET`.
    pub privacy: String,
    /// Creation time, `YYYY-MM-DDTHH:MM:SS` UTC.
    pub created_at: String,
}

/// A board section as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionRecord {
    /// Digit-string id.
    pub id: String,
    /// The board it belongs to.
    pub board_id: String,
    /// Name.
    pub name: String,
}

/// One image as received: a URL, or decoded bytes identified by their SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRecord {
    /// `image_url` / carousel item `url`.
    Url(String),
    /// `image_base64` / carousel item `data`, decoded.
    Bytes {
        /// `image/jpeg` or `image/png`.
        content_type: String,
        /// Lowercase hex SHA-256 of the decoded bytes.
        sha256: String,
        /// Decoded length in bytes.
        len: usize,
        /// Width and height from the image's header (JPEG frame header, PNG `IHDR`), when it
        /// has a readable one: what a test checks of a converted or scaled upload.
        size: Option<(u32, u32)>,
    },
}

/// One carousel image with its per-item text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarouselItemRecord {
    /// The image.
    pub image: ImageRecord,
    /// Item title.
    pub title: Option<String>,
    /// Item description.
    pub description: Option<String>,
    /// Item link.
    pub link: Option<String>,
}

/// The media of a stored Pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinMediaRecord {
    /// A single image.
    Image(ImageRecord),
    /// A carousel of 2..=5 images.
    Carousel(Vec<CarouselItemRecord>),
    /// A video from `POST /media`.
    Video {
        /// The media id.
        media_id: String,
        /// Cover image, if one was sent as a URL or base64.
        cover: Option<ImageRecord>,
        /// `cover_image_key_frame_time`, if sent.
        key_frame_time: Option<u64>,
    },
}

impl PinMediaRecord {
    /// `image`, `carousel` or `video`.
    pub fn kind(&self) -> &'static str {
        match self {
            PinMediaRecord::Image(_) => "image",
            PinMediaRecord::Carousel(_) => "carousel",
            PinMediaRecord::Video { .. } => "video",
        }
    }
}

/// A Pin as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinRecord {
    /// Digit-string id.
    pub id: String,
    /// Board id.
    pub board_id: String,
    /// Section id, if any.
    pub board_section_id: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Destination link.
    pub link: Option<String>,
    /// Alt text.
    pub alt_text: Option<String>,
    /// Dominant colour.
    pub dominant_color: Option<String>,
    /// AI disclosure labels (API 5.28), when the pin was given any (`Some(empty)` once cleared).
    pub ai_disclosures: Option<Vec<String>>,
    /// The media.
    pub media: PinMediaRecord,
    /// Creation time, `YYYY-MM-DDTHH:MM:SS` UTC.
    pub created_at: String,
    /// The username of another account that owns the pin (seen by this one, as a public pin
    /// is); `None` for the account's own pins.
    pub owner: Option<String>,
}

/// `registered`, `processing`, `succeeded` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaStatus {
    /// Registered, nothing uploaded yet.
    Registered,
    /// Uploaded, being processed.
    Processing,
    /// Ready to be used in a Pin.
    Succeeded,
    /// Processing failed.
    Failed,
}

impl MediaStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaStatus::Registered => "registered",
            MediaStatus::Processing => "processing",
            MediaStatus::Succeeded => "succeeded",
            MediaStatus::Failed => "failed",
        }
    }
}

/// A media upload as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRecord {
    /// Digit-string id.
    pub media_id: String,
    /// Current status.
    pub status: MediaStatus,
    /// SHA-256 of the uploaded file, once uploaded.
    pub sha256: Option<String>,
    /// Uploaded length in bytes, once uploaded.
    pub len: Option<usize>,
    /// Status polls left in `processing`.
    polls_left: u32,
    /// Whether processing will end in `failed`.
    will_fail: bool,
}

/// A copy of everything stored, for assertions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreSnapshot {
    /// Boards in creation order.
    pub boards: Vec<BoardRecord>,
    /// Sections in creation order.
    pub sections: Vec<SectionRecord>,
    /// Pins in creation order (deleted ones are gone).
    pub pins: Vec<PinRecord>,
    /// Media uploads in creation order.
    pub media: Vec<MediaRecord>,
}

impl StoreSnapshot {
    /// The Pins on one board, oldest first.
    pub fn pins_on(&self, board_id: &str) -> Vec<&PinRecord> {
        self.pins
            .iter()
            .filter(|p| p.board_id == board_id)
            .collect()
    }

    /// The board with this name, if any.
    pub fn board_named(&self, name: &str) -> Option<&BoardRecord> {
        self.boards.iter().find(|b| b.name == name)
    }
}

/// The store itself. Entities carry a creation sequence number used for ordering and bookmarks.
pub struct Store {
    next_id: u64,
    boards: Vec<(u64, BoardRecord)>,
    sections: Vec<(u64, SectionRecord)>,
    pins: Vec<(u64, PinRecord)>,
    /// When each pin (by sequence number) was created through the API; pins seeded directly
    /// have none and show in listings at once.
    created: HashMap<u64, Instant>,
    media: Vec<MediaRecord>,
    access_tokens: HashMap<String, String>,
    refresh_tokens: HashMap<String, TokenPair>,
    /// When issued tokens stop working (tokens absent here never expire by time).
    token_expiry: HashMap<String, Instant>,
    /// Lifetimes of the tokens issued from now on.
    token_lifetimes: TokenLifetimes,
    auth_codes: HashMap<String, AuthCode>,
    token_rng: fastrand::Rng,
}

/// First id handed out; ids are 18 digits like Pinterest's.
const FIRST_ID: u64 = 100_000_000_000_000_001;

impl Store {
    /// An empty store accepting `access_token` as a valid bearer token.
    pub fn new(access_token: &str) -> Self {
        let mut access_tokens = HashMap::new();
        access_tokens.insert(access_token.to_string(), String::new());
        Store {
            next_id: FIRST_ID,
            boards: Vec::new(),
            sections: Vec::new(),
            pins: Vec::new(),
            created: HashMap::new(),
            media: Vec::new(),
            access_tokens,
            refresh_tokens: HashMap::new(),
            token_expiry: HashMap::new(),
            token_lifetimes: TokenLifetimes::default(),
            auth_codes: HashMap::new(),
            token_rng: fastrand::Rng::new(),
        }
    }

    fn allocate(&mut self) -> (u64, String) {
        let id = self.next_id;
        self.next_id += 1;
        (id, id.to_string())
    }

    /// A copy of the stored entities.
    pub fn snapshot(&self) -> StoreSnapshot {
        StoreSnapshot {
            boards: self.boards.iter().map(|(_, b)| b.clone()).collect(),
            sections: self.sections.iter().map(|(_, s)| s.clone()).collect(),
            pins: self.pins.iter().map(|(_, p)| p.clone()).collect(),
            media: self.media.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
