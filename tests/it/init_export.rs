//! `init` and `export` through the binary: a scaffolded manifest validates and applies against
//! the emulator; an exported bulk CSV reads back as the same pins; large exports are split.

use std::path::{Path, PathBuf};

use pinbatch::manifest::{self, Manifest, PinSpec};
use predicates::prelude::*;

use crate::common::TestEmulator;
use crate::video::{TINY_JPEG, tiny_mp4};

/// The binary for offline commands, with an isolated environment.
fn pinbatch_offline() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_pinbatch"));
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("PINTEREST_") || text.starts_with("PINBATCH_") {
            command.env_remove(&name);
        }
    }
    command.env("NO_COLOR", "1").arg("--no-progress");
    command
}

/// A folder with two images (one in a subfolder, one with an upper-case extension), a video and
/// a file that only pretends to be an image.
fn media_folder(root: &Path) -> PathBuf {
    let dir = root.join("media");
    std::fs::create_dir_all(dir.join("cats")).unwrap();
    std::fs::write(dir.join("cats/sleepy_cat.jpg"), TINY_JPEG).unwrap();
    std::fs::write(dir.join("Big-Dog.JPEG"), TINY_JPEG).unwrap();
    std::fs::write(dir.join("run-fast.mp4"), tiny_mp4(b"run")).unwrap();
    std::fs::write(dir.join("fake.png"), b"not a png").unwrap();
    dir
}

fn load(path: &Path) -> Manifest {
    let outcome = manifest::load(path);
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    outcome.manifest.unwrap()
}

#[test]
fn init_validate_apply_and_a_rerun_changes_nothing() {
    let emu = TestEmulator::with_faults("media-polls=1");
    emu.emu().seed_board("Pets", "PUBLIC");
    let root = tempfile::tempdir().unwrap();
    let dir = media_folder(root.path());
    emu.pinbatch()
        .args(["init", "--board", "Pets"])
        .arg(&dir)
        .assert()
        .success()
        .stderr(predicate::str::contains("3 pin(s)"))
        .stderr(predicate::str::contains("fake.png"));
    let manifest_path = dir.join("pins.csv");
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    assert_eq!(
        text,
        "id,board,title,image,video\n\
         Big-Dog.JPEG,Pets,Big Dog,Big-Dog.JPEG,\n\
         cats/sleepy_cat.jpg,Pets,sleepy cat,cats/sleepy_cat.jpg,\n\
         run-fast.mp4,Pets,run fast,,run-fast.mp4\n"
    );
    emu.pinbatch()
        .arg("validate")
        .arg(&manifest_path)
        .assert()
        .success();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest_path)
        .assert()
        .success()
        .stderr(predicate::str::contains("3 created"));
    let snapshot = emu.emu().snapshot();
    let mut titles: Vec<String> = snapshot
        .pins
        .iter()
        .filter_map(|p| p.title.clone())
        .collect();
    titles.sort();
    assert_eq!(titles, ["Big Dog", "run fast", "sleepy cat"]);

    let manifest_arg = manifest_path.to_str().unwrap();
    emu.assert_rerun_sends_nothing(&[manifest_arg], "3 unchanged");

    // A second init does not overwrite the manifest without --force.
    emu.pinbatch()
        .args(["init", "--board", "Other"])
        .arg(&dir)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read_to_string(&manifest_path).unwrap(), text);
    emu.assert_no_spec_violations();
}

#[test]
fn init_writes_yaml_beside_another_folder_and_needs_force_to_replace() {
    let root = tempfile::tempdir().unwrap();
    let dir = media_folder(root.path());
    let out = root.path().join("manifests/pins.yaml");
    pinbatch_offline()
        .args(["init", "--board", "Pets: \"best\"", "--glob", "**/*.jpg"])
        .arg(&dir)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("# yaml-language-server: $schema="),
        "{text}"
    );
    pinbatch_offline()
        .arg("validate")
        .arg(&out)
        .assert()
        .success();
    let manifest = load(&out);
    assert_eq!(manifest.pins.len(), 1, "only the .jpg matched");
    let pin = &manifest.pins[0];
    assert_eq!(pin.key, "cats/sleepy_cat.jpg");
    assert_eq!(pin.board.to_string(), "Pets: \"best\"");
    assert!(text.contains("\"../media/cats/sleepy_cat.jpg\""), "{text}");

    pinbatch_offline()
        .args(["init"])
        .arg(&dir)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1);
    pinbatch_offline()
        .args(["init", "--force"])
        .arg(&dir)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("Fill in the board"));
    // Without --board the manifest says where the board goes, and validate insists on it.
    pinbatch_offline()
        .arg("validate")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("board"));
}

#[test]
fn init_refuses_an_unknown_format_and_an_empty_match() {
    let root = tempfile::tempdir().unwrap();
    let dir = media_folder(root.path());
    pinbatch_offline()
        .args(["init", "-o", "pins.txt"])
        .arg(&dir)
        .assert()
        .code(2);
    pinbatch_offline()
        .args(["init", "--glob", "**/*.gif"])
        .arg(&dir)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nothing was written"));
    assert!(!dir.join("pins.csv").exists());
}

