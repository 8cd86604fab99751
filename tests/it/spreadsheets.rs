//! Spreadsheets as people keep them: workbooks as manifests, CSV in Excel's encodings, local
//! dates in a time zone, and hints that fit the file, through the real binary.

use std::path::{Path, PathBuf};

use pinbatch::manifest::{self, LoadOptions, PinSpec, PublishZone};
use predicates::prelude::*;

use crate::common::{TestEmulator, xlsx_part};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// The pins of a manifest without where they were written, for comparing formats.
fn pins_of(path: &Path, options: &LoadOptions) -> Vec<PinSpec> {
    let outcome = manifest::load_with(path, options);
    assert!(
        !outcome.has_errors(),
        "{}: {:?}",
        path.display(),
        outcome.diagnostics
    );
    let mut pins = outcome.manifest.unwrap().pins;
    for pin in &mut pins {
        pin.location.position = manifest::Position::File;
        pin.location.file = "".into();
    }
    pins
}

#[test]
fn the_example_workbook_and_shift_jis_csv_hold_the_csv_pins() {
    let utc = LoadOptions {
        timezone: Some(PublishZone::named("UTC").unwrap()),
        ..LoadOptions::default()
    };
    let csv = pins_of(&example("pins.csv"), &utc);
    assert_eq!(csv.len(), 4);
    assert_eq!(pins_of(&example("pins.xlsx"), &utc), csv);
    assert_eq!(pins_of(&example("pins-shift_jis.csv"), &utc), csv);
    assert!(
        csv.iter()
            .any(|pin| pin.board.to_string() == "Animals 動物")
    );
}

#[test]
fn a_legacy_xls_workbook_reads_like_the_others() {
    // Excel 97-2003 (BIFF8) stores every number as a float: a numeric title still reads as `12`.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/good/minimal.xls");
    let pins = pins_of(&path, &LoadOptions::default());
    let titles: Vec<_> = pins.iter().map(|pin| pin.title.clone()).collect();
    assert_eq!(titles, [Some("A cat".to_owned()), Some("12".to_owned())]);
    assert!(pins.iter().all(|pin| pin.board.to_string() == "Animals"));
}

#[test]
fn workbook_diagnostics_name_cells_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pins.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, name) in (0u16..).zip(["board", "title", "image"]) {
        sheet.write_string(0, col, name).unwrap();
    }
    sheet.write_string(1, 0, "Animals").unwrap();
    sheet
        .write_formula(
            1,
            1,
            rust_xlsxwriter::Formula::new("=1/0").set_result("#DIV/0!"),
        )
        .unwrap();
    sheet
        .write_string(1, 2, "https://example.com/a.jpg")
        .unwrap();
    book.save(&path).unwrap();
    let run = |format: &str| {
        assert_cmd::Command::cargo_bin("pinbatch")
            .unwrap()
            .current_dir(dir.path())
            .args(["validate", "pins.xlsx", "--format", format])
            .env("NO_COLOR", "1")
            .assert()
            .code(1)
    };
    run("human").stderr(predicate::str::contains(
        "pins.xlsx: Sheet1!B2: error: title: the cell holds the spreadsheet error #DIV/0!",
    ));
    // GitHub annotations point at the file (a workbook has no lines); the cell is in the text.
    run("github").stdout(predicate::str::contains(
        "::error file=pins.xlsx::Sheet1!B2: title: the cell holds the spreadsheet error #DIV/0!",
    ));
    let output = run("json").get_output().stdout.clone();
    let json: serde_json::Value = serde_json::from_slice(&output).unwrap();
    assert_eq!(json[0]["sheet"], "Sheet1");
    assert_eq!(json[0]["cell"], "Sheet1!B2");
    assert_eq!(json[0]["row"], 2);
    assert_eq!(json[0]["column"], 2);
}

#[test]
fn a_workbook_and_a_shift_jis_csv_apply_without_mojibake() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    for (manifest, state) in [("pins.xlsx", "x.state"), ("pins-shift_jis.csv", "s.state")] {
        emu.pinbatch()
            .args(["apply", "--create-boards", "--timezone", "UTC", "--state"])
            .arg(dir.path().join(state))
            .arg(example(manifest))
            .assert()
            .success();
    }
    let snapshot = emu.snapshot();
    let board = snapshot.board_named("Animals 動物").expect("board created");
    let mut titles: Vec<String> = snapshot
        .pins_on(&board.id)
        .iter()
        .filter_map(|pin| pin.title.clone())
        // The cat is scheduled for 2026-12-24 09:00 UTC: created only once that has passed.
        .filter(|title| title != "Sleeping cat")
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            "Cat and dog, together",
            "Cat and dog, together",
            "Dog in the park",
            "Dog in the park",
        ]
    );
    emu.assert_no_spec_violations();
}

