//! Exactly once against a service that fails the way real ones do: gateway pages after the
//! commit, listings that lag writes, a clock minutes away from the machine's, pins that only
//! their images tell apart, listings in no particular order, section pins apart from their
//! board's listing, bookmarks that repeat, and a manifest edited between a crash and the resume.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use pinbatch_emulator::{ImageRecord, PinMediaRecord, PinRecord, RecordedRequest};

use crate::common::{TestEmulator, url_manifest};

/// Runs `pinbatch apply MANIFEST ARGS...` to the end.
fn apply(emu: &TestEmulator, manifest: &Path, args: &[&str]) -> Output {
    emu.pinbatch()
        .arg("apply")
        .arg(manifest)
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_success(output: &Output, context: &str) {
    assert!(
        output.status.success(),
        "{context}: exit {:?}\n{}",
        output.status.code(),
        stderr(output)
    );
}

/// The image URL a stored pin was made from (the emulator keeps it; its API does not show it).
fn image_of(pin: &PinRecord) -> Option<&str> {
    match &pin.media {
        PinMediaRecord::Image(ImageRecord::Url(url)) => Some(url),
        _ => None,
    }
}

/// A manifest of `n` pins on `board` with the same title, description and link, told apart
/// only by their images (`https://example.com/twin/{i}.jpg`).
fn twins_manifest(dir: &Path, n: usize, board: &str) -> PathBuf {
    let mut text = format!("version: 1\ndefaults:\n  board: \"{board}\"\npins:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - id: twin-{i}\n    title: One product\n    description: Same words\n    link: https://example.com/product\n    image: https://example.com/twin/{i}.jpg\n"
        ));
    }
    let path = dir.join("twins.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Every line of a state file after the header, parsed.
fn state_records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The pin id the state records for each key that is done.
fn recorded_pin_ids(state: &Path) -> BTreeMap<String, String> {
    let snapshot = pinbatch::state::load(state).unwrap().unwrap();
    snapshot
        .pins
        .iter()
        .filter_map(|(key, pin)| Some((key.clone(), pin.pin_id.clone()?)))
        .collect()
}

fn is_pin_listing(request: &RecordedRequest) -> bool {
    request.method == "GET"
        && request.path.starts_with("/v5/boards/")
        && request.path.ends_with("/pins")
}

fn is_create(request: &RecordedRequest) -> bool {
    request.is("POST", "/v5/pins")
}

/// The most requests that were in flight at once among `requests`.
fn most_at_once(requests: &[&RecordedRequest]) -> usize {
    let mut edges: Vec<(Duration, i32)> = requests
        .iter()
        .flat_map(|r| [(r.arrived, 1), (r.finished, -1)])
        .collect();
    // At equal times an end comes before a start: back-to-back requests do not overlap.
    edges.sort();
    let (mut now, mut most) = (0, 0);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    usize::try_from(most).unwrap_or(0)
}

#[test]
fn gateway_pages_after_the_commit_with_a_lagging_listing_create_no_duplicate() {
    let emu = TestEmulator::with_faults("gateway-after-commit-first=4,listing-lag=3s");
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 10, "Animals");
    // The default settle window (5 s) covers the 3 s lag.
    let output = apply(&emu, &manifest, &["--retry-base-delay", "1ms"]);
    assert_success(&output, "gateway pages");
    emu.assert_exactly_once(10, "Animals", "gateway pages after the commit");
    let gateway_pages = emu
        .requests()
        .iter()
        .filter(|r| {
            r.fault
                .is_some_and(|f| f.to_string().starts_with("gateway"))
        })
        .count();
    assert_eq!(gateway_pages, 4, "the fault was applied");
    emu.assert_no_spec_violations();
}

#[test]
fn a_create_that_times_out_after_the_commit_is_found_once_the_listing_settles() {
    let emu = TestEmulator::with_faults("stall-after-commit-first=2,listing-lag=2s");
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 5, "Animals");
    let output = apply(
        &emu,
        &manifest,
        &[
            "--timeout",
            "1s",
            "--settle",
            "2500ms",
            "--retry-base-delay",
            "1ms",
        ],
    );
    assert_success(&output, "stalls");
    emu.assert_exactly_once(5, "Animals", "requests timed out after the commit");
    assert_eq!(emu.creates(), 5, "no create was sent again");
}

