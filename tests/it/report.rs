//! `pinbatch report`: a workbook of 30 pins applied with failures and scheduled rows comes back
//! in each format with every cell checked, the workbook opens in LibreOffice (headless, when
//! installed: Debian's `libreoffice-calc`, which `.ci/run` installs) and reads back as a
//! manifest whose pin ids rebuild a fresh state; `--metrics` sums the emulator's analytics per
//! pin and board, keeps them in the cache beside the state, and survives the emulator's faults
//! and limits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use calamine::{Data, Reader as _};
use serde_json::Value;

use crate::common::{TestEmulator, xlsx_part};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A CSV file's records, the byte-order mark left out.
fn csv_records(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The sheets of a workbook as typed cells, by sheet name.
fn sheets(path: &Path) -> BTreeMap<String, Vec<Vec<Data>>> {
    let mut workbook = calamine::open_workbook_auto(path).unwrap();
    let names = workbook.sheet_names();
    names
        .into_iter()
        .map(|name| {
            let range = workbook.worksheet_range(&name).unwrap();
            let rows = range.rows().map(<[Data]>::to_vec).collect();
            (name, rows)
        })
        .collect()
}

const SCHEDULED: [usize; 3] = [4, 11, 19];

/// The workbook's columns; the report adds its own after them.
const HEADER: [&str; 7] = [
    "id",
    "board",
    "title",
    "description",
    "link",
    "image",
    "publish_at",
];

/// The 30-pin workbook: ids as numbers, two boards, three rows scheduled in 2099 (date cells).
fn workbook_of_30(path: &Path) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Pins").unwrap();
    for (c, name) in HEADER.iter().enumerate() {
        sheet.write_string(0, c as u16, *name).unwrap();
    }
    let when = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for i in 0..30usize {
        let r = (i + 1) as u32;
        sheet.write_number(r, 0, 1001.0 + i as f64).unwrap();
        sheet.write_string(r, 1, board_of(i)).unwrap();
        sheet.write_string(r, 2, title_of(i)).unwrap();
        sheet
            .write_string(r, 3, format!("Description {i}"))
            .unwrap();
        sheet
            .write_string(r, 4, format!("https://example.com/p/{i}"))
            .unwrap();
        sheet
            .write_string(r, 5, format!("https://example.com/img/{i}.jpg"))
            .unwrap();
        if SCHEDULED.contains(&i) {
            let due = rust_xlsxwriter::ExcelDateTime::from_ymd(2099, 6, 1)
                .unwrap()
                .and_hms(9, 30, 0)
                .unwrap();
            sheet.write_datetime_with_format(r, 6, &due, &when).unwrap();
        }
    }
    book.save(path).unwrap();
}

fn board_of(i: usize) -> &'static str {
    if i.is_multiple_of(3) {
        "Garden"
    } else {
        "Kitchen 台所"
    }
}

fn title_of(i: usize) -> String {
    if i == 7 {
        "Pin 07, café \"crème\"".to_owned()
    } else {
        format!("Pin {i:02}")
    }
}

/// What each row must say, from the emulator: (pin id, created_at) of published rows.
fn published(emu: &TestEmulator) -> BTreeMap<String, (String, String)> {
    emu.snapshot()
        .pins
        .iter()
        .map(|p| {
            (
                p.title.clone().unwrap_or_default(),
                (p.id.clone(), p.created_at.clone()),
            )
        })
        .collect()
}

