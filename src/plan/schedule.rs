//! The schedule: each pin's time from (policy, time zone, the manifest's pins in order, what
//! the state says was published and when, now). Pure: no I/O and no clock; `now` comes in.
//!
//! Two passes:
//!
//! 1. **Slots.** Every local day (on `days`) has a window (`between`, else the whole day) cut
//!    into slots: `per_day` equal slots, each at least `every` long (without `per_day`, slots
//!    `every` + `jitter` long). A pin's slot time is the slot's start plus its jitter, a fraction
//!    of `jitter` drawn from a hash of its key. Pins take slots first-fit in manifest order: the
//!    earliest free slot at or after the start that keeps `every` from every other pin, keeps
//!    `same_link` from every pin with the same link, keeps `per_day`, and gives no board more
//!    than [`MAX_BOARD_RUN`] slots in a row when the manifest has pins on other boards. A pin's
//!    own `publish_at` is kept as it is, and takes the slot it falls in: the rows after it keep
//!    clear of it. A pin's slot depends only on the policy and the pins before it, so appending
//!    rows never moves earlier ones (a dated row appended into a busy day is kept as written,
//!    and the rows before it stay where they were).
//! 2. **Due times.** Unpublished pins, in slot order, are due at their slot time unless what was
//!    really published says otherwise: never within `every` of a published pin, never more than
//!    `per_day` published and planned in a local day, never within `same_link` of a published
//!    pin with the same link. A pin whose slot passed unpublished (nothing ran) is due now, one
//!    at a time: the next goes at least a slot's spacing later (the slot length less the jitter),
//!    so a backlog is never rushed.
//!
//! Without `start`, the schedule starts now; once a pin has been published, at the slot that
//! pin went in, so the times stay put from run to run.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use crate::manifest::schedule::{DEFAULT_SAME_LINK, SchedulePolicy, Weekdays};

/// At most this many consecutive slots go to one board while the manifest has pins on others:
/// the next slot goes to another board's pin, or stays empty when none is left to take it.
pub(crate) const MAX_BOARD_RUN: usize = 3;

/// How many times one pin's due time may be pushed by the rules before the search gives up and
/// keeps the last candidate: far more than any policy needs, a guard against a loop.
const MAX_PUSHES: usize = 10_000;

const MINUTE_MS: i64 = 60_000;

/// One manifest pin, as the schedule sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotPin<'a> {
    /// Its key: seeds its jitter.
    pub key: &'a str,
    /// Its board as written: boards are interleaved.
    pub board: &'a str,
    /// Its link: pins with the same link are kept `same_link` apart.
    pub link: Option<&'a str>,
    /// Its own `publish_at`, kept as is.
    pub explicit: Option<Timestamp>,
    /// Where it stands.
    pub phase: Phase,
}

/// Where a pin stands for the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Not published yet: it gets a due time.
    Pending,
    /// Published at this time.
    Published(Timestamp),
    /// Neither published nor to be sent (blocked, held): it keeps its slot, gets no due time.
    Idle,
}

/// A pin already published, for the pace: the manifest's and the state's others.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Published<'a> {
    /// Its link, when known.
    pub link: Option<&'a str>,
    /// When it was published.
    pub at: Timestamp,
}

/// What the schedule gives each pin, by manifest index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Times {
    /// The slot the policy gives the pin (pins without `publish_at`).
    pub slot: Vec<Option<Timestamp>>,
    /// When an unpublished pin is due: its `publish_at`, or the time the schedule gives it
    /// (never before `now`; `now` itself when it is due).
    pub due: Vec<Option<Timestamp>>,
}

/// The resolved numbers of a policy, in milliseconds and minutes.
#[derive(Debug, Clone)]
struct Rules {
    window: (u16, u16),
    days: Weekdays,
    per_day: Option<u32>,
    every: i64,
    jitter: i64,
    same_link: i64,
}

