//! Reporters for `apply`: an indicatif progress bar on a terminal, one plain line per pin
//! otherwise, or one JSON event per line on stdout (`--format json`); for `apply --follow` on a
//! terminal, lines and a countdown to the next pin.

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::apply::progress::{PinOutcome, PinResult, Reporter, Summary};

/// How much the human reporters print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors and the summary only.
    Quiet,
    /// Failures, messages and the summary (and each pin without a progress bar).
    Normal,
    /// Also retries.
    Verbose,
}

/// A progress bar on stderr: done / failed / skipped counts, rate and ETA; failures and messages
/// are printed above it.
pub struct BarReporter {
    bar: ProgressBar,
    counts: Mutex<Summary>,
    verbosity: Verbosity,
}

impl BarReporter {
    /// A bar drawn on stderr.
    pub fn new(verbosity: Verbosity) -> BarReporter {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} {bar:30} {pos}/{len} {msg} [{elapsed_precise}, {rate}, ETA {eta}]",
        )
        .map(|style| {
            style.with_key(
                "rate",
                |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                    let _ = write!(out, "{:.1} pins/s", state.per_sec());
                },
            )
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        BarReporter {
            bar,
            counts: Mutex::new(Summary::default()),
            verbosity,
        }
    }
}

impl Reporter for BarReporter {
    fn on_start(&self, total: usize) {
        self.bar.set_length(total as u64);
    }

    fn on_message(&self, message: &str) {
        if self.verbosity != Verbosity::Quiet {
            self.bar.suspend(|| eprintln!("{message}"));
        }
    }

    fn on_retry(&self, key: &str, delay: Duration, error: &str) {
        if self.verbosity == Verbosity::Verbose {
            self.bar
                .suspend(|| eprintln!("retry {key} in {delay:?}: {error}"));
        }
    }

    fn on_pin(&self, result: &PinResult) {
        if matches!(
            result.status,
            PinOutcome::Failed | PinOutcome::Unknown | PinOutcome::Blocked
        ) {
            self.bar.suspend(|| eprintln!("{}", plain_line(result)));
        }
        self.bar.inc(1);
        if let Ok(mut counts) = self.counts.lock() {
            counts.count(result.status);
            self.bar.set_message(format!(
                "done {} failed {} skipped {}",
                counts.created
                    + counts.updated
                    + counts.replaced
                    + counts.deleted
                    + counts.unchanged,
                counts.failed + counts.unknown + counts.blocked,
                counts.skipped + counts.scheduled + counts.needs_replace + counts.held
            ));
        }
    }

    fn on_finish(&self, _summary: &Summary) {
        self.bar.finish_and_clear();
    }
}

/// One plain line per pin on stderr, for logs and pipes.
pub struct LineReporter {
    verbosity: Verbosity,
}

impl LineReporter {
    /// A line reporter.
    pub fn new(verbosity: Verbosity) -> LineReporter {
        LineReporter { verbosity }
    }
}

impl Reporter for LineReporter {
    fn on_message(&self, message: &str) {
        if self.verbosity != Verbosity::Quiet {
            eprintln!("{message}");
        }
    }

    fn on_retry(&self, key: &str, delay: Duration, error: &str) {
        if self.verbosity == Verbosity::Verbose {
            eprintln!("retry {key} in {delay:?}: {error}");
        }
    }

    fn on_pin(&self, result: &PinResult) {
        if self.verbosity != Verbosity::Quiet
            || matches!(result.status, PinOutcome::Failed | PinOutcome::Blocked)
        {
            eprintln!("{}", plain_line(result));
        }
    }

    fn on_wait(&self, key: &str, _due: SystemTime, due_text: &str) {
        if self.verbosity != Verbosity::Quiet {
            eprintln!("{}", wait_line(key, due_text));
        }
    }
}

/// `next: pin-004 at 2026-12-10 09:18 Europe/Paris (+01)`.
fn wait_line(key: &str, due_text: &str) -> String {
    format!("next: {key} at {due_text}")
}

/// `apply --follow` on a terminal: a line per pin, and while it sleeps a countdown to the next
/// pin, redrawn once a second.
pub struct CountdownReporter {
    lines: LineReporter,
    countdown: Mutex<Option<ProgressBar>>,
}

impl CountdownReporter {
    /// A reporter on stderr.
    pub fn new(verbosity: Verbosity) -> CountdownReporter {
        CountdownReporter {
            lines: LineReporter::new(verbosity),
            countdown: Mutex::new(None),
        }
    }

    /// Ends the countdown, if one is drawn.
    fn clear(&self) {
        if let Ok(mut countdown) = self.countdown.lock()
            && let Some(bar) = countdown.take()
        {
            bar.finish_and_clear();
        }
    }
}

impl Reporter for CountdownReporter {
    fn on_message(&self, message: &str) {
        self.clear();
        self.lines.on_message(message);
    }

    fn on_retry(&self, key: &str, delay: Duration, error: &str) {
        self.lines.on_retry(key, delay, error);
    }

    fn on_pin(&self, result: &PinResult) {
        self.clear();
        self.lines.on_pin(result);
    }

