//! The rate-limit ledger: one small file in the config directory (`ratelimit.json`) through
//! which every pinbatch process writing to the same account shares that account's write
//! budget: the writes each let through recently, the budget the headers told, pauses after a
//! 429 and a quota used up. Each process reads and updates its entry under an exclusive lock
//! for every write it lets through, so together they stay within the budget and none starves.
//!
//! It is pacing state, not a record: it is replaced without fsync (a crash loses at most a few
//! recent writes, which the server's headers then report), a file that cannot be read counts as
//! empty, and writes older than their window are dropped, so a crashed process never blocks a
//! later run.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name of the ledger inside the config directory.
pub const LEDGER_FILE: &str = "ratelimit.json";

/// Entries not updated for this long are dropped when the file is written.
const STALE_MS: i64 = 24 * 3600 * 1000;

/// How long writes are kept while no budget is known: long enough to reckon with them if the
/// headers tell one after all (they come with the first answer), and for another process to
/// see that writes are out (see the gate's `awaits_budget`).
pub const UNBUDGETED_KEEP_MS: i64 = 10_000;

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
}

impl Ledger {
    /// The entry of `account` on `origin` in the ledger of config directory `dir`.
    pub fn new(dir: &Path, origin: &str, account: &str) -> Self {
        Ledger {
            path: dir.join(LEDGER_FILE),
            key: format!("{origin} {account}"),
        }
    }

    /// The entry as last written, without locking (for estimates).
    pub fn read(&self) -> Option<LedgerEntry> {
        read_file(&self.path).accounts.remove(&self.key)
    }

    /// Updates the entry under the ledger's exclusive lock: `f` sees what every process wrote
    /// and changes it. Writes older than the entry's window (and entries unused for a day) are
    /// dropped on the way.
    pub fn update(&self, f: impl FnOnce(&mut LedgerEntry)) -> std::io::Result<()> {
        let _lock = self.lock()?;
        let mut file = read_file(&self.path);
        let now = now_ms();
        let entry = file.accounts.entry(self.key.clone()).or_default();
        f(entry);
        entry.updated_ms = now;
        let keep_ms = entry.window_ms.map_or(UNBUDGETED_KEEP_MS, |window| {
            i64::try_from(window).unwrap_or(i64::MAX / 4) * 2
        });
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
        file.accounts
            .retain(|_, entry| entry.updated_ms + STALE_MS >= now);
        file.version = 1;
        self.write(&file)
    }

    fn lock(&self) -> std::io::Result<File> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut lock_path = self.path.as_os_str().to_owned();
        lock_path.push(".lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(lock_path))?;
        file.lock()?;
        Ok(file)
    }

    /// Replaces the file through a temporary one renamed over it (under the lock, so the
    /// temporary name is this process's alone). No fsync: this is pacing state (see the module).
    fn write(&self, file: &LedgerFile) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(file).map_err(std::io::Error::other)?;
        let mut temp_path = self.path.as_os_str().to_owned();
        temp_path.push(".tmp");
        let temp_path = PathBuf::from(temp_path);
        let mut temp = File::create(&temp_path)?;
        temp.write_all(&bytes)?;
        drop(temp);
        std::fs::rename(&temp_path, &self.path)
    }
}

/// The whole file; a missing or damaged one is empty (it is rebuilt by the next update).
fn read_file(path: &Path) -> LedgerFile {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |after| {
            i64::try_from(after.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_kept_per_account_and_old_writes_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let alice = Ledger::new(dir.path(), "https://api.pinterest.com", "1");
        let bob = Ledger::new(dir.path(), "https://api.pinterest.com", "2");
        let now = now_ms();
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
    fn only_the_writes_that_can_matter_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path(), "o", "a");
        let now = now_ms();
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
