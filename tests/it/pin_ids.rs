//! Manifests that name the pin each row already became (a report's `pin_id`): `apply` on a
//! fresh state reads each pin from the account and records it instead of creating it again
//! (zero writes), an edited title is one update, and a pin id that no longer exists, belongs to
//! another account or is claimed twice is a located error with nothing sent or written. `plan`
//! (online and offline) and `import` take the same path.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::TestEmulator;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const HEADER: &str = "id,board,title,description,link,image";

fn row(i: usize) -> String {
    format!(
        "pin-{i},Shop,Title {i},Description {i},https://example.com/p/{i},https://example.com/img/{i}.jpg"
    )
}

/// Applies four pins from `pins.csv` in `dir`, then writes `with-ids.csv`: the same rows with
/// the pin id each became (in a column the user placed first), and returns its path and the ids.
fn applied_with_ids(emu: &TestEmulator, dir: &Path) -> (PathBuf, Vec<String>) {
    let rows: Vec<String> = (0..4).map(row).collect();
    let manifest = dir.join("pins.csv");
    std::fs::write(&manifest, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    emu.pinbatch()
        .args(["apply"])
        .arg(&manifest)
        .arg("--create-boards")
        .assert()
        .success();
    let snapshot = emu.snapshot();
    let ids: Vec<String> = (0..4)
        .map(|i| {
            let title = format!("Title {i}");
            snapshot
                .pins
                .iter()
                .find(|p| p.title.as_deref() == Some(title.as_str()))
                .unwrap()
                .id
                .clone()
        })
        .collect();
    let text: Vec<String> = rows
        .iter()
        .zip(&ids)
        .map(|(row, id)| format!("{id},{row}"))
        .collect();
    let copy = dir.join("copy").join("with-ids.csv");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::write(&copy, format!("pin_id,{HEADER}\n{}\n", text.join("\n"))).unwrap();
    (copy, ids)
}

#[test]
fn pin_ids_rebuild_a_lost_state_and_an_edited_title_is_one_update() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let (copy, ids) = applied_with_ids(&emu, dir.path());
    emu.pinbatch().arg("validate").arg(&copy).assert().success();

    // plan, offline and online, on a machine without the state: nothing to create.
    let offline = emu
        .pinbatch()
        .arg("plan")
        .arg(&copy)
        .arg("--offline")
        .output()
        .unwrap();
    assert!(offline.status.success(), "{}", stderr(&offline));
    assert!(
        stdout(&offline).contains("Plan: 4 unchanged"),
        "{}",
        stdout(&offline)
    );
    assert!(stderr(&offline).contains("4 pin(s) carry a pin_id"));
    emu.clear_requests();
    let online = emu.pinbatch().arg("plan").arg(&copy).output().unwrap();
    assert!(online.status.success(), "{}", stderr(&online));
    assert!(
        stdout(&online).contains("Plan: 4 unchanged"),
        "{}",
        stdout(&online)
    );
    assert!(
        stderr(&online).contains(&format!("adopt      pin-0  pin {} (its pin_id)", ids[0])),
        "{}",
        stderr(&online)
    );
    assert!(emu.writes().is_empty());
    assert!(
        !copy.with_extension("csv.state").exists(),
        "plan writes no state"
    );

    // apply on a fresh state: each pin read by id, recorded, and nothing written to Pinterest.
    emu.clear_requests();
    let output = emu.pinbatch().arg("apply").arg(&copy).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(emu.writes().is_empty(), "{:?}", emu.writes());
    for id in &ids {
        assert_eq!(emu.count("GET", &format!("/v5/pins/{id}")), 1);
    }
    let state = std::fs::read_to_string(copy.with_extension("csv.state")).unwrap();
    for id in &ids {
        assert!(state.contains(&format!("\"pin_id\":\"{id}\"")), "{state}");
    }
    // Re-running sends nothing at all.
    emu.assert_rerun_sends_nothing(&[copy.to_str().unwrap()], "4 unchanged");

    // One title edited in the copy: one update of that pin, nothing else.
    let text = std::fs::read_to_string(&copy)
        .unwrap()
        .replace("Title 2,", "Title 2 (edited),");
    std::fs::write(&copy, text).unwrap();
    emu.clear_requests();
    emu.pinbatch().arg("apply").arg(&copy).assert().success();
    assert_eq!(emu.writes(), [format!("PATCH /v5/pins/{}", ids[2])]);
    let snapshot = emu.snapshot();
    assert_eq!(snapshot.pins.len(), 4);
    let edited = snapshot.pins.iter().find(|p| p.id == ids[2]).unwrap();
    assert_eq!(edited.title.as_deref(), Some("Title 2 (edited)"));
    emu.assert_no_spec_violations();
}