#[test]
fn an_unknown_create_is_sent_again_only_after_a_settled_listing_read() {
    // 502 before anything is stored: the client cannot tell it from one after.
    let emu = TestEmulator::with_faults("fail-first=2,status=502,latency=5ms");
    let board = emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 1, "Animals");
    let settle = Duration::from_millis(800);
    let output = apply(
        &emu,
        &manifest,
        &["--settle", "800ms", "--retry-base-delay", "1ms", "-j", "1"],
    );
    assert_success(&output, "502 before the commit");
    emu.assert_exactly_once(1, "Animals", "after two unknown outcomes");
    let requests = emu.requests();
    let listing = format!("/v5/boards/{board}/pins");
    let creates: Vec<&RecordedRequest> = requests.iter().filter(|r| is_create(r)).collect();
    assert_eq!(creates.len(), 3, "{requests:#?}");
    for pair in creates.windows(2) {
        let (failed, resent) = (pair[0], pair[1]);
        let reads: Vec<&RecordedRequest> = requests
            .iter()
            .filter(|r| {
                r.path == listing && r.arrived >= failed.finished && r.finished <= resent.arrived
            })
            .collect();
        assert!(
            !reads.is_empty(),
            "no listing read between two creates: {requests:#?}"
        );
        assert!(
            reads.iter().all(|r| r.arrived >= failed.finished + settle),
            "a listing was read before the settle window ended: {reads:#?}"
        );
        // Read again right before the re-send: nothing else happened in between.
        let last_read = reads.last().unwrap();
        let between: Vec<&RecordedRequest> = requests
            .iter()
            .filter(|r| r.arrived > last_read.arrived && r.arrived < resent.arrived)
            .collect();
        assert!(
            between.is_empty(),
            "the listing read was not right before the re-send: {between:#?}"
        );
    }
}

#[test]
fn the_settle_wait_never_idles_a_request_slot() {
    // Three unknown outcomes at once with one request slot (and so two busy tasks).
    let emu = TestEmulator::with_faults("gateway-after-commit-first=3,listing-lag=1s,latency=20ms");
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 10, "Animals");
    let output = apply(
        &emu,
        &manifest,
        &["--settle", "2s", "--retry-base-delay", "1ms", "-j", "1"],
    );
    assert_success(&output, "one gateway page");
    emu.assert_exactly_once(10, "Animals", "one gateway page");
    let requests = emu.requests();
    let first_read = requests
        .iter()
        .position(is_pin_listing)
        .expect("the unknown create was checked on the board");
    let creates_before = requests[..first_read]
        .iter()
        .filter(|r| is_create(r))
        .count();
    assert_eq!(
        creates_before, 10,
        "the other pins went on while the first one settled"
    );
    let executor: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| is_create(r) || is_pin_listing(r))
        .collect();
    assert_eq!(most_at_once(&executor), 1, "-j 1 is the ceiling");
}

#[test]
fn retries_that_run_out_leave_the_outcome_unknown_and_the_next_run_resolves_it_first() {
    // The first create is stored but answered by a gateway page, and the listing lags longer
    // than the settle window, so the pin is not seen; every later create fails with a 504.
    let emu = TestEmulator::with_faults(
        "gateway-after-commit-first=1,listing-lag=30s,error-rate=1,status=504",
    );
    let board = emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 1, "Animals");
    let state = dir.path().join("pins.yaml.state");
    let output = apply(
        &emu,
        &manifest,
        &[
            "--max-retries",
            "1",
            "--settle",
            "50ms",
            "--retry-base-delay",
            "1ms",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("unknown"), "{}", stderr(&output));
    assert!(
        state_records(&state).iter().all(|r| r["type"] != "failed"),
        "an unknown outcome is never recorded as failed"
    );
    let status = emu
        .pinbatch()
        .args(["status"])
        .arg(&manifest)
        .output()
        .unwrap();
    let status_text = String::from_utf8_lossy(&status.stdout);
    assert!(status_text.contains("unknown    pin-000"), "{status_text}");
    assert!(status_text.contains("0 failed"), "{status_text}");

    // The service recovers; the listing catches up.
    emu.set_fault_spec("none");
    emu.clear_requests();
    let output = apply(&emu, &manifest, &["--settle", "50ms"]);
    assert_success(&output, "the resume");
    emu.assert_exactly_once(1, "Animals", "the stored pin is adopted, not created again");
    let requests = emu.requests();
    let listing = format!("/v5/boards/{board}/pins");
    assert!(requests.iter().any(|r| r.path == listing), "{requests:#?}");
    assert_eq!(emu.creates(), 0, "{requests:#?}");
    emu.assert_no_spec_violations();
}

