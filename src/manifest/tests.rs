//! End-to-end checks of `load` on small manifests written to a temporary folder.

use std::path::{Path, PathBuf};

use super::*;

const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xFF\xC0\0\x11\x08\x05\xDC\x03\xE8\x03\x01\x22\0\x02\x11\x01\x03\x11\x01\xFF\xD9";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x03\xe8\0\0\x05\xdc\x08\x02\0\0\0\0\0\0\0\0\0\0\0IEND\xaeB`\x82";

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let fixture = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        fixture.write("images/a.jpg", JPEG);
        fixture.write("images/b.png", PNG);
        fixture.write("images/c.jpg", JPEG);
        fixture.write("images/fake.jpg", b"not an image, only text");
        fixture.write(
            "clips/run.mp4",
            &super::video::sample_mp4(30, 1080, 1920, b"avc1"),
        );
        fixture
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn yaml(&self, body: &str) -> LoadOutcome {
        let text = format!("version: 1\n{body}");
        load(&self.write("m.yaml", text.as_bytes()))
    }

    fn csv(&self, text: &str) -> LoadOutcome {
        load(&self.write("m.csv", text.as_bytes()))
    }
}

fn errors(outcome: &LoadOutcome) -> Vec<String> {
    outcome
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let file = Path::new(&*d.location.file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let place = match d.location.position {
                Position::File => String::new(),
                Position::LineColumn { line, column } => format!(":{line}:{column}"),
                Position::Row { row, .. } => format!(" row {row}"),
                Position::Cell { .. } => {
                    format!(
                        " {}",
                        d.location.position.cell_reference().unwrap_or_default()
                    )
                }
            };
            format!(
                "{file}{place} {}: {}",
                d.field.as_deref().unwrap_or(""),
                d.message
            )
        })
        .collect()
}

fn only_error(outcome: &LoadOutcome) -> String {
    let errors = errors(outcome);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(outcome.manifest.is_none());
    errors.into_iter().next().unwrap()
}

