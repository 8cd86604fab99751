//! The rate-limit ledger: one small file in the config directory (`ratelimit.json`) through
//! which every pinbatch process writing to the same account shares that account's write
//! budget: the writes each let through recently, the budget the headers told, pauses after a
//! 429 and a quota used up. Each process reads and updates its entry under an exclusive lock
//! for every write it lets through, so together they stay within the budget and none starves.
//!
//! It is pacing state, not a record: it is rewritten in place without fsync (a crash loses at
//! most a few recent writes, which the server's headers then report), a file that cannot be
//! read counts as empty, and writes older than their window are dropped, so a crashed process never blocks a
//! later run.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// File name of the ledger inside the config directory.
pub const LEDGER_FILE: &str = "ratelimit.json";

/// Entries not updated for this long are dropped when the file is written.
const STALE_MS: i64 = 24 * 3600 * 1000;

/// How long writes are kept while no budget is known: long enough to reckon with them if the
/// headers tell one after all (they come with the first answer), and for another process to
/// see that writes are out (see the gate's `awaits_budget`).
const UNBUDGETED_KEEP: Duration = Duration::from_secs(10);

/// How long a write can matter under a budget `window` (two of them), or without one.
pub fn kept_for(window: Option<Duration>) -> Duration {
    window.map_or(UNBUDGETED_KEEP, |window| window.saturating_mul(2))
}

/// How long a process waits for the file's lock before it paces alone for this update: a
/// process holding it (stopped with Ctrl-Z mid-update, say) or a slow network disk must not
/// freeze the runs that share it.
const LOCK_DEADLINE: Duration = Duration::from_millis(250);

/// How far ahead a pause another process recorded may lie, and a write it booked (a write waits
/// for its turn, booked in the ledger, at most a window, and a window longer than the gate's
/// quota wait is a quota for the day), and a used-up quota: anything later is a clock that
/// stepped back or a hand-edited file, and is clamped.
const PAUSE_AHEAD_MAX_MS: i64 = 10 * 60 * 1000;
const SEND_AHEAD_MAX_MS: i64 = PAUSE_AHEAD_MAX_MS;
const QUOTA_AHEAD_MAX_MS: i64 = 25 * 3600 * 1000;

/// Writes kept beyond the budget's limit: as many as can be in flight (`-j` is at most 256).
const IN_FLIGHT_MAX: usize = 256;

/// How many of the latest writes can matter: with a budget of `limit`, the pacing looks at the
/// `limit`-th latest; the rest covers writes still in flight. Keeping no more than that keeps
/// each update of the file (and the gate's log) small however fast an unlimited server lets
/// writes through.
pub fn kept_sends(limit: Option<u64>) -> usize {
    usize::try_from(limit.unwrap_or(0))
        .unwrap_or(usize::MAX)
        .saturating_add(IN_FLIGHT_MAX)
}

/// One write let through by some process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSend {
    /// When it started, Unix milliseconds.
    pub at_ms: i64,
    /// The process that sent it.
    pub pid: u32,
}

/// The shared budget of one account on one API origin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Writes allowed per window, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// The window, milliseconds, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<u64>,
    /// Recent writes of every process.
    #[serde(default)]
    pub sends: Vec<LedgerSend>,
    /// No write before this (a 429's pause), Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_until_ms: Option<i64>,
    /// A quota used up until this moment, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhausted_until_ms: Option<i64>,
    /// When that was found, Unix milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhausted_seen_ms: Option<i64>,
    /// Last update, Unix milliseconds.
    #[serde(default)]
    pub updated_ms: i64,
}

