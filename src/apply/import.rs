//! Matching manifest pins with pins that already exist on their boards, for `pinbatch import`.
//!
//! Pure: it takes the manifest pins that the state knows nothing of, where they go (resolved
//! ids), what the board and section listings show, and the pin ids already recorded, and
//! decides. A match is what reconciliation matches on (see [`crate::plan::identity`]): the same
//! title, description, link and media kind, and the section when the manifest names one. A
//! match is adopted only when it is the pin's only candidate and no other manifest pin wants
//! it; everything else is left for the user to settle with `--pin KEY=PIN_ID`. A pin id is never
//! given to two keys.
//!
//! A manifest may also name the pin a row already became (a report's `pin_id`): that pin is
//! read by id and judged here ([`judge_named_pin`]) before it is recorded like any adopted pin.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::api::types::Pin;
use crate::apply::reconcile::shows_identity;
use crate::manifest::{Diagnostic, KnownPin, PinSpec};
use crate::plan::{self, PinText};
use crate::state::Fingerprint;

/// A manifest pin to look for, and where it goes.
#[derive(Debug, Clone)]
pub(crate) struct Wanted<'a> {
    /// The manifest pin.
    pub spec: &'a PinSpec,
    /// Its board's id.
    pub board_id: String,
    /// Its section's id, when the manifest names a section.
    pub section_id: Option<String>,
}

/// What import decided for one manifest pin (or, for a shared candidate, several).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// Record this pin for this key.
    Adopt {
        /// The manifest key.
        key: String,
        /// The pin found.
        pin: Box<Pin>,
        /// The user named it with `--pin`.
        named: bool,
    },
    /// No pin on the board matches.
    NoMatch {
        /// The manifest key.
        key: String,
    },
    /// Several pins match this key.
    SeveralPins {
        /// The manifest key.
        key: String,
        /// The matching pin ids.
        pin_ids: Vec<String>,
    },
    /// This key's only match is also a match of other keys.
    SharedPin {
        /// The manifest key.
        key: String,
        /// The pin.
        pin_id: String,
        /// The other keys it matches.
        others: Vec<String>,
    },
}

impl Decision {
    /// The manifest key it is about.
    pub fn key(&self) -> &str {
        match self {
            Decision::Adopt { key, .. }
            | Decision::NoMatch { key }
            | Decision::SeveralPins { key, .. }
            | Decision::SharedPin { key, .. } => key,
        }
    }
}

/// Decides for every wanted pin. `listed` holds the pins of each board (board and section
/// listings merged, by id); `claimed` the pin ids the state records already; `named` the pins
/// the user chose with `--pin` (already checked to exist on the key's board).
pub(crate) fn decide(
    wanted: &[Wanted<'_>],
    listed: &HashMap<String, BTreeMap<String, Pin>>,
    claimed: &HashSet<String>,
    named: &HashMap<String, Pin>,
) -> Vec<Decision> {
    let named_ids: HashSet<&str> = named.values().map(|pin| pin.id.as_str()).collect();
    let candidates: Vec<Vec<&Pin>> = wanted
        .iter()
        .map(|want| {
            let identity = plan::fingerprint(want.spec).identity;
            listed
                .get(&want.board_id)
                .into_iter()
                .flat_map(BTreeMap::values)
                .filter(|pin| !claimed.contains(&pin.id) && !named_ids.contains(pin.id.as_str()))
                .filter(|pin| match &want.section_id {
                    Some(section) => pin.board_section_id.as_ref() == Some(section),
                    None => true,
                })
                .filter(|pin| shows_identity(pin, &identity))
                .collect()
        })
        .collect();
    let mut wanted_by: HashMap<&str, Vec<&str>> = HashMap::new();
    for (want, pins) in wanted.iter().zip(&candidates) {
        if named.contains_key(&want.spec.key) {
            continue;
        }
        for pin in pins {
            wanted_by
                .entry(pin.id.as_str())
                .or_default()
                .push(&want.spec.key);
        }
    }
    wanted
        .iter()
        .zip(&candidates)
        .map(|(want, pins)| {
            let key = want.spec.key.clone();
            if let Some(pin) = named.get(&key) {
                return Decision::Adopt {
                    key,
                    pin: Box::new(pin.clone()),
                    named: true,
                };
            }
            match pins.as_slice() {
                [] => Decision::NoMatch { key },
                [pin] => {
                    let others: Vec<String> = wanted_by
                        .get(pin.id.as_str())
                        .into_iter()
                        .flatten()
                        .filter(|other| **other != key)
                        .map(|other| (*other).to_owned())
                        .collect();
                    if others.is_empty() {
                        Decision::Adopt {
                            key,
                            pin: Box::new((*pin).clone()),
                            named: false,
                        }
                    } else {
                        Decision::SharedPin {
                            key,
                            pin_id: pin.id.clone(),
                            others,
                        }
                    }
                }
                several => Decision::SeveralPins {
                    key,
                    pin_ids: several.iter().map(|pin| pin.id.clone()).collect(),
                },
            }
        })
        .collect()
}

/// What reading the pin a manifest row names (its `pin_id`) found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NamedPin {
    /// A pin of this account: recorded for the row's key.
    Ours(Box<Pin>),
    /// Pinterest has no pin of that id (deleted, or made in another environment).
    Missing,
    /// A pin this account can read but does not own.
    OtherAccount {
        /// The owner's username, when Pinterest shows it.
        owner: Option<String>,
    },
    /// The state already records this pin for another key.
    Claimed {
        /// That key.
        other_key: String,
    },
}

