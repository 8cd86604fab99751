//! Destination links judged offline: URL shorteners and redirectors (a spam signal to
//! Pinterest), links to Pinterest itself, plain `http://`, and one link on many pins.
//!
//! Shorteners and redirectors are one table, [`SHORTENER_HOSTS`], matched on the host and its
//! parent domains. The repeated-link check takes an optional spacing (the drip schedule's
//! `same_link`): with one, pins using a link closer together than it are warned about; without
//! one, each link used by several pins gets a note with the count.

use std::collections::HashMap;
use std::time::Duration;

use super::diagnostic::{Diagnostic, Severity};
use super::media::Finding;
use super::model::Location;

/// URL shorteners and redirectors: a link through them hides where it goes, which Pinterest
/// treats as a spam signal (its help on blocked links; Buffer refuses them for Pinterest).
pub const SHORTENER_HOSTS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "j.mp",
    "t.co",
    "tinyurl.com",
    "tiny.cc",
    "tiny.one",
    "ow.ly",
    "buff.ly",
    "goo.gl",
    "g.co",
    "is.gd",
    "v.gd",
    "rebrand.ly",
    "rb.gy",
    "lnkd.in",
    "cutt.ly",
    "shorturl.at",
    "t.ly",
    "bl.ink",
    "s.id",
    "soo.gd",
    "clck.ru",
    "qr.ae",
    "adf.ly",
    "shorte.st",
    "bc.vc",
    "po.st",
    "su.pr",
    "fb.me",
    "amzn.to",
    "amzn.eu",
    "a.co",
    "trib.al",
    "dlvr.it",
    "ift.tt",
    "snip.ly",
    "shor.by",
    "hyperurl.co",
    "linktr.ee",
    "lnk.to",
    "l.facebook.com",
    "lm.facebook.com",
    "l.instagram.com",
    "out.reddit.com",
    "t.umblr.com",
    "youtu.be",
    "db.tt",
    "x.co",
    "tr.im",
    "mcaf.ee",
    "urlz.fr",
    "2.gy",
    "short.io",
];

/// Hosts of Pinterest itself (`pin.it` is its own shortener).
const PINTEREST_HOSTS: &[&str] = &["pinterest.com", "pin.it"];

