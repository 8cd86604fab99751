//! `pinbatch validate`: offline checks of one or more manifests.

use crate::cli::{GlobalArgs, ValidateArgs};
use crate::exit::ExitStatus;

/// Validates every manifest and prints all diagnostics at once.
pub fn run(_global: &GlobalArgs, _args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    anyhow::bail!("not built yet")
}
