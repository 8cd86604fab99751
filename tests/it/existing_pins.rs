//! The pins an account already has: `pins list` over 600 pins (every page, newest first, in
//! each format, the CSV read back as a manifest), `pins get`, `pins delete` (confirmation or
//! `--yes`, per-id results), and `import` with exact, ambiguous and missing matches followed by
//! a `plan` and an `apply` that creates only the missing pins.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};

use crate::common::TestEmulator;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn run(emu: &TestEmulator, args: &[&str]) -> Output {
    emu.pinbatch().args(args).output().unwrap()
}

/// Stores a pin made by hand: an image URL, or a carousel of two, on `board`, in `section`.
fn hand_pin(
    emu: &TestEmulator,
    board: &str,
    section: Option<&str>,
    title: &str,
    description: &str,
    link: &str,
) -> String {
    let mut body = json!({
        "board_id": board,
        "title": title,
        "description": description,
        "link": link,
        "media_source": {"source_type": "image_url", "url": "https://example.com/by-hand.jpg"},
    });
    if let Some(section) = section {
        body["board_section_id"] = json!(section);
    }
    emu.seed_pin_body(&body)
}

#[test]
fn pins_list_reads_600_pins_newest_first_in_every_format() {
    let emu = TestEmulator::start();
    let board = emu.seed_board("Shop 店", "PUBLIC");
    let other = emu.seed_board("Elsewhere", "PUBLIC");
    let sale = emu.seed_section(&board, "Sale");
    let mut seeded = Vec::new();
    for i in 0..600 {
        seeded.push(emu.seed_pin(
            &board,
            &format!("Hand pin {i:03}"),
            "Made on Pinterest",
            &format!("https://example.com/shop/{i}"),
        ));
    }
    let carousel = emu.seed_pin_body(&json!({
        "board_id": board, "board_section_id": sale, "title": "Sale, two photos",
        "link": "https://example.com/sale",
        "media_source": {"source_type": "multiple_image_urls", "items": [
            {"url": "https://example.com/s1.jpg"}, {"url": "https://example.com/s2.jpg"}]},
    }));
    let in_sale = hand_pin(
        &emu,
        &board,
        Some(&sale),
        "On sale",
        "",
        "https://example.com/sale/1",
    );
    hand_pin(
        &emu,
        &other,
        None,
        "Not this board",
        "",
        "https://example.com/x",
    );
    // Pinterest documents no order for listings: nothing may rely on one.
    emu.set_fault_spec("list-order=mixed");

    let output = run(&emu, &["pins", "list", "shop 店", "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listed: Vec<Value> = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        listed.len(),
        602,
        "every page of the board, sections included"
    );
    let ids: Vec<&str> = listed.iter().map(|p| p["id"].as_str().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 602, "no pin twice");
    // Created in the same seconds, in id order: newest first means highest id first.
    let mut expected: Vec<String> = seeded.clone();
    expected.push(carousel.clone());
    expected.push(in_sale.clone());
    expected.sort_by_key(|id| std::cmp::Reverse(id.parse::<u64>().unwrap()));
    let created: Vec<&str> = listed
        .iter()
        .map(|p| p["created_at"].as_str().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "newest first by created_at"
    );
    let by_second: BTreeMap<&str, Vec<u64>> =
        listed.iter().fold(BTreeMap::new(), |mut map, pin| {
            map.entry(pin["created_at"].as_str().unwrap())
                .or_insert_with(Vec::new)
                .push(pin["id"].as_str().unwrap().parse().unwrap());
            map
        });
    for ids in by_second.values() {
        assert!(
            ids.windows(2).all(|w| w[0] > w[1]),
            "ties: highest id first"
        );
    }
    let sale_pin = listed.iter().find(|p| p["id"] == in_sale.as_str()).unwrap();
    assert_eq!(sale_pin["section"], "Sale");
    assert_eq!(sale_pin["media_type"], "image");
    assert_eq!(
        sale_pin["url"],
        format!("https://www.pinterest.com/pin/{in_sale}/")
    );
    let pages = emu
        .requests()
        .iter()
        .filter(|r| r.is("GET", &format!("/v5/boards/{board}/pins")))
        .count();
    assert_eq!(pages, 3, "602 pins at 250 a page");

    let output = run(&emu, &["pins", "list", &board, "--limit", "5"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 6, "{table}");
    for column in ["ID", "CREATED", "TITLE", "LINK", "MEDIA", "SECTION", "URL"] {
        assert!(lines[0].contains(column), "{}", lines[0]);
    }

    // One section as CSV: manifest columns that `validate` reads back.
    let output = run(
        &emu,
        &[
            "pins",
            "list",
            "Shop 店",
            "--section",
            "sale",
            "--format",
            "csv",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let csv = stdout(&output);
    let mut rows = csv.lines();
    assert_eq!(
        rows.next().unwrap(),
        "id,board,section,title,description,link,alt_text,dominant_color,ai_disclosures,image"
    );
    let rows: Vec<&str> = rows.collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[0].starts_with(&format!("{in_sale},Shop 店,Sale,On sale,")));
    let carousel_row = rows[1];
    assert!(carousel_row.starts_with(&format!("{carousel},")));
    assert_eq!(
        carousel_row.matches("/images/").count(),
        2,
        "{carousel_row}"
    );
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("sale.csv");
    std::fs::write(&manifest, &csv).unwrap();
    emu.pinbatch()
        .arg("validate")
        .arg(&manifest)
        .assert()
        .success();

    // Names resolve as `apply` resolves them: unknown and ambiguous names are errors.
    let output = run(&emu, &["pins", "list", "Nowhere"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("Board `Nowhere` does not exist"));
    let twin = emu.seed_group_board("Elsewhere", "PUBLIC");
    let output = run(&emu, &["pins", "list", "Elsewhere"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("ambiguous") && text.contains(&other) && text.contains(&twin),
        "{text}"
    );
    emu.assert_no_spec_violations();
}

#[test]
fn pins_get_shows_one_pin_and_delete_asks_or_needs_yes() {
    let emu = TestEmulator::start();
    let board = emu.seed_board("Shop", "PUBLIC");
    let first = hand_pin(&emu, &board, None, "First", "One", "https://example.com/1");
    let second = hand_pin(&emu, &board, None, "Second", "Two", "https://example.com/2");
    let kept = hand_pin(&emu, &board, None, "Kept", "Three", "https://example.com/3");

    let output = run(&emu, &["pins", "get", &first]);
    assert!(output.status.success(), "{}", stderr(&output));
    let shown = stdout(&output);
    assert!(shown.contains("Title:       First"), "{shown}");
    assert!(
        shown.contains("Link:        https://example.com/1"),
        "{shown}"
    );
    let output = run(&emu, &["pins", "get", &first, "--format", "json"]);
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["board_id"], board.as_str());
    assert_eq!(json["title"], "First");
    let output = run(&emu, &["pins", "get", "999999999"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("Pin not found"));

    // Not a terminal and no --yes: nothing is deleted, usage error.
    emu.clear_requests();
    let output = run(&emu, &["pins", "delete", &first]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--yes"));
    assert!(emu.requests().is_empty(), "asked nothing of Pinterest");

    let output = run(
        &emu,
        &[
            "pins",
            "delete",
            &first,
            &second,
            "999999999",
            &first,
            "--yes",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "one id failed");
    let report = stdout(&output);
    assert!(report.contains(&format!("deleted {first}")), "{report}");
    assert!(report.contains(&format!("deleted {second}")), "{report}");
    assert!(
        report.contains("failed  999999999") && report.contains("Pin not found"),
        "{report}"
    );
    assert_eq!(
        report.matches(&format!("deleted {first}")).count(),
        1,
        "an id given twice is deleted once"
    );
    let left: Vec<String> = emu.snapshot().pins.iter().map(|p| p.id.clone()).collect();
    assert_eq!(left, vec![kept]);
    emu.assert_no_spec_violations();
}

/// Runs a command under a pseudo-terminal (`script`), feeding `input` on its standard input.
fn on_terminal(emu: &TestEmulator, args: &[&str], input: &str) -> Option<Output> {
    use std::io::Write as _;
    let script = which("script")?;
    let command = emu.pinbatch();
    let mut line = shell_quote(command.get_program().to_str().unwrap());
    for arg in command
        .get_args()
        .chain(args.iter().map(std::ffi::OsStr::new))
    {
        line.push(' ');
        line.push_str(&shell_quote(arg.to_str().unwrap()));
    }
    let mut process = std::process::Command::new(script);
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => process.env(name, value),
            None => process.env_remove(name),
        };
    }
    let mut child = process
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(input.as_bytes()).ok()?;
    child.wait_with_output().ok()
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[test]
fn pins_delete_on_a_terminal_asks_first() {
    let emu = TestEmulator::start();
    let board = emu.seed_board("Shop", "PUBLIC");
    let pin = hand_pin(&emu, &board, None, "Asked", "", "https://example.com/a");
    let Some(declined) = on_terminal(&emu, &["pins", "delete", &pin], "n\n") else {
        eprintln!(
            "skipped: `script` (util-linux) is not installed, no pseudo-terminal to test with"
        );
        return;
    };
    let text = String::from_utf8_lossy(&declined.stdout);
    assert!(text.contains("cannot be undone"), "{text}");
    assert!(text.contains("Nothing was deleted"), "{text}");
    assert_eq!(emu.snapshot().pins.len(), 1);
    let accepted = on_terminal(&emu, &["pins", "delete", &pin], "y\n").unwrap();
    let text = String::from_utf8_lossy(&accepted.stdout);
    assert!(text.contains(&format!("deleted {pin}")), "{text}");
    assert!(emu.snapshot().pins.is_empty());
}

/// A manifest for the import test: keys a (exact), b (exact, in a section), c (nothing on
/// Pinterest), d1 and d2 (twins told apart by their images, one pin made by hand), e (two pins
/// made by hand), f (exact text, but the manifest adds alt text).
fn import_manifest(dir: &Path) -> std::path::PathBuf {
    let text = "version: 1\n\
        defaults:\n  board: Shop\n\
        pins:\n\
        \x20 - id: a\n    title: Alpha\n    description: First\n    link: https://example.com/a\n    image: https://example.com/a.jpg\n\
        \x20 - id: b\n    section: Sale\n    title: Beta\n    description: Second\n    link: https://example.com/b\n    image: https://example.com/b.jpg\n\
        \x20 - id: c\n    title: Gamma\n    description: Third\n    link: https://example.com/c\n    image: https://example.com/c.jpg\n\
        \x20 - id: d1\n    title: Delta\n    description: Twins\n    link: https://example.com/d\n    image: https://example.com/d1.jpg\n\
        \x20 - id: d2\n    title: Delta\n    description: Twins\n    link: https://example.com/d\n    image: https://example.com/d2.jpg\n\
        \x20 - id: e\n    title: Epsilon\n    description: Made twice\n    link: https://example.com/e\n    image: https://example.com/e.jpg\n\
        \x20 - id: f\n    title: Phi\n    description: Sixth\n    link: https://example.com/f\n    alt_text: A new alt text\n    image: https://example.com/f.jpg\n";
    let path = dir.join("pins.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn import_adopts_exact_matches_leaves_ambiguous_ones_and_apply_creates_only_the_missing() {
    let emu = TestEmulator::start();
    let board = emu.seed_board("Shop", "PUBLIC");
    let sale = emu.seed_section(&board, "Sale");
    let a = hand_pin(
        &emu,
        &board,
        None,
        "Alpha",
        "First",
        "https://example.com/a",
    );
    let b = hand_pin(
        &emu,
        &board,
        Some(&sale),
        "Beta",
        "Second",
        "https://example.com/b",
    );
    // Same text as b but not in the section the manifest names: not a match for b.
    hand_pin(
        &emu,
        &board,
        None,
        "Beta",
        "Second",
        "https://example.com/b",
    );
    let d = hand_pin(
        &emu,
        &board,
        None,
        "Delta",
        "Twins",
        "https://example.com/d",
    );
    let e1 = hand_pin(
        &emu,
        &board,
        None,
        "Epsilon",
        "Made twice",
        "https://example.com/e",
    );
    let e2 = hand_pin(
        &emu,
        &board,
        None,
        "Epsilon",
        "Made twice",
        "https://example.com/e",
    );
    let f = hand_pin(&emu, &board, None, "Phi", "Sixth", "https://example.com/f");
    let hand_made = emu.snapshot().pins.len();
    let dir = tempfile::tempdir().unwrap();
    let manifest = import_manifest(dir.path());
    let state = dir.path().join("pins.yaml.state");
    let manifest_arg = manifest.to_str().unwrap();

    // A dry run shows what it would record and writes nothing.
    let output = run(&emu, &["import", manifest_arg, "--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "ambiguous matches remain");
    let shown = stdout(&output);
    assert!(shown.contains(&format!("adopt      a  pin {a}")), "{shown}");
    assert!(shown.contains(&format!("adopt      b  pin {b}")), "{shown}");
    assert!(shown.contains("missing    c"), "{shown}");
    assert!(
        shown.contains(&format!("ambiguous  d1  pin {d} matches it and d2")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("pins {e1}, {e2} all match")),
        "{shown}"
    );
    assert!(
        stderr(&output).contains("Dry run: would record 3"),
        "{}",
        stderr(&output)
    );
    assert!(!state.exists(), "a dry run creates no state");

    let output = run(&emu, &["import", manifest_arg]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("--pin"), "{}", stderr(&output));
    let snapshot = pinbatch::state::load(&state).unwrap().unwrap();
    let recorded: BTreeMap<&str, (&str, bool)> = snapshot
        .pins
        .iter()
        .filter_map(|(key, pin)| Some((key.as_str(), (pin.pin_id.as_deref()?, pin.adopted))))
        .collect();
    assert_eq!(
        recorded,
        BTreeMap::from([
            ("a", (a.as_str(), true)),
            ("b", (b.as_str(), true)),
            ("f", (f.as_str(), true))
        ])
    );
    assert_eq!(
        snapshot.header.username.as_deref(),
        Some("pinbatch-emulator"),
        "tied to the account"
    );

    // The user settles the ambiguous ones; what is recorded stays.
    let output = run(
        &emu,
        &[
            "import",
            manifest_arg,
            "--pin",
            &format!("d1={d}"),
            "--pin",
            &format!("e={e2}"),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let shown = stdout(&output);
    assert!(
        shown.contains(&format!("adopt      d1  pin {d} (named with --pin)")),
        "{shown}"
    );
    assert!(shown.contains("missing    d2"), "{shown}");
    // A pin already recorded cannot be named for another key.
    let output = run(&emu, &["import", manifest_arg, "--pin", &format!("c={a}")]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("already recorded"),
        "{}",
        stderr(&output)
    );

    // `import` never wrote to Pinterest.
    assert!(
        emu.requests().iter().all(|r| r.method == "GET"),
        "import only reads"
    );
    assert_eq!(emu.snapshot().pins.len(), hand_made);

    let output = run(&emu, &["plan", manifest_arg, "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let plan: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let actions: BTreeMap<&str, &str> = plan["pins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["key"].as_str().unwrap(), p["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        BTreeMap::from([
            ("a", "unchanged"),
            ("b", "unchanged"),
            ("c", "create"),
            ("d1", "unchanged"),
            ("d2", "create"),
            ("e", "unchanged"),
            ("f", "update"),
        ])
    );

    emu.clear_requests();
    let output = run(&emu, &["apply", manifest_arg]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(emu.creates(), 2, "only c and d2 are created");
    assert_eq!(emu.count("PATCH", &format!("/v5/pins/{f}")), 1);
    let after = emu.snapshot();
    assert_eq!(after.pins.len(), hand_made + 2);
    let created: BTreeSet<&str> = after
        .pins
        .iter()
        .filter(|p| p.title.as_deref() == Some("Gamma") || p.title.as_deref() == Some("Delta"))
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(created.len(), 3, "d made by hand, d2 and c created");
    let snapshot = pinbatch::state::load(&state).unwrap().unwrap();
    let ids: Vec<&str> = snapshot
        .pins
        .values()
        .filter_map(|p| p.pin_id.as_deref())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), 7);
    assert_eq!(unique.len(), 7, "a pin id is never recorded for two keys");
    let f_pin = after.pins.iter().find(|p| p.id == f).unwrap();
    assert_eq!(f_pin.alt_text.as_deref(), Some("A new alt text"));
    emu.assert_rerun_sends_nothing(&[manifest_arg], "unchanged");
    emu.assert_no_spec_violations();
}