/// Whether `host` is `domain` or one of its subdomains.
fn within(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// The lowercase host of a URL, if it parses.
fn host_of(link: &str) -> Option<String> {
    url::Url::parse(link)
        .ok()?
        .host_str()
        .map(|host| host.trim_start_matches("www.").to_ascii_lowercase())
}

/// What is found about one destination link (already a valid absolute http(s) URL).
pub(crate) fn judge(link: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(host) = host_of(link) else {
        return findings;
    };
    if let Some(shortener) = SHORTENER_HOSTS.iter().find(|s| within(&host, s)) {
        findings.push(Finding {
            severity: Severity::Warning,
            message: format!(
                "`{link}` goes through {shortener}, a link shortener or redirector: Pinterest treats hidden destinations as a spam signal"
            ),
            hint: Some("link the destination page itself".to_owned()),
        });
    }
    if PINTEREST_HOSTS.iter().any(|p| within(&host, p)) {
        findings.push(Finding {
            severity: Severity::Warning,
            message: format!("`{link}` links to Pinterest itself, not to a destination outside it"),
            hint: Some("link the page the pin is about (your site, shop or article)".to_owned()),
        });
    }
    if link
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
    {
        findings.push(Finding {
            severity: Severity::Warning,
            message: format!("`{link}` is plain http://: browsers mark it not secure"),
            hint: Some("use https:// when the site has it".to_owned()),
        });
    }
    findings
}

/// One use of a link by a pin: where it was written, and when the pin is due (when a schedule
/// gives it).
#[derive(Debug, Clone)]
pub(crate) struct LinkUse {
    pub location: Location,
    pub due: Option<jiff::Timestamp>,
}

/// Links used by several pins. With `spacing` (the schedule's `same_link`), a warning for each
/// use with its own due time closer than it to the one before (the schedule spaces the uses
/// it times itself); without, a note at the first use with the count and the other places.
pub(crate) fn repeated(
    uses: &HashMap<String, Vec<LinkUse>>,
    spacing: Option<Duration>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut links: Vec<(&String, &Vec<LinkUse>)> =
        uses.iter().filter(|(_, list)| list.len() > 1).collect();
    links.sort_by_key(|(link, _)| *link);
    for (link, list) in links {
        match spacing {
            None => {
                let others: Vec<String> = list[1..]
                    .iter()
                    .map(|u| u.location.position_text())
                    .collect();
                out.push(
                    Diagnostic::note(
                        list[0].location.clone(),
                        format!(
                            "`{link}` is the link of {} pins (also at {})",
                            list.len(),
                            others.join(", ")
                        ),
                    )
                    .with_field("link"),
                );
            }
            Some(spacing) => out.extend(too_close(link, list, spacing)),
        }
    }
    out
}

/// Warnings for uses of `link` closer together than `spacing`.
fn too_close(link: &str, list: &[LinkUse], spacing: Duration) -> Vec<Diagnostic> {
    let mut ordered: Vec<&LinkUse> = list.iter().filter(|u| u.due.is_some()).collect();
    ordered.sort_by_key(|u| u.due);
    let spacing_text = humantime::format_duration(spacing).to_string();
    let mut out = Vec::new();
    for pair in ordered.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        let gap = match (before.due, after.due) {
            (Some(a), Some(b)) => b.duration_since(a).unsigned_abs(),
            _ => Duration::ZERO,
        };
        if gap < spacing {
            out.push(
                Diagnostic::warning(
                    after.location.clone(),
                    format!(
                        "`{link}` is published again {} after the pin at {}; the schedule's same_link spacing is {spacing_text}",
                        humantime::format_duration(Duration::from_secs(gap.as_secs())),
                        before.location.position_text()
                    ),
                )
                .with_field("link")
                .with_hint("space the pins that share a link further apart, or give them different links"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::manifest::Position;

    #[test]
    fn shorteners_pinterest_and_plain_http_are_warned_about() {
        let found = judge("https://bit.ly/3abc");
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("goes through bit.ly"));
        assert!(
            judge("https://www.tinyurl.com/x")[0]
                .message
                .contains("tinyurl.com")
        );
        assert!(
            judge("https://notbit.ly/x").is_empty(),
            "only the domain and its subdomains"
        );
        assert!(
            judge("https://www.pinterest.com/pin/1/")[0]
                .message
                .contains("Pinterest itself")
        );
        assert!(
            judge("https://pin.it/abc")[0]
                .message
                .contains("Pinterest itself")
        );
        assert!(
            judge("HTTP://example.com/a")[0]
                .message
                .contains("plain http://")
        );
        assert!(judge("https://example.com/shop").is_empty());
    }

    fn at(row: u32, due_hours: Option<i64>) -> LinkUse {
        LinkUse {
            location: Location {
                file: Arc::from("p.csv"),
                position: Position::Row { row, line: row },
            },
            due: due_hours.map(|h| jiff::Timestamp::from_second(h * 3600).unwrap()),
        }
    }

    #[test]
    fn a_repeated_link_is_a_count_or_a_spacing_warning() {
        let uses = HashMap::from([
            (
                "https://shop.example/a".to_owned(),
                vec![
                    at(2, Some(0)),
                    at(5, Some(72)),
                    at(9, Some(80)),
                    at(12, None),
                ],
            ),
            ("https://shop.example/b".to_owned(), vec![at(3, None)]),
        ]);
        let notes = repeated(&uses, None);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].severity, Severity::Note);
        assert_eq!(
            notes[0].message,
            "`https://shop.example/a` is the link of 4 pins (also at row 5, row 9, row 12)"
        );
        // Row 12 has no time of its own: the schedule places it, apart from the others.
        let warnings = repeated(&uses, Some(Duration::from_secs(48 * 3600)));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].severity, Severity::Warning);
        assert_eq!(warnings[0].location.position_text(), "row 9");
        assert!(
            warnings[0]
                .message
                .contains("again 8h after the pin at row 5"),
            "{}",
            warnings[0].message
        );
        assert!(repeated(&uses, Some(Duration::from_secs(3600))).is_empty());
    }
}
