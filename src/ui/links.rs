//! The progress bar of a link check: on a terminal only, never with `-q`, `-v` or
//! `--no-progress`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Terminal;
use crate::linkcheck::{LinkProgress, NoProgress, Verdict};

/// A bar counting checked image links on stderr.
struct LinkBar {
    bar: ProgressBar,
}

impl LinkProgress for LinkBar {
    fn on_start(&self, total: usize) {
        self.bar.set_length(total as u64);
    }

    fn on_checked(&self, _url: &str, verdict: &Verdict) {
        if !verdict.is_ok() {
            self.bar.set_message("(problems found)");
        }
        self.bar.inc(1);
    }

    fn on_finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The progress display for a link check: a bar on a terminal, else nothing.
pub fn link_progress(terminal: Terminal) -> Box<dyn LinkProgress> {
    if !terminal.shows_progress() {
        return Box::new(NoProgress);
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{spinner} checking image links {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    Box::new(LinkBar { bar })
}
