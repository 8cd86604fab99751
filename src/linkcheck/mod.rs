//! Media links checked before any write: every distinct image URL of a manifest is fetched once
//! (a `HEAD`, then its first bytes), with bounded concurrency and a timeout, and each pin that
//! uses a URL Pinterest could not take gets a diagnostic: not reachable, not an image, not a
//! JPEG or PNG, too large, or redirected to a sign-in page.
//!
//! Share links of Google Drive, Dropbox and OneDrive are found by their address alone; their
//! direct form can replace them for one run (`--fix-share-links`), never in the user's file.
//! Only the manifest's own URLs are fetched: never the Pinterest API, and not Pinterest-hosted
//! images (`pinimg.com`, `pinterest.com`), which need no check.
//!
//! Destination links are followed too, with `validate --online` and `plan` ([`destinations`]).
//!
//! May use `manifest` and the API's HTTP client builder (for its TLS setup); never the terminal
//! (progress goes through [`LinkProgress`]).

pub mod destinations;
pub mod probe;
pub mod share;

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt as _;

use crate::manifest::files::MAX_IMAGE_BYTES;
use crate::manifest::{Diagnostic, ImageSource, Manifest, Media, PinSpec, VideoCover};
pub use probe::Verdict;

/// Requests in flight at once while checking links.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// How long one request of a link check may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How links are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkCheckOptions {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Timeout of each request.
    pub timeout: Duration,
}

impl Default for LinkCheckOptions {
    fn default() -> Self {
        LinkCheckOptions {
            concurrency: DEFAULT_CONCURRENCY,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Hears how a link check goes (a progress bar); every method has a no-op default.
pub trait LinkProgress: Send + Sync {
    /// The check starts with `total` distinct URLs.
    fn on_start(&self, _total: usize) {}
    /// One URL was checked.
    fn on_checked(&self, _url: &str, _verdict: &Verdict) {}
    /// Every URL was checked.
    fn on_finish(&self) {}
}

/// Hears nothing.
pub struct NoProgress;

impl LinkProgress for NoProgress {}

/// Why links could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum LinkCheckError {
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client for link checks")]
    Client(#[source] reqwest::Error),
}

/// One image URL and where a pin uses it.
struct Use<'a> {
    pin: &'a PinSpec,
    field: String,
    url: &'a str,
}

/// Every image URL of every pin (single images, carousel items, video covers).
fn uses(manifest: &Manifest) -> Vec<Use<'_>> {
    let mut out = Vec::new();
    for pin in &manifest.pins {
        match &pin.media {
            Media::Image(ImageSource::Url(url)) => out.push(Use {
                pin,
                field: "image".to_owned(),
                url,
            }),
            Media::Carousel(items) => {
                for (index, item) in items.iter().enumerate() {
                    if let ImageSource::Url(url) = &item.source {
                        out.push(Use {
                            pin,
                            field: format!("images[{}]", index + 1),
                            url,
                        });
                    }
                }
            }
            Media::Video(video) => {
                if let Some(VideoCover::Url(url)) = &video.cover {
                    out.push(Use {
                        pin,
                        field: "cover".to_owned(),
                        url,
                    });
                }
            }
            Media::Image(ImageSource::File(_)) => {}
        }
    }
    out
}

/// Every image URL of every pin, mutably, for rewriting.
fn urls_mut(pin: &mut PinSpec) -> Vec<&mut String> {
    match &mut pin.media {
        Media::Image(ImageSource::Url(url)) => vec![url],
        Media::Carousel(items) => items
            .iter_mut()
            .filter_map(|item| match &mut item.source {
                ImageSource::Url(url) => Some(url),
                ImageSource::File(_) => None,
            })
            .collect(),
        Media::Video(video) => match &mut video.cover {
            Some(VideoCover::Url(url)) => vec![url],
            _ => Vec::new(),
        },
        Media::Image(ImageSource::File(_)) => Vec::new(),
    }
}

/// What [`share_links`] found.
#[derive(Debug, Default)]
pub struct ShareLinkReport {
    /// Share links left as they are: errors saying what to do.
    pub diagnostics: Vec<Diagnostic>,
    /// How many URLs were replaced by their direct form.
    pub rewritten: usize,
}

/// Finds share links (offline). With `fix`, those with a direct form are replaced by it in
/// `manifest` (in memory: the file is never changed); the others, and all of them without
/// `fix`, are reported.
pub fn share_links(manifest: &mut Manifest, fix: bool) -> ShareLinkReport {
    let mut report = ShareLinkReport::default();
    if fix {
        for pin in &mut manifest.pins {
            for url in urls_mut(pin) {
                if let Some(direct) = share::recognise(url).and_then(|link| link.direct) {
                    *url = direct;
                    report.rewritten += 1;
                }
            }
        }
    }
    for found in uses(manifest) {
        let Some(link) = share::recognise(found.url) else {
            continue;
        };
        let message = format!(
            "`{}` is a {} share page, not the image itself",
            found.url, link.service
        );
        let hint = match &link.direct {
            Some(direct) => format!(
                "use the direct link {direct} (if the file is shared publicly), or pass --fix-share-links to send that instead; the manifest is not changed"
            ),
            None => link.advice.to_owned(),
        };
        report.diagnostics.push(
            Diagnostic::error(found.pin.location.clone(), message)
                .with_field(found.field)
                .with_hint(hint),
        );
    }
    report
}

/// Whether a URL is hosted by Pinterest itself, which the check leaves alone.
fn pinterest_hosted(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|host| {
            ["pinterest.com", "pinimg.com"]
                .iter()
                .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
        })
}

