//! The schedule on values alone: every rule checked over whole plans, many policies.

use std::time::Duration;

use super::*;
use crate::manifest::schedule::{parse_days, parse_window};

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap()
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// A pin of the test manifests, owning its strings.
#[derive(Debug, Clone)]
struct Row {
    key: String,
    board: String,
    link: Option<String>,
    explicit: Option<Timestamp>,
    phase: Phase,
}

fn row(key: &str, board: &str, link: &str) -> Row {
    Row {
        key: key.to_owned(),
        board: board.to_owned(),
        link: Some(link.to_owned()),
        explicit: None,
        phase: Phase::Pending,
    }
}

fn slot_pins(rows: &[Row]) -> Vec<SlotPin<'_>> {
    rows.iter()
        .map(|r| SlotPin {
            key: &r.key,
            board: &r.board,
            link: r.link.as_deref(),
            explicit: r.explicit,
            phase: r.phase,
        })
        .collect()
}

fn history(rows: &[Row]) -> Vec<Published<'_>> {
    rows.iter()
        .filter_map(|r| match r.phase {
            Phase::Published(at) => Some(Published {
                link: r.link.as_deref(),
                at,
            }),
            _ => None,
        })
        .collect()
}

fn run(policy: &SchedulePolicy, tz: &TimeZone, rows: &[Row], now: Timestamp) -> Times {
    assign(policy, tz, &slot_pins(rows), &history(rows), now)
}

/// The judged manifest: 300 pins on three boards, written in blocks of a board (as a
/// spreadsheet sorted by board would be) with some repeated links and two explicit times.
fn drip_manifest() -> Vec<Row> {
    let mut rows = Vec::new();
    for block in 0..15 {
        let board = ["Kitchen", "Garden", "Living room"][block % 3];
        for i in 0..20 {
            let n = block * 20 + i;
            // Every tenth pin shares its link with the pin ten before it.
            let link = if n % 10 == 9 && n >= 10 {
                format!("https://shop.example/p/{}", n - 10)
            } else {
                format!("https://shop.example/p/{n}")
            };
            rows.push(row(&format!("pin-{n:03}"), board, &link));
        }
    }
    rows[5].explicit = Some(at("2026-12-12T10:00:00Z"));
    rows[150].explicit = Some(at("2027-01-05T12:00:00Z"));
    rows
}

fn drip_policy() -> SchedulePolicy {
    SchedulePolicy {
        start: Some(at("2026-12-10T07:00:00Z")),
        per_day: Some(10),
        between: Some(parse_window("08:00-21:00").unwrap()),
        every: Some(minutes(30)),
        jitter: Some(minutes(20)),
        ..SchedulePolicy::default()
    }
}

/// Checks every rule of `policy` over the due times of `rows` (all pending).
fn check_rules(policy: &SchedulePolicy, tz: &TimeZone, rows: &[Row], times: &Times) {
    let rules = Rules::of(policy);
    let mut timeline: Vec<(i64, &Row)> = rows
        .iter()
        .zip(&times.due)
        .map(|(row, due)| (due.expect("every pin has a time").as_millisecond(), row))
        .collect();
    timeline.sort_by_key(|(t, _)| *t);
    let mut per_day: HashMap<Date, u32> = HashMap::new();
    for (t, row) in &timeline {
        let local = tz.to_datetime(timestamp(*t));
        *per_day.entry(local.date()).or_default() += 1;
        if row.explicit.is_some() {
            continue;
        }
        let minute =
            u16::try_from(local.hour()).unwrap() * 60 + u16::try_from(local.minute()).unwrap();
        assert!(
            minute >= rules.window.0 && minute < rules.window.1,
            "{} at {local} is outside the window",
            row.key
        );
        let weekday = u8::try_from(local.date().weekday().to_monday_zero_offset()).unwrap();
        assert!(rules.days.contains(weekday), "{} on a day off", row.key);
        if let Some(start) = policy.start {
            assert!(*t >= start.as_millisecond(), "{} before the start", row.key);
        }
    }
    if let Some(limit) = policy.per_day {
        for (date, count) in &per_day {
            assert!(*count <= limit, "{date}: {count} pins");
        }
    }
    for pair in timeline.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(
            gap >= rules.every,
            "{} and {} are {gap} ms apart",
            pair[0].1.key,
            pair[1].1.key
        );
    }
    let mut by_link: HashMap<&str, Vec<i64>> = HashMap::new();
    for (t, row) in &timeline {
        if let Some(link) = &row.link {
            by_link.entry(link).or_default().push(*t);
        }
    }
    for (link, times) in by_link {
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] >= rules.same_link,
                "{link} repeated too soon"
            );
        }
    }
    for (row, due) in rows.iter().zip(&times.due) {
        if let Some(explicit) = row.explicit {
            assert_eq!(*due, Some(explicit), "{}: its own time is kept", row.key);
        }
    }
}

