//! Semantic checks: entries as written into validated `PinSpec`s and `BoardDecl`s.
//!
//! Every check runs and reports; nothing stops at the first problem. A pin becomes a `PinSpec`
//! only when all its checks passed. Limits are counted in characters, not bytes.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::datetime::{PublishZone, parse_publish_at};
use super::diagnostic::Diagnostic;
use super::entry::{BoardEntry, Located, PinEntry, SlidesEntry, UtmEntry};
use super::files::{self, MediaFileError};
use super::glob;
use super::keys::derive_key;
use super::links::{self, LinkUse};
use super::media::{self, Finding, MediaRules};
use super::model::{
    AiDisclosure, BoardDecl, BoardRef, CarouselItem, ImageSource, KnownPin, Location, Media,
    PinDraft, PinSpec, Position, Privacy, VideoCover, VideoSpec,
};
use super::raw::{MAX_ALT_TEXT, MAX_DESCRIPTION, MAX_LINK, MAX_SECTION, MAX_TITLE};
use super::suggest::unknown_name_hint;
use super::utm::{self, UTM_KEYS};

/// Smallest and largest carousel.
const CAROUSEL_SLIDES: std::ops::RangeInclusive<usize> = 2..=5;

/// Where diagnostics go while one pin or board is checked; remembers whether any was an error.
struct Report<'a> {
    file: &'a Arc<str>,
    diagnostics: &'a mut Vec<Diagnostic>,
    ok: bool,
}