/// The URLs [`check`] would fetch: distinct, in first-use order, without share links (reported
/// offline) and Pinterest-hosted images.
pub fn urls_to_check(manifest: &Manifest) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    uses(manifest)
        .into_iter()
        .map(|found| found.url)
        .filter(|url| share::recognise(url).is_none() && !pinterest_hosted(url))
        .filter(|url| seen.insert(*url))
        .map(str::to_owned)
        .collect()
}

/// Fetches every distinct image URL of `manifest` once and returns a diagnostic for each use
/// of a URL Pinterest could not take.
pub async fn check(
    manifest: &Manifest,
    options: LinkCheckOptions,
    progress: &dyn LinkProgress,
) -> Result<Vec<Diagnostic>, LinkCheckError> {
    let urls = urls_to_check(manifest);
    progress.on_start(urls.len());
    if urls.is_empty() {
        progress.on_finish();
        return Ok(Vec::new());
    }
    let client = client(
        options.timeout,
        reqwest::redirect::Policy::limited(10),
        "image link check",
    )?;
    let timeout = options.timeout;
    let mut verdicts: HashMap<String, Verdict> = HashMap::with_capacity(urls.len());
    let mut checks = futures::stream::iter(urls)
        .map(|url| {
            let client = &client;
            async move {
                let verdict = probe::probe(client, &url, timeout).await;
                (url, verdict)
            }
        })
        .buffer_unordered(options.concurrency.max(1));
    while let Some((url, verdict)) = checks.next().await {
        progress.on_checked(&url, &verdict);
        verdicts.insert(url, verdict);
    }
    progress.on_finish();
    Ok(diagnostics(manifest, &verdicts))
}