#[test]
fn an_edit_between_a_crash_and_the_resume_gives_one_pin_with_the_new_text() {
    let emu = TestEmulator::with_faults("stall-after-commit=1");
    emu.seed_board("Old", "PUBLIC");
    emu.seed_board("New", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 4, "Old");
    let mut child = emu
        .process()
        .arg("apply")
        .arg(&manifest)
        .args(["-j", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    emu.wait_for_creates(4, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        emu.snapshot().pins.len(),
        4,
        "every create was stored before the kill"
    );

    // Between the crash and the resume: one title edited, one pin moved to another board.
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("title: Pin number 0\n", "title: Pin number 0, edited\n")
        .replace("  - id: pin-001\n", "  - id: pin-001\n    board: New\n");
    std::fs::write(&manifest, text).unwrap();
    emu.set_fault_spec("none");
    let output = apply(&emu, &manifest, &["--settle", "100ms"]);
    assert_success(&output, "the resume");

    let snapshot = emu.snapshot();
    assert_eq!(snapshot.pins.len(), 4, "never two: {:#?}", snapshot.pins);
    let board_of = |title: &str| {
        let pin = snapshot
            .pins
            .iter()
            .find(|p| p.title.as_deref() == Some(title))
            .unwrap_or_else(|| panic!("no pin titled {title}: {:#?}", snapshot.pins));
        snapshot
            .boards
            .iter()
            .find(|b| b.id == pin.board_id)
            .unwrap()
            .name
            .clone()
    };
    assert_eq!(board_of("Pin number 0, edited"), "Old");
    assert_eq!(
        board_of("Pin number 1"),
        "New",
        "moved, not stranded on the old board"
    );
    assert_eq!(board_of("Pin number 2"), "Old");
    let recorded = recorded_pin_ids(&dir.path().join("pins.yaml.state"));
    let stored: Vec<&str> = snapshot.pins.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(recorded.len(), 4);
    assert!(
        recorded.values().all(|id| stored.contains(&id.as_str())),
        "{recorded:?}"
    );
    emu.assert_rerun_sends_nothing(&[manifest.to_str().unwrap()], "4 unchanged");
    emu.assert_no_spec_violations();
}

#[test]
fn pins_only_their_images_tell_apart_each_become_exactly_one_pin() {
    let emu =
        TestEmulator::with_faults("drop-after-commit=0.3,drop-before=0.2,latency=10ms,seed=11");
    emu.seed_board("Shop", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = twins_manifest(dir.path(), 6, "Shop");

    let validate = emu
        .pinbatch()
        .arg("validate")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(validate.status.success());
    let warning = stderr(&validate);
    assert!(
        warning.contains("one at a time") && warning.contains("twin-0"),
        "{warning}"
    );

    let output = apply(
        &emu,
        &manifest,
        &[
            "-j",
            "4",
            "--settle",
            "100ms",
            "--retry-base-delay",
            "1ms",
            "--max-retries",
            "12",
        ],
    );
    assert_success(&output, "twins under dropped connections");
    let snapshot = emu.snapshot();
    let mut images: Vec<&str> = snapshot.pins.iter().filter_map(image_of).collect();
    images.sort();
    let expected: Vec<String> = (0..6)
        .map(|i| format!("https://example.com/twin/{i}.jpg"))
        .collect();
    assert_eq!(images, expected, "each image exactly once");
    // And each key holds the pin made from its own image.
    for (key, pin_id) in recorded_pin_ids(&dir.path().join("twins.yaml.state")) {
        let index = key.strip_prefix("twin-").unwrap();
        let pin = snapshot.pins.iter().find(|p| p.id == pin_id).unwrap();
        assert_eq!(
            image_of(pin),
            Some(format!("https://example.com/twin/{index}.jpg").as_str())
        );
    }
    let requests = emu.requests();
    let creates: Vec<&RecordedRequest> = requests.iter().filter(|r| is_create(r)).collect();
    assert_eq!(most_at_once(&creates), 1, "twins are created one at a time");
    emu.assert_no_spec_violations();
}

#[test]
fn a_clock_minutes_behind_the_server_causes_no_duplicate() {
    // The server's clock is 5 minutes behind this machine's: its `created_at` looks old.
    let emu =
        TestEmulator::with_faults("clock-offset=-5m,gateway-after-commit-first=3,listing-lag=1s");
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 6, "Animals");
    let output = apply(
        &emu,
        &manifest,
        &["--settle", "1500ms", "--retry-base-delay", "1ms"],
    );
    assert_success(&output, "server clock behind");
    emu.assert_exactly_once(6, "Animals", "server clock 5 minutes behind");
    assert_eq!(emu.creates(), 6, "found, not created again");
}

#[test]
fn a_clock_minutes_ahead_of_the_server_adopts_no_older_pin() {
    let emu = TestEmulator::start();
    let board = emu.seed_board("Animals", "PUBLIC");
    // A pin made by hand with the same text, a moment ago.
    let by_hand = emu.seed_pin(
        &board,
        "Pin number 0",
        "Description 0",
        "https://example.com/p/0",
    );
    // From now on the server's clock is 5 minutes ahead of this machine's, and the first create
    // is refused with a 502 before anything is stored.
    emu.set_fault_spec("clock-offset=5m,fail-first=1,status=502");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 1, "Animals");
    let output = apply(
        &emu,
        &manifest,
        &["--settle", "100ms", "--retry-base-delay", "1ms"],
    );
    assert_success(&output, "server clock ahead");
    let recorded = recorded_pin_ids(&dir.path().join("pins.yaml.state"));
    assert_ne!(
        recorded["pin-000"], by_hand,
        "the pin made by hand was adopted"
    );
    assert_eq!(emu.snapshot().pins.len(), 2, "the manifest pin was created");
}

#[test]
fn reconciliation_looks_in_the_section_when_the_board_listing_leaves_it_out() {
    let emu = TestEmulator::with_faults("section-pins=apart,gateway-after-commit-first=3");
    let board = emu.seed_board("Animals", "PUBLIC");
    emu.seed_section(&board, "Cats");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 3, "Animals");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "  board: \"Animals\"\n",
        "  board: \"Animals\"\n  section: Cats\n",
    );
    std::fs::write(&manifest, text).unwrap();
    let output = apply(
        &emu,
        &manifest,
        &["--settle", "100ms", "--retry-base-delay", "1ms"],
    );
    assert_success(&output, "section pins apart");
    emu.assert_exactly_once(3, "Animals", "pins in a section");
    assert_eq!(emu.creates(), 3);
}