impl LedgerEntry {
    /// How long `writes` writes take at this budget, at best: the first window's worth at once,
    /// then a window for each further one. `None` while the budget is unknown.
    pub fn time_for(&self, writes: u64) -> Option<std::time::Duration> {
        let (limit, window_ms) = (self.limit?, self.window_ms?);
        let windows = writes.saturating_sub(1) / limit.max(1);
        Some(std::time::Duration::from_millis(
            window_ms.saturating_mul(windows),
        ))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct LedgerFile {
    version: u32,
    #[serde(default)]
    accounts: BTreeMap<String, LedgerEntry>,
}

/// One account's entry in the ledger file.
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
    key: String,
    /// The file, opened by the first update and kept open: an update is then a lock, a read
    /// and a write in place, with no file created or removed (which costs most of a write's
    /// system time on some file systems).
    handle: Arc<Mutex<Option<File>>>,
}

impl Ledger {
    /// The entry of `account` on `origin` in the ledger of config directory `dir`.
    pub fn new(dir: &Path, origin: &str, account: &str) -> Self {
        Ledger {
            path: dir.join(LEDGER_FILE),
            key: format!("{origin} {account}"),
            handle: Arc::default(),
        }
    }

    /// The entry as last written (for estimates), under a shared lock so that no update is
    /// read half done.
    pub fn read(&self) -> Option<LedgerEntry> {
        let mut file = File::open(&self.path).ok()?;
        file.lock_shared().ok()?;
        read_file(&mut file).accounts.remove(&self.key)
    }

    /// Updates the entry under the ledger's exclusive lock: `f` sees what every process wrote
    /// and changes it. Writes older than the entry's window (and entries unused for a day) are
    /// dropped on the way.
    pub fn update(&self, f: impl FnOnce(&mut LedgerEntry)) -> std::io::Result<()> {
        // A poisoned lock only means another task panicked mid-update; the handle is usable.
        let mut handle = match self.handle.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let file = match &mut *handle {
            Some(file) => file,
            empty => empty.insert(self.open()?),
        };
        lock_within(file, LOCK_DEADLINE)?;
        let updated = update_locked(file, &self.key, f);
        let unlocked = file.unlock();
        updated.and(unlocked)
    }

    fn open(&self) -> std::io::Result<File> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&self.path)
    }
}

/// Takes the file's exclusive lock, or fails once `deadline` has passed.
fn lock_within(file: &File, deadline: Duration) -> std::io::Result<()> {
    let started = std::time::Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    format!(
                        "another pinbatch process has held it for more than {} ms",
                        deadline.as_millis()
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(err),
        }
    }
}

/// Clamps what lies further in the future at `now` (ms) than any process books a write, a pause
/// or a quota: a clock stepped back, or a hand-edited file, must not hold every later run. A
/// write booked for a later turn is kept where it is: moved to now, it would leave the window
/// before it does at the server.
fn clamp_future(entry: &mut LedgerEntry, now: i64) {
    for send in &mut entry.sends {
        send.at_ms = send.at_ms.min(now + SEND_AHEAD_MAX_MS);
    }
    entry.sends.sort_by_key(|send| send.at_ms);
    if let Some(until) = &mut entry.pause_until_ms {
        *until = (*until).min(now + PAUSE_AHEAD_MAX_MS);
    }
    if let Some(until) = &mut entry.exhausted_until_ms {
        *until = (*until).min(now + QUOTA_AHEAD_MAX_MS);
    }
    if let Some(seen) = &mut entry.exhausted_seen_ms {
        *seen = (*seen).min(now);
    }
}

