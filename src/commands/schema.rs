//! `pinbatch schema`: prints the manifest JSON Schema.

use std::io::Write;

use crate::commands::exit::ExitStatus;
use crate::manifest::schema::manifest_schema_json;

/// Prints the schema on stdout (the same text as `schemas/manifest.schema.json`).
pub fn run() -> anyhow::Result<ExitStatus> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(manifest_schema_json().as_bytes())?;
    stdout.flush()?;
    Ok(ExitStatus::Success)
}
