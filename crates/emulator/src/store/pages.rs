//! Pagination as Pinterest's list endpoints do it: `page_size` and opaque bookmarks that name
//! the last item returned, in a listing order.

use base64::Engine as _;

use super::ApiFailure;

/// Default and maximum `page_size` of list endpoints.
pub const PAGE_SIZE_DEFAULT: usize = 25;
/// Maximum `page_size` of list endpoints.
pub const PAGE_SIZE_MAX: usize = 250;
/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Bookmark of the next page; `None` on the last one.
    pub bookmark: Option<String>,
}

#[derive(Clone, Copy)]
pub(super) enum Order {
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
pub(super) fn paginate<T>(
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