    fn on_finish(&self, _summary: &Summary) {
        self.clear();
    }

    fn on_wait(&self, key: &str, due: SystemTime, due_text: &str) {
        self.clear();
        if self.lines.verbosity == Verbosity::Quiet {
            return;
        }
        let bar = ProgressBar::new_spinner().with_message(wait_line(key, due_text));
        let style = ProgressStyle::with_template("{spinner} {msg} (in {left})")
            .map(|style| {
                style.with_key(
                    "left",
                    move |_: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                        let left = due
                            .duration_since(SystemTime::now())
                            .unwrap_or(Duration::ZERO);
                        let left = Duration::from_secs(left.as_secs());
                        let _ = write!(out, "{}", humantime::format_duration(left));
                    },
                )
            })
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_secs(1));
        if let Ok(mut countdown) = self.countdown.lock() {
            *countdown = Some(bar);
        }
    }
}

/// `created    cat-01  pin 123  (pins.yaml:12:5)` or `failed  cat-01  <error>  (...)`.
pub fn plain_line(result: &PinResult) -> String {
    let mut line = format!("{:<13} {}", result.status.name(), result.key);
    if let Some(pin_id) = &result.pin_id {
        line.push_str(&format!("  pin {pin_id}"));
    }
    if let Some(error) = &result.error {
        line.push_str(&format!("  {error}"));
    }
    if !result.location.is_empty() {
        line.push_str(&format!("  ({})", result.location));
    }
    line
}

/// One JSON object per line on stdout: `start`, `message`, `retry`, `pin`, `summary` events.
pub struct JsonReporter {
    out: Mutex<std::io::Stdout>,
}

impl JsonReporter {
    /// A JSON event reporter on stdout.
    pub fn new() -> JsonReporter {
        JsonReporter {
            out: Mutex::new(std::io::stdout()),
        }
    }

    fn emit(&self, event: &impl Serialize) {
        if let (Ok(mut out), Ok(line)) = (self.out.lock(), serde_json::to_string(event)) {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

impl Default for JsonReporter {
    fn default() -> Self {
        JsonReporter::new()
    }
}

#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Event<'a> {
    Start {
        total: usize,
    },
    Message {
        message: &'a str,
    },
    Retry {
        key: &'a str,
        delay_ms: u64,
        error: &'a str,
    },
    Pin {
        #[serde(flatten)]
        result: &'a PinResult,
    },
    Summary {
        #[serde(flatten)]
        summary: &'a Summary,
    },
    Wait {
        key: &'a str,
        due: String,
    },
}

impl Reporter for JsonReporter {
    fn on_start(&self, total: usize) {
        self.emit(&Event::Start { total });
    }

    fn on_message(&self, message: &str) {
        self.emit(&Event::Message { message });
    }

    fn on_retry(&self, key: &str, delay: Duration, error: &str) {
        self.emit(&Event::Retry {
            key,
            delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error,
        });
    }

    fn on_pin(&self, result: &PinResult) {
        self.emit(&Event::Pin { result });
    }

    fn on_finish(&self, summary: &Summary) {
        self.emit(&Event::Summary { summary });
    }

    fn on_wait(&self, key: &str, due: SystemTime, _due_text: &str) {
        let due = jiff::Timestamp::try_from(due)
            .map(|due| due.to_string())
            .unwrap_or_default();
        self.emit(&Event::Wait { key, due });
    }
}

/// The end-of-run summary, for humans.
pub fn summary_text(summary: &Summary) -> String {
    let mut parts = Vec::new();
    let mut add = |n: usize, what: &str| {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    };
    add(summary.created, "created");
    add(summary.updated, "updated");
    add(summary.replaced, "replaced");
    add(summary.deleted, "deleted");
    add(summary.unchanged, "unchanged");
    add(summary.scheduled, "scheduled");
    add(summary.needs_replace, "need --replace");
    add(summary.failed, "failed");
    add(summary.unknown, "unknown outcome");
    add(summary.skipped, "skipped");
    add(summary.blocked, "blocked as spam");
    add(summary.held, "held");
    if parts.is_empty() {
        parts.push("nothing to do".to_owned());
    }
    format!(
        "{} in {:.1}s",
        parts.join(", "),
        summary.elapsed_ms as f64 / 1000.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_only_what_happened() {
        let summary = Summary {
            created: 3,
            failed: 1,
            elapsed_ms: 1500,
            ..Summary::default()
        };
        assert_eq!(summary_text(&summary), "3 created, 1 failed in 1.5s");
        assert_eq!(summary_text(&Summary::default()), "nothing to do in 0.0s");
    }

    #[test]
    fn plain_line_names_key_pin_and_location() {
        let result = PinResult {
            key: "cat".into(),
            location: "m.yaml:3:5".into(),
            status: PinOutcome::Created,
            pin_id: Some("42".into()),
            pin_url: None,
            attempts: 1,
            error: None,
            converted: None,
        };
        assert_eq!(
            plain_line(&result),
            "created       cat  pin 42  (m.yaml:3:5)"
        );
    }
}
