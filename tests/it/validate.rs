//! `pinbatch validate` and `pinbatch schema` on good and broken manifests, through the real binary.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xC0\0\x11\x08\x05\xDC\x03\xE8\x03\x01\x22\0\x02\x11\x01\x03\x11\x01\xFF\xD9";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x03\xe8\0\0\x05\xdc\x08\x02\0\0\0\0\0\0\0\0\0\0\0IEND\xaeB`\x82";

fn pinbatch() -> Command {
    let mut command = Command::cargo_bin("pinbatch").unwrap();
    command.env_remove("PINBATCH_API_BASE");
    command
}

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A temporary folder with a few media files, where manifests are written.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        let dir = Dir {
            dir: tempfile::tempdir().unwrap(),
        };
        dir.write("img/a.jpg", JPEG);
        dir.write("img/b.png", PNG);
        dir.write("img/c.jpg", JPEG);
        dir.write("img/fake.jpg", b"plain text renamed to .jpg");
        dir
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Validates a manifest written under `name`, run from the folder so paths print short.
    fn validate(&self, name: &str, text: &[u8]) -> assert_cmd::assert::Assert {
        self.write(name, text);
        pinbatch()
            .current_dir(self.dir.path())
            .args(["validate", name])
            .assert()
    }

    fn yaml_fails(&self, body: &str, expected: &str) {
        let text = format!("version: 1\n{body}");
        self.validate("m.yaml", text.as_bytes())
            .code(1)
            .stderr(predicate::str::contains(expected))
            .stderr(predicate::str::contains("panicked").not());
    }
}

#[test]
fn the_examples_are_valid() {
    pinbatch()
        .args(["validate"])
        .arg(repo_path("examples/pins.yaml"))
        .arg(repo_path("examples/pins.csv"))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "pins.yaml: 5 pins, 0 errors, 0 warnings",
        ))
        .stderr(predicate::str::contains(
            "pins.csv: 4 pins, 0 errors, 0 warnings",
        ));
}

#[test]
fn quiet_prints_nothing_when_all_is_well() {
    pinbatch()
        .args(["validate", "-q"])
        .arg(repo_path("examples/pins.yaml"))
        .assert()
        .success()
        .stderr("")
        .stdout("");
}

#[test]
fn yaml_problems_are_located() {
    let dir = Dir::new();
    let pin = "pins:\n  - board: B\n";
    dir.yaml_fails("pins:\n  - title: \"open\n", "m.yaml:3:");
    dir.yaml_fails("pins:\n  - title: [unclosed\n", "YAML syntax error");
    dir.yaml_fails(
        &format!("{pin}    titel: x\n    image: img/a.jpg\n"),
        "m.yaml:4:5: error: titel: unknown field\n  hint: did you mean `title`?",
    );
    dir.yaml_fails(
        &format!(
            "{pin}    title: {}\n    image: img/a.jpg\n",
            "t".repeat(134)
        ),
        "m.yaml:4:12: error: title: is 134 characters, at most 100 allowed",
    );
    dir.yaml_fails(
        &format!("{pin}    link: example.com/x\n    image: img/a.jpg\n"),
        "m.yaml:4:11: error: link: `example.com/x` is not an absolute http(s) URL",
    );
    dir.yaml_fails(
        &format!("{pin}    image: img/missing.jpg\n"),
        "m.yaml:4:12: error: image: file not found",
    );
    dir.yaml_fails(
        &format!("{pin}    image: img/fake.jpg\n"),
        "m.yaml:4:12: error: image: ",
    );
    dir.yaml_fails(
        &format!("{pin}    image: img/fake.jpg\n"),
        "fake.jpg is not an image pinbatch can read",
    );
    dir.yaml_fails(
        &format!("{pin}    images: [img/a.jpg]\n"),
        "m.yaml:4:13: error: images: has 1 image, a carousel needs 2 to 5",
    );
    dir.yaml_fails(
        &format!(
            "{pin}    images: [img/a.jpg, img/a.jpg, img/a.jpg, img/a.jpg, img/a.jpg, img/a.jpg]\n"
        ),
        "m.yaml:4:13: error: images: has 6 images",
    );
    dir.yaml_fails(
        &format!("{pin}    images: [img/a.jpg, https://example.com/b.jpg]\n"),
        "mixes local files and URLs",
    );
    dir.yaml_fails(
        &format!("{pin}    image: img/a.jpg\n    images: [img/a.jpg, img/b.png]\n"),
        "exactly one media, found image and images",
    );
    dir.yaml_fails(
        "pins:\n  - image: img/a.jpg\n",
        "m.yaml:3:5: error: board: the pin has no board",
    );
    dir.yaml_fails(
        &format!("{pin}    image: img/a.jpg\n    dominant_color: \"#12345\"\n"),
        "m.yaml:5:21: error: dominant_color:",
    );
    dir.yaml_fails(
        &format!("{pin}    image: img/a.jpg\n    publish_at: tomorrow\n"),
        "m.yaml:5:17: error: publish_at: `tomorrow` is not a date and time",
    );
    dir.yaml_fails(
        "pins:\n  - {board: B, image: img/a.jpg}\n  - {board: B, image: img/a.jpg}\n",
        "m.yaml:4:5: error: id: duplicate key `B/img/a.jpg`: the pin at m.yaml:3:5 has the same key",
    );
    dir.yaml_fails(
        &format!("{pin}    glob: \"nothing/*.jpg\"\n"),
        "m.yaml:4:11: error: glob: `nothing/*.jpg` matched no files",
    );
}

