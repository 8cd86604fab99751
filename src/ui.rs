//! Terminal output: logging setup and (later) progress bars; the only module that knows about terminals.

use crate::cli::GlobalArgs;

/// Installs the tracing subscriber on stderr; `-v` shows info, `-vv` debug. Quiet shows errors only.
pub fn init_logging(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PINBATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("pinbatch={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

pub mod report;
pub mod reporter;
