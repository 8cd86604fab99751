//! Inputs that cost more than they look: manifests small on disk and huge once read, refused
//! early with a located error and within a memory bound, through the real binary.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;

/// `pinbatch` with its address space limited to `bytes`: a reader that allocates more fails
/// (or aborts) instead of taking the machine's memory.
fn pinbatch_within(bytes: u64) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pinbatch"));
    command
        .env("NO_COLOR", "1")
        .env("PINBATCH_NO_LINK_CHECK", "1");
    let limit = libc::rlim_t::try_from(bytes).unwrap();
    // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

/// An .ods workbook whose only sheet holds `content` (rows of `table:table-row` XML).
fn write_ods(path: &Path, sheet: &str, rows: &str) {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name="{sheet}">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#;
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    zip.start_file("META-INF/manifest.xml", deflated).unwrap();
    zip.write_all(manifest.as_bytes()).unwrap();
    zip.start_file("content.xml", deflated).unwrap();
    zip.write_all(content.as_bytes()).unwrap();
    zip.finish().unwrap();
}

fn text_cell(text: &str) -> String {
    format!(
        r#"<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>"#
    )
}

#[test]
fn a_sparse_ods_with_one_far_cell_is_refused_early_within_a_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pins.ods");
    // A header, one pin, then a single cell at column 10 000 of row 9 000: the used range is
    // 9 000 x 10 000 cells, which a reader that builds it whole needs gigabytes for.
    let header = ["board", "title", "image"].map(text_cell).concat();
    let pin = ["Garden", "Roses", "https://example.com/a.jpg"]
        .map(text_cell)
        .concat();
    let far = format!(
        r#"<table:table-cell table:number-columns-repeated="9999"/>{}"#,
        text_cell("stray")
    );
    let rows = format!(
        "<table:table-row>{header}</table:table-row><table:table-row>{pin}</table:table-row>\
         <table:table-row table:number-rows-repeated=\"8997\"><table:table-cell/></table:table-row>\
         <table:table-row>{far}</table:table-row>"
    );
    write_ods(&path, "Pins", &rows);
    assert!(
        std::fs::metadata(&path).unwrap().len() < 4096,
        "small on disk"
    );

    let output = pinbatch_within(1 << 30)
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("pins.ods: Pins!NTP9000: error:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("9000 rows x 10000 columns") && stderr.contains("at most 2000000 cells"),
        "{stderr}"
    );
    assert!(stderr.contains("save the workbook as .xlsx"), "{stderr}");

    // The same sheet without the far cell reads as usual, under the same bound.
    let rows = format!(
        "<table:table-row>{header}</table:table-row><table:table-row>{pin}</table:table-row>"
    );
    write_ods(&path, "Pins", &rows);
    let output = pinbatch_within(1 << 30)
        .arg("validate")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("1 pin, 0 errors"), "{stderr}");
}

#[test]
fn csv_and_yaml_manifests_over_their_size_limit_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("pins.yaml");
    // A sparse file: its size says 40 MB without writing them.
    let file = std::fs::File::create(&yaml).unwrap();
    file.set_len(40 * 1024 * 1024).unwrap();
    let output = pinbatch_within(1 << 30)
        .arg("validate")
        .arg(&yaml)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("pins.yaml: error: is 40 MB, more than the 32 MB a YAML manifest may be"),
        "{stderr}"
    );
    assert!(
        stderr.contains("split the pins over several manifests"),
        "{stderr}"
    );
}

#[test]
fn media_outside_the_manifests_folder_is_warned_about_and_refused_in_ci() {
    let emu = crate::common::TestEmulator::start();
    emu.emu().seed_board("Garden", "PUBLIC");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let secret = root.path().join("secret.png");
    image::RgbImage::from_pixel(600, 900, image::Rgb([1, 2, 3]))
        .save(&secret)
        .unwrap();
    std::os::unix::fs::symlink(&secret, project.join("link.png")).unwrap();
    let manifest = project.join("pins.yaml");
    std::fs::write(
        &manifest,
        format!(
            "version: 1\ndefaults:\n  board: Garden\npins:\n  - {{ title: Up, image: ../secret.png }}\n  - {{ title: Link, image: link.png }}\n  - {{ title: Absolute, image: \"{}\" }}\n",
            secret.display()
        ),
    )
    .unwrap();
    let resolved = secret.canonicalize().unwrap();
    let output = emu
        .pinbatch()
        .arg("validate")
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for line in [5, 6, 7] {
        assert!(
            stderr.contains(&format!("pins.yaml:{line}:")),
            "line {line}: {stderr}"
        );
    }
    assert_eq!(
        stderr
            .matches(&format!(
                "resolves to {}, outside the manifest's folder",
                resolved.display()
            ))
            .count(),
        3,
        "{stderr}"
    );
    let output = emu.pinbatch().arg("plan").arg(&manifest).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("outside the manifest's folder"));

    // Under CI, apply sends nothing unless told the manifest is trusted.
    let output = emu
        .pinbatch()
        .env("CI", "true")
        .arg("apply")
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("3 media file(s) resolve outside the manifest's folder")
            && stderr.contains("--allow-outside"),
        "{stderr}"
    );
    assert_eq!(emu.creates(), 0);
    assert!(!project.join("pins.yaml.state").exists(), "no state either");
    let output = emu
        .pinbatch()
        .env("CI", "true")
        .args(["apply", "--allow-outside"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(emu.creates(), 3);
}
