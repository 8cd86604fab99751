//! The bad-input corpus: every file in `tests/corpus/bad/` fails `validate` with exit 1 and the
//! diagnostic text its `NAME.expected` sidecar holds (one expected substring per line), never a
//! panic; every file in `tests/corpus/good/` validates with exit 0. An optional `NAME.args`
//! sidecar holds extra `validate` arguments, one per line (`--timezone`, `--sheet`, ...).

use std::path::{Path, PathBuf};

fn corpus(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "csv" | "xlsx" | "xlsm" | "xls" | "ods")
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no manifest", dir.display());
    files
}

fn validate(path: &Path) -> std::process::Output {
    let extra: Vec<String> = std::fs::read_to_string(path.with_extension("args"))
        .map(|text| {
            text.lines()
                .map(str::to_owned)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    std::process::Command::new(env!("CARGO_BIN_EXE_pinbatch"))
        .args(["--no-progress", "validate"])
        .args(&extra)
        .arg(path)
        .env("NO_COLOR", "1")
        .current_dir(path.parent().unwrap())
        .output()
        .unwrap()
}

#[test]
fn every_bad_input_fails_with_its_expected_diagnostic() {
    let mut problems = Vec::new();
    for path in corpus("bad") {
        let expected_path = path.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|err| {
            panic!(
                "{} needs {}: {err}",
                path.display(),
                expected_path.display()
            )
        });
        let output = validate(&path);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let name = path.file_name().unwrap().to_string_lossy();
        if output.status.code() != Some(1) {
            problems.push(format!(
                "{name}: exit {:?} (expected 1)\n{stderr}",
                output.status.code()
            ));
            continue;
        }
        for line in expected.lines().filter(|l| !l.trim().is_empty()) {
            if !stderr.contains(line) {
                problems.push(format!("{name}: stderr lacks `{line}`:\n{stderr}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn every_good_input_validates() {
    for path in corpus("good") {
        let output = validate(&path);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}:\n{}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
