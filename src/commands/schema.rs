//! `pinbatch schema`: prints the manifest JSON Schema.

use crate::exit::ExitStatus;

/// Prints the schema on stdout.
pub fn run() -> anyhow::Result<ExitStatus> {
    anyhow::bail!("not built yet")
}