impl Report<'_> {
    fn location(&self, pos: Position) -> Location {
        Location {
            file: self.file.clone(),
            position: pos,
        }
    }

    fn error(
        &mut self,
        pos: Position,
        field: &str,
        message: impl Into<String>,
        hint: Option<&str>,
    ) {
        let mut diagnostic = Diagnostic::error(self.location(pos), message).with_field(field);
        diagnostic.hint = hint.map(str::to_owned);
        self.diagnostics.push(diagnostic);
        self.ok = false;
    }

    /// Warns when a media path resolves outside the manifest's folder.
    fn outside(
        &mut self,
        pos: Position,
        field: &str,
        reference: &str,
        base_dir: &Path,
        path: &Path,
    ) {
        if let Some(resolved) = super::outside::outside_of(base_dir, path) {
            let mut diagnostic = Diagnostic::warning(
                self.location(pos),
                format!(
                    "{reference} resolves to {}, outside the manifest's folder {}",
                    resolved.display(),
                    base_dir.display()
                ),
            )
            .with_field(field);
            diagnostic.hint = Some("keep media inside the manifest's folder; under CI=true, apply refuses such paths unless --allow-outside is given".to_owned());
            self.diagnostics.push(diagnostic);
        }
    }

    /// Reports what the media checks found, at `pos`.
    fn findings(&mut self, pos: Position, field: &str, findings: Vec<Finding>) {
        for finding in findings {
            let mut diagnostic =
                Diagnostic::error(self.location(pos), finding.message).with_field(field);
            diagnostic.severity = finding.severity;
            diagnostic.hint = finding.hint;
            if diagnostic.is_error() {
                self.ok = false;
            }
            self.diagnostics.push(diagnostic);
        }
    }

    /// Whether a text has at most `max` characters; reports it when not.
    fn fits(&mut self, value: &Located, field: &str, max: usize) -> bool {
        // Byte length bounds character count, so most values skip the count.
        if value.value.len() > max {
            let chars = value.value.chars().count();
            if chars > max {
                self.error(
                    value.pos,
                    field,
                    format!("is {chars} characters, at most {max} allowed"),
                    Some("shorten it"),
                );
                return false;
            }
        }
        true
    }

    /// Text of at most `max` characters.
    fn text(&mut self, value: Option<&Located>, field: &str, max: usize) -> Option<String> {
        let value = value?;
        self.fits(value, field, max).then(|| value.value.clone())
    }

    /// Text of at most `max` characters, taken without copying (the hot path of large files).
    fn take_text(&mut self, value: Located, field: &str, max: usize) -> Option<String> {
        self.fits(&value, field, max).then_some(value.value)
    }

    /// A name of 1 to `max` characters (board, section).
    fn name(&mut self, value: Option<&Located>, field: &str, max: usize) -> Option<String> {
        let located = value?;
        let text = self.text(Some(located), field, max)?;
        if text.trim().is_empty() {
            self.error(
                located.pos,
                field,
                "is empty",
                Some("write a name or remove the field"),
            );
            return None;
        }
        Some(text)
    }

    /// An absolute http(s) URL of at most 2048 characters.
    fn link(&mut self, value: Option<&Located>, field: &str) -> Option<String> {
        let located = value?;
        let text = self.text(Some(located), field, MAX_LINK)?;
        match check_url(&text) {
            Ok(()) => {
                self.findings(located.pos, field, links::judge(&text));
                Some(text)
            }
            Err(message) => {
                self.error(
                    located.pos,
                    field,
                    message,
                    Some("write an absolute URL such as https://example.com/page"),
                );
                None
            }
        }
    }

    fn color(&mut self, value: Option<&Located>, field: &str) -> Option<String> {
        let located = value?;
        let text = &located.value;
        let valid = text.len() == 7
            && text.starts_with('#')
            && text[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if valid {
            Some(text.clone())
        } else {
            self.error(
                located.pos,
                field,
                format!("`{text}` is not a colour of the form #RRGGBB"),
                Some("write six hex digits after `#`, e.g. \"#aabbcc\" (quoted in YAML)"),
            );
            None
        }
    }

    /// AI disclosure labels written `A|B` (a YAML list arrives joined so): each must be one of
    /// the API's values; repeats are dropped; empty text declares none.
    fn disclosures(&mut self, value: Option<&Located>, field: &str) -> Option<Vec<AiDisclosure>> {
        let located = value?;
        let mut labels = Vec::new();
        let mut valid = true;
        for part in located
            .value
            .split('|')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match AiDisclosure::parse(part) {
                Some(label) if labels.contains(&label) => {}
                Some(label) => labels.push(label),
                None => {
                    let known: Vec<&str> = AiDisclosure::ALL.iter().map(|d| d.as_str()).collect();
                    let hint =
                        match AiDisclosure::parse(&part.to_ascii_uppercase().replace('-', "_")) {
                            Some(close) => {
                                format!("write `{close}` (upper case, with underscores)")
                            }
                            None => format!("use {}", known.join(" or ")),
                        };
                    self.error(
                        located.pos,
                        field,
                        format!("`{part}` is not an AI disclosure label"),
                        Some(&hint),
                    );
                    valid = false;
                }
            }
        }
        valid.then_some(labels)
    }

    /// A publish time: RFC 3339 with an offset, or a local date and time in `zone`.
    fn timestamp(
        &mut self,
        value: Option<&Located>,
        field: &str,
        zone: &PublishZone,
    ) -> Option<jiff::Timestamp> {
        let located = value?;
        match parse_publish_at(&located.value, zone) {
            Ok(timestamp) => Some(timestamp),
            Err(problem) => {
                self.error(located.pos, field, problem.message, Some(&problem.hint));
                None
            }
        }
    }

    /// A pin id (a report's `pin_id`): digits only.
    fn pin_id(&mut self, value: Option<&Located>) -> Option<KnownPin> {
        let located = value?;
        let id = located.value.trim();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            self.error(
                located.pos,
                "pin_id",
                format!("`{id}` is not a pin id (digits only)"),
                Some("keep the pin id a report wrote, or clear the cell to create the pin"),
            );
            return None;
        }
        Some(KnownPin {
            id: id.to_owned(),
            location: self.location(located.pos),
        })
    }

    fn board(&mut self, value: Option<&Located>, field: &str) -> Option<BoardRef> {
        let name = self.name(value, field, usize::MAX)?;
        Some(BoardRef::parse(name.trim()))
    }

    fn media_file_error(&mut self, pos: Position, field: &str, err: &MediaFileError) {
        let hint = match err {
            MediaFileError::NotFound(_) => Some("paths are relative to the manifest's folder"),
            MediaFileError::NotAnImage(_) => Some(
                "use a JPEG or PNG (WebP, GIF, BMP and TIFF are converted when uploaded), or an image URL",
            ),
            MediaFileError::DamagedImage { .. } => {
                Some("open it in an image editor and save it again as JPEG or PNG")
            }
            MediaFileError::TooLarge { .. } => Some("make the file smaller"),
            MediaFileError::NotAVideo(_) => Some("use an .mp4, .mov or .m4v video"),
            MediaFileError::NotAFile(_) | MediaFileError::Unreadable { .. } => None,
        };
        self.error(pos, field, err.to_string(), hint);
    }

    /// An image: an http(s) URL, or a local image relative to `base_dir` that can be sent
    /// (JPEG or PNG, or converted to one under `rules`).
    fn image(
        &mut self,
        located: &Located,
        field: &str,
        base_dir: &Path,
        rules: MediaRules,
    ) -> Option<ImageSource> {
        let reference = located.value.trim();
        if reference.is_empty() {
            self.error(
                located.pos,
                field,
                "is empty",
                Some("write a path or an http(s) URL"),
            );
            return None;
        }
        if looks_like_url(reference) {
            return match check_url(reference) {
                Ok(()) => Some(ImageSource::Url(reference.to_owned())),
                Err(message) => {
                    self.error(located.pos, field, message, None);
                    None
                }
            };
        }
        let path = base_dir.join(reference);
        self.outside(located.pos, field, reference, base_dir, &path);
        match files::probe_image(&path) {
            Ok(probe) => {
                let (image, findings) = media::judge_image(reference, path, &probe, rules);
                self.findings(located.pos, field, findings);
                image.map(ImageSource::File)
            }
            Err(err) => {
                self.media_file_error(located.pos, field, &err);
                None
            }
        }
    }
}

