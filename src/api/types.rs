//! Serde wire types of the Pinterest API v5 (request and response bodies), shaped after the
//! official OpenAPI description. Ids are strings of digits; optional fields are left out when unset.
//! Response types ignore unknown fields so that additions on Pinterest's side never break decoding.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The authenticated user (`GET /v5/user_account`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Account {
    /// The user id, when Pinterest returns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The username (profile handle).
    #[serde(default)]
    pub username: String,
    /// `PINNER` or `BUSINESS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    /// Business name, for business accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    /// Number of boards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_count: Option<u64>,
    /// Number of Pins (created and saved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_count: Option<u64>,
}

/// Board privacy as sent when creating a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BoardPrivacy {
    /// Visible to everyone.
    Public,
    /// Visible to the owner and collaborators only; not listed on the profile.
    Protected,
    /// Secret board.
    Secret,
}

/// The owner of a board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BoardOwner {
    /// The owner's username.
    #[serde(default)]
    pub username: String,
}

/// A board as returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Board {
    /// The board id.
    pub id: String,
    /// The board name.
    #[serde(default)]
    pub name: String,
    /// The description, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `PUBLIC`, `PROTECTED` or `SECRET` (kept as text so new values still decode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<String>,
    /// Number of Pins on the board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_count: Option<u64>,
    /// The owner (for group boards, not the current user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<BoardOwner>,
    /// Creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// Body of `POST /v5/boards`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardCreate {
    /// The board name (required).
    pub name: String,
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The privacy; Pinterest defaults to `PUBLIC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<BoardPrivacy>,
}

/// A board section; also the body of `POST /v5/boards/{id}/sections` (only `name` is sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BoardSection {
    /// The section id (read-only, absent in requests).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The section name (1-180 characters).
    pub name: String,
}

/// One page of a bookmark-paginated list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items on this page.
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    /// The bookmark of the next page; `None` (or empty) on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmark: Option<String>,
}

impl<T> Page<T> {
    /// The bookmark to request next, or `None` when this is the last page.
    pub fn next_bookmark(&self) -> Option<&str> {
        self.bookmark.as_deref().filter(|b| !b.is_empty())
    }
}

/// The bookmarks a paged walk has followed, so that a server handing back one it already gave
/// ends the walk with an error instead of a loop.
#[derive(Debug, Default)]
pub struct BookmarkTrail {
    seen: std::collections::HashSet<String>,
    current: Option<String>,
    pages: usize,
}

/// A listing handed back a bookmark it had already given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the listing handed back a bookmark it had already given, after {pages} page(s); stopped reading it"
)]
pub struct RepeatedBookmark {
    /// Pages read before the repeat.
    pub pages: usize,
}

impl BookmarkTrail {
    /// The bookmark of the page to read next (`None` for the first page).
    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// Moves on to the page `next` names, unless it was given before.
    pub fn follow(&mut self, next: String) -> Result<(), RepeatedBookmark> {
        self.pages += 1;
        if !self.seen.insert(next.clone()) {
            return Err(RepeatedBookmark { pages: self.pages });
        }
        self.current = Some(next);
        Ok(())
    }
}

/// Body of `POST /v5/pins`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinCreate {
    /// The board to create the Pin on.
    pub board_id: String,
    /// The board section, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_section_id: Option<String>,
    /// Title (at most 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description (at most 800 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Destination link (at most 2048 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Alternative text (at most 500 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
    /// Dominant colour as `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dominant_color: Option<String>,
    /// AI disclosure labels (API 5.28); left out when the pin declares none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_disclosures: Option<AiDisclosures>,
    /// Where the media comes from.
    pub media_source: MediaSource,
}

/// `ai_disclosures` of a Pin (API 5.28): the labels the creator declared, `AI_MODIFIED` and
/// `SYNTHETIC_PERFORMER`. Kept as text so that labels added later still decode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AiDisclosures {
    /// The labels.
    #[serde(default)]
    pub values: Vec<String>,
}

/// The `media_source` of a Pin, discriminated by `source_type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source_type", rename_all = "snake_case")]
pub enum MediaSource {
    /// An image Pinterest fetches from a public URL.
    ImageUrl {
        /// The image URL.
        url: String,
    },
    /// An image sent inline as base64.
    ImageBase64 {
        /// `image/jpeg` or `image/png`.
        content_type: String,
        /// Plain base64 (no `data:` prefix, no newlines).
        data: String,
    },
    /// A carousel of 2-5 images fetched from URLs.
    MultipleImageUrls {
        /// The slides.
        items: Vec<ImageUrlItem>,
    },
    /// A carousel of 2-5 inline base64 images.
    MultipleImageBase64 {
        /// The slides.
        items: Vec<ImageBase64Item>,
    },
    /// A video uploaded through `POST /v5/media`, with a cover.
    VideoId {
        /// The media id from the registration.
        media_id: String,
        /// Cover image URL.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cover_image_url: Option<String>,
        /// Cover image type (`image/jpeg` or `image/png`), with `cover_image_data`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cover_image_content_type: Option<String>,
        /// Cover image as base64, with `cover_image_content_type`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cover_image_data: Option<String>,
        /// Use the frame at this many seconds as the cover.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cover_image_key_frame_time: Option<u64>,
    },
}

