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
//! One run at a time: [`StateFile::open`] takes an exclusive OS lock on `<state>.lock` and writes
//! who holds it into that file, so that a second run can say who has it.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The version of the state format this build reads and writes.
pub(crate) const STATE_FORMAT_VERSION: u32 = 1;

/// Rewrite the log as a compact snapshot when it holds more than this many records per key.
const COMPACT_RECORDS_PER_KEY: usize = 4;

/// The first line of a state file: what history and which account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `"header"`; lets a reader recognise the file.
    #[serde(rename = "type")]
    pub kind: HeaderTag,
    /// [`STATE_FORMAT_VERSION`] of the writer.
    pub version: u32,
    /// A random id fixed when the file was first created; survives compaction.
    pub lineage: String,
    /// The API origin the pins were created on (for example `https://api.pinterest.com`).
    pub origin: String,
    /// The account (user id) the pins belong to, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The account's username, for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// When the file was first created, in milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// The tag of the header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderTag {
    /// The only value.
    Header,
}

/// A content fingerprint of a pin, split so the planner can tell what changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Title, description, link, alt text, dominant colour.
    pub text: String,
    /// Board and section.
    pub placement: String,
    /// Media references (and local file sizes).
    pub media: String,
    /// What a board listing shows of the pin and reconciliation matches on: title, description,
    /// link and media kind. Empty in states written before it was recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity: String,
}

/// What an attempt was trying to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `POST /v5/pins`.
    Create,
    /// `PATCH /v5/pins/{id}`.
    Update,
    /// Delete the old pin, then create the new one.
    Replace,
    /// `DELETE /v5/pins/{id}` of an orphan.
    Delete,
}

/// One line of the log after the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// The account the state belongs to became known.
    Account {
        /// User id.
        account: String,
        /// Username.
        username: String,
    },
    /// About to send a request whose effect must not be repeated blindly.
    Attempt {
        /// Pin key.
        key: String,
        /// What is being tried.
        op: Operation,
        /// When the attempt began, by this machine's clock (ms since epoch).
        started_ms: i64,
        /// The earliest the server's clock can have read when the attempt began, estimated from
        /// its `Date` headers (ms since epoch): a pin found later on the board and created no
        /// earlier than this may be the result of this attempt. `None` when no estimate existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_started_ms: Option<i64>,
        /// The content being sent.
        fingerprint: Fingerprint,
        /// Resolved board id.
        board_id: String,
        /// Resolved section id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        section_id: Option<String>,
    },
    /// A video upload was registered; the media id is kept so it is not uploaded twice.
    Media {
        /// Pin key.
        key: String,
        /// The media id from `POST /v5/media`.
        media_id: String,
        /// The upload finished (the file was sent).
        uploaded: bool,
    },
    /// The pin exists with this content (created, adopted after an unknown outcome, or updated).
    Done {
        /// Pin key.
        key: String,
        /// Pinterest's pin id.
        pin_id: String,
        /// The board it is on.
        board_id: String,
        /// The section it is in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        section_id: Option<String>,
        /// The content it has.
        fingerprint: Fingerprint,
        /// Found on the board after an attempt of unknown outcome rather than confirmed by a response.
        #[serde(default, skip_serializing_if = "is_false")]
        adopted: bool,
        /// When (ms since epoch).
        at_ms: i64,
    },
    /// A create was sent but whether it created the pin is still unknown (its retries ran out,
    /// the listing could not be read, or the run stopped while it settled). The attempt stays
    /// in flight: the next run looks for the pin before anything else for this key.
    Unknown {
        /// Pin key.
        key: String,
        /// The last error, as shown to the user.
        error: String,
        /// When the outcome was last known to be unknown (ms since epoch): the settle window of
        /// the next look at the listing starts here.
        at_ms: i64,
    },
    /// The announced attempt had no effect: the run stopped while it waited for a request slot,
    /// or the server refused it because the account's quota was used up. It is no longer in
    /// flight.
    Unsent {
        /// Pin key.
        key: String,
    },
    /// Everything the state knows about one key at once: what compaction writes.
    Pin {
        /// Pin key.
        key: String,
        /// The whole state of the key.
        state: Box<PinState>,
    },
    /// The attempt failed for sure (the server answered with an error): nothing was created.
    Failed {
        /// Pin key.
        key: String,
        /// The error, as shown to the user (never containing a token).
        error: String,
        /// When (ms since epoch).
        at_ms: i64,
    },
    /// The pin was deleted (an orphan pruned, or the old pin of a replace).
    Deleted {
        /// Pin key.
        key: String,
        /// When (ms since epoch).
        at_ms: i64,
    },
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Record {
    fn key(&self) -> Option<&str> {
        match self {
            Record::Account { .. } => None,
            Record::Attempt { key, .. }
            | Record::Media { key, .. }
            | Record::Done { key, .. }
            | Record::Unknown { key, .. }
            | Record::Unsent { key }
            | Record::Pin { key, .. }
            | Record::Failed { key, .. }
            | Record::Deleted { key, .. } => Some(key),
        }
    }
}

