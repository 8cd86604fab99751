//! The progress bar of `report --metrics`: on a terminal only, never with `-q`, `-v` or
//! `--no-progress`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Terminal;
use crate::apply::metrics::{MetricsProgress, NoProgress};

/// A bar counting the pins whose analytics are summed, on stderr.
struct MetricsBar {
    bar: ProgressBar,
}

impl MetricsProgress for MetricsBar {
    fn on_start(&self, total: usize) {
        self.bar.set_length(total as u64);
    }

    fn on_pin(&self) {
        self.bar.inc(1);
    }

    fn on_finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The progress display for reading analytics: a bar on a terminal, else nothing.
pub fn metrics_progress(terminal: Terminal) -> Box<dyn MetricsProgress> {
    if !terminal.shows_progress() {
        return Box::new(NoProgress);
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} reading pin analytics {bar:30} {pos}/{len} {per_sec} ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    Box::new(MetricsBar { bar })
}
