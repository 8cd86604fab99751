//! `apply --follow`: what the loop that keeps a run going until every pin is published asks of
//! the plan and the clock. It finds the next pin due, sleeps until then (a timer, no CPU; woken
//! at once by Ctrl-C or SIGTERM), and reports each run's pins once, not every scheduled pin on
//! every turn. The loop itself (reloading the manifest, resolving boards) is the command's.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use jiff::Timestamp;

use super::StopSignal;
use super::progress::{PinOutcome, PinResult, Reporter, Summary};
use crate::plan::{Action, Plan};

/// The next pin to become due: its time and key.
pub(crate) fn next_due(plan: &Plan) -> Option<(Timestamp, &str)> {
    plan.pins
        .iter()
        .filter_map(|planned| match planned.action {
            Action::Scheduled { due } => Some((due, planned.key.as_str())),
            _ => None,
        })
        .min()
}

/// Why a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The pin is due.
    Due,
    /// `--until` came first.
    Until,
    /// Ctrl-C or SIGTERM.
    Stopped,
}

/// Sleeps until `due` (or `until`, if sooner), unless the run is stopped first.
pub(crate) async fn wait_until(
    stop: &StopSignal,
    due: Timestamp,
    until: Option<Timestamp>,
) -> Wake {
    let (target, wake) = match until {
        Some(until) if until < due => (until, Wake::Until),
        _ => (due, Wake::Due),
    };
    let left = target.duration_since(Timestamp::now());
    let left = Duration::try_from(left).unwrap_or(Duration::ZERO);
    if stop.sleep(left).await {
        wake
    } else {
        Wake::Stopped
    }
}

/// Forwards a follow run's events to a reporter, each pin once: what was published, failed or
/// refused, not the pins that are unchanged or scheduled on every turn of the loop.
pub(crate) struct FollowReporter {
    inner: Arc<dyn Reporter>,
    told: Mutex<HashSet<String>>,
}

impl FollowReporter {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Reporter>) -> FollowReporter {
        FollowReporter {
            inner,
            told: Mutex::new(HashSet::new()),
        }
    }
}

impl Reporter for FollowReporter {
    fn on_message(&self, message: &str) {
        self.inner.on_message(message);
    }

    fn on_retry(&self, key: &str, delay: Duration, error: &str) {
        self.inner.on_retry(key, delay, error);
    }

    fn on_pin(&self, result: &PinResult) {
        let repeats = match result.status {
            PinOutcome::Unchanged | PinOutcome::Scheduled | PinOutcome::Skipped => return,
            PinOutcome::Blocked | PinOutcome::Held | PinOutcome::NeedsReplace => true,
            _ => false,
        };
        if repeats
            && let Ok(mut told) = self.told.lock()
            && !told.insert(format!("{}:{}", result.status.name(), result.key))
        {
            return;
        }
        self.inner.on_pin(result);
    }

    fn on_wait(&self, key: &str, due: SystemTime, due_text: &str) {
        self.inner.on_wait(key, due, due_text);
    }
}

/// The totals of a whole follow run: what was done, summed over its turns, and what is left as
/// the plan stands at the end (`left`).
pub(crate) fn follow_summary(turns: &[Summary], left: &Plan, elapsed_ms: u64) -> Summary {
    let sum = |field: fn(&Summary) -> usize| turns.iter().map(field).sum::<usize>();
    let count = |name: &str| left.pins.iter().filter(|p| p.action.name() == name).count();
    let created = sum(|s| s.created);
    let updated = sum(|s| s.updated);
    let replaced = sum(|s| s.replaced);
    Summary {
        created,
        updated,
        replaced,
        deleted: sum(|s| s.deleted),
        // What this run published shows as unchanged at the end.
        unchanged: count("unchanged").saturating_sub(created + updated + replaced),
        scheduled: count("scheduled"),
        needs_replace: count("needs-replace"),
        failed: sum(|s| s.failed),
        unknown: sum(|s| s.unknown),
        skipped: turns.last().map_or(0, |s| s.skipped),
        blocked: count("blocked"),
        held: count("held"),
        elapsed_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_add_up_to_one_summary() {
        use crate::plan::PlannedPin;
        let first = Summary {
            created: 1,
            scheduled: 4,
            ..Summary::default()
        };
        let second = Summary {
            created: 1,
            failed: 1,
            ..Summary::default()
        };
        let pin = |key: &str, action: Action| PlannedPin {
            index: 0,
            key: key.to_owned(),
            action,
            fingerprint: crate::state::Fingerprint {
                text: String::new(),
                placement: String::new(),
                media: String::new(),
                identity: String::new(),
            },
            due: None,
        };
        let left = Plan {
            pins: vec![
                pin("a", Action::Unchanged { pin_id: "1".into() }),
                pin("b", Action::Unchanged { pin_id: "2".into() }),
                pin("c", Action::Unchanged { pin_id: "3".into() }),
                pin(
                    "d",
                    Action::Held {
                        domain: "x.example".into(),
                    },
                ),
                pin(
                    "e",
                    Action::Scheduled {
                        due: Timestamp::now(),
                    },
                ),
            ],
            orphans: Vec::new(),
            unknown_orphans: Vec::new(),
        };
        let total = follow_summary(&[first, second], &left, 5000);
        assert_eq!(total.created, 2);
        assert_eq!(
            total.unchanged, 1,
            "two of the three were created by the run"
        );
        assert_eq!(total.scheduled, 1);
        assert_eq!(total.held, 1);
        assert_eq!(total.failed, 1);
        assert_eq!(total.elapsed_ms, 5000);
    }

    #[tokio::test]
    async fn a_wait_ends_when_due_at_until_or_at_a_stop() {
        let stop = StopSignal::default();
        let soon = Timestamp::now() + jiff::SignedDuration::from_millis(30);
        assert_eq!(wait_until(&stop, soon, None).await, Wake::Due);
        let later = Timestamp::now() + jiff::SignedDuration::from_secs(3600);
        assert_eq!(wait_until(&stop, later, Some(soon)).await, Wake::Until);
        stop.stop(super::super::StopReason::Interrupted);
        assert_eq!(wait_until(&stop, later, None).await, Wake::Stopped);
    }
}