/// An emulator whose board `Animals` already holds `n` pins made an hour ago (a page of listing
/// holds 250), all older than anything a run creates.
fn board_with_older_pins(n: usize) -> (TestEmulator, String) {
    let emu = TestEmulator::with_faults("clock-offset=-1h");
    let board = emu.seed_board("Animals", "PUBLIC");
    for i in 0..n {
        emu.seed_pin(
            &board,
            &format!("Older {i}"),
            "",
            "https://example.com/older",
        );
    }
    (emu, board)
}

#[test]
fn reconciliation_relies_on_no_listing_order() {
    for order in ["oldest", "mixed"] {
        let (emu, _) = board_with_older_pins(260);
        emu.set_fault_spec(&format!("list-order={order},gateway-after-commit-first=2"));
        let dir = tempfile::tempdir().unwrap();
        let manifest = url_manifest(dir.path(), 2, "Animals");
        let output = apply(
            &emu,
            &manifest,
            &["--settle", "100ms", "--retry-base-delay", "1ms"],
        );
        assert_success(&output, order);
        assert_eq!(
            emu.creates(),
            2,
            "{order}: found on a later page, not created again"
        );
        assert_eq!(emu.snapshot().pins.len(), 262, "{order}");
    }
}

#[test]
fn a_repeating_bookmark_ends_reconciliation_with_an_error_not_a_loop() {
    // Three pages: the second hands back the bookmark it was asked for.
    let (emu, _) = board_with_older_pins(510);
    emu.set_fault_spec("list-order=oldest,bookmark=repeat,gateway-after-commit-first=1");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 1, "Animals");
    let output = apply(
        &emu,
        &manifest,
        &["--settle", "100ms", "--retry-base-delay", "1ms"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("bookmark"), "{}", stderr(&output));
    assert_eq!(
        emu.creates(),
        1,
        "never sent again without a complete listing"
    );
    let status = emu
        .pinbatch()
        .arg("status")
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("1 unknown outcome"),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
}

