//! The emulator's in-memory state: boards, sections, pins, media uploads and OAuth tokens, the
//! Pinterest validation rules for writes, bookmark pagination, and the public snapshot types.
//!
//! Everything here is synchronous and free of HTTP types, so the rules are unit-tested directly;
//! `routes` turns [`ApiFailure`]s into `{code, message}` responses.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

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

/// The labels `ai_disclosures.values` may hold (API 5.28 `AiDisclosureItem`).
const AI_DISCLOSURE_LABELS: [&str; 2] = ["AI_MODIFIED", "SYNTHETIC_PERFORMER"];

/// A body's `ai_disclosures` (`{"values": [...]}`): `None` when absent or null, 400 code 1 when
/// malformed or holding a label Pinterest does not know.
fn ai_disclosures(object: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiFailure> {
    let value = match object.get("ai_disclosures") {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value,
    };
    let values = value
        .get("values")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiFailure::invalid("ai_disclosures must be an object with a values list")
        })?;
    let mut labels = Vec::with_capacity(values.len());
    for label in values {
        match label.as_str() {
            Some(text) if AI_DISCLOSURE_LABELS.contains(&text) => labels.push(text.to_string()),
            _ => {
                return Err(ApiFailure::invalid(format!(
                    "ai_disclosures.values: {label} is not one of AI_MODIFIED, SYNTHETIC_PERFORMER"
                )));
            }
        }
    }
    Ok(Some(labels))
}

/// Maximum lengths of Pin text fields, in characters (OpenAPI `PinCreate`).
const PIN_TEXT_LIMITS: [(&str, usize); 4] = [
    ("title", 100),
    ("description", 800),
    ("link", 2048),
    ("alt_text", 500),
];
/// Board section names are 1..=180 characters (OpenAPI `BoardSection.name`).
const SECTION_NAME_MAX: usize = 180;
/// Carousels take 2..=5 images (OpenAPI `PinMediaSourceImages*.items`).
const CAROUSEL_ITEMS: std::ops::RangeInclusive<usize> = 2..=5;
/// Default and maximum `page_size` of list endpoints.
pub const PAGE_SIZE_DEFAULT: usize = 25;
/// Maximum `page_size` of list endpoints.
pub const PAGE_SIZE_MAX: usize = 250;
/// Lifetime of issued access tokens, seconds (30 days).
pub const ACCESS_TOKEN_LIFETIME_SECS: u64 = 30 * 24 * 3600;
/// Lifetime of issued refresh tokens, seconds (60 days, continuous refresh).
pub const REFRESH_TOKEN_LIFETIME_SECS: u64 = 60 * 24 * 3600;

/// How long issued tokens work: Pinterest's 30 and 60 days unless the fault plan says
/// otherwise (`token-lifetime`, `refresh-token-lifetime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLifetimes {
    /// Access tokens.
    pub access: Duration,
    /// Refresh tokens.
    pub refresh: Duration,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        TokenLifetimes {
            access: Duration::from_secs(ACCESS_TOKEN_LIFETIME_SECS),
            refresh: Duration::from_secs(REFRESH_TOKEN_LIFETIME_SECS),
        }
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

/// An access token with the refresh token it was issued with, as returned by the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// Bearer token for API calls.
    pub access_token: String,
    /// Token for `grant_type=refresh_token`.
    pub refresh_token: String,
    /// Scopes, comma-separated.
    pub scope: String,
}

struct AuthCode {
    redirect_uri: String,
    scope: String,
}

/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Bookmark of the next page; `None` on the last one.
    pub bookmark: Option<String>,
}

/// How pin listings behave, beyond their content: see the `listing-lag`, `list-order`,
/// `section-pins` and `bookmark` faults.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListingRules {
    /// The moment of the listing.
    pub now: Instant,
    /// Pins show in listings only this long after their creation (`listing-lag`); clearing the
    /// fault lets the listings catch up at once.
    pub lag: std::time::Duration,
    /// The order of the pins.
    pub order: super::faults::ListOrder,
    /// Whether a board's listing includes the pins in its sections.
    pub section_pins_in_board: bool,
    /// Whether later pages hand back the bookmark they were asked for.
    pub repeat_bookmark: bool,
}

impl ListingRules {
    /// Listings as the emulator serves them without faults, at `now`.
    #[cfg(test)]
    pub fn plain(now: Instant) -> Self {
        ListingRules {
            now,
            lag: std::time::Duration::ZERO,
            order: super::faults::ListOrder::Newest,
            section_pins_in_board: true,
            repeat_bookmark: false,
        }
    }

