//! One image URL, looked at from the outside: a `HEAD`, then (when that says nothing useful) a
//! `GET` of the first bytes only, and a verdict a person can act on.
//!
//! Only the user's own URLs are fetched, each at most twice, with a timeout; at most
//! [`HEAD_BYTES`] of a body are read, whatever the server sends (enough for an image's size).

use std::time::Duration;

use futures::StreamExt as _;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RANGE};

use crate::api::reach::ConnectFailure;
use crate::manifest::files::MAX_IMAGE_BYTES;

/// How many bytes of an image are read to tell what it is and how large it is (a JPEG's frame
/// header follows its EXIF data, which rarely passes 64 KiB).
pub const HEAD_BYTES: usize = 64 * 1024;

/// What a URL turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A JPEG or PNG Pinterest can fetch (size when the server said).
    Image {
        /// `image/jpeg` or `image/png`.
        mime: &'static str,
        /// Bytes, when known.
        len: Option<u64>,
        /// Width and height as shown, when its first bytes held its header.
        size: Option<(u32, u32)>,
    },
    /// No usable answer: connection refused, timeout, or an HTTP error status.
    Unreachable(String),
    /// An answer that is not an image (an HTML page, ...), with the content type seen.
    NotAnImage {
        /// The server's content type (or what the bytes look like).
        content_type: String,
    },
    /// An image of another type (WebP, GIF, ...).
    WrongImageType(String),
    /// Larger than Pinterest accepts.
    TooLarge(u64),
    /// Redirected to a sign-in page: the file is not public.
    LoginPage(String),
}

impl Verdict {
    /// True when Pinterest can use the URL.
    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Image { .. })
    }
}

/// What the first bytes of a body are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sniffed {
    Jpeg,
    Png,
    Html,
    Other(&'static str),
    Unknown,
}

