//! Exactly once when an unknown outcome meets a second failure: a video whose media service is
//! down on the resume, a create held by the rate gate and killed once it was on the wire, a
//! re-send held by the rate gate after its listing read, a service that keeps text trimmed, a
//! create answered with a pin another key holds, keys with unknown outcomes dropped from the
//! manifest, and Ctrl-C while a create waits for its turn.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use pinbatch::state::{Record, StateSnapshot};

use crate::common::{TestEmulator, url_manifest};
use crate::video::tiny_mp4;

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

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn status(emu: &TestEmulator, manifest: &Path) -> String {
    let output = emu.pinbatch().arg("status").arg(manifest).output().unwrap();
    stdout(&output)
}

/// A manifest of `n` video pins on board `Clips`, each its own small MP4.
fn video_manifest(dir: &Path, n: usize) -> PathBuf {
    let mut text = String::from("version: 1\ndefaults:\n  board: Clips\npins:\n");
    for i in 0..n {
        std::fs::write(
            dir.join(format!("clip-{i}.mp4")),
            tiny_mp4(format!("clip {i}").as_bytes()),
        )
        .unwrap();
        text.push_str(&format!(
            "  - id: clip-{i}\n    title: Pin number {i}\n    video: clip-{i}.mp4\n"
        ));
    }
    let path = dir.join("clips.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn videos_whose_create_went_unknown_are_never_created_twice_when_their_media_fails_later() {
    // The creates are stored and answered by gateway pages; listings lag far beyond the settle
    // window, so the first run leaves every outcome unknown.
    let emu =
        TestEmulator::with_faults("gateway-after-commit-first=4,listing-lag=60s,media-polls=0");
    emu.seed_board("Clips", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = video_manifest(dir.path(), 4);
    let quick = [
        "--settle",
        "100ms",
        "--max-retries",
        "0",
        "--retry-base-delay",
        "1ms",
    ];
    let first = apply(&emu, &manifest, &quick);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert_eq!(emu.snapshot().pins.len(), 4, "every create was stored");
    assert!(
        status(&emu, &manifest).contains("4 unknown outcome"),
        "{}",
        status(&emu, &manifest)
    );

    // The resume finds the media service down: the videos cannot be prepared. The unknown
    // creates must stay unknown, not become failed.
    emu.set_fault_spec("listing-lag=60s,media-outage=on");
    let second = apply(&emu, &manifest, &quick);
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert_eq!(
        emu.snapshot().pins.len(),
        4,
        "nothing was created meanwhile"
    );
    let after_outage = status(&emu, &manifest);
    assert!(
        after_outage.contains("4 unknown outcome"),
        "a media failure must not forget an unknown create:\n{after_outage}"
    );

    // Everything works again and the listings have caught up: each video is found, not made
    // a second time.
    emu.set_fault_spec("none");
    emu.clear_requests();
    let third = apply(&emu, &manifest, &quick);
    assert!(third.status.success(), "{}", stderr(&third));
    emu.assert_exactly_once(4, "Clips", "videos after a media outage");
    assert_eq!(emu.creates(), 0, "every pin was adopted");
    emu.assert_no_spec_violations();
}

#[test]
fn a_create_held_by_the_rate_gate_and_killed_on_the_wire_settles_from_the_resume() {
    // One write per 3 s: the second pin's create is announced at once, held by the gate for
    // 3 s (longer than its 1 s timeout), then sent, stored and never answered, and the process
    // is killed.
    let emu = TestEmulator::with_faults("write-fixed=1/3s");
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 2, "Animals");
    let mut child = emu
        .process()
        .arg("apply")
        .arg(&manifest)
        .args(["-j", "1", "--timeout", "1s", "--retry-base-delay", "1ms"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    emu.wait_for_creates(1, &mut child);
    emu.set_fault_spec("write-fixed=1/3s,stall-after-commit=1");
    emu.wait_for_creates(2, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(emu.snapshot().pins.len(), 2, "both creates were stored");

    // The resume: the listing shows the second pin only 2.5 s after its create. The attempt's
    // end is unknown, so its settle window counts from this run's start, not from when it was
    // announced.
    emu.set_fault_spec("listing-lag=2500ms");
    emu.clear_requests();
    let resume = apply(
        &emu,
        &manifest,
        &[
            "--settle",
            "3s",
            "--timeout",
            "1s",
            "--retry-base-delay",
            "1ms",
        ],
    );
    assert!(resume.status.success(), "{}", stderr(&resume));
    emu.assert_exactly_once(2, "Animals", "a gate-held create killed on the wire");
    assert_eq!(emu.creates(), 0, "found, not sent again");
}

#[test]
fn a_resend_held_by_the_rate_gate_reads_the_listing_again_before_it_goes() {
    // One write per 3 s, announced in the headers of every answer (the gateway page too). The
    // create is stored and answered by a gateway page; the listing shows it 1.5 s later. The
    // settle window (0.5 s) ends before that, so the listing read finds nothing and the create
    // is to be sent again, but the gate holds it until the window ends, and the pin shows
    // meanwhile.
    let emu = TestEmulator::with_faults(
        "write-fixed=1/3s,gateway-after-commit-first=1,listing-lag=1500ms",
    );
    let board = emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 1, "Animals");
    let output = apply(
        &emu,
        &manifest,
        &["--settle", "500ms", "--retry-base-delay", "1ms", "-j", "1"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    emu.assert_exactly_once(1, "Animals", "a re-send held by the rate gate");
    assert_eq!(emu.creates(), 1, "found before the re-send went out");
    let requests = emu.requests();
    let create = requests.iter().find(|r| r.is("POST", "/v5/pins")).unwrap();
    let listing = format!("/v5/boards/{board}/pins");
    let reads: Vec<Duration> = requests
        .iter()
        .filter(|r| r.path == listing)
        .map(|r| r.arrived - create.finished)
        .collect();
    assert_eq!(
        reads.len(),
        2,
        "after the settle window, and again: {requests:#?}"
    );
    assert!(
        reads[1] >= Duration::from_millis(1500),
        "read again only once the gate let the re-send go: {reads:?}"
    );
}

#[test]
fn a_service_that_keeps_text_trimmed_still_shows_what_was_sent() {
    // Every create is stored and answered by a gateway page; the service trims text and turns
    // CRLF into LF, as many do.
    let emu = TestEmulator::with_faults("normalize-text=on,gateway-after-commit-first=16");
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("version: 1\ndefaults:\n  board: Animals\npins:\n");
    for i in 0..16 {
        text.push_str(&format!(
            "  - id: pin-{i}\n    title: \"  Pin number {i}  \"\n    description: \"First line\\r\\nsecond line {i}\\r\\n\"\n    alt_text: \"A cat \"\n    image: https://example.com/cat/{i}.jpg\n"
        ));
    }
    let manifest = dir.path().join("cats.yaml");
    std::fs::write(&manifest, text).unwrap();
    let output = apply(
        &emu,
        &manifest,
        &["--settle", "100ms", "--retry-base-delay", "1ms"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    emu.assert_exactly_once(16, "Animals", "a service that trims text");
    assert_eq!(emu.creates(), 16, "no create was sent twice");
    let snapshot = emu.snapshot();
    let sent = snapshot
        .pins
        .iter()
        .find(|pin| pin.title.as_deref() == Some("Pin number 0"))
        .expect("sent trimmed");
    assert_eq!(
        sent.description.as_deref(),
        Some("First line\nsecond line 0")
    );
    // Nothing changed since: a re-run sends nothing.
    emu.assert_rerun_sends_nothing(&[manifest.to_str().unwrap()], "16 unchanged");
}

#[test]
fn a_create_answered_with_a_pin_another_key_holds_is_kept_for_both_and_never_sent_again() {
    let emu = TestEmulator::start();
    let board = emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 1, "Animals");
    // The state already records the id the emulator hands out next for another key.
    let next_id = (board.parse::<u64>().unwrap() + 1).to_string();
    let state = dir.path().join("pins.yaml.state");
    let snapshot = StateSnapshot::new(&emu.base_url());
    let spec = &pinbatch::manifest::load(&manifest).manifest.unwrap().pins[0];
    let held = Record::Done {
        key: "elsewhere".to_owned(),
        pin_id: next_id.clone(),
        created_ms: None,
        board_id: board.clone(),
        section_id: None,
        fingerprint: pinbatch::plan::fingerprint(spec),
        adopted: false,
        shared_with: None,
        at_ms: 1,
    };
    std::fs::write(
        &state,
        format!(
            "{}\n{}\n",
            serde_json::to_string(&snapshot.header).unwrap(),
            serde_json::to_string(&held).unwrap()
        ),
    )
    .unwrap();

    let output = apply(&emu, &manifest, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "with pin {next_id}, which the state records for `elsewhere` too"
        )),
        "{}",
        stderr(&output)
    );
    let recorded = pinbatch::state::load(&state).unwrap().unwrap();
    let kept = recorded.pin("pin-000").unwrap();
    assert_eq!(
        kept.pin_id.as_deref(),
        Some(next_id.as_str()),
        "never forgotten"
    );
    assert_eq!(kept.shared_with.as_deref(), Some("elsewhere"));
    assert!(
        status(&emu, &manifest).contains("is recorded for `elsewhere` too"),
        "{}",
        status(&emu, &manifest)
    );
    emu.clear_requests();
    let again = apply(&emu, &manifest, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(emu.creates(), 0, "not created a second time");
}

#[test]
fn a_key_with_an_unknown_outcome_dropped_from_the_manifest_is_reported() {
    let emu = TestEmulator::with_faults("gateway-after-commit-first=1,listing-lag=60s");
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 2, "Animals");
    let quick = [
        "--settle",
        "50ms",
        "--max-retries",
        "0",
        "--retry-base-delay",
        "1ms",
    ];
    let first = apply(&emu, &manifest, &[&quick[..], &["-j", "1"]].concat());
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(status(&emu, &manifest).contains("unknown    pin-000"));
    // The user removes the pin whose create went unknown.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let start = text.find("  - id: pin-000\n").unwrap();
    let end = text.find("  - id: pin-001\n").unwrap();
    std::fs::write(&manifest, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let expected = "`pin-000` is no longer in the manifest, but a create of it may have made a pin";
    let plan = emu
        .pinbatch()
        .args(["plan", "--offline"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(stdout(&plan).contains(expected), "{}", stdout(&plan));
    assert!(status(&emu, &manifest).contains(expected));
    let apply_output = apply(&emu, &manifest, &quick);
    assert!(
        stderr(&apply_output).contains(expected),
        "{}",
        stderr(&apply_output)
    );
}

#[test]
fn ctrl_c_while_a_create_waits_for_the_rate_gate_stops_at_once_and_takes_it_back() {
    // One write per 30 s: the second pin's create waits half a minute for its turn.
    let emu = TestEmulator::with_faults("write-fixed=1/30s");
    emu.seed_board("Animals", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 2, "Animals");
    let mut child = emu
        .process()
        .arg("apply")
        .arg(&manifest)
        .args(["-j", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    emu.wait_for_creates(1, &mut child);
    // The second create is announced in the state (write-ahead) before it waits for its turn.
    let state_file = dir.path().join("pins.yaml.state");
    let announced = |text: &str| {
        text.lines()
            .any(|line| line.contains("\"type\":\"attempt\"") && line.contains("pin-001"))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&state_file).is_ok_and(|text| announced(&text)) {
        assert!(std::time::Instant::now() < deadline, "never announced");
        assert!(
            child.try_wait().unwrap().is_none(),
            "ended before the second create"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let interrupted = std::time::Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let output = child.wait_with_output().unwrap();
    // Well within the half minute the gate would have held it.
    assert!(
        interrupted.elapsed() < Duration::from_secs(15),
        "took {:?}",
        interrupted.elapsed()
    );
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert_eq!(emu.creates(), 1, "the waiting create was not sent");
    // Taken back, not left unknown: the next run simply creates it.
    let records = std::fs::read_to_string(&state_file).unwrap();
    assert!(
        records
            .lines()
            .any(|line| line.contains("\"type\":\"unsent\"") && line.contains("pin-001")),
        "{records}"
    );
    let state = status(&emu, &manifest);
    assert!(state.contains("0 unknown outcome"), "{state}");
    assert!(state.contains("1 done"), "{state}");
}