    fn order(&self) -> Order {
        match self.order {
            super::faults::ListOrder::Newest => Order::NewestFirst,
            super::faults::ListOrder::Oldest => Order::OldestFirst,
            super::faults::ListOrder::Mixed => Order::Mixed,
        }
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

    // ---- tokens ----

    /// Whether `token` is a currently valid access token.
    pub fn is_valid_access_token(&self, token: &str) -> bool {
        self.access_tokens.contains_key(token) && !self.expired(token)
    }

    fn expired(&self, token: &str) -> bool {
        self.token_expiry
            .get(token)
            .is_some_and(|at| *at <= Instant::now())
    }

    /// Sets the lifetimes of the tokens issued from now on.
    pub fn set_token_lifetimes(&mut self, lifetimes: TokenLifetimes) {
        self.token_lifetimes = lifetimes;
    }

    fn random_token(&mut self, prefix: &str) -> String {
        let body: String = (0..40).map(|_| self.token_rng.alphanumeric()).collect();
        format!("{prefix}{body}")
    }

    /// Mints a new access and refresh token pair, both valid from now on.
    pub fn issue_tokens(&mut self, scope: &str) -> TokenPair {
        let pair = TokenPair {
            access_token: self.random_token("pina_"),
            refresh_token: self.random_token("pinr_"),
            scope: scope.to_string(),
        };
        self.access_tokens
            .insert(pair.access_token.clone(), pair.refresh_token.clone());
        self.refresh_tokens
            .insert(pair.refresh_token.clone(), pair.clone());
        let now = Instant::now();
        self.token_expiry
            .insert(pair.access_token.clone(), now + self.token_lifetimes.access);
        self.token_expiry.insert(
            pair.refresh_token.clone(),
            now + self.token_lifetimes.refresh,
        );
        pair
    }

    /// Makes one access token invalid; returns whether it was valid.
    pub fn expire_access_token(&mut self, token: &str) -> bool {
        self.access_tokens.remove(token).is_some()
    }

    /// Makes every access token invalid (refresh tokens stay valid).
    pub fn expire_all_access_tokens(&mut self) {
        self.access_tokens.clear();
    }

    /// Records an authorization code issued by the authorize page.
    pub fn issue_auth_code(&mut self, redirect_uri: &str, scope: &str) -> String {
        let code = self.random_token("");
        self.auth_codes.insert(
            code.clone(),
            AuthCode {
                redirect_uri: redirect_uri.to_string(),
                scope: scope.to_string(),
            },
        );
        code
    }

    /// Exchanges a code (single use, same redirect URI) for a token pair.
    pub fn redeem_auth_code(
        &mut self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenPair, ApiFailure> {
        let Some(issued) = self.auth_codes.remove(code) else {
            return Err(ApiFailure::new(
                400,
                1,
                "Invalid authorization code: unknown or already used.",
            ));
        };
        if issued.redirect_uri != redirect_uri {
            return Err(ApiFailure::new(
                400,
                1,
                "Invalid redirect_uri: it must match the one sent to the authorize page.",
            ));
        }
        Ok(self.issue_tokens(&issued.scope))
    }

    /// Rotates a refresh token: the old refresh token and its access token stop working.
    pub fn refresh(&mut self, refresh_token: &str) -> Result<TokenPair, ApiFailure> {
        if self.expired(refresh_token) {
            return Err(ApiFailure::new(
                400,
                1,
                "Invalid refresh token: it has expired; log in again.",
            ));
        }
        let Some(old) = self.refresh_tokens.remove(refresh_token) else {
            return Err(ApiFailure::new(
                400,
                1,
                "Invalid refresh token: unknown, rotated or revoked.",
            ));
        };
        self.access_tokens.remove(&old.access_token);
        Ok(self.issue_tokens(&old.scope))
    }

    // ---- boards and sections ----

    /// Creates a board; 400 code 400 if the name is empty or already used (case-insensitive).
    pub fn create_board(
        &mut self,
        name: &str,
        description: Option<String>,
        privacy: &str,
        now: &str,
    ) -> Result<BoardRecord, ApiFailure> {
        let trimmed = name.trim();
        let duplicate = self
            .boards
            .iter()
            .any(|(_, b)| b.name.trim().eq_ignore_ascii_case(trimmed));
        if trimmed.is_empty() || duplicate {
            return Err(ApiFailure::new(
                400,
                400,
                "The board name is invalid or duplicated.",
            ));
        }
        if !matches!(privacy, "PUBLIC" | "PROTECTED" | "SECRET") {
            return Err(ApiFailure::invalid(
                "privacy must be PUBLIC, PROTECTED or SECRET",
            ));
        }
        Ok(self.insert_board(name, description, privacy, now))
    }

    /// Adds a board without the owner's unique-name rule: a group board another user shares
    /// with the account may carry the same name as one of its own.
    pub fn insert_board(
        &mut self,
        name: &str,
        description: Option<String>,
        privacy: &str,
        now: &str,
    ) -> BoardRecord {
        let (seq, id) = self.allocate();
        let board = BoardRecord {
            id,
            name: name.to_string(),
            description,
            privacy: privacy.to_string(),
            created_at: now.to_string(),
        };
        self.boards.push((seq, board.clone()));
        board
    }

    /// The board with this id.
    pub fn board(&self, id: &str) -> Result<&BoardRecord, ApiFailure> {
        self.boards
            .iter()
            .map(|(_, b)| b)
            .find(|b| b.id == id)
            .ok_or_else(ApiFailure::board_not_found)
    }

    /// Number of Pins on a board.
    pub fn pin_count(&self, board_id: &str) -> usize {
        self.pins
            .iter()
            .filter(|(_, p)| p.board_id == board_id)
            .count()
    }

    /// Number of boards.
    pub fn board_count(&self) -> usize {
        self.boards.len()
    }

    /// Number of Pins.
    pub fn total_pin_count(&self) -> usize {
        self.pins.len()
    }

    /// Creation time of the newest Pin on a board, if any.
    pub fn board_pins_modified_at(&self, board_id: &str) -> Option<String> {
        self.pins
            .iter()
            .rev()
            .find(|(_, p)| p.board_id == board_id)
            .map(|(_, p)| p.created_at.clone())
    }

    /// Boards in creation order, optionally filtered by a `privacy` list filter.
    pub fn list_boards(
        &self,
        privacy: Option<&str>,
        bookmark: Option<&str>,
        page_size: usize,
    ) -> Result<Page<BoardRecord>, ApiFailure> {
        let wanted: Option<&[&str]> = match privacy {
            None | Some("ALL") => None,
            Some("PUBLIC") => Some(&["PUBLIC"]),
            Some("PROTECTED") => Some(&["PROTECTED"]),
            Some("SECRET") => Some(&["SECRET"]),
            Some("PUBLIC_AND_SECRET") => Some(&["PUBLIC", "SECRET"]),
            Some(other) => {
                return Err(ApiFailure::invalid(format!(
                    "privacy `{other}` is not one of ALL, PUBLIC, PROTECTED, SECRET, PUBLIC_AND_SECRET"
                )));
            }
        };
        let boards = self
            .boards
            .iter()
            .filter(|(_, b)| wanted.is_none_or(|w| w.contains(&b.privacy.as_str())))
            .map(|(seq, b)| (*seq, b.clone()));
        paginate(boards, Order::OldestFirst, bookmark, page_size, false)
    }

    /// Creates a section; 404 code 40 for an unknown board, 400 code 400 for a bad or duplicate name.
    pub fn create_section(
        &mut self,
        board_id: &str,
        name: &str,
    ) -> Result<SectionRecord, ApiFailure> {
        self.board(board_id)?;
        let length = name.chars().count();
        let duplicate = self
            .sections
            .iter()
            .any(|(_, s)| s.board_id == board_id && s.name.eq_ignore_ascii_case(name));
        if name.trim().is_empty() || length > SECTION_NAME_MAX || duplicate {
            return Err(ApiFailure::new(
                400,
                400,
                "Invalid board section parameters.",
            ));
        }
        let (seq, id) = self.allocate();
        let section = SectionRecord {
            id,
            board_id: board_id.to_string(),
            name: name.to_string(),
        };
        self.sections.push((seq, section.clone()));
        Ok(section)
    }

    /// A board's sections in creation order.
    pub fn list_sections(
        &self,
        board_id: &str,
        bookmark: Option<&str>,
        page_size: usize,
    ) -> Result<Page<SectionRecord>, ApiFailure> {
        self.board(board_id)?;
        let sections = self
            .sections
            .iter()
            .filter(|(_, s)| s.board_id == board_id)
            .map(|(seq, s)| (*seq, s.clone()));
        paginate(sections, Order::OldestFirst, bookmark, page_size, false)
    }

    fn check_section(&self, board_id: &str, section_id: &str) -> Result<(), ApiFailure> {
        let belongs = self
            .sections
            .iter()
            .any(|(_, s)| s.id == section_id && s.board_id == board_id);
        if belongs {
            Ok(())
        } else {
            Err(ApiFailure::section_not_found())
        }
    }

    // ---- pins ----

    /// Validates a `PinCreate` body and stores the Pin, created at the instant `created` (for
    /// listings that lag; `None` shows it at once whatever the lag).
    pub fn create_pin(
        &mut self,
        body: &Value,
        now: &str,
        created: Option<Instant>,
    ) -> Result<PinRecord, ApiFailure> {
        let object = body
            .as_object()
            .ok_or_else(|| ApiFailure::invalid("the body must be a JSON object"))?;
        let board_id = required_str(object, "board_id")?;
        self.board(board_id)?;
        let section_id = optional_str(object, "board_section_id")?;
        if let Some(section_id) = section_id {
            self.check_section(board_id, section_id)?;
        }
        check_text_limits(object)?;
        let link = optional_str(object, "link")?;
        if let Some(link) = link {
            check_link(link)?;
        }
        let media_source = object
            .get("media_source")
            .and_then(Value::as_object)
            .ok_or_else(|| ApiFailure::invalid("media_source is required"))?;
        let media = self.parse_media_source(media_source)?;
        let (seq, id) = self.allocate();
        let pin = PinRecord {
            id,
            board_id: board_id.to_string(),
            board_section_id: section_id.map(str::to_string),
            title: optional_string(object, "title")?,
            description: optional_string(object, "description")?,
            link: link.map(str::to_string),
            alt_text: optional_string(object, "alt_text")?,
            dominant_color: optional_string(object, "dominant_color")?,
            ai_disclosures: ai_disclosures(object)?,
            media,
            created_at: now.to_string(),
        };
        self.pins.push((seq, pin.clone()));
        if let Some(at) = created {
            self.created.insert(seq, at);
        }
        Ok(pin)
    }

    fn parse_media_source(
        &self,
        source: &Map<String, Value>,
    ) -> Result<PinMediaRecord, ApiFailure> {
        let source_type = required_str(source, "source_type")
            .map_err(|_| ApiFailure::invalid("media_source.source_type is required"))?;
        match source_type {
            "image_url" => Ok(PinMediaRecord::Image(ImageRecord::Url(image_url(
                source,
                "media_source.url",
            )?))),
            "image_base64" => Ok(PinMediaRecord::Image(decode_image(
                source,
                "content_type",
                "data",
            )?)),
            "multiple_image_urls" | "multiple_image_base64" => {
                let items = source
                    .get("items")
                    .and_then(Value::as_array)
                    .ok_or_else(|| ApiFailure::invalid("media_source.items is required"))?;
                if !CAROUSEL_ITEMS.contains(&items.len()) {
                    return Err(ApiFailure::invalid(format!(
                        "a carousel needs 2 to 5 items, got {}",
                        items.len()
                    )));
                }
                let mut parsed = Vec::with_capacity(items.len());
                for item in items {
                    let item = item
                        .as_object()
                        .ok_or_else(|| ApiFailure::invalid("media_source.items must be objects"))?;
                    let image = if source_type == "multiple_image_urls" {
                        ImageRecord::Url(image_url(item, "media_source.items[].url")?)
                    } else {
                        decode_image(item, "content_type", "data")?
                    };
                    parsed.push(CarouselItemRecord {
                        image,
                        title: optional_string(item, "title")?,
                        description: optional_string(item, "description")?,
                        link: optional_string(item, "link")?,
                    });
                }
                Ok(PinMediaRecord::Carousel(parsed))
            }
            "video_id" => {
                let media_id = required_str(source, "media_id")
                    .map_err(|_| ApiFailure::invalid("media_source.media_id is required"))?;
                let media = self
                    .media
                    .iter()
                    .find(|m| m.media_id == media_id)
                    .ok_or_else(ApiFailure::media_not_found)?;
                if media.status != MediaStatus::Succeeded {
                    return Err(ApiFailure::invalid(format!(
                        "media {media_id} is {}, not succeeded",
                        media.status.as_str()
                    )));
                }
                let cover = if let Some(url) = optional_str(source, "cover_image_url")? {
                    Some(ImageRecord::Url(url.to_string()))
                } else if source.contains_key("cover_image_data") {
                    Some(decode_image(
                        source,
                        "cover_image_content_type",
                        "cover_image_data",
                    )?)
                } else {
                    None
                };
                let key_frame_time = match source.get("cover_image_key_frame_time") {
                    None | Some(Value::Null) => None,
                    Some(value) => Some(value.as_u64().ok_or_else(|| {
                        ApiFailure::invalid("cover_image_key_frame_time must be an integer >= 0")
                    })?),
                };
                Ok(PinMediaRecord::Video {
                    media_id: media_id.to_string(),
                    cover,
                    key_frame_time,
                })
            }
            other => Err(ApiFailure::invalid(format!(
                "media_source.source_type `{other}` is not supported"
            ))),
        }
    }

    /// The Pin with this id.
    pub fn pin(&self, id: &str) -> Result<&PinRecord, ApiFailure> {
        self.pins
            .iter()
            .map(|(_, p)| p)
            .find(|p| p.id == id)
            .ok_or_else(ApiFailure::pin_not_found)
    }

    /// Applies a `PinUpdate` body.
    pub fn update_pin(&mut self, id: &str, body: &Value) -> Result<PinRecord, ApiFailure> {
        let object = body
            .as_object()
            .ok_or_else(|| ApiFailure::invalid("the body must be a JSON object"))?;
        let current = self.pin(id)?.clone();
        check_text_limits(object)?;
        let board_id = match object.get("board_id") {
            None => current.board_id.clone(),
            Some(_) => required_str(object, "board_id")?.to_string(),
        };
        self.board(&board_id)?;
        let section_id = if object.contains_key("board_section_id") {
            optional_str(object, "board_section_id")?.map(str::to_string)
        } else if board_id == current.board_id {
            current.board_section_id.clone()
        } else {
            None
        };
        if let Some(section_id) = &section_id {
            self.check_section(&board_id, section_id)?;
        }
        if let Some(link) = optional_str(object, "link")? {
            check_link(link)?;
        }
        let disclosures = ai_disclosures(object)?;
        let mut updated = current;
        if disclosures.is_some() {
            updated.ai_disclosures = disclosures;
        }
        updated.board_id = board_id;
        updated.board_section_id = section_id;
        for (field, slot) in [
            ("title", &mut updated.title),
            ("description", &mut updated.description),
            ("link", &mut updated.link),
            ("alt_text", &mut updated.alt_text),
        ] {
            if object.contains_key(field) {
                *slot = optional_string(object, field)?;
            }
        }
        if let Some(entry) = self.pins.iter_mut().find(|(_, p)| p.id == id) {
            entry.1 = updated.clone();
        }
        Ok(updated)
    }

    /// Deletes a Pin.
    pub fn delete_pin(&mut self, id: &str) -> Result<(), ApiFailure> {
        let before = self.pins.len();
        self.pins.retain(|(_, p)| p.id != id);
        if self.pins.len() == before {
            Err(ApiFailure::pin_not_found())
        } else {
            Ok(())
        }
    }

    /// Pins listed under `rules`; only those on `board_id` when given (without the pins of its
    /// sections unless the rules include them).
    pub(crate) fn list_pins(
        &self,
        board_id: Option<&str>,
        bookmark: Option<&str>,
        page_size: usize,
        rules: &ListingRules,
    ) -> Result<Page<PinRecord>, ApiFailure> {
        if let Some(board_id) = board_id {
            self.board(board_id)?;
        }
        let pins = self
            .listed(rules)
            .filter(|(_, p)| match board_id {
                None => true,
                Some(board) => {
                    p.board_id == board
                        && (rules.section_pins_in_board || p.board_section_id.is_none())
                }
            })
            .map(|(seq, p)| (*seq, p.clone()));
        paginate(
            pins,
            rules.order(),
            bookmark,
            page_size,
            rules.repeat_bookmark,
        )
    }

    /// Pins in one section of a board, listed under `rules`.
    pub(crate) fn list_section_pins(
        &self,
        board_id: &str,
        section_id: &str,
        bookmark: Option<&str>,
        page_size: usize,
        rules: &ListingRules,
    ) -> Result<Page<PinRecord>, ApiFailure> {
        self.board(board_id)?;
        self.check_section(board_id, section_id)?;
        let pins = self
            .listed(rules)
            .filter(|(_, p)| p.board_section_id.as_deref() == Some(section_id))
            .map(|(seq, p)| (*seq, p.clone()));
        paginate(
            pins,
            rules.order(),
            bookmark,
            page_size,
            rules.repeat_bookmark,
        )
    }

    /// The pins that show in listings at `rules.now`.
    fn listed<'a>(
        &'a self,
        rules: &'a ListingRules,
    ) -> impl Iterator<Item = &'a (u64, PinRecord)> + 'a {
        self.pins.iter().filter(|(seq, _)| {
            self.created
                .get(seq)
                .is_none_or(|&created| created + rules.lag <= rules.now)
        })
    }

    // ---- media ----

    /// Registers a video upload.
    pub fn register_media(&mut self, will_fail: bool, processing_polls: u32) -> MediaRecord {
        let (_, media_id) = self.allocate();
        let media = MediaRecord {
            media_id,
            status: MediaStatus::Registered,
            sha256: None,
            len: None,
            polls_left: processing_polls,
            will_fail,
        };
        self.media.push(media.clone());
        media
    }

    /// Whether an upload for this media id is expected (it exists and nothing was uploaded yet).
    pub fn media_awaits_upload(&self, media_id: &str) -> bool {
        self.media
            .iter()
            .any(|m| m.media_id == media_id && m.status == MediaStatus::Registered)
    }

    /// Stores an uploaded file: the media goes to `processing`.
    pub fn complete_upload(&mut self, media_id: &str, bytes: &[u8]) -> bool {
        let Some(media) = self.media.iter_mut().find(|m| m.media_id == media_id) else {
            return false;
        };
        media.sha256 = Some(sha256_hex(bytes));
        media.len = Some(bytes.len());
        media.status = MediaStatus::Processing;
        true
    }

    /// Answers a status poll, advancing processing by one poll.
    pub fn poll_media(&mut self, media_id: &str) -> Result<MediaRecord, ApiFailure> {
        let media = self
            .media
            .iter_mut()
            .find(|m| m.media_id == media_id)
            .ok_or_else(ApiFailure::media_not_found)?;
        if media.status == MediaStatus::Processing {
            if media.polls_left == 0 {
                media.status = if media.will_fail {
                    MediaStatus::Failed
                } else {
                    MediaStatus::Succeeded
                };
            } else {
                media.polls_left -= 1;
            }
        }
        Ok(media.clone())
    }
}

// ---- field helpers ----

fn required_str<'a>(object: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiFailure> {
    match object.get(field) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ApiFailure::invalid(format!("{field} is required")))
        }
        Some(_) => Err(ApiFailure::invalid(format!("{field} must be a string"))),
    }
}

