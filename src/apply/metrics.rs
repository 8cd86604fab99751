//! Reading pin analytics for `report --metrics`: each published pin's days of the period that
//! the cache beside the state does not hold yet are read (one call per pin, a few at a time,
//! paced by the client's gate like every other read), final days are kept in the cache as they
//! come, and each pin's period is summed.
//!
//! A day counts when Pinterest gave numbers for it; a pin with none in the period (too new, or
//! not processed yet) has no metrics at all, which the report shows as empty cells, not zeros.
//! Only the single writer loop touches the cache.

use std::collections::{BTreeMap, HashMap};

use futures::StreamExt as _;
use jiff::civil::Date;

use crate::api::analytics::{PIN_METRICS, PinAnalytics, VIDEO_METRICS};
use crate::api::{ApiClient, ApiError};
use crate::state::analytics::{AnalyticsCache, Day};

/// How many pins' analytics are read at once.
const READS_IN_FLIGHT: usize = 4;

/// The days a report sums: `since` to `until` (UTC), both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Period {
    /// The first day.
    pub since: Date,
    /// The last day.
    pub until: Date,
}

impl Period {
    /// Every day of the period, in order.
    pub fn days(self) -> impl Iterator<Item = Date> {
        self.since
            .series(jiff::Span::new().days(1))
            .take_while(move |day| *day <= self.until)
    }
}

/// A pin's analytics summed over a period. The video numbers exist for video pins only.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct PinMetrics {
    /// `IMPRESSION`.
    pub impressions: f64,
    /// `SAVE`.
    pub saves: f64,
    /// `PIN_CLICK`.
    pub pin_clicks: f64,
    /// `OUTBOUND_CLICK`.
    pub outbound_clicks: f64,
    /// `VIDEO_MRC_VIEW`.
    pub video_views: Option<f64>,
    /// `VIDEO_AVG_WATCH_TIME`, each day weighted by its video views.
    pub avg_watch_time: Option<f64>,
}

/// A pin whose analytics to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetricsPin {
    /// Its id.
    pub pin_id: String,
    /// Whether it is a video pin (video metrics are asked for too).
    pub video: bool,
}

/// What reading the analytics shows as it goes (implemented by `ui`).
pub(crate) trait MetricsProgress: Send + Sync {
    /// `total` pins are about to be summed.
    fn on_start(&self, total: usize);
    /// One pin is done (read, or found whole in the cache).
    fn on_pin(&self);
    /// Every pin is done.
    fn on_finish(&self);
}

/// Shows nothing.
pub(crate) struct NoProgress;

impl MetricsProgress for NoProgress {
    fn on_start(&self, _total: usize) {}
    fn on_pin(&self) {}
    fn on_finish(&self) {}
}

/// What [`gather`] found.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    /// Each pin's metrics, `None` when the period has no data for it.
    pub metrics: HashMap<String, Option<PinMetrics>>,
    /// Pins whose analytics could not be read, with why.
    pub failures: Vec<(String, ApiError)>,
    /// How many pins were read from Pinterest (the others came from the cache).
    pub read: usize,
}

/// Sums `pins` over `period`, reading what `cache` lacks. `today` (UTC) is never kept: its
/// numbers are not final. A rejected token or a used-up quota ends the whole run (`Err`); any
/// other failure is that pin's, and the others go on.
pub(crate) async fn gather(
    client: &ApiClient,
    pins: &[MetricsPin],
    period: Period,
    today: Date,
    cache: &mut AnalyticsCache,
    progress: &dyn MetricsProgress,
) -> Result<Gathered, ApiError> {
    let mut gathered = Gathered::default();
    progress.on_start(pins.len());
    let mut to_read = Vec::new();
    for pin in pins {
        let known = cache.days(&pin.pin_id);
        let missing: Vec<Date> = period
            .days()
            .filter(|day| known.is_none_or(|days| !days.contains_key(day)))
            .collect();
        match (missing.first(), missing.last()) {
            (Some(first), Some(last)) => to_read.push((pin, *first, *last)),
            _ => {
                let days = known.cloned().unwrap_or_default();
                gathered
                    .metrics
                    .insert(pin.pin_id.clone(), totals(&days, period, pin.video));
                progress.on_pin();
            }
        }
    }
    let mut reads = futures::stream::iter(to_read)
        .map(|(pin, first, last)| async move {
            let metrics: Vec<&str> = if pin.video {
                PIN_METRICS.iter().chain(VIDEO_METRICS).copied().collect()
            } else {
                PIN_METRICS.to_vec()
            };
            let answer = client
                .pin_analytics(&pin.pin_id, first, last, &metrics)
                .await;
            (pin, answer)
        })
        .buffer_unordered(READS_IN_FLIGHT);
    while let Some((pin, answer)) = reads.next().await {
        progress.on_pin();
        let answer = match answer {
            Ok(answer) => answer,
            Err(err) if err.is_auth() || err.quota().is_some() => return Err(err),
            Err(err) => {
                gathered.failures.push((pin.pin_id.clone(), err));
                continue;
            }
        };
        gathered.read += 1;
        let (finals, fresh) = split_days(&answer, today);
        cache.keep(&pin.pin_id, finals);
        let mut days = cache.days(&pin.pin_id).cloned().unwrap_or_default();
        days.extend(fresh);
        gathered
            .metrics
            .insert(pin.pin_id.clone(), totals(&days, period, pin.video));
    }
    progress.on_finish();
    Ok(gathered)
}

