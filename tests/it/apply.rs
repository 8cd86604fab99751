//! `plan`, `apply` and `status` end to end against the in-process emulator: exactly-once under
//! faults and kills, no-op re-runs, updates, locking, bounded concurrency, reports.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use predicates::prelude::*;

use crate::common::{TestEmulator, url_manifest};

/// Sends SIGINT (what Ctrl-C sends) to a running child.
fn interrupt(child: &std::process::Child) {
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[test]
fn apply_creates_every_pin_once_and_a_rerun_calls_nothing() {
    let emu = TestEmulator::start();
    emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 6, "Animals");
    let report = dir.path().join("report.csv");
    emu.pinbatch()
        .args(["apply"])
        .arg(&manifest)
        .arg("--report")
        .arg(&report)
        .assert()
        .success()
        .stderr(predicate::str::contains("6 created"));
    emu.assert_exactly_once(6, "Animals", "apply");
    assert_eq!(emu.count("POST", "/v5/pins"), 6, "one create call per pin");
    assert!(dir.path().join("pins.yaml.state").exists());
    let report_text = std::fs::read_to_string(&report).unwrap();
    assert!(report_text.starts_with("key,location,status,pin_id,pin_url,attempts,error,converted"));
    assert_eq!(report_text.matches(",created,").count(), 6, "{report_text}");
    assert!(report_text.contains("https://www.pinterest.com/pin/"));

    emu.assert_rerun_sends_nothing(&[manifest.to_str().unwrap()], "6 unchanged");
    emu.assert_no_spec_violations();
}

#[test]
fn a_text_edit_makes_exactly_one_patch() {
    let emu = TestEmulator::start();
    emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 3, "Animals");
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success();
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("title: Pin number 1\n", "title: Pin number 1 (edited)\n");
    std::fs::write(&manifest, text).unwrap();
    emu.emu().clear_requests();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 updated, 2 unchanged"));
    let requests = emu.emu().requests();
    let patches: Vec<_> = requests.iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches.len(), 1, "{requests:?}");
    assert_eq!(emu.count("POST", "/v5/pins"), 0);
    let snapshot = emu.emu().snapshot();
    assert_eq!(snapshot.pins.len(), 3);
    assert!(
        snapshot
            .pins
            .iter()
            .any(|p| p.title.as_deref() == Some("Pin number 1 (edited)"))
    );
    emu.assert_no_spec_violations();
}

#[test]
fn server_errors_and_rate_limits_are_retried_without_duplicates() {
    for faults in [
        "error-rate=0.3,status=500,seed=3",
        "error-rate=0.3,status=503,seed=4",
        "rate429=0.3,retry-after=1s,seed=5",
        "rate429=0.3,seed=6",
        "drop-after-commit=0.3,seed=7",
        "drop-before=0.3,seed=8",
    ] {
        let emu = TestEmulator::with_faults(faults);
        emu.emu().seed_board("Animals", "PUBLIC");
        let dir = tempfile::tempdir().unwrap();
        let manifest = url_manifest(dir.path(), 12, "Animals");
        let output = emu
            .pinbatch()
            .args([
                "apply",
                "--max-retries",
                "12",
                "--retry-base-delay",
                "1ms",
                "-j",
                "4",
            ])
            .arg(&manifest)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{faults}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        emu.assert_exactly_once(12, "Animals", faults);
        emu.assert_no_spec_violations();
    }
}