#[test]
fn a_30_pin_workbook_comes_back_with_its_results_in_every_format() {
    let emu = TestEmulator::with_faults("fail-first=3,status=400");
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.xlsx");
    workbook_of_30(&manifest);
    let apply = emu
        .pinbatch()
        .arg("apply")
        .arg(&manifest)
        .args(["--create-boards", "-j", "1", "--timezone", "UTC"])
        .output()
        .unwrap();
    assert_eq!(apply.status.code(), Some(1), "{}", stderr(&apply));
    let made = published(&emu);
    assert_eq!(made.len(), 24, "30 pins, 3 scheduled, 3 refused");
    let failed: Vec<usize> = (0..30)
        .filter(|i| !SCHEDULED.contains(i) && !made.contains_key(&title_of(*i)))
        .collect();
    assert_eq!(failed.len(), 3);

    for name in ["r.csv", "r.xlsx", "r.json"] {
        let output = emu
            .pinbatch()
            .arg("report")
            .arg(&manifest)
            .arg("-o")
            .arg(dir.path().join(name))
            .args(["--timezone", "UTC"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        assert!(
            stderr(&output).contains("30 row(s) (24 published, 3 scheduled, 3 failed)"),
            "{}",
            stderr(&output)
        );
    }
    // The report reads nothing from Pinterest.
    assert!(emu.requests().iter().all(|r| !r.path.contains("analytics")));

    // Every cell of the CSV.
    let expected_row = |i: usize| -> Vec<String> {
        let title = title_of(i);
        let (pin_id, status, published_at) = match made.get(&title) {
            Some((id, created)) => (id.clone(), "published", format!("{created}Z")),
            None if SCHEDULED.contains(&i) => (
                String::new(),
                "scheduled",
                "2099-06-01T09:30:00Z".to_owned(),
            ),
            None => (String::new(), "failed", String::new()),
        };
        let url = if pin_id.is_empty() {
            String::new()
        } else {
            format!("https://www.pinterest.com/pin/{pin_id}/")
        };
        vec![
            (1001 + i).to_string(),
            board_of(i).to_owned(),
            title,
            format!("Description {i}"),
            format!("https://example.com/p/{i}"),
            format!("https://example.com/img/{i}.jpg"),
            if SCHEDULED.contains(&i) {
                "2099-06-01 09:30:00".to_owned()
            } else {
                String::new()
            },
            pin_id,
            url,
            status.to_owned(),
            published_at,
        ]
    };
    let records = csv_records(&dir.path().join("r.csv"));
    let mut header = HEADER.to_vec();
    header.extend(["pin_id", "pin_url", "status", "published_at", "error"]);
    assert_eq!(records[0], header);
    assert_eq!(records.len(), 31);
    for i in 0..30 {
        let row = &records[i + 1];
        assert_eq!(row[..11], expected_row(i)[..], "CSV row {}", i + 2);
        if failed.contains(&i) {
            assert!(row[11].contains("400"), "the error: {}", row[11]);
        } else {
            assert_eq!(row[11], "", "row {}", i + 2);
        }
    }

    // The workbook: the same cells, typed; a bold frozen header with a filter; links.
    let book = dir.path().join("r.xlsx");
    let sheets = sheets(&book);
    assert_eq!(sheets.keys().collect::<Vec<_>>(), ["Pins"]);
    let rows = &sheets["Pins"];
    let header: Vec<String> = rows[0].iter().map(ToString::to_string).collect();
    assert_eq!(header, records[0]);
    for i in 0..30 {
        let row = &rows[i + 1];
        let expected = expected_row(i);
        assert_eq!(row[0], Data::Float(1001.0 + i as f64), "id stays a number");
        for c in [1, 2, 3, 4, 5, 7, 8, 9] {
            let text = match &row[c] {
                Data::Empty => String::new(),
                Data::String(text) => text.clone(),
                other => panic!("row {} column {c} is {other:?}, not text", i + 2),
            };
            assert_eq!(text, expected[c], "row {} column {c}", i + 2);
        }
        for c in [6, 10] {
            match &row[c] {
                Data::Empty => assert_eq!(expected[c], "", "row {} column {c}", i + 2),
                Data::DateTime(at) => {
                    let (y, m, d, h, min, s, _) = at.to_ymd_hms_milli();
                    let text = format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}");
                    assert!(
                        expected[c].replace(' ', "T").starts_with(&text),
                        "row {} column {c}: {text} vs {}",
                        i + 2,
                        expected[c]
                    );
                }
                other => panic!("row {} column {c} is {other:?}, not a date", i + 2),
            }
        }
        match &row[11] {
            Data::String(error) => assert!(failed.contains(&i) && error.contains("400")),
            Data::Empty => assert!(!failed.contains(&i)),
            other => panic!("{other:?}"),
        }
    }
    let sheet = xlsx_part(&book, "xl/worksheets/sheet1.xml");
    assert!(sheet.contains("ySplit=\"1\""), "a frozen header");
    assert!(
        sheet.contains("<autoFilter ref=\"A1:L31\""),
        "a filter over every column"
    );
    assert_eq!(sheet.matches("<hyperlink ").count(), 24, "one link per pin");
    assert!(
        xlsx_part(&book, "xl/styles.xml").contains("<b/>"),
        "a bold header"
    );

    // The JSON: the same rows, the manifest's cells by column and typed.
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    let json_rows = json["rows"].as_array().unwrap();
    assert_eq!(json_rows.len(), 30);
    for (i, row) in json_rows.iter().enumerate() {
        let expected = expected_row(i);
        assert_eq!(row["manifest"]["id"], Value::from(1001.0 + i as f64));
        assert_eq!(row["manifest"]["title"], Value::from(title_of(i)));
        assert_eq!(row["status"], Value::from(expected[9].clone()));
        assert_eq!(
            row["pin_id"].as_str().unwrap_or(""),
            expected[7],
            "row {}",
            i + 2
        );
        assert_eq!(row["published_at"].as_str().unwrap_or(""), expected[10]);
        assert_eq!(
            row["location"],
            Value::from(format!("{}: Pins!{}:{}", manifest.display(), i + 2, i + 2))
        );
    }

    libreoffice_opens(&book, &dir.path().join("lo"), &expected_row);

    // The workbook read back as a manifest on a machine without the state: the pin ids rebuild
    // it; the failed rows are tried again, as failures always are; nothing else is written.
    emu.set_fault_spec("");
    emu.clear_requests();
    let fresh = dir.path().join("elsewhere.state");
    let readback = emu
        .pinbatch()
        .arg("apply")
        .arg(&book)
        .arg("--state")
        .arg(&fresh)
        .args(["--timezone", "UTC"])
        .output()
        .unwrap();
    assert!(readback.status.success(), "{}", stderr(&readback));
    assert_eq!(emu.writes(), vec!["POST /v5/pins".to_owned(); 3]);
    emu.clear_requests();
    emu.pinbatch()
        .arg("apply")
        .arg(&book)
        .arg("--state")
        .arg(&fresh)
        .args(["--timezone", "UTC"])
        .assert()
        .success();
    assert!(emu.requests().is_empty(), "a re-run sends nothing");

    // A second machine: every published row carries its id now. Zero writes; then one title
    // edited in the workbook is one update.
    let report2 = dir.path().join("r2.xlsx");
    emu.pinbatch()
        .arg("report")
        .arg(&book)
        .arg("--state")
        .arg(&fresh)
        .arg("-o")
        .arg(&report2)
        .args(["--timezone", "UTC"])
        .assert()
        .success();
    let second = dir.path().join("second.state");
    emu.clear_requests();
    emu.pinbatch()
        .arg("apply")
        .arg(&report2)
        .arg("--state")
        .arg(&second)
        .args(["--timezone", "UTC"])
        .assert()
        .success();
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    let edited = dir.path().join("edited.xlsx");
    copy_with_title(&report2, &edited, 9, "Pin 08, renamed");
    emu.clear_requests();
    emu.pinbatch()
        .arg("apply")
        .arg(&edited)
        .arg("--state")
        .arg(&second)
        .args(["--timezone", "UTC"])
        .assert()
        .success();
    let id = &published(&emu)["Pin 08, renamed"].0;
    assert_eq!(emu.writes(), [format!("PATCH /v5/pins/{id}")]);
    assert_eq!(emu.snapshot().pins.len(), 27);
    emu.assert_no_spec_violations();
}

/// Copies the first sheet of a workbook cell by cell, types kept, with the title of sheet row
/// `row` (1-based, as a spreadsheet shows it) replaced: what a user does in Excel.
fn copy_with_title(from: &Path, to: &Path, row: usize, title: &str) {
    let sheets = sheets(from);
    let (name, rows) = sheets.iter().next().unwrap();
    let title_column = rows[0]
        .iter()
        .position(|c| *c == Data::String("title".into()))
        .unwrap();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(name).unwrap();
    let when = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for (r, cells) in rows.iter().enumerate() {
        for (c, cell) in cells.iter().enumerate() {
            let (r32, c16) = (r as u32, c as u16);
            if r + 1 == row && c == title_column {
                sheet.write_string(r32, c16, title).unwrap();
                continue;
            }
            match cell {
                Data::String(text) => {
                    sheet.write_string(r32, c16, text).unwrap();
                }
                Data::Float(n) => {
                    sheet.write_number(r32, c16, *n).unwrap();
                }
                Data::Int(n) => {
                    sheet.write_number(r32, c16, *n as f64).unwrap();
                }
                Data::DateTime(at) => {
                    let (y, m, d, h, min, s, _) = at.to_ymd_hms_milli();
                    let at = rust_xlsxwriter::ExcelDateTime::from_ymd(y, m, d)
                        .unwrap()
                        .and_hms(u16::from(h), min, s)
                        .unwrap();
                    sheet
                        .write_datetime_with_format(r32, c16, &at, &when)
                        .unwrap();
                }
                Data::Bool(b) => {
                    sheet.write_boolean(r32, c16, *b).unwrap();
                }
                _ => {}
            }
        }
    }
    book.save(to).unwrap();
}

/// LibreOffice, headless, when it can be found (Debian's `soffice`, or `PINBATCH_TEST_SOFFICE`).
fn find_soffice() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PINBATCH_TEST_SOFFICE") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["soffice", "libreoffice"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Converts the workbook to CSV with LibreOffice headless and checks it reads what the report
/// wrote: the file opens cleanly in another spreadsheet program.
fn libreoffice_opens(book: &Path, out: &Path, expected_row: &dyn Fn(usize) -> Vec<String>) {
    let Some(soffice) = find_soffice() else {
        eprintln!(
            "skipped the LibreOffice check: no soffice found (install Debian's `libreoffice-calc`, as .ci/run does, or set PINBATCH_TEST_SOFFICE)"
        );
        return;
    };
    std::fs::create_dir_all(out).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(&soffice)
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.path().display()
        ))
        .args([
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",
        ])
        .arg("--outdir")
        .arg(out)
        .arg(book)
        .output()
        .expect("soffice starts");
    assert!(
        status.status.success(),
        "LibreOffice could not convert the report: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let converted = out.join(book.file_stem().unwrap()).with_extension("csv");
    let records = csv_records(&converted);
    assert_eq!(records.len(), 31, "LibreOffice reads every row");
    assert_eq!(records[0][..3], ["id", "board", "title"]);
    for i in 0..30 {
        let expected = expected_row(i);
        let row = &records[i + 1];
        for c in [0, 1, 2, 7, 8, 9] {
            assert_eq!(row[c], expected[c], "LibreOffice row {} column {c}", i + 2);
        }
        // Dates as dates: shown with the cell's format.
        if !expected[10].is_empty() {
            assert_eq!(row[10], expected[10][..16].replace('T', " "));
        }
    }
}