/// The days of an answer: those final (kept in the cache) and those not yet (used this once).
/// A day is final when Pinterest says `READY`, or says it has no data for a reason that will
/// not change (`BEFORE_...`: before the pin, or before data was kept); never `today` or later.
fn split_days(answer: &PinAnalytics, today: Date) -> (BTreeMap<Date, Day>, BTreeMap<Date, Day>) {
    let mut finals = BTreeMap::new();
    let mut fresh = BTreeMap::new();
    for daily in &answer.daily_metrics {
        let Ok(date) = daily.date.parse::<Date>() else {
            continue;
        };
        let status = daily.data_status.as_deref().unwrap_or("");
        let numbers = (!daily.metrics.is_empty()).then(|| daily.metrics.clone());
        if date >= today {
            fresh.insert(date, numbers);
        } else if status == "READY" {
            finals.insert(date, numbers);
        } else if status.starts_with("BEFORE_") {
            finals.insert(date, None);
        } else {
            fresh.insert(date, numbers);
        }
    }
    (finals, fresh)
}

/// A pin's metrics over `period` from its known days; `None` when no day of the period has
/// numbers.
pub(crate) fn totals(
    days: &BTreeMap<Date, Day>,
    period: Period,
    video: bool,
) -> Option<PinMetrics> {
    let mut metrics = PinMetrics::default();
    let mut any = false;
    let (mut views, mut watched) = (0.0, 0.0);
    for day in period.days() {
        let Some(Some(numbers)) = days.get(&day) else {
            continue;
        };
        any = true;
        let value = |name: &str| numbers.get(name).copied().unwrap_or(0.0);
        metrics.impressions += value("IMPRESSION");
        metrics.saves += value("SAVE");
        metrics.pin_clicks += value("PIN_CLICK");
        metrics.outbound_clicks += value("OUTBOUND_CLICK");
        views += value("VIDEO_MRC_VIEW");
        watched += value("VIDEO_AVG_WATCH_TIME") * value("VIDEO_MRC_VIEW");
    }
    if !any {
        return None;
    }
    if video {
        metrics.video_views = Some(views);
        metrics.avg_watch_time = Some(if views > 0.0 { watched / views } else { 0.0 });
    }
    Some(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::analytics::DailyMetrics;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    fn day(pairs: &[(&str, f64)]) -> Day {
        Some(pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
    }

    fn period(since: &str, until: &str) -> Period {
        Period {
            since: date(since),
            until: date(until),
        }
    }

    #[test]
    fn a_period_is_every_day_from_since_to_until() {
        let days: Vec<Date> = period("2026-02-27", "2026-03-02").days().collect();
        assert_eq!(days.len(), 4);
        assert_eq!(days[2], date("2026-03-01"));
    }

    #[test]
    fn totals_sum_the_days_with_numbers_and_weigh_watch_time_by_views() {
        let days = BTreeMap::from([
            (date("2026-11-01"), None),
            (
                date("2026-11-02"),
                day(&[
                    ("IMPRESSION", 10.0),
                    ("SAVE", 1.0),
                    ("VIDEO_MRC_VIEW", 2.0),
                    ("VIDEO_AVG_WATCH_TIME", 1000.0),
                ]),
            ),
            (
                date("2026-11-03"),
                day(&[
                    ("IMPRESSION", 5.0),
                    ("PIN_CLICK", 2.0),
                    ("OUTBOUND_CLICK", 1.0),
                    ("VIDEO_MRC_VIEW", 6.0),
                    ("VIDEO_AVG_WATCH_TIME", 3000.0),
                ]),
            ),
            (date("2026-11-09"), day(&[("IMPRESSION", 100.0)])),
        ]);
        let all = totals(&days, period("2026-11-01", "2026-11-05"), true).unwrap();
        assert_eq!(
            all.impressions, 15.0,
            "days outside the period do not count"
        );
        assert_eq!(
            (all.saves, all.pin_clicks, all.outbound_clicks),
            (1.0, 2.0, 1.0)
        );
        assert_eq!(all.video_views, Some(8.0));
        assert_eq!(all.avg_watch_time, Some(2500.0));
        let image = totals(&days, period("2026-11-01", "2026-11-05"), false).unwrap();
        assert_eq!(image.video_views, None);
        assert_eq!(
            totals(&days, period("2026-11-01", "2026-11-01"), false),
            None,
            "a pin with no data in the period has no metrics, not zeros"
        );
    }

    #[test]
    fn final_days_are_ready_or_before_the_pin_and_never_today() {
        let entry = |date: &str, status: &str, impressions: Option<f64>| DailyMetrics {
            date: date.to_owned(),
            data_status: Some(status.to_owned()),
            metrics: impressions
                .map(|n| BTreeMap::from([("IMPRESSION".to_owned(), n)]))
                .unwrap_or_default(),
        };
        let answer = PinAnalytics {
            daily_metrics: vec![
                entry("2026-11-01", "BEFORE_PIN_CREATED", None),
                entry("2026-11-02", "READY", Some(4.0)),
                entry("2026-11-03", "ESTIMATE", Some(2.0)),
                entry("2026-11-04", "READY", Some(1.0)),
                entry("not a date", "READY", Some(9.0)),
            ],
            ..PinAnalytics::default()
        };
        let (finals, fresh) = split_days(&answer, date("2026-11-04"));
        assert_eq!(
            finals.keys().copied().collect::<Vec<_>>(),
            [date("2026-11-01"), date("2026-11-02")]
        );
        assert_eq!(finals[&date("2026-11-01")], None);
        assert_eq!(
            fresh.keys().copied().collect::<Vec<_>>(),
            [date("2026-11-03"), date("2026-11-04")]
        );
    }
}
