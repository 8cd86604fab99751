//! Pins: creation and update as Pinterest validates them (text limits, links, media sources,
//! AI disclosures), deletion, and listings under the listing rules in force.

use std::time::Instant;

use serde_json::{Map, Value};

use super::fields::{
    check_link, check_text_limits, decode_image, image_url, optional_str, optional_string,
    required_str,
};
use super::pages::{Order, Page, paginate};
use super::{
    ApiFailure, CarouselItemRecord, ImageRecord, MediaStatus, PinMediaRecord, PinRecord, Store,
};

/// Carousels take 2..=5 images (OpenAPI `PinMediaSourceImages*.items`).
const CAROUSEL_ITEMS: std::ops::RangeInclusive<usize> = 2..=5;

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
    pub order: crate::faults::ListOrder,
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
            order: crate::faults::ListOrder::Newest,
            section_pins_in_board: true,
            repeat_bookmark: false,
        }
    }

    fn order(&self) -> Order {
        match self.order {
            crate::faults::ListOrder::Newest => Order::NewestFirst,
            crate::faults::ListOrder::Oldest => Order::OldestFirst,
            crate::faults::ListOrder::Mixed => Order::Mixed,
        }
    }
}

impl Store {
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
            owner: None,
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

    /// Hands a pin to another account (`username`): the account still sees it, as a public
    /// pin, but no longer owns it.
    pub fn give_pin_to(&mut self, id: &str, username: &str) -> Result<(), ApiFailure> {
        let pin = self.pin_mut(id)?;
        pin.owner = Some(username.to_owned());
        Ok(())
    }

    /// Moves every pin's creation time `days` days back, as if it had been made that long ago.
    pub fn backdate_pins(&mut self, days: i64) {
        for (_, pin) in &mut self.pins {
            let created = jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S", &pin.created_at)
                .ok()
                .and_then(|at| at.checked_sub(jiff::Span::new().days(days)).ok());
            if let Some(created) = created {
                pin.created_at = created.strftime("%Y-%m-%dT%H:%M:%S").to_string();
            }
        }
    }

    fn pin_mut(&mut self, id: &str) -> Result<&mut PinRecord, ApiFailure> {
        self.pins
            .iter_mut()
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
}
