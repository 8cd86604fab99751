//! Format-neutral records: what the YAML and CSV readers hand to the checks, every value with
//! the position it was written at. Nothing here is validated yet.

use super::model::{Location, PinDraft, Position};

/// A text value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    /// The value as written (YAML scalars keep their text: `NO` stays `NO`).
    pub value: String,
    /// Where the value starts.
    pub pos: Position,
}

impl Located {
    /// A value at a position.
    pub fn new(value: impl Into<String>, pos: Position) -> Self {
        Located {
            value: value.into(),
            pos,
        }
    }
}

/// One carousel slide as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlideEntry {
    /// Where the slide starts.
    pub pos: Position,
    /// Path or URL.
    pub src: Option<Located>,
    /// Per-slide title.
    pub title: Option<Located>,
    /// Per-slide description.
    pub description: Option<Located>,
    /// Per-slide link.
    pub link: Option<Located>,
}

/// The `images:` list as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlidesEntry {
    /// Where the list starts.
    pub pos: Position,
    /// The slides, in order.
    pub slides: Vec<SlideEntry>,
}

/// UTM values as written (`utm:` in YAML, `utm_source`, ... columns in CSV and workbooks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UtmEntry {
    /// `utm_source`.
    pub source: Option<Located>,
    /// `utm_medium`.
    pub medium: Option<Located>,
    /// `utm_campaign`.
    pub campaign: Option<Located>,
    /// `utm_term`.
    pub term: Option<Located>,
    /// `utm_content`.
    pub content: Option<Located>,
}

impl UtmEntry {
    /// The value of `source`, `medium`, `campaign`, `term` or `content`.
    pub fn field_mut(&mut self, name: &str) -> Option<&mut Option<Located>> {
        Some(match name {
            "source" => &mut self.source,
            "medium" => &mut self.medium,
            "campaign" => &mut self.campaign,
            "term" => &mut self.term,
            "content" => &mut self.content,
            _ => return None,
        })
    }

    /// The value of `name`, as written.
    pub fn get(&self, name: &str) -> Option<&Located> {
        match name {
            "source" => self.source.as_ref(),
            "medium" => self.medium.as_ref(),
            "campaign" => self.campaign.as_ref(),
            "term" => self.term.as_ref(),
            "content" => self.content.as_ref(),
            _ => None,
        }
    }
}

/// One pin entry (or `defaults:`), as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PinEntry {
    /// Where the entry starts.
    pub pos: Position,
    /// Explicit key.
    pub id: Option<Located>,
    /// Board name or id.
    pub board: Option<Located>,
    /// Section name.
    pub section: Option<Located>,
    /// Title.
    pub title: Option<Located>,
    /// Description.
    pub description: Option<Located>,
    /// Link.
    pub link: Option<Located>,
    /// Alt text.
    pub alt_text: Option<Located>,
    /// `#RRGGBB`.
    pub dominant_color: Option<Located>,
    /// RFC 3339 timestamp.
    pub publish_at: Option<Located>,
    /// AI disclosure labels separated by `|` (a YAML list is joined so); empty text declares none.
    pub ai_disclosures: Option<Located>,
    /// One image.
    pub image: Option<Located>,
    /// Carousel.
    pub images: Option<SlidesEntry>,
    /// Video file.
    pub video: Option<Located>,
    /// Video cover image.
    pub cover: Option<Located>,
    /// Video cover frame, in seconds (text as written).
    pub cover_frame: Option<Located>,
    /// Glob pattern.
    pub glob: Option<Located>,
    /// `defaults.timezone` only: the zone local publish times are read in.
    pub timezone: Option<Located>,
    /// The pin it already became (a report's `pin_id`).
    pub pin_id: Option<Located>,
    /// UTM values for the link.
    pub utm: UtmEntry,
    /// A field was written but could not be read (already reported): its absence is no news.
    pub malformed: bool,
}

impl PinEntry {
    /// An entry with no fields set.
    pub fn empty(pos: Position) -> Self {
        PinEntry {
            pos,
            id: None,
            board: None,
            section: None,
            title: None,
            description: None,
            link: None,
            alt_text: None,
            dominant_color: None,
            publish_at: None,
            ai_disclosures: None,
            image: None,
            images: None,
            video: None,
            cover: None,
            cover_frame: None,
            glob: None,
            timezone: None,
            pin_id: None,
            utm: UtmEntry::default(),
            malformed: false,
        }
    }