fn sniff(bytes: &[u8]) -> Sniffed {
    let text_start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &bytes[i..]);
    let starts = |prefix: &[u8]| {
        text_start.len() >= prefix.len() && text_start[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    if bytes.starts_with(b"\xFF\xD8\xFF") {
        Sniffed::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Sniffed::Png
    } else if bytes.starts_with(b"GIF8") {
        Sniffed::Other("a GIF")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Sniffed::Other("a WebP")
    } else if bytes.starts_with(b"BM") {
        Sniffed::Other("a BMP")
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Sniffed::Other("a TIFF")
    } else if bytes.len() >= 12
        && &bytes[4..8] == b"ftyp"
        && matches!(&bytes[8..12], b"heic" | b"heix" | b"mif1" | b"avif")
    {
        Sniffed::Other("a HEIC/AVIF")
    } else if starts(b"<!doctype html") || starts(b"<html") || starts(b"<head") || starts(b"<!--") {
        Sniffed::Html
    } else if starts(b"<svg") || starts(b"<?xml") {
        Sniffed::Other("an SVG")
    } else {
        Sniffed::Unknown
    }
}

/// The media type of a `Content-Type` value, lowercase, without parameters.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether a final URL after redirects looks like a sign-in page.
fn looks_like_login(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let path = url.path().to_ascii_lowercase();
    matches!(
        host.as_str(),
        "accounts.google.com" | "login.microsoftonline.com" | "login.live.com"
    ) || [
        "login",
        "signin",
        "sign-in",
        "sign_in",
        "servicelogin",
        "auth",
    ]
    .iter()
    .any(|word| path.contains(word))
}

fn too_large_or_image(mime: &'static str, len: Option<u64>, size: Option<(u32, u32)>) -> Verdict {
    match len {
        Some(len) if len > MAX_IMAGE_BYTES => Verdict::TooLarge(len),
        _ => Verdict::Image { mime, len, size },
    }
}

/// The verdict of an answer that is not an image, telling a sign-in redirect apart.
fn not_an_image(requested: &str, response_url: &reqwest::Url, content_type: String) -> Verdict {
    let redirected = response_url.as_str() != requested;
    if redirected && looks_like_login(response_url) {
        Verdict::LoginPage(response_url.to_string())
    } else {
        Verdict::NotAnImage { content_type }
    }
}

fn transport_error(err: &reqwest::Error, timeout: Duration) -> Verdict {
    Verdict::Unreachable(transport_text(err, timeout))
}

/// What a failed request saw, for people: no answer in time, no connection, too many
/// redirects, or the error and its causes.
pub(super) fn transport_text(err: &reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        format!("no answer within {}", humantime::format_duration(timeout))
    } else if err.is_connect() {
        ConnectFailure::of(err).to_string()
    } else if err.is_redirect() {
        "too many redirects".to_owned()
    } else {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

pub(super) fn status_text(status: reqwest::StatusCode) -> String {
    format!(
        "HTTP {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .trim_end()
    .to_owned()
}

/// Looks at one URL: `HEAD` first (an error status, a page, or a length over the limit settle
/// it); then the first [`HEAD_BYTES`] bytes with a ranged `GET`, which tell what it is and, for
/// a JPEG or PNG, its width and height.
pub async fn probe(client: &reqwest::Client, url: &str, timeout: Duration) -> Verdict {
    match client.head(url).send().await {
        Ok(response) => {
            let status = response.status();
            if matches!(status.as_u16(), 404 | 410) {
                return Verdict::Unreachable(status_text(status));
            }
            if status.is_success() {
                let content_type = header(&response, CONTENT_TYPE).map(|v| media_type(&v));
                // A length of 0 on a HEAD says nothing (some servers send it for every HEAD).
                let len = header(&response, CONTENT_LENGTH)
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|len| *len > 0);
                match content_type.as_deref() {
                    // Too large by its length alone; otherwise its first bytes give its size.
                    Some("image/jpeg" | "image/png")
                        if len.is_some_and(|len| len > MAX_IMAGE_BYTES) =>
                    {
                        return Verdict::TooLarge(len.unwrap_or_default());
                    }
                    Some("text/html" | "application/xhtml+xml") => {
                        let full = header(&response, CONTENT_TYPE).unwrap_or_default();
                        return not_an_image(url, response.url(), full);
                    }
                    _ => {}
                }
            }
            // Anything else (no type, a generic type, no length, HEAD refused): look at bytes.
        }
        Err(err) if err.is_connect() || err.is_timeout() => return transport_error(&err, timeout),
        Err(_) => {}
    }
    first_bytes(client, url, timeout).await
}

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A ranged `GET` of the first bytes, read at most [`HEAD_BYTES`] deep.
async fn first_bytes(client: &reqwest::Client, url: &str, timeout: Duration) -> Verdict {
    let response = match client
        .get(url)
        .header(RANGE, format!("bytes=0-{}", HEAD_BYTES - 1))
        .send()
        .await
    {
        Ok(response) => response,
        Err(err) => return transport_error(&err, timeout),
    };
    let status = response.status();
    if status.as_u16() == 416 {
        return Verdict::NotAnImage {
            content_type: "an empty file".to_owned(),
        };
    }
    if !status.is_success() {
        return Verdict::Unreachable(status_text(status));
    }
    let content_type = header(&response, CONTENT_TYPE).unwrap_or_default();
    // The whole size: after the `/` of Content-Range for a 206, Content-Length for a 200.
    let len = if status.as_u16() == 206 {
        header(&response, CONTENT_RANGE).and_then(|v| {
            v.rsplit('/')
                .next()
                .and_then(|n| n.trim().parse::<u64>().ok())
        })
    } else {
        header(&response, CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok())
    };
    let final_url = response.url().clone();
    let mut head = Vec::with_capacity(HEAD_BYTES);
    let mut body = response.bytes_stream();
    while head.len() < HEAD_BYTES {
        match body.next().await {
            Some(Ok(chunk)) => {
                let room = HEAD_BYTES - head.len();
                head.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Some(Err(err)) => return transport_error(&err, timeout),
            None => break,
        }
    }
    // Dropping the body stops the download here.
    drop(body);
    let size = crate::manifest::image::read_header(&head)
        .ok()
        .map(|header| header.shown_size());
    match sniff(&head) {
        Sniffed::Jpeg => too_large_or_image("image/jpeg", len, size),
        Sniffed::Png => too_large_or_image("image/png", len, size),
        Sniffed::Other(kind) => Verdict::WrongImageType(kind.to_owned()),
        Sniffed::Html => not_an_image(
            url,
            &final_url,
            if content_type.is_empty() {
                "an HTML page".to_owned()
            } else {
                content_type
            },
        ),
        Sniffed::Unknown if head.is_empty() => Verdict::NotAnImage {
            content_type: "an empty answer".to_owned(),
        },
        Sniffed::Unknown => not_an_image(
            url,
            &final_url,
            if content_type.is_empty() {
                "no content type".to_owned()
            } else {
                content_type
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_tell_what_a_file_is() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Sniffed::Jpeg);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Sniffed::Png);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Sniffed::Other("a WebP"));
        assert_eq!(sniff(b"GIF89a"), Sniffed::Other("a GIF"));
        assert_eq!(sniff(b"\n  <!DOCTYPE html><html>"), Sniffed::Html);
        assert_eq!(sniff(b"<HTML><body>"), Sniffed::Html);
        assert_eq!(sniff(b"\0\0\0\x18ftypheic"), Sniffed::Other("a HEIC/AVIF"));
        assert_eq!(sniff(b"plain text"), Sniffed::Unknown);
    }

    #[test]
    fn sign_in_pages_are_recognised_by_their_address() {
        for url in [
            "https://accounts.google.com/ServiceLogin?continue=x",
            "https://example.com/login?next=/cat.jpg",
            "https://login.microsoftonline.com/common/oauth2",
            "http://127.0.0.1:9/users/sign_in",
        ] {
            assert!(looks_like_login(&url.parse().unwrap()), "{url}");
        }
        assert!(!looks_like_login(
            &"https://cdn.example.com/cat.jpg".parse().unwrap()
        ));
    }

    #[test]
    fn content_types_lose_their_parameters() {
        assert_eq!(media_type("Text/HTML; charset=utf-8"), "text/html");
        assert_eq!(media_type("image/png"), "image/png");
    }
}
