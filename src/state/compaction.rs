//! Compaction: when the log has grown long or ends in a torn line, it is replaced whole by one
//! [`Record::Pin`] per key (temp file + fsync + rename), the previous file kept as `.backup`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::StateError;
use super::journal::StateSnapshot;
use super::records::Record;

/// Rewrite the log as a compact snapshot when it holds more than this many records per key.
pub(super) const COMPACT_RECORDS_PER_KEY: usize = 4;

impl StateSnapshot {
    pub(super) fn compact_records(&self) -> Vec<Record> {
        let mut records = Vec::new();
        if let (Some(account), Some(username)) = (&self.header.account, &self.header.username) {
            records.push(Record::Account {
                account: account.clone(),
                username: username.clone(),
            });
        }
        if let Some(hold) = &self.hold {
            records.push(Record::Hold {
                until_ms: hold.until_ms,
                reason: hold.reason.clone(),
                at_ms: hold.at_ms,
            });
        }
        records.extend(self.pins.iter().map(|(key, pin)| Record::Pin {
            key: key.clone(),
            state: Box::new(pin.clone()),
        }));
        records
    }
}

/// Writes `snapshot` as a fresh compact file (see [`crate::fs::atomic`]), keeping the previous file
/// as `.backup` when `keep_backup`.
pub(super) fn rewrite(
    path: &Path,
    snapshot: &StateSnapshot,
    keep_backup: bool,
) -> Result<(), StateError> {
    let io_error = |action: &'static str| {
        let path = path.to_owned();
        move |source| StateError::Io {
            action,
            path,
            source,
        }
    };
    let mut buffer = serde_json::to_vec(&snapshot.header)
        .map_err(|err| io_error("encode")(io::Error::other(err)))?;
    buffer.push(b'\n');
    for record in snapshot.compact_records() {
        serde_json::to_writer(&mut buffer, &record)
            .map_err(|err| io_error("encode")(io::Error::other(err)))?;
        buffer.push(b'\n');
    }
    if keep_backup {
        let mut backup = path.as_os_str().to_owned();
        backup.push(".backup");
        fs::copy(path, PathBuf::from(backup)).map_err(io_error("back up"))?;
    }
    crate::fs::atomic::write(
        path,
        &buffer,
        crate::fs::atomic::Access::Shared,
        crate::fs::atomic::Existing::Replace,
    )
    .map_err(|err| match err {
        crate::fs::atomic::AtomicError::Io { source, .. } => io_error("replace")(source),
        other => io_error("replace")(io::Error::other(other.to_string())),
    })
}
