//! Video pins end to end against the in-process emulator: register, upload, poll, create with
//! the cover; failed processing; a kill between the upload and the pin; the state's media record.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use pinbatch_emulator::{ImageRecord, MediaStatus, PinMediaRecord};
use predicates::prelude::*;

use crate::common::TestEmulator;

/// A box: its size, its four-character type, its body.
fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(body.len() + 8)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// An MP4 file written box by box, as a recorder writes its header: `ftyp`, then `moov` with
/// `mvhd` (`seconds` long) and one video track (`trak` holding `tkhd` with `width` x `height`,
/// and `mdia` holding `mdhd`, `hdlr` of type `vide` and `minf`/`stbl`/`stsd` with one `codec`
/// sample entry), then `mdat` holding `payload` (the emulator does not decode video).
pub fn mp4_with(seconds: u32, width: u16, height: u16, codec: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let timing = |extra: usize| {
        let mut body = vec![0u8; 12];
        body.extend_from_slice(&1000u32.to_be_bytes());
        body.extend_from_slice(&(seconds * 1000).to_be_bytes());
        body.extend_from_slice(&vec![0u8; extra]);
        body
    };
    let mut tkhd = vec![0, 0, 0, 3];
    tkhd.extend_from_slice(&[0u8; 36]);
    for value in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        tkhd.extend_from_slice(&value.to_be_bytes());
    }
    tkhd.extend_from_slice(&(u32::from(width) << 16).to_be_bytes());
    tkhd.extend_from_slice(&(u32::from(height) << 16).to_be_bytes());
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"vide");
    hdlr.extend_from_slice(&[0u8; 13]);
    let mut stsd = vec![0, 0, 0, 0, 0, 0, 0, 1];
    // A visual sample entry: 6 reserved bytes, a reference index, 16 bytes, then the size.
    let mut entry = vec![0u8; 24];
    entry.extend_from_slice(&width.to_be_bytes());
    entry.extend_from_slice(&height.to_be_bytes());
    entry.extend_from_slice(&[0u8; 50]);
    stsd.extend_from_slice(&boxed(codec, &entry));
    let stbl = boxed(b"stbl", &boxed(b"stsd", &stsd));
    let mdia = boxed(
        b"mdia",
        &[
            boxed(b"mdhd", &timing(4)),
            boxed(b"hdlr", &hdlr),
            boxed(b"minf", &stbl),
        ]
        .concat(),
    );
    let trak = boxed(b"trak", &[boxed(b"tkhd", &tkhd), mdia].concat());
    let moov = boxed(b"moov", &[boxed(b"mvhd", &timing(80)), trak].concat());
    let ftyp = boxed(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41");
    [ftyp, moov, boxed(b"mdat", payload)].concat()
}

/// A 30-second 1080 x 1920 H.264 MP4 header with `payload` as its media data.
pub fn tiny_mp4(payload: &[u8]) -> Vec<u8> {
    mp4_with(30, 1080, 1920, b"avc1", payload)
}

/// A JPEG's header and no pixels: what validation reads (a 1000 x 1500 frame header), in a few
/// bytes.
pub const TINY_JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xFF\xC0\x00\x11\x08\x05\xDC\x03\xE8\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01\xFF\xD9";