/// One carousel slide given by URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageUrlItem {
    /// The image URL.
    pub url: String,
    /// Slide title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Slide description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Slide link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// One carousel slide sent inline as base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageBase64Item {
    /// `image/jpeg` or `image/png`.
    pub content_type: String,
    /// Plain base64.
    pub data: String,
    /// Slide title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Slide description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Slide link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The media of a Pin as returned: its kind, and the addresses of Pinterest's copies of the
/// images (never the source: Pinterest serves its own copies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PinMedia {
    /// `image`, `video`, `multiple_images`, `multiple_videos` or `multiple_mixed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Image sizes by name (`150x150`, `400x300`, `600x`, `1200x`), for image and video pins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<BTreeMap<String, ImageDetails>>,
    /// The slides of a carousel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<PinMediaItem>>,
}

/// One served size of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ImageDetails {
    /// Where Pinterest serves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One slide of a carousel as returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PinMediaItem {
    /// Image sizes by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<BTreeMap<String, ImageDetails>>,
}

/// The address of the largest served size among `images`.
pub fn largest_image(images: &BTreeMap<String, ImageDetails>) -> Option<&str> {
    ["1200x", "originals", "600x", "400x300", "150x150"]
        .iter()
        .filter_map(|size| images.get(*size))
        .chain(images.values())
        .find_map(|details| details.url.as_deref())
}

/// A Pin as returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Pin {
    /// The Pin id.
    pub id: String,
    /// Creation time (UTC, whole seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_id: Option<String>,
    /// The board section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_section_id: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Destination link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Alternative text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
    /// Dominant colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dominant_color: Option<String>,
    /// The media kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<PinMedia>,
    /// AI disclosure labels (API 5.28), when Pinterest returns them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_disclosures: Option<AiDisclosures>,
    /// Whether the token's account owns the pin (a public pin of someone else reads too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_owner: Option<bool>,
    /// The owner of the pin's board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_owner: Option<BoardOwner>,
}

impl Pin {
    /// When the pin was created, in milliseconds since the epoch, when its `created_at` reads.
    pub fn created_ms(&self) -> Option<i64> {
        self.created_at.as_deref().and_then(parse_created_at)
    }
}

/// Parses Pinterest's `created_at` (`2026-11-29T17:00:00`, UTC, sometimes with an offset) into
/// milliseconds since the epoch.
pub fn parse_created_at(text: &str) -> Option<i64> {
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Some(timestamp.as_millisecond());
    }
    let civil: jiff::civil::DateTime = text.parse().ok()?;
    jiff::tz::TimeZone::UTC
        .to_timestamp(civil)
        .ok()
        .map(|timestamp| timestamp.as_millisecond())
}

/// Body of `PATCH /v5/pins/{id}`: only the fields set are changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PinUpdate {
    /// New title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// New description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// New link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// New alternative text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
    /// Move to this board.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_id: Option<String>,
    /// Move to this section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_section_id: Option<String>,
    /// Replace the AI disclosure labels (API 5.28); an empty list clears them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai_disclosures: Option<AiDisclosures>,
}

/// Response of `POST /v5/media`: where and how to upload the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MediaUpload {
    /// The media id to reference in the Pin.
    pub media_id: String,
    /// Always `video`.
    #[serde(default)]
    pub media_type: String,
    /// The presigned upload URL.
    #[serde(default)]
    pub upload_url: String,
    /// Form fields to send before the file.
    #[serde(default)]
    pub upload_parameters: BTreeMap<String, String>,
}

/// Response of `GET /v5/media/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MediaStatus {
    /// The media id.
    pub media_id: String,
    /// Always `video`.
    #[serde(default)]
    pub media_type: String,
    /// `registered`, `processing`, `succeeded` or `failed`.
    #[serde(default)]
    pub status: String,
}

/// Response of `POST /v5/oauth/token`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TokenResponse {
    /// The new access token.
    pub access_token: String,
    /// The refresh token (rotated on every refresh: store it each time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Access token lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Refresh token lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_in: Option<u64>,
    /// Refresh token expiry as Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_expires_at: Option<u64>,
    /// Granted scopes, comma separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Normally `bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// `authorization_code`, `refresh_token`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_type: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    // Tokens must never reach logs, so Debug prints everything but them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"(redacted)")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "(redacted)"),
            )
            .field("expires_in", &self.expires_in)
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .field("refresh_token_expires_at", &self.refresh_token_expires_at)
            .field("scope", &self.scope)
            .field("token_type", &self.token_type)
            .field("response_type", &self.response_type)
            .finish()
    }
}