/// Where a pin stands according to the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinStatus {
    /// Never attempted, or only failed attempts before anything existed.
    Pending,
    /// Exists on Pinterest with the recorded fingerprint.
    Done,
    /// The last attempt failed; nothing from it exists.
    Failed,
    /// Was deleted.
    Deleted,
}

/// An attempt whose outcome was never recorded: the process stopped (or lost the connection)
/// after it announced the request. The pin may or may not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// What was tried.
    pub op: Operation,
    /// When it began, by this machine's clock (ms since epoch).
    pub started_ms: i64,
    /// The earliest server time at which it began, when the server's clock was estimated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_started_ms: Option<i64>,
    /// When its outcome was last found unknown (ms since epoch); `None` when the process
    /// stopped before it learnt anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_ms: Option<i64>,
    /// The content that was being sent.
    pub fingerprint: Fingerprint,
    /// Board id it was sent to.
    pub board_id: String,
    /// Section id it was sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_id: Option<String>,
}

/// Everything the state knows about one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinState {
    /// Current status.
    pub status: PinStatus,
    /// Pinterest's pin id, while the pin exists.
    pub pin_id: Option<String>,
    /// Board id of the existing pin.
    pub board_id: Option<String>,
    /// Section id of the existing pin.
    pub section_id: Option<String>,
    /// Registered video media id, if any.
    pub media_id: Option<String>,
    /// Whether that media's file was uploaded.
    pub media_uploaded: bool,
    /// The content of the existing pin.
    pub fingerprint: Option<Fingerprint>,
    /// Attempts made so far, over all runs.
    pub attempts: u32,
    /// The last error, when the last attempt failed or its outcome is unknown.
    pub last_error: Option<String>,
    /// An attempt of unknown outcome, to reconcile before anything else.
    pub in_flight: Option<InFlight>,
    /// Whether the pin was found on its board after an attempt of unknown outcome (adopted)
    /// rather than confirmed by a response.
    #[serde(default)]
    pub adopted: bool,
    /// Last change (ms since epoch).
    pub updated_ms: i64,
}

impl PinState {
    /// The state of a key never recorded.
    pub fn new() -> PinState {
        PinState {
            status: PinStatus::Pending,
            pin_id: None,
            board_id: None,
            section_id: None,
            media_id: None,
            media_uploaded: false,
            fingerprint: None,
            attempts: 0,
            last_error: None,
            in_flight: None,
            adopted: false,
            updated_ms: 0,
        }
    }

    /// Whether the outcome of an attempt is unknown: the pin may or may not exist.
    pub fn is_unknown(&self) -> bool {
        self.in_flight.is_some()
    }

