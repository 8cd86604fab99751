//! How `apply` tells the outside world what happened: a trait with no-op defaults, so the executor
//! never knows about terminals, progress bars or JSON.

use std::time::Duration;

use serde::Serialize;

/// The outcome of one pin (or orphan) in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PinOutcome {
    /// Created by this run.
    Created,
    /// Found on its board after an attempt of unknown outcome, and recorded.
    Adopted,
    /// Text or placement updated.
    Updated,
    /// Deleted and created again with new media.
    Replaced,
    /// An orphan deleted by `--prune`.
    Deleted,
    /// Already up to date: no API call.
    Unchanged,
    /// Not due yet.
    Scheduled,
    /// Media changed but `--replace` was not given.
    NeedsReplace,
    /// Failed; the batch went on.
    Failed,
    /// A create was sent but whether it created the pin is unknown; the next run looks for it
    /// on its board before anything else for this pin.
    Unknown,
    /// Not attempted because the run stopped (Ctrl-C, auth failure, spam block).
    Skipped,
    /// Pinterest refused its link as spam; not sent again until `--retry-blocked`.
    Blocked,
    /// Not sent: Pinterest refused a link of the same domain as spam.
    Held,
}

impl PinOutcome {
    /// Whether the pin's media went to Pinterest in this run (a create, a replace, or a create
    /// of unknown outcome found on its board).
    pub fn sent_media(self) -> bool {
        matches!(
            self,
            PinOutcome::Created | PinOutcome::Replaced | PinOutcome::Adopted
        )
    }

    /// The outcome's name in output and reports.
    pub fn name(self) -> &'static str {
        match self {
            PinOutcome::Created => "created",
            PinOutcome::Adopted => "adopted",
            PinOutcome::Updated => "updated",
            PinOutcome::Replaced => "replaced",
            PinOutcome::Deleted => "deleted",
            PinOutcome::Unchanged => "unchanged",
            PinOutcome::Scheduled => "scheduled",
            PinOutcome::NeedsReplace => "needs-replace",
            PinOutcome::Failed => "failed",
            PinOutcome::Unknown => "unknown",
            PinOutcome::Skipped => "skipped",
            PinOutcome::Blocked => "blocked",
            PinOutcome::Held => "held",
        }
    }
}

/// The result of one pin, as reported and written to `--report`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PinResult {
    /// The pin's key.
    pub key: String,
    /// Where it is in the manifest (`file:line:col` or `file: row N`); empty for orphans.
    pub location: String,
    /// What happened.
    pub status: PinOutcome,
    /// Pinterest's pin id, when the pin exists.
    pub pin_id: Option<String>,
    /// Its public URL.
    pub pin_url: Option<String>,
    /// Attempts made over all runs.
    pub attempts: u32,
    /// The error, for failures.
    pub error: Option<String>,
    /// What was done to its images before they were sent (see `PinSpec::conversions`), for
    /// a pin whose media went out in this run.
    pub converted: Option<String>,
}

/// Totals of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Pins created (including adopted ones).
    pub created: usize,
    /// Pins updated.
    pub updated: usize,
    /// Pins replaced.
    pub replaced: usize,
    /// Orphans deleted.
    pub deleted: usize,
    /// Pins left unchanged.
    pub unchanged: usize,
    /// Pins not due yet.
    pub scheduled: usize,
    /// Pins whose media changed without `--replace`.
    pub needs_replace: usize,
    /// Pins that failed.
    pub failed: usize,
    /// Pins whose create was sent with an outcome still unknown.
    pub unknown: usize,
    /// Pins not attempted because the run stopped.
    pub skipped: usize,
    /// Pins whose link Pinterest refused as spam.
    pub blocked: usize,
    /// Pins held back because a link of their domain was refused.
    pub held: usize,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

impl Summary {
    /// Counts one result.
    pub fn count(&mut self, outcome: PinOutcome) {
        match outcome {
            PinOutcome::Created | PinOutcome::Adopted => self.created += 1,
            PinOutcome::Updated => self.updated += 1,
            PinOutcome::Replaced => self.replaced += 1,
            PinOutcome::Deleted => self.deleted += 1,
            PinOutcome::Unchanged => self.unchanged += 1,
            PinOutcome::Scheduled => self.scheduled += 1,
            PinOutcome::NeedsReplace => self.needs_replace += 1,
            PinOutcome::Failed => self.failed += 1,
            PinOutcome::Unknown => self.unknown += 1,
            PinOutcome::Skipped => self.skipped += 1,
            PinOutcome::Blocked => self.blocked += 1,
            PinOutcome::Held => self.held += 1,
        }
    }
}

/// Receives progress events from the executor. Every method has a no-op default.
pub trait Reporter: Send + Sync {
    /// The run starts with `total` results to come (pins and orphans).
    fn on_start(&self, _total: usize) {}
    /// A message about the run as a whole (boards created, a stop requested, ...).
    fn on_message(&self, _message: &str) {}
    /// A request for a pin will be retried after `delay`.
    fn on_retry(&self, _key: &str, _delay: Duration, _error: &str) {}
    /// One pin is finished.
    fn on_pin(&self, _result: &PinResult) {}
    /// The run is over.
    fn on_finish(&self, _summary: &Summary) {}
    /// `apply --follow` sleeps until pin `key` is due at `due` (`due_text` for people).
    fn on_wait(&self, _key: &str, _due: std::time::SystemTime, _due_text: &str) {}
}

/// A reporter that ignores everything.
#[cfg(test)]
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopReporter;

#[cfg(test)]
impl Reporter for NoopReporter {}

/// The public URL of a pin.
pub fn pin_url(pin_id: &str) -> String {
    format!("https://www.pinterest.com/pin/{pin_id}/")
}
