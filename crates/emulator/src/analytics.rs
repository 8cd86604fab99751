//! Pin analytics: `GET /v5/pins/{pin_id}/analytics`, with numbers that are a fixed function of
//! the pin, the day and the metric ([`daily_value`], public so that tests recompute them), and
//! Pinterest's rules: `start_date` at most 90 days back from today, `end_date` at most 90 days
//! after it and not before it, known metric types only, 404 for an unknown pin and 403 for a
//! pin of another account.
//!
//! Days are UTC, by the emulator's clock. A day before the pin was created is
//! `BEFORE_PIN_CREATED`, today is `PROCESSING` (no numbers yet), earlier days are `READY`, and
//! days after today are left out. The answer is keyed `all` (not split by app type).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use serde_json::{Map, Value, json};

use super::store::{ApiFailure, PinMediaRecord};
use super::{Shared, lock};

/// How many days back analytics are kept.
pub const RETENTION_DAYS: i64 = 90;

/// The metric types every pin has.
pub const PIN_METRIC_TYPES: &[&str] = &[
    "IMPRESSION",
    "OUTBOUND_CLICK",
    "PIN_CLICK",
    "SAVE",
    "SAVE_RATE",
    "TOTAL_COMMENTS",
    "TOTAL_REACTIONS",
    "USER_FOLLOW",
    "PROFILE_VISIT",
];

/// The metric types only video pins have.
pub const VIDEO_METRIC_TYPES: &[&str] = &[
    "VIDEO_MRC_VIEW",
    "VIDEO_10S_VIEW",
    "QUARTILE_95_PERCENT_VIEW",
    "VIDEO_V50_WATCH_TIME",
    "VIDEO_START",
    "VIDEO_AVG_WATCH_TIME",
];

/// The number the emulator reports for `metric` of the pin `pin_id` on `date` (a `READY`
/// day), or `None` when a pin of that kind has no such metric (video metrics of an image pin).
/// A fixed function of its arguments, so that tests can recompute every figure.
pub fn daily_value(pin_id: &str, date: Date, metric: &str, video: bool) -> Option<f64> {
    if VIDEO_METRIC_TYPES.contains(&metric) && !video {
        return None;
    }
    let draw = fnv1a(format!("{pin_id}|{date}|{metric}").as_bytes());
    let whole = |below: u64| (draw % below) as f64;
    Some(match metric {
        "IMPRESSION" => whole(500),
        "SAVE" => whole(20),
        "PIN_CLICK" => whole(40),
        "OUTBOUND_CLICK" => whole(30),
        "SAVE_RATE" => whole(100) / 100.0,
        "VIDEO_MRC_VIEW" | "VIDEO_START" => whole(100),
        "VIDEO_AVG_WATCH_TIME" => whole(20_000) / 4.0,
        "VIDEO_V50_WATCH_TIME" => whole(100_000),
        _ => whole(10),
    })
}

/// FNV-1a, 64 bits: small, stable across platforms and versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// 400 with the spec's message and what is wrong.
fn invalid(detail: &str) -> ApiFailure {
    ApiFailure {
        status: 400,
        code: 400,
        message: format!("Invalid pins analytics parameters: {detail}"),
    }
}

/// A `YYYY-MM-DD` query parameter.
fn date_parameter(query: &HashMap<String, String>, name: &str) -> Result<Date, ApiFailure> {
    let text = query
        .get(name)
        .ok_or_else(|| invalid(&format!("{name} is required")))?;
    text.parse()
        .map_err(|_| invalid(&format!("{name} `{text}` is not a date written YYYY-MM-DD")))
}

/// The period and metrics asked for, checked against Pinterest's rules at `today`.
fn parameters(raw: Option<&str>, today: Date) -> Result<(Date, Date, Vec<String>), ApiFailure> {
    let query: HashMap<String, String> = raw
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let start = date_parameter(&query, "start_date")?;
    let end = date_parameter(&query, "end_date")?;
    let days = |n: i64| jiff::Span::new().days(n);
    let earliest = today
        .checked_sub(days(RETENTION_DAYS))
        .map_err(|_| invalid("no such day"))?;
    if start < earliest {
        return Err(invalid(&format!(
            "start_date {start} is more than {RETENTION_DAYS} days back from today ({today})"
        )));
    }
    if end < start {
        return Err(invalid(&format!(
            "end_date {end} is before start_date {start}"
        )));
    }
    let latest = start
        .checked_add(days(RETENTION_DAYS))
        .map_err(|_| invalid("no such day"))?;
    if end > latest {
        return Err(invalid(&format!(
            "end_date {end} is more than {RETENTION_DAYS} days past start_date {start}"
        )));
    }
    let metrics: Vec<String> = query
        .get("metric_types")
        .ok_or_else(|| invalid("metric_types is required"))?
        .split(',')
        .map(|m| m.trim().to_owned())
        .collect();
    let known = |m: &str| PIN_METRIC_TYPES.contains(&m) || VIDEO_METRIC_TYPES.contains(&m);
    if let Some(unknown) = metrics.iter().find(|m| !known(m.as_str())) {
        return Err(invalid(&format!("unknown metric type `{unknown}`")));
    }
    Ok((start, end, metrics))
}