#[test]
fn status_export_and_plan_read_workbooks() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("pins.state");
    emu.pinbatch()
        .args(["status", "--timezone", "UTC", "--state"])
        .arg(&state)
        .arg(example("pins.xlsx"))
        .assert()
        .success()
        .stdout(predicate::str::contains("0 done, 0 failed,"));
    let out = dir.path().join("bulk.csv");
    emu.pinbatch()
        .args(["export", "--timezone", "UTC", "-o"])
        .arg(&out)
        .arg(example("pins.xlsx"))
        .assert()
        .success();
    let bulk = std::fs::read_to_string(&out).unwrap();
    assert!(bulk.contains("Sleeping cat"), "{bulk}");
    assert!(bulk.contains("2026-12-24T09:00:00"), "{bulk}");
    emu.pinbatch()
        .args(["plan", "--offline", "--timezone", "Asia/Tokyo", "--state"])
        .arg(&state)
        .arg(example("pins.xlsx"))
        .assert()
        .success()
        .stdout(predicate::str::contains("pins.xlsx: Pins!3:3"));
}

#[test]
fn local_dates_use_the_time_zone_even_without_a_system_database() {
    let dir = tempfile::tempdir().unwrap();
    let empty_tzdir = dir.path().join("no-zoneinfo");
    std::fs::create_dir_all(&empty_tzdir).unwrap();
    let manifest = dir.path().join("pins.csv");
    std::fs::write(
        &manifest,
        "id,board,image,publish_at\nlater,B,https://example.com/a.jpg,2099/12/24 9:00\n",
    )
    .unwrap();
    let emu = TestEmulator::start();
    let output = emu
        .pinbatch()
        .env("TZDIR", &empty_tzdir)
        .args([
            "plan",
            "--offline",
            "--format",
            "json",
            "--timezone",
            "Asia/Tokyo",
        ])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["pins"][0]["due"], "2099-12-24T09:00:00+09:00");
}

#[test]
fn unknown_encodings_and_time_zones_are_usage_errors() {
    let emu = TestEmulator::start();
    emu.pinbatch()
        .args(["validate", "--encoding", "klingon"])
        .arg(example("pins.csv"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`klingon` is not an encoding"));
    emu.pinbatch()
        .args(["validate", "--timezone", "Mars/Olympus"])
        .arg(example("pins.csv"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`Mars/Olympus` is not a known time zone",
        ));
    emu.pinbatch()
        .args(["validate", "--encoding", "cp932"])
        .arg(example("pins-shift_jis.csv"))
        .assert()
        .success();
}

#[test]
fn a_missing_board_in_a_csv_points_to_what_csv_users_can_do() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.csv");
    std::fs::write(
        &manifest,
        "board,title,image\nNo such board,Cat,https://example.com/a.jpg\n",
    )
    .unwrap();
    let assert = emu.pinbatch().arg("plan").arg(&manifest).assert().code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("pass --create-boards"), "{stderr}");
    assert!(
        stderr.contains("pinbatch boards create 'No such board'"),
        "{stderr}"
    );
    assert!(!stderr.contains("boards:"), "{stderr}");
}