#[test]
fn a_good_yaml_manifest_becomes_a_typed_manifest() {
    let f = Fixture::new();
    let outcome = f.yaml(
        "defaults:\n  board: \"Animals 動物\"\n  link: https://example.com/shop\n\
         boards:\n  - name: Nature\n    privacy: SECRET\n    sections: [Sea]\n\
         pins:\n\
         \x20 - id: cat-01\n    title: NO\n    image: images/a.jpg\n    publish_at: 2026-12-24T09:00:00Z\n\
         \x20 - images:\n      - images/a.jpg\n      - { src: images/b.png, title: B, link: https://example.com/b }\n\
         \x20 - image: https://example.com/x.jpg\n    board: 12345\n    dominant_color: \"#AABBCC\"\n\
         \x20 - video: clips/run.mp4\n    cover_frame: 3\n\
         \x20 - glob: \"images/?.{jpg,png}\"\n    title: \"{stem} #{index}\"\n    board: Nature\n",
    );
    assert!(outcome.diagnostics.is_empty(), "{:#?}", outcome.diagnostics);
    let manifest = outcome.manifest.unwrap();
    assert_eq!(manifest.boards[0].privacy, Some(Privacy::Secret));
    let keys: Vec<&str> = manifest.pins.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "cat-01",
            "Animals 動物/images/a.jpg+images/b.png",
            "12345/https://example.com/x.jpg",
            "Animals 動物/clips/run.mp4",
            "Nature/images/a.jpg",
            "Nature/images/b.png",
            "Nature/images/c.jpg",
        ]
    );
    let first = &manifest.pins[0];
    assert_eq!(first.title.as_deref(), Some("NO"));
    assert_eq!(first.link.as_deref(), Some("https://example.com/shop"));
    assert!(first.publish_at.is_some());
    assert_eq!(
        first.location.position,
        Position::LineColumn {
            line: 10,
            column: 5
        }
    );
    assert_eq!(manifest.pins[2].board, BoardRef::Id("12345".into()));
    assert_eq!(manifest.pins[5].title.as_deref(), Some("b #2"));
    match &manifest.pins[3].media {
        Media::Video(video) => assert_eq!(video.cover, Some(VideoCover::Frame(3))),
        other => panic!("{other:?}"),
    }
    match &manifest.pins[0].media {
        Media::Image(ImageSource::File(image)) => {
            assert!(image.path.is_absolute());
            assert_eq!(image.content_type, ImageType::Jpeg);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let f = Fixture::new();
    let long = "x".repeat(101);
    let outcome = f.yaml(&format!(
        "pins:\n  - title: {long}\n    board: B\n    image: images/a.jpg\n    link: ftp://x\n    dominant_color: red\n"
    ));
    let errors = errors(&outcome);
    assert_eq!(
        errors,
        [
            "m.yaml:3:12 title: is 101 characters, at most 100 allowed",
            "m.yaml:6:11 link: `ftp://x` is a ftp URL, only http and https are allowed",
            "m.yaml:7:21 dominant_color: `red` is not a colour of the form #RRGGBB",
        ]
    );
}

#[test]
fn lengths_count_characters_not_bytes() {
    let f = Fixture::new();
    let title = "動".repeat(100);
    let outcome = f.yaml(&format!(
        "pins:\n  - {{ title: {title}, board: B, image: images/a.jpg }}\n"
    ));
    assert!(outcome.manifest.is_some(), "{:?}", outcome.diagnostics);
}

#[test]
fn media_problems() {
    let f = Fixture::new();
    let one = |body: &str| only_error(&f.yaml(&format!("pins:\n  - board: B\n{body}")));
    assert_eq!(
        one("    image: images/missing.jpg\n"),
        format!(
            "m.yaml:4:12 image: file not found: {}",
            f.dir.path().join("images/missing.jpg").display()
        )
    );
    assert!(one("    image: images/fake.jpg\n").contains("is not an image pinbatch can read"));
    assert!(one("    images: [images/a.jpg]\n").contains("has 1 image, a carousel needs 2 to 5"));
    assert!(
        one("    images: [images/a.jpg, images/a.jpg, images/a.jpg, images/a.jpg, images/a.jpg, images/a.jpg]\n")
            .contains("has 6 images")
    );
    assert!(
        one("    images: [images/a.jpg, https://example.com/b.jpg]\n")
            .contains("mixes local files and URLs")
    );
    assert!(
        one("    image: images/a.jpg\n    video: clips/run.mp4\n")
            .contains("exactly one media, found image and video")
    );
    assert!(one("    title: x\n").contains("no media"));
    assert!(one("    video: images/a.jpg\n").contains("not a .mp4, .mov or .m4v video"));
    assert!(one("    video: clips/run.mp4\n    cover_frame: -1\n").contains("whole number"));
    assert!(one("    image: images/a.jpg\n    cover: images/b.png\n").contains("only a video pin"));
    assert!(one("    image: https://\n").contains("not an absolute http(s) URL"));
}

#[test]
fn pin_level_problems() {
    let f = Fixture::new();
    assert_eq!(
        only_error(&f.yaml("pins:\n  - image: images/a.jpg\n")),
        "m.yaml:3:5 board: the pin has no board"
    );
    assert!(
        only_error(&f.yaml(
            "pins:\n  - {board: B, image: images/a.jpg, publish_at: \"24.12.2026 09:00\"}\n"
        ))
        .contains("is not a date and time")
    );
    assert!(
        only_error(&f.yaml(
            "defaults:\n  timezone: Europe/Berlin\n\
             pins:\n  - {board: B, image: images/a.jpg, publish_at: 2026-03-29 02:30}\n"
        ))
        .contains("does not exist in Europe/Berlin")
    );
    assert_eq!(
        only_error(&f.yaml("defaults:\n  timezone: Mars/Olympus\npins: []\n")),
        "m.yaml:3:13 defaults.timezone: `Mars/Olympus` is not a known time zone"
    );
    assert!(
        only_error(&f.yaml("pins:\n  - {board: B, glob: \"none/*.jpg\"}\n"))
            .contains("matched no files")
    );
    assert!(
        only_error(&f.yaml("pins:\n  - {board: B, image: images/a.jpg, id: \"  \"}\n"))
            .contains("id: is empty")
    );
}

#[test]
fn duplicate_keys_name_both_places_and_repeated_links_warn() {
    let f = Fixture::new();
    let outcome = f.yaml(
        "pins:\n\
         \x20 - {board: B, image: images/a.jpg, link: https://example.com/same}\n\
         \x20 - {board: B, image: images/a.jpg, link: https://example.com/same}\n",
    );
    let error = only_error(&outcome);
    assert!(
        error.starts_with("m.yaml:4:5 id: duplicate key `B/images/a.jpg`"),
        "{error}"
    );
    assert!(error.contains("m.yaml:3:5"), "{error}");
    let warnings: Vec<&Diagnostic> = outcome
        .diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .collect();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].field.as_deref(), Some("link"));

    let explicit = f.yaml(
        "pins:\n  - {id: a, board: B, image: images/a.jpg}\n  - {id: a, board: B, image: images/b.png}\n",
    );
    assert!(only_error(&explicit).contains("duplicate key `a`"));
}