#[test]
fn a_dropped_connection_after_commit_is_adopted_not_recreated() {
    let emu = TestEmulator::with_faults("drop-after-first=1");
    emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 1, "Animals");
    emu.pinbatch()
        .args(["apply", "--retry-base-delay", "1ms", "--format", "json"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""status":"adopted""#));
    emu.assert_exactly_once(1, "Animals", "apply");
    assert_eq!(emu.count("POST", "/v5/pins"), 1, "no second create");
    assert!(
        emu.count(
            "GET",
            &format!("/v5/boards/{}/pins", emu.emu().snapshot().boards[0].id)
        ) >= 1
    );
}

#[test]
fn killing_apply_repeatedly_still_creates_each_pin_once() {
    let emu = TestEmulator::with_faults("latency=40ms");
    emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let n = 24;
    let manifest = url_manifest(dir.path(), n, "Animals");
    for kill_after in [2, 7, 13, 19] {
        let mut command = emu.process();
        command
            .args(["-q", "apply", "-j", "2", "--retry-base-delay", "1ms"])
            .arg(&manifest)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = command.spawn().unwrap();
        // Kill while requests are in flight: once the emulator has received `kill_after`
        // create requests in total.
        emu.wait_for_creates(kill_after, &mut child);
        child.kill().unwrap();
        child.wait().unwrap();
    }
    emu.pinbatch()
        .args(["apply", "--retry-base-delay", "1ms"])
        .arg(&manifest)
        .assert()
        .success();
    emu.assert_exactly_once(n, "Animals", "apply");
    emu.pinbatch()
        .args(["status"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("{n} done, 0 failed")));
    emu.assert_no_spec_violations();
}

#[test]
fn a_second_apply_on_the_same_state_is_refused() {
    let emu = TestEmulator::with_faults("latency=300ms");
    emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 8, "Animals");
    let mut first = emu.process();
    first
        .args(["-q", "apply", "-j", "1"])
        .arg(&manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut first = first.spawn().unwrap();
    emu.wait_for_creates(1, &mut first);
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("in use by another pinbatch run"))
        .stderr(predicate::str::contains(format!("process {}", first.id())));
    assert!(first.wait().unwrap().success());
    emu.assert_exactly_once(8, "Animals", "apply");
}

#[test]
fn in_flight_requests_reach_but_never_exceed_the_concurrency() {
    // Every request is held 3 s: the creates pile up to the concurrency, whatever the machine.
    let emu = TestEmulator::with_faults("latency=3s");
    emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 12, "Animals");
    let mut child = emu
        .process()
        .args(["apply", "-j", "3"])
        .arg(&manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let creating = || emu.emu().in_flight() == 3 && emu.count("GET", "/v5/user_account") == 1;
    emu.wait_until(&mut child, "three creates in flight", creating);
    emu.set_fault_spec("none");
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(emu.emu().max_in_flight(), 3);
    emu.assert_exactly_once(12, "Animals", "apply");
}

#[test]
fn an_invalid_manifest_sends_nothing_and_writes_no_state() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.yaml");
    std::fs::write(
        &manifest,
        "version: 1\npins:\n  - board: B\n    title: x\n    image: https://example.com/a.jpg\n  - board: B\n    titel: typo\n    image: https://example.com/b.jpg\n",
    )
    .unwrap();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("pins.yaml:7"))
        .stderr(predicate::str::contains("nothing was sent"));
    assert!(emu.emu().requests().is_empty());
    assert!(!dir.path().join("pins.yaml.state").exists());
}

#[test]
fn missing_boards_are_errors_unless_declared_or_allowed() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 2, "Nowhere");
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Board `Nowhere` does not exist"));
    assert_eq!(emu.count("POST", "/v5/pins"), 0);
    assert_eq!(emu.count("POST", "/v5/boards"), 0);
    emu.pinbatch()
        .args(["apply", "--create-boards"])
        .arg(&manifest)
        .assert()
        .success();
    emu.assert_exactly_once(2, "Nowhere", "apply");
    emu.assert_no_spec_violations();
}

#[test]
fn ambiguous_board_names_list_the_ids() {
    let emu = TestEmulator::start();
    let first = emu.emu().seed_board("Twins", "PUBLIC");
    let second = emu.emu().seed_group_board("Twins", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 1, "Twins");
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(&first))
        .stderr(predicate::str::contains(&second));
    assert_eq!(emu.count("POST", "/v5/pins"), 0);
}