    fn apply(&mut self, record: &Record) {
        match record {
            Record::Account { .. } => {}
            Record::Attempt {
                op,
                started_ms,
                server_started_ms,
                fingerprint,
                board_id,
                section_id,
                ..
            } => {
                self.attempts += 1;
                self.in_flight = Some(InFlight {
                    op: *op,
                    started_ms: *started_ms,
                    server_started_ms: *server_started_ms,
                    ended_ms: None,
                    fingerprint: fingerprint.clone(),
                    board_id: board_id.clone(),
                    section_id: section_id.clone(),
                });
                self.updated_ms = *started_ms;
            }
            Record::Media {
                media_id, uploaded, ..
            } => {
                self.media_id = Some(media_id.clone());
                self.media_uploaded = *uploaded;
            }
            Record::Done {
                pin_id,
                board_id,
                section_id,
                fingerprint,
                adopted,
                at_ms,
                ..
            } => {
                self.status = PinStatus::Done;
                self.pin_id = Some(pin_id.clone());
                self.board_id = Some(board_id.clone());
                self.section_id = section_id.clone();
                self.fingerprint = Some(fingerprint.clone());
                self.last_error = None;
                self.in_flight = None;
                self.adopted = *adopted;
                self.updated_ms = *at_ms;
            }
            Record::Unknown { error, at_ms, .. } => {
                self.last_error = Some(error.clone());
                if let Some(in_flight) = &mut self.in_flight {
                    in_flight.ended_ms = Some(*at_ms);
                }
                self.updated_ms = *at_ms;
            }
            Record::Unsent { .. } => {
                self.attempts = self.attempts.saturating_sub(1);
                self.in_flight = None;
            }
            Record::Pin { state, .. } => *self = (**state).clone(),
            Record::Failed { error, at_ms, .. } => {
                // A failed update or replace leaves the old pin as it was.
                if self.status != PinStatus::Done {
                    self.status = PinStatus::Failed;
                }
                self.last_error = Some(error.clone());
                self.in_flight = None;
                self.updated_ms = *at_ms;
            }
            Record::Deleted { at_ms, .. } => {
                self.status = PinStatus::Deleted;
                self.pin_id = None;
                self.fingerprint = None;
                self.media_id = None;
                self.media_uploaded = false;
                self.in_flight = None;
                self.adopted = false;
                self.updated_ms = *at_ms;
            }
        }
    }
}

impl Default for PinState {
    fn default() -> Self {
        PinState::new()
    }
}

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
                created_ms: now_ms(),
            },
            pins: BTreeMap::new(),
            records: 0,
            torn_tail: false,
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

    fn compact_records(&self) -> Vec<Record> {
        let mut records = Vec::new();
        if let (Some(account), Some(username)) = (&self.header.account, &self.header.username) {
            records.push(Record::Account {
                account: account.clone(),
                username: username.clone(),
            });
        }
        records.extend(self.pins.iter().map(|(key, pin)| Record::Pin {
            key: key.clone(),
            state: Box::new(pin.clone()),
        }));
        records
    }
}