impl Rules {
    fn of(policy: &SchedulePolicy) -> Rules {
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
        let window = policy
            .between
            .map_or((0, 24 * 60), |w| (w.start_minute, w.end_minute));
        Rules {
            window,
            days: policy.days.unwrap_or(Weekdays::ALL),
            per_day: policy.per_day,
            every: policy.every.map_or(0, ms),
            jitter: policy.jitter.map_or(0, ms),
            same_link: ms(policy.same_link.unwrap_or(DEFAULT_SAME_LINK)),
        }
    }

    /// The slot length and usable jitter for a window of `window_ms`.
    fn slot_shape(&self, window_ms: i64) -> (i64, i64) {
        match self.per_day {
            Some(per_day) => {
                let even = window_ms / i64::from(per_day.max(1));
                // Whole seconds, so that slot times read well.
                let even = if even >= 1000 {
                    even - even % 1000
                } else {
                    even
                };
                let len = even.max(self.every).max(1);
                (len, self.jitter.min(len - self.every).max(0))
            }
            None => ((self.every + self.jitter).max(1), self.jitter),
        }
    }

    /// The least distance a pin that runs late keeps from the one before it: a slot's length
    /// less its jitter, as on-time pins keep (on a day without a clock change).
    fn spread(&self) -> i64 {
        let window_ms = i64::from(self.window.1 - self.window.0) * MINUTE_MS;
        let (len, jitter) = self.slot_shape(window_ms);
        (len - jitter).max(self.every)
    }
}

/// One allowed local day of the grid.
#[derive(Debug, Clone, Copy)]
struct Day {
    date: Date,
    /// The window, as instants (ms since the epoch).
    start: i64,
    end: i64,
    /// Slot length and usable jitter.
    len: i64,
    jitter: i64,
    slots: usize,
    /// The index of its first slot among all slots.
    first: usize,
}

/// The slots, day after day from a first date, made as they are needed.
struct Grid<'r> {
    rules: &'r Rules,
    tz: TimeZone,
    days: Vec<Day>,
    next_date: Date,
}

