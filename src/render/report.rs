//! The `--report FILE` writer: one row per pin, as CSV or JSON by the file's extension.

use std::path::Path;

use anyhow::Context as _;

use crate::apply::progress::PinResult;

/// Writes `results` to `path` (`.json` = a JSON array, anything else CSV), atomically.
pub fn write_report(path: &Path, results: &[PinResult]) -> anyhow::Result<()> {
    let is_json = path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
    let mut buffer = Vec::new();
    if is_json {
        serde_json::to_writer_pretty(&mut buffer, results)?;
        buffer.push(b'\n');
    } else {
        let mut writer = csv::Writer::from_writer(&mut buffer);
        writer.write_record([
            "key",
            "location",
            "status",
            "pin_id",
            "pin_url",
            "attempts",
            "error",
            "converted",
        ])?;
        for result in results {
            writer.write_record([
                result.key.as_str(),
                result.location.as_str(),
                result.status.name(),
                result.pin_id.as_deref().unwrap_or(""),
                result.pin_url.as_deref().unwrap_or(""),
                &result.attempts.to_string(),
                result.error.as_deref().unwrap_or(""),
                result.converted.as_deref().unwrap_or(""),
            ])?;
        }
        writer.flush()?;
        drop(writer);
    }
    crate::fs::atomic::write(
        path,
        &buffer,
        crate::fs::atomic::Access::Shared,
        crate::fs::atomic::Existing::Replace,
    )
    .with_context(|| format!("Cannot write report `{}`", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::progress::PinOutcome;

    fn result() -> PinResult {
        PinResult {
            key: "a,b".into(),
            location: "m.csv: row 2".into(),
            status: PinOutcome::Failed,
            pin_id: None,
            pin_url: None,
            attempts: 2,
            error: Some("boom".into()),
            converted: None,
        }
    }

    #[test]
    fn csv_report_has_a_header_and_quotes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        write_report(&path, &[result()]).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            text,
            "key,location,status,pin_id,pin_url,attempts,error,converted\n\"a,b\",m.csv: row 2,failed,,,2,boom,\n"
        );
    }

    #[test]
    fn json_report_is_an_array() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        write_report(&path, &[result()]).unwrap();
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(value[0]["status"], "failed");
        assert_eq!(value[0]["attempts"], 2);
    }
}
