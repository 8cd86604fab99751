//! pinbatch: publish Pinterest Pins in bulk from a spreadsheet, CSV or YAML manifest.
//!
//! The library holds everything; `main.rs` only parses the command line and calls [`run`], so
//! integration tests and benchmarks can drive the same code in-process.
//! Dependencies point one way: `commands` -> `{settings, ui}` -> `{manifest, api, state, progress}`.

pub mod api;
mod apply;
mod atomic;
pub mod cli;
mod commands;
mod credentials;
pub mod exit;
mod export;
mod import;
mod linkcheck;
pub mod manifest;
mod output;
pub mod plan;
mod preview;
mod progress;
mod resolve;
mod scaffold;
mod settings;
pub mod state;
mod template;
pub mod ui;
mod walk;

use exit::ExitStatus;

/// Runs one parsed command line and returns how it ended. Fatal errors are printed here.
pub async fn run(cli: cli::Cli) -> ExitStatus {
    match commands::dispatch(cli).await {
        Ok(status) => status,
        Err(err) => exit::report_error(&err),
    }
}