/// The update of [`Ledger::update`], with `file` locked.
fn update_locked(
    file: &mut File,
    key: &str,
    f: impl FnOnce(&mut LedgerEntry),
) -> std::io::Result<()> {
    let mut ledger = read_file(file);
    let now = crate::epoch::now_ms();
    let entry = ledger.accounts.entry(key.to_owned()).or_default();
    clamp_future(entry, now);
    f(entry);
    entry.updated_ms = now;
    let keep_ms = i64::try_from(kept_for(entry.window_ms.map(Duration::from_millis)).as_millis())
        .unwrap_or(i64::MAX / 4);
    entry.sends.retain(|send| send.at_ms + keep_ms >= now);
    let excess = entry.sends.len().saturating_sub(kept_sends(entry.limit));
    entry.sends.drain(..excess);
    if entry.pause_until_ms.is_some_and(|until| until < now) {
        entry.pause_until_ms = None;
    }
    if entry.exhausted_until_ms.is_some_and(|until| until < now) {
        entry.exhausted_until_ms = None;
        entry.exhausted_seen_ms = None;
    }
    ledger
        .accounts
        .retain(|_, entry| entry.updated_ms + STALE_MS >= now);
    ledger.version = 1;
    // Rewritten in place: a crash halfway leaves a file that reads as empty (see the module).
    let bytes = serde_json::to_vec(&ledger).map_err(std::io::Error::other)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(&bytes)?;
    file.set_len(u64::try_from(bytes.len()).unwrap_or(u64::MAX))
}

