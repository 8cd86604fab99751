//! pinbatch: publish Pinterest Pins in bulk from a spreadsheet, CSV or YAML manifest.
//!
//! The library holds everything; `main.rs` only parses the command line and calls [`run`], so
//! integration tests and benchmarks can drive the same code in-process.
//!
//! The folders follow a pin through the pipeline, and imports only point down this list:
//! - `commands`: one module per subcommand, the settings resolved from the command line, exit codes;
//! - `cli`: the command line as clap types, data only;
//! - `ui`: the terminal (logging, progress bars, the link check's bar);
//! - `render`: files made for people (preview page, bulk-create CSV export, workbook template,
//!   `--report`, `pinbatch report`'s results);
//! - `apply`: the executor, reconciliation, matching of existing pins for `import`;
//! - `plan`: boards resolved to ids, then the pure planner;
//! - `linkcheck`: media links checked before any write;
//! - `auth`: access-token sources and the token store;
//! - `api`: the Pinterest API v5 client (wire types, retries, rate gate and ledger, clock);
//! - `state`: the crash-safe state file;
//! - `manifest`: reading and checking manifests, and `init`'s scaffold;
//! - `fs`: the one atomic write, the one directory walker, paths in generated files.

pub mod api;
mod apply;
mod auth;
pub mod cli;
mod commands;
pub mod epoch;
mod fs;
mod linkcheck;
pub mod manifest;
pub mod plan;
mod render;
mod secret;
pub mod state;
pub mod ui;

pub use commands::exit;

use exit::ExitStatus;

/// Runs one parsed command line and returns how it ended. Fatal errors are printed here.
pub async fn run(cli: cli::Cli) -> ExitStatus {
    match commands::dispatch(cli).await {
        Ok(status) => status,
        Err(err) => exit::report_error(&err),
    }
}