/// The figures the emulator reports for a pin over `since..=until` (its `READY` days: from
/// its creation on), summed as a report sums them; `None` when no day has data.
fn expected_metrics(
    pin_id: &str,
    created: jiff::civil::Date,
    since: jiff::civil::Date,
    until: jiff::civil::Date,
    video: bool,
) -> Option<Vec<f64>> {
    use pinbatch_emulator::analytics::daily_value;
    let mut sums = [0.0; 4];
    let (mut views, mut watched, mut any) = (0.0, 0.0, false);
    let mut day = since.max(created);
    while day <= until {
        any = true;
        for (sum, metric) in
            sums.iter_mut()
                .zip(["IMPRESSION", "SAVE", "PIN_CLICK", "OUTBOUND_CLICK"])
        {
            *sum += daily_value(pin_id, day, metric, video).unwrap();
        }
        if video {
            let v = daily_value(pin_id, day, "VIDEO_MRC_VIEW", true).unwrap();
            views += v;
            watched += v * daily_value(pin_id, day, "VIDEO_AVG_WATCH_TIME", true).unwrap();
        }
        day = day.tomorrow().unwrap();
    }
    if !any {
        return None;
    }
    let mut values = sums.to_vec();
    if video {
        values.push(views);
        values.push(((if views > 0.0 { watched / views } else { 0.0 }) * 100.0).round() / 100.0);
    }
    Some(values)
}