/// Judges a pin read by id for the account `username`: its own when Pinterest says the
/// account owns it (`is_owner`), or, when Pinterest does not say, when its board's owner is the
/// account.
pub(crate) fn judge_named_pin(pin: Pin, username: &str) -> NamedPin {
    let board_owner = pin.board_owner.as_ref().map(|o| o.username.clone());
    let ours = match pin.is_owner {
        Some(owned) => owned,
        None => board_owner.as_deref().is_none_or(|owner| owner == username),
    };
    if ours {
        NamedPin::Ours(Box::new(pin))
    } else {
        NamedPin::OtherAccount { owner: board_owner }
    }
}

/// The located error for a row whose pin cannot be recorded; `None` for one that can.
pub(crate) fn named_pin_problem(known: &KnownPin, found: &NamedPin) -> Option<Diagnostic> {
    let id = &known.id;
    let (message, hint) = match found {
        NamedPin::Ours(_) => return None,
        NamedPin::Missing => (
            format!(
                "pin {id} does not exist on Pinterest (deleted, or made in another environment)"
            ),
            "clear the cell to create the pin again, or correct the id".to_owned(),
        ),
        NamedPin::OtherAccount { owner } => (
            match owner {
                Some(owner) => format!("pin {id} belongs to another account (`{owner}`)"),
                None => format!("pin {id} belongs to another account"),
            },
            "only the token's own pins are recorded: use that account's token, or clear the cell"
                .to_owned(),
        ),
        NamedPin::Claimed { other_key } => (
            format!("pin {id} is already recorded in the state for `{other_key}`"),
            "a pin belongs to one manifest pin: clear one of the cells".to_owned(),
        ),
    };
    Some(
        Diagnostic::error(known.location.clone(), message)
            .with_field("pin_id")
            .with_hint(hint),
    )
}