fn line_of_offset(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

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
    file: File,
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
                    rewrite(path, &snapshot, true)?;
                }
                snapshot
            }
            None => {
                let snapshot = StateSnapshot::new(origin);
                rewrite(path, &snapshot, false)?;
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

/// Writes `snapshot` as a fresh compact file (see [`crate::fs::atomic`]), keeping the previous file
/// as `.backup` when `keep_backup`.
fn rewrite(path: &Path, snapshot: &StateSnapshot, keep_backup: bool) -> Result<(), StateError> {
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

/// The exclusive lock on a state file, held while the value lives.
#[derive(Debug)]
struct StateLock {
    _file: File,
}

/// What the lock file says about its holder.
#[derive(Debug, Serialize, Deserialize)]
struct LockInfo {
    pid: u32,
    since_ms: i64,
}

impl StateLock {
    fn acquire(state_path: &Path) -> Result<StateLock, StateError> {
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
            since_ms: now_ms(),
        };
        let _ = file
            .set_len(0)
            .and_then(|()| file.write_all(&serde_json::to_vec(&info).unwrap_or_default()));
        Ok(StateLock { _file: file })
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn new_lineage() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(text: &str) -> Fingerprint {
        Fingerprint {
            text: text.to_owned(),
            placement: "p".to_owned(),
            media: "m".to_owned(),
            identity: "i".to_owned(),
        }
    }

    fn attempt(key: &str) -> Record {
        Record::Attempt {
            key: key.to_owned(),
            op: Operation::Create,
            started_ms: 1000,
            server_started_ms: Some(1200),
            fingerprint: fingerprint("t"),
            board_id: "1".to_owned(),
            section_id: None,
        }
    }

    fn done(key: &str, pin: &str) -> Record {
        Record::Done {
            key: key.to_owned(),
            pin_id: pin.to_owned(),
            board_id: "1".to_owned(),
            section_id: None,
            fingerprint: fingerprint("t"),
            adopted: false,
            at_ms: 2000,
        }
    }

    #[test]
    fn nothing_is_appended_after_a_failed_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.state");
        let mut state = StateFile::open(&path, "o").unwrap();
        state.append(&[done("a", "11")]).unwrap();
        let writable = std::mem::replace(&mut state.file, File::open(&path).unwrap());
        assert!(state.append(&[attempt("b")]).is_err());
        state.file = writable;
        let err = state.append(&[attempt("c")]).unwrap_err();
        assert!(err.to_string().contains("m.state"), "{err}");
        drop(state);
        let snapshot = load(&path).unwrap().unwrap();
        assert_eq!(
            snapshot.pins.len(),
            1,
            "only the record written before the failure"
        );
    }

    #[test]
    fn default_path_sits_beside_the_manifest() {
        assert_eq!(
            default_state_path(Path::new("dir/pins.yaml")),
            PathBuf::from("dir/pins.yaml.state")
        );
    }

    #[test]
    fn records_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.state");
        {
            let mut state = StateFile::open(&path, "http://127.0.0.1:1").unwrap();
            state
                .append(&[attempt("a"), done("a", "11"), attempt("b")])
                .unwrap();
        }
        let snapshot = load(&path).unwrap().unwrap();
        let a = snapshot.pin("a").unwrap();
        assert_eq!(a.status, PinStatus::Done);
        assert_eq!(a.pin_id.as_deref(), Some("11"));
        assert_eq!(a.attempts, 1);
        let b = snapshot.pin("b").unwrap();
        assert_eq!(b.status, PinStatus::Pending);
        assert!(
            b.in_flight.is_some(),
            "an attempt with no outcome is in flight"
        );
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_repaired_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.state");
        {
            let mut state = StateFile::open(&path, "o").unwrap();
            state.append(&[done("a", "11")]).unwrap();
        }
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(br#"{"type":"done","key":"b","pin"#);
        fs::write(&path, &bytes).unwrap();
        let snapshot = load(&path).unwrap().unwrap();
        assert!(snapshot.torn_tail);
        assert!(snapshot.pin("b").is_none());
        let mut state = StateFile::open(&path, "o").unwrap();
        state.append(&[done("c", "12")]).unwrap();
        drop(state);
        let snapshot = load(&path).unwrap().unwrap();
        assert!(!snapshot.torn_tail);
        assert_eq!(snapshot.pins.len(), 2);
    }

    #[test]
    fn a_damaged_middle_line_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.state");
        {
            let mut state = StateFile::open(&path, "o").unwrap();
            state.append(&[done("a", "11"), done("b", "12")]).unwrap();
        }
        let text = fs::read_to_string(&path)
            .unwrap()
            .replacen("\"b\"", "\"b", 1);
        fs::write(&path, text).unwrap();
        let err = StateFile::open(&path, "o").unwrap_err();
        assert!(matches!(err, StateError::Corrupt { line: 3, .. }), "{err}");
        assert!(err.to_string().contains("line 3"));
    }

    #[test]
    fn another_origin_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.state");
        drop(StateFile::open(&path, "https://api-sandbox.pinterest.com").unwrap());
        let err = StateFile::open(&path, "https://api.pinterest.com").unwrap_err();
        assert!(matches!(err, StateError::WrongOrigin { .. }));
    }

    #[test]
    fn another_account_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.state");
        {
            let mut state = StateFile::open(&path, "o").unwrap();
            state.check_account("1", "alice").unwrap();
        }
        let mut state = StateFile::open(&path, "o").unwrap();
        state.check_account("1", "alice").unwrap();
        let err = state.check_account("2", "bob").unwrap_err();
        assert!(err.to_string().contains("alice"), "{err}");
    }

    #[test]
    fn a_second_open_is_refused_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.state");
        let _first = StateFile::open(&path, "o").unwrap();
        let err = StateFile::open(&path, "o").unwrap_err();
        assert!(matches!(err, StateError::Locked { .. }));
        assert!(
            err.to_string().contains(&std::process::id().to_string()),
            "{err}"
        );
    }

    #[test]
    fn compaction_keeps_every_field_of_every_pin_and_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.state");
        {
            let mut state = StateFile::open(&path, "o").unwrap();
            state.check_account("1", "alice").unwrap();
            for _ in 0..700 {
                state.append(&[attempt("a"), done("a", "11")]).unwrap();
            }
            // A failed update leaves the pin done, with its error.
            state
                .append(&[
                    attempt("a"),
                    Record::Failed {
                        key: "a".to_owned(),
                        error: "PATCH refused".to_owned(),
                        at_ms: 3000,
                    },
                ])
                .unwrap();
            // An unknown outcome after its retries ran out.
            state
                .append(&[
                    attempt("b"),
                    attempt("b"),
                    Record::Unknown {
                        key: "b".to_owned(),
                        error: "502 Bad Gateway".to_owned(),
                        at_ms: 4000,
                    },
                ])
                .unwrap();
            // A video uploaded, then its pin adopted.
            state
                .append(&[
                    Record::Media {
                        key: "c".to_owned(),
                        media_id: "77".to_owned(),
                        uploaded: true,
                    },
                    attempt("c"),
                    Record::Done {
                        key: "c".to_owned(),
                        pin_id: "13".to_owned(),
                        board_id: "1".to_owned(),
                        section_id: Some("5".to_owned()),
                        fingerprint: fingerprint("t"),
                        adopted: true,
                        at_ms: 5000,
                    },
                ])
                .unwrap();
            // Failed for sure, then deleted.
            state
                .append(&[
                    attempt("d"),
                    Record::Failed {
                        key: "d".to_owned(),
                        error: "400".to_owned(),
                        at_ms: 6000,
                    },
                    attempt("e"),
                    done("e", "14"),
                    Record::Deleted {
                        key: "e".to_owned(),
                        at_ms: 7000,
                    },
                ])
                .unwrap();
        }
        let before = load(&path).unwrap().unwrap();
        drop(StateFile::open(&path, "o").unwrap());
        let after = load(&path).unwrap().unwrap();
        assert!(after.records < 10, "{} records", after.records);
        assert_eq!(after.header, before.header);
        assert_eq!(after.pins, before.pins, "every field of every pin survives");
        assert_eq!(after.pin("a").unwrap().attempts, 701);
        assert!(after.pin("b").unwrap().is_unknown());
        assert!(dir.path().join("m.state.backup").exists());
    }

    #[test]
    fn an_unknown_outcome_stays_in_flight_and_an_unsent_attempt_does_not() {
        let mut snapshot = StateSnapshot::new("o");
        snapshot.apply(&attempt("a"));
        snapshot.apply(&Record::Unknown {
            key: "a".to_owned(),
            error: "timed out".to_owned(),
            at_ms: 9000,
        });
        let a = snapshot.pin("a").unwrap();
        assert_eq!(a.status, PinStatus::Pending);
        assert_eq!(a.in_flight.as_ref().unwrap().ended_ms, Some(9000));
        assert_eq!(a.last_error.as_deref(), Some("timed out"));
        snapshot.apply(&attempt("b"));
        snapshot.apply(&Record::Unsent {
            key: "b".to_owned(),
        });
        let b = snapshot.pin("b").unwrap();
        assert!(!b.is_unknown());
        assert_eq!(b.attempts, 0);
    }
}
