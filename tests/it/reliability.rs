//! The reliability suite: `apply` under a matrix of server faults, a server that goes away and
//! comes back, damaged and torn state files, a full disk, seeded random kills (ignored by
//! default: `cargo test --test it -- --ignored`), and seeded random manifests through the readers.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use predicates::prelude::*;

use crate::common::{TestEmulator, url_manifest};

const BOARD: &str = "Reliable";

/// The binary as a plain process (for runs in the background, kills and resource limits), wired
/// to the emulator like [`TestEmulator::pinbatch`].
fn process(emu: &TestEmulator) -> Command {
    let mut command = emu.process();
    command.stdin(Stdio::null());
    command
}

fn finish(child: Child, context: &str) {
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{context}: exit {:?}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_fault_in_the_matrix_ends_with_each_pin_exactly_once() {
    let cases = [
        ("5xx burst (503)", "fail-first=10,status=503"),
        (
            "5xx burst (500, every write)",
            "fail-first=10,status=500,scope=writes",
        ),
        (
            "429 storm with Retry-After",
            "fail-first=10,status=429,retry-after=1s",
        ),
        ("429 storm without Retry-After", "fail-first=10,status=429"),
        ("drops before storing", "drop-before-first=6"),
        ("drops after storing", "drop-after-first=6"),
        (
            "mixed random faults",
            "error-rate=0.2,rate429=0.1,drop-before=0.1,drop-after-commit=0.1,seed=11",
        ),
    ];
    let n = 16;
    for (name, faults) in cases {
        let emu = TestEmulator::with_faults(faults);
        emu.emu().seed_board(BOARD, "PUBLIC");
        let dir = tempfile::tempdir().unwrap();
        let manifest = url_manifest(dir.path(), n, BOARD);
        let output = emu
            .pinbatch()
            .args([
                "apply",
                "-j",
                "4",
                "--max-retries",
                "15",
                "--retry-base-delay",
                "5ms",
            ])
            .arg(&manifest)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        emu.assert_exactly_once(n, BOARD, name);
        emu.assert_no_spec_violations();
        // Nothing left to do: a second run sends no write.
        emu.set_fault_spec("none");
        emu.emu().clear_requests();
        emu.pinbatch()
            .arg("apply")
            .arg(&manifest)
            .assert()
            .success();
        assert!(
            emu.emu().requests().iter().all(|r| r.method == "GET"),
            "{name}: a re-run writes nothing"
        );
    }
}

#[test]
fn responses_slower_than_the_timeout_are_reconciled_not_duplicated() {
    let emu = TestEmulator::with_faults("scope=all");
    emu.emu().seed_board(BOARD, "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let n = 30;
    let manifest = url_manifest(dir.path(), n, BOARD);
    let mut child = process(&emu)
        .args([
            "apply",
            "-j",
            "2",
            "--timeout",
            "100ms",
            "--max-retries",
            "15",
            "--retry-base-delay",
            "20ms",
        ])
        .arg(&manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once creating has begun, the next eight requests (creates, and the reads that reconcile
    // them) are carried out and never answered within the timeout; then the server answers
    // again. Counted, not timed: the same on any machine.
    emu.wait_for_creates(2, &mut child);
    emu.set_fault_spec("stall-after-commit-first=8,scope=all");
    finish(child, "slow responses");
    emu.assert_exactly_once(n, BOARD, "slow responses");
    assert!(
        emu.emu().requests().iter().any(|r| r.method == "GET"
            && r.path.starts_with("/v5/boards/")
            && r.path.ends_with("/pins")),
        "timed-out creates were looked for on the board"
    );
    emu.assert_no_spec_violations();
}

#[test]
fn a_server_that_goes_away_and_comes_back_loses_and_duplicates_nothing() {
    // The emulator keeps its store across `suspend` and `resume`: the same server restarts on
    // the same port while `apply` is in the middle of the batch.
    let mut emu = TestEmulator::with_faults("latency=60ms");
    emu.emu().seed_board(BOARD, "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let n = 24;
    let manifest = url_manifest(dir.path(), n, BOARD);
    let mut child = process(&emu)
        .args([
            "apply",
            "-j",
            "4",
            "--max-retries",
            "12",
            "--retry-base-delay",
            "100ms",
        ])
        .arg(&manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    emu.wait_for_creates(6, &mut child);
    emu.suspend();
    std::thread::sleep(Duration::from_millis(1500));
    emu.resume();
    finish(child, "server restart");
    emu.assert_exactly_once(n, BOARD, "server restart");
    emu.assert_no_spec_violations();
}

fn state_path(manifest: &Path) -> PathBuf {
    manifest.with_file_name("pins.yaml.state")
}

#[test]
fn garbage_in_the_middle_of_the_state_is_an_error_and_the_file_is_left_alone() {
    let emu = TestEmulator::start();
    emu.emu().seed_board(BOARD, "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 4, BOARD);
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success();
    let state = state_path(&manifest);
    let text = std::fs::read_to_string(&state).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(3, "\u{1}garbage{{{ not a record");
    let damaged = format!("{}\n", lines.join("\n"));
    std::fs::write(&state, &damaged).unwrap();
    emu.emu().clear_requests();
    for command in ["apply", "plan", "status"] {
        emu.pinbatch()
            .arg(command)
            .arg(&manifest)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(state.display().to_string()))
            .stderr(predicate::str::contains("line 4"))
            .stderr(predicate::str::contains("panicked").not());
    }
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        damaged,
        "untouched"
    );
    assert_eq!(emu.creates(), 0, "nothing was sent");
}

#[test]
fn a_torn_last_line_is_tolerated_and_no_pin_is_created_twice() {
    let emu = TestEmulator::start();
    emu.emu().seed_board(BOARD, "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let n = 6;
    let manifest = url_manifest(dir.path(), n, BOARD);
    emu.pinbatch()
        .args(["apply", "-j", "1"])
        .arg(&manifest)
        .assert()
        .success();
    // A crash in the middle of writing the last record: half of it, no newline.
    let state = state_path(&manifest);
    let text = std::fs::read_to_string(&state).unwrap();
    let body = text.trim_end_matches('\n');
    let last_start = body.rfind('\n').unwrap() + 1;
    let torn = &body[..last_start + (body.len() - last_start) / 2];
    std::fs::write(&state, torn).unwrap();
    emu.emu().clear_requests();
    emu.pinbatch()
        .args(["apply"])
        .arg(&manifest)
        .assert()
        .success();
    assert_eq!(
        emu.creates(),
        0,
        "the pin of the torn record is found, not recreated"
    );
    emu.assert_exactly_once(n, BOARD, "torn state");
    emu.pinbatch()
        .arg("status")
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("{n} done, 0 failed")));
}

#[test]
fn a_full_disk_stops_apply_cleanly_and_a_rerun_completes_exactly_once() {
    let emu = TestEmulator::start();
    emu.emu().seed_board(BOARD, "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let n = 30;
    let manifest = url_manifest(dir.path(), n, BOARD);
    // Room for the header and a few records: appends then fail with EFBIG.
    let limit: libc::rlim_t = 4096;
    let mut command = process(&emu);
    command.args(["apply", "-j", "2"]).arg(&manifest);
    // SAFETY: only async-signal-safe calls (setrlimit, signal) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("state file could not be written"),
        "{stderr}"
    );
    assert!(stderr.contains("pins.yaml.state"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let first_run = emu.creates();
    assert!(first_run < n, "the run stopped early ({first_run} creates)");
    // With room again, the same command finishes the batch.
    emu.pinbatch()
        .args(["apply", "-j", "2"])
        .arg(&manifest)
        .assert()
        .success();
    emu.assert_exactly_once(n, BOARD, "full disk");
    assert_eq!(emu.creates(), n, "no pin was sent twice");
    emu.assert_no_spec_violations();
}

#[test]
#[ignore = "long: 20 kills at random moments; run with `cargo test --test it -- --ignored`"]
fn twenty_random_kills_with_resume_create_each_pin_once() {
    // About 2 s of work in all at -j 4, so that each of the 20 kills lands mid-batch.
    let emu = TestEmulator::with_faults("latency=60ms,drop-after-commit=0.05,seed=21");
    emu.emu().seed_board(BOARD, "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let n = 120;
    let manifest = url_manifest(dir.path(), n, BOARD);
    let mut rng = fastrand::Rng::with_seed(20_261_129);
    for round in 0..20 {
        let mut child = process(&emu)
            .args(["-q", "apply", "-j", "4", "--retry-base-delay", "5ms"])
            .arg(&manifest)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.u64(10..200)));
        let _ = child.kill();
        child.wait().unwrap();
        let snapshot = emu.emu().snapshot();
        assert!(
            snapshot.pins.len() <= n,
            "round {round}: more pins than the manifest"
        );
    }
    assert!(
        emu.emu().snapshot().pins.len() < n,
        "the kills should interrupt the batch before it is complete"
    );
    emu.set_fault_spec("none");
    emu.pinbatch()
        .args(["apply", "--retry-base-delay", "5ms"])
        .arg(&manifest)
        .assert()
        .success();
    emu.assert_exactly_once(n, BOARD, "random kills");
    emu.assert_no_spec_violations();
}

/// Inputs that stress the readers' edges, spliced into the examples at random places.
const SPLICES: &[&str] = &[
    ":",
    "- ",
    "-",
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    "\t",
    "\n",
    "\r\n",
    ",",
    "#",
    "&a ",
    "*a",
    "!!binary ",
    "<<: *a\n",
    "? ",
    "|\n",
    ">-\n",
    "\u{feff}",
    "\0",
    "\u{202e}",
    "é",
    "動物",
    "  - ",
    "pins:",
    "version: 2\n",
    "id: x\n",
    "image: \n",
    "images: []\n",
    "publish_at: 1\n",
    ",,,,,,,,,,,,,,",
    "\"\"\"",
    "%YAML 1.2\n",
    "---\n",
    "...\n",
    "~",
    "null",
    "true",
    "1e999",
    "-1",
    "99999999999999999999999",
    "glob: \"**\"\n",
];

/// A few random edits of `seed_text`: byte flips, cuts, copies, truncation and splices of
/// troublesome text. Also used on the XML inside workbooks (`spreadsheets.rs`).
pub(crate) fn mutate(rng: &mut fastrand::Rng, seed_text: &[u8]) -> Vec<u8> {
    let mut bytes = seed_text.to_vec();
    for _ in 0..rng.usize(1..5) {
        let at = rng.usize(0..=bytes.len());
        match rng.u8(0..6) {
            0 if !bytes.is_empty() => {
                let i = rng.usize(0..bytes.len());
                bytes[i] = rng.u8(..);
            }
            1 if !bytes.is_empty() => {
                let end = (at + rng.usize(1..40)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            2 if !bytes.is_empty() => {
                let start = rng.usize(0..bytes.len());
                let end = (start + rng.usize(1..60)).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(at..at, copy);
            }
            3 => bytes.truncate(at),
            _ => {
                let splice = SPLICES[rng.usize(0..SPLICES.len())].as_bytes();
                bytes.splice(at..at, splice.iter().copied());
            }
        }
    }
    bytes
}

#[test]
fn randomized_manifests_never_panic_and_every_rejection_has_a_diagnostic() {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let dir = tempfile::tempdir().unwrap();
    // The examples' images, so that relative paths in mutated manifests still resolve.
    copy_dir(&examples.join("images"), &dir.path().join("images"));
    let seeds = [
        ("yaml", std::fs::read(examples.join("pins.yaml")).unwrap()),
        ("csv", std::fs::read(examples.join("pins.csv")).unwrap()),
        (
            "csv",
            std::fs::read(examples.join("pins-shift_jis.csv")).unwrap(),
        ),
        ("xlsx", std::fs::read(examples.join("pins.xlsx")).unwrap()),
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    let mut rejected = 0;
    for case in 0..3000 {
        let (extension, seed_text) = &seeds[case % seeds.len()];
        let input = mutate(&mut rng, seed_text);
        let path = dir.path().join(format!("fuzz.{extension}"));
        std::fs::write(&path, &input).unwrap();
        let outcome = std::panic::catch_unwind(|| pinbatch::manifest::load(&path));
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(_) => panic!(
                "the {extension} reader panicked on:\n{}",
                String::from_utf8_lossy(&input)
            ),
        };
        if outcome.manifest.is_none() {
            rejected += 1;
            assert!(
                outcome.has_errors(),
                "rejected without an error diagnostic:\n{}",
                String::from_utf8_lossy(&input)
            );
        }
        for diagnostic in &outcome.diagnostics {
            assert!(
                !diagnostic.to_string().trim().is_empty(),
                "an empty diagnostic for:\n{}",
                String::from_utf8_lossy(&input)
            );
        }
    }
    assert!(rejected > 0, "the mutations never produced a bad input");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_pin_with_a_large_local_image_is_created() {
    // Several megabytes of base64 in one JSON body: the emulator must take it like the API does.
    let emu = TestEmulator::start();
    emu.emu().seed_board(BOARD, "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/images");
    let mut image = std::fs::read(examples.join("dog.png")).unwrap();
    image.resize(image.len() + 3 * 1024 * 1024, 0);
    std::fs::write(dir.path().join("large.png"), image).unwrap();
    let manifest = dir.path().join("pins.yaml");
    std::fs::write(
        &manifest,
        format!(
            "version: 1\npins:\n  - board: \"{BOARD}\"\n    title: Large\n    image: large.png\n"
        ),
    )
    .unwrap();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 created"));
    assert_eq!(emu.emu().snapshot().pins.len(), 1);
}