impl<'r> Grid<'r> {
    fn new(rules: &'r Rules, tz: &TimeZone, from_ms: i64) -> Grid<'r> {
        let next_date = tz.to_datetime(timestamp(from_ms)).date();
        Grid {
            rules,
            tz: tz.clone(),
            days: Vec::new(),
            next_date,
        }
    }

    fn instant(&self, date: Date, minute: u16) -> Option<i64> {
        let (date, minute) = if minute >= 24 * 60 {
            (date.tomorrow().ok()?, minute - 24 * 60)
        } else {
            (date, minute)
        };
        let hour = i8::try_from(minute / 60).ok()?;
        let minute = i8::try_from(minute % 60).ok()?;
        let local = date.at(hour, minute, 0, 0);
        let at = self.tz.to_ambiguous_timestamp(local).compatible().ok()?;
        Some(at.as_millisecond())
    }

    /// Adds the next allowed day; false when the calendar ran out.
    fn extend(&mut self) -> bool {
        for _ in 0..8 {
            let date = self.next_date;
            let Ok(next) = date.tomorrow() else {
                return false;
            };
            self.next_date = next;
            let weekday = u8::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(7);
            if !self.rules.days.contains(weekday) {
                continue;
            }
            let (Some(start), Some(end)) = (
                self.instant(date, self.rules.window.0),
                self.instant(date, self.rules.window.1),
            ) else {
                continue;
            };
            if end <= start {
                continue;
            }
            let (len, jitter) = self.rules.slot_shape(end - start);
            // Every slot's whole jitter range ends before the window does.
            let room = end - start - jitter.max(1);
            let mut slots = usize::try_from(room / len).unwrap_or(0) + 1;
            if let Some(per_day) = self.rules.per_day {
                slots = slots.min(usize::try_from(per_day).unwrap_or(usize::MAX));
            }
            let first = self.days.last().map_or(0, |day| day.first + day.slots);
            self.days.push(Day {
                date,
                start,
                end,
                len,
                jitter,
                slots,
                first,
            });
            return true;
        }
        false
    }

    /// The day holding slot `index`, and the slot's place in it.
    fn locate(&mut self, index: usize) -> Option<(Day, usize)> {
        while self
            .days
            .last()
            .is_none_or(|day| day.first + day.slots <= index)
        {
            if !self.extend() {
                return None;
            }
        }
        let at = self
            .days
            .partition_point(|day| day.first + day.slots <= index);
        let day = self.days[at];
        Some((day, index - day.first))
    }

    /// The first day whose window ends after `at_ms`.
    fn day_ending_after(&mut self, at_ms: i64) -> Option<Day> {
        while self.days.last().is_none_or(|day| day.end <= at_ms) {
            if !self.extend() {
                return None;
            }
        }
        let at = self.days.partition_point(|day| day.end <= at_ms);
        Some(self.days[at])
    }

    /// The first slot whose period ends after `at_ms` (the slot holding it, or the next).
    fn slot_at_or_after(&mut self, at_ms: i64) -> Option<usize> {
        let day = self.day_ending_after(at_ms)?;
        if at_ms < day.start {
            return Some(day.first);
        }
        let k = usize::try_from((at_ms - day.start) / day.len).unwrap_or(0);
        Some(if k < day.slots {
            day.first + k
        } else {
            day.first + day.slots
        })
    }

    /// The slot whose period holds `at_ms`, if any.
    fn slot_holding(&mut self, at_ms: i64) -> Option<usize> {
        let day = self.day_ending_after(at_ms)?;
        if at_ms < day.start {
            return None;
        }
        let k = usize::try_from((at_ms - day.start) / day.len).ok()?;
        (k < day.slots).then_some(day.first + k)
    }
}

/// A pin's jitter as a fraction in `[0, 1)`, from its key: the same on every run.
fn jitter_fraction(key: &str) -> f64 {
    let digest = Sha256::digest(key.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// A pin's offset within a jitter of `jitter` ms: whole seconds (times read better), unless the
/// jitter is shorter than a second.
fn offset(fraction: f64, jitter: i64) -> i64 {
    let ms = (fraction * jitter as f64) as i64;
    if jitter >= 1000 { ms - ms % 1000 } else { ms }
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::MAX)
}

/// Whether `at` keeps `gap` from every time in `times`; else the first time after the one too
/// close at which it would.
fn clear_of(times: &BTreeSet<i64>, at: i64, gap: i64) -> Result<(), i64> {
    if gap <= 0 {
        return Ok(());
    }
    match times
        .range(at.saturating_sub(gap - 1)..=at.saturating_add(gap - 1))
        .next_back()
    {
        Some(close) => Err(close + gap),
        None => Ok(()),
    }
}

/// Gives every pin its slot and every unpublished pin its due time.
pub(crate) fn assign(
    policy: &SchedulePolicy,
    tz: &TimeZone,
    pins: &[SlotPin<'_>],
    history: &[Published<'_>],
    now: Timestamp,
) -> Times {
    let rules = Rules::of(policy);
    let start = match policy.start {
        Some(start) => start.as_millisecond(),
        None => default_start(&rules, tz, pins, now),
    };
    let mut grid = Grid::new(&rules, tz, start);
    let mut links = shared_links(
        pins.iter()
            .map(|pin| pin.link)
            .chain(history.iter().map(|p| p.link)),
    );
    let history_links = links.split_off(pins.len());
    let jitter: Vec<f64> = pins.iter().map(|pin| jitter_fraction(pin.key)).collect();
    let shared = Shared {
        links: &links,
        jitter: &jitter,
    };
    let slot = slots(&mut grid, pins, shared, start);
    let due = due_times(
        &mut grid,
        pins,
        &slot,
        (history, &history_links),
        shared,
        now.as_millisecond(),
    );
    Times {
        slot: slot.into_iter().map(|t| t.map(timestamp)).collect(),
        due: due.into_iter().map(|t| t.map(timestamp)).collect(),
    }
}

/// Without `start`: the start of the slot the first scheduled pin was published in, so that
/// the slots stay where they were when it went; before any, now.
fn default_start(rules: &Rules, tz: &TimeZone, pins: &[SlotPin<'_>], now: Timestamp) -> i64 {
    let first_published = pins
        .iter()
        .filter(|pin| pin.explicit.is_none())
        .filter_map(|pin| match pin.phase {
            Phase::Published(at) => Some(at.as_millisecond()),
            _ => None,
        })
        .min();
    let Some(first) = first_published else {
        return now.as_millisecond();
    };
    let mut grid = Grid::new(rules, tz, first);
    match grid.day_ending_after(first) {
        Some(day) if first >= day.start => {
            let k = (first - day.start) / day.len;
            day.start + k * day.len
        }
        Some(day) => day.start,
        None => first,
    }
}

/// An id for each link that more than one pin (published or not) has, in the order given, and
/// `None` for the others: only shared links need `same_link` kept, and a large manifest has
/// mostly links of its own (no map or set for each of those).
fn shared_links<'a>(links: impl Iterator<Item = Option<&'a str>>) -> Vec<Option<usize>> {
    let links: Vec<Option<&str>> = links.collect();
    let mut order: Vec<usize> = (0..links.len()).filter(|&i| links[i].is_some()).collect();
    order.sort_unstable_by_key(|&i| links[i]);
    let mut ids = vec![None; links.len()];
    let mut next = 0;
    for run in order.chunk_by(|a, b| links[*a] == links[*b]) {
        if run.len() > 1 {
            for &i in run {
                ids[i] = Some(next);
            }
            next += 1;
        }
    }
    ids
}

/// What both passes need of each pin, by manifest index: its shared-link id (see
/// [`shared_links`]) and its jitter fraction.
#[derive(Clone, Copy)]
struct Shared<'a> {
    links: &'a [Option<usize>],
    jitter: &'a [f64],
}

/// The times of each shared link (see [`shared_links`]), by id.
#[derive(Default)]
struct LinkTimes(Vec<BTreeSet<i64>>);

impl LinkTimes {
    fn add(&mut self, id: Option<usize>, at: i64) {
        if let Some(id) = id {
            if self.0.len() <= id {
                self.0.resize_with(id + 1, BTreeSet::new);
            }
            self.0[id].insert(at);
        }
    }

    fn of(&self, id: Option<usize>) -> Option<&BTreeSet<i64>> {
        id.and_then(|id| self.0.get(id))
    }
}

/// The slot every pin takes, first-fit in manifest order (see the module's documentation).
fn slots(
    grid: &mut Grid<'_>,
    pins: &[SlotPin<'_>],
    shared: Shared<'_>,
    start: i64,
) -> Vec<Option<i64>> {
    let links = shared.links;
    let rules = grid.rules;
    let mut boards: HashMap<&str, u32> = HashMap::new();
    for pin in pins.iter().filter(|pin| pin.explicit.is_none()) {
        let next = u32::try_from(boards.len()).unwrap_or(u32::MAX - 1);
        boards.entry(pin.board).or_insert(next);
    }
    let interleave = boards.len() > 1;
    let mut taken = Taken::default();
    let mut times: BTreeSet<i64> = BTreeSet::new();
    let mut by_link = LinkTimes::default();
    let mut per_day: BTreeMap<Date, u32> = BTreeMap::new();
    let Some(mut first_free) = grid.slot_at_or_after(start) else {
        return vec![None; pins.len()];
    };
    let mut out = vec![None; pins.len()];
    for (index, pin) in pins.iter().enumerate() {
        let board = *boards.entry(pin.board).or_insert(u32::MAX - 1);
        if let Some(explicit) = pin.explicit {
            let at = explicit.as_millisecond();
            if let Some(slot) = grid.slot_holding(at).filter(|slot| !taken.is_taken(*slot)) {
                taken.take(slot, board);
            }
            times.insert(at);
            by_link.add(links[index], at);
            *per_day
                .entry(grid.tz.to_datetime(explicit).date())
                .or_default() += 1;
            continue;
        }
        let fraction = shared.jitter[index];
        let mut candidate = first_free;
        let found = loop {
            if taken.is_taken(candidate) {
                candidate += 1;
                continue;
            }
            let Some((day, k)) = grid.locate(candidate) else {
                break None;
            };
            let at = (day.start + k as i64 * day.len + offset(fraction, day.jitter)).max(start);
            if rules
                .per_day
                .is_some_and(|limit| per_day.get(&day.date).copied().unwrap_or(0) >= limit)
            {
                candidate = day.first + day.slots;
                continue;
            }
            if clear_of(&times, at, rules.every).is_err() {
                candidate += 1;
                continue;
            }
            if let Some(times) = by_link.of(links[index])
                && let Err(after) = clear_of(times, at, rules.same_link)
            {
                candidate = grid
                    .slot_at_or_after(after)
                    .map_or(candidate + 1, |next| next.max(candidate + 1));
                continue;
            }
            if interleave && taken.run_through(candidate, board) > MAX_BOARD_RUN {
                candidate += 1;
                continue;
            }
            break Some((at, day.date));
        };
        let Some((at, date)) = found else {
            continue;
        };
        taken.take(candidate, board);
        times.insert(at);
        by_link.add(links[index], at);
        *per_day.entry(date).or_default() += 1;
        out[index] = Some(at);
        while taken.is_taken(first_free) {
            first_free += 1;
        }
    }
    out
}

/// Which slots are taken, and by which board.
#[derive(Default)]
struct Taken {
    boards: Vec<u32>,
}

impl Taken {
    const FREE: u32 = u32::MAX;

    fn is_taken(&self, slot: usize) -> bool {
        self.boards.get(slot).is_some_and(|b| *b != Self::FREE)
    }

    fn take(&mut self, slot: usize, board: u32) {
        if self.boards.len() <= slot {
            self.boards.resize(slot + 1, Self::FREE);
        }
        self.boards[slot] = board;
    }

    /// The run of consecutive slots of `board` that taking `slot` would make.
    fn run_through(&self, slot: usize, board: u32) -> usize {
        let of_board = |s: usize| self.boards.get(s).is_some_and(|b| *b == board);
        let before = (1..=MAX_BOARD_RUN)
            .take_while(|back| slot >= *back && of_board(slot - back))
            .count();
        let after = (1..=MAX_BOARD_RUN)
            .take_while(|ahead| of_board(slot + ahead))
            .count();
        before + 1 + after
    }
}

/// What the due-time pass counts: every pin published or planned, by time, link and day.
#[derive(Default)]
struct Ledger {
    times: BTreeSet<i64>,
    by_link: LinkTimes,
    per_day: BTreeMap<Date, u32>,
}

impl Ledger {
    /// Counts a pin at `at` (ms since the epoch), on local day `date`.
    fn add(&mut self, at: i64, link: Option<usize>, date: Date) {
        self.times.insert(at);
        self.by_link.add(link, at);
        *self.per_day.entry(date).or_default() += 1;
    }
}

/// The due time of every unpublished pin (see the module's documentation).
/// `history` comes with its shared-link ids, as the pins' are in `shared`.
fn due_times(
    grid: &mut Grid<'_>,
    pins: &[SlotPin<'_>],
    slot: &[Option<i64>],
    history: (&[Published<'_>], &[Option<usize>]),
    shared: Shared<'_>,
    now: i64,
) -> Vec<Option<i64>> {
    let links = shared.links;
    let rules = grid.rules;
    let tz = grid.tz.clone();
    let mut ledger = Ledger::default();
    for (published, link) in history.0.iter().zip(history.1) {
        let date = tz.to_datetime(published.at).date();
        ledger.add(published.at.as_millisecond(), *link, date);
    }
    let mut due = vec![None; pins.len()];
    // Pins with their own time keep it. Their slots already kept clear of them (those written
    // after them); here they do not count, or a dated row appended later would move the rows
    // before it. Once published, they count like any other.
    for (index, pin) in pins.iter().enumerate() {
        if let (Some(explicit), Phase::Pending) = (pin.explicit, pin.phase) {
            due[index] = Some(explicit.as_millisecond());
        }
    }
    let mut order: Vec<usize> = (0..pins.len())
        .filter(|&i| pins[i].explicit.is_none() && pins[i].phase == Phase::Pending)
        .filter(|&i| slot[i].is_some())
        .collect();
    order.sort_by_key(|&i| (slot[i], i));
    let spread = rules.spread();
    let mut previous: Option<i64> = None;
    let mut now_taken = false;
    for index in order {
        let Some(nominal) = slot[index] else {
            continue;
        };
        let fraction = shared.jitter[index];
        let mut at = nominal.max(now);
        let mut late = nominal < now;
        let mut date = None;
        for _ in 0..MAX_PUSHES {
            let before = at;
            if at == now && late && now_taken {
                at += 1;
            }
            if let Some(previous) = previous {
                let gap = if late { spread } else { rules.every };
                if at < previous + gap {
                    at = previous
                        + gap
                        + if late {
                            offset(fraction, rules.jitter)
                        } else {
                            0
                        };
                }
            }
            if let Err(after) = clear_of(&ledger.times, at, rules.every) {
                at = after;
            }
            if let Some(times) = ledger.by_link.of(links[index])
                && let Err(after) = clear_of(times, at, rules.same_link)
            {
                at = after;
            }
            let Some(day) = grid.day_ending_after(at) else {
                break;
            };
            if at < day.start {
                at = day.start + offset(fraction, day.jitter);
            } else if rules
                .per_day
                .is_some_and(|limit| ledger.per_day.get(&day.date).copied().unwrap_or(0) >= limit)
            {
                at = day.end;
            }
            if at == before {
                date = Some(day.date);
                break;
            }
            late = true;
        }
        if at == now {
            now_taken = true;
        }
        let date = date.unwrap_or_else(|| tz.to_datetime(timestamp(at)).date());
        ledger.add(at, links[index], date);
        previous = Some(at);
        due[index] = Some(at);
    }
    due
}

/// One local day of a schedule: how many pins are due, the first and the last (local times).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScheduleDay {
    /// The local date, `2026-12-10`.
    pub date: String,
    /// Pins due that day.
    pub pins: usize,
    /// The first one's local time, `08:12`.
    pub first: String,
    /// The last one's local time, `20:47`.
    pub last: String,
    /// The date for people, `Dec 10`.
    #[serde(skip)]
    pub label: String,
}

impl ScheduleDay {
    /// `Dec 10: 10 pins, 08:12-20:47` (or `Dec 11: 1 pin, 08:12`).
    pub fn line(&self) -> String {
        if self.pins == 1 {
            format!("{}: 1 pin, {}", self.label, self.first)
        } else {
            format!(
                "{}: {} pins, {}-{}",
                self.label, self.pins, self.first, self.last
            )
        }
    }
}

/// Due times grouped by local day in `tz`, in time order.
pub fn days(times: impl Iterator<Item = Timestamp>, tz: &TimeZone) -> Vec<ScheduleDay> {
    let mut times: Vec<Timestamp> = times.collect();
    times.sort();
    // Each day's first and last local time, formatted once per day, not once per pin.
    let mut spans: Vec<(jiff::civil::DateTime, jiff::civil::DateTime, usize)> = Vec::new();
    for at in times {
        let local = tz.to_datetime(at);
        match spans.last_mut() {
            Some((first, last, pins)) if first.date() == local.date() => {
                *last = local;
                *pins += 1;
            }
            _ => spans.push((local, local, 1)),
        }
    }
    spans
        .into_iter()
        .map(|(first, last, pins)| ScheduleDay {
            date: first.date().to_string(),
            pins,
            first: first.strftime("%H:%M").to_string(),
            last: last.strftime("%H:%M").to_string(),
            label: first.strftime("%b %d").to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