/// The fields the bulk CSV carries, for comparing pins across formats.
#[derive(Debug, PartialEq)]
struct BulkView {
    title: Option<String>,
    board: String,
    section: Option<String>,
    link: Option<String>,
    description: Option<String>,
    media: String,
    publish_at: Option<jiff::Timestamp>,
}

fn bulk_view(pin: &PinSpec) -> BulkView {
    let media = match &pin.media {
        manifest::Media::Image(manifest::ImageSource::Url(url)) => url.clone(),
        manifest::Media::Image(manifest::ImageSource::File(image)) => {
            image.path.canonicalize().unwrap().display().to_string()
        }
        manifest::Media::Video(video) => video.path.canonicalize().unwrap().display().to_string(),
        manifest::Media::Carousel(_) => unreachable!("carousels are not exported"),
    };
    BulkView {
        title: pin.title.clone(),
        board: pin.board.to_string(),
        section: pin.section.clone(),
        link: pin.link.clone(),
        description: pin.description.clone(),
        media,
        publish_at: pin.publish_at,
    }
}

#[test]
fn an_exported_bulk_csv_reads_back_as_the_same_pins() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("images")).unwrap();
    std::fs::write(root.path().join("images/cat.jpg"), TINY_JPEG).unwrap();
    let source = root.path().join("pins.yaml");
    std::fs::write(
        &source,
        r#"version: 1
defaults:
  board: "Animals 動物"
pins:
  - id: cat
    title: "Sleeping cat, calm"
    section: Cats
    description: "A very \"calm\" cat"
    link: https://example.com/cats
    image: https://example.com/cat.jpg
    publish_at: 2026-12-24T10:00:00+01:00
  - id: dog
    title: Dog
    image: https://example.com/dog.png
    link: https://example.com/dogs
  - id: local
    title: Local cat
    image: images/cat.jpg
  - id: slides
    title: Carousel
    images: [https://example.com/1.jpg, https://example.com/2.jpg]
"#,
    )
    .unwrap();
    let out = root.path().join("export/bulk.csv");
    pinbatch_offline()
        .arg("export")
        .arg(&source)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("pin `slides`").and(predicate::str::contains("carousels")))
        .stderr(
            predicate::str::contains("pin `local`").and(predicate::str::contains("public URL")),
        );
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("Title,Media URL,Pinterest board,Thumbnail,Description,Link,Publish date,Keywords")
    );
    assert_eq!(
        lines.next(),
        Some(
            "\"Sleeping cat, calm\",https://example.com/cat.jpg,Animals 動物 / Cats,,\"A very \"\"calm\"\" cat\",https://example.com/cats,2026-12-24T09:00:00,"
        )
    );
    assert!(text.contains("../images/cat.jpg"), "{text}");

    pinbatch_offline()
        .arg("validate")
        .arg(&out)
        .assert()
        .success();
    let original = load(&source);
    let exported = load(&out);
    let expected: Vec<_> = original
        .pins
        .iter()
        .filter(|pin| pin.key != "slides")
        .map(bulk_view)
        .collect();
    let actual: Vec<_> = exported.pins.iter().map(bulk_view).collect();
    assert_eq!(actual, expected);
}

#[test]
fn exports_above_200_rows_are_split_into_numbered_files() {
    let root = tempfile::tempdir().unwrap();
    let source = root.path().join("many.yaml");
    let mut text = String::from("version: 1\ndefaults:\n  board: Bulk\npins:\n");
    for i in 0..450 {
        text.push_str(&format!(
            "  - title: Pin {i}\n    image: https://example.com/{i}.jpg\n"
        ));
    }
    std::fs::write(&source, text).unwrap();
    let out = root.path().join("bulk.csv");
    pinbatch_offline()
        .arg("export")
        .arg(&source)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    assert!(!out.exists(), "a split export writes numbered files only");
    let mut titles = Vec::new();
    for (n, rows) in [(1, 200), (2, 200), (3, 50)] {
        let part = root.path().join(format!("bulk-{n}.csv"));
        pinbatch_offline()
            .arg("validate")
            .arg(&part)
            .assert()
            .success();
        let manifest = load(&part);
        assert_eq!(manifest.pins.len(), rows, "{}", part.display());
        titles.extend(manifest.pins.iter().filter_map(|p| p.title.clone()));
    }
    assert!(!root.path().join("bulk-4.csv").exists());
    let expected: Vec<String> = (0..450).map(|i| format!("Pin {i}")).collect();
    assert_eq!(titles, expected, "every pin once, in order");

    // A smaller export to the same name leaves bulk-3.csv behind: it is named, not deleted.
    let fewer = root.path().join("fewer.yaml");
    let text = std::fs::read_to_string(&source).unwrap();
    let kept: Vec<&str> = text.lines().take(4 + 2 * 250).collect();
    std::fs::write(&fewer, kept.join("\n")).unwrap();
    pinbatch_offline()
        .arg("export")
        .arg(&fewer)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "warning: {} is left from an earlier export",
            root.path().join("bulk-3.csv").display()
        )))
        .stderr(predicate::str::contains("bulk-2.csv is left").not());
    assert_eq!(load(&root.path().join("bulk-2.csv")).pins.len(), 50);
    assert!(root.path().join("bulk-3.csv").exists());
}
