//! Process exit codes, as documented in the README and `--help`, and the one place fatal errors are printed.

use std::process::ExitCode;

/// How a command ended; converted into the process exit code in `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything asked for was done (warnings allowed). Exit code 0.
    Success,
    /// The work did not complete: invalid manifest, some pins failed, state locked. Exit code 1.
    Failure,
    /// The command line was wrong. Exit code 2 (clap uses the same code for its own errors).
    Usage,
    /// Authentication or configuration problem: no token, 401 after refresh, wrong environment. Exit code 3.
    Auth,
    /// Interrupted by Ctrl-C. Exit code 130.
    Interrupted,
}

impl ExitStatus {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Auth => 3,
            ExitStatus::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// An error that carries the exit status it should end the process with.
///
/// Commands return `anyhow::Error`; wrapping a cause in `Fatal` picks an exit code other than
/// the default 1 (for example 3 for a missing token) without losing the cause chain.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Fatal {
    /// The exit status to use.
    pub status: ExitStatus,
    /// The top-level message.
    pub message: String,
    /// An optional `hint:` line printed after the error chain.
    pub hint: Option<String>,
}

impl Fatal {
    /// A fatal error with the given status and message.
    pub fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        Fatal {
            status,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a `hint:` line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Prints `error: ...` with one indented `Caused by:` line per cause, then any hints, to stderr,
/// and returns the exit status the error asks for (1 unless a [`Fatal`] in the chain says otherwise).
pub(crate) fn report_error(err: &anyhow::Error) -> ExitStatus {
    let mut status = ExitStatus::Failure;
    let mut hints = Vec::new();
    for cause in err.chain() {
        if let Some(fatal) = cause.downcast_ref::<Fatal>() {
            status = fatal.status;
            if let Some(hint) = &fatal.hint {
                hints.push(hint.clone());
            }
        }
    }
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  Caused by: {cause}");
    }
    for hint in hints {
        eprintln!("hint: {hint}");
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_documented_contract() {
        assert_eq!(ExitStatus::Success.code(), 0);
        assert_eq!(ExitStatus::Failure.code(), 1);
        assert_eq!(ExitStatus::Usage.code(), 2);
        assert_eq!(ExitStatus::Auth.code(), 3);
        assert_eq!(ExitStatus::Interrupted.code(), 130);
    }

    #[test]
    fn fatal_in_the_chain_picks_the_status() {
        let err = anyhow::Error::new(Fatal::new(ExitStatus::Auth, "no token"))
            .context("cannot list boards");
        assert_eq!(report_error(&err), ExitStatus::Auth);
    }
}