#[test]
fn defaults_links_may_repeat_and_are_checked_once() {
    let f = Fixture::new();
    let good = f.yaml(
        "defaults: {board: B, link: https://example.com/shop}\n\
         pins:\n  - image: images/a.jpg\n  - image: images/b.png\n",
    );
    // No repeated-link warning; only that the two look alike on the board (no title either),
    // said once for the pair.
    assert_eq!(good.diagnostics.len(), 1, "{:?}", good.diagnostics);
    assert!(
        good.diagnostics
            .iter()
            .all(|d| !d.is_error() && d.message.contains("one at a time")),
        "{:?}",
        good.diagnostics
    );
    let bad = f.yaml(
        "defaults: {board: B, link: nope}\npins:\n  - image: images/a.jpg\n  - image: images/b.png\n",
    );
    let errors = errors(&bad);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("defaults.link"));
}

#[test]
fn board_declarations_are_checked() {
    let f = Fixture::new();
    let long = "s".repeat(181);
    let outcome = f.yaml(&format!(
        "boards:\n  - name: A\n    privacy: PUBLC\n    sections: [\"{long}\"]\n  - description: no name\npins: []\n"
    ));
    let errors = errors(&outcome);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].contains("`PUBLC` is not a privacy setting"));
    assert!(errors[1].contains("is 181 characters"));
    assert!(errors[2].contains("boards.name: is missing"));
}

#[test]
fn csv_rows_become_pins_with_row_positions() {
    let f = Fixture::new();
    let outcome = f.csv(
        "board,title,image,video,cover\n\
         Animals / x,Cat,images/a.jpg,,\n\
         B,,images/a.jpg|images/b.png,,\n\
         B,Run,,clips/run.mp4,https://example.com/cover.jpg\n",
    );
    assert!(outcome.diagnostics.is_empty(), "{:?}", outcome.diagnostics);
    let manifest = outcome.manifest.unwrap();
    assert_eq!(manifest.pins.len(), 3);
    assert_eq!(manifest.pins[1].media.kind(), "carousel");
    assert_eq!(
        manifest.pins[2].location.position,
        Position::Row { row: 4, line: 4 }
    );
}

#[test]
fn csv_problems_carry_rows() {
    let f = Fixture::new();
    let outcome = f
        .csv("board,title,image\nB,ok,images/a.jpg\n,no board,images/b.png\nB,x,images/fake.jpg\n");
    let errors = errors(&outcome);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("m.csv row 3 board:"));
    assert!(errors[1].starts_with("m.csv row 4 image:"));
}

#[test]
fn unreadable_and_unknown_files_are_diagnostics() {
    let f = Fixture::new();
    let missing = load(&f.dir.path().join("nope.yaml"));
    assert!(only_error(&missing).contains("cannot read the manifest"));
    let text = load(&f.write("m.txt", b"hello"));
    assert!(only_error(&text).contains("unknown file extension"));
    let latin1 = load(&f.write("l.yaml", b"version: 1\npins:\n  - title: caf\xe9\n"));
    assert_eq!(only_error(&latin1), "l.yaml:3:15 : is not valid UTF-8 text");
    let empty = load(&f.write("e.yaml", b""));
    assert!(only_error(&empty).contains("empty"));
}

#[test]
fn a_malformed_field_is_reported_once() {
    let f = Fixture::new();
    let outcome =
        f.yaml("pins:\n  - board: [x]\n    image: images/a.jpg\n  - images: oops\n    board: B\n");
    let errors = errors(&outcome);
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("board: must be a single value"));
    assert!(errors[1].contains("images: must be a list"));
}

#[test]
fn an_empty_manifest_warns() {
    let f = Fixture::new();
    let outcome = f.csv("board,image\n");
    assert!(outcome.manifest.is_some());
    assert_eq!(outcome.diagnostics.len(), 1);
    assert_eq!(outcome.diagnostics[0].severity, Severity::Warning);
}

