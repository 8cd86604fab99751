//! UTM tagging of destination links: `utm_source`, `utm_medium`, `utm_campaign`, `utm_term`
//! and `utm_content` appended to a link's query, with placeholders filled per pin.
//!
//! Values come from the pin's own `utm` (CSV: `utm_source`, ... columns), else `--utm`, else
//! `defaults.utm`; an empty value leaves that parameter out. The link's own parameters and
//! fragment are kept as written, and a `utm_*` parameter the link already has is never added
//! twice. The tagged link is the pin's link from then on: what is sent, shown and fingerprinted.

use std::fmt::Write as _;

/// The UTM parameters, in the order they are appended.
pub const UTM_KEYS: [&str; 5] = ["source", "medium", "campaign", "term", "content"];

/// Placeholders a UTM value may use.
pub const UTM_PLACEHOLDERS: [&str; 4] = ["{key}", "{board}", "{section}", "{row}"];

/// What fills a pin's placeholders.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PinFacts<'a> {
    pub key: &'a str,
    pub board: &'a str,
    pub section: &'a str,
    pub row: u32,
}

/// A UTM value with its placeholders filled, or the placeholder that is not known.
pub(crate) fn fill(value: &str, facts: PinFacts<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let placeholder = &rest[start..start + end + 1];
        match placeholder {
            "{key}" => out.push_str(facts.key),
            "{board}" => out.push_str(facts.board),
            "{section}" => out.push_str(facts.section),
            "{row}" => {
                let _ = write!(out, "{}", facts.row);
            }
            unknown => return Err(unknown.to_owned()),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `link` with `utm_<name>=<value>` appended for each of `tags` it does not already have,
/// keeping its query and fragment as written.
pub fn tag(link: &str, tags: &[(&str, String)]) -> String {
    let (base, fragment) = match link.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (link, None),
    };
    let present: Vec<String> = base
        .split_once('?')
        .map(|(_, query)| {
            query
                .split('&')
                .filter_map(|pair| pair.split('=').next())
                .map(|name| {
                    url::form_urlencoded::parse(format!("{name}=").as_bytes())
                        .next()
                        .map(|(name, _)| name.to_ascii_lowercase())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    let mut added = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (name, value) in tags {
        let parameter = format!("utm_{name}");
        if value.is_empty() || present.contains(&parameter) {
            continue;
        }
        added.append_pair(&parameter, value);
        any = true;
    }
    if !any {
        return link.to_owned();
    }
    let separator = match base.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some((_, query)) if query.ends_with('&') => "",
        Some(_) => "&",
    };
    let mut out = format!("{base}{separator}{}", added.finish());
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The `utm_*` parameters of a link, as (name without `utm_`, value): what a link resolved to
/// its final address gets again when its redirects dropped them.
pub fn tags_of(link: &str) -> Vec<(&'static str, String)> {
    let Ok(url) = url::Url::parse(link) else {
        return Vec::new();
    };
    UTM_KEYS
        .iter()
        .filter_map(|key| {
            let parameter = format!("utm_{key}");
            url.query_pairs()
                .find(|(name, _)| name.eq_ignore_ascii_case(&parameter))
                .map(|(_, value)| (*key, value.into_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn tags_keep_the_query_and_fragment_and_never_repeat() {
        let t = tags(&[
            ("source", "pinterest"),
            ("medium", "social"),
            ("campaign", "spring sale"),
        ]);
        assert_eq!(
            tag("https://shop.example/p", &t),
            "https://shop.example/p?utm_source=pinterest&utm_medium=social&utm_campaign=spring+sale"
        );
        assert_eq!(
            tag("https://shop.example/p?id=7&UTM_SOURCE=news#reviews", &t),
            "https://shop.example/p?id=7&UTM_SOURCE=news&utm_medium=social&utm_campaign=spring+sale#reviews"
        );
        assert_eq!(
            tag("https://shop.example/p?", &tags(&[("term", "a&b")])),
            "https://shop.example/p?utm_term=a%26b"
        );
        assert_eq!(
            tag("https://shop.example/p", &tags(&[("source", "")])),
            "https://shop.example/p"
        );
        assert_eq!(
            tags_of("https://x.example/?utm_source=pinterest&utm_content=a%20b"),
            tags(&[("source", "pinterest"), ("content", "a b")])
        );
    }

    #[test]
    fn placeholders_are_filled_per_pin() {
        let facts = PinFacts {
            key: "cat-01",
            board: "Animals",
            section: "Cats",
            row: 7,
        };
        assert_eq!(
            fill("{board}/{section}-{key}-{row}", facts).unwrap(),
            "Animals/Cats-cat-01-7"
        );
        assert_eq!(fill("{stem}", facts), Err("{stem}".to_owned()));
        assert_eq!(fill("plain {", facts).unwrap(), "plain {");
    }
}