/// Writes the manifest of the combined test: ten look-alike pins (one product page, ten images)
/// and ninety distinct ones on board `Shop`, with `edited` titles and `moved` pins as given.
fn shop_manifest(dir: &Path, edited: &[usize], moved: &[usize]) -> PathBuf {
    let mut text = String::from("version: 1\ndefaults:\n  board: Shop\npins:\n");
    for i in 0..100 {
        let (title, description, link) = if i < 10 {
            (
                "One product".to_owned(),
                "Same words".to_owned(),
                "https://example.com/product".to_owned(),
            )
        } else {
            (
                format!("Pin {i}"),
                format!("Description {i}"),
                format!("https://example.com/p/{i}"),
            )
        };
        let title = if edited.contains(&i) {
            format!("{title}, edited")
        } else {
            title
        };
        text.push_str(&format!(
            "  - id: pin-{i:03}\n    title: {title}\n    description: {description}\n    link: {link}\n    image: https://example.com/img/{i}.jpg\n"
        ));
        if moved.contains(&i) {
            text.push_str("    board: Moved\n");
        }
    }
    let path = dir.join("shop.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `apply` and kills it (SIGKILL) once the emulator has answered `creates` creates.
fn apply_then_kill(emu: &TestEmulator, manifest: &Path, creates: usize) {
    let mut child = emu
        .process()
        .arg("apply")
        .arg(manifest)
        .args([
            "-j",
            "8",
            "--max-retries",
            "10",
            "--retry-base-delay",
            "10ms",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    emu.wait_for_creates(creates, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_hundred_pins_under_every_fault_at_once_with_kills_and_an_edit_end_exactly_once() {
    // Gateway pages after the commit for one create in five, dropped connections after the commit
    // for one in ten, listings three seconds behind, and a server clock five minutes ahead.
    let emu = TestEmulator::with_faults(
        "gateway-after-commit=0.2,drop-after-commit=0.1,listing-lag=3s,clock-offset=5m,\
         latency=20ms,seed=42",
    );
    emu.seed_board("Shop", "PUBLIC");
    emu.seed_board("Moved", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = shop_manifest(dir.path(), &[], &[]);
    apply_then_kill(&emu, &manifest, 25);
    apply_then_kill(&emu, &manifest, 50);

    // Between the kills and the last run: titles edited (one of a look-alike among them), pins
    // moved to another board; whether their creates were done, unknown or never sent.
    let edited = [3, 10, 11, 12, 13, 14, 40, 41, 90];
    let moved = [15, 16, 17, 60, 95];
    let manifest = shop_manifest(dir.path(), &edited, &moved);
    let output = apply(
        &emu,
        &manifest,
        &[
            "-j",
            "8",
            "--max-retries",
            "10",
            "--retry-base-delay",
            "10ms",
        ],
    );
    assert_success(&output, "the last run");

    let snapshot = emu.snapshot();
    assert_eq!(snapshot.pins.len(), 100, "every pin exactly once");
    let board_name = |id: &str| {
        snapshot
            .boards
            .iter()
            .find(|b| b.id == id)
            .unwrap()
            .name
            .clone()
    };
    let recorded = recorded_pin_ids(&dir.path().join("shop.yaml.state"));
    for i in 0..100 {
        let image = format!("https://example.com/img/{i}.jpg");
        let made: Vec<&PinRecord> = snapshot
            .pins
            .iter()
            .filter(|p| image_of(p) == Some(image.as_str()))
            .collect();
        assert_eq!(made.len(), 1, "image {i} became {} pins", made.len());
        let pin = made[0];
        let base = if i < 10 {
            "One product".to_owned()
        } else {
            format!("Pin {i}")
        };
        let title = if edited.contains(&i) {
            format!("{base}, edited")
        } else {
            base
        };
        assert_eq!(pin.title.as_deref(), Some(title.as_str()), "pin {i}");
        let board = if moved.contains(&i) { "Moved" } else { "Shop" };
        assert_eq!(board_name(&pin.board_id), board, "pin {i}");
        assert_eq!(
            recorded[&format!("pin-{i:03}")],
            pin.id,
            "pin {i} is recorded"
        );
    }
    emu.assert_no_spec_violations();

    // Nothing is left to do once the service behaves.
    emu.set_fault_spec("none");
    emu.assert_rerun_sends_nothing(&[manifest.to_str().unwrap()], "100 unchanged");
}