/// The error body Pinterest sends with 4xx/5xx (`{code, message}`, sometimes `message_detail`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct ErrorBody {
    /// Pinterest's error code (sometimes equal to the HTTP status).
    #[serde(default)]
    pub code: Option<i64>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
    /// Extra detail, seen on 429 spam blocks.
    #[serde(default)]
    pub message_detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn image_url_pin_matches_the_spec_shape() {
        let pin = PinCreate {
            board_id: "123".into(),
            board_section_id: None,
            title: Some("Sleeping cat".into()),
            description: None,
            link: Some("https://example.com/cats".into()),
            alt_text: None,
            dominant_color: Some("#aabbcc".into()),
            ai_disclosures: None,
            media_source: MediaSource::ImageUrl {
                url: "https://example.com/cat.jpg".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&pin).unwrap(),
            json!({
                "board_id": "123",
                "title": "Sleeping cat",
                "link": "https://example.com/cats",
                "dominant_color": "#aabbcc",
                "media_source": {"source_type": "image_url", "url": "https://example.com/cat.jpg"}
            })
        );
    }

    #[test]
    fn media_sources_use_the_spec_discriminator_values() {
        let base64 = MediaSource::ImageBase64 {
            content_type: "image/png".into(),
            data: "iVBORw0=".into(),
        };
        assert_eq!(
            serde_json::to_value(&base64).unwrap(),
            json!({"source_type": "image_base64", "content_type": "image/png", "data": "iVBORw0="})
        );
        let carousel = MediaSource::MultipleImageUrls {
            items: vec![
                ImageUrlItem {
                    url: "https://e.com/a.jpg".into(),
                    title: Some("A".into()),
                    description: None,
                    link: None,
                },
                ImageUrlItem {
                    url: "https://e.com/b.jpg".into(),
                    title: None,
                    description: None,
                    link: Some("https://e.com/b".into()),
                },
            ],
        };
        assert_eq!(
            serde_json::to_value(&carousel).unwrap(),
            json!({"source_type": "multiple_image_urls", "items": [
                {"url": "https://e.com/a.jpg", "title": "A"},
                {"url": "https://e.com/b.jpg", "link": "https://e.com/b"}
            ]})
        );
        let carousel64 = MediaSource::MultipleImageBase64 {
            items: vec![ImageBase64Item {
                content_type: "image/jpeg".into(),
                data: "AAAA".into(),
                title: None,
                description: Some("d".into()),
                link: None,
            }],
        };
        assert_eq!(
            serde_json::to_value(&carousel64).unwrap(),
            json!({"source_type": "multiple_image_base64", "items": [
                {"content_type": "image/jpeg", "data": "AAAA", "description": "d"}
            ]})
        );
        let video = MediaSource::VideoId {
            media_id: "555".into(),
            cover_image_url: None,
            cover_image_content_type: None,
            cover_image_data: None,
            cover_image_key_frame_time: Some(3),
        };
        assert_eq!(
            serde_json::to_value(&video).unwrap(),
            json!({"source_type": "video_id", "media_id": "555", "cover_image_key_frame_time": 3})
        );
    }

    #[test]
    fn board_create_and_section_bodies() {
        let board = BoardCreate {
            name: "Nature".into(),
            description: None,
            privacy: Some(BoardPrivacy::Secret),
        };
        assert_eq!(
            serde_json::to_value(&board).unwrap(),
            json!({"name": "Nature", "privacy": "SECRET"})
        );
        let section = BoardSection {
            id: String::new(),
            name: "Cats".into(),
        };
        assert_eq!(
            serde_json::to_value(&section).unwrap(),
            json!({"name": "Cats"})
        );
        let update = PinUpdate {
            title: Some("t".into()),
            ..PinUpdate::default()
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"title": "t"})
        );
    }

    #[test]
    fn responses_tolerate_unknown_fields_and_nulls() {
        let pin: Pin = serde_json::from_value(json!({
            "id": "1", "created_at": "2026-01-01T00:00:00", "board_id": "2",
            "board_section_id": null, "title": null, "is_owner": true,
            "media": {"media_type": "image", "images": {"600x": {"url": "u", "width": 1, "height": 2}}},
            "board_owner": {"username": "me"}
        }))
        .unwrap();
        assert_eq!(pin.id, "1");
        assert_eq!(pin.media.unwrap().media_type.as_deref(), Some("image"));
        let page: Page<Board> = serde_json::from_value(json!({
            "items": [{"id": "9", "name": "B", "privacy": "PUBLIC", "pin_count": 3,
                        "media": {"image_cover_url": null}}],
            "bookmark": null
        }))
        .unwrap();
        assert_eq!(page.items[0].pin_count, Some(3));
        assert_eq!(page.next_bookmark(), None);
        let token: TokenResponse = serde_json::from_value(json!({
            "access_token": "pina_x", "refresh_token": "pinr_y", "response_type": "refresh_token",
            "expires_in": 2592000, "refresh_token_expires_in": 5184000,
            "refresh_token_expires_at": 1790000000, "scope": "boards:read,pins:read",
            "token_type": "bearer"
        }))
        .unwrap();
        assert!(!format!("{token:?}").contains("pina_x"));
        assert!(!format!("{token:?}").contains("pinr_y"));
    }
}
