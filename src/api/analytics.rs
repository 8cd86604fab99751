//! Pin analytics: `GET /v5/pins/{pin_id}/analytics` (rate category `org_analytics`), read-only,
//! paced and retried like every other read. Pinterest keeps 90 days, answers per day (UTC) with
//! a status saying whether the day is final, and sums the period in `summary_metrics`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;

use crate::api::client::{ApiClient, Call};
use crate::api::error::ApiError;

/// How many days back Pinterest keeps analytics (`start_date` may be at most this far back).
pub const RETENTION_DAYS: i64 = 90;

/// The metrics of every pin.
pub const PIN_METRICS: &[&str] = &["IMPRESSION", "SAVE", "PIN_CLICK", "OUTBOUND_CLICK"];

/// The metrics of video pins only.
pub const VIDEO_METRICS: &[&str] = &["VIDEO_MRC_VIEW", "VIDEO_AVG_WATCH_TIME"];

/// One day of a pin's analytics.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct DailyMetrics {
    /// The day (UTC), `YYYY-MM-DD`.
    #[serde(default)]
    pub date: String,
    /// `READY` when final, `PROCESSING` or `ESTIMATE` while not, `BEFORE_...` for days with
    /// no data (before the pin existed, before data was kept).
    #[serde(default)]
    pub data_status: Option<String>,
    /// The numbers by metric name.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
}

/// The analytics of one pin, for one split (`all` without a split).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct PinAnalytics {
    /// One entry per day of the period.
    #[serde(default)]
    pub daily_metrics: Vec<DailyMetrics>,
    /// The period's totals by metric name.
    #[serde(default)]
    pub summary_metrics: BTreeMap<String, f64>,
}

impl ApiClient {
    /// `GET /v5/pins/{pin_id}/analytics` for the days `start` to `end` (UTC, both included)
    /// and `metrics`, for every app type and not split (the defaults).
    pub async fn pin_analytics(
        &self,
        pin_id: &str,
        start: jiff::civil::Date,
        end: jiff::civil::Date,
        metrics: &[&str],
    ) -> Result<PinAnalytics, ApiError> {
        let call = Call::new(Method::GET, vec!["pins", pin_id, "analytics"])
            .query("start_date", start.to_string())
            .query("end_date", end.to_string())
            .query("metric_types", metrics.join(","));
        let mut splits: BTreeMap<String, PinAnalytics> = self.call(call).await?;
        // Without a split Pinterest keys the answer `all`; take the only one otherwise.
        Ok(splits
            .remove("all")
            .or_else(|| splits.into_values().next())
            .unwrap_or_default())
    }
}