#[test]
fn non_utf8_yaml_is_located() {
    let dir = Dir::new();
    dir.validate("m.yaml", b"version: 1\npins:\n  - title: caf\xe9\n")
        .code(1)
        .stderr(predicate::str::contains(
            "m.yaml:3:15: error: is not valid UTF-8 text",
        ));
}

#[test]
fn all_problems_are_reported_in_one_run() {
    let dir = Dir::new();
    let text = "version: 1\npins:\n  - {board: B, image: img/missing.jpg}\n  - {image: img/a.jpg}\n  - {board: B, image: img/b.png, link: nope}\n";
    dir.validate("m.yaml", text.as_bytes())
        .code(1)
        .stderr(predicate::str::contains("m.yaml:3:"))
        .stderr(predicate::str::contains("m.yaml:4:"))
        .stderr(predicate::str::contains("m.yaml:5:"))
        .stderr(predicate::str::contains(
            "m.yaml: invalid, 3 errors, 0 warnings",
        ));
}

#[test]
fn csv_problems_name_the_row() {
    let dir = Dir::new();
    dir.validate("p.csv", b"board,title,image\nB,ok,img/a.jpg\nB,ragged\n")
        .code(1)
        .stderr(predicate::str::contains(
            "p.csv: row 3: error: has 2 cells but the header has 3 columns",
        ));
    // Windows-1252, as Excel saves CSV in much of Europe: read, not refused.
    dir.validate("p.csv", b"board,title,image\nB,caf\xe9,img/a.jpg\n")
        .success();
    // Bytes no detected encoding explains: one diagnostic for the file, naming the first row.
    dir.validate(
        "p.csv",
        b"board,title,image\nB,ok,img/a.jpg\nB,\x81\x81\x81,img/a.jpg\nB,\x81,img/a.jpg\n",
    )
    .code(1)
    .stderr(predicate::str::contains(
        "p.csv: row 3: error: the file is not UTF-8",
    ))
    .stderr(predicate::str::contains("--encoding NAME"))
    .stderr(predicate::str::contains(
        "p.csv: invalid, 1 error, 0 warnings",
    ));
    dir.validate("p.csv", b"board,titel,image\nB,x,img/a.jpg\n")
        .code(1)
        .stderr(predicate::str::contains("unknown column `titel`"))
        .stderr(predicate::str::contains("did you mean `title`?"));
    dir.validate(
        "p.csv",
        b"board;title;image\nB;x;img/a.jpg|img/b.png|img/c.jpg\nB;y;img/fake.jpg\n",
    )
    .code(1)
    .stderr(predicate::str::contains("p.csv: row 3: error: image:"));
}

#[test]
fn pinterest_bulk_files_validate() {
    let dir = Dir::new();
    dir.validate(
        "bulk.csv",
        "Title,Media URL,Pinterest board,Thumbnail,Description,Link,Publish date,Keywords\n\
         Cat,https://example.com/cat.jpg,Animals 動物 / Cats,,Calm,https://example.com/cat,,cat;pet\n\
         Dog,img/b.png,Animals 動物,,,,2026-12-24T09:00:00Z,\n"
            .as_bytes(),
    )
    .success()
    .stderr(predicate::str::contains("bulk.csv: 2 pins, 0 errors, 0 warnings"));
}

