//! The schedule policy as written: YAML's top-level `schedule:` block (or the same settings as
//! command-line flags) read into a [`SchedulePolicy`], every setting checked with a located
//! diagnostic. How the policy turns into each pin's time is `plan::schedule`'s business.
//!
//! The text forms are parsed here once, for the YAML reader and for the flags alike: a daily
//! window `08:00-21:00`, weekdays `mon..fri` (or `mon,wed,fri`), durations `30m`, `48h`.

use std::sync::Arc;
use std::time::Duration;

use super::datetime::{PublishZone, parse_publish_at};
use super::diagnostic::Diagnostic;
use super::entry::{Located, ScheduleEntry};
use super::model::Location;

/// How fast and when a manifest's pins are published, when they carry no `publish_at` of their
/// own. Every setting is optional; a usable policy sets `per_day` or `every` (see
/// [`SchedulePolicy::has_pace`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulePolicy {
    /// The first pin may go at this instant, not before (default: see `plan::schedule`).
    pub start: Option<jiff::Timestamp>,
    /// At most this many pins in one local calendar day.
    pub per_day: Option<u32>,
    /// The daily window pins go in, in local time.
    pub between: Option<DailyWindow>,
    /// The weekdays pins go on (all when absent).
    pub days: Option<Weekdays>,
    /// The least time between two pins of the manifest.
    pub every: Option<Duration>,
    /// The largest random offset of a pin within its slot, seeded by its key.
    pub jitter: Option<Duration>,
    /// The least time between two pins with the same link ([`DEFAULT_SAME_LINK`] when absent).
    pub same_link: Option<Duration>,
}

/// `same_link` when a schedule does not say: two pins of one link at least two days apart.
pub const DEFAULT_SAME_LINK: Duration = Duration::from_secs(48 * 3600);

impl SchedulePolicy {
    /// Whether no setting is given at all.
    pub fn is_empty(&self) -> bool {
        *self == SchedulePolicy::default()
    }

    /// Whether the policy says how fast to go: `per_day` or `every`.
    pub fn has_pace(&self) -> bool {
        self.per_day.is_some() || self.every.is_some()
    }

    /// This policy with every setting that `over` gives replaced by `over`'s (flags over the
    /// manifest's block).
    pub fn overridden_by(&self, over: &SchedulePolicy) -> SchedulePolicy {
        SchedulePolicy {
            start: over.start.or(self.start),
            per_day: over.per_day.or(self.per_day),
            between: over.between.or(self.between),
            days: over.days.or(self.days),
            every: over.every.or(self.every),
            jitter: over.jitter.or(self.jitter),
            same_link: over.same_link.or(self.same_link),
        }
    }
}

/// A daily window in local time, `[start, end)` in minutes since midnight (`end` may be 1440,
/// written `24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyWindow {
    /// First minute of the window.
    pub start_minute: u16,
    /// The minute the window ends (exclusive).
    pub end_minute: u16,
}

impl std::fmt::Display for DailyWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.start_minute), hm(self.end_minute))
    }
}

/// A set of weekdays; bit 0 is Monday, bit 6 Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekdays(pub u8);

/// Weekday names in order, Monday first (jiff's `to_monday_zero_offset`).
const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Weekdays {
    /// Every day of the week.
    pub const ALL: Weekdays = Weekdays(0x7f);

    /// Whether `day` (0 = Monday) is in the set.
    pub fn contains(self, day: u8) -> bool {
        day < 7 && self.0 & (1 << day) != 0
    }
}

impl std::fmt::Display for Weekdays {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = (0..7u8)
            .filter(|day| self.contains(*day))
            .map(|day| DAY_NAMES[usize::from(day)])
            .collect();
        f.write_str(&names.join(","))
    }
}

/// Why a setting could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingProblem {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

fn problem(message: impl Into<String>, hint: impl Into<String>) -> SettingProblem {
    SettingProblem {
        message: message.into(),
        hint: hint.into(),
    }
}

