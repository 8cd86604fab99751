//! Terminal output: logging setup and (later) progress bars; the only module that knows about terminals.

use std::io::IsTerminal;

use crate::cli::{ColorChoice, GlobalArgs};

/// Whether to colour what goes to stderr: `--color always|never`, or with `auto` when stderr
/// is a terminal and `NO_COLOR` is unset or empty (see <https://no-color.org>).
pub fn stderr_color(global: &GlobalArgs) -> bool {
    match global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

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

pub(crate) mod links;
pub(crate) mod reporter;