/// The fingerprint to record for an adopted pin: what the pin shows (its text, alt text and AI
/// labels), so that `plan` sees any difference from the manifest as an update; the manifest's
/// media (a listing carries no trace of the source image) and dominant colour (which an update
/// cannot change); and the manifest's placement when the pin is where the manifest puts it.
pub(crate) fn adopted_fingerprint(want: &Wanted<'_>, pin: &Pin) -> Fingerprint {
    let spec = want.spec;
    let manifest = plan::fingerprint(spec);
    let labels: Vec<&str> = pin
        .ai_disclosures
        .as_ref()
        .map(|d| d.values.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let text = plan::text_digest(
        PinText {
            title: pin.title.as_deref(),
            description: pin.description.as_deref(),
            link: pin.link.as_deref(),
            alt_text: pin.alt_text.as_deref(),
            dominant_color: spec.dominant_color.as_deref(),
        },
        &labels,
    );
    let in_place = pin.board_id.as_deref() == Some(want.board_id.as_str())
        && (want.section_id.is_none() || pin.board_section_id == want.section_id);
    let placement = if in_place {
        manifest.placement
    } else {
        plan::placement_digest(
            &format!("board id {}", pin.board_id.as_deref().unwrap_or("")),
            pin.board_section_id.as_deref(),
        )
    };
    let media_type = pin
        .media
        .as_ref()
        .and_then(|m| m.media_type.as_deref())
        .unwrap_or_else(|| plan::listed_media_type(&spec.media));
    Fingerprint {
        text,
        placement,
        media: manifest.media,
        identity: plan::identity(
            pin.title.as_deref(),
            pin.description.as_deref(),
            pin.link.as_deref(),
            media_type,
        ),
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::api::types::{AiDisclosures, PinMedia};
    use crate::manifest::{ImageSource, Media};

    fn spec(key: &str, title: &str, section: Option<&str>) -> PinSpec {
        let media = Media::Image(ImageSource::Url(format!("https://example.com/{key}.jpg")));
        PinSpec {
            section: section.map(str::to_owned),
            title: Some(title.to_owned()),
            description: Some("d".to_owned()),
            link: Some("https://example.com/p".to_owned()),
            ..PinSpec::sample(key, "B", media)
        }
    }

    fn listed_pin(id: &str, title: &str, section: Option<&str>) -> Pin {
        Pin {
            id: id.to_owned(),
            board_id: Some("10".to_owned()),
            board_section_id: section.map(str::to_owned),
            title: Some(title.to_owned()),
            description: Some("d".to_owned()),
            link: Some("https://example.com/p".to_owned()),
            media: Some(PinMedia {
                media_type: Some("image".to_owned()),
                ..PinMedia::default()
            }),
            ..Pin::default()
        }
    }

    fn want<'a>(spec: &'a PinSpec, section_id: Option<&str>) -> Wanted<'a> {
        Wanted {
            spec,
            board_id: "10".to_owned(),
            section_id: section_id.map(str::to_owned),
        }
    }

    fn board(pins: Vec<Pin>) -> HashMap<String, BTreeMap<String, Pin>> {
        HashMap::from([(
            "10".to_owned(),
            pins.into_iter().map(|p| (p.id.clone(), p)).collect(),
        )])
    }

    fn names(decisions: &[Decision]) -> Vec<String> {
        decisions
            .iter()
            .map(|d| match d {
                Decision::Adopt { key, pin, named } => {
                    format!(
                        "{key}=adopt {}{}",
                        pin.id,
                        if *named { " named" } else { "" }
                    )
                }
                Decision::NoMatch { key } => format!("{key}=none"),
                Decision::SeveralPins { key, pin_ids } => {
                    format!("{key}=several {}", pin_ids.join(","))
                }
                Decision::SharedPin {
                    key,
                    pin_id,
                    others,
                } => {
                    format!("{key}=shared {pin_id} with {}", others.join(","))
                }
            })
            .collect()
    }

    #[test]
    fn exact_ambiguous_and_missing_matches() {
        let (a, b, c, d1, d2) = (
            spec("a", "Alpha", None),
            spec("b", "Beta", None),
            spec("c", "Gamma", None),
            spec("d1", "Delta", None),
            spec("d2", "Delta", None),
        );
        let listed = board(vec![
            listed_pin("1", "Alpha", None),
            listed_pin("2", "Beta", None),
            listed_pin("3", "Beta", Some("5")),
            listed_pin("4", "Delta", None),
            listed_pin("6", "Other", None),
        ]);
        let wanted = [&a, &b, &c, &d1, &d2].map(|s| want(s, None));
        let decisions = decide(&wanted, &listed, &HashSet::new(), &HashMap::new());
        assert_eq!(
            names(&decisions),
            [
                "a=adopt 1",
                "b=several 2,3",
                "c=none",
                "d1=shared 4 with d2",
                "d2=shared 4 with d1"
            ]
        );
    }

    #[test]
    fn sections_narrow_claimed_pins_are_skipped_and_named_pins_win() {
        let b = spec("b", "Beta", Some("S"));
        let a = spec("a", "Alpha", None);
        let d1 = spec("d1", "Delta", None);
        let d2 = spec("d2", "Delta", None);
        let listed = board(vec![
            listed_pin("1", "Alpha", None),
            listed_pin("2", "Beta", None),
            listed_pin("3", "Beta", Some("5")),
            listed_pin("4", "Delta", None),
            listed_pin("7", "Delta", None),
        ]);
        let wanted = [
            want(&b, Some("5")),
            want(&a, None),
            want(&d1, None),
            want(&d2, None),
        ];
        let claimed = HashSet::from(["1".to_owned()]);
        let named = HashMap::from([("d1".to_owned(), listed_pin("7", "Delta", None))]);
        let decisions = decide(&wanted, &listed, &claimed, &named);
        assert_eq!(
            names(&decisions),
            ["b=adopt 3", "a=none", "d1=adopt 7 named", "d2=adopt 4"]
        );
    }

    #[test]
    fn a_named_pin_is_ours_when_pinterest_says_so_or_its_board_is_ours() {
        use crate::api::types::BoardOwner;
        let owned = |is_owner: Option<bool>, owner: Option<&str>| Pin {
            is_owner,
            board_owner: owner.map(|name| BoardOwner {
                username: name.to_owned(),
            }),
            ..listed_pin("1", "A", None)
        };
        let verdict = |pin: Pin| match judge_named_pin(pin, "me") {
            NamedPin::Ours(_) => "ours".to_owned(),
            NamedPin::OtherAccount { owner } => format!("other {owner:?}"),
            other => format!("{other:?}"),
        };
        assert_eq!(verdict(owned(Some(true), Some("group-owner"))), "ours");
        assert_eq!(
            verdict(owned(Some(false), Some("them"))),
            "other Some(\"them\")"
        );
        assert_eq!(verdict(owned(None, Some("me"))), "ours");
        assert_eq!(verdict(owned(None, None)), "ours");
        assert_eq!(verdict(owned(None, Some("them"))), "other Some(\"them\")");
        let known = KnownPin {
            id: "77".to_owned(),
            location: crate::manifest::Location {
                file: std::sync::Arc::from("r.csv"),
                position: crate::manifest::Position::Row { row: 4, line: 4 },
            },
        };
        let problem = named_pin_problem(&known, &NamedPin::Missing).unwrap();
        assert_eq!(problem.field.as_deref(), Some("pin_id"));
        assert_eq!(problem.location, known.location);
        assert!(problem.message.contains("pin 77 does not exist"));
        assert!(named_pin_problem(&known, &NamedPin::Ours(Box::default())).is_none());
    }

    #[test]
    fn the_recorded_fingerprint_is_what_the_pin_shows() {
        let mut manifest_pin = spec("a", "Alpha", None);
        manifest_pin.alt_text = Some("new alt".to_owned());
        let wanted = want(&manifest_pin, None);
        let same = listed_pin("1", "Alpha", None);
        let mut with_alt = same.clone();
        with_alt.alt_text = Some("new alt".to_owned());
        assert_eq!(
            adopted_fingerprint(&wanted, &with_alt),
            plan::fingerprint(&manifest_pin),
            "a pin as the manifest describes it is unchanged"
        );
        let recorded = adopted_fingerprint(&wanted, &same);
        assert_ne!(recorded.text, plan::fingerprint(&manifest_pin).text);
        assert_eq!(recorded.media, plan::fingerprint(&manifest_pin).media);
        let mut labelled = with_alt.clone();
        labelled.ai_disclosures = Some(AiDisclosures {
            values: vec!["AI_MODIFIED".to_owned()],
        });
        assert_ne!(
            adopted_fingerprint(&wanted, &labelled).text,
            plan::fingerprint(&manifest_pin).text
        );
        let mut elsewhere = with_alt.clone();
        elsewhere.board_id = Some("99".to_owned());
        assert_ne!(
            adopted_fingerprint(&wanted, &elsewhere).placement,
            plan::fingerprint(&manifest_pin).placement
        );
    }
}
