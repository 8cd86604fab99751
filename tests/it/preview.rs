//! `pinbatch preview`: the page is one self-contained HTML file, and it looks right in a real
//! browser: headless Chromium loads it (with no network), the DOM holds a card per pin with its
//! state and problems, every embedded thumbnail decodes, and a screenshot shows the page.
//!
//! The browser is Debian's `chromium` (`.ci/run` installs it), or the one named by
//! `PINBATCH_TEST_CHROMIUM`. Where none can be found, the browser part is skipped with a
//! printed reason; the checks of the file itself always run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::common::TestEmulator;

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PINBATCH_TEST_CHROMIUM") {
        return Some(PathBuf::from(path)).filter(|path| path.is_file());
    }
    let paths = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&paths) {
        for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Runs Chromium headless on `page` with the flags this machine needs (no sandbox as root, no
/// GPU, no background connections), giving up after a minute.
fn chromium(browser: &Path, profile: &Path, page: &Path, extra: &[&str]) -> std::process::Output {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn copy_example_image(dir: &Path, name: &str) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/images")
        .join(name);
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::copy(source, dir.join("images").join(name)).unwrap();
}

const APPLIED: &str = "version: 1
defaults:
  board: Animals
pins:
  - id: refused
    title: Refused by the server
    image: https://example.com/refused.jpg
  - id: cat
    section: Cats
    title: \"Sleeping <cat> & friends\"
    description: A very calm cat
    link: https://shop.example.com/cats?x=1
    alt_text: A ginger cat asleep
    image: images/cat.jpg
  - id: pair
    title: Cat and dog
    images: [images/cat.jpg, images/dog.png]
  - id: later
    board: Nature
    title: Next year
    publish_at: 2099-01-01 09:00
    image: https://example.com/later.jpg
";

#[test]
fn the_preview_is_self_contained_and_renders_in_chromium() {
    let emu = TestEmulator::with_faults("fail-first=1,status=400");
    emu.seed_board("Animals", "PUBLIC");
    emu.seed_board("Nature", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    copy_example_image(dir.path(), "cat.jpg");
    copy_example_image(dir.path(), "dog.png");
    let manifest = dir.path().join("pins.yaml");
    std::fs::write(&manifest, APPLIED).unwrap();
    // One at a time, so the first create (the refused pin) is the one the fault fails.
    emu.pinbatch()
        .args(["apply", "-j", "1", "--create-boards", "--timezone", "UTC"])
        .arg(&manifest)
        .assert()
        .code(1);
    // A pin added afterwards with a problem: shown, with its diagnostic, as invalid.
    let mut text = APPLIED.to_owned();
    text.push_str("  - id: broken\n    title: Missing picture\n    image: images/nowhere.jpg\n");
    std::fs::write(&manifest, text).unwrap();
    let page = dir.path().join("preview.html");
    emu.pinbatch()
        .args(["preview", "--timezone", "Asia/Tokyo", "-o"])
        .arg(&page)
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("5 pin(s), 1 error(s)"));
    let html = std::fs::read_to_string(&page).unwrap();

    // Self-contained: nothing to fetch.
    for outside in ["src=\"http", "src='http", "url(http", "<link", "@import"] {
        assert!(!html.contains(outside), "the page loads `{outside}...`");
    }
    assert_eq!(html.matches("<article").count(), 5);
    assert_eq!(
        html.matches("<img class=\"thumb\" src=\"data:image/")
            .count(),
        3
    );
    assert!(html.contains("Sleeping &lt;cat&gt; &amp; friends"));
    assert!(html.contains("Publish at: 2099-01-01 09:00 Asia/Tokyo (+09)"));

    let Some(browser) = find_chromium() else {
        eprintln!(
            "skipped the browser checks: no Chromium found (install Debian's `chromium` package, as .ci/run does, or set PINBATCH_TEST_CHROMIUM)"
        );
        return;
    };
    let profile = tempfile::tempdir().unwrap();
    let dom = chromium(&browser, profile.path(), &page, &["--dump-dom"]);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    // The page's script ran after load: every embedded thumbnail decoded.
    assert!(dom.contains("data-thumbnails-shown=\"3\""), "{dom}");
    assert!(!dom.contains("thumb broken"), "a thumbnail did not decode");
    let card = |key: &str| {
        let at = dom
            .find(&format!("data-key=\"{key}\""))
            .unwrap_or_else(|| panic!("no card {key}"));
        let start = dom[..at].rfind("<article").unwrap();
        let end = dom[start..].find("</article>").unwrap() + start;
        dom[start..end].to_owned()
    };
    let refused = card("refused");
    assert!(refused.contains("data-state=\"failed\""), "{refused}");
    assert!(refused.contains("class=\"badge failed\""));
    let cat = card("cat");
    assert!(cat.contains("data-state=\"done\""), "{cat}");
    assert!(cat.contains("href=\"https://www.pinterest.com/pin/"));
    assert!(cat.contains(">shop.example.com</a>"));
    assert!(cat.contains("Alt text: A ginger cat asleep"));
    assert!(card("pair").contains("class=\"strip carousel\""));
    assert!(card("later").contains("data-state=\"scheduled\""));
    let broken = card("broken");
    assert!(broken.contains("data-state=\"invalid\""), "{broken}");
    assert!(broken.contains("file not found"), "{broken}");
    let animals = dom.find("data-board=\"Animals\"").unwrap();
    let cats = dom.find("data-section=\"Cats\"").unwrap();
    let nature = dom.find("data-board=\"Nature\"").unwrap();
    assert!(
        animals < cats && cats < nature,
        "grouped by board, then section"
    );

    // It looks like a page: a screenshot with the failed badge's colour and the thumbnails'.
    let shot = dir.path().join("preview.png");
    let output = chromium(
        &browser,
        profile.path(),
        &page,
        &[
            "--window-size=1200,1400",
            "--hide-scrollbars",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let image = image::open(&shot).expect("a PNG screenshot").to_rgb8();
    assert_eq!(image.dimensions(), (1200, 1400));
    let count = |wanted: [u8; 3]| {
        image
            .pixels()
            .filter(|p| p.0.iter().zip(wanted).all(|(a, b)| a.abs_diff(b) <= 3))
            .count()
    };
    assert!(count([0xff, 0xeb, 0xe9]) > 100, "the failed badge is drawn");
    assert!(count([0xda, 0xfb, 0xe1]) > 100, "the done badge is drawn");
    let colours: std::collections::HashSet<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    assert!(
        colours.len() > 200,
        "thumbnails and text are drawn ({} colours)",
        colours.len()
    );
    emu.assert_no_spec_violations();
}

#[test]
fn a_manifest_that_cannot_be_read_still_gets_a_page_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("p.html");
    assert_cmd::Command::cargo_bin("pinbatch")
        .unwrap()
        .args(["preview", "-o"])
        .arg(&page)
        .arg(dir.path().join("missing.csv"))
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("Problems in the file"));
    assert!(html.contains("cannot read the manifest"));
}
