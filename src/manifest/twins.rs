//! Pins that a board listing cannot tell apart ("twins"): the same board, title, description,
//! link and media kind, since a listing shows no trace of the source image. The one grouping of
//! look-alikes: `validate` warns about each group once, and `apply` creates a group's pins one
//! at a time (so that a pin found on the board after a create of unknown outcome can only be
//! that create's), grouping by the identities it sends and has sent.

use std::collections::HashMap;

use super::{Diagnostic, PinSpec};

/// Groups items by shared identity: `identities[i]` lists what item `i` may look like on a
/// board listing. Returns the groups of two or more items, each in ascending item order, and
/// the groups in order of their first item. Items sharing any identity are one group, so an
/// item that may look like two others joins their groups.
pub(crate) fn groups(identities: &[Vec<String>]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..identities.len()).collect();
    fn root(parent: &mut [usize], mut item: usize) -> usize {
        while parent[item] != item {
            parent[item] = parent[parent[item]];
            item = parent[item];
        }
        item
    }
    let mut first_with: HashMap<&str, usize> = HashMap::new();
    for (item, keys) in identities.iter().enumerate() {
        for key in keys {
            match first_with.get(key.as_str()) {
                Some(&other) => {
                    let (a, b) = (root(&mut parent, item), root(&mut parent, other));
                    let (low, high) = (a.min(b), a.max(b));
                    parent[high] = low;
                }
                None => {
                    first_with.insert(key, item);
                }
            }
        }
    }
    let mut by_root: Vec<Vec<usize>> = vec![Vec::new(); identities.len()];
    for item in 0..identities.len() {
        let group = root(&mut parent, item);
        by_root[group].push(item);
    }
    by_root
        .into_iter()
        .filter(|group| group.len() > 1)
        .collect()
}

/// The identity of `what` a listing shows on one board, for [`groups`].
pub(crate) fn on_board(board: &str, what: &str) -> String {
    format!("{board}\u{1f}{what}")
}

/// One warning per group of look-alike pins, at its first pin, naming the whole group once.
pub(crate) fn warnings(pins: &[PinSpec]) -> Vec<Diagnostic> {
    let identities: Vec<Vec<String>> = pins
        .iter()
        .map(|pin| {
            let shown = [
                pin.title.as_deref().unwrap_or(""),
                pin.description.as_deref().unwrap_or(""),
                pin.link.as_deref().unwrap_or(""),
                pin.media.kind(),
            ]
            .join("\u{1f}");
            vec![on_board(&pin.board.to_string(), &shown)]
        })
        .collect();
    groups(&identities)
        .into_iter()
        .map(|group| {
            let first = &pins[group[0]];
            let names: Vec<String> = group
                .iter()
                .map(|&item| format!("`{}`", pins[item].key))
                .collect();
            Diagnostic::warning(
                first.location.clone(),
                format!(
                    "{} pins look the same on a board listing (same board, title, description, link and media kind): {}; they are created one at a time, because if two creates of such pins had unknown outcomes at once, a pin found on the board could belong to either",
                    group.len(),
                    names.join(", ")
                ),
            )
            .with_hint("a different title or description for each makes them faster to publish")
        })
        .collect()
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

    fn ids(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| (*k).to_owned()).collect()
    }

    #[test]
    fn items_sharing_any_identity_form_one_group() {
        let identities = vec![
            ids(&["a"]),
            ids(&["b"]),
            ids(&["a"]),
            // Today "c", but an earlier attempt sent "b": it joins the "b" group.
            ids(&["c", "b"]),
            ids(&["d"]),
            ids(&["c"]),
        ];
        assert_eq!(groups(&identities), vec![vec![0, 2], vec![1, 3, 5]]);
        assert!(groups(&[ids(&["a"]), ids(&["b"])]).is_empty());
    }

    #[test]
    fn the_same_text_on_two_boards_is_told_apart() {
        assert_ne!(on_board("1", "x"), on_board("2", "x"));
        assert!(groups(&[vec![on_board("1", "x")], vec![on_board("2", "x")]]).is_empty());
    }

    #[test]
    fn a_group_of_look_alikes_is_named_once_and_others_are_not() {
        let pins = vec![
            pin("a", "Shop", "Product", "https://x/1.jpg"),
            pin("b", "Shop", "Product", "https://x/2.jpg"),
            pin("c", "Other", "Product", "https://x/3.jpg"),
            pin("d", "Shop", "Another", "https://x/4.jpg"),
            pin("e", "Shop", "Product", "https://x/5.jpg"),
        ];
        let diagnostics = warnings(&pins);
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        let message = &diagnostics[0].message;
        assert!(message.starts_with("3 pins look the same"), "{message}");
        assert!(message.contains("`a`, `b`, `e`"), "{message}");
        assert!(message.contains("one at a time"), "{message}");
        assert_eq!(diagnostics[0].location, pins[0].location);
    }
}
