//! Destination links through the real binary: shorteners, Pinterest itself, plain http and
//! repeated links found offline; UTM tags from `defaults.utm`, a pin's own `utm`, CSV columns
//! and `--utm`, sent in the create, shown by `plan` and `export`, and changing them updates
//! created pins.

use std::path::Path;

use crate::common::TestEmulator;

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn sent_links(emu: &TestEmulator, method: &str) -> Vec<String> {
    emu.emu()
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.starts_with("/v5/pins"))
        .filter_map(|r| r.body?.get("link")?.as_str().map(str::to_owned))
        .collect()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn links_pinterest_would_flag_are_found_offline() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.csv");
    write(
        &manifest,
        "board,title,image,link\n\
         B,One,https://example.com/1.jpg,https://bit.ly/3xYz\n\
         B,Two,https://example.com/2.jpg,https://www.pinterest.com/pin/123/\n\
         B,Three,https://example.com/3.jpg,http://shop.example/p\n\
         B,Four,https://example.com/4.jpg,https://shop.example/same\n\
         B,Five,https://example.com/5.jpg,https://shop.example/same\n\
         B,Six,https://example.com/6.jpg,https://shop.example/same\n",
    );
    let output = emu
        .pinbatch()
        .arg("validate")
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for expected in [
        "pins.csv: row 2: warning: link: `https://bit.ly/3xYz` goes through bit.ly, a link shortener or redirector",
        "pins.csv: row 3: warning: link: `https://www.pinterest.com/pin/123/` links to Pinterest itself",
        "pins.csv: row 4: warning: link: `http://shop.example/p` is plain http://",
        "pins.csv: row 5: note: link: `https://shop.example/same` is the link of 3 pins (also at row 6, row 7)",
        "6 pins, 0 errors, 3 warnings, 1 note",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
}

#[test]
fn utm_tags_are_sent_shown_and_update_created_pins() {
    let emu = TestEmulator::start();
    emu.emu().seed_board("Garden", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.yaml");
    let yaml = |campaign: &str| {
        format!(
            "version: 1\ndefaults:\n  board: Garden\n  utm: {{ source: pinterest, medium: social, campaign: \"{campaign}\" }}\npins:\n\
             \x20 - {{ id: rose, title: Rose, image: \"https://example.com/r.jpg\", link: \"https://shop.example/rose?ref=7#care\" }}\n\
             \x20 - id: tulip\n    title: Tulip\n    image: https://example.com/t.jpg\n    link: https://shop.example/tulip?utm_source=news\n    utm: {{ content: \"{{key}}-{{row}}\" }}\n"
        )
    };
    write(&manifest, &yaml("{board}"));
    let output = emu
        .pinbatch()
        .args(["plan", "--format", "json"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        plan["pins"][0]["link"],
        "https://shop.example/rose?ref=7&utm_source=pinterest&utm_medium=social&utm_campaign=Garden#care"
    );
    let output = emu.pinbatch().arg("apply").arg(&manifest).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let mut created = sent_links(&emu, "POST");
    created.sort();
    assert_eq!(
        created,
        [
            "https://shop.example/rose?ref=7&utm_source=pinterest&utm_medium=social&utm_campaign=Garden#care",
            "https://shop.example/tulip?utm_source=news&utm_medium=social&utm_campaign=Garden&utm_content=tulip-2",
        ],
        "the link's own utm_source is kept, never repeated"
    );
    // A new campaign is an edit of both links: each pin is updated, none created again.
    write(&manifest, &yaml("spring"));
    let output = emu.pinbatch().arg("apply").arg(&manifest).output().unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(emu.creates(), 2);
    let updated = sent_links(&emu, "PATCH");
    assert_eq!(updated.len(), 2, "{updated:?}");
    assert!(
        updated.iter().all(|l| l.contains("utm_campaign=spring")),
        "{updated:?}"
    );
    emu.assert_no_spec_violations();
}

#[test]
fn csv_rows_take_utm_columns_and_the_flag() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pins.csv");
    write(
        &manifest,
        "board,title,image,link,utm_content\n\
         Garden,Rose,https://example.com/r.jpg,https://shop.example/rose,row-{row}\n\
         Garden,Tulip,https://example.com/t.jpg,https://shop.example/tulip,{stem}\n",
    );
    let output = emu
        .pinbatch()
        .args([
            "validate",
            "--utm",
            "source=pinterest",
            "--utm",
            "utm_campaign={board}",
        ])
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("pins.csv: row 3: error: utm.content: `{stem}` is not a placeholder"),
        "{stderr}"
    );
    let export = dir.path().join("bulk.csv");
    write(
        &manifest,
        "board,title,image,link,utm_content\n\
         Garden,Rose,https://example.com/r.jpg,https://shop.example/rose,row-{row}\n",
    );
    let output = emu
        .pinbatch()
        .args([
            "export",
            "--utm",
            "source=pinterest",
            "--utm",
            "utm_campaign={board}",
            "-o",
        ])
        .arg(&export)
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let text = std::fs::read_to_string(&export).unwrap();
    assert!(
        text.contains(
            "https://shop.example/rose?utm_source=pinterest&utm_campaign=Garden&utm_content=row-2"
        ),
        "{text}"
    );
    let output = emu
        .pinbatch()
        .args(["validate", "--utm", "campain=x"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
}