/// The longest run of one board in publishing order that another board's pin could have broken:
/// a run counts only while some other board still has pins after it.
fn longest_breakable_run(rows: &[Row], times: &Times) -> usize {
    let mut order: Vec<(Timestamp, &str)> = rows
        .iter()
        .zip(&times.due)
        .map(|(row, due)| (due.unwrap(), row.board.as_str()))
        .collect();
    order.sort();
    let mut longest = 0;
    let mut run = 0;
    for (i, (_, board)) in order.iter().enumerate() {
        run = if i > 0 && order[i - 1].1 == *board {
            run + 1
        } else {
            1
        };
        let others_left = order[i + 1..].iter().any(|(_, b)| b != board);
        if others_left {
            longest = longest.max(run);
        }
    }
    longest
}

#[test]
fn three_hundred_pins_ten_a_day_in_working_hours_keep_every_rule() {
    let tz = zone("Europe/Paris");
    let rows = drip_manifest();
    let policy = drip_policy();
    let now = at("2026-12-01T00:00:00Z");
    let times = run(&policy, &tz, &rows, now);
    check_rules(&policy, &tz, &rows, &times);
    assert!(
        longest_breakable_run(&rows, &times) <= MAX_BOARD_RUN,
        "boards are interleaved"
    );
    // Ten a day from the start: 300 pins fill 30 days, and not many more.
    let days: BTreeSet<Date> = times
        .due
        .iter()
        .map(|due| tz.to_datetime(due.unwrap()).date())
        .collect();
    assert!((30..=32).contains(&days.len()), "{} days", days.len());
    assert_eq!(days.first().unwrap().to_string(), "2026-12-10");
    // Nothing is due before the start, so nothing is published early.
    assert!(times.due.iter().all(|due| due.unwrap() > now));
    // The slots are the due times when nothing ran late.
    for (row, (slot, due)) in rows.iter().zip(times.slot.iter().zip(&times.due)) {
        if row.explicit.is_none() {
            assert_eq!(slot, due, "{}", row.key);
        }
    }
}

#[test]
fn planning_twice_and_appending_rows_move_nothing() {
    let tz = zone("Europe/Paris");
    let policy = drip_policy();
    let now = at("2026-12-01T00:00:00Z");
    let rows = drip_manifest();
    let first = run(&policy, &tz, &rows, now);
    assert_eq!(first, run(&policy, &tz, &rows, now));
    let mut appended = rows.clone();
    for n in 0..40 {
        let board = ["Garden", "Kitchen", "Attic"][n % 3];
        appended.push(row(
            &format!("new-{n}"),
            board,
            &format!("https://shop.example/p/{}", n % 7),
        ));
    }
    appended.push(Row {
        explicit: Some(at("2027-02-01T09:00:00Z")),
        ..row("new-explicit", "Kitchen", "https://other.example/")
    });
    let second = run(&policy, &tz, &appended, now);
    assert_eq!(
        &second.due[..rows.len()],
        &first.due[..],
        "earlier rows kept"
    );
    check_rules(&policy, &tz, &appended, &second);
    // A dated row appended into a day the earlier rows fill is kept as written, and they stay.
    let mut busy = rows.clone();
    busy.push(Row {
        explicit: Some(at("2026-12-11T09:00:00Z")),
        ..row("dated", "Kitchen", "https://other.example/")
    });
    let third = run(&policy, &tz, &busy, now);
    assert_eq!(&third.due[..rows.len()], &first.due[..]);
    assert_eq!(third.due[rows.len()], Some(at("2026-12-11T09:00:00Z")));
}