#[test]
fn dry_run_and_plan_write_nothing() {
    let emu = TestEmulator::start();
    emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 2, "Animals");
    emu.pinbatch()
        .args(["apply", "--dry-run"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::contains("Plan: 2 create"));
    emu.pinbatch()
        .args(["plan", "--format", "json"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""action": "create""#));
    assert!(!dir.path().join("pins.yaml.state").exists());
    assert!(
        emu.emu().requests().iter().all(|r| r.method == "GET"),
        "plan only reads"
    );
}

#[test]
fn a_missing_token_is_exit_code_3_and_sends_nothing() {
    let emu = TestEmulator::start();
    emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 1, "Animals");
    emu.pinbatch()
        .env_remove("PINTEREST_ACCESS_TOKEN")
        .arg("apply")
        .arg(&manifest)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("hint:"));
    let state = dir.path().join("pins.yaml.state");
    assert!(!state.exists(), "no token, so no state file either");
    emu.pinbatch()
        .env("PINTEREST_ACCESS_TOKEN", "wrong-token")
        .arg("apply")
        .arg(&manifest)
        .assert()
        .code(3);
    assert_eq!(emu.emu().snapshot().pins.len(), 0);
}

#[test]
fn a_failing_pin_does_not_stop_the_batch() {
    let emu = TestEmulator::start();
    let board = emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    // The second pin names a board id that does not exist: a 404 for that pin alone.
    let manifest = dir.path().join("pins.yaml");
    std::fs::write(
        &manifest,
        format!(
            "version: 1\npins:\n  - id: good\n    board: \"{board}\"\n    title: Good\n    image: https://example.com/a.jpg\n  - id: bad\n    board: \"99999999\"\n    title: Bad\n    image: https://example.com/b.jpg\n  - id: also-good\n    board: \"{board}\"\n    title: Also good\n    image: https://example.com/c.jpg\n"
        ),
    )
    .unwrap();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("2 created, 1 failed"))
        .stderr(predicate::str::contains("code 40"));
    assert_eq!(emu.emu().snapshot().pins.len(), 2);
    emu.pinbatch()
        .arg("status")
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::contains("failed     bad"));
}

#[test]
fn the_shipped_example_rehearses_against_the_built_in_emulator() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/pins.yaml");
    let emu = TestEmulator::start();
    emu.pinbatch()
        .args(["apply", "--emulator"])
        .arg(&example)
        .assert()
        .success()
        .stderr(predicate::str::contains("created"))
        .stderr(predicate::str::contains("failed").not());
    assert!(
        !PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples/pins.yaml.state")
            .exists(),
        "the rehearsal keeps its state in a temporary folder"
    );
}

/// Applies `n` URL pins under the server `faults` with the extra `args`, checks each pin exists
/// exactly once, and returns how many creates were answered 429 and how many were sent.
fn rate_limited_creates(faults: &str, n: usize, args: &[&str]) -> (usize, usize) {
    let emu = TestEmulator::with_faults(faults);
    emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), n, "Animals");
    emu.pinbatch()
        .args(["apply", "-j", "16"])
        .args(args)
        .arg(&manifest)
        .assert()
        .success();
    emu.assert_exactly_once(n, "Animals", "apply");
    let requests = emu.emu().requests();
    let creates: Vec<_> = requests
        .iter()
        .filter(|r| r.is("POST", "/v5/pins"))
        .collect();
    let limited = creates.iter().filter(|r| r.status == Some(429)).count();
    (limited, creates.len())
}

#[test]
fn rate_limit_headers_keep_429s_rare_under_a_server_write_limit() {
    let (limited, sent) =
        rate_limited_creates("write-limit=20/s", 60, &["--retry-base-delay", "50ms"]);
    assert!(
        limited * 100 < sent * 15,
        "{limited} of {sent} writes were rate limited"
    );
}

