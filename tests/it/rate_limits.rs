//! The account's write budget used to the full and shared: each kind of server budget (token
//! bucket, fixed windows from the first write or aligned to the clock, sliding windows, Reset in
//! seconds or as a Unix time, limits as numbers, as a list of policies or as IETF fields) with
//! almost no 429s, headers that cannot be read said once,
//! two processes on one account within one budget, a used-up daily quota stopping the run
//! cleanly, and `plan`'s estimate from the last known budget.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::TestEmulator;

/// Writes `n` URL pins on board `Shop`, titled `{prefix} {i}`, into `dir/pins.yaml`.
fn manifest(dir: &Path, prefix: &str, n: usize) -> PathBuf {
    let mut text = String::from("version: 1\ndefaults:\n  board: Shop\npins:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - id: {prefix}-{i:03}\n    title: {prefix} {i}\n    image: https://example.com/{prefix}/{i}.jpg\n"
        ));
    }
    let path = dir.join("pins.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// How many writes the emulator refused with a 429.
fn refused(emu: &TestEmulator) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.status == Some(429))
        .count()
}

#[test]
fn every_kind_of_server_budget_is_kept_with_at_most_one_429_in_a_hundred() {
    for faults in [
        "write-bucket=50/s,burst=20",
        "write-fixed=25/1s",
        "write-fixed=25/1s,reset=epoch",
        "write-sliding=25/1s",
        "write-sliding=25/1s,reset=epoch",
        "write-aligned=25/1s",
        "write-aligned=25/1s,reset=epoch",
        "write-fixed=25/1s,rate-headers=list",
        "write-sliding=25/1s,rate-headers=ietf",
    ] {
        let emu = TestEmulator::with_faults(&format!("latency=20ms,{faults}"));
        emu.seed_board("Shop", "PUBLIC");
        let dir = tempfile::tempdir().unwrap();
        let manifest = manifest(dir.path(), "pin", 100);
        let output = emu
            .pinbatch()
            .args(["apply", "-j", "16", "--retry-base-delay", "50ms"])
            .arg(&manifest)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{faults}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(emu.snapshot().pins.len(), 100, "{faults}");
        assert!(
            refused(&emu) <= 1,
            "{faults}: {} writes refused",
            refused(&emu)
        );
    }
}

#[test]
fn rate_limit_headers_that_cannot_be_read_are_said_once_at_verbose() {
    let emu = TestEmulator::with_faults("write-fixed=1000/1s,rate-headers=garbled");
    emu.seed_board("Shop", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(dir.path(), "pin", 5);
    let output = emu
        .pinbatch()
        .args(["-v", "apply"])
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        stderr
            .matches("rate-limit headers in a form pinbatch cannot read")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("about 1000 a window"), "{stderr}");
    // Without -v, nothing is said.
    let quiet = emu
        .pinbatch()
        .args(["apply"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("cannot read"));
}

/// Starts `apply` of `manifest` with a config directory of its own choosing.
fn spawn_apply(emu: &TestEmulator, manifest: &Path) -> std::process::Child {
    emu.process()
        .args(["apply", "-j", "16"])
        .arg(manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn two_processes_on_one_account_share_its_budget_fairly() {
    // 20 writes a second after a burst of 20: 300 writes take 14 s at the least.
    let emu = TestEmulator::with_faults("latency=30ms,write-limit=20/s");
    emu.seed_board("Shop", "PUBLIC");
    // Two processes at once, 150 pins each, on the same account (same config directory).
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (first, second) = (
        manifest(dir_a.path(), "first", 150),
        manifest(dir_b.path(), "second", 150),
    );
    let children = [spawn_apply(&emu, &first), spawn_apply(&emu, &second)];
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(emu.snapshot().pins.len(), 300);
    let limited = refused(&emu);
    assert!(limited * 100 <= 300, "{limited} of 300 writes refused");

    // Timed on the emulator's clock, from the writes it took: however late either process
    // started, the budget was used to the full while there were writes to send ...
    let stored: Vec<(Duration, bool)> = emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v5/pins" && r.status == Some(201))
        .map(|r| {
            let title = r.body.as_ref().unwrap()["title"].as_str().unwrap();
            (r.arrived, title.starts_with("first"))
        })
        .collect();
    let span =
        stored.iter().map(|s| s.0).max().unwrap() - stored.iter().map(|s| s.0).min().unwrap();
    assert!(
        span.as_secs_f64() <= 14.0 * 1.10,
        "300 writes took {span:?}"
    );
    // ... and while both were writing, they had about as many writes each.
    let span_of = |first: bool| {
        let times: Vec<Duration> = stored
            .iter()
            .filter(|(_, of_first)| *of_first == first)
            .map(|(at, _)| *at)
            .collect();
        (*times.iter().min().unwrap(), *times.iter().max().unwrap())
    };
    let (a, b) = (span_of(true), span_of(false));
    let (both_from, both_until) = (a.0.max(b.0), a.1.min(b.1));
    let count = |first: bool| {
        stored
            .iter()
            .filter(|(at, of_first)| *of_first == first && (both_from..=both_until).contains(at))
            .count() as f64
    };
    let (of_first, of_second) = (count(true), count(false));
    assert!(
        of_first + of_second >= 100.0,
        "the processes overlapped for {:?} only",
        both_until.saturating_sub(both_from)
    );
    assert!(
        of_first.max(of_second) <= of_first.min(of_second) * 1.25,
        "while both wrote: {of_first} writes of one process, {of_second} of the other"
    );
}

#[test]
fn a_used_up_daily_quota_stops_the_run_cleanly_until_it_comes_back() {
    let emu = TestEmulator::with_faults("daily-quota=5");
    emu.seed_board("Shop", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest(dir.path(), "pin", 8);
    let output = emu
        .pinbatch()
        .args(["apply", "-j", "1"])
        .arg(&manifest)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("quota is used up"), "{stderr}");
    assert!(stderr.contains("comes back at"), "{stderr}");
    assert_eq!(emu.snapshot().pins.len(), 5);
    // The answer to the fifth write said nothing was left until tomorrow: at most one more write
    // learns it from a 429, and none is retried.
    assert!(refused(&emu) <= 1, "{} refused", refused(&emu));
    let status = emu
        .pinbatch()
        .arg("status")
        .arg(&manifest)
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("5 done, 0 failed, 3 pending"), "{status}");

    // Tomorrow: the quota is back, and the rest is sent, once.
    emu.set_fault_spec("none");
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success();
    assert_eq!(emu.snapshot().pins.len(), 8);
}

#[test]
fn plan_estimates_the_time_from_the_accounts_last_known_budget() {
    let emu = TestEmulator::with_faults("write-fixed=10/5s");
    emu.seed_board("Shop", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), "pin", 3);
    emu.pinbatch().arg("apply").arg(&path).assert().success();
    // The manifest grows to 25 pins: 22 writes to make, 10 per 5 s.
    manifest(dir.path(), "pin", 25);
    let output = emu
        .pinbatch()
        .args(["plan", "--offline"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("22 write(s) to make; at the last known budget of 10 writes per 5s, that takes about 10s"),
        "{stderr}"
    );
}
