//! One module per subcommand; each wires settings, output and the domain modules together.

mod emulator;
mod schema;
mod validate;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;

/// Runs the subcommand named on the command line.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Validate(args) => validate::run(&cli.global, &args),
        Command::Schema => schema::run(),
        Command::Emulator(args) => emulator::run(&args).await,
    }
}