fn analytics_reads(emu: &TestEmulator) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/analytics"))
        .count()
}

#[test]
fn metrics_equal_the_emulators_figures_per_pin_and_board_and_are_read_once() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("run.mp4"),
        crate::video::tiny_mp4(b"frames"),
    )
    .unwrap();
    let manifest = dir.path().join("pins.csv");
    let mut text = String::from("id,board,title,image,video\n");
    for i in 0..4 {
        let board = if i < 2 { "Shop" } else { "Blog" };
        text.push_str(&format!(
            "p{i},{board},Pin {i},https://example.com/{i}.jpg,\n"
        ));
    }
    text.push_str("clip,Blog,A clip,,run.mp4\n");
    std::fs::write(&manifest, &text).unwrap();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .args(["--create-boards", "--settle", "100ms"])
        .assert()
        .success();
    // Made 40 days ago, as far as analytics can tell; then one more pin, made now: too new.
    emu.backdate_pins(40);
    text.push_str("new,Shop,Brand new,https://example.com/new.jpg,\n");
    std::fs::write(&manifest, &text).unwrap();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success();
    let pins: BTreeMap<String, (String, jiff::civil::Date, bool)> = emu
        .snapshot()
        .pins
        .iter()
        .map(|p| {
            let created: jiff::civil::Date = p.created_at[..10].parse().unwrap();
            let video = matches!(p.media, pinbatch_emulator::PinMediaRecord::Video { .. });
            (p.title.clone().unwrap(), (p.id.clone(), created, video))
        })
        .collect();

    emu.clear_requests();
    let book = dir.path().join("r.xlsx");
    let output = emu
        .pinbatch()
        .arg("report")
        .arg(&manifest)
        .arg("-o")
        .arg(&book)
        .arg("--metrics")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(analytics_reads(&emu), 6, "one read per published pin");
    assert!(emu.writes().is_empty(), "read-only");
    let json_path = dir.path().join("r.json");
    emu.clear_requests();
    emu.pinbatch()
        .arg("report")
        .arg(&manifest)
        .arg("-o")
        .arg(&json_path)
        .arg("--metrics")
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "0 read from Pinterest, 6 from the cache",
        ));
    assert_eq!(analytics_reads(&emu), 0, "a re-run reads nothing again");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let day = |name: &str| -> jiff::civil::Date {
        json["metrics_period"][name]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (since, until) = (day("since"), day("until"));
    assert_eq!(
        until.since(since).unwrap().get_days(),
        29,
        "30 days by default"
    );

    // Every metric cell of the workbook equals the emulator's figures.
    let sheets = sheets(&book);
    assert_eq!(sheets.keys().collect::<Vec<_>>(), ["Boards", "Pins"]);
    let rows = &sheets["Pins"];
    let header: Vec<String> = rows[0].iter().map(ToString::to_string).collect();
    assert_eq!(
        header[10..],
        [
            "impressions",
            "saves",
            "pin_clicks",
            "outbound_clicks",
            "video_views",
            "avg_watch_time"
        ]
    );
    // [impressions, saves, pin clicks, outbound clicks, video views] per board.
    let mut by_board: BTreeMap<String, [f64; 5]> = BTreeMap::new();
    for row in &rows[1..] {
        let title = row[2].to_string();
        let (id, created, video) = &pins[&title];
        let expected = expected_metrics(id, *created, since, until, *video);
        let cells: Vec<Option<f64>> = row[10..16]
            .iter()
            .map(|cell| match cell {
                Data::Float(n) => Some(*n),
                Data::Empty => None,
                other => panic!("{title}: metric cell {other:?} is not a number"),
            })
            .collect();
        assert_eq!(expected.is_none(), title == "Brand new", "{title}");
        let Some(values) = expected else {
            assert!(
                cells.iter().all(Option::is_none),
                "{title}: empty, not zeros"
            );
            continue;
        };
        let mut wanted: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
        wanted.resize(6, None);
        assert_eq!(cells, wanted, "{title}");
        let totals = by_board.entry(row[1].to_string()).or_default();
        for (total, value) in totals.iter_mut().zip(&values) {
            *total += value;
        }
    }
    // The board sheet sums them.
    let boards = &sheets["Boards"];
    assert_eq!(boards[0][0].to_string(), "board");
    assert_eq!(boards.len(), 3);
    for row in &boards[1..] {
        let name = row[0].to_string();
        let sheet_values: Vec<f64> = row[4..9]
            .iter()
            .map(|c| match c {
                Data::Float(n) => *n,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(sheet_values, by_board[&name], "{name}");
    }
    emu.assert_no_spec_violations();
}

#[test]
fn a_partial_metrics_run_keeps_what_it_read_and_the_emulators_limits_hold() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.csv");
    let mut text = String::from("board,title,image\n");
    for i in 0..6 {
        text.push_str(&format!("Shop,Pin {i},https://example.com/{i}.jpg\n"));
    }
    std::fs::write(&manifest, &text).unwrap();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .arg("--create-boards")
        .assert()
        .success();
    emu.backdate_pins(10);
    let report = |extra: &[&str]| -> Output {
        emu.pinbatch()
            .arg("report")
            .arg(&manifest)
            .arg("-o")
            .arg(dir.path().join("r.csv"))
            .arg("--metrics")
            .args(extra)
            .output()
            .unwrap()
    };

    // Two reads refused: those pins have no figures, the run fails, the rest is kept.
    emu.set_fault_spec("fail-first=2,status=400,scope=analytics");
    emu.clear_requests();
    let partial = report(&[]);
    assert_eq!(partial.status.code(), Some(1), "{}", stderr(&partial));
    assert_eq!(analytics_reads(&emu), 6);
    assert_eq!(
        stderr(&partial)
            .matches("warning: cannot read the analytics of pin")
            .count(),
        2,
        "{}",
        stderr(&partial)
    );
    let records = csv_records(&dir.path().join("r.csv"));
    let empty = records[1..].iter().filter(|r| r[8].is_empty()).count();
    assert_eq!(empty, 2, "the two refused pins have empty cells");
    // Run again: only those two are read.
    emu.set_fault_spec("");
    emu.clear_requests();
    let again = report(&[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(analytics_reads(&emu), 2);
    assert!(
        csv_records(&dir.path().join("r.csv"))[1..]
            .iter()
            .all(|r| !r[8].is_empty())
    );

    // A 5xx is retried like every other read.
    std::fs::remove_file(dir.path().join("pins.csv.state.analytics")).unwrap();
    emu.set_fault_spec("fail-first=2,status=503,scope=analytics");
    emu.clear_requests();
    let retried = report(&["--retry-base-delay", "1ms"]);
    assert!(retried.status.success(), "{}", stderr(&retried));
    assert_eq!(analytics_reads(&emu), 8);

    // Days Pinterest does not keep are refused before any request...
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let too_old = today
        .checked_sub(jiff::Span::new().days(91))
        .unwrap()
        .to_string();
    emu.clear_requests();
    let refused = report(&["--since", &too_old]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("more than 90 days ago"));
    assert_eq!(analytics_reads(&emu), 0);
    // ...and a server whose clock is ahead refuses what it no longer keeps, per pin.
    std::fs::remove_file(dir.path().join("pins.csv.state.analytics")).unwrap();
    emu.set_fault_spec("clock-offset=72h");
    let oldest = today
        .checked_sub(jiff::Span::new().days(89))
        .unwrap()
        .to_string();
    let limited = report(&["--since", &oldest]);
    assert_eq!(limited.status.code(), Some(1), "{}", stderr(&limited));
    assert!(
        stderr(&limited).contains("more than 90 days back from today"),
        "{}",
        stderr(&limited)
    );
}

#[test]
fn a_yaml_manifest_reports_as_one_table_that_reads_back() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = crate::common::url_manifest(dir.path(), 3, "Animals 動物");
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .arg("--create-boards")
        .assert()
        .success();
    let report = dir.path().join("r.csv");
    emu.pinbatch()
        .arg("report")
        .arg(&manifest)
        .arg("-o")
        .arg(&report)
        .assert()
        .success();
    let records = csv_records(&report);
    assert_eq!(
        records[0][..6],
        ["id", "board", "title", "description", "link", "image"]
    );
    assert_eq!(records[1][0], "pin-000");
    assert_eq!(records[1][8], "published");
    // It validates, and on a fresh state applies with no writes.
    emu.pinbatch()
        .arg("validate")
        .arg(&report)
        .assert()
        .success();
    emu.clear_requests();
    emu.pinbatch()
        .arg("apply")
        .arg(&report)
        .arg("--state")
        .arg(dir.path().join("fresh.state"))
        .assert()
        .success();
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    // The report never replaces its manifest, and names its formats.
    for (output, expected) in [
        (manifest.clone(), "is the manifest itself"),
        (
            dir.path().join("r.txt"),
            "a report is a .csv, .xlsx or .json file",
        ),
    ] {
        let refused = emu
            .pinbatch()
            .arg("report")
            .arg(&manifest)
            .arg("-o")
            .arg(&output)
            .output()
            .unwrap();
        assert_eq!(refused.status.code(), Some(2));
        assert!(stderr(&refused).contains(expected), "{}", stderr(&refused));
    }
}