#[test]
fn ai_disclosures_are_lists_in_yaml_and_pipes_in_csv() {
    let f = Fixture::new();
    let outcome = f.yaml(
        "defaults:\n  board: B\n  ai_disclosures: [AI_MODIFIED]\n\
         pins:\n\
         \x20 - image: https://example.com/a.jpg\n\
         \x20 - image: https://example.com/b.jpg\n    ai_disclosures:\n      - SYNTHETIC_PERFORMER\n      - AI_MODIFIED\n      - AI_MODIFIED\n\
         \x20 - image: https://example.com/c.jpg\n    ai_disclosures: []\n",
    );
    let manifest = outcome.manifest.expect("valid");
    let labels: Vec<Vec<AiDisclosure>> = manifest
        .pins
        .iter()
        .map(|p| p.ai_disclosures.clone())
        .collect();
    assert_eq!(
        labels,
        vec![
            vec![AiDisclosure::AiModified],
            vec![AiDisclosure::SyntheticPerformer, AiDisclosure::AiModified],
            vec![],
        ]
    );
    let outcome = f.csv(
        "board,image,ai_disclosures\nB,https://example.com/a.jpg,AI_MODIFIED | SYNTHETIC_PERFORMER\nB,https://example.com/b.jpg,\n",
    );
    let manifest = outcome.manifest.expect("valid");
    assert_eq!(
        manifest.pins[0].ai_disclosures,
        vec![AiDisclosure::AiModified, AiDisclosure::SyntheticPerformer]
    );
    assert!(manifest.pins[1].ai_disclosures.is_empty());
}

#[test]
fn unknown_ai_disclosure_labels_are_errors_with_a_hint() {
    let f = Fixture::new();
    let outcome = f.yaml(
        "pins:\n  - image: https://example.com/a.jpg\n    board: B\n    ai_disclosures: [ai-modified]\n",
    );
    assert_eq!(
        only_error(&outcome),
        "m.yaml:5:21 ai_disclosures: `ai-modified` is not an AI disclosure label"
    );
    let hint = outcome.diagnostics[0].hint.clone().unwrap_or_default();
    assert!(hint.contains("AI_MODIFIED"), "{hint}");
    let outcome = f.csv("board,image,ai_disclosures\nB,https://example.com/a.jpg,AI_GENERATED\n");
    assert_eq!(
        only_error(&outcome),
        "m.csv row 2 ai_disclosures: `AI_GENERATED` is not an AI disclosure label"
    );
}

/// Writes a workbook whose first sheet holds `rows` (strings, numbers, dates, formulas).
fn workbook(
    f: &Fixture,
    name: &str,
    build: impl FnOnce(&mut rust_xlsxwriter::Workbook),
) -> PathBuf {
    let mut book = rust_xlsxwriter::Workbook::new();
    build(&mut book);
    let bytes = book.save_to_buffer().unwrap();
    f.write(name, &bytes)
}

fn tokyo() -> LoadOptions {
    LoadOptions {
        timezone: Some(PublishZone::named("Asia/Tokyo").unwrap()),
        ..LoadOptions::default()
    }
}

#[test]
fn workbook_cells_keep_their_types() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Formula};
    let f = Fixture::new();
    let path = workbook(&f, "pins.xlsx", |book| {
        let sheet = book.add_worksheet();
        sheet.set_name("Pins").unwrap();
        // Rows 1-2 stay empty: the header is the first non-empty row.
        let header = ["id", "board", "title", "publish_at", "image", "description"];
        for (col, name) in (0u16..).zip(header) {
            sheet.write_string(2, col, name).unwrap();
        }
        let date = Format::new().set_num_format("yyyy/mm/dd hh:mm");
        let when = ExcelDateTime::from_ymd(2026, 12, 24)
            .unwrap()
            .and_hms(9, 0, 0)
            .unwrap();
        sheet.write_number(3, 0, 12.0).unwrap();
        sheet.write_number(3, 1, 549_755_885_175.0).unwrap();
        sheet.write_boolean(3, 2, true).unwrap();
        sheet
            .write_datetime_with_format(3, 3, &when, &date)
            .unwrap();
        sheet.write_string(3, 4, "images/a.jpg").unwrap();
        sheet
            .write_formula(3, 5, Formula::new("=\"A \"&\"cat\"").set_result("A cat"))
            .unwrap();
        sheet.write_string(4, 1, "Animals").unwrap();
        sheet.write_string(4, 2, "Hidden row").unwrap();
        sheet.write_string(4, 3, "2026/12/24 9:00").unwrap();
        sheet.write_string(4, 4, "images/b.png").unwrap();
        sheet.set_row_hidden(4).unwrap();
        sheet.set_column_hidden(2).unwrap();
    });
    let outcome = load_with(&path, &tokyo());
    assert!(!outcome.has_errors(), "{:?}", outcome.diagnostics);
    let pins = outcome.manifest.unwrap().pins;
    assert_eq!(pins.len(), 2);
    assert_eq!(pins[0].key, "12");
    assert_eq!(pins[0].board, BoardRef::Id("549755885175".into()));
    assert_eq!(pins[0].title.as_deref(), Some("TRUE"));
    assert_eq!(pins[0].description.as_deref(), Some("A cat"));
    let due = "2026-12-24T00:00:00Z".parse::<jiff::Timestamp>().unwrap();
    assert_eq!(pins[0].publish_at, Some(due));
    assert_eq!(pins[1].publish_at, Some(due));
    assert_eq!(pins[1].title.as_deref(), Some("Hidden row"));
    assert_eq!(
        pins[0].location.to_string(),
        format!("{}: Pins!4:4", path.display())
    );
}