/// `GET /v5/pins/{pin_id}/analytics`.
pub(crate) async fn pin_analytics(
    State(shared): State<Arc<Shared>>,
    Path(pin_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiFailure> {
    let today = shared
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let (start, end, metrics) = parameters(raw.as_deref(), today)?;
    let pin = lock(&shared.store).pin(&pin_id)?.clone();
    if pin.owner.is_some() {
        return Err(ApiFailure {
            status: 403,
            code: 403,
            message: "Not authorized to access board or Pin.".to_owned(),
        });
    }
    let created = pin
        .created_at
        .get(..10)
        .and_then(|day| day.parse::<Date>().ok())
        .unwrap_or(today);
    let video = matches!(pin.media, PinMediaRecord::Video { .. });
    let mut daily = Vec::new();
    let mut ready: Vec<Map<String, Value>> = Vec::new();
    let mut day = start;
    while day <= end && day <= today {
        let (status, numbers) = if day < created {
            ("BEFORE_PIN_CREATED", Map::new())
        } else if day == today {
            ("PROCESSING", Map::new())
        } else {
            let numbers: Map<String, Value> = metrics
                .iter()
                .filter_map(|m| Some((m.clone(), json!(daily_value(&pin.id, day, m, video)?))))
                .collect();
            ready.push(numbers.clone());
            ("READY", numbers)
        };
        daily.push(json!({"date": day.to_string(), "data_status": status, "metrics": numbers}));
        day = match day.tomorrow() {
            Ok(next) => next,
            Err(_) => break,
        };
    }
    let body = json!({
        "all": {"daily_metrics": daily, "summary_metrics": summary(&ready, &metrics)},
    });
    Ok(axum::response::IntoResponse::into_response((
        StatusCode::OK,
        axum::Json(body),
    )))
}

/// The period's totals: sums, the save rate averaged, the average watch time weighted by
/// video views.
fn summary(ready: &[Map<String, Value>], metrics: &[String]) -> Map<String, Value> {
    let value = |day: &Map<String, Value>, name: &str| day.get(name).and_then(Value::as_f64);
    metrics
        .iter()
        .filter(|metric| ready.iter().any(|day| day.contains_key(metric.as_str())))
        .map(|metric| {
            let total = match metric.as_str() {
                "SAVE_RATE" => {
                    ready.iter().filter_map(|d| value(d, metric)).sum::<f64>() / ready.len() as f64
                }
                "VIDEO_AVG_WATCH_TIME" => {
                    let views: f64 = ready
                        .iter()
                        .filter_map(|d| value(d, "VIDEO_MRC_VIEW"))
                        .sum();
                    let watched: f64 = ready
                        .iter()
                        .map(|d| {
                            value(d, metric).unwrap_or(0.0)
                                * value(d, "VIDEO_MRC_VIEW").unwrap_or(0.0)
                        })
                        .sum();
                    if views > 0.0 { watched / views } else { 0.0 }
                }
                _ => ready.iter().filter_map(|d| value(d, metric)).sum(),
            };
            (metric.clone(), json!(total))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn numbers_are_fixed_per_pin_day_and_metric() {
        let day = date("2026-11-02");
        let a = daily_value("100000000000000002", day, "IMPRESSION", false).unwrap();
        assert_eq!(
            Some(a),
            daily_value("100000000000000002", day, "IMPRESSION", false)
        );
        assert!((0.0..500.0).contains(&a));
        assert_eq!(daily_value("1", day, "VIDEO_MRC_VIEW", false), None);
        assert!(daily_value("1", day, "VIDEO_MRC_VIEW", true).is_some());
        let differs = (0..20).any(|i| {
            daily_value(&i.to_string(), day, "IMPRESSION", false)
                != daily_value("1", day, "IMPRESSION", false)
        });
        assert!(differs);
    }

    #[test]
    fn the_period_follows_pinterest_s_limits() {
        let today = date("2026-12-10");
        let ask = |query: &str| parameters(Some(query), today);
        let (start, end, metrics) =
            ask("start_date=2026-09-11&end_date=2026-12-10&metric_types=IMPRESSION,SAVE").unwrap();
        assert_eq!((start, end), (date("2026-09-11"), date("2026-12-10")));
        assert_eq!(metrics, ["IMPRESSION", "SAVE"]);
        for (query, expected) in [
            (
                "start_date=2026-09-10&end_date=2026-09-20&metric_types=SAVE",
                "more than 90 days back",
            ),
            (
                "start_date=2026-12-01&end_date=2026-11-30&metric_types=SAVE",
                "is before start_date",
            ),
            (
                "start_date=2026-12-01&end_date=2026-12-02&metric_types=VIEWS",
                "unknown metric type",
            ),
            (
                "start_date=2026-12-01&metric_types=SAVE",
                "end_date is required",
            ),
            (
                "start_date=12/01/2026&end_date=2026-12-02&metric_types=SAVE",
                "YYYY-MM-DD",
            ),
            (
                "start_date=2026-12-01&end_date=2026-12-02",
                "metric_types is required",
            ),
        ] {
            let failure = ask(query).unwrap_err();
            assert_eq!(failure.status, 400);
            assert!(
                failure.message.contains(expected),
                "{query}: {}",
                failure.message
            );
        }
        let far = parameters(
            Some("start_date=2026-09-21&end_date=2026-12-21&metric_types=SAVE"),
            date("2026-12-20"),
        )
        .unwrap_err();
        assert!(
            far.message.contains("more than 90 days past start_date"),
            "{}",
            far.message
        );
    }
}
