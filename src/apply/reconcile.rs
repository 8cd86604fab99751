//! Looking for the pin a create of unknown outcome may have made: in the listing of the section
//! it was sent to and of its board, matching the text that attempt actually sent (not today's
//! manifest) and its media type, created no earlier than the attempt began by the server's
//! clock, and not already recorded for another key.
//!
//! It relies on nothing Pinterest does not document: not on the listing's order (it stops paging
//! early only when every pin seen so far came newest first), not on section pins showing in their
//! board's listing, and not on bookmarks that never repeat (a repeat is an error, not a loop).

use super::Context;
use crate::api::ApiError;
use crate::api::types::Pin;
use crate::plan::{identity, written_identity};

/// Pinterest's `created_at` and the `Date` header come from different machines of Pinterest's;
/// a pin may carry a `created_at` up to this much earlier than the server's clock suggests.
const CREATED_AT_SLACK_MS: i64 = 2_000;

/// Without any estimate of the server's clock (no response had a readable `Date`), a pin
/// created this much before the attempt began by this machine's clock may still be its result.
const UNKNOWN_CLOCK_SLACK_MS: i64 = 15 * 60 * 1000;

/// The media types a listed pin may have.
const MEDIA_TYPES: [&str; 3] = ["image", "multiple_images", "video"];

/// What an attempt of unknown outcome sent, and where and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sought {
    /// The identity digests of what was sent (see [`crate::plan::identity`]): the recorded one,
    /// and for a state recorded before text was normalized, the normalized one as well.
    pub identities: Vec<String>,
    /// The board it was sent to.
    pub board_id: String,
    /// The section it was sent to.
    pub section_id: Option<String>,
    /// Pins created before this (ms since the epoch, server's clock) are not its result.
    pub created_from_ms: i64,
}

impl Sought {
    /// The earliest `created_at` of the attempt's pin: when it began by the server's clock (less
    /// a little slack), or by this machine's clock less a wide slack when the server's is unknown.
    pub fn created_from(started_ms: i64, server_started_ms: Option<i64>) -> i64 {
        match server_started_ms {
            Some(server) => server - CREATED_AT_SLACK_MS,
            None => started_ms - UNKNOWN_CLOCK_SLACK_MS,
        }
    }

    /// Whether a listed pin can be the attempt's result.
    pub fn matches(&self, pin: &Pin) -> bool {
        let created = pin.created_ms();
        // `created_at` is whole seconds, floored: the pin was made before `created + 1 s`.
        if created.is_some_and(|created| created + 999 < self.created_from_ms) {
            return false;
        }
        if let (Some(section), Some(found)) = (&self.section_id, &pin.board_section_id)
            && section != found
        {
            return false;
        }
        if self.section_id.is_none() && pin.board_section_id.is_some() {
            return false;
        }
        self.identities
            .iter()
            .any(|identity| shows_identity(pin, identity))
    }
}

/// Whether a listed pin shows the text and media type of `identity` (see
/// [`crate::plan::identity`]), compared as the service keeps text, or byte for byte (what
/// states written before text was normalized recorded). A listing that leaves the media type
/// out matches when the text does with some type.
pub(crate) fn shows_identity(pin: &Pin, wanted: &str) -> bool {
    let media_type = pin.media.as_ref().and_then(|m| m.media_type.as_deref());
    let (title, description, link) = (
        pin.title.as_deref(),
        pin.description.as_deref(),
        pin.link.as_deref(),
    );
    let shows = |media_type: &str| {
        identity(title, description, link, media_type) == wanted
            || written_identity(title, description, link, media_type) == wanted
    };
    match media_type {
        Some(media_type) => shows(media_type),
        None => MEDIA_TYPES.iter().any(|t| shows(t)),
    }
}