#[test]
fn workbook_problems_name_their_cells() {
    use rust_xlsxwriter::Formula;
    let f = Fixture::new();
    let path = workbook(&f, "bad.xlsx", |book| {
        let sheet = book.add_worksheet();
        for (col, name) in (0u16..).zip(["board", "title", "image", "link"]) {
            sheet.write_string(0, col, name).unwrap();
        }
        sheet.write_string(1, 0, "B").unwrap();
        sheet
            .write_formula(1, 1, Formula::new("=VLOOKUP(1,Z1:Z2,2)").set_result("#N/A"))
            .unwrap();
        sheet.write_string(1, 2, "images/a.jpg").unwrap();
        sheet.write_string(2, 0, "B").unwrap();
        sheet.write_string(2, 2, "images/c.jpg").unwrap();
        sheet.write_string(2, 3, "not a link").unwrap();
        sheet.write_string(3, 0, "B").unwrap();
        sheet.write_string(3, 2, "images/b.png").unwrap();
        sheet.write_string(3, 5, "stray").unwrap();
    });
    let errors = errors(&load(&path));
    assert_eq!(
        errors,
        [
            "bad.xlsx Sheet1!B2 title: the cell holds the spreadsheet error #N/A",
            "bad.xlsx Sheet1!D3 link: `not a link` is not an absolute http(s) URL (relative URL without a base)",
            "bad.xlsx Sheet1!F4 : the cell has a value but its column has no name in the header (row 1)",
        ]
    );
}