#[test]
fn a_backlog_is_not_rushed() {
    let tz = zone("UTC");
    let policy = SchedulePolicy {
        start: Some(at("2026-12-01T08:00:00Z")),
        per_day: Some(10),
        between: Some(parse_window("08:00-21:00").unwrap()),
        every: Some(minutes(30)),
        ..SchedulePolicy::default()
    };
    let mut rows: Vec<Row> = (0..40)
        .map(|n| row(&format!("p{n}"), "B", &format!("https://x.example/{n}")))
        .collect();
    // Two went out on the first day; nothing ran since, for four days.
    rows[0].phase = Phase::Published(at("2026-12-01T08:00:00Z"));
    rows[1].phase = Phase::Published(at("2026-12-01T09:30:00Z"));
    let now = at("2026-12-05T12:05:00Z");
    let times = run(&policy, &tz, &rows, now);
    let due: Vec<Timestamp> = times.due.iter().flatten().copied().collect();
    assert_eq!(due.len(), 38);
    assert_eq!(due[0], now, "the first overdue pin is due at once");
    let spread = Rules::of(&policy).spread();
    for pair in due.windows(2) {
        let gap = pair[1].as_millisecond() - pair[0].as_millisecond();
        assert!(gap >= spread, "{} then {}: not rushed", pair[0], pair[1]);
    }
    // The rest of today takes what is left of the window at the policy's spacing, within per_day.
    let today: Vec<&Timestamp> = due
        .iter()
        .filter(|t| tz.to_datetime(**t).date().to_string() == "2026-12-05")
        .collect();
    assert!(today.len() <= 10 && today.len() >= 6, "{}", today.len());
    assert_eq!(
        due.iter().filter(|t| **t <= now).count(),
        1,
        "one pin at a time"
    );
}

#[test]
fn the_pace_counts_what_was_really_published() {
    let tz = zone("UTC");
    let policy = SchedulePolicy {
        start: Some(at("2026-12-01T00:00:00Z")),
        per_day: Some(3),
        every: Some(minutes(60)),
        ..SchedulePolicy::default()
    };
    let mut rows: Vec<Row> = (0..6)
        .map(|n| row(&format!("p{n}"), "B", &format!("https://x.example/{n}")))
        .collect();
    // Published late: three today already, the last ten minutes ago.
    rows[0].phase = Phase::Published(at("2026-12-02T09:00:00Z"));
    rows[1].phase = Phase::Published(at("2026-12-02T10:00:00Z"));
    rows[2].phase = Phase::Published(at("2026-12-02T11:50:00Z"));
    let now = at("2026-12-02T12:00:00Z");
    let times = run(&policy, &tz, &rows, now);
    let next = times.due[3].unwrap();
    assert_eq!(
        tz.to_datetime(next).date().to_string(),
        "2026-12-03",
        "per_day counts today's three: {next}"
    );
    // A pin published ten minutes ago keeps the next one `every` away.
    rows[2].phase = Phase::Published(at("2026-12-01T11:50:00Z"));
    rows[1].phase = Phase::Published(at("2026-12-02T11:50:00Z"));
    let times = run(&policy, &tz, &rows, now);
    assert!(times.due[3].unwrap() >= at("2026-12-02T12:50:00Z"));
}

#[test]
fn without_a_start_the_schedule_begins_now_and_stays_put_once_a_pin_went() {
    let tz = zone("Asia/Tokyo");
    let policy = SchedulePolicy {
        per_day: Some(4),
        between: Some(parse_window("09:00-17:00").unwrap()),
        ..SchedulePolicy::default()
    };
    let mut rows: Vec<Row> = (0..10)
        .map(|n| row(&format!("p{n}"), "B", &format!("https://x.example/{n}")))
        .collect();
    // 10:30 in Tokyo: the 09:00-11:00 slot holds now, so the first pin is due at once.
    let now = at("2026-12-01T01:30:00Z");
    let before = run(&policy, &tz, &rows, now);
    assert_eq!(before.due[0], Some(now));
    assert_eq!(before.due[1], Some(at("2026-12-01T02:00:00Z")), "11:00");
    // It went; an hour later the others have not moved.
    rows[0].phase = Phase::Published(at("2026-12-01T01:30:02Z"));
    let later = run(&policy, &tz, &rows, at("2026-12-01T01:40:00Z"));
    assert_eq!(later.due[0], None);
    assert_eq!(&later.due[1..], &before.due[1..]);
}

#[test]
fn days_windows_and_clock_changes() {
    let tz = zone("Europe/Berlin");
    let policy = SchedulePolicy {
        start: Some(at("2026-03-25T00:00:00Z")),
        per_day: Some(5),
        between: Some(parse_window("01:00-04:00").unwrap()),
        days: Some(parse_days("mon..fri").unwrap()),
        every: Some(minutes(20)),
        jitter: Some(minutes(10)),
        ..SchedulePolicy::default()
    };
    // 2026-03-29 (a Sunday) skips 02:00-03:00 in Berlin; 2026-10-25 repeats it.
    let rows: Vec<Row> = (0..60)
        .map(|n| row(&format!("p{n}"), "B", &format!("https://x.example/{n}")))
        .collect();
    let times = run(&policy, &tz, &rows, at("2026-03-01T00:00:00Z"));
    check_rules(&policy, &tz, &rows, &times);
    for start in ["2026-03-27T00:00:00Z", "2026-10-23T00:00:00Z"] {
        let every_day = SchedulePolicy {
            start: Some(at(start)),
            days: None,
            ..policy.clone()
        };
        let times = run(&every_day, &tz, &rows, at("2026-03-01T00:00:00Z"));
        check_rules(&every_day, &tz, &rows, &times);
    }
}

