//! AI disclosure labels from manifest to Pinterest and back: sent on create (only when a pin
//! declares some), changed and cleared by an update, part of the fingerprint, stored and
//! returned by the emulator, listed by `pins`, and dropped with a warning by `export`. Every
//! body is validated against the official description with the 5.28 overlay merged.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::TestEmulator;

fn write_manifest(path: &Path, first: &str, second: &str) {
    let text = format!(
        "version: 1\ndefaults:\n  board: Art\npins:\n\
         \x20 - id: made-with-ai\n    title: Generated landscape\n    image: https://example.com/ai.jpg\n{first}\
         \x20 - id: photo\n    title: A photograph\n    image: https://example.com/photo.jpg\n{second}"
    );
    std::fs::write(path, text).unwrap();
}

/// The JSON bodies the emulator received for `method` on paths starting with `prefix`.
fn bodies(emu: &TestEmulator, method: &str, prefix: &str) -> Vec<Value> {
    emu.requests()
        .iter()
        .filter(|r| r.method == method && r.path.starts_with(prefix))
        .filter_map(|r| r.body.clone())
        .collect()
}

fn labels_of(emu: &TestEmulator, title: &str) -> Option<Vec<String>> {
    emu.snapshot()
        .pins
        .iter()
        .find(|p| p.title.as_deref() == Some(title))
        .and_then(|p| p.ai_disclosures.clone())
}

#[test]
fn ai_disclosures_round_trip_through_create_update_listing_and_export() {
    let emu = TestEmulator::start();
    emu.seed_board("Art", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.yaml");
    let manifest_arg = manifest.to_str().unwrap();
    write_manifest(&manifest, "    ai_disclosures: [AI_MODIFIED]\n", "");

    emu.pinbatch()
        .args(["apply", manifest_arg])
        .assert()
        .success();
    let creates = bodies(&emu, "POST", "/v5/pins");
    assert_eq!(creates.len(), 2);
    let sent = |title: &str| {
        creates
            .iter()
            .find(|b| b["title"] == title)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        sent("Generated landscape")["ai_disclosures"],
        json!({"values": ["AI_MODIFIED"]})
    );
    assert!(
        sent("A photograph").get("ai_disclosures").is_none(),
        "a pin that declares nothing sends nothing"
    );
    assert_eq!(
        labels_of(&emu, "Generated landscape"),
        Some(vec!["AI_MODIFIED".to_owned()])
    );

    // Pinterest returns them: `pins list` shows them and writes them back as a manifest column.
    let output = emu
        .pinbatch()
        .args(["pins", "list", "Art", "--format", "csv"])
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&output.stdout);
    let row = csv
        .lines()
        .find(|line| line.contains("Generated landscape"))
        .unwrap();
    assert!(row.contains(",AI_MODIFIED,"), "{csv}");

    // Labels are part of the fingerprint: adding and changing them is an update.
    write_manifest(
        &manifest,
        "    ai_disclosures: [SYNTHETIC_PERFORMER, AI_MODIFIED]\n",
        "    ai_disclosures: [SYNTHETIC_PERFORMER]\n",
    );
    let output = emu
        .pinbatch()
        .args(["plan", manifest_arg, "--offline", "--format", "json"])
        .output()
        .unwrap();
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(
        plan["pins"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["action"] == "update"),
        "{plan}"
    );
    emu.clear_requests();
    emu.pinbatch()
        .args(["apply", manifest_arg])
        .assert()
        .success();
    let updates = bodies(&emu, "PATCH", "/v5/pins/");
    assert_eq!(updates.len(), 2);
    assert_eq!(emu.creates(), 0);
    assert_eq!(
        labels_of(&emu, "Generated landscape"),
        Some(vec![
            "SYNTHETIC_PERFORMER".to_owned(),
            "AI_MODIFIED".to_owned()
        ])
    );
    assert_eq!(
        labels_of(&emu, "A photograph"),
        Some(vec!["SYNTHETIC_PERFORMER".to_owned()])
    );

    // Removing them from the manifest clears them on Pinterest.
    write_manifest(&manifest, "", "");
    emu.clear_requests();
    emu.pinbatch()
        .args(["apply", manifest_arg])
        .assert()
        .success();
    let updates = bodies(&emu, "PATCH", "/v5/pins/");
    assert_eq!(updates.len(), 2);
    assert!(
        updates
            .iter()
            .all(|b| b["ai_disclosures"] == json!({"values": []}))
    );
    assert_eq!(labels_of(&emu, "A photograph"), Some(Vec::new()));
    emu.assert_rerun_sends_nothing(&[manifest_arg], "unchanged");

    // Pinterest's bulk CSV has no such column: dropped, with a warning naming the pin.
    write_manifest(&manifest, "    ai_disclosures: [AI_MODIFIED]\n", "");
    let exported = dir.path().join("bulk.csv");
    let output = emu
        .pinbatch()
        .args(["export", manifest_arg, "-o", exported.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    let warnings = String::from_utf8_lossy(&output.stderr);
    assert!(
        warnings.contains("AI disclosure labels (AI_MODIFIED)") && warnings.contains("dropped"),
        "{warnings}"
    );
    assert_eq!(warnings.matches("AI disclosure").count(), 1, "{warnings}");
    let csv = std::fs::read_to_string(&exported).unwrap();
    assert!(!csv.contains("AI_MODIFIED"), "{csv}");
    emu.assert_no_spec_violations();
}

#[test]
fn a_label_pinterest_does_not_know_is_refused_before_anything_is_sent() {
    let emu = TestEmulator::start();
    emu.seed_board("Art", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.csv");
    std::fs::write(
        &manifest,
        "board,title,image,ai_disclosures\nArt,Fine,https://example.com/1.jpg,AI_MODIFIED|SYNTHETIC_PERFORMER\nArt,Bad,https://example.com/2.jpg,AI_MODIFIED|DEEPFAKE\n",
    )
    .unwrap();
    let output = emu
        .pinbatch()
        .args(["apply", manifest.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("row 3") && text.contains("`DEEPFAKE` is not an AI disclosure label"),
        "{text}"
    );
    assert!(emu.requests().is_empty(), "nothing was sent");
}