/// Whether a media reference is meant as a URL rather than a local path.
fn looks_like_url(reference: &str) -> bool {
    reference.contains("://")
}

/// Ok for an absolute http or https URL with a host; else why not.
fn check_url(text: &str) -> Result<(), String> {
    match url::Url::parse(text) {
        Ok(url) if !matches!(url.scheme(), "http" | "https") => Err(format!(
            "`{text}` is a {} URL, only http and https are allowed",
            url.scheme()
        )),
        Ok(url) if url.host_str().is_none_or(str::is_empty) => {
            Err(format!("`{text}` has no host name"))
        }
        Ok(_) => Ok(()),
        Err(err) => Err(format!("`{text}` is not an absolute http(s) URL ({err})")),
    }
}

/// Default values, checked once and merged into every pin that does not set the field.
#[derive(Debug, Default)]
struct Defaults {
    board: Option<BoardRef>,
    section: Option<String>,
    title: Option<String>,
    description: Option<String>,
    link: Option<String>,
    alt_text: Option<String>,
    dominant_color: Option<String>,
    publish_at: Option<jiff::Timestamp>,
    ai_disclosures: Option<Vec<AiDisclosure>>,
    /// `defaults.utm` as written: checked per pin, where its placeholders are filled.
    utm: UtmEntry,
}

/// Turns entries into validated pins, one at a time, keeping what spans pins: keys and links.
pub(crate) struct Checker {
    file: Arc<str>,
    base_dir: PathBuf,
    defaults: Defaults,
    keys: HashMap<String, Position>,
    /// Each link written on a pin, and where (repeats are reported once every pin is in).
    links: HashMap<String, Vec<LinkUse>>,
    /// `--utm NAME=VALUE`, between a pin's own `utm` and `defaults.utm`.
    utm_flag: Vec<(String, String)>,
    /// Pin ids written so far (a report's `pin_id`), each of which belongs to one pin.
    pin_ids: HashMap<String, Position>,
    /// How many entries were checked: the `{row}` of a YAML pin.
    checked: u32,
    pins: Vec<PinSpec>,
    zone: PublishZone,
    /// Pins that failed their checks, as written; kept only when asked for (`preview`).
    rejected: Option<Vec<PinDraft>>,
    /// How local images may be prepared (`--no-convert`, `--fit`).
    rules: MediaRules,
}

impl Checker {
    /// A checker for pins of `file`, whose relative paths start at `base_dir`.
    pub fn new(file: Arc<str>, base_dir: PathBuf) -> Self {
        Checker {
            file,
            base_dir,
            defaults: Defaults::default(),
            keys: HashMap::new(),
            links: HashMap::new(),
            pin_ids: HashMap::new(),
            utm_flag: Vec::new(),
            checked: 0,
            pins: Vec::new(),
            zone: PublishZone::system(),
            rejected: None,
            rules: MediaRules::default(),
        }
    }

    /// Tags links with `--utm` values (over `defaults.utm`, under a pin's own `utm`).
    pub fn set_utm_flag(&mut self, values: Vec<(String, String)>) {
        self.utm_flag = values;
    }

    /// Every link written on a pin (not from `defaults:` or a glob), with where and when.
    pub fn link_uses(&self) -> &HashMap<String, Vec<LinkUse>> {
        &self.links
    }

    /// Prepares local images under `rules` from now on.
    pub fn set_media_rules(&mut self, rules: MediaRules) {
        self.rules = rules;
    }

    /// Reads local publish times in `zone` from now on.
    pub fn set_zone(&mut self, zone: PublishZone) {
        self.zone = zone;
    }

    /// The zone local publish times are read in.
    pub fn zone(&self) -> &PublishZone {
        &self.zone
    }

    /// Keeps what was written for every pin that fails its checks.
    pub fn keep_rejected(&mut self) {
        self.rejected.get_or_insert_with(Vec::new);
    }

    /// Whether rejected pins are kept.
    pub fn keeps_rejected(&self) -> bool {
        self.rejected.is_some()
    }