#[test]
fn ctrl_c_finishes_in_flight_requests_saves_and_exits_130() {
    let emu = TestEmulator::with_faults("latency=150ms");
    emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let n = 20;
    let manifest = url_manifest(dir.path(), n, "Animals");
    let mut child = emu
        .process()
        .args(["apply", "-j", "2"])
        .arg(&manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    emu.wait_for_creates(3, &mut child);
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("skipped"), "{stderr}");
    let created = emu.emu().snapshot().pins.len();
    assert!(created < n, "the run stopped early ({created} pins)");
    // Every create that was sent finished and was recorded: the resume creates only the rest.
    emu.emu().clear_requests();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "{} created, {created} unchanged",
            n - created
        )));
    emu.assert_exactly_once(n, "Animals", "apply");
    assert_eq!(
        emu.emu()
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/pins") && r.method == "GET")
            .count(),
        0,
        "nothing needed reconciling after a clean stop"
    );
}

#[test]
fn changed_media_needs_replace_and_orphans_need_prune() {
    let emu = TestEmulator::start();
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 3, "Animals");
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success();
    let before = emu.snapshot();
    let old_id = |title: &str| {
        before
            .pins
            .iter()
            .find(|p| p.title.as_deref() == Some(title))
            .unwrap()
            .id
            .clone()
    };
    let (id0, id2) = (old_id("Pin number 0"), old_id("Pin number 2"));
    // Pin 0 gets new media; pin 2 leaves the manifest.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replace(
        "https://example.com/img/0.jpg",
        "https://example.com/img/0-new.jpg",
    );
    let cut = text.find("  - id: pin-002").unwrap();
    std::fs::write(&manifest, &text[..cut]).unwrap();

    emu.clear_requests();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("needs-replace"))
        .stderr(predicate::str::contains("--prune deletes it"));
    assert!(
        emu.requests().iter().all(|r| r.method == "GET"),
        "without --replace and --prune nothing is written: {:?}",
        emu.requests()
    );

    emu.pinbatch()
        .args(["apply", "--replace", "--prune"])
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 replaced"))
        .stderr(predicate::str::contains("1 deleted"));
    let after = emu.snapshot();
    assert_eq!(after.pins.len(), 2);
    assert!(after.pins.iter().all(|p| p.id != id0 && p.id != id2));
    let replaced = after
        .pins
        .iter()
        .find(|p| p.title.as_deref() == Some("Pin number 0"))
        .unwrap();
    assert!(format!("{:?}", replaced.media).contains("0-new.jpg"));

    emu.assert_rerun_sends_nothing(
        &["--replace", "--prune", manifest.to_str().unwrap()],
        "2 unchanged",
    );
    emu.assert_no_spec_violations();
}

/// Copies the shipped examples into a temporary folder (so no state lands in the repository).
fn copy_examples(dir: &Path) -> PathBuf {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        for entry in std::fs::read_dir(source.join(&relative)).unwrap() {
            let entry = entry.unwrap();
            let relative = relative.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                std::fs::create_dir_all(dir.join(&relative)).unwrap();
                stack.push(relative);
            } else {
                std::fs::copy(entry.path(), dir.join(&relative)).unwrap();
            }
        }
    }
    dir.join("pins.yaml")
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn local_images_and_carousels_arrive_byte_for_byte_in_the_right_places() {
    use pinbatch_emulator::{ImageRecord, PinMediaRecord};
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = copy_examples(dir.path());
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success();
    let snapshot = emu.snapshot();
    let animals = snapshot
        .board_named("Animals 動物")
        .expect("declared board created");
    let nature = snapshot
        .board_named("Nature 自然")
        .expect("declared board created");
    assert_eq!(nature.privacy, "SECRET");
    let carousel = snapshot
        .pins
        .iter()
        .find(|p| p.title.as_deref() == Some("Cat and dog"))
        .unwrap();
    assert_eq!(carousel.board_id, animals.id);
    let PinMediaRecord::Carousel(items) = &carousel.media else {
        panic!("expected a carousel, got {:?}", carousel.media);
    };
    let hashes: Vec<&str> = items
        .iter()
        .map(|item| match &item.image {
            ImageRecord::Bytes { sha256, .. } => sha256.as_str(),
            ImageRecord::Url(url) => panic!("expected bytes, got {url}"),
        })
        .collect();
    assert_eq!(
        hashes,
        [
            sha256_hex(&dir.path().join("images/cat.jpg")),
            sha256_hex(&dir.path().join("images/dog.png"))
        ]
    );
    assert_eq!(items[1].link.as_deref(), Some("https://example.com/dogs"));
    let dog = snapshot
        .pins
        .iter()
        .find(|p| p.title.as_deref() == Some("Dog in the park"))
        .unwrap();
    let dogs = snapshot
        .sections
        .iter()
        .find(|s| s.name == "Dogs")
        .expect("declared section created");
    assert_eq!(dog.board_section_id.as_deref(), Some(dogs.id.as_str()));
    assert!(
        snapshot.pins_on(&nature.id).len() >= 2,
        "glob pins on their board"
    );
    emu.assert_no_spec_violations();
}