fn optional_str<'a>(
    object: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ApiFailure> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(_) => Err(ApiFailure::invalid(format!("{field} must be a string"))),
    }
}

fn optional_string(object: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiFailure> {
    optional_str(object, field).map(|v| v.map(str::to_string))
}

fn check_text_limits(object: &Map<String, Value>) -> Result<(), ApiFailure> {
    for (field, max) in PIN_TEXT_LIMITS {
        if let Some(value) = optional_str(object, field)? {
            let length = value.chars().count();
            if length > max {
                return Err(ApiFailure::invalid(format!(
                    "{field} is {length} characters, more than {max}"
                )));
            }
        }
    }
    Ok(())
}

fn check_link(link: &str) -> Result<(), ApiFailure> {
    match url::Url::parse(link) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        _ => Err(ApiFailure::new(
            400,
            1,
            "Whoops! It looks like you entered an invalid URL. Try creating a Pin again with a valid URL.",
        )),
    }
}

fn image_url(object: &Map<String, Value>, label: &str) -> Result<String, ApiFailure> {
    let url = required_str(object, "url")
        .map_err(|_| ApiFailure::invalid(format!("{label} is required")))?;
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(url.to_string()),
        _ => Err(ApiFailure::new(
            400,
            1,
            format!("Invalid image URL `{url}`: it must be an http or https URL."),
        )),
    }
}