#[test]
fn a_missing_foreign_or_claimed_pin_id_is_a_located_error_and_nothing_is_written() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let (copy, ids) = applied_with_ids(&emu, dir.path());
    emu.give_pin_to(&ids[1], "someone-else");
    emu.pinbatch()
        .args(["pins", "delete", "--yes", &ids[3]])
        .assert()
        .success();
    emu.clear_requests();
    let output = emu.pinbatch().arg("apply").arg(&copy).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains(&format!(
            "with-ids.csv: row 3: error: pin_id: pin {} belongs to another account (`someone-else`)",
            ids[1]
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "with-ids.csv: row 5: error: pin_id: pin {} does not exist on Pinterest",
            ids[3]
        )),
        "{text}"
    );
    assert!(text.contains("2 pin id(s) in the manifest cannot be recorded"));
    assert!(emu.writes().is_empty());
    assert!(
        !copy.with_extension("csv.state").exists(),
        "no state file is left behind"
    );
    // plan says the same; validate, offline, cannot know.
    let plan = emu.pinbatch().arg("plan").arg(&copy).output().unwrap();
    assert_eq!(plan.status.code(), Some(1));
    assert!(stderr(&plan).contains("row 5: error: pin_id:"));
    emu.pinbatch().arg("validate").arg(&copy).assert().success();

    // A state that records a pin for another key refuses it for this one.
    let state = dir.path().join("claimed.state");
    let good = dir.path().join("copy").join("good.csv");
    std::fs::write(&good, format!("pin_id,{HEADER}\n{},{}\n", ids[0], row(0))).unwrap();
    emu.pinbatch()
        .arg("apply")
        .arg(&good)
        .arg("--state")
        .arg(&state)
        .assert()
        .success();
    // A row naming another pin than the state records for it: the state's is kept, with a
    // warning at the cell.
    let edited = dir.path().join("copy").join("edited-id.csv");
    std::fs::write(&edited, format!("pin_id,{HEADER}\n{},{}\n", ids[2], row(0))).unwrap();
    emu.clear_requests();
    let output = emu
        .pinbatch()
        .arg("apply")
        .arg(&edited)
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "edited-id.csv: row 2: warning: pin_id: pin {} is not pin {}, which the state records for this pin",
            ids[2], ids[0]
        )),
        "{}",
        stderr(&output)
    );
    assert!(emu.writes().is_empty());
    let other = dir.path().join("copy").join("other-key.csv");
    std::fs::write(
        &other,
        format!(
            "pin_id,{HEADER}\n{},{}\n",
            ids[0],
            row(0).replace("pin-0", "pin-x")
        ),
    )
    .unwrap();
    let output = emu
        .pinbatch()
        .arg("apply")
        .arg(&other)
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!(
            "other-key.csv: row 2: error: pin_id: pin {} is already recorded in the state for `pin-0`",
            ids[0]
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn import_records_the_pins_a_manifest_names_by_id() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let (copy, ids) = applied_with_ids(&emu, dir.path());
    // The title of one row differs from its pin: recorded anyway, then planned as an update.
    let text = std::fs::read_to_string(&copy)
        .unwrap()
        .replace("Title 1,", "Title 1 renamed,");
    std::fs::write(&copy, text).unwrap();
    let output = emu.pinbatch().arg("import").arg(&copy).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    for (i, id) in ids.iter().enumerate() {
        assert!(
            stdout(&output).contains(&format!("adopt      pin-{i}  pin {id} (its pin_id)")),
            "{}",
            stdout(&output)
        );
    }
    let plan = emu
        .pinbatch()
        .arg("plan")
        .arg(&copy)
        .arg("--offline")
        .output()
        .unwrap();
    assert!(
        stdout(&plan).contains("Plan: 1 update, 3 unchanged"),
        "{}",
        stdout(&plan)
    );
}
