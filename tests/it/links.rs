//! Image links checked before any write: `validate --online` and `plan` fetch each distinct
//! image URL from a local server (127.0.0.1, port 0) that serves images, HTML pages, redirects
//! to a sign-in page, a large file and a slow answer; share links are found offline and
//! `--fix-share-links` sends their direct form.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use predicates::prelude::*;

use crate::common::TestEmulator;

/// A JPEG's header (1000 x 1500) and no pixels: what the check reads of an image.
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xC0\0\x11\x08\x05\xDC\x03\xE8\x03\x01\x22\0\x02\x11\x01\x03\x11\x01\xFF\xD9";
/// A PNG's header (1000 x 1500).
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x03\xe8\0\0\x05\xdc\x08\x02\0\0\0\0\0\0\0";
/// A PNG's header of 1000 x 2500: taller than the feed shows.
const TALL_PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x03\xe8\0\0\x09\xc4\x08\x02\0\0\0\0\0\0\0";
const WEBP: &[u8] = b"RIFF\x20\0\0\0WEBPVP8 rest of a webp";
const HUGE: u64 = 25 * 1024 * 1024;

type Hits = Arc<Mutex<Vec<(String, String)>>>;

/// A local image host: every request is recorded as (method, path).
struct ImageServer {
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    hits: Hits,
}

impl ImageServer {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let hits: Hits = Arc::default();
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(Arc::clone(&hits));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ImageServer {
            runtime,
            addr,
            hits,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self, method: &str, path: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, p)| m == method && p == path)
            .count()
    }

    fn total_hits(&self) -> usize {
        self.hits.lock().unwrap().len()
    }
}

impl Drop for ImageServer {
    fn drop(&mut self) {
        // Ends the server task; slow handlers still sleeping are dropped with the runtime.
        let runtime = std::mem::replace(
            &mut self.runtime,
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
        );
        runtime.shutdown_background();
    }
}

fn bytes(content_type: &str, body: &'static [u8]) -> Response {
    ([(header::CONTENT_TYPE, content_type.to_owned())], body).into_response()
}