#[test]
fn a_second_ctrl_c_abandons_requests_in_flight_and_the_next_run_checks_them() {
    // Every request takes 2 s: the first three pins finish, the next three are in flight when
    // both Ctrl-Cs arrive, and are abandoned with their outcome unknown.
    let emu = TestEmulator::with_faults("latency=2s");
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let n = 6;
    let manifest = url_manifest(dir.path(), n, "Animals");
    let mut child = emu
        .process()
        .args(["apply", "-j", "3"])
        .arg(&manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The emulator records a request once it has answered it: three answered creates, and three
    // more in flight.
    emu.wait_for_creates(3, &mut child);
    emu.wait_until(&mut child, "the next three creates in flight", || {
        emu.emu().in_flight() == 3
    });
    interrupt(&child);
    // The second Ctrl-C once the first was heard (two signals sent at once would be one).
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stderr = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        stderr.push_str(&line);
        stderr.push('\n');
        if line.contains("Stopping") {
            break;
        }
    }
    interrupt(&child);
    for line in lines {
        stderr.push_str(&line.unwrap());
        stderr.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Abandoning requests in flight"), "{stderr}");
    emu.pinbatch()
        .arg("status")
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "3 done, 0 failed, 0 pending, 3 unknown outcome",
        ));
    emu.set_fault_spec("latency=1ms");
    emu.clear_requests();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("3 created, 3 unchanged"));
    let board = emu.snapshot().board_named("Animals").unwrap().id.clone();
    assert!(
        emu.count("GET", &format!("/v5/boards/{board}/pins")) >= 1,
        "the unknown outcomes were looked for before creating again"
    );
    emu.assert_exactly_once(n, "Animals", "apply");
}

#[test]
fn no_create_starts_after_a_stop_even_one_already_waiting_for_its_slot() {
    let emu = TestEmulator::with_faults("latency=400ms");
    emu.emu().seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 10, "Animals");
    // One request slot: the next pin waits for it, its attempt already announced.
    let child = emu
        .process()
        .args(["apply", "-j", "1"])
        .arg(&manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the account and the boards are read, the next request in flight is the first create.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !(emu.count("GET", "/v5/user_account") == 1
        && emu.count("GET", "/v5/boards") == 1
        && emu.emu().in_flight() == 1)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first create never started"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert_eq!(emu.creates(), 1, "a create started after the stop");
    // The pin that waited for its slot was never sent, so the resume has nothing to check.
    emu.emu().clear_requests();
    emu.pinbatch()
        .args(["apply", "--settle", "10s"])
        .arg(&manifest)
        .timeout(Duration::from_secs(60))
        .assert()
        .success();
    emu.assert_exactly_once(10, "Animals", "after a stop");
    assert_eq!(
        emu.emu()
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/pins") && r.method == "GET")
            .count(),
        0,
        "a pin that was never sent needs no reconciling"
    );
}
