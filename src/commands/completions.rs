//! `pinbatch completions SHELL`: shell completion scripts generated from the CLI definition.

use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};
use crate::commands::exit::ExitStatus;

/// Prints the completion script for the shell on stdout.
pub fn run(args: &CompletionsArgs) -> anyhow::Result<ExitStatus> {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "pinbatch", &mut std::io::stdout());
    Ok(ExitStatus::Success)
}
