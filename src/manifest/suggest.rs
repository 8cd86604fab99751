//! "Did you mean ...?" suggestions for misspelled field names, column names and values.

/// The candidate closest to `input` (case-insensitive), if it is close enough to be a typo.
pub(crate) fn did_you_mean<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let input = input.trim().to_lowercase();
    candidates
        .iter()
        .map(|candidate| {
            let score = strsim::jaro_winkler(&input, &candidate.to_lowercase());
            (score, *candidate)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, candidate)| candidate)
}

/// A hint for an unknown name: "did you mean `x`?" when one is close, else the list of names.
pub(crate) fn unknown_name_hint(input: &str, candidates: &[&str]) -> String {
    match did_you_mean(input, candidates) {
        Some(best) => format!("did you mean `{best}`?"),
        None => format!("expected one of: {}", candidates.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested() {
        assert_eq!(
            did_you_mean("titel", &["title", "link", "board"]),
            Some("title")
        );
        assert_eq!(
            did_you_mean("alt-text", &["title", "alt_text"]),
            Some("alt_text")
        );
        assert_eq!(did_you_mean("zzz", &["title", "link"]), None);
    }

    #[test]
    fn hint_lists_names_when_nothing_is_close() {
        assert_eq!(
            unknown_name_hint("qqq", &["a", "b"]),
            "expected one of: a, b"
        );
    }
}