fn count_prefix(emu: &TestEmulator, method: &str, prefix: &str) -> usize {
    emu.emu()
        .requests()
        .iter()
        .filter(|r| r.method == method && r.path.starts_with(prefix))
        .count()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn write_manifest(dir: &Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("pins.yaml");
    std::fs::write(
        &path,
        format!("version: 1\ndefaults:\n  board: Clips\npins:\n{body}"),
    )
    .unwrap();
    path
}

#[test]
fn a_video_pin_is_uploaded_and_created_with_its_cover() {
    let emu = TestEmulator::with_faults("media-polls=2");
    emu.emu().seed_board("Clips", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let video = tiny_mp4(b"first video payload");
    std::fs::write(dir.path().join("run.mp4"), &video).unwrap();
    std::fs::write(dir.path().join("cover.jpg"), TINY_JPEG).unwrap();
    std::fs::write(dir.path().join("jump.mp4"), tiny_mp4(b"second")).unwrap();
    let manifest = write_manifest(
        dir.path(),
        "  - id: run\n    title: Running\n    video: run.mp4\n    cover: cover.jpg\n  - id: jump\n    title: Jumping\n    video: jump.mp4\n    cover_frame: 3\n  - id: url-cover\n    title: Url cover\n    video: run.mp4\n    cover: https://example.com/cover.jpg\n",
    );
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("3 created"));

    let snapshot = emu.emu().snapshot();
    assert_eq!(snapshot.pins.len(), 3);
    assert_eq!(snapshot.media.len(), 3, "one media per video pin");
    assert!(
        snapshot
            .media
            .iter()
            .all(|m| m.status == MediaStatus::Succeeded)
    );
    let pin = |title: &str| {
        snapshot
            .pins
            .iter()
            .find(|p| p.title.as_deref() == Some(title))
            .unwrap_or_else(|| panic!("pin {title} exists"))
    };
    let PinMediaRecord::Video {
        media_id,
        cover,
        key_frame_time,
    } = &pin("Running").media
    else {
        panic!("Running is a video pin");
    };
    let uploaded = snapshot
        .media
        .iter()
        .find(|m| &m.media_id == media_id)
        .expect("the pin's media was registered");
    assert_eq!(
        uploaded.sha256.as_deref(),
        Some(sha256_hex(&video).as_str()),
        "the uploaded bytes are the file's"
    );
    assert_eq!(uploaded.len, Some(video.len()));
    assert_eq!(
        cover,
        &Some(ImageRecord::Bytes {
            content_type: "image/jpeg".to_owned(),
            sha256: sha256_hex(TINY_JPEG),
            len: TINY_JPEG.len(),
            size: Some((1000, 1500)),
        })
    );
    assert_eq!(key_frame_time, &None);
    let PinMediaRecord::Video {
        cover,
        key_frame_time,
        ..
    } = &pin("Jumping").media
    else {
        panic!("Jumping is a video pin");
    };
    assert_eq!(cover, &None);
    assert_eq!(key_frame_time, &Some(3));
    let PinMediaRecord::Video { cover, .. } = &pin("Url cover").media else {
        panic!("Url cover is a video pin");
    };
    assert_eq!(
        cover,
        &Some(ImageRecord::Url("https://example.com/cover.jpg".to_owned()))
    );

    // The create request carried the media id and the cover as the API spells them.
    let requests = emu.emu().requests();
    let create = requests
        .iter()
        .filter(|r| r.is("POST", "/v5/pins"))
        .filter_map(|r| r.body.as_ref())
        .find(|body| body["title"] == "Running")
        .expect("the create request was recorded");
    assert_eq!(create["media_source"]["source_type"], "video_id");
    assert_eq!(create["media_source"]["media_id"], media_id.as_str());
    assert_eq!(
        create["media_source"]["cover_image_content_type"],
        "image/jpeg"
    );
    assert!(create["media_source"]["cover_image_data"].is_string());
    assert_eq!(emu.count("POST", "/v5/media"), 3);
    assert_eq!(count_prefix(&emu, "POST", "/upload/"), 3);

    // A re-run sends nothing.
    emu.assert_rerun_sends_nothing(&[manifest.to_str().unwrap()], "3 unchanged");
    emu.assert_no_spec_violations();
}

#[test]
fn failed_processing_fails_that_pin_only_and_a_rerun_uploads_again() {
    let emu = TestEmulator::with_faults("media-fail=1,media-polls=1");
    emu.emu().seed_board("Clips", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.mp4"), tiny_mp4(b"not really h264")).unwrap();
    let manifest = write_manifest(
        dir.path(),
        "  - id: broken\n    title: Broken\n    video: broken.mp4\n  - id: photo\n    title: Photo\n    image: https://example.com/a.jpg\n",
    );
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "Pinterest could not process video `broken.mp4`",
        ))
        .stderr(predicate::str::contains("1 created"))
        .stderr(predicate::str::contains("1 failed"));
    let snapshot = emu.emu().snapshot();
    assert_eq!(snapshot.pins.len(), 1);
    assert_eq!(snapshot.pins[0].title.as_deref(), Some("Photo"));
    assert_eq!(emu.count("POST", "/v5/pins"), 1, "no create for the video");
    emu.pinbatch()
        .arg("status")
        .arg(&manifest)
        .assert()
        .code(predicate::in_iter([0, 1]))
        .stdout(predicate::str::contains("could not process video"));

    // Once processing works, a re-run registers and uploads a new media instead of waiting on
    // the failed one.
    emu.set_fault_spec("media-polls=1");
    emu.emu().clear_requests();
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 created"));
    assert_eq!(emu.count("POST", "/v5/media"), 1);
    assert_eq!(count_prefix(&emu, "POST", "/upload/"), 1);
    assert_eq!(emu.emu().snapshot().pins.len(), 2);
    emu.assert_no_spec_violations();
}