/// Reads the listings the pin of any of the sought attempts can be in (each section an attempt
/// was sent to, then each board, every listing once) and returns the first pin found that is
/// not recorded for another key, claimed for `key`.
pub(super) async fn find(
    context: &Context,
    key: &str,
    sought: &[Sought],
) -> Result<Option<Pin>, ApiError> {
    let mut listings: Vec<(&str, Option<&str>)> = Vec::new();
    for attempt in sought {
        if let Some(section) = &attempt.section_id {
            listings.push((&attempt.board_id, Some(section)));
        }
    }
    listings.extend(
        sought
            .iter()
            .map(|attempt| (attempt.board_id.as_str(), None)),
    );
    let mut seen = std::collections::HashSet::new();
    listings.retain(|listing| seen.insert(*listing));
    for (board_id, section) in listings {
        let candidates = read_listing(context, sought, board_id, section).await?;
        for pin in candidates {
            if context.claim(&pin.id, key) {
                return Ok(Some(pin));
            }
        }
    }
    Ok(None)
}

/// Every pin of one listing that can be the pin of a sought attempt sent to that board,
/// oldest first.
async fn read_listing(
    context: &Context,
    sought: &[Sought],
    board_id: &str,
    section: Option<&str>,
) -> Result<Vec<Pin>, ApiError> {
    let here: Vec<&Sought> = sought
        .iter()
        .filter(|attempt| attempt.board_id == board_id)
        .collect();
    let created_from_ms = here
        .iter()
        .map(|attempt| attempt.created_from_ms)
        .min()
        .unwrap_or(i64::MIN);
    let mut walk = ListingWalk::new(created_from_ms);
    let mut candidates = Vec::new();
    context
        .client
        .walk_pins(board_id, section, |page| {
            let more = walk.read_page(&page);
            candidates.extend(
                page.into_iter()
                    .filter(|pin| here.iter().any(|attempt| attempt.matches(pin))),
            );
            more
        })
        .await?;
    candidates.sort_by_key(|pin| pin.created_ms());
    Ok(candidates)
}

/// Decides, page after page, whether the rest of a listing can still hold a pin created since
/// `created_from_ms`. Pinterest documents no order for listings: only when every pin seen so far
/// came newest first (none newer than the one before it, and some older: pins made in the same
/// second prove nothing), and the last one is older than that, is the rest taken to be older too.
#[derive(Debug)]
struct ListingWalk {
    created_from_ms: i64,
    no_newer_after_older: bool,
    some_older_after_newer: bool,
    last_created: Option<i64>,
}

impl ListingWalk {
    fn new(created_from_ms: i64) -> Self {
        ListingWalk {
            created_from_ms,
            no_newer_after_older: true,
            some_older_after_newer: false,
            last_created: None,
        }
    }