#[test]
fn many_policies_keep_their_rules() {
    let rows: Vec<Row> = (0..120)
        .map(|n| {
            let board = ["A", "B", "C", "D"][(n / 7) % 4];
            let link = format!("https://x.example/{}", n % 25);
            row(&format!("k{n}"), board, &link)
        })
        .collect();
    let mut seed = fastrand::Rng::with_seed(7);
    for case in 0..40 {
        let tz = zone(
            [
                "UTC",
                "America/New_York",
                "Europe/Paris",
                "Australia/Sydney",
            ][case % 4],
        );
        let start_hour = seed.u16(0..20);
        let end_hour = seed.u16(start_hour + 1..=24);
        let window = parse_window(&format!("{start_hour:02}:00-{end_hour:02}:00")).unwrap();
        let per_day = seed.bool().then(|| seed.u32(1..30));
        let every = if per_day.is_none() || seed.bool() {
            Some(minutes(seed.u64(1..180)))
        } else {
            None
        };
        let policy = SchedulePolicy {
            start: Some(at("2026-11-20T05:00:00Z")),
            per_day,
            between: Some(window),
            days: seed.bool().then(|| parse_days("mon,wed,fri,sat").unwrap()),
            every,
            jitter: seed.bool().then(|| minutes(seed.u64(0..90))),
            same_link: Some(Duration::from_secs(seed.u64(0..4 * 86_400))),
        };
        let times = run(&policy, &tz, &rows, at("2026-11-01T00:00:00Z"));
        check_rules(&policy, &tz, &rows, &times);
    }
}

#[test]
fn idle_and_explicit_pins() {
    let tz = zone("UTC");
    let policy = SchedulePolicy {
        start: Some(at("2026-12-01T00:00:00Z")),
        every: Some(minutes(60)),
        ..SchedulePolicy::default()
    };
    let mut rows: Vec<Row> = (0..4)
        .map(|n| row(&format!("p{n}"), "B", &format!("https://x.example/{n}")))
        .collect();
    rows[1].phase = Phase::Idle;
    rows[2].explicit = Some(at("2026-12-01T01:30:00Z"));
    let times = run(&policy, &tz, &rows, at("2026-11-30T00:00:00Z"));
    assert_eq!(times.due[1], None, "blocked and held pins get no time");
    assert!(times.slot[1].is_some(), "but keep their slot");
    assert_eq!(times.due[2], Some(at("2026-12-01T01:30:00Z")));
    assert_eq!(times.slot[2], None);
    // p3 keeps an hour from the explicit pin.
    assert!(times.due[3].unwrap() >= at("2026-12-01T02:30:00Z"));
}

#[test]
fn every_alone_spaces_pins_with_their_jitter() {
    let tz = zone("UTC");
    let policy = SchedulePolicy {
        start: Some(at("2026-12-01T00:00:00Z")),
        every: Some(Duration::from_secs(1)),
        jitter: Some(Duration::from_millis(500)),
        ..SchedulePolicy::default()
    };
    let rows: Vec<Row> = (0..50)
        .map(|n| row(&format!("p{n}"), "B", &format!("https://x.example/{n}")))
        .collect();
    let times = run(&policy, &tz, &rows, at("2026-11-30T00:00:00Z"));
    check_rules(&policy, &tz, &rows, &times);
    let last = times.due[49].unwrap();
    assert!(last < at("2026-12-01T00:01:16Z"), "{last}");
    assert!(
        times
            .due
            .iter()
            .any(|t| t.unwrap().as_millisecond() % 1500 != 0),
        "each pin is offset by its own jitter"
    );
}

#[test]
fn days_sum_up_a_schedule() {
    let tz = zone("Europe/Paris");
    let times = [
        at("2026-12-10T07:12:00Z"),
        at("2026-12-10T19:47:00Z"),
        at("2026-12-10T12:00:00Z"),
        at("2026-12-11T07:00:00Z"),
    ];
    let days = days(times.into_iter(), &tz);
    assert_eq!(days.len(), 2);
    assert_eq!(days[0].line(), "Dec 10: 3 pins, 08:12-20:47");
    assert_eq!(days[1].line(), "Dec 11: 1 pin, 08:00");
    assert_eq!(days[0].date, "2026-12-10");
}
