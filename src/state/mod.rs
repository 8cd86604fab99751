//! The crash-safe state file: an append-only, fsynced log of what was attempted and what came of
//! it, per pin key, that `apply` replays to resume and never to create a pin twice.
//!
//! Format: JSON Lines. The first line is a [`Header`] (format version, lineage, API origin,
//! account); every later line is one [`Record`]. A record is written and fsynced before the action
//! it announces is taken (write-ahead), so a `kill -9` at any instant leaves a file that loads:
//! at worst its last line is torn, and a torn last line is ignored. A damaged line anywhere else is
//! an error, never a silent fresh start. The file is only ever appended to, or replaced whole by a
//! temp-file + fsync + rename (compaction); it is never truncated in place.
//!
//! One run at a time: `StateFile::open` takes an exclusive OS lock on `<state>.lock` and writes
//! who holds it into that file, so that a second run can say who has it.
//!
//! Beside it, [`analytics`] keeps the daily numbers `report --metrics` read, as a cache.
//!
//! May use `fs` and `epoch` (leaves); nothing above it.

pub mod analytics;
mod compaction;
mod journal;
mod lock;
mod records;

use std::io;
use std::path::PathBuf;

pub(crate) use journal::StateFile;
pub use journal::{StateSnapshot, default_state_path, load};
pub use records::{
    AccountHold, Ends, Fingerprint, Header, HeaderTag, InFlight, Operation, PinState, PinStatus,
    Record,
};

/// The version of the state format this build reads and writes.
pub const STATE_FORMAT_VERSION: u32 = 1;

/// Errors of the state file. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading, writing or syncing failed.
    #[error("Cannot {action} state file `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A line other than a torn last one cannot be read.
    #[error(
        "State file `{}` is damaged at line {line}: {reason}. It was left untouched; restore it from `{}.backup` if that exists, or move it away to start over (pins it recorded would then be created again)",
        path.display(),
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Written by a newer pinbatch.
    #[error("State file `{}` has format version {version}, newer than this pinbatch understands ({STATE_FORMAT_VERSION}); upgrade pinbatch", path.display())]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// Its version.
        version: u32,
    },
    /// Another run holds the lock.
    #[error("State file `{}` is in use by another pinbatch run ({holder})", path.display())]
    Locked {
        /// The state file.
        path: PathBuf,
        /// Who holds it, as recorded in the lock file.
        holder: String,
    },
    /// The state belongs to another API origin.
    #[error("State file `{}` belongs to {recorded}, not {current}", path.display())]
    WrongOrigin {
        /// The state file.
        path: PathBuf,
        /// Origin in the file.
        recorded: String,
        /// Origin of this run.
        current: String,
    },
    /// The state belongs to another account.
    #[error("State file `{}` belongs to account `{recorded}`, but the token is for `{current}`", path.display())]
    WrongAccount {
        /// The state file.
        path: PathBuf,
        /// Account in the file.
        recorded: String,
        /// Account of the token.
        current: String,
    },
}

fn new_lineage() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

#[cfg(test)]
mod tests;
