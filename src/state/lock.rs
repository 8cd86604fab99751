//! One run at a time: an exclusive OS lock on `<state>.lock`, with who holds it written into
//! that file so that a second run can say who has it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StateError;

/// The exclusive lock on a state file, held while the value lives.
#[derive(Debug)]
pub(super) struct StateLock {
    _file: File,
}

/// What the lock file says about its holder.
#[derive(Debug, Serialize, Deserialize)]
struct LockInfo {
    pid: u32,
    since_ms: i64,
}

impl StateLock {
    pub(super) fn acquire(state_path: &Path) -> Result<StateLock, StateError> {
        let mut lock_path = state_path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|source| StateError::Io {
                action: "create the lock file of",
                path: state_path.to_owned(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&lock_path)
                    .ok()
                    .and_then(|text| serde_json::from_str::<LockInfo>(&text).ok())
                    .map(|info| {
                        format!(
                            "process {} since {}",
                            info.pid,
                            jiff::Timestamp::from_millisecond(info.since_ms)
                                .map(|t| t.to_string())
                                .unwrap_or_else(|_| "an unknown time".to_owned())
                        )
                    })
                    .unwrap_or_else(|| "a process that did not say who it is".to_owned());
                return Err(StateError::Locked {
                    path: state_path.to_owned(),
                    holder: format!("{holder}; lock file `{}`", lock_path.display()),
                });
            }
            Err(fs::TryLockError::Error(source)) => {
                return Err(StateError::Io {
                    action: "lock",
                    path: state_path.to_owned(),
                    source,
                });
            }
        }
        // The lock file is not the state: rewriting it in place is harmless.
        let info = LockInfo {
            pid: std::process::id(),
            since_ms: crate::epoch::now_ms(),
        };
        let _ = file
            .set_len(0)
            .and_then(|()| file.write_all(&serde_json::to_vec(&info).unwrap_or_default()));
        Ok(StateLock { _file: file })
    }
}