async fn serve(State(hits): State<Hits>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_owned();
    hits.lock()
        .unwrap()
        .push((method.to_string(), path.clone()));
    let ranged = headers.contains_key(header::RANGE);
    match path.as_str() {
        "/cat.jpg" => bytes("image/jpeg", JPEG),
        "/no-head.png" if method == Method::HEAD => StatusCode::METHOD_NOT_ALLOWED.into_response(),
        "/no-head.png" => bytes("image/png", PNG),
        "/tall.png" => bytes("image/png", TALL_PNG),
        "/page.html" => bytes(
            "text/html; charset=utf-8",
            b"<!DOCTYPE html><html>a page</html>",
        ),
        "/photo.webp" => bytes("application/octet-stream", WEBP),
        "/huge.jpg" if method == Method::HEAD => {
            ([(header::CONTENT_TYPE, "image/jpeg")], ()).into_response()
        }
        "/huge.jpg" if ranged => (
            StatusCode::PARTIAL_CONTENT,
            [
                (header::CONTENT_TYPE, "image/jpeg".to_owned()),
                (
                    header::CONTENT_RANGE,
                    format!("bytes 0-{}/{HUGE}", JPEG.len() - 1),
                ),
            ],
            JPEG,
        )
            .into_response(),
        "/private.jpg" => (
            StatusCode::FOUND,
            [(header::LOCATION, "/users/sign_in?next=/private.jpg")],
        )
            .into_response(),
        "/users/sign_in" => bytes("text/html", b"<html><form>Sign in</form></html>"),
        "/slow.jpg" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            bytes("image/jpeg", JPEG)
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A CSV manifest with one pin per URL, rows 2, 3, ...
fn csv_manifest(dir: &std::path::Path, urls: &[String]) -> std::path::PathBuf {
    let mut text = String::from("id,board,title,image\n");
    for (i, url) in urls.iter().enumerate() {
        text.push_str(&format!("p{i},Animals,Pin {i},{url}\n"));
    }
    let path = dir.join("pins.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn validate_online_reports_each_unusable_link_on_its_pin() {
    let server = ImageServer::start();
    let dir = tempfile::tempdir().unwrap();
    let urls: Vec<String> = [
        "/cat.jpg",
        "/cat.jpg",
        "/no-head.png",
        "/page.html",
        "/photo.webp",
        "/huge.jpg",
        "/private.jpg",
        "/missing.jpg",
        "/slow.jpg",
        "/tall.png",
    ]
    .iter()
    .map(|path| server.url(path))
    .collect();
    csv_manifest(dir.path(), &urls);
    let assert = assert_cmd::Command::cargo_bin("pinbatch")
        .unwrap()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args([
            "--no-progress",
            "validate",
            "--online",
            "--link-timeout",
            "2s",
            "pins.csv",
        ])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let base = server.url("");
    for expected in [
        format!(
            "pins.csv: row 5: error: image: `{base}/page.html` is not an image: the server answers with text/html; charset=utf-8"
        ),
        format!(
            "pins.csv: row 6: error: image: `{base}/photo.webp` is a WebP image; Pinterest takes JPEG or PNG"
        ),
        format!(
            "pins.csv: row 7: error: image: `{base}/huge.jpg` is 25.0 MB, larger than the 20.0 MB Pinterest accepts"
        ),
        format!(
            "pins.csv: row 8: error: image: `{base}/private.jpg` redirects to a sign-in page ({base}/users/sign_in?next=/private.jpg): the file is not public"
        ),
        format!(
            "pins.csv: row 9: error: image: `{base}/missing.jpg` is not reachable: HTTP 404 Not Found"
        ),
        format!(
            "pins.csv: row 10: error: image: `{base}/slow.jpg` is not reachable: no answer within 2s"
        ),
        format!(
            "pins.csv: row 11: warning: image: {base}/tall.png is 1000 x 2500 (1:2.50), taller than 1:2.1: the feed cuts it off"
        ),
        "pins.csv: invalid, 6 errors, 1 warning".to_owned(),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing `{expected}` in:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("row 2:") && !stderr.contains("row 3:") && !stderr.contains("row 4:"),
        "{stderr}"
    );
    // Two pins use the cat: it was asked for once, HEAD then its first bytes for its size.
    assert_eq!(server.hits("HEAD", "/cat.jpg"), 1);
    assert_eq!(server.hits("GET", "/cat.jpg"), 1);
    // HEAD refused: the first bytes were fetched instead.
    assert_eq!(server.hits("GET", "/no-head.png"), 1);
}

#[test]
fn validate_without_online_fetches_nothing() {
    let server = ImageServer::start();
    let dir = tempfile::tempdir().unwrap();
    csv_manifest(dir.path(), &[server.url("/page.html")]);
    assert_cmd::Command::cargo_bin("pinbatch")
        .unwrap()
        .current_dir(dir.path())
        .args(["validate", "pins.csv"])
        .assert()
        .success();
    assert_eq!(server.total_hits(), 0);
}

#[test]
fn plan_checks_links_unless_offline_or_told_not_to() {
    let server = ImageServer::start();
    let emu = TestEmulator::start();
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = csv_manifest(
        dir.path(),
        &[server.url("/cat.jpg"), server.url("/page.html")],
    );
    emu.pinbatch()
        .env_remove("PINBATCH_NO_LINK_CHECK")
        .arg("plan")
        .arg(&manifest)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Plan: 2 create"))
        .stderr(predicate::str::contains("row 3: error: image:"))
        .stderr(predicate::str::contains("is not an image"));
    let checked = server.total_hits();
    assert!(checked >= 2, "the links were fetched");
    for flags in [&["--offline"][..], &["--no-link-check"][..]] {
        emu.pinbatch()
            .env_remove("PINBATCH_NO_LINK_CHECK")
            .arg("plan")
            .args(flags)
            .arg(&manifest)
            .assert()
            .success();
    }
    // PINBATCH_NO_LINK_CHECK=1, as the test harness sets it, does the same.
    emu.pinbatch().arg("plan").arg(&manifest).assert().success();
    assert_eq!(server.total_hits(), checked, "no link was fetched again");
    // The link check never goes to the Pinterest API: only the boards were listed there.
    let api_paths: Vec<String> = emu.requests().iter().map(|r| r.path.clone()).collect();
    assert!(api_paths.iter().all(|p| p == "/v5/boards"), "{api_paths:?}");
}

#[test]
fn share_links_are_refused_before_any_write_unless_fixed_for_the_run() {
    let emu = TestEmulator::start();
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let dropbox = "https://www.dropbox.com/s/abc123/cat.jpg?dl=0".to_owned();
    let manifest = csv_manifest(dir.path(), std::slice::from_ref(&dropbox));
    let original = std::fs::read(&manifest).unwrap();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "row 2: error: image: `https://www.dropbox.com/s/abc123/cat.jpg?dl=0` is a Dropbox share page, not the image itself",
        ))
        .stderr(predicate::str::contains("https://www.dropbox.com/s/abc123/cat.jpg?raw=1"))
        .stderr(predicate::str::contains("--fix-share-links"));
    assert_eq!(emu.creates(), 0);
    emu.pinbatch()
        .args(["apply", "--fix-share-links"])
        .arg(&manifest)
        .assert()
        .success();
    let sent: Vec<serde_json::Value> = emu
        .requests()
        .iter()
        .filter(|r| r.is("POST", "/v5/pins"))
        .filter_map(|r| r.body.clone())
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]["media_source"]["url"],
        "https://www.dropbox.com/s/abc123/cat.jpg?raw=1"
    );
    assert_eq!(
        std::fs::read(&manifest).unwrap(),
        original,
        "the file is not changed"
    );
    // validate reports the share link offline too, and accepts it fixed for the run.
    emu.pinbatch()
        .arg("validate")
        .arg(&manifest)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is a Dropbox share page"));
    emu.pinbatch()
        .args(["validate", "--fix-share-links"])
        .arg(&manifest)
        .assert()
        .success();
    emu.assert_no_spec_violations();
}

#[test]
fn a_link_to_a_port_nothing_listens_on_says_the_server_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    csv_manifest(dir.path(), &[format!("http://127.0.0.1:{port}/cat.jpg")]);
    let assert = assert_cmd::Command::cargo_bin("pinbatch")
        .unwrap()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["--no-progress", "validate", "--online", "pins.csv"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("is not reachable: the server refused the connection"),
        "{stderr}"
    );
}