#[test]
fn workbook_sheets_are_chosen_by_name() {
    let f = Fixture::new();
    let path = workbook(&f, "two.xlsx", |book| {
        let notes = book.add_worksheet();
        notes.set_name("Notes").unwrap();
        notes.write_string(0, 0, "nothing to see").unwrap();
        let pins = book.add_worksheet();
        pins.set_name("My pins").unwrap();
        for (col, name) in (0u16..).zip(["board", "image", "publish_at"]) {
            pins.write_string(0, col, name).unwrap();
        }
        pins.write_string(1, 0, "B").unwrap();
        pins.write_string(1, 1, "images/a.jpg").unwrap();
        pins.write_string(1, 2, "2026-03-29 02:30").unwrap();
    });
    let first = load(&path);
    assert!(only_error(&first).contains("unknown column `nothing to see`"));
    let options = LoadOptions {
        sheet: Some("my PINS".into()),
        timezone: Some(PublishZone::named("Europe/Berlin").unwrap()),
        ..LoadOptions::default()
    };
    assert_eq!(
        only_error(&load_with(&path, &options)),
        "two.xlsx 'My pins'!C2 publish_at: `2026-03-29 02:30` does not exist in Europe/Berlin: \
         the clocks jump forward there (from +01 to +02)"
    );
    let missing = LoadOptions {
        sheet: Some("Pinz".into()),
        ..LoadOptions::default()
    };
    let outcome = load_with(&path, &missing);
    assert_eq!(
        outcome.diagnostics[0].message,
        "the workbook has no sheet `Pinz`"
    );
    assert!(
        outcome.diagnostics[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("My pins")
    );
    let broken = f.write("broken.xlsx", b"PK\x03\x04 not really a zip");
    assert!(only_error(&load(&broken)).contains("cannot read the workbook"));
}

#[test]
fn local_times_follow_the_yaml_default_zone_unless_overridden() {
    let f = Fixture::new();
    let body = "defaults:\n  timezone: Asia/Tokyo\n  board: B\npins:\n  - {image: images/a.jpg, publish_at: \"2026/12/24 9:00\"}\n";
    let outcome = f.yaml(body);
    let pin = &outcome.manifest.unwrap().pins[0];
    assert_eq!(pin.publish_at.unwrap().to_string(), "2026-12-24T00:00:00Z");
    let path = f.dir.path().join("m.yaml");
    let utc = LoadOptions {
        timezone: Some(PublishZone::named("UTC").unwrap()),
        ..LoadOptions::default()
    };
    let outcome = load_with(&path, &utc);
    assert_eq!(outcome.zone.name(), "UTC");
    let pin = &outcome.manifest.unwrap().pins[0];
    assert_eq!(pin.publish_at.unwrap().to_string(), "2026-12-24T09:00:00Z");
}

#[test]
fn options_for_another_format_are_ignored_with_a_warning() {
    let f = Fixture::new();
    let path = f.write("m.csv", b"board,image\nB,images/a.jpg\n");
    let options = LoadOptions {
        sheet: Some("Pins".into()),
        encoding: Some(encoding_rs::SHIFT_JIS),
        ..LoadOptions::default()
    };
    let outcome = load_with(&path, &options);
    assert!(outcome.manifest.is_some());
    assert_eq!(outcome.diagnostics.len(), 1, "{:?}", outcome.diagnostics);
    assert!(
        outcome.diagnostics[0]
            .message
            .starts_with("--sheet is ignored")
    );
    let yaml = f.write("m.yaml", b"version: 1\npins: []\n");
    let outcome = load_with(&yaml, &options);
    let messages: Vec<&str> = outcome
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        messages.contains(&"--encoding is ignored: the file is not a CSV file"),
        "{messages:?}"
    );
}

#[test]
fn a_report_reads_back_with_its_result_columns_and_pin_ids() {
    let f = Fixture::new();
    let outcome = f.csv(
        "board,title,image,pin_id,pin_url,status,published_at,error,impressions,saves,pin_clicks,outbound_clicks,video_views,avg_watch_time\n\
         B,one,images/a.jpg,100000000000000002,https://www.pinterest.com/pin/100000000000000002/,published,2026-12-01T10:00:00+00:00,,12,1,2,3,,\n\
         B,two,images/b.png,,,failed,,boom,,,,,,\n",
    );
    assert!(!outcome.has_errors(), "{:?}", errors(&outcome));
    let manifest = outcome.manifest.unwrap();
    let known = manifest.pins[0].pin_id.as_ref().unwrap();
    assert_eq!(known.id, "100000000000000002");
    assert_eq!(known.location.position, Position::Row { row: 2, line: 2 });
    assert_eq!(manifest.pins[1].pin_id, None);
    let yaml = f.yaml(
        "pins:\n  - board: B\n    image: images/a.jpg\n    pin_id: 123\n  - board: B\n    image: images/b.png\n    pin_id: \"456\"\n",
    );
    let pins = yaml.manifest.unwrap().pins;
    assert_eq!(pins[0].pin_id.as_ref().unwrap().id, "123");
    assert_eq!(
        pins[0].pin_id.as_ref().unwrap().location.position,
        Position::LineColumn {
            line: 5,
            column: 13
        }
    );
    assert_eq!(pins[1].pin_id.as_ref().unwrap().id, "456");
}

#[test]
fn pin_ids_are_digits_and_name_one_pin() {
    let f = Fixture::new();
    let outcome = f.csv(
        "board,title,image,pin_id\nB,one,images/a.jpg,12x\nB,two,images/b.png,77\nB,three,images/c.jpg,77\n",
    );
    let errors = errors(&outcome);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[0],
        "m.csv row 2 pin_id: `12x` is not a pin id (digits only)"
    );
    assert!(
        errors[1].starts_with("m.csv row 4 pin_id: pin 77 is also named by the pin at ")
            && errors[1].ends_with("m.csv: row 3"),
        "{errors:?}"
    );
    let glob = f.yaml("pins:\n  - board: B\n    glob: images/*.jpg\n    pin_id: 5\n");
    assert!(only_error(&glob).contains("pin_id: names one pin, but `glob:`"));
}
