//! Publish times as people write them: RFC 3339 with an offset, or a local date and time
//! (`2026-12-24 09:00`, `2026/12/24 9:00`, a date alone) read in one time zone. Spreadsheet
//! date cells arrive here as local date-times too (see `workbook.rs`).
//!
//! A local time that does not exist (clocks jump forward) or happens twice (clocks go back) is
//! refused with a message saying so, never silently moved.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};

/// The time zone local publish times are read in, with the name it is shown by.
#[derive(Debug, Clone)]
pub struct PublishZone {
    tz: TimeZone,
    name: String,
}

impl PublishZone {
    /// The zone named `name` (IANA, e.g. `Asia/Tokyo`, or `UTC`).
    pub fn named(name: &str) -> Result<PublishZone, String> {
        let trimmed = name.trim();
        match TimeZone::get(trimmed) {
            Ok(tz) => Ok(PublishZone {
                tz,
                name: trimmed.to_owned(),
            }),
            Err(_) => Err(format!("`{trimmed}` is not a known time zone")),
        }
    }

    /// The machine's time zone (UTC when it cannot be told).
    pub fn system() -> PublishZone {
        let tz = TimeZone::system();
        let name = tz
            .iana_name()
            .map_or_else(|| "the machine's time zone".to_owned(), str::to_owned);
        PublishZone { tz, name }
    }

    /// The zone's name as shown in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The jiff time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// `timestamp` as an RFC 3339 time with this zone's offset at that instant
    /// (`2026-12-24T09:00:00+09:00`; `Z` for UTC).
    pub fn rfc3339(&self, timestamp: Timestamp) -> String {
        let offset = self.tz.to_offset(timestamp);
        if offset == Offset::UTC {
            timestamp.to_string()
        } else {
            timestamp.display_with_offset(offset).to_string()
        }
    }

    /// `timestamp` for people: `2026-12-24 09:00 Asia/Tokyo (+09:00)`.
    pub fn human(&self, timestamp: Timestamp) -> String {
        let zoned = timestamp.to_zoned_datetime(self.tz.clone());
        let time = if zoned.second() == 0 {
            zoned.strftime("%Y-%m-%d %H:%M").to_string()
        } else {
            zoned.strftime("%Y-%m-%d %H:%M:%S").to_string()
        };
        format!("{time} {} ({})", self.name, zoned.offset())
    }
}

/// Why a publish time could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateProblem {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl fmt::Display for DateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

const FORMS_HINT: &str = "write e.g. 2026-12-24 09:00 (a local time), 2026/12/24 9:00, 2026-12-24, \
                          or 2026-12-24T09:00:00+01:00 with an offset";

/// Reads a publish time: RFC 3339 with an offset as is; a local date and time (or a date alone,
/// read as midnight) in `zone`.
pub fn parse_publish_at(text: &str, zone: &PublishZone) -> Result<Timestamp, DateProblem> {
    let text = text.trim();
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Ok(timestamp);
    }
    let Some(local) = parse_local(text)? else {
        return Err(DateProblem {
            message: format!("`{text}` is not a date and time"),
            hint: FORMS_HINT.to_owned(),
        });
    };
    resolve_local(local, text, zone)
}

/// A civil date-time in `zone`; a time that does not exist or happens twice there is a problem.
pub fn resolve_local(
    local: DateTime,
    written: &str,
    zone: &PublishZone,
) -> Result<Timestamp, DateProblem> {
    let ambiguous = zone.tz.to_ambiguous_timestamp(local);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { offset } => {
            offset.to_timestamp(local).map_err(|err| DateProblem {
                message: format!("`{written}` is out of range: {err}"),
                hint: FORMS_HINT.to_owned(),
            })
        }
        AmbiguousOffset::Gap { before, after } => Err(DateProblem {
            message: format!(
                "`{written}` does not exist in {}: the clocks jump forward there (from {before} to {after})",
                zone.name
            ),
            hint: format!(
                "choose a time outside the change, or write it with an offset, e.g. {}",
                with_offset(local, after)
            ),
        }),
        AmbiguousOffset::Fold { before, after } => Err(DateProblem {
            message: format!(
                "`{written}` happens twice in {}: the clocks go back there (at {before} and again at {after})",
                zone.name
            ),
            hint: format!(
                "write it with the offset you mean: {} or {}",
                with_offset(local, before),
                with_offset(local, after)
            ),
        }),
    }
}