/// The whole file; an empty or damaged one holds nothing (it is rebuilt by the next update).
fn read_file(file: &mut File) -> LedgerFile {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .ok()
        .and_then(|_| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_held_elsewhere_fails_the_update_within_its_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path(), "https://api.pinterest.com", "1");
        ledger.update(|entry| entry.limit = Some(20)).unwrap();
        // Another process holds the lock and does not let go (stopped mid-update).
        let holder = std::fs::File::open(dir.path().join(LEDGER_FILE)).unwrap();
        holder.lock().unwrap();
        let other = Ledger::new(dir.path(), "https://api.pinterest.com", "1");
        let started = std::time::Instant::now();
        let err = other.update(|entry| entry.limit = Some(30)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
        assert!(
            started.elapsed() < LOCK_DEADLINE * 20,
            "{:?}",
            started.elapsed()
        );
        holder.unlock().unwrap();
        other.update(|entry| entry.limit = Some(30)).unwrap();
        assert_eq!(ledger.read().unwrap().limit, Some(30));
    }

    #[test]
    fn entries_dated_in_the_future_are_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path(), "https://api.pinterest.com", "1");
        let now = crate::epoch::now_ms();
        let day = 24 * 3600 * 1000;
        ledger
            .update(|entry| {
                entry.sends = vec![LedgerSend {
                    at_ms: now + day,
                    pid: 7,
                }];
                entry.pause_until_ms = Some(now + day);
                entry.exhausted_until_ms = Some(now + 30 * day);
                entry.exhausted_seen_ms = Some(now + day);
            })
            .unwrap();
        // The next update (of any process) clamps what it finds.
        ledger.update(|_| {}).unwrap();
        let entry = ledger.read().unwrap();
        let later = crate::epoch::now_ms();
        assert!(
            entry
                .sends
                .iter()
                .all(|send| send.at_ms <= later + SEND_AHEAD_MAX_MS)
        );
        assert!(entry.pause_until_ms.unwrap() <= later + PAUSE_AHEAD_MAX_MS);
        assert!(entry.exhausted_until_ms.unwrap() <= later + QUOTA_AHEAD_MAX_MS);
        assert!(entry.exhausted_seen_ms.unwrap() <= later);
    }

    #[test]
    fn a_write_booked_for_a_later_turn_keeps_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path(), "https://api.pinterest.com", "1");
        let booked = crate::epoch::now_ms() + 5_000;
        ledger
            .update(|entry| {
                entry.sends = vec![LedgerSend {
                    at_ms: booked,
                    pid: 7,
                }];
            })
            .unwrap();
        ledger.update(|_| {}).unwrap();
        assert_eq!(ledger.read().unwrap().sends[0].at_ms, booked);
    }

    #[test]
    fn entries_are_kept_per_account_and_old_writes_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let alice = Ledger::new(dir.path(), "https://api.pinterest.com", "1");
        let bob = Ledger::new(dir.path(), "https://api.pinterest.com", "2");
        let now = crate::epoch::now_ms();
        alice
            .update(|entry| {
                entry.limit = Some(20);
                entry.window_ms = Some(1000);
                entry.sends = vec![
                    LedgerSend {
                        at_ms: now - 10_000,
                        pid: 7,
                    },
                    LedgerSend { at_ms: now, pid: 7 },
                ];
            })
            .unwrap();
        bob.update(|entry| entry.limit = Some(100)).unwrap();
        let entry = alice.read().unwrap();
        assert_eq!(entry.limit, Some(20));
        assert_eq!(
            entry.sends.len(),
            1,
            "a write long out of its window is dropped"
        );
        assert_eq!(bob.read().unwrap().limit, Some(100));
    }

    #[test]
    fn updates_through_separate_handles_never_lose_one() {
        // Each `Ledger` opens the file itself, as another process would; the lock is per
        // opened file, so these two exclude each other like two processes.
        let dir = tempfile::tempdir().unwrap();
        let writers: Vec<_> = (0..2u32)
            .map(|pid| {
                let ledger = Ledger::new(dir.path(), "o", "a");
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        ledger
                            .update(|entry| {
                                entry.limit = Some(1000);
                                entry.window_ms = Some(60_000);
                                entry.sends.push(LedgerSend {
                                    at_ms: crate::epoch::now_ms(),
                                    pid,
                                });
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let sends = Ledger::new(dir.path(), "o", "a").read().unwrap().sends;
        for pid in 0..2 {
            assert_eq!(sends.iter().filter(|send| send.pid == pid).count(), 200);
        }
    }

    #[test]
    fn a_shorter_rewrite_in_place_leaves_nothing_of_the_longer_one() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path(), "o", "a");
        let send = LedgerSend {
            at_ms: crate::epoch::now_ms(),
            pid: 1,
        };
        ledger
            .update(|entry| entry.sends = vec![send; 100])
            .unwrap();
        ledger.update(|entry| entry.sends.clear()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(LEDGER_FILE)).unwrap();
        assert!(serde_json::from_str::<LedgerFile>(&text).is_ok(), "{text}");
        assert!(ledger.read().unwrap().sends.is_empty());
    }

    #[test]
    fn only_the_writes_that_can_matter_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path(), "o", "a");
        let now = crate::epoch::now_ms();
        let sends = |n: i64| -> Vec<LedgerSend> {
            (0..n)
                .map(|i| LedgerSend {
                    at_ms: now - n + i,
                    pid: 7,
                })
                .collect()
        };
        ledger.update(|entry| entry.sends = sends(1000)).unwrap();
        let kept = ledger.read().unwrap().sends;
        assert_eq!(kept.len(), kept_sends(None));
        assert_eq!(kept.last().unwrap().at_ms, now - 1, "the latest are kept");
        ledger
            .update(|entry| {
                entry.limit = Some(600);
                entry.window_ms = Some(60_000);
                entry.sends = sends(1000);
            })
            .unwrap();
        assert_eq!(ledger.read().unwrap().sends.len(), 600 + 256);
    }

    #[test]
    fn the_time_for_writes_counts_the_windows_after_the_first() {
        let entry = LedgerEntry {
            limit: Some(100),
            window_ms: Some(5000),
            ..LedgerEntry::default()
        };
        assert_eq!(entry.time_for(100), Some(std::time::Duration::ZERO));
        assert_eq!(
            entry.time_for(300),
            Some(std::time::Duration::from_secs(10))
        );
        assert_eq!(
            entry.time_for(301),
            Some(std::time::Duration::from_secs(15))
        );
        assert_eq!(LedgerEntry::default().time_for(5), None);
    }

    #[test]
    fn a_damaged_file_counts_as_empty_and_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LEDGER_FILE), b"{not json").unwrap();
        let ledger = Ledger::new(dir.path(), "o", "a");
        assert_eq!(ledger.read(), None);
        ledger.update(|entry| entry.limit = Some(5)).unwrap();
        assert_eq!(ledger.read().unwrap().limit, Some(5));
    }
}