fn decode_image(
    object: &Map<String, Value>,
    type_field: &str,
    data_field: &str,
) -> Result<ImageRecord, ApiFailure> {
    let content_type = required_str(object, type_field)?;
    if !matches!(content_type, "image/jpeg" | "image/png") {
        return Err(ApiFailure::invalid(format!(
            "{type_field} must be image/jpeg or image/png, got `{content_type}`"
        )));
    }
    let data = required_str(object, data_field)?;
    let plain_alphabet = data
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if !plain_alphabet {
        return Err(ApiFailure::invalid(format!(
            "{data_field} must be plain base64 (no data: prefix, no whitespace)"
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|err| ApiFailure::invalid(format!("{data_field} is not valid base64: {err}")))?;
    if sniff_image(&bytes) != Some(content_type) {
        return Err(ApiFailure::new(
            403,
            235,
            "Sorry, this image is broken. Please pick a different image.",
        ));
    }
    Ok(ImageRecord::Bytes {
        content_type: content_type.to_string(),
        sha256: sha256_hex(&bytes),
        len: bytes.len(),
    })
}

/// The content type the magic bytes announce (JPEG or PNG only).
fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- pagination ----

#[derive(Clone, Copy)]
enum Order {
    OldestFirst,
    NewestFirst,
    /// A fixed scramble of creation order.
    Mixed,
}

impl Order {
    /// The sort key of the item created `seq`-th: items are listed by ascending key, and a
    /// bookmark names the key of the last item returned.
    fn key(self, seq: u64) -> u64 {
        match self {
            Order::OldestFirst => seq,
            Order::NewestFirst => u64::MAX - seq,
            // Multiplying by an odd constant is a bijection on u64 that scatters the order.
            Order::Mixed => seq.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        }
    }
}

const BOOKMARK_PREFIX: &str = "emu:";

fn encode_bookmark(seq: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{BOOKMARK_PREFIX}{seq}"))
}

fn decode_bookmark(bookmark: &str) -> Option<u64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(bookmark)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix(BOOKMARK_PREFIX)?.parse().ok()
}

/// Pages through items ordered by creation sequence. The bookmark names the last item returned,
/// so items created between two page requests never shift the pages. With `repeat_bookmark`, a
/// page asked for with a bookmark hands back that same bookmark (a server bug clients must
/// survive).
fn paginate<T>(
    items: impl Iterator<Item = (u64, T)>,
    order: Order,
    bookmark: Option<&str>,
    page_size: usize,
    repeat_bookmark: bool,
) -> Result<Page<T>, ApiFailure> {
    let after = match bookmark {
        None | Some("") => None,
        Some(bookmark) => Some(
            decode_bookmark(bookmark)
                .ok_or_else(|| ApiFailure::invalid("bookmark is not one this server issued"))?,
        ),
    };
    let mut items: Vec<(u64, T)> = items
        .map(|(seq, item)| (order.key(seq), item))
        .filter(|(key, _)| after.is_none_or(|last| *key > last))
        .collect();
    items.sort_by_key(|(key, _)| *key);
    let more = items.len() > page_size;
    items.truncate(page_size);
    let bookmark = match (more, bookmark) {
        (false, _) => None,
        (true, Some(asked)) if repeat_bookmark && !asked.is_empty() => Some(asked.to_owned()),
        (true, _) => items.last().map(|(key, _)| encode_bookmark(*key)),
    };
    Ok(Page {
        items: items.into_iter().map(|(_, item)| item).collect(),
        bookmark,
    })
}

/// Parses `page_size`: default 25, 1..=250, else 400 code 1.
pub fn parse_page_size(raw: Option<&str>) -> Result<usize, ApiFailure> {
    match raw {
        None => Ok(PAGE_SIZE_DEFAULT),
        Some(raw) => match raw.parse::<usize>() {
            Ok(size) if (1..=PAGE_SIZE_MAX).contains(&size) => Ok(size),
            _ => Err(ApiFailure::invalid(format!(
                "page_size must be an integer from 1 to {PAGE_SIZE_MAX}, got `{raw}`"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: &str = "2026-11-29T17:00:00";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10];

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn store_with_board() -> (Store, String) {
        let mut store = Store::new("token");
        let board = store.create_board("Recipes", None, "PUBLIC", NOW).unwrap();
        (store, board.id)
    }

    #[test]
    fn pagination_walks_every_item_once() {
        let mut store = Store::new("t");
        for i in 0..60 {
            store
                .create_board(&format!("b{i}"), None, "PUBLIC", NOW)
                .unwrap();
        }
        let mut seen = Vec::new();
        let mut bookmark = None;
        loop {
            let page = store.list_boards(None, bookmark.as_deref(), 25).unwrap();
            seen.extend(page.items.into_iter().map(|b| b.name));
            match page.bookmark {
                Some(next) => bookmark = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 60);
        assert_eq!(seen[0], "b0");
        assert_eq!(seen[59], "b59");
        assert!(store.list_boards(None, Some("garbage"), 25).is_err());
    }

    #[test]
    fn exact_multiple_has_null_bookmark_on_last_page() {
        let mut store = Store::new("t");
        for i in 0..50 {
            store
                .create_board(&format!("b{i}"), None, "PUBLIC", NOW)
                .unwrap();
        }
        let first = store.list_boards(None, None, 25).unwrap();
        let second = store
            .list_boards(None, first.bookmark.as_deref(), 25)
            .unwrap();
        assert_eq!(second.items.len(), 25);
        assert_eq!(second.bookmark, None);
    }

    #[test]
    fn page_size_bounds() {
        assert_eq!(parse_page_size(None).unwrap(), 25);
        assert_eq!(parse_page_size(Some("250")).unwrap(), 250);
        for bad in ["0", "251", "-1", "ten"] {
            assert_eq!(parse_page_size(Some(bad)).unwrap_err().code, 1);
        }
    }

    #[test]
    fn pins_list_newest_first() {
        let (mut store, board) = store_with_board();
        for i in 0..3 {
            let body = json!({"board_id": board, "title": format!("p{i}"),
                "media_source": {"source_type": "image_url", "url": "https://example.com/a.jpg"}});
            store.create_pin(&body, NOW, None).unwrap();
        }
        let rules = ListingRules::plain(Instant::now());
        let page = store.list_pins(Some(&board), None, 2, &rules).unwrap();
        let titles: Vec<_> = page
            .items
            .iter()
            .map(|p| p.title.clone().unwrap())
            .collect();
        assert_eq!(titles, ["p2", "p1"]);
        let rest = store
            .list_pins(Some(&board), page.bookmark.as_deref(), 2, &rules)
            .unwrap();
        assert_eq!(rest.items[0].title.as_deref(), Some("p0"));
        assert_eq!(rest.bookmark, None);
    }

    /// Walks every page of a board's listing under `rules` and returns the titles in order.
    fn listed_titles(store: &Store, board: &str, rules: &ListingRules) -> Vec<String> {
        let mut titles = Vec::new();
        let mut bookmark: Option<String> = None;
        loop {
            let page = store
                .list_pins(Some(board), bookmark.as_deref(), 2, rules)
                .unwrap();
            titles.extend(page.items.iter().map(|p| p.title.clone().unwrap()));
            match page.bookmark {
                Some(next) => bookmark = Some(next),
                None => return titles,
            }
        }
    }

    #[test]
    fn listings_lag_reorder_and_leave_sections_apart_when_told() {
        use super::super::faults::ListOrder;
        let (mut store, board) = store_with_board();
        let section = store.create_section(&board, "S").unwrap().id;
        let start = Instant::now();
        for i in 0..5 {
            let mut body = json!({"board_id": board, "title": format!("p{i}"),
                "media_source": {"source_type": "image_url", "url": "https://example.com/a.jpg"}});
            if i == 1 {
                body["board_section_id"] = json!(section);
            }
            let created = (i == 4).then_some(start);
            store.create_pin(&body, NOW, created).unwrap();
        }
        let mut rules = ListingRules::plain(start);
        rules.lag = std::time::Duration::from_secs(3);
        assert_eq!(
            listed_titles(&store, &board, &rules),
            ["p3", "p2", "p1", "p0"]
        );
        rules.now = start + std::time::Duration::from_secs(3);
        assert_eq!(
            listed_titles(&store, &board, &rules),
            ["p4", "p3", "p2", "p1", "p0"]
        );
        rules.order = ListOrder::Oldest;
        assert_eq!(
            listed_titles(&store, &board, &rules),
            ["p0", "p1", "p2", "p3", "p4"]
        );
        rules.order = ListOrder::Mixed;
        let mut mixed = listed_titles(&store, &board, &rules);
        assert_ne!(mixed, ["p0", "p1", "p2", "p3", "p4"]);
        assert_ne!(mixed, ["p4", "p3", "p2", "p1", "p0"]);
        mixed.sort();
        assert_eq!(mixed, ["p0", "p1", "p2", "p3", "p4"]);
        rules.section_pins_in_board = false;
        let without_section = listed_titles(&store, &board, &rules);
        assert!(!without_section.contains(&"p1".to_owned()));
        let in_section = store
            .list_section_pins(&board, &section, None, 10, &rules)
            .unwrap();
        assert_eq!(in_section.items.len(), 1);
        rules.repeat_bookmark = true;
        let first = store.list_pins(Some(&board), None, 1, &rules).unwrap();
        let asked = first.bookmark.unwrap();
        let second = store
            .list_pins(Some(&board), Some(&asked), 1, &rules)
            .unwrap();
        assert_eq!(second.bookmark.as_deref(), Some(asked.as_str()));
    }

    #[test]
    fn tokens_stop_working_when_their_lifetime_is_over() {
        let mut store = Store::new("static");
        store.set_token_lifetimes(TokenLifetimes {
            access: Duration::ZERO,
            refresh: Duration::from_secs(3600),
        });
        let pair = store.issue_tokens("pins:read");
        assert!(
            !store.is_valid_access_token(&pair.access_token),
            "lived 0 s"
        );
        let renewed = store.refresh(&pair.refresh_token).unwrap();
        assert!(!store.is_valid_access_token(&renewed.access_token));
        store.set_token_lifetimes(TokenLifetimes {
            access: Duration::from_secs(3600),
            refresh: Duration::ZERO,
        });
        let pair = store.issue_tokens("pins:read");
        assert!(store.is_valid_access_token(&pair.access_token));
        let err = store.refresh(&pair.refresh_token).unwrap_err();
        assert!(err.message.contains("expired"), "{}", err.message);
        assert!(
            store.is_valid_access_token("static"),
            "the configured token lives on"
        );
    }

    #[test]
    fn tokens_expire_and_refresh_rotates() {
        let mut store = Store::new("static");
        assert!(store.is_valid_access_token("static"));
        assert!(!store.is_valid_access_token("other"));
        let pair = store.issue_tokens("pins:read");
        assert!(store.is_valid_access_token(&pair.access_token));
        let rotated = store.refresh(&pair.refresh_token).unwrap();
        assert!(!store.is_valid_access_token(&pair.access_token));
        assert!(store.is_valid_access_token(&rotated.access_token));
        assert!(store.refresh(&pair.refresh_token).is_err());
        store.expire_all_access_tokens();
        assert!(!store.is_valid_access_token("static"));
        assert!(store.refresh(&rotated.refresh_token).is_ok());
    }

    #[test]
    fn auth_codes_are_single_use_and_bound_to_the_redirect() {
        let mut store = Store::new("t");
        let code = store.issue_auth_code("http://localhost:8085/", "pins:read");
        assert!(store.redeem_auth_code(&code, "http://elsewhere/").is_err());
        let code = store.issue_auth_code("http://localhost:8085/", "pins:read");
        assert!(
            store
                .redeem_auth_code(&code, "http://localhost:8085/")
                .is_ok()
        );
        assert!(
            store
                .redeem_auth_code(&code, "http://localhost:8085/")
                .is_err()
        );
    }

    #[test]
    fn duplicate_board_names_are_rejected() {
        let (mut store, _) = store_with_board();
        let err = store
            .create_board("recipes", None, "PUBLIC", NOW)
            .unwrap_err();
        assert_eq!((err.status, err.code), (400, 400));
    }

    #[test]
    fn pin_validation_rules() {
        let (mut store, board) = store_with_board();
        let other = store.create_board("Other", None, "SECRET", NOW).unwrap();
        let foreign_section = store.create_section(&other.id, "S").unwrap();
        let url_media = json!({"source_type": "image_url", "url": "https://example.com/a.jpg"});
        let cases = [
            (
                json!({"board_id": "999", "media_source": url_media}),
                404,
                40,
            ),
            (
                json!({"board_id": board, "board_section_id": foreign_section.id, "media_source": url_media}),
                404,
                2031,
            ),
            (
                json!({"board_id": board, "title": "x".repeat(101), "media_source": url_media}),
                400,
                1,
            ),
            (
                json!({"board_id": board, "description": "x".repeat(801), "media_source": url_media}),
                400,
                1,
            ),
            (
                json!({"board_id": board, "alt_text": "x".repeat(501), "media_source": url_media}),
                400,
                1,
            ),
            (
                json!({"board_id": board, "link": "not a url", "media_source": url_media}),
                400,
                1,
            ),
            (json!({"board_id": board}), 400, 1),
            (
                json!({"board_id": board, "media_source": {"source_type": "image_base64",
                    "content_type": "image/png", "data": b64(JPEG)}}),
                403,
                235,
            ),
            (
                json!({"board_id": board, "media_source": {"source_type": "image_base64",
                    "content_type": "image/png", "data": "data:image/png;base64,AAAA"}}),
                400,
                1,
            ),
            (
                json!({"board_id": board, "media_source": {"source_type": "multiple_image_urls",
                    "items": [{"url": "https://example.com/1.jpg"}]}}),
                400,
                1,
            ),
            (
                json!({"board_id": board, "media_source": {"source_type": "video_id", "media_id": "12"}}),
                404,
                404,
            ),
        ];
        for (body, status, code) in cases {
            let err = store.create_pin(&body, NOW, None).unwrap_err();
            assert_eq!((err.status, err.code), (status, code), "{body}");
        }
        let ok_title = "é".repeat(100);
        let pin = store
            .create_pin(
                &json!({"board_id": board, "title": ok_title, "media_source": {
                    "source_type": "multiple_image_base64",
                    "items": [{"content_type": "image/png", "data": b64(PNG)},
                              {"content_type": "image/jpeg", "data": b64(JPEG), "title": "second"}]}}),
                NOW,
                None,
            )
            .unwrap();
        let PinMediaRecord::Carousel(items) = &pin.media else {
            panic!("expected a carousel");
        };
        assert_eq!(items[1].title.as_deref(), Some("second"));
        assert_eq!(
            items[0].image,
            ImageRecord::Bytes {
                content_type: "image/png".into(),
                sha256: sha256_hex(PNG),
                len: PNG.len()
            }
        );
    }

    #[test]
    fn video_must_have_finished_processing() {
        let (mut store, board) = store_with_board();
        let media = store.register_media(false, 1);
        let body = json!({"board_id": board, "media_source":
            {"source_type": "video_id", "media_id": media.media_id, "cover_image_url": "https://example.com/c.jpg"}});
        assert_eq!(store.create_pin(&body, NOW, None).unwrap_err().status, 400);
        assert!(store.complete_upload(&media.media_id, b"video"));
        assert_eq!(
            store.poll_media(&media.media_id).unwrap().status,
            MediaStatus::Processing
        );
        assert_eq!(
            store.poll_media(&media.media_id).unwrap().status,
            MediaStatus::Succeeded
        );
        let pin = store.create_pin(&body, NOW, None).unwrap();
        assert_eq!(pin.media.kind(), "video");
    }

    #[test]
    fn failing_media_ends_failed() {
        let mut store = Store::new("t");
        let media = store.register_media(true, 0);
        store.complete_upload(&media.media_id, b"v");
        assert_eq!(
            store.poll_media(&media.media_id).unwrap().status,
            MediaStatus::Failed
        );
    }

    #[test]
    fn update_moves_and_validates() {
        let (mut store, board) = store_with_board();
        let section = store.create_section(&board, "Soups").unwrap();
        let pin = store
            .create_pin(
                &json!({"board_id": board, "board_section_id": section.id, "title": "a",
                    "media_source": {"source_type": "image_url", "url": "https://e.com/a.jpg"}}),
                NOW,
                None,
            )
            .unwrap();
        let updated = store
            .update_pin(&pin.id, &json!({"title": "b", "alt_text": null}))
            .unwrap();
        assert_eq!(updated.title.as_deref(), Some("b"));
        assert_eq!(
            updated.board_section_id.as_deref(),
            Some(section.id.as_str())
        );
        assert_eq!(
            store
                .update_pin(&pin.id, &json!({"board_section_id": "5"}))
                .unwrap_err()
                .code,
            2031
        );
        assert_eq!(
            store
                .update_pin("1", &json!({"title": "b"}))
                .unwrap_err()
                .code,
            50
        );
        store.delete_pin(&pin.id).unwrap();
        assert_eq!(store.delete_pin(&pin.id).unwrap_err().code, 50);
    }

    #[test]
    fn section_names_are_bounded() {
        let (mut store, board) = store_with_board();
        assert!(store.create_section(&board, "").is_err());
        assert!(store.create_section(&board, &"s".repeat(181)).is_err());
        assert!(store.create_section(&board, &"s".repeat(180)).is_ok());
        assert_eq!(store.create_section("42", "x").unwrap_err().code, 40);
    }
}
