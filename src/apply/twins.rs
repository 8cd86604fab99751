//! Pins that reconciliation cannot tell apart: creates that put the same title, description,
//! link and media type on one board (today's text, or the text an earlier attempt of unknown
//! outcome sent). A board listing shows no trace of the source image, so if two of them had
//! creates of unknown outcome at once, a pin found on the board could be either one's. They are
//! therefore created one at a time, each outcome settled before the next create is sent.

use std::collections::HashMap;

/// Groups items by shared identity: `identities[i]` lists what item `i` may look like on a
/// board listing (`board id` + identity digest). Returns the groups of two or more items, each
/// in ascending item order, and the groups in order of their first item.
pub(super) fn groups(identities: &[Vec<String>]) -> Vec<Vec<usize>> {
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

/// The key of an identity on a board, for [`groups`].
pub(super) fn on_board(board_id: &str, identity: &str) -> String {
    format!("{board_id}\u{1f}{identity}")
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
