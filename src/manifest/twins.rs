//! Pins that a board listing cannot tell apart: the same board, title, description, link and
//! media kind (the listing shows no trace of the source image). `validate` warns about them,
//! because `apply` creates them one at a time to keep each image exactly one pin.

use std::collections::BTreeMap;

use super::{Diagnostic, PinSpec};

/// A warning on every pin that has look-alikes, naming them.
pub(crate) fn warnings(pins: &[PinSpec]) -> Vec<Diagnostic> {
    let mut groups: BTreeMap<(String, &str, &str, &str, &str), Vec<&PinSpec>> = BTreeMap::new();
    for pin in pins {
        let key = (
            pin.board.to_string(),
            pin.title.as_deref().unwrap_or(""),
            pin.description.as_deref().unwrap_or(""),
            pin.link.as_deref().unwrap_or(""),
            pin.media.kind(),
        );
        groups.entry(key).or_default().push(pin);
    }
    let mut diagnostics = Vec::new();
    for group in groups.values().filter(|group| group.len() > 1) {
        for pin in group {
            let others: Vec<String> = group
                .iter()
                .filter(|other| other.key != pin.key)
                .map(|other| format!("`{}`", other.key))
                .collect();
            diagnostics.push(
                Diagnostic::warning(
                    pin.location.clone(),
                    format!(
                        "looks the same as {} on a board listing (same board, title, description, link and media kind): they are created one at a time, because if two creates of such pins had unknown outcomes at once, a pin found on the board could belong to either",
                        others.join(", ")
                    ),
                )
                .with_hint("a different title or description for each makes them faster to publish"),
            );
        }
    }
    diagnostics
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::manifest::{ImageSource, Media};

    fn pin(key: &str, board: &str, title: &str, image: &str) -> PinSpec {
        let media = Media::Image(ImageSource::Url(image.to_owned()));
        PinSpec {
            title: Some(title.to_owned()),
            link: Some("https://example.com/product".to_owned()),
            ..PinSpec::sample(key, board, media)
        }
    }

    #[test]
    fn look_alikes_on_one_board_are_named_and_others_are_not() {
        let pins = vec![
            pin("a", "Shop", "Product", "https://x/1.jpg"),
            pin("b", "Shop", "Product", "https://x/2.jpg"),
            pin("c", "Other", "Product", "https://x/3.jpg"),
            pin("d", "Shop", "Another", "https://x/4.jpg"),
        ];
        let diagnostics = warnings(&pins);
        assert_eq!(diagnostics.len(), 2);
        assert!(diagnostics[0].message.contains("`b`"));
        assert!(diagnostics[1].message.contains("`a`"));
        assert!(
            diagnostics
                .iter()
                .all(|d| d.message.contains("one at a time"))
        );
    }
}