/// The HTTP client of link checks: the API's TLS setup, `timeout` per request and to connect,
/// the redirect policy given, and a user agent naming pinbatch and `purpose`.
fn client(
    timeout: std::time::Duration,
    redirects: reqwest::redirect::Policy,
    purpose: &str,
) -> Result<reqwest::Client, LinkCheckError> {
    crate::api::http_client_builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(redirects)
        .user_agent(format!(
            "pinbatch/{} ({purpose})",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(LinkCheckError::Client)
}

/// A diagnostic for each use of a URL whose verdict is not an image Pinterest can take.
fn diagnostics(manifest: &Manifest, verdicts: &HashMap<String, Verdict>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for found in uses(manifest) {
        let Some(verdict) = verdicts.get(found.url) else {
            continue;
        };
        let url = found.url;
        let (message, hint) = match verdict {
            Verdict::Image {
                size: Some((width, height)),
                ..
            } if found.field != "cover" => {
                for finding in crate::manifest::media::feed_shape_of(url, *width, *height) {
                    let mut diagnostic =
                        Diagnostic::error(found.pin.location.clone(), finding.message)
                            .with_field(found.field.clone());
                    diagnostic.severity = finding.severity;
                    diagnostic.hint = finding.hint;
                    out.push(diagnostic);
                }
                continue;
            }
            Verdict::Image { .. } => continue,
            Verdict::Unreachable(why) => (
                format!("`{url}` is not reachable: {why}"),
                "check the address: Pinterest fetches it from the internet, without signing in"
                    .to_owned(),
            ),
            Verdict::NotAnImage { content_type } => (
                format!("`{url}` is not an image: the server answers with {content_type}"),
                "link the image file itself, not a page that shows it".to_owned(),
            ),
            Verdict::WrongImageType(kind) => (
                format!("`{url}` is {kind} image; Pinterest takes JPEG or PNG"),
                "convert it to JPEG or PNG".to_owned(),
            ),
            Verdict::TooLarge(len) => (
                format!(
                    "`{url}` is {}, larger than the {} Pinterest accepts",
                    megabytes(*len),
                    megabytes(MAX_IMAGE_BYTES)
                ),
                "make the image smaller".to_owned(),
            ),
            Verdict::LoginPage(page) => (
                format!("`{url}` redirects to a sign-in page ({page}): the file is not public"),
                "share it publicly (anyone with the link can view), or host it elsewhere"
                    .to_owned(),
            ),
        };
        out.push(
            Diagnostic::error(found.pin.location.clone(), message)
                .with_field(found.field)
                .with_hint(hint),
        );
    }
    out
}

fn megabytes(len: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mb = len as f64 / (1024.0 * 1024.0);
    format!("{mb:.1} MB")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::*;
    use crate::manifest::{CarouselItem, Location, Position};

    fn pin(key: &str, media: Media) -> PinSpec {
        PinSpec {
            location: Location {
                file: Arc::from("m.csv"),
                position: Position::Row { row: 2, line: 2 },
            },
            ..PinSpec::sample(key, "B", media)
        }
    }

    fn url(text: &str) -> ImageSource {
        ImageSource::Url(text.to_owned())
    }

    fn manifest(pins: Vec<PinSpec>) -> Manifest {
        Manifest {
            path: PathBuf::from("m.csv"),
            boards: Vec::new(),
            pins,
            schedule: None,
        }
    }

    #[test]
    fn share_links_are_reported_or_rewritten_for_the_run() {
        let drive = "https://drive.google.com/file/d/1AbC/view?usp=sharing";
        let short = "https://1drv.ms/i/s!x";
        let mut reported = manifest(vec![
            pin("a", Media::Image(url(drive))),
            pin("b", Media::Image(url(short))),
        ]);
        let report = share_links(&mut reported, false);
        assert_eq!(report.rewritten, 0);
        assert_eq!(report.diagnostics.len(), 2);
        assert!(
            report.diagnostics[0]
                .message
                .contains("Google Drive share page")
        );
        assert!(
            report.diagnostics[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("uc?export=download&id=1AbC")
        );
        let mut fixed = reported.clone();
        let report = share_links(&mut fixed, true);
        assert_eq!(report.rewritten, 1);
        assert_eq!(
            report.diagnostics.len(),
            1,
            "OneDrive short links have no direct form"
        );
        assert_eq!(
            fixed.pins[0].media,
            Media::Image(url("https://drive.google.com/uc?export=download&id=1AbC"))
        );
        assert_eq!(fixed.pins[0].key, "a", "keys stay as written");
    }

    #[test]
    fn each_distinct_url_is_checked_once() {
        let carousel = Media::Carousel(vec![
            CarouselItem {
                source: url("https://cdn.example/a.jpg"),
                title: None,
                description: None,
                link: None,
            },
            CarouselItem {
                source: url("https://cdn.example/b.jpg"),
                title: None,
                description: None,
                link: None,
            },
        ]);
        let m = manifest(vec![
            pin("a", Media::Image(url("https://cdn.example/a.jpg"))),
            pin("b", carousel),
            pin("c", Media::Image(url("https://i.pinimg.com/x.jpg"))),
            pin(
                "d",
                Media::Image(url("https://www.dropbox.com/s/x/y.jpg?dl=0")),
            ),
        ]);
        assert_eq!(
            urls_to_check(&m),
            ["https://cdn.example/a.jpg", "https://cdn.example/b.jpg"]
        );
        let verdicts = HashMap::from([
            (
                "https://cdn.example/a.jpg".to_owned(),
                Verdict::NotAnImage {
                    content_type: "text/html".into(),
                },
            ),
            (
                "https://cdn.example/b.jpg".to_owned(),
                Verdict::Image {
                    mime: "image/jpeg",
                    len: None,
                    size: None,
                },
            ),
        ]);
        let found = diagnostics(&m, &verdicts);
        let fields: Vec<&str> = found.iter().filter_map(|d| d.field.as_deref()).collect();
        assert_eq!(fields, ["image", "images[1]"], "one diagnostic per use");
    }
}
