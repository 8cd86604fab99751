//! The terminal: logging, colour, progress bars and the lines `apply` prints. The only module
//! that draws on a terminal. May use the executor's, the link check's and the analytics
//! reading's progress events;
//! never the command line (the global flags arrive as a [`Terminal`]).

use std::io::IsTerminal;

/// When to colour what goes to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorWhen {
    /// When stderr is a terminal and `NO_COLOR` is unset or empty.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// What the user asked of the terminal (`-q`, `-v`, `--no-progress`, `--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    /// Print only errors.
    pub quiet: bool,
    /// How many times `-v` was given.
    pub verbose: u8,
    /// Never draw a progress bar.
    pub no_progress: bool,
    /// When to colour.
    pub color: ColorWhen,
}

impl Terminal {
    /// Whether to colour what goes to stderr: `--color always|never`, or with `auto` when stderr
    /// is a terminal and `NO_COLOR` is unset or empty (see <https://no-color.org>).
    pub fn stderr_color(self) -> bool {
        match self.color {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        }
    }

    /// Whether a progress bar may be drawn: on a terminal only, never with `-q`, `-v`,
    /// `--no-progress` or `NO_PROGRESS` set (a bar would interleave with the log lines).
    pub fn shows_progress(self) -> bool {
        std::io::stderr().is_terminal()
            && !self.no_progress
            && !self.quiet
            && self.verbose == 0
            && std::env::var_os("NO_PROGRESS").is_none()
    }
}

/// Installs the tracing subscriber on stderr; `-v` shows info, `-vv` debug. Quiet shows errors only.
pub fn init_logging(terminal: Terminal) {
    let level = match (terminal.quiet, terminal.verbose) {
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
pub(crate) mod metrics;
pub(crate) mod reporter;
