//! Destination links followed online: each distinct link is requested once, `HEAD` first and
//! `GET` when `HEAD` does not answer with a success or a redirect, redirects are followed one
//! at a time (at most [`MAX_REDIRECTS`]) so that the final address is known, and a 4xx/5xx or
//! an unreachable host is an error with what was seen. `--resolve-links` sends the final
//! address instead, for the run only (the manifest is never changed), keeping the UTM tags the
//! redirects dropped.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt as _;
use reqwest::header::{LOCATION, RANGE};

use super::LinkCheckOptions;
use crate::manifest::{Diagnostic, Manifest, Media, PinSpec, utm};

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 10;

/// Where a link leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A page answered with a success, at this address (the link itself when not redirected).
    Reached(String),
    /// No page: an HTTP error status, too many redirects, or no answer; what was seen.
    Failed(String),
}

/// One destination link of a pin: its field and the link.
fn links_of(pin: &PinSpec) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    if let Some(link) = &pin.link {
        out.push(("link".to_owned(), link.as_str()));
    }
    if let Media::Carousel(items) = &pin.media {
        for (index, item) in items.iter().enumerate() {
            if let Some(link) = &item.link {
                out.push((format!("images[{}].link", index + 1), link.as_str()));
            }
        }
    }
    out
}

/// Follows every distinct destination link of `manifest` once.
pub async fn follow_all(
    manifest: &Manifest,
    options: LinkCheckOptions,
) -> Result<HashMap<String, Destination>, super::LinkCheckError> {
    let mut distinct: Vec<&str> = manifest
        .pins
        .iter()
        .flat_map(|pin| links_of(pin).into_iter().map(|(_, link)| link))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let client = super::client(
        options.timeout,
        reqwest::redirect::Policy::none(),
        "link check",
    )?;
    let timeout = options.timeout;
    let found = futures::stream::iter(distinct)
        .map(|link| {
            let client = &client;
            async move { (link.to_owned(), follow(client, link, timeout).await) }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    Ok(found.into_iter().collect())
}

/// Follows one link to where it leads.
pub async fn follow(client: &reqwest::Client, link: &str, timeout: Duration) -> Destination {
    let mut current = link.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        let status_and_location = match answer(client, &current, timeout).await {
            Ok(answer) => answer,
            Err(why) => return Destination::Failed(why),
        };
        match status_and_location {
            (status, Some(location)) if status.is_redirection() => {
                match reqwest::Url::parse(&current).and_then(|base| base.join(&location)) {
                    Ok(next) => current = next.to_string(),
                    Err(_) => {
                        return Destination::Failed(format!(
                            "a redirect to `{location}`, which is not an address"
                        ));
                    }
                }
            }
            (status, _) if status.is_success() => return Destination::Reached(current),
            (status, _) => {
                let at = if current == link {
                    String::new()
                } else {
                    format!(" at {current}")
                };
                return Destination::Failed(format!("{}{at}", super::probe::status_text(status)));
            }
        }
    }
    Destination::Failed(format!("more than {MAX_REDIRECTS} redirects"))
}

/// The status (and `Location`) of `url`: `HEAD`, then a `GET` of its first byte when `HEAD`
/// says neither success nor redirect (many servers refuse or mishandle `HEAD`).
async fn answer(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<(reqwest::StatusCode, Option<String>), String> {
    let location = |response: &reqwest::Response| {
        response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    match client.head(url).send().await {
        Ok(response) if response.status().is_success() || response.status().is_redirection() => {
            return Ok((response.status(), location(&response)));
        }
        Ok(_) => {}
        Err(err) if err.is_connect() || err.is_timeout() => {
            return Err(super::probe::transport_text(&err, timeout));
        }
        Err(_) => {}
    }
    match client.get(url).header(RANGE, "bytes=0-0").send().await {
        // The body is dropped unread: the status is all that is wanted.
        Ok(response) => Ok((response.status(), location(&response))),
        Err(err) => Err(super::probe::transport_text(&err, timeout)),
    }
}

/// A diagnostic for each use of a link that leads nowhere (an error) or elsewhere (a note,
/// saying whether the final address is sent).
pub fn diagnostics(
    manifest: &Manifest,
    found: &HashMap<String, Destination>,
    resolve: bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for pin in &manifest.pins {
        for (field, link) in links_of(pin) {
            match found.get(link) {
                Some(Destination::Failed(why)) => out.push(
                    Diagnostic::error(
                        pin.location.clone(),
                        format!("`{link}` leads nowhere: {why}"),
                    )
                    .with_field(field)
                    .with_hint(
                        "check the link: Pinterest sends people there, and flags broken links",
                    ),
                ),
                Some(Destination::Reached(target)) if target != link => {
                    let message = if resolve {
                        format!(
                            "`{link}` redirects to `{target}`, which is sent instead (--resolve-links)"
                        )
                    } else {
                        format!("`{link}` redirects to `{target}`")
                    };
                    let mut diagnostic =
                        Diagnostic::note(pin.location.clone(), message).with_field(field);
                    if !resolve {
                        diagnostic = diagnostic.with_hint(
                            "link the final address, or pass --resolve-links to send it",
                        );
                    }
                    out.push(diagnostic);
                }
                _ => {}
            }
        }
    }
    out
}

/// Replaces each link that redirects by where it leads, in `manifest` only (the file is never
/// changed), giving back the UTM tags a redirect dropped. Returns how many were replaced.
pub fn resolve(manifest: &mut Manifest, found: &HashMap<String, Destination>) -> usize {
    let mut replaced = 0;
    let final_of = |link: &str| match found.get(link) {
        Some(Destination::Reached(target)) if target != link => {
            Some(utm::tag(target, &utm::tags_of(link)))
        }
        _ => None,
    };
    for pin in &mut manifest.pins {
        if let Some(target) = pin.link.as_deref().and_then(final_of) {
            pin.link = Some(target);
            replaced += 1;
        }
        if let Media::Carousel(items) = &mut pin.media {
            for item in items {
                if let Some(target) = item.link.as_deref().and_then(final_of) {
                    item.link = Some(target);
                    replaced += 1;
                }
            }
        }
    }
    replaced
}
