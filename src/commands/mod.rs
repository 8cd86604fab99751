//! One module per subcommand; each wires settings, output and the domain modules together.
//! Also [`settings`] (the command line and environment resolved once into typed settings) and
//! [`exit`] (exit codes, and the one place a fatal error is printed). The top of the pipeline:
//! the only layer that sees both the command line and everything below it.

mod apply;
mod auth;
mod auth_import;
pub mod boards;
mod common;
mod completions;
mod emulator;
pub mod exit;
mod export;
mod import;
mod init;
mod pins;
mod plan;
mod preview;
mod report;
mod schema;
pub(crate) mod settings;
mod status;
mod validate;

use crate::cli::{Cli, Command};
use crate::commands::exit::ExitStatus;

/// Runs the subcommand named on the command line.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Validate(args) => validate::run(&cli.global, args).await,
        Command::Schema => schema::run(),
        Command::Completions(args) => completions::run(args),
        Command::Init(args) => init::run(&cli.global, args).await,
        Command::Export(args) => export::run(&cli.global, args),
        Command::Emulator(args) => emulator::run(args).await,
        Command::Plan(args) => plan::run(&cli.global, args).await,
        Command::Apply(args) => apply::run(&cli.global, args).await,
        Command::Status(args) => status::run(&cli.global, args),
        Command::Preview(args) => preview::run(&cli.global, args),
        Command::Auth(command) => auth::run(&cli.global, command).await,
        Command::Boards(command) => boards::run(&cli.global, command).await,
        Command::Sections(command) => boards::run_sections(&cli.global, command).await,
        Command::Pins(command) => pins::run(&cli.global, command).await,
        Command::Import(args) => import::run(&cli.global, args).await,
        Command::Report(args) => report::run(&cli.global, args).await,
    }
}
