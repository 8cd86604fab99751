//! The analytics cache beside the state (`<state>.analytics`): each pin's numbers per day
//! (UTC), kept once Pinterest reports the day final, so that a report over the same days does
//! not read them again and a run that stopped half-way keeps what it read.
//!
//! Format: JSON Lines. The first line is a header (format version, API origin); every later
//! line holds some days of one pin. Lines are appended as pins are read (no fsync: it is a
//! cache, and anything lost is read again), and the file is rewritten whole, through the one
//! atomic write, at the end of a run. A line that cannot be read is skipped; a cache of another
//! origin or version is ignored and replaced. Days that are not final yet (today's, or those
//! Pinterest is still processing) are never kept.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The version of the cache format this build reads and writes.
const CACHE_FORMAT_VERSION: u32 = 1;

/// One day of one pin: its numbers by Pinterest's metric name (`IMPRESSION`, `SAVE`, ...), or
/// `None` for a day with no data that will never have any (before the pin existed).
pub type Day = Option<BTreeMap<String, f64>>;

/// The cache path for a state file: `pins.csv.state` -> `pins.csv.state.analytics`.
pub fn cache_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".analytics");
    PathBuf::from(name)
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    #[serde(rename = "type")]
    kind: String,
    version: u32,
    origin: String,
}

/// One line: some days of one pin, by date (`YYYY-MM-DD`).
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    pin_id: String,
    days: BTreeMap<String, Day>,
}

impl Line {
    fn new(pin_id: &str, days: &BTreeMap<Date, Day>) -> Line {
        Line {
            pin_id: pin_id.to_owned(),
            days: days
                .iter()
                .map(|(date, day)| (date.to_string(), day.clone()))
                .collect(),
        }
    }

    /// The days whose dates read; the others are skipped.
    fn days(self) -> impl Iterator<Item = (Date, Day)> {
        self.days
            .into_iter()
            .filter_map(|(date, day)| Some((date.parse().ok()?, day)))
    }
}

/// The final days known per pin, and the file they are kept in.
#[derive(Debug)]
pub struct AnalyticsCache {
    path: PathBuf,
    origin: String,
    pins: HashMap<String, BTreeMap<Date, Day>>,
    /// The file appended to, once the first new day is kept.
    appender: Option<std::fs::File>,
}

impl AnalyticsCache {
    /// Reads the cache at `path` for `origin`; a missing, foreign or unreadable file is an
    /// empty cache (it is only a cache).
    pub fn open(path: &Path, origin: &str) -> AnalyticsCache {
        let mut cache = AnalyticsCache {
            path: path.to_owned(),
            origin: origin.to_owned(),
            pins: HashMap::new(),
            appender: None,
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return cache;
        };
        let mut lines = text.lines();
        let header: Option<Header> = lines.next().and_then(|l| serde_json::from_str(l).ok());
        let current = header.is_some_and(|h| {
            h.kind == "header" && h.version == CACHE_FORMAT_VERSION && h.origin == origin
        });
        if !current {
            tracing::info!(path = %path.display(), "ignoring an analytics cache of another origin or version");
            return cache;
        }
        for line in lines {
            match serde_json::from_str::<Line>(line) {
                Ok(line) => {
                    let pin = cache.pins.entry(line.pin_id.clone()).or_default();
                    pin.extend(line.days());
                }
                Err(err) => {
                    tracing::debug!(error = %err, "skipping an unreadable analytics cache line")
                }
            }
        }
        cache
    }

    /// The days of `pin_id` known final.
    pub fn days(&self, pin_id: &str) -> Option<&BTreeMap<Date, Day>> {
        self.pins.get(pin_id)
    }

    /// Keeps final days of `pin_id` and appends them to the file at once, so that a run that
    /// stops keeps them. An append that fails is logged: the days are read again next time.
    pub fn keep(&mut self, pin_id: &str, days: BTreeMap<Date, Day>) {
        if days.is_empty() {
            return;
        }
        if let Err(err) = self.append(pin_id, &days) {
            tracing::warn!(path = %self.path.display(), error = %err, "cannot add to the analytics cache");
        }
        self.pins.entry(pin_id.to_owned()).or_default().extend(days);
    }

    fn append(&mut self, pin_id: &str, days: &BTreeMap<Date, Day>) -> std::io::Result<()> {
        if self.appender.is_none() {
            // Start from a whole file: what was read, under a fresh header.
            self.save()?;
            let file = std::fs::OpenOptions::new().append(true).open(&self.path)?;
            self.appender = Some(file);
        }
        let mut text = serde_json::to_vec(&Line::new(pin_id, days))?;
        text.push(b'\n');
        match &mut self.appender {
            Some(file) => file.write_all(&text),
            None => Ok(()),
        }
    }

    /// Rewrites the file whole (one line per pin), atomically.
    pub fn save(&mut self) -> std::io::Result<()> {
        self.appender = None;
        let header = Header {
            kind: "header".to_owned(),
            version: CACHE_FORMAT_VERSION,
            origin: self.origin.clone(),
        };
        let mut text = serde_json::to_vec(&header)?;
        text.push(b'\n');
        let mut ids: Vec<&String> = self.pins.keys().collect();
        ids.sort();
        for pin_id in ids {
            serde_json::to_writer(&mut text, &Line::new(pin_id, &self.pins[pin_id]))?;
            text.push(b'\n');
        }
        crate::fs::atomic::write(
            &self.path,
            &text,
            crate::fs::atomic::Access::Shared,
            crate::fs::atomic::Existing::Replace,
        )
        .map_err(std::io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn numbers(impressions: f64) -> Day {
        Some(BTreeMap::from([("IMPRESSION".to_owned(), impressions)]))
    }

    #[test]
    fn days_are_appended_as_they_come_and_survive_a_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_path(&dir.path().join("pins.csv.state"));
        assert!(path.ends_with("pins.csv.state.analytics"));
        let mut cache = AnalyticsCache::open(&path, "https://o");
        cache.keep(
            "1",
            BTreeMap::from([
                (date("2026-11-01"), numbers(3.0)),
                (date("2026-10-31"), None),
            ]),
        );
        cache.keep("2", BTreeMap::from([(date("2026-11-01"), numbers(5.0))]));
        cache.keep("1", BTreeMap::from([(date("2026-11-02"), numbers(4.0))]));
        // Dropped without save(): a stopped run. What was kept is read back.
        drop(cache);
        let again = AnalyticsCache::open(&path, "https://o");
        let days = again.days("1").unwrap();
        assert_eq!(days.len(), 3);
        assert_eq!(days[&date("2026-10-31")], None);
        assert_eq!(again.days("2").unwrap()[&date("2026-11-01")], numbers(5.0));
        // A torn last line is skipped; another origin's cache is ignored.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"pin_id\":\"3\",\"da");
        std::fs::write(&path, text).unwrap();
        assert!(AnalyticsCache::open(&path, "https://o").days("3").is_none());
        assert!(
            AnalyticsCache::open(&path, "https://other")
                .days("1")
                .is_none()
        );
        let mut compacted = AnalyticsCache::open(&path, "https://o");
        compacted.save().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
    }
}