    /// Takes one page into account; returns whether the next page is worth reading.
    fn read_page(&mut self, pins: &[Pin]) -> bool {
        for pin in pins {
            match pin.created_ms() {
                Some(created) => {
                    match self.last_created {
                        Some(last) if created > last => self.no_newer_after_older = false,
                        Some(last) if created < last => self.some_older_after_newer = true,
                        _ => {}
                    }
                    self.last_created = Some(created);
                }
                None => self.no_newer_after_older = false,
            }
        }
        let newest_first = self.no_newer_after_older && self.some_older_after_newer;
        !(newest_first
            && self
                .last_created
                .is_some_and(|last| last + 999 < self.created_from_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{PinMedia, parse_created_at};

    fn listed(id: &str, title: &str, created_at: &str, media_type: Option<&str>) -> Pin {
        Pin {
            id: id.to_owned(),
            created_at: Some(created_at.to_owned()),
            board_id: Some("1".to_owned()),
            title: Some(title.to_owned()),
            link: Some("https://example.com/p".to_owned()),
            media: media_type.map(|t| PinMedia {
                media_type: Some(t.to_owned()),
                ..PinMedia::default()
            }),
            ..Pin::default()
        }
    }

    fn sought(title: &str, created_from: &str) -> Sought {
        Sought {
            identities: vec![identity(
                Some(title),
                None,
                Some("https://example.com/p"),
                "image",
            )],
            board_id: "1".to_owned(),
            section_id: None,
            created_from_ms: parse_created_at(created_from).unwrap(),
        }
    }

    #[test]
    fn created_at_is_read_with_or_without_an_offset() {
        assert_eq!(parse_created_at("1970-01-01T00:00:01"), Some(1000));
        assert_eq!(parse_created_at("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_created_at("1970-01-01T01:00:01+01:00"), Some(1000));
        assert_eq!(parse_created_at("yesterday"), None);
    }

    #[test]
    fn a_match_needs_the_sent_text_and_type_and_a_creation_since_the_attempt() {
        let want = sought("Sent title", "2026-12-02T10:00:00.500Z");
        let t = "2026-12-02T10:00:00";
        assert!(want.matches(&listed("1", "Sent title", t, Some("image"))));
        assert!(
            want.matches(&listed("1", "Sent title", t, None)),
            "type left out"
        );
        assert!(!want.matches(&listed("1", "Today's title", t, Some("image"))));
        assert!(!want.matches(&listed("1", "Sent title", t, Some("video"))));
        // A second before the attempt began, even allowing for `created_at`'s whole seconds.
        assert!(!want.matches(&listed(
            "1",
            "Sent title",
            "2026-12-02T09:59:59",
            Some("image")
        )));
        let mut in_section = listed("1", "Sent title", t, Some("image"));
        in_section.board_section_id = Some("5".to_owned());
        assert!(!want.matches(&in_section), "sent to no section");
        let to_section = Sought {
            section_id: Some("5".to_owned()),
            ..want.clone()
        };
        assert!(to_section.matches(&in_section));
        in_section.board_section_id = Some("6".to_owned());
        assert!(!to_section.matches(&in_section));
    }

    #[test]
    fn the_creation_window_follows_the_servers_clock_when_known() {
        // This machine's clock says 10:00; the server's said 10:05 when the attempt began.
        let started = parse_created_at("2026-12-02T10:00:00Z").unwrap();
        let server = parse_created_at("2026-12-02T10:05:00Z").unwrap();
        assert_eq!(Sought::created_from(started, Some(server)), server - 2_000);
        assert_eq!(
            Sought::created_from(started, None),
            started - 15 * 60 * 1000
        );
    }

    #[test]
    fn paging_stops_early_only_when_the_order_seen_proves_it() {
        let from = parse_created_at("2026-12-02T10:00:00Z").unwrap();
        let page = |times: &[&str]| -> Vec<Pin> {
            times
                .iter()
                .map(|t| listed("1", "x", t, Some("image")))
                .collect()
        };
        // Newest first and already older than the window: the rest is older still.
        let mut walk = ListingWalk::new(from);
        assert!(walk.read_page(&page(&["2026-12-02T10:00:05", "2026-12-02T10:00:01"])));
        assert!(!walk.read_page(&page(&["2026-12-02T09:00:00"])));
        // Oldest first: nothing is proven, read on.
        let mut walk = ListingWalk::new(from);
        assert!(walk.read_page(&page(&["2026-12-02T09:00:00", "2026-12-02T09:30:00"])));
        assert!(walk.read_page(&page(&["2026-12-02T08:00:00"])));
        // One inversion anywhere is enough to read everything.
        let mut walk = ListingWalk::new(from);
        assert!(walk.read_page(&page(&["2026-12-02T09:00:00", "2026-12-02T10:00:05"])));
        assert!(walk.read_page(&page(&["2026-12-02T08:00:00"])));
        // Pins all made in one second prove no order.
        let mut walk = ListingWalk::new(from);
        assert!(walk.read_page(&page(&["2026-12-02T09:00:00", "2026-12-02T09:00:00"])));
        assert!(walk.read_page(&page(&["2026-12-02T09:00:00"])));
    }
}