fn with_offset(local: DateTime, offset: Offset) -> String {
    format!("{}{offset}", local.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// `YYYY-MM-DD` or `YYYY/MM/DD` (month and day may have one digit), optionally followed by a
/// space or `T` and `H:MM` or `H:MM:SS`. `Ok(None)` when the text has another shape; an error
/// when it has this shape but names no real date or time (`2026-02-30`).
pub fn parse_local(text: &str) -> Result<Option<DateTime>, DateProblem> {
    let (date, time) = match text.find([' ', 'T', 't']) {
        Some(at) => (&text[..at], Some(text[at + 1..].trim_start())),
        None => (text, None),
    };
    let separator = if date.contains('/') { '/' } else { '-' };
    let parts: Vec<&str> = date.split(separator).collect();
    let [year, month, day] = parts.as_slice() else {
        return Ok(None);
    };
    let digits = |s: &str, min: usize, max: usize| {
        (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !(digits(year, 4, 4) && digits(month, 1, 2) && digits(day, 1, 2)) {
        return Ok(None);
    }
    let (hour, minute, second) = match time {
        None => ("0", "0", "0"),
        Some(time) => {
            let parts: Vec<&str> = time.split(':').collect();
            match parts.as_slice() {
                [h, m] if digits(h, 1, 2) && digits(m, 2, 2) => (*h, *m, "0"),
                [h, m, s] if digits(h, 1, 2) && digits(m, 2, 2) && digits(s, 2, 2) => (*h, *m, *s),
                _ => return Ok(None),
            }
        }
    };
    let number = |s: &str| s.parse::<i16>().unwrap_or(-1);
    let (Ok(month), Ok(day), Ok(hour), Ok(minute), Ok(second)) = (
        i8::try_from(number(month)),
        i8::try_from(number(day)),
        i8::try_from(number(hour)),
        i8::try_from(number(minute)),
        i8::try_from(number(second)),
    ) else {
        return Ok(None);
    };
    DateTime::new(number(year), month, day, hour, minute, second, 0)
        .map(Some)
        .map_err(|_| DateProblem {
            message: format!("`{text}` is not a real date and time"),
            hint: "check the day of the month and the time (hours 0-23, minutes 0-59)".to_owned(),
        })
}

/// A civil date-time written back as pinbatch reads it as a local time: `2026-12-24 09:00:00`.
pub fn local_text(local: DateTime) -> String {
    local.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> PublishZone {
        PublishZone::named(name).unwrap()
    }

    #[test]
    fn rfc3339_with_an_offset_is_read_as_is() {
        let tokyo = zone("Asia/Tokyo");
        assert_eq!(
            parse_publish_at("2026-12-24T09:00:00Z", &tokyo).unwrap(),
            "2026-12-24T09:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(
            parse_publish_at(" 2026-12-24T10:00:00+01:00 ", &tokyo)
                .unwrap()
                .to_string(),
            "2026-12-24T09:00:00Z"
        );
    }

    #[test]
    fn local_forms_are_read_in_the_zone() {
        let tokyo = zone("Asia/Tokyo");
        for text in [
            "2026-12-24 09:00",
            "2026-12-24 09:00:00",
            "2026/12/24 9:00",
            "2026-12-24T09:00:00",
            "2026/12/24  9:00",
        ] {
            assert_eq!(
                parse_publish_at(text, &tokyo).unwrap().to_string(),
                "2026-12-24T00:00:00Z",
                "{text}"
            );
        }
        assert_eq!(
            parse_publish_at("2026/1/5", &tokyo).unwrap().to_string(),
            "2026-01-04T15:00:00Z"
        );
    }

    #[test]
    fn other_shapes_and_impossible_dates_are_problems() {
        let utc = zone("UTC");
        let problem = parse_publish_at("tomorrow", &utc).unwrap_err();
        assert_eq!(problem.message, "`tomorrow` is not a date and time");
        assert!(problem.hint.contains("2026/12/24 9:00"));
        let problem = parse_publish_at("2026-02-30 10:00", &utc).unwrap_err();
        assert!(problem.message.contains("not a real date"), "{problem}");
        assert!(parse_publish_at("2026-12-24 25:00", &utc).is_err());
        assert!(parse_publish_at("24.12.2026", &utc).is_err());
        assert!(parse_publish_at("2026-12", &utc).is_err());
    }

    #[test]
    fn times_skipped_or_repeated_by_dst_are_refused() {
        let berlin = zone("Europe/Berlin");
        let gap = parse_publish_at("2026-03-29 02:30", &berlin).unwrap_err();
        assert!(
            gap.message.contains("does not exist in Europe/Berlin"),
            "{gap}"
        );
        assert!(gap.hint.contains("2026-03-29T02:30:00+02"), "{}", gap.hint);
        let fold = parse_publish_at("2026-10-25 02:30", &berlin).unwrap_err();
        assert!(fold.message.contains("happens twice"), "{fold}");
        assert!(fold.hint.contains("+02") && fold.hint.contains("+01"));
        assert!(parse_publish_at("2026-10-25 03:30", &berlin).is_ok());
    }

    #[test]
    fn zones_show_their_offsets() {
        let tokyo = zone("Asia/Tokyo");
        let t: Timestamp = "2026-12-24T00:00:00Z".parse().unwrap();
        assert_eq!(tokyo.rfc3339(t), "2026-12-24T09:00:00+09:00");
        assert_eq!(tokyo.human(t), "2026-12-24 09:00 Asia/Tokyo (+09)");
        assert_eq!(zone("UTC").rfc3339(t), "2026-12-24T00:00:00Z");
        assert!(PublishZone::named("Mars/Olympus").is_err());
    }
}
