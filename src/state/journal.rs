//! The log itself: replayed into a [`StateSnapshot`], read without a lock for `plan` and
//! `status`, and opened locked as a [`StateFile`] that records are appended to and fsynced.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::compaction::{self, COMPACT_RECORDS_PER_KEY};
use super::lock::StateLock;
use super::records::{AccountHold, Header, HeaderTag, PinState, Record};
use super::{STATE_FORMAT_VERSION, StateError, new_lineage};

/// The replayed content of a state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSnapshot {
    /// The header.
    pub header: Header,
    /// Per key, in key order.
    pub pins: BTreeMap<String, PinState>,
    /// How many records the log holds (to decide on compaction).
    pub records: usize,
    /// Whether the last line was torn (a crash mid-write) and ignored.
    pub torn_tail: bool,
    /// The last refusal of the account's writes, if any (it may have expired).
    pub hold: Option<AccountHold>,
}

impl StateSnapshot {
    /// An empty state for a new file.
    pub fn new(origin: &str) -> StateSnapshot {
        StateSnapshot {
            header: Header {
                kind: HeaderTag::Header,
                version: STATE_FORMAT_VERSION,
                lineage: new_lineage(),
                origin: origin.to_owned(),
                account: None,
                username: None,
                created_ms: crate::epoch::now_ms(),
            },
            pins: BTreeMap::new(),
            records: 0,
            torn_tail: false,
            hold: None,
        }
    }

    /// The state of one key, if it was ever recorded.
    pub fn pin(&self, key: &str) -> Option<&PinState> {
        self.pins.get(key)
    }

    /// Applies one record in memory.
    pub fn apply(&mut self, record: &Record) {
        self.records += 1;
        if let Record::Account { account, username } = record {
            self.header.account = Some(account.clone());
            self.header.username = Some(username.clone());
            return;
        }
        if let Record::Hold {
            until_ms,
            reason,
            at_ms,
        } = record
        {
            self.hold = Some(AccountHold {
                until_ms: *until_ms,
                reason: reason.clone(),
                at_ms: *at_ms,
            });
            return;
        }
        if let Some(key) = record.key() {
            self.pins.entry(key.to_owned()).or_default().apply(record);
        }
    }

    /// Parses a whole state file's bytes.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<StateSnapshot, StateError> {
        let text = std::str::from_utf8(bytes).map_err(|err| StateError::Corrupt {
            path: path.to_owned(),
            line: line_of_offset(bytes, err.valid_up_to()),
            reason: "the file is not UTF-8 text".to_owned(),
        })?;
        let ends_with_newline = text.ends_with('\n');
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        let Some(first) = lines.first() else {
            return Err(StateError::Corrupt {
                path: path.to_owned(),
                line: 1,
                reason: "the file is empty (no header line)".to_owned(),
            });
        };
        let header: Header = serde_json::from_str(first).map_err(|err| StateError::Corrupt {
            path: path.to_owned(),
            line: 1,
            reason: format!("the header line cannot be read: {err}"),
        })?;
        if header.version > STATE_FORMAT_VERSION {
            return Err(StateError::NewerFormat {
                path: path.to_owned(),
                version: header.version,
            });
        }
        let mut snapshot = StateSnapshot {
            header,
            pins: BTreeMap::new(),
            records: 0,
            torn_tail: false,
            hold: None,
        };
        let last = lines.len() - 1;
        for (index, line) in lines.iter().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Record>(line) {
                Ok(record) => snapshot.apply(&record),
                // A crash mid-append leaves a partial last line with no newline: that record
                // was never acknowledged, so its action was never taken. Ignore it.
                Err(_) if index == last && !ends_with_newline => snapshot.torn_tail = true,
                Err(err) => {
                    return Err(StateError::Corrupt {
                        path: path.to_owned(),
                        line: index + 1,
                        reason: err.to_string(),
                    });
                }
            }
        }
        Ok(snapshot)
    }
}