#[test]
fn repeated_links_are_a_note_with_the_count_and_pass() {
    let dir = Dir::new();
    dir.validate(
        "m.yaml",
        b"version: 1\npins:\n  - {board: B, title: A, image: img/a.jpg, link: https://example.com/x}\n  - {board: B, title: B, image: img/b.png, link: https://example.com/x}\n",
    )
    .success()
    .stderr(predicate::str::contains(
        "m.yaml:3:50: note: link: `https://example.com/x` is the link of 2 pins (also at line 4)",
    ))
    .stderr(predicate::str::contains("m.yaml: 2 pins, 0 errors, 0 warnings, 1 note"));
}

#[test]
fn under_a_schedule_repeated_links_closer_than_same_link_are_warned() {
    let dir = Dir::new();
    // Two pins of one link with their own times a day apart (the schedule wants 3 days), a
    // third far enough away, and one the schedule times itself (it spaces that one).
    dir.validate(
        "m.yaml",
        b"version: 1\nschedule:\n  per_day: 4\n  same_link: 3d\npins:\n  - {id: a, board: B, title: A, image: img/a.jpg, link: https://example.com/x, publish_at: 2030-01-01T09:00:00Z}\n  - {id: b, board: B, title: B, image: img/b.png, link: https://example.com/x, publish_at: 2030-01-02T09:00:00Z}\n  - {id: c, board: B, title: C, image: img/a.jpg, link: https://example.com/x, publish_at: 2030-01-09T09:00:00Z}\n  - {id: d, board: B, title: D, image: img/b.png, link: https://example.com/x}\n",
    )
    .success()
    .stderr(predicate::str::contains(
        "m.yaml:7:57: warning: link: `https://example.com/x` is published again 1day after the pin at line 6; the schedule's same_link spacing is 3days",
    ))
    .stderr(predicate::str::contains("is the link of").not())
    .stderr(predicate::str::contains("m.yaml: 4 pins, 0 errors, 1 warning"));
}

#[test]
fn missing_and_unknown_files_fail_with_their_name() {
    let dir = Dir::new();
    dir.write("notes.txt", b"hello");
    pinbatch()
        .current_dir(dir.dir.path())
        .args(["validate", "absent.yaml", "notes.txt"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "absent.yaml: error: cannot read the manifest",
        ))
        .stderr(predicate::str::contains(
            "notes.txt: error: is not a manifest",
        ));
}

#[test]
fn json_format_is_one_document_on_stdout() {
    let dir = Dir::new();
    dir.write(
        "m.yaml",
        b"version: 1\npins:\n  - {board: B, image: img/a.jpg, title: NO, dominant_color: red}\n",
    );
    dir.write("p.csv", b"board,image\n,img/a.jpg\n");
    let output = pinbatch()
        .current_dir(dir.dir.path())
        .args(["validate", "--format", "json", "m.yaml", "p.csv"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let value: serde_json::Value = serde_json::from_slice(&output).unwrap();
    let items = value.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["file"], "m.yaml");
    assert_eq!(items[0]["line"], 3);
    assert_eq!(items[0]["field"], "dominant_color");
    assert_eq!(items[0]["severity"], "error");
    assert_eq!(items[1]["file"], "p.csv");
    assert_eq!(items[1]["row"], 2);
    assert_eq!(items[1]["field"], "board");
    assert!(items[1]["hint"].is_string());
}

#[test]
fn github_format_prints_annotations() {
    let dir = Dir::new();
    dir.write(
        "m.yaml",
        b"version: 1\npins:\n  - {board: B, image: img/a.jpg, link: x}\n",
    );
    pinbatch()
        .current_dir(dir.dir.path())
        .args(["validate", "--format", "github", "m.yaml"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "::error file=m.yaml,line=3,col=40::link: `x` is not an absolute http(s) URL",
        ));
}

#[test]
fn bad_format_is_a_usage_error() {
    pinbatch()
        .args(["validate", "--format", "xml", "m.yaml"])
        .assert()
        .code(2);
}

#[test]
fn schema_prints_the_committed_schema() {
    let committed = std::fs::read_to_string(repo_path("schemas/manifest.schema.json")).unwrap();
    pinbatch()
        .arg("schema")
        .assert()
        .success()
        .stdout(committed);
}
