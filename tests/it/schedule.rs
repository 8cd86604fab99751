//! Scheduling: a pin whose `publish_at` is in the future is skipped (no create call) and
//! reported as scheduled, `plan` says when it is due, and a later run creates it once due.

use std::path::Path;

use predicates::prelude::*;

use crate::common::TestEmulator;

const FUTURE: &str = "2099-01-01T09:00:00Z";
const PAST: &str = "2020-01-01T09:00:00Z";

fn write_manifest(dir: &Path, later_at: &str) -> std::path::PathBuf {
    let path = dir.join("pins.yaml");
    std::fs::write(
        &path,
        format!(
            "version: 1\ndefaults:\n  board: Seasons\npins:\n  - id: now\n    title: Now\n    image: https://example.com/now.jpg\n    publish_at: {PAST}\n  - id: later\n    title: Later\n    image: https://example.com/later.jpg\n    publish_at: {later_at}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_future_pin_waits_and_is_created_once_due() {
    let emu = TestEmulator::start();
    emu.emu().seed_board("Seasons", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = write_manifest(dir.path(), FUTURE);

    // plan shows when the scheduled pin is due, in both formats, in the time zone asked for.
    emu.pinbatch()
        .args(["plan", "--offline", "--timezone", "Asia/Tokyo"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(
            predicate::str::is_match(
                r"(?m)^scheduled\s+later\s+due at 2099-01-01 18:00 Asia/Tokyo \(\+09\)",
            )
            .unwrap(),
        )
        .stdout(predicate::str::is_match(r"(?m)^create\s+now\s").unwrap());
    let output = emu
        .pinbatch()
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
    assert!(output.status.success());
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let later = plan["pins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|pin| pin["key"] == "later")
        .unwrap();
    assert_eq!(later["action"], "scheduled");
    assert_eq!(later["due"], "2099-01-01T18:00:00+09:00");

    // apply creates the due pin only and reports the other as scheduled.
    emu.pinbatch()
        .args(["apply", "--report"])
        .arg(dir.path().join("report.csv"))
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 created"))
        .stderr(predicate::str::contains("1 scheduled"));
    assert_eq!(emu.creates(), 1, "no create call for the scheduled pin");
    let titles: Vec<Option<String>> = emu
        .emu()
        .snapshot()
        .pins
        .iter()
        .map(|p| p.title.clone())
        .collect();
    assert_eq!(titles, [Some("Now".to_owned())]);
    let report = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
    assert!(report.contains("later,"), "{report}");
    assert!(report.contains(",scheduled,"), "{report}");

    // Run again while still in the future: nothing is sent.
    emu.emu().clear_requests();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 unchanged"))
        .stderr(predicate::str::contains("1 scheduled"));
    assert_eq!(emu.creates(), 0);

    // Once due (here: the date moved to the past), the next run creates it.
    write_manifest(dir.path(), PAST);
    emu.pinbatch()
        .args(["plan", "--offline"])
        .arg(&manifest)
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^create\s+later\s").unwrap());
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 created"))
        .stderr(predicate::str::contains("1 unchanged"));
    assert_eq!(emu.creates(), 1);
    assert_eq!(emu.emu().snapshot().pins.len(), 2);
    emu.assert_no_spec_violations();
}