#[test]
fn a_kill_between_upload_and_pin_does_not_upload_again() {
    let emu = TestEmulator::with_faults("media-polls=3,latency=50ms");
    emu.emu().seed_board("Clips", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.mp4"), tiny_mp4(b"payload")).unwrap();
    let manifest = write_manifest(
        dir.path(),
        "  - id: run\n    title: Running\n    video: run.mp4\n",
    );
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pinbatch"));
    command
        .env("PINBATCH_API_BASE", emu.base_url())
        .env("PINTEREST_ACCESS_TOKEN", emu.token())
        .env("PINBATCH_CONFIG_DIR", emu.config_dir())
        .args(["--no-progress", "-q", "apply"])
        .arg(&manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    // The first status poll comes after the upload is recorded in the state; kill the run while
    // it waits for processing.
    let deadline = Instant::now() + Duration::from_secs(30);
    while count_prefix(&emu, "GET", "/v5/media/") == 0 && Instant::now() < deadline {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before processing finished"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(count_prefix(&emu, "POST", "/upload/"), 1);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        emu.emu().snapshot().pins.is_empty(),
        "killed before the pin"
    );

    emu.set_fault_spec("media-polls=0");
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 created"));
    assert_eq!(emu.count("POST", "/v5/media"), 1, "registered once");
    assert_eq!(count_prefix(&emu, "POST", "/upload/"), 1, "uploaded once");
    let snapshot = emu.emu().snapshot();
    assert_eq!(snapshot.pins.len(), 1);
    assert_eq!(snapshot.media.len(), 1);
    let PinMediaRecord::Video { media_id, .. } = &snapshot.pins[0].media else {
        panic!("a video pin");
    };
    assert_eq!(media_id, &snapshot.media[0].media_id);
    emu.assert_no_spec_violations();
}

#[test]
fn a_kill_after_registering_but_before_the_upload_registers_again() {
    // Every request is slow, so the run can be killed once the registration is recorded in the
    // state and while the upload is still on its way.
    let emu = TestEmulator::with_faults("latency=400ms,scope=all");
    emu.emu().seed_board("Clips", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.mp4"), tiny_mp4(b"payload")).unwrap();
    let manifest = write_manifest(
        dir.path(),
        "  - id: run\n    title: Running\n    video: run.mp4\n",
    );
    let state_path = dir.path().join("pins.yaml.state");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pinbatch"));
    command
        .env("PINBATCH_API_BASE", emu.base_url())
        .env("PINTEREST_ACCESS_TOKEN", emu.token())
        .env("PINBATCH_CONFIG_DIR", emu.config_dir())
        .args(["--no-progress", "-q", "apply"])
        .arg(&manifest)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    // The registration is answered and recorded; the upload is then in flight (400 ms).
    while !std::fs::read_to_string(&state_path)
        .unwrap_or_default()
        .contains("\"media_id\"")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        count_prefix(&emu, "POST", "/upload/"),
        0,
        "killed before the upload"
    );

    emu.set_fault_spec("media-polls=0");
    emu.pinbatch()
        .arg("apply")
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("1 created"));
    let snapshot = emu.emu().snapshot();
    assert_eq!(snapshot.pins.len(), 1);
    assert_eq!(emu.count("POST", "/v5/media"), 2, "registered anew");
    assert_eq!(count_prefix(&emu, "POST", "/upload/"), 1);
    emu.assert_no_spec_violations();
}

#[test]
fn a_video_being_processed_holds_no_request_slot() {
    // Eight polls of growing delay: several seconds of processing.
    let emu = TestEmulator::with_faults("media-polls=5");
    emu.emu().seed_board("Clips", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.mp4"), tiny_mp4(b"payload")).unwrap();
    let mut body =
        String::from("  - id: video\n    title: Running\n    video: run.mp4\n    cover_frame: 1\n");
    for i in 0..5 {
        body.push_str(&format!(
            "  - id: image-{i}\n    title: Image {i}\n    image: https://example.com/{i}.jpg\n"
        ));
    }
    let manifest = write_manifest(dir.path(), &body);
    emu.pinbatch()
        .args(["apply", "-j", "1"])
        .arg(&manifest)
        .assert()
        .success()
        .stderr(predicate::str::contains("6 created"));
    let requests = emu.emu().requests();
    let polls: Vec<usize> = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.method == "GET" && r.path.starts_with("/v5/media/"))
        .map(|(index, _)| index)
        .collect();
    let last_poll = *polls.last().unwrap();
    let images_during = requests[..last_poll]
        .iter()
        .filter(|r| {
            r.is("POST", "/v5/pins") && r.body.as_ref().is_some_and(|b| b["title"] != "Running")
        })
        .count();
    assert_eq!(
        images_during, 5,
        "the image pins went on while the video was processed: {requests:#?}"
    );
}