    /// What was written, for showing a pin that failed its checks (`preview`).
    pub fn draft(&self, file: &std::sync::Arc<str>) -> PinDraft {
        let text = |value: &Option<Located>| value.as_ref().map(|v| v.value.clone());
        let mut media: Vec<String> = Vec::new();
        media.extend(text(&self.image));
        if let Some(images) = &self.images {
            media.extend(images.slides.iter().filter_map(|s| text(&s.src)));
        }
        media.extend(text(&self.video));
        media.extend(text(&self.glob));
        PinDraft {
            location: Location {
                file: file.clone(),
                position: self.pos,
            },
            key: text(&self.id),
            board: text(&self.board),
            section: text(&self.section),
            title: text(&self.title),
            description: text(&self.description),
            link: text(&self.link),
            alt_text: text(&self.alt_text),
            publish_at: text(&self.publish_at),
            media,
        }
    }

    /// The text field named `name` (a key from `raw::PIN_FIELDS` other than `images`), for
    /// readers that fill entries by field name.
    pub fn text_field_mut(&mut self, name: &str) -> Option<&mut Option<Located>> {
        Some(match name {
            "id" => &mut self.id,
            "board" => &mut self.board,
            "section" => &mut self.section,
            "title" => &mut self.title,
            "description" => &mut self.description,
            "link" => &mut self.link,
            "alt_text" => &mut self.alt_text,
            "dominant_color" => &mut self.dominant_color,
            "publish_at" => &mut self.publish_at,
            "ai_disclosures" => &mut self.ai_disclosures,
            "image" => &mut self.image,
            "video" => &mut self.video,
            "cover" => &mut self.cover,
            "cover_frame" => &mut self.cover_frame,
            "glob" => &mut self.glob,
            "timezone" => &mut self.timezone,
            "pin_id" => &mut self.pin_id,
            utm => return self.utm.field_mut(utm.strip_prefix("utm_")?),
        })
    }
}

/// A board declaration as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BoardEntry {
    /// Where the declaration starts.
    pub pos: Position,
    /// Board name.
    pub name: Option<Located>,
    /// Description.
    pub description: Option<Located>,
    /// Privacy.
    pub privacy: Option<Located>,
    /// Section names.
    pub sections: Vec<Located>,
}

/// A whole manifest as written, before checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocumentEntry {
    /// `defaults:`.
    pub defaults: Option<PinEntry>,
    /// `boards:`.
    pub boards: Vec<BoardEntry>,
    /// `pins:`.
    pub pins: Vec<PinEntry>,
    /// `schedule:`.
    pub schedule: Option<ScheduleEntry>,
}

/// The `schedule:` block as written (see `schedule.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScheduleEntry {
    /// Where the block starts.
    pub pos: Position,
    /// `start`.
    pub start: Option<Located>,
    /// `per_day`.
    pub per_day: Option<Located>,
    /// `between`.
    pub between: Option<Located>,
    /// `days` (a YAML list is joined with commas).
    pub days: Option<Located>,
    /// `every`.
    pub every: Option<Located>,
    /// `jitter`.
    pub jitter: Option<Located>,
    /// `same_link`.
    pub same_link: Option<Located>,
}

impl ScheduleEntry {
    /// A block with no setting.
    pub fn empty(pos: Position) -> Self {
        ScheduleEntry {
            pos,
            start: None,
            per_day: None,
            between: None,
            days: None,
            every: None,
            jitter: None,
            same_link: None,
        }
    }

    /// The setting named `name` (a key of `raw::SCHEDULE_FIELDS`).
    pub fn field_mut(&mut self, name: &str) -> Option<&mut Option<Located>> {
        Some(match name {
            "start" => &mut self.start,
            "per_day" => &mut self.per_day,
            "between" => &mut self.between,
            "days" => &mut self.days,
            "every" => &mut self.every,
            "jitter" => &mut self.jitter,
            "same_link" => &mut self.same_link,
            _ => return None,
        })
    }
}