fn line_of_offset(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The default state path: beside the manifest, named after it (`pins.yaml` -> `pins.yaml.state`).
pub fn default_state_path(manifest: &Path) -> PathBuf {
    let mut name = manifest
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    name.push(".state");
    manifest.with_file_name(name)
}

/// Reads a state file without locking or creating anything (for `plan` and `status`).
/// `Ok(None)` when the file does not exist.
pub fn load(path: &Path) -> Result<Option<StateSnapshot>, StateError> {
    match fs::read(path) {
        Ok(bytes) => StateSnapshot::parse(path, &bytes).map(Some),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Io {
            action: "read",
            path: path.to_owned(),
            source,
        }),
    }
}

/// An open, locked state file that records are appended to.
#[derive(Debug)]
pub(crate) struct StateFile {
    path: PathBuf,
    pub(super) file: File,
    snapshot: StateSnapshot,
    /// Set once an append failed: that append may have left a partial line at the end, which
    /// is harmless as the last line but would become a damaged middle line if anything were
    /// appended after it (a disk that frees a little space again), so nothing more is written.
    failed: Option<String>,
    _lock: StateLock,
}

impl StateFile {
    /// Locks and opens the state at `path` for a run against `origin`, creating it if missing.
    ///
    /// Refuses a state recorded for another origin. Compacts the log (temp + fsync + rename, the
    /// previous file kept as `.backup`) when it has grown long or ends in a torn line.
    pub fn open(path: &Path, origin: &str) -> Result<StateFile, StateError> {
        let lock = StateLock::acquire(path)?;
        let snapshot = match load(path)? {
            Some(snapshot) => {
                if snapshot.header.origin != origin {
                    return Err(StateError::WrongOrigin {
                        path: path.to_owned(),
                        recorded: snapshot.header.origin,
                        current: origin.to_owned(),
                    });
                }
                let long =
                    snapshot.records > COMPACT_RECORDS_PER_KEY * snapshot.pins.len().max(1) + 1000;
                if long || snapshot.torn_tail {
                    compaction::rewrite(path, &snapshot, true)?;
                }
                snapshot
            }
            None => {
                let snapshot = StateSnapshot::new(origin);
                compaction::rewrite(path, &snapshot, false)?;
                snapshot
            }
        };
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|source| StateError::Io {
                action: "open",
                path: path.to_owned(),
                source,
            })?;
        Ok(StateFile {
            path: path.to_owned(),
            file,
            snapshot,
            failed: None,
            _lock: lock,
        })
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the state knows now (including every record appended so far).
    pub fn snapshot(&self) -> &StateSnapshot {
        &self.snapshot
    }

    /// Records the account the token belongs to, or refuses if the state belongs to another one.
    pub fn check_account(&mut self, account: &str, username: &str) -> Result<(), StateError> {
        match &self.snapshot.header.account {
            Some(recorded) if recorded == account => Ok(()),
            Some(recorded) => Err(StateError::WrongAccount {
                path: self.path.clone(),
                recorded: match &self.snapshot.header.username {
                    Some(name) => format!("{name} ({recorded})"),
                    None => recorded.clone(),
                },
                current: format!("{username} ({account})"),
            }),
            None => self.append(&[Record::Account {
                account: account.to_owned(),
                username: username.to_owned(),
            }]),
        }
    }

    /// Appends records and makes them durable (one write, one fsync) before returning.
    pub fn append(&mut self, records: &[Record]) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        if let Some(reason) = &self.failed {
            return Err(StateError::Io {
                action: "write",
                path: self.path.clone(),
                source: io::Error::other(format!("an earlier write failed: {reason}")),
            });
        }
        let mut buffer = Vec::with_capacity(records.len() * 160);
        for record in records {
            serde_json::to_writer(&mut buffer, record).map_err(|err| StateError::Io {
                action: "encode a record for",
                path: self.path.clone(),
                source: io::Error::other(err),
            })?;
            buffer.push(b'\n');
        }
        if let Err(source) = self
            .file
            .write_all(&buffer)
            .and_then(|()| self.file.sync_data())
        {
            self.failed = Some(source.to_string());
            return Err(StateError::Io {
                action: "write",
                path: self.path.clone(),
                source,
            });
        }
        for record in records {
            self.snapshot.apply(record);
        }
        Ok(())
    }
}
