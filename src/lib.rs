//! pinbatch: publish Pinterest Pins in bulk from a spreadsheet, CSV or YAML manifest.
//!
//! The library holds everything; `main.rs` only parses the command line and calls [`run`], so
//! integration tests and benchmarks can drive the same code in-process.
//! Dependencies point one way: `commands` -> `{settings, ui}` -> `{manifest, api, state, progress}`.

pub mod api;
pub mod apply;
pub mod cli;
pub mod commands;
pub mod credentials;
pub mod emulator;
pub mod exit;
pub mod export;
pub mod linkcheck;
pub mod manifest;
pub mod output;
pub mod plan;
pub mod preview;
pub mod progress;
pub mod resolve;
pub mod scaffold;
pub mod settings;
pub mod state;
pub mod template;
pub mod ui;

use exit::ExitStatus;

/// Runs one parsed command line and returns how it ended. Fatal errors are printed here.
pub async fn run(cli: cli::Cli) -> ExitStatus {
    match commands::dispatch(cli).await {
        Ok(status) => status,
        Err(err) => exit::report_error(&err),
    }
}