/// Reads `per_day`: a whole number of at least 1.
pub fn parse_per_day(text: &str) -> Result<u32, SettingProblem> {
    let hint = "write how many pins may go in one day, e.g. 10";
    match text.trim().parse::<u32>() {
        Ok(0) => Err(problem(
            "must be at least 1 (0 would publish nothing)",
            hint,
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(problem(
            format!("`{}` is not a whole number", text.trim()),
            hint,
        )),
    }
}

/// Reads a time of day `H:MM` (0:00 to 24:00) into minutes since midnight.
fn parse_clock(text: &str) -> Option<u16> {
    let (hours, minutes) = text.trim().split_once(':')?;
    let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(hours, 1..=2) || !digits(minutes, 2..=2) {
        return None;
    }
    let (hours, minutes): (u16, u16) = (hours.parse().ok()?, minutes.parse().ok()?);
    let total = hours * 60 + minutes;
    (minutes < 60 && total <= 24 * 60).then_some(total)
}

/// Reads a daily window `08:00-21:00` (local times; the end may be `24:00`). A window that
/// ends before it starts, or at the same time, is refused: it cannot cross midnight.
pub fn parse_window(text: &str) -> Result<DailyWindow, SettingProblem> {
    let hint = "write the window as START-END in local time, e.g. 08:00-21:00 (END may be 24:00)";
    let text = text.trim();
    let Some((start, end)) = text.split_once('-') else {
        return Err(problem(
            format!("`{text}` is not a window such as 08:00-21:00"),
            hint,
        ));
    };
    let (Some(start_minute), Some(end_minute)) = (parse_clock(start), parse_clock(end)) else {
        return Err(problem(
            format!("`{text}` is not a window such as 08:00-21:00 (times are H:MM, 0:00 to 24:00)"),
            hint,
        ));
    };
    if end_minute <= start_minute {
        return Err(problem(
            format!("`{text}` ends before it starts"),
            "a window cannot cross midnight: write one that starts before it ends, e.g. 08:00-21:00, and choose the days with `days`",
        ));
    }
    Ok(DailyWindow {
        start_minute,
        end_minute,
    })
}

fn day_index(name: &str) -> Option<u8> {
    let lower = name.trim().to_ascii_lowercase();
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    (0..7u8).find(|&day| {
        let i = usize::from(day);
        lower == DAY_NAMES[i] || lower == full[i]
    })
}

/// Reads weekdays: names (`mon` or `monday`, any case) separated by commas or spaces, and
/// ranges `mon..fri` (or `mon-fri`); a range may wrap over Sunday (`sat..mon`).
pub fn parse_days(text: &str) -> Result<Weekdays, SettingProblem> {
    let hint = "write days as mon, tue, wed, thu, fri, sat, sun, or ranges such as mon..fri";
    let mut set = 0u8;
    for part in text
        .split([',', ' ', '|'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let range = part.split_once("..").or_else(|| part.split_once('-'));
        match range {
            Some((from, to)) => {
                let (Some(from), Some(to)) = (day_index(from), day_index(to)) else {
                    return Err(problem(format!("`{part}` is not a range of days"), hint));
                };
                let mut day = from;
                loop {
                    set |= 1 << day;
                    if day == to {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            }
            None => match day_index(part) {
                Some(day) => set |= 1 << day,
                None => return Err(problem(format!("`{part}` is not a day of the week"), hint)),
            },
        }
    }
    if set == 0 {
        return Err(problem("names no day", hint));
    }
    Ok(Weekdays(set))
}

/// Reads a duration such as `30m`, `2h`, `1h 30m`, `48h` or `0`. `positive` refuses zero.
pub fn parse_duration(text: &str, positive: bool) -> Result<Duration, SettingProblem> {
    let hint = "write a duration such as 90s, 30m, 2h or 2d";
    let text = text.trim();
    let duration = if text == "0" {
        Duration::ZERO
    } else {
        humantime::parse_duration(text)
            .map_err(|err| problem(format!("`{text}` is not a duration ({err})"), hint))?
    };
    if positive && duration.is_zero() {
        return Err(problem("must be more than 0", hint));
    }
    Ok(duration)
}

/// The YAML `schedule:` block read into a policy; every problem becomes a diagnostic at its
/// value, and `None` is returned when there was one. `start` is read in `zone`, as `publish_at`.
pub(crate) fn policy_from_entry(
    entry: &ScheduleEntry,
    zone: &PublishZone,
    file: &Arc<str>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<SchedulePolicy> {
    let before = diagnostics.len();
    let mut report = |value: &Located, field: &str, problem: SettingProblem| {
        diagnostics.push(
            Diagnostic::error(
                Location {
                    file: file.clone(),
                    position: value.pos,
                },
                problem.message,
            )
            .with_field(format!("schedule.{field}"))
            .with_hint(problem.hint),
        );
    };
    let mut policy = SchedulePolicy::default();
    macro_rules! read {
        ($field:ident, $parse:expr) => {
            if let Some(value) = &entry.$field {
                match ($parse)(value.value.as_str()) {
                    Ok(parsed) => policy.$field = Some(parsed),
                    Err(err) => report(value, stringify!($field), err),
                }
            }
        };
    }
    read!(start, |text| parse_publish_at(text, zone)
        .map_err(|p| problem(p.message, p.hint)));
    read!(per_day, parse_per_day);
    read!(between, parse_window);
    read!(days, parse_days);
    read!(every, |text| parse_duration(text, true));
    read!(jitter, |text| parse_duration(text, false));
    read!(same_link, |text| parse_duration(text, false));
    if diagnostics.len() > before {
        return None;
    }
    if !policy.has_pace() {
        diagnostics.push(
            Diagnostic::error(
                Location {
                    file: file.clone(),
                    position: entry.pos,
                },
                "sets no pace",
            )
            .with_field("schedule")
            .with_hint("add `per_day` (pins per day) or `every` (the least time between two pins)"),
        );
        return None;
    }
    Some(policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Position;

    #[test]
    fn windows_are_read_and_checked() {
        assert_eq!(
            parse_window("08:00-21:00").unwrap(),
            DailyWindow {
                start_minute: 480,
                end_minute: 1260
            }
        );
        assert_eq!(parse_window(" 8:30-24:00 ").unwrap().end_minute, 1440);
        assert_eq!(
            parse_window("08:00-21:00").unwrap().to_string(),
            "08:00-21:00"
        );
        let backwards = parse_window("21:00-08:00").unwrap_err();
        assert!(
            backwards.message.contains("ends before it starts"),
            "{backwards:?}"
        );
        assert!(parse_window("09:00-09:00").is_err());
        for bad in [
            "8-21",
            "08:00",
            "08:60-09:00",
            "25:00-26:00",
            "08:00-24:01",
            "a-b",
        ] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn days_take_names_lists_and_ranges() {
        assert_eq!(parse_days("mon..fri").unwrap(), Weekdays(0b001_1111));
        assert_eq!(parse_days("Mon-Fri").unwrap(), Weekdays(0b001_1111));
        assert_eq!(parse_days("sat, sunday").unwrap(), Weekdays(0b110_0000));
        assert_eq!(parse_days("sat..mon").unwrap(), Weekdays(0b110_0001));
        assert_eq!(
            parse_days("mon,wed,fri").unwrap().to_string(),
            "mon,wed,fri"
        );
        assert!(Weekdays::ALL.contains(6));
        assert!(!parse_days("mon").unwrap().contains(1));
        for bad in ["", "funday", "mon..someday", ","] {
            assert!(parse_days(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_and_durations() {
        assert_eq!(parse_per_day("10").unwrap(), 10);
        assert!(
            parse_per_day("0")
                .unwrap_err()
                .message
                .contains("at least 1")
        );
        assert!(parse_per_day("ten").is_err());
        assert_eq!(
            parse_duration("30m", true).unwrap(),
            Duration::from_secs(1800)
        );
        assert_eq!(parse_duration("0", false).unwrap(), Duration::ZERO);
        assert!(parse_duration("0", true).is_err());
        assert!(parse_duration("soon", false).is_err());
    }

    #[test]
    fn flags_override_the_block_setting_by_setting() {
        let block = SchedulePolicy {
            per_day: Some(10),
            every: Some(Duration::from_secs(1800)),
            ..SchedulePolicy::default()
        };
        let flags = SchedulePolicy {
            per_day: Some(5),
            ..SchedulePolicy::default()
        };
        let merged = block.overridden_by(&flags);
        assert_eq!(merged.per_day, Some(5));
        assert_eq!(merged.every, Some(Duration::from_secs(1800)));
        assert!(SchedulePolicy::default().is_empty());
        assert!(!SchedulePolicy::default().has_pace());
    }

    fn entry(setting: &str, value: &str) -> ScheduleEntry {
        let mut entry = ScheduleEntry::empty(Position::LineColumn { line: 3, column: 1 });
        let at = Position::LineColumn {
            line: 4,
            column: 12,
        };
        if let Some(slot) = entry.field_mut(setting) {
            *slot = Some(Located::new(value, at));
        }
        if setting != "per_day" {
            entry.per_day = Some(Located::new("10", at));
        }
        entry
    }

    #[test]
    fn bad_settings_are_located_diagnostics() {
        let zone = PublishZone::named("Europe/Berlin").unwrap();
        let file: Arc<str> = Arc::from("m.yaml");
        for (setting, value, expected) in [
            ("between", "21:00-08:00", "ends before it starts"),
            ("per_day", "0", "at least 1"),
            (
                "start",
                "2026-03-29 02:30",
                "does not exist in Europe/Berlin",
            ),
            ("days", "someday", "not a day"),
            ("every", "fast", "not a duration"),
        ] {
            let mut diagnostics = Vec::new();
            let policy = policy_from_entry(&entry(setting, value), &zone, &file, &mut diagnostics);
            assert!(policy.is_none(), "{setting}");
            assert_eq!(diagnostics.len(), 1, "{setting}: {diagnostics:?}");
            let d = &diagnostics[0];
            assert!(d.message.contains(expected), "{setting}: {}", d.message);
            assert_eq!(
                d.field.as_deref(),
                Some(format!("schedule.{setting}").as_str())
            );
            assert_eq!(d.location.to_string(), "m.yaml:4:12");
        }
        let mut diagnostics = Vec::new();
        let no_pace = ScheduleEntry::empty(Position::LineColumn { line: 3, column: 1 });
        assert!(policy_from_entry(&no_pace, &zone, &file, &mut diagnostics).is_none());
        assert!(diagnostics[0].message.contains("no pace"));
        let mut diagnostics = Vec::new();
        let good = policy_from_entry(
            &entry("start", "2026-12-10 08:00"),
            &zone,
            &file,
            &mut diagnostics,
        )
        .unwrap();
        assert_eq!(good.start.unwrap().to_string(), "2026-12-10T07:00:00Z");
    }
}