    /// The pins that failed their checks, as written (empty unless kept).
    pub fn take_rejected(&mut self) -> Vec<PinDraft> {
        self.rejected
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Checks `defaults:` once; valid values are merged into later pins.
    pub fn set_defaults(&mut self, entry: &PinEntry, diagnostics: &mut Vec<Diagnostic>) {
        let mut report = Report {
            file: &self.file,
            diagnostics,
            ok: true,
        };
        self.defaults = Defaults {
            board: report.board(entry.board.as_ref(), "defaults.board"),
            section: report.name(entry.section.as_ref(), "defaults.section", MAX_SECTION),
            title: report.text(entry.title.as_ref(), "defaults.title", MAX_TITLE),
            description: report.text(
                entry.description.as_ref(),
                "defaults.description",
                MAX_DESCRIPTION,
            ),
            link: report.link(entry.link.as_ref(), "defaults.link"),
            alt_text: report.text(entry.alt_text.as_ref(), "defaults.alt_text", MAX_ALT_TEXT),
            dominant_color: report.color(entry.dominant_color.as_ref(), "defaults.dominant_color"),
            publish_at: report.timestamp(
                entry.publish_at.as_ref(),
                "defaults.publish_at",
                &self.zone,
            ),
            ai_disclosures: report
                .disclosures(entry.ai_disclosures.as_ref(), "defaults.ai_disclosures"),
            utm: entry.utm.clone(),
        };
    }

    /// Checks one entry (expanding `glob:`), keeping the valid pins.
    pub fn add(&mut self, entry: PinEntry, diagnostics: &mut Vec<Diagnostic>) {
        let Some(pattern) = entry.glob.clone() else {
            self.add_one(entry, false, diagnostics);
            return;
        };
        let mut report = Report {
            file: &self.file,
            diagnostics,
            ok: true,
        };
        let others: Vec<&str> = [
            entry.image.as_ref().map(|_| "image"),
            entry.images.as_ref().map(|_| "images"),
            entry.video.as_ref().map(|_| "video"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !others.is_empty() {
            report.error(
                entry.pos,
                "glob",
                format!(
                    "a pin takes exactly one media, found glob and {}",
                    others.join(", ")
                ),
                Some("split it into separate entries"),
            );
            return;
        }
        if let Some(pin_id) = &entry.pin_id {
            report.error(
                pin_id.pos,
                "pin_id",
                "names one pin, but `glob:` makes one pin per file",
                Some("remove `pin_id:`, or write the pin as its own entry with `image:`"),
            );
            return;
        }
        let matches = match glob::expand(pattern.value.trim(), &self.base_dir) {
            Ok(matches) => matches,
            Err(message) => {
                report.error(pattern.pos, "glob", message, None);
                return;
            }
        };
        if matches.is_empty() {
            let hint = format!(
                "patterns are relative to the manifest's folder, {}",
                self.base_dir.display()
            );
            report.error(
                pattern.pos,
                "glob",
                format!("`{}` matched no files", pattern.value),
                Some(&hint),
            );
            return;
        }
        for found in matches {
            let mut pin = entry.clone();
            pin.glob = None;
            pin.image = Some(Located::new(found.reference.clone(), pattern.pos));
            for located in [
                &mut pin.id,
                &mut pin.title,
                &mut pin.description,
                &mut pin.link,
                &mut pin.alt_text,
            ]
            .into_iter()
            .flatten()
            {
                located.value = found.fill(&located.value);
            }
            self.add_one(pin, true, diagnostics);
        }
    }

    fn add_one(&mut self, mut entry: PinEntry, from_glob: bool, diagnostics: &mut Vec<Diagnostic>) {
        self.checked += 1;
        let draft = self.rejected.is_some().then(|| entry.draft(&self.file));
        let mut report = Report {
            file: &self.file,
            diagnostics,
            ok: true,
        };
        let defaults = &self.defaults;
        let board = match &entry.board {
            Some(_) => report.board(entry.board.as_ref(), "board"),
            None if defaults.board.is_some() => defaults.board.clone(),
            None if entry.malformed => {
                report.ok = false;
                None
            }
            None => {
                report.error(
                    entry.pos,
                    "board",
                    "the pin has no board",
                    Some("set `board:` on the pin or `board:` under `defaults:`"),
                );
                None
            }
        };
        let section = match &entry.section {
            Some(_) => report.name(entry.section.as_ref(), "section", MAX_SECTION),
            None => defaults.section.clone(),
        };
        let title = match entry.title.take() {
            Some(value) => report.take_text(value, "title", MAX_TITLE),
            None => defaults.title.clone(),
        };
        let description = match entry.description.take() {
            Some(value) => report.take_text(value, "description", MAX_DESCRIPTION),
            None => defaults.description.clone(),
        };
        let link = match &entry.link {
            Some(_) => report.link(entry.link.as_ref(), "link"),
            None => defaults.link.clone(),
        };
        let alt_text = match entry.alt_text.take() {
            Some(value) => report.take_text(value, "alt_text", MAX_ALT_TEXT),
            None => defaults.alt_text.clone(),
        };
        let dominant_color = match &entry.dominant_color {
            Some(_) => report.color(entry.dominant_color.as_ref(), "dominant_color"),
            None => defaults.dominant_color.clone(),
        };
        let publish_at = match &entry.publish_at {
            Some(_) => report.timestamp(entry.publish_at.as_ref(), "publish_at", &self.zone),
            None => defaults.publish_at,
        };
        let ai_disclosures = match &entry.ai_disclosures {
            Some(_) => report.disclosures(entry.ai_disclosures.as_ref(), "ai_disclosures"),
            None => defaults.ai_disclosures.clone(),
        }
        .unwrap_or_default();
        let mut media = media(&mut report, &entry, &self.base_dir, self.rules);
        let pin_id = report.pin_id(entry.pin_id.as_ref());
        if let Some(known) = &pin_id {
            claim_pin_id(&mut self.pin_ids, &mut report, known, entry.pos);
        }

        let key = claim_key(
            &mut self.keys,
            &mut report,
            &entry,
            board.as_ref(),
            media.as_ref(),
        );
        if !from_glob && let Some(own) = &entry.link {
            self.links
                .entry(own.value.clone())
                .or_default()
                .push(LinkUse {
                    location: report.location(own.pos),
                    due: publish_at,
                });
        }
        let mut link = link;
        if let (Some(key), Some(board)) = (&key, &board) {
            let row = match entry.pos {
                Position::Row { row, .. } | Position::Cell { row, .. } => row,
                _ => self.checked,
            };
            let facts = utm::PinFacts {
                key,
                board: &board.to_string(),
                section: section.as_deref().unwrap_or(""),
                row,
            };
            let tags = utm_tags(
                &mut report,
                &entry,
                &self.defaults.utm,
                &self.utm_flag,
                facts,
            );
            if !tags.is_empty() {
                link = tag_link(
                    &mut report,
                    link,
                    &tags,
                    entry.link.as_ref().map_or(entry.pos, |l| l.pos),
                );
                if let Some(Media::Carousel(items)) = &mut media {
                    for item in items {
                        item.link = tag_link(&mut report, item.link.take(), &tags, entry.pos);
                    }
                }
            }
        }
        if !report.ok || entry.malformed {
            if let (Some(draft), Some(rejected)) = (draft, &mut self.rejected) {
                rejected.push(draft);
            }
            return;
        }
        if let (Some(key), Some(board), Some(media)) = (key, board, media) {
            self.pins.push(PinSpec {
                key,
                location: report.location(entry.pos),
                board,
                section,
                title,
                description,
                link,
                alt_text,
                dominant_color,
                publish_at,
                ai_disclosures,
                media,
                pin_id,
            });
        }
    }

    /// The valid pins, in manifest order.
    pub fn finish(self) -> Vec<PinSpec> {
        self.pins
    }
}

/// The pin's key (its `id`, else derived from board + media), recorded so that a second
/// pin with the same key is an error naming the first.
fn claim_key(
    keys: &mut HashMap<String, Position>,
    report: &mut Report<'_>,
    entry: &PinEntry,
    board: Option<&BoardRef>,
    media: Option<&Media>,
) -> Option<String> {
    let explicit_id = entry.id.as_ref().and_then(|id| {
        let trimmed = id.value.trim();
        if trimmed.is_empty() {
            report.error(
                id.pos,
                "id",
                "is empty",
                Some("write a key or remove `id:`"),
            );
            None
        } else {
            Some((trimmed.to_owned(), id.pos))
        }
    });
    let key = match (&explicit_id, board, media) {
        (Some((id, _)), _, _) => Some(id.clone()),
        (None, Some(board), Some(media)) => Some(derive_key(board, media)),
        _ => None,
    };
    if let Some(key) = &key {
        match keys.entry(key.clone()) {
            Entry::Occupied(first) => {
                let first = report.location(*first.get());
                let (field, hint) = if explicit_id.is_some() {
                    ("id", "give each pin a different `id:`")
                } else {
                    (
                        "id",
                        "these pins get the same key from board + media; give each an explicit, unique `id:`",
                    )
                };
                report.error(
                    entry.pos,
                    field,
                    format!("duplicate key `{key}`: the pin at {first} has the same key"),
                    Some(hint),
                );
            }
            Entry::Vacant(slot) => {
                slot.insert(entry.pos);
            }
        }
    }
    key
}

/// Records a pin id, so that a second pin naming the same one is an error naming the first: a
/// pin belongs to one manifest pin.
fn claim_pin_id(
    pin_ids: &mut HashMap<String, Position>,
    report: &mut Report<'_>,
    known: &KnownPin,
    entry_pos: Position,
) {
    match pin_ids.entry(known.id.clone()) {
        Entry::Occupied(first) => {
            let first = report.location(*first.get());
            report.error(
                known.location.position,
                "pin_id",
                format!("pin {} is also named by the pin at {first}", known.id),
                Some("a pin belongs to one manifest pin: clear one of the cells"),
            );
        }
        Entry::Vacant(slot) => {
            slot.insert(entry_pos);
        }
    }
}

/// A pin's UTM values, placeholders filled: its own `utm`, else `--utm`, else `defaults.utm`.
/// An unknown placeholder is an error at the value that uses it.
fn utm_tags(
    report: &mut Report<'_>,
    entry: &PinEntry,
    defaults: &UtmEntry,
    flag: &[(String, String)],
    facts: utm::PinFacts<'_>,
) -> Vec<(&'static str, String)> {
    let mut tags = Vec::new();
    for name in UTM_KEYS {
        let field = format!("utm.{name}");
        let (value, pos) = match (entry.utm.get(name), flag.iter().find(|(n, _)| n == name)) {
            (Some(own), _) => (own.value.as_str(), own.pos),
            (None, Some((_, value))) => (value.as_str(), entry.pos),
            (None, None) => match defaults.get(name) {
                Some(default) => (default.value.as_str(), default.pos),
                None => continue,
            },
        };
        match utm::fill(value.trim(), facts) {
            Ok(filled) if filled.is_empty() => {}
            Ok(filled) => tags.push((name, filled)),
            Err(unknown) => report.error(
                pos,
                &field,
                format!("`{unknown}` is not a placeholder"),
                Some(&format!("use {}", utm::UTM_PLACEHOLDERS.join(", "))),
            ),
        }
    }
    tags
}

/// `link` with the UTM `tags`; an error at `pos` when the tagged link is too long.
fn tag_link(
    report: &mut Report<'_>,
    link: Option<String>,
    tags: &[(&'static str, String)],
    pos: Position,
) -> Option<String> {
    let tagged = utm::tag(&link?, tags);
    let chars = tagged.chars().count();
    if chars > MAX_LINK {
        report.error(
            pos,
            "link",
            format!(
                "is {chars} characters once tagged with UTM parameters, at most {MAX_LINK} allowed"
            ),
            Some("shorten the link or the UTM values"),
        );
    }
    Some(tagged)
}

/// The one media of a pin, checked.
fn media(
    report: &mut Report<'_>,
    entry: &PinEntry,
    base_dir: &Path,
    rules: MediaRules,
) -> Option<Media> {
    let given: Vec<&str> = [
        entry.image.as_ref().map(|_| "image"),
        entry.images.as_ref().map(|_| "images"),
        entry.video.as_ref().map(|_| "video"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if entry.video.is_none() {
        for (value, field) in [(&entry.cover, "cover"), (&entry.cover_frame, "cover_frame")] {
            if let Some(located) = value {
                report.error(
                    located.pos,
                    field,
                    "only a video pin has a cover",
                    Some("remove it, or add `video:`"),
                );
            }
        }
    }
    match given.as_slice() {
        [] if entry.malformed => {
            report.ok = false;
            None
        }
        [] => {
            report.error(
                entry.pos,
                "image",
                "the pin has no media",
                Some("add one of `image:`, `images:`, `video:` or `glob:`"),
            );
            None
        }
        ["image"] => {
            let located = entry.image.as_ref()?;
            let source = report.image(located, "image", base_dir, rules)?;
            if let ImageSource::File(image) = &source {
                report.findings(located.pos, "image", media::feed_shape(image));
            }
            Some(Media::Image(source))
        }
        ["images"] => carousel(report, entry.images.as_ref()?, base_dir, rules),
        ["video"] => video(report, entry, base_dir, rules),
        _ => {
            report.error(
                entry.pos,
                given[1],
                format!(
                    "a pin takes exactly one media, found {}",
                    given.join(" and ")
                ),
                Some("keep one, or split it into separate pins"),
            );
            None
        }
    }
}

fn carousel(
    report: &mut Report<'_>,
    slides: &SlidesEntry,
    base_dir: &Path,
    rules: MediaRules,
) -> Option<Media> {
    let count = slides.slides.len();
    if !CAROUSEL_SLIDES.contains(&count) {
        let hint = if count < 2 {
            "a carousel needs 2 to 5 images; use `image:` for a single one"
        } else {
            "a carousel holds at most 5 images; split it into several pins"
        };
        report.error(
            slides.pos,
            "images",
            format!(
                "has {count} image{}, a carousel needs 2 to 5",
                if count == 1 { "" } else { "s" }
            ),
            Some(hint),
        );
    }
    let mut items = Vec::with_capacity(count);
    let mut complete = true;
    for (index, slide) in slides.slides.iter().enumerate() {
        let prefix = format!("images[{}]", index + 1);
        let source = match &slide.src {
            Some(src) => {
                let source = report.image(src, &prefix, base_dir, rules);
                if let Some(ImageSource::File(image)) = &source {
                    report.findings(src.pos, &prefix, media::feed_shape(image));
                }
                source
            }
            None => {
                report.error(
                    slide.pos,
                    &format!("{prefix}.src"),
                    "is missing",
                    Some("add `src:` with a path or URL"),
                );
                None
            }
        };
        let title = report.text(slide.title.as_ref(), &format!("{prefix}.title"), MAX_TITLE);
        let description = report.text(
            slide.description.as_ref(),
            &format!("{prefix}.description"),
            MAX_DESCRIPTION,
        );
        let link = report.link(slide.link.as_ref(), &format!("{prefix}.link"));
        match source {
            Some(source) => items.push(CarouselItem {
                source,
                title,
                description,
                link,
            }),
            None => complete = false,
        }
    }
    let urls = items
        .iter()
        .filter(|item| matches!(item.source, ImageSource::Url(_)))
        .count();
    if urls != 0 && urls != items.len() {
        report.error(
            slides.pos,
            "images",
            "mixes local files and URLs",
            Some("make every image of a carousel a local file, or every one a URL"),
        );
        return None;
    }
    let local: Vec<(usize, &crate::manifest::LocalImage)> = items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| match &item.source {
            ImageSource::File(image) => Some((index, image)),
            ImageSource::Url(_) => None,
        })
        .collect();
    if let Some(finding) = media::carousel_sizes(&local) {
        report.findings(slides.pos, "images", vec![finding]);
    }
    (complete && CAROUSEL_SLIDES.contains(&count)).then_some(Media::Carousel(items))
}

fn video(
    report: &mut Report<'_>,
    entry: &PinEntry,
    base_dir: &Path,
    rules: MediaRules,
) -> Option<Media> {
    let located = entry.video.as_ref()?;
    let reference = located.value.trim();
    let spec = if looks_like_url(reference) {
        report.error(
            located.pos,
            "video",
            "must be a local file: video pins are uploaded, not fetched from a URL",
            Some("download the video next to the manifest and give its path"),
        );
        None
    } else {
        let path = base_dir.join(reference);
        report.outside(located.pos, "video", reference, base_dir, &path);
        match files::probe_video(&path) {
            Ok(len) => {
                let (info, findings) = media::judge_video(reference, &path);
                report.findings(located.pos, "video", findings);
                info.map(|info| (reference.to_owned(), path, len, info))
            }
            Err(err) => {
                report.media_file_error(located.pos, "video", &err);
                None
            }
        }
    };
    let cover = match (&entry.cover, &entry.cover_frame) {
        (Some(_), Some(frame)) => {
            report.error(
                frame.pos,
                "cover_frame",
                "a video takes `cover` or `cover_frame`, not both",
                Some("keep one"),
            );
            return None;
        }
        (Some(cover), None) => match report.image(cover, "cover", base_dir, rules)? {
            ImageSource::File(image) => Some(VideoCover::File(image)),
            ImageSource::Url(url) => Some(VideoCover::Url(url)),
        },
        (None, Some(frame)) => match frame.value.trim().parse::<u32>() {
            Ok(seconds) => Some(VideoCover::Frame(seconds)),
            Err(_) => {
                report.error(
                    frame.pos,
                    "cover_frame",
                    format!("`{}` is not a whole number of seconds", frame.value),
                    Some("write e.g. `cover_frame: 3`"),
                );
                return None;
            }
        },
        (None, None) => None,
    };
    let (reference, path, len, info) = spec?;
    Some(Media::Video(VideoSpec {
        reference,
        path,
        len,
        cover,
        info,
    }))
}

/// Checks `boards:` declarations.
pub(crate) fn boards(
    entries: &[BoardEntry],
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<BoardDecl> {
    let mut declared: HashMap<String, Position> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut report = Report {
            file,
            diagnostics: &mut *diagnostics,
            ok: true,
        };
        let name = match &entry.name {
            Some(_) => report.name(entry.name.as_ref(), "boards.name", usize::MAX),
            None => {
                report.error(entry.pos, "boards.name", "is missing", Some("add `name:`"));
                None
            }
        };
        let description = entry.description.as_ref().map(|d| d.value.clone());
        let privacy = entry.privacy.as_ref().and_then(|p| match p.value.as_str() {
            "PUBLIC" => Some(Privacy::Public),
            "PROTECTED" => Some(Privacy::Protected),
            "SECRET" => Some(Privacy::Secret),
            other => {
                let hint = unknown_name_hint(other, &["PUBLIC", "PROTECTED", "SECRET"]);
                report.error(
                    p.pos,
                    "boards.privacy",
                    format!("`{other}` is not a privacy setting"),
                    Some(&hint),
                );
                None
            }
        });
        let mut sections = Vec::with_capacity(entry.sections.len());
        for section in &entry.sections {
            if let Some(name) = report.name(Some(section), "boards.sections", MAX_SECTION) {
                sections.push(name);
            }
        }
        if let Some(name) = &name {
            match declared.entry(name.clone()) {
                Entry::Occupied(first) => {
                    let first = report.location(*first.get());
                    report.error(
                        entry.pos,
                        "boards.name",
                        format!("board `{name}` is declared twice (first at {first})"),
                        Some("merge the two declarations"),
                    );
                }
                Entry::Vacant(slot) => {
                    slot.insert(entry.pos);
                }
            }
        }
        if let (Some(name), true) = (name, report.ok) {
            out.push(BoardDecl {
                name,
                description,
                privacy,
                sections,
                location: report.location(entry.pos),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http_or_https_with_a_host() {
        assert!(check_url("https://example.com/a?b=c").is_ok());
        assert!(check_url("HTTP://EXAMPLE.COM").is_ok());
        assert!(
            check_url("ftp://example.com")
                .unwrap_err()
                .contains("ftp URL")
        );
        assert!(check_url("example.com/page").is_err());
        assert!(check_url("https://").is_err());
        assert!(check_url("mailto:a@example.com").is_err());
    }

    fn report_on<T>(
        check: impl FnOnce(&mut Report<'_>) -> Option<T>,
    ) -> (Option<T>, Vec<Diagnostic>) {
        let file: Arc<str> = Arc::from("m.yaml");
        let mut diagnostics = Vec::new();
        let mut report = Report {
            file: &file,
            diagnostics: &mut diagnostics,
            ok: true,
        };
        let value = check(&mut report);
        (value, diagnostics)
    }

    fn at(value: &str) -> Located {
        Located::new(value, Position::LineColumn { line: 1, column: 1 })
    }

    #[test]
    fn colours_are_hash_and_six_hex_digits() {
        for good in ["#aabbcc", "#A0B1C2"] {
            assert!(report_on(|r| r.color(Some(&at(good)), "c")).0.is_some());
        }
        for bad in ["aabbcc", "#abc", "#aabbccdd", "#gggggg", "#ääbbc"] {
            let (value, diagnostics) = report_on(|r| r.color(Some(&at(bad)), "c"));
            assert!(value.is_none() && diagnostics.len() == 1, "{bad}");
        }
    }

    #[test]
    fn timestamps_take_an_offset_or_the_zone() {
        let tokyo = PublishZone::named("Asia/Tokyo").unwrap();
        let read = |text: &str| report_on(|r| r.timestamp(Some(&at(text)), "t", &tokyo));
        assert_eq!(
            read("2026-12-24T09:00:00+01:00").0.unwrap().to_string(),
            "2026-12-24T08:00:00Z"
        );
        assert_eq!(
            read("2026-12-24").0.unwrap().to_string(),
            "2026-12-23T15:00:00Z"
        );
        let (value, diagnostics) = read("next friday");
        assert!(value.is_none());
        assert!(
            diagnostics[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("2026-12-24 09:00")
        );
    }

    #[test]
    fn text_limits_count_characters() {
        let (value, diagnostics) = report_on(|r| r.text(Some(&at(&"é".repeat(100))), "title", 100));
        assert!(value.is_some() && diagnostics.is_empty());
        let (value, diagnostics) = report_on(|r| r.text(Some(&at(&"e".repeat(101))), "title", 100));
        assert!(value.is_none());
        assert_eq!(
            diagnostics[0].message,
            "is 101 characters, at most 100 allowed"
        );
    }

    #[test]
    fn names_may_not_be_blank() {
        assert!(
            report_on(|r| r.name(Some(&at("  ")), "section", 180))
                .0
                .is_none()
        );
        assert!(
            report_on(|r| r.name(Some(&at(&"s".repeat(181))), "section", 180))
                .0
                .is_none()
        );
        assert!(
            report_on(|r| r.name(Some(&at("Cats")), "section", 180))
                .0
                .is_some()
        );
    }
}
