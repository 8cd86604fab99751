//! Fuzzes the workbook manifest reader: any bytes saved as `.xlsx` (and read again as `.ods`,
//! which shares the zip container) must load without a panic, and a rejected input must come
//! with at least one error diagnostic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    for name in ["fuzz.xlsx", "fuzz.ods"] {
        let path = dir.path().join(name);
        if std::fs::write(&path, data).is_err() {
            return;
        }
        let outcome = pinbatch::manifest::load(&path);
        assert!(outcome.manifest.is_some() || outcome.has_errors());
    }
});