#[test]
fn init_xlsx_offers_the_accounts_boards_and_validates_once_a_board_is_set() {
    use calamine::Reader as _;
    let emu = TestEmulator::start();
    emu.seed_board("Pets", "PUBLIC");
    emu.seed_board("Autumn walks", "SECRET");
    let root = tempfile::tempdir().unwrap();
    let photos = root.path().join("photos");
    std::fs::create_dir_all(photos.join("cats")).unwrap();
    std::fs::copy(example("images/cat.jpg"), photos.join("cats/tom.jpg")).unwrap();
    std::fs::copy(example("images/dog.png"), photos.join("rex.png")).unwrap();
    let book = root.path().join("pins.xlsx");
    emu.pinbatch()
        .args(["init", "--xlsx"])
        .arg(&book)
        .arg(&photos)
        .assert()
        .success()
        .stderr(predicate::str::contains("offers your 2 board(s)"))
        .stderr(predicate::str::contains("2 pin(s)"));
    // Pins: the header, one row per image; Boards: the account's boards, hidden.
    let mut workbook: calamine::Xlsx<_> = calamine::open_workbook(&book).unwrap();
    assert_eq!(workbook.sheet_names(), ["Pins", "Boards"]);
    assert_eq!(
        workbook.sheets_metadata()[1].visible,
        calamine::SheetVisible::Hidden
    );
    let pins = workbook.worksheet_range("Pins").unwrap();
    let row = |r: usize| -> Vec<String> {
        (0..12)
            .map(|c| {
                pins.get((r, c))
                    .map(ToString::to_string)
                    .unwrap_or_default()
            })
            .collect()
    };
    assert_eq!(row(0)[..4], ["id", "board", "section", "title"]);
    assert_eq!(row(1)[0], "cats/tom.jpg");
    assert_eq!(row(1)[9], "photos/cats/tom.jpg");
    assert_eq!(row(2)[0], "rex.png");
    let boards = workbook.worksheet_range("Boards").unwrap();
    let names: Vec<String> = boards.rows().map(|r| r[0].to_string()).collect();
    assert_eq!(names, ["Autumn walks", "Pets"]);
    // The board column's drop-down lists them; publish_at is date-formatted; notes explain.
    let sheet = xlsx_part(&book, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains("<dataValidation type=\"list\""), "{sheet}");
    assert!(sheet.contains("sqref=\"B2:B1001\""), "{sheet}");
    assert!(
        sheet.contains("<formula1>Boards!$A$1:$A$2</formula1>"),
        "{sheet}"
    );
    assert!(xlsx_part(&book, "xl/styles.xml").contains("yyyy-mm-dd hh:mm"));
    assert!(xlsx_part(&book, "xl/comments1.xml").contains("pick one from the list"));
    // Without a board the rows are refused, naming them; with one, the workbook validates.
    emu.pinbatch()
        .arg("validate")
        .arg(&book)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "pins.xlsx: Pins!2:2: error: board: the pin has no board",
        ));
    emu.pinbatch()
        .args(["init", "--force", "--board", "Pets", "--xlsx"])
        .arg(&book)
        .arg(&photos)
        .assert()
        .success();
    emu.pinbatch()
        .arg("validate")
        .arg(&book)
        .assert()
        .success()
        .stderr(predicate::str::contains("pins.xlsx: 2 pins, 0 errors"));
}

#[test]
fn init_xlsx_without_a_login_or_a_folder_is_an_empty_template() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("template.xlsx");
    emu.pinbatch()
        .env_remove("PINTEREST_ACCESS_TOKEN")
        .args(["init", "--xlsx"])
        .arg(&book)
        .assert()
        .success()
        .stderr(predicate::str::contains("no drop-down: not logged in"));
    assert!(emu.requests().is_empty(), "no API call without a token");
    let sheet = xlsx_part(&book, "xl/worksheets/sheet1.xml");
    assert!(!sheet.contains("dataValidation"));
    emu.pinbatch()
        .args(["init", "--xlsx"])
        .arg(&book)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
}

/// The parts of an .xlsx, in order, as (name, bytes).
fn xlsx_parts(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut part = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            part.read_to_end(&mut content).unwrap();
            (part.name().unwrap().into_owned(), content)
        })
        .collect()
}

fn zip_parts(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write as _;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in parts {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn mutated_workbook_xml_never_panics_and_every_rejection_has_a_diagnostic() {
    // Random bytes rarely get past a zip's checksums: mutate the XML inside, then zip it again.
    let parts = xlsx_parts(&std::fs::read(example("pins.xlsx")).unwrap());
    let targets: Vec<usize> = parts
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| {
            name.ends_with("sheet1.xml")
                || name.ends_with("sharedStrings.xml")
                || name.ends_with("styles.xml")
                || name.ends_with("workbook.xml")
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        targets.len(),
        4,
        "{:?}",
        parts.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.xlsx");
    let mut rng = fastrand::Rng::with_seed(11);
    let mut rejected = 0;
    for _ in 0..600 {
        let mut mutated = parts.clone();
        let target = targets[rng.usize(0..targets.len())];
        mutated[target].1 = crate::reliability::mutate(&mut rng, &mutated[target].1);
        std::fs::write(&path, zip_parts(&mutated)).unwrap();
        let outcome = std::panic::catch_unwind(|| manifest::load(&path)).unwrap_or_else(|_| {
            panic!(
                "the workbook reader panicked on a mutated {}:\n{}",
                mutated[target].0,
                String::from_utf8_lossy(&mutated[target].1)
            )
        });
        if outcome.manifest.is_none() {
            rejected += 1;
            assert!(outcome.has_errors(), "rejected without an error diagnostic");
        }
    }
    assert!(rejected > 0, "the mutations never produced a bad workbook");
}
