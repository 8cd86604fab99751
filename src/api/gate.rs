//! `RateGate`: one pacing gate shared by every request of a client (and, through a ledger, by
//! every pinbatch process writing to the same account), so that a 429 seen by one request
//! pauses all of them, `--rate-limit` holds, and the server's write budget is used to the full
//! without being overrun.
//!
//! The model: a server announces its write budget in `X-RateLimit-Limit` (L),
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset`. Whatever its policy, L writes in any
//! trailing window W never exceed it, when W is the time the budget takes to come back whole:
//! a fixed window allows at least that, a sliding window exactly that, and a token bucket of L
//! refilled in W also (it refills as fast as writes leave the window). So the gate bursts while
//! fewer than L of its writes lie in the last W, then sends each next write as an old one leaves
//! the window. L comes from the headers; W is learnt from Reset: the most it reads is the
//! budget's full recovery time (a fixed window's length, a bucket's time to fill from empty).
//! Remaining then tells whether someone else uses the budget too (the server counted more than
//! this log holds); those writes are reckoned with until they have left the window.
//!
//! The decisions live in [`GateState`], a pure state machine over `Instant`s (tested with a fake
//! clock); [`RateGate`] adds a mutex, the sleep and the shared ledger.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::api::ledger::{self, Ledger, LedgerEntry, LedgerSend};
pub use crate::api::limit_headers::RateLimitHeaders;

/// Added to the `--rate-limit` spacing. A paced request starts up to about 2 ms after its slot
/// (tokio's timer works in whole milliseconds), so two starts spaced exactly `1/rate` apart can
/// land closer than that: enough for a sliding or fixed window of exactly `rate` per second to
/// count one too many now and then. With this much added, no gap is ever shorter than `1/rate`.
const PACING_SLACK: Duration = Duration::from_millis(2);

/// A write starts this much (at least) after the oldest write of a full window would let it.
/// Writes count in the log from when their answer came (see [`GateState::sent`]), the latest
/// the server can have counted them, however late a busy machine or a slow connection made
/// them; this only covers the timer's own lateness.
const WINDOW_SLACK: Duration = Duration::from_millis(5);

/// The slack for a window: [`WINDOW_SLACK`], or a two-hundredth of a longer window.
fn slack(window: Duration) -> Duration {
    WINDOW_SLACK.max(window / 200)
}

/// How long a write waits for another process's first answers to tell the budget (see
/// [`GateState::awaits_budget`]) before it goes anyway.
const AWAIT_BUDGET_FOR: Duration = Duration::from_secs(2);

/// How often a write waiting for the budget looks again.
const AWAIT_BUDGET_POLL: Duration = Duration::from_millis(10);

/// A budget that comes back later than this is a quota for hours or the day: waiting for it is
/// not pacing, and requests fail at once instead (see [`GateState::exhausted_until`]).
pub const QUOTA_WAIT: Duration = Duration::from_secs(10 * 60);

/// What the headers taught about the write budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Writes allowed per window (`X-RateLimit-Limit`).
    pub limit: u64,
    /// The window: the longest the budget took to come back whole.
    pub window: Duration,
}

/// One write let through: when it counts, when it started, and its ticket when it is this
/// process's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Send {
    /// When the server counted it at the latest, as far as known: its start, then its answer.
    at: Instant,
    /// When it was let through (before that, the server cannot have counted it).
    start: Instant,
    ticket: Option<u64>,
}

/// The answers to the writes that may have been the first counted since a reset.
#[derive(Debug, Clone, Copy)]
struct ResetTally {
    /// The reset.
    reset: Instant,
    /// When the first answer to a write sent since came: only writes sent before it can have
    /// been counted first.
    first_answer: Instant,
    /// How many of those writes were answered.
    answered: u64,
    /// The most any of them saw left.
    most_left: u64,
}

/// Which request a response belongs to, in the order the gate let them through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// Whether a request spends the write budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A POST, PATCH or DELETE: counted against the write budget.
    Write,
    /// A read: only pauses and `--rate-limit` hold it.
    Read,
}

/// The pure pacing state: when the next request may start.
#[derive(Debug, Clone)]
pub struct GateState {
    /// Spacing from `--rate-limit`, if set.
    fixed_interval: Option<Duration>,
    /// The earliest start of the next request paced by `--rate-limit`.
    next_fixed: Option<Instant>,
    /// No request starts before this (set by 429s).
    not_before: Option<Instant>,
    /// The write budget, once the headers told it.
    budget: Option<Budget>,
    /// Further policies the headers named (a list of them, or IETF `RateLimit-Policy`): each
    /// holds as a trailing window over this process's writes.
    extra: Vec<Budget>,
    /// The writes let through, in start order: what counts against the budget.
    sends: VecDeque<Send>,
    /// Requests let through so far; tickets are 1, 2, ...
    reserved: u64,
    /// The newest request whose answer's headers were followed.
    observed: u64,
    /// Writes of others the server counted and this log does not hold, and until when they
    /// count (they have left the window by then).
    foreign: Option<(u64, Instant)>,
    /// A quota used up until then: requests fail at once instead of waiting.
    exhausted_until: Option<SystemTime>,
    /// When the quota was found used up, by this clock (to share it only with processes
    /// running then).
    exhausted_seen: Option<Instant>,
    /// Since when this state is shared through a ledger.
    sharing_since: Option<Instant>,
    /// Whether the ledger held another process's recent writes when last read.
    others_writing: bool,
    /// When the budget comes back whole, as the latest answers announced it: at the latest
    /// (the earliest instant any of them allows).
    whole_at: Option<Instant>,
    /// The announced instant the budget last came back whole: the writes counted since are
    /// all that count against it until `whole_at`.
    whole_since: Option<Instant>,
    /// When an answer last showed the budget used up (none left), until it is seen back.
    used_up_at: Option<Instant>,
    /// Whether the server's budget has been seen to come back whole when announced (a window
    /// that ends, a bucket that fills): then the writes before that instant stop counting at it.
    /// `None` until an answer tells; a sliding window, which frees its writes one by one, says
    /// no.
    resets_whole: Option<bool>,
    /// The last announced reset seen to pass.
    reset_passed: Option<Instant>,
    /// Whether the probe last answered went after the budget was seen used up since the last
    /// reset (only then does its being taken show budget coming back before the reset).
    probe_after_used_up: bool,
    /// What the answers since the last reset seen to pass tell (see
    /// [`GateState::judge_whole`]).
    since_reset: Option<ResetTally>,
    /// The write let through before the announced reset to find out what is back (its ticket
    /// and start), until its answer comes; other writes wait for it (see
    /// [`GateState::awaits_budget`]).
    probe: Option<(u64, Instant)>,
    /// The last probe whose answer came, while it is not known whether the server took it.
    probe_answered: Option<u64>,
    /// Since when writes of this process wait for another's first answers (see
    /// [`GateState::awaits_budget`]).
    awaiting_peers_since: Option<Instant>,
    /// Whether budget was seen to come back before the announced reset (a bucket refilling, a
    /// sliding window freeing a write): the trailing window then paces without probes.
    gradual: bool,
}

impl GateState {
    /// A gate pacing at `rate_per_second` requests per second, or unpaced when `None`.
    pub fn new(rate_per_second: Option<f64>) -> Self {
        let fixed_interval = rate_per_second
            .filter(|rate| rate.is_finite() && *rate > 0.0)
            .map(|rate| Duration::from_secs_f64(1.0 / rate) + PACING_SLACK);
        GateState {
            fixed_interval,
            next_fixed: None,
            not_before: None,
            budget: None,
            extra: Vec::new(),
            sends: VecDeque::new(),
            reserved: 0,
            observed: 0,
            foreign: None,
            exhausted_until: None,
            exhausted_seen: None,
            sharing_since: None,
            others_writing: false,
            whole_at: None,
            whole_since: None,
            used_up_at: None,
            resets_whole: None,
            reset_passed: None,
            probe_after_used_up: false,
            since_reset: None,
            probe: None,
            probe_answered: None,
            awaiting_peers_since: None,
            gradual: false,
        }
    }

    /// The write budget learnt so far.
    #[cfg(test)]
    pub fn budget(&self) -> Option<Budget> {
        self.budget
    }

    /// When a used-up quota comes back, if one is.
    pub fn exhausted_until(&self) -> Option<SystemTime> {
        self.exhausted_until
    }

    /// Reserves a start for one request asked for at `now`, and its ticket; the caller waits
    /// until then (and calls [`GateState::cancel`] if it does not go after all).
    pub fn reserve(&mut self, now: Instant, kind: RequestKind) -> (Instant, Ticket) {
        let mut start = now;
        if let Some(not_before) = self.not_before {
            start = start.max(not_before);
        }
        if let Some(next) = self.next_fixed {
            start = start.max(next);
        }
        let mut probe = false;
        if kind == RequestKind::Write
            && let Some(budget) = self.budget
        {
            (start, probe) = self.first_free(start, budget);
        }
        if let Some(interval) = self.fixed_interval {
            self.next_fixed = Some(start + interval);
        }
        self.reserved += 1;
        let ticket = self.reserved;
        if probe {
            self.probe = Some((ticket, start));
            self.probe_after_used_up = false;
        }
        if kind == RequestKind::Write {
            let at = self.sends.partition_point(|send| send.at <= start);
            self.sends.insert(
                at,
                Send {
                    at: start,
                    start,
                    ticket: Some(ticket),
                },
            );
            self.forget_before(now);
        }
        (start, Ticket(ticket))
    }

    /// The first moment from `start` at which one more write fits the budget, and whether it
    /// goes as a probe (see [`GateState::whole_or_probe`]).
    fn first_free(&self, mut start: Instant, budget: Budget) -> (Instant, bool) {
        for _ in 0..3 {
            let foreign = match self.foreign {
                Some((count, until)) if until > start => count,
                _ => 0,
            };
            if foreign >= budget.limit {
                if let Some((_, until)) = self.foreign {
                    start = start.max(until);
                }
                continue;
            }
            let allowed = usize::try_from(budget.limit - foreign).unwrap_or(usize::MAX);
            // The writes reserved at or before `start` that are still in its window, and any
            // reserved after it (they will be in the window of a later write): the `allowed`-th
            // latest of them must leave the window first.
            let mut trailing = start;
            for (limit, window) in
                std::iter::once((allowed, budget.window)).chain(self.extra.iter().map(|extra| {
                    (
                        usize::try_from(extra.limit).unwrap_or(usize::MAX),
                        extra.window,
                    )
                }))
            {
                if self.sends.len() >= limit {
                    let leaving = self.sends[self.sends.len() - limit].at;
                    trailing = trailing.max(leaving + window + slack(window));
                }
            }
            return self.whole_or_probe(start, trailing, allowed);
        }
        (start, false)
    }

    /// Where the announced resets move a write the trailing window puts at `trailing`.
    ///
    /// The trailing window (at most L writes in any trailing W) holds for every policy when W is
    /// right, but W is read from whole seconds of Reset, and a window aligned to the clock shows
    /// less than its length until it turns: writes it lets through before the announced reset
    /// would overrun such a window. So before that instant it lets one write through as a probe,
    /// and only its answer tells whether the budget came back. Once the server has been seen to
    /// bring its budget back whole (a window that ends, a bucket that fills), the writes before
    /// that instant stop counting; a sliding window, which frees its writes one by one, is paced
    /// by the trailing window alone.
    fn whole_or_probe(&self, start: Instant, trailing: Instant, allowed: usize) -> (Instant, bool) {
        // Each process learns the reset from its own answers, a few milliseconds apart: were
        // each to count only the writes since the reset it saw, two processes would each spend
        // the whole budget at their own reset. Sharing a budget, they keep to the trailing
        // window over the writes of both, which the ledger holds.
        if self.resets_whole == Some(false) || self.gradual || self.others_writing {
            return (trailing, false);
        }
        let confirmed = self.resets_whole == Some(true);
        let counted_since = |instant: Instant| {
            self.sends
                .iter()
                .filter(|send| send.at >= instant + WINDOW_SLACK)
                .count()
        };
        // The budget came back whole at `whole_since`, and comes back at `whole_at`.
        for (whole, room) in [
            (self.whole_since, if confirmed { allowed } else { 0 }),
            (self.whole_at, if confirmed { allowed } else { 1 }),
        ] {
            if let Some(whole) = whole
                && counted_since(whole) < room
            {
                let at = start.max(whole + WINDOW_SLACK);
                if at <= trailing || self.whole_at.is_none_or(|next| trailing >= next) {
                    return (trailing.min(at), false);
                }
            }
        }
        match self.whole_at {
            // Before the announced reset, one write at a time finds out what is back, once the
            // trailing window is what holds writes back.
            // Once a window is known to end, nothing comes back before it does.
            Some(next) if start < trailing && trailing < next => match self.probe {
                None if !confirmed => (trailing, true),
                _ => (next + WINDOW_SLACK, false),
            },
            _ => (trailing, false),
        }
    }

    /// Drops the writes that no longer count for anything at `now`: those long out of the
    /// window, and all but the latest that can matter (see [`ledger::kept_sends`]).
    fn forget_before(&mut self, now: Instant) {
        // The widest of the budget and the extra policies decides what can still matter.
        let widest = self.budget.into_iter().chain(self.extra.iter().copied());
        let keep = ledger::kept_for(widest.clone().map(|budget| budget.window).max());
        let kept = ledger::kept_sends(widest.map(|budget| budget.limit).max());
        while self.sends.front().is_some_and(|send| {
            (send.at + keep < now || self.sends.len() > kept) && self.sends.len() > 1
        }) {
            self.sends.pop_front();
        }
    }

    /// Whether a write asked for at `now` should wait a moment before reserving: another
    /// process sharing the budget has writes out and no answer has told the budget yet. Its
    /// answers come within a round trip; bursting meanwhile would send the two processes'
    /// first writes at once, beyond a budget that either could have used up alone.
    /// Likewise while this process's probe (see [`GateState::whole_or_probe`]) waits for its
    /// turn or its answer: that answer tells what is back. Neither wait lasts longer than
    /// [`AWAIT_BUDGET_FOR`] after the probe went.
    pub fn awaits_budget(&mut self, now: Instant, kind: RequestKind) -> bool {
        if kind != RequestKind::Write {
            return false;
        }
        // However long the other process keeps writing: its answers take a round trip, and
        // two seconds of its writes without one mean it learns nothing to share.
        let peers_writing = self.budget.is_none()
            && self
                .sends
                .iter()
                .any(|send| send.ticket.is_none() && send.at + AWAIT_BUDGET_FOR > now);
        let peers_first =
            peers_writing && *self.awaiting_peers_since.get_or_insert(now) + AWAIT_BUDGET_FOR > now;
        let probe_out = self
            .probe
            .is_some_and(|(_, started)| started + AWAIT_BUDGET_FOR > now);
        peers_first || probe_out
    }

    /// The answer to the write with `ticket` came (or it was taken back): if it was the probe,
    /// the other writes need not wait for it any more.
    fn end_probe(&mut self, ticket: Ticket) {
        if self.probe.is_some_and(|(probe, _)| probe == ticket.0) {
            self.probe = None;
            self.probe_answered = Some(ticket.0);
        }
    }

    /// The server took the write with `ticket` (its answer was no 429): a probe taken before the
    /// announced reset, once the budget was seen used up, shows budget coming back bit by bit.
    /// (A probe that went before the budget was used up only found room that was left.)
    pub fn accepted(&mut self, ticket: Ticket) {
        if self.probe_answered == Some(ticket.0) {
            self.probe_answered = None;
            let before_reset = self
                .sends
                .iter()
                .find(|send| send.ticket == Some(ticket.0))
                .zip(self.whole_at)
                .is_some_and(|(send, whole)| send.start < whole);
            let before_reset = before_reset && std::mem::take(&mut self.probe_after_used_up);
            if before_reset {
                self.gradual = true;
            }
        }
    }

    /// The write with `ticket` went out, or its answer came, at `now`. What counts is when the
    /// server counted it, which is between the two: the log moves it to the later time known,
    /// so the writes that follow keep their distance however late a busy machine or a slow
    /// connection made it.
    pub fn sent(&mut self, ticket: Ticket, now: Instant) {
        let Some(index) = self
            .sends
            .iter()
            .position(|send| send.ticket == Some(ticket.0))
        else {
            return;
        };
        if self.sends[index].at >= now {
            return;
        }
        if let Some(mut send) = self.sends.remove(index) {
            send.at = now;
            let at = self.sends.partition_point(|known| known.at <= now);
            self.sends.insert(at, send);
        }
    }

    /// Takes back a reservation that was not used (the request was held by a pause).
    pub fn cancel(&mut self, ticket: Ticket) {
        self.sends.retain(|send| send.ticket != Some(ticket.0));
        self.end_probe(ticket);
    }

    /// Whether a pause holds requests at `now`.
    pub fn paused_at(&self, now: Instant) -> bool {
        self.not_before.is_some_and(|until| until > now)
    }

    /// Holds every request until at least `until` (a 429's Retry-After or backoff), or only
    /// until the announced reset when that comes first: Retry-After is whole seconds, the reset
    /// (a Unix time) can be exact, and at the reset at least one write's worth of budget is back
    /// whatever the policy.
    pub fn pause_until(&mut self, until: Instant) {
        let until = match self.whole_at {
            Some(whole) if whole + WINDOW_SLACK < until => whole + WINDOW_SLACK,
            _ => until,
        };
        self.not_before = Some(self.not_before.map_or(until, |current| current.max(until)));
    }

    /// A write was refused with a 429 although the budget seemed to allow it: the window is
    /// longer than learnt (a Reset rounded down, a bucket that fills more slowly) or the writes
    /// reach the server less evenly than planned, so it grows by a fiftieth.
    pub fn refused(&mut self) {
        if let Some(budget) = &mut self.budget {
            budget.window = budget.window * 51 / 50 + Duration::from_millis(10);
        }
    }

    /// Follows the rate-limit headers of the answer to the write with `ticket`, received at
    /// `now`; `server_now` is the server's clock then (for a Reset given as a Unix time).
    ///
    /// For the pace and the reset, only an answer to a request sent later than the last one
    /// followed counts: the answers to a burst of concurrent requests arrive together and in
    /// any order, and an old one arriving last would tell of a budget already spent. Whether
    /// the budget comes back whole is judged on every answer (see [`GateState::judge_whole`]).
    pub fn observe(
        &mut self,
        headers: RateLimitHeaders,
        ticket: Ticket,
        now: Instant,
        server_now: SystemTime,
    ) {
        let (Some(remaining), Some(reset_in)) = (headers.remaining, headers.reset_in(server_now))
        else {
            return;
        };
        let fresh = ticket.0 >= self.observed;
        if fresh {
            self.observed = ticket.0;
            if reset_in > QUOTA_WAIT {
                // A budget for the day: nothing to pace by, but once it is spent, nothing to
                // wait for.
                if remaining == 0 {
                    // Read against the server's clock, kept on this machine's, where it is
                    // compared.
                    self.exhausted_until = Some(SystemTime::now() + reset_in);
                    self.exhausted_seen = Some(now);
                }
                return;
            }
            self.learn_reset(now, reset_in);
        } else if reset_in > QUOTA_WAIT {
            return;
        }
        // Every answer counts here, an older one too: the server counts writes sent together in
        // any order, so the one it counted first (which saw the most left) or last (which saw
        // the budget used up) is not always the last one sent.
        self.judge_whole(headers, ticket, now, remaining);
        if !fresh {
            return;
        }
        let limit = headers
            .limit
            .or(self.budget.map(|budget| budget.limit))
            .unwrap_or(remaining + 1)
            .max(1);
        // A window the headers name is the window; otherwise, as Reset rounds up to whole
        // seconds, the whole seconds of the longest one seen are (a Unix-time Reset read against
        // a clock between two seconds overshoots).
        let window = match headers.window {
            Some(seconds) => Duration::from_secs(seconds.max(1)),
            None => {
                let window = Duration::from_secs(reset_in.as_secs().max(1));
                self.budget
                    .map_or(window, |budget| budget.window.max(window))
            }
        };
        // Other policies the headers name hold too.
        self.extra = headers
            .extra
            .iter()
            .flatten()
            .map(|&(limit, seconds)| Budget {
                limit: limit.max(1),
                window: Duration::from_secs(seconds.max(1)),
            })
            .collect();
        self.budget = Some(Budget { limit, window });
        // The server counted `limit - remaining` writes in its window when it answered. Of this
        // log's writes, it can have counted those let through before the answer came (a write
        // answered already may have been counted before this one was even sent) and not yet
        // out of the window: reckoning with all of them, writes in flight together never pass
        // for someone else's.
        let used = limit.saturating_sub(remaining);
        let ours = self
            .sends
            .iter()
            .filter(|send| send.start <= now && send.at + window > now)
            .count() as u64;
        // One more than this log holds is within the rounding of a bucket's tokens to whole ones.
        self.foreign = (used > ours + 1).then(|| (used - ours - 1, now + window));
    }

    /// Judges, from the answer to the write with `ticket`, whether the budget comes back whole.
    ///
    /// An answer to a write let through after the budget was last seen used up that saw the
    /// whole budget but itself left shows the budget came back whole by the time its write
    /// went, and the writes before stop counting from then. Each reset seen to pass is judged
    /// on its own too: when none of the writes that can have been counted first since it saw
    /// that much, it did not bring the budget back whole, and the budget comes back bit by bit
    /// (a bucket, a sliding window). Writes sent together are counted in any order, so no single
    /// answer tells; others' writes only make a budget look less whole.
    fn judge_whole(
        &mut self,
        headers: RateLimitHeaders,
        ticket: Ticket,
        now: Instant,
        remaining: u64,
    ) {
        let limit = headers.limit.or(self.budget.map(|budget| budget.limit));
        let sent = self
            .sends
            .iter()
            .find(|send| send.ticket == Some(ticket.0))
            .map(|send| send.start);
        if self.probe.is_some_and(|(probe, _)| probe == ticket.0) {
            self.probe_after_used_up = sent.zip(self.used_up_at).is_some_and(|(sent, used)| {
                used < sent && self.reset_passed.is_none_or(|reset| used >= reset)
            });
        }
        self.end_probe(ticket);
        if let (Some(limit), Some(sent)) = (limit, sent) {
            self.judge_write(limit, sent, now, remaining);
        }
        if remaining == 0 {
            self.used_up_at = Some(self.used_up_at.map_or(now, |known| known.min(now)));
        }
    }

    /// [`GateState::judge_whole`] for an answer to a write sent at `sent` that saw `remaining`
    /// of `limit` left.
    fn judge_write(&mut self, limit: u64, sent: Instant, now: Instant, remaining: u64) {
        if remaining + 1 >= limit && self.used_up_at.is_some_and(|used_up| sent > used_up) {
            self.resets_whole = Some(true);
            // Counted from a little before, so that this write and those sent with it count in
            // what the budget has left (see `whole_or_probe`).
            let since = sent.checked_sub(WINDOW_SLACK).unwrap_or(sent);
            self.whole_since = Some(self.whole_since.map_or(since, |known| known.max(since)));
            self.used_up_at = None;
        } else if let Some(reset) = self.reset_passed.filter(|reset| sent >= *reset) {
            // Had the budget come back whole at the last reset, the first write the server
            // counted since saw all but itself left. That write went before the first answer
            // since came (a write sent after an answer was counted after that one): once each
            // of those is answered and none saw that much, the budget was not whole.
            let tally = match self.since_reset {
                Some(tally) if tally.reset == reset => tally,
                _ => ResetTally {
                    reset,
                    first_answer: now,
                    answered: 0,
                    most_left: 0,
                },
            };
            if sent < tally.first_answer {
                let tally = ResetTally {
                    answered: tally.answered + 1,
                    most_left: tally.most_left.max(remaining),
                    ..tally
                };
                self.since_reset = Some(tally);
                let candidates = self
                    .sends
                    .iter()
                    .filter(|send| {
                        send.ticket.is_some()
                            && send.start >= reset
                            && send.start < tally.first_answer
                    })
                    .count() as u64;
                if tally.answered >= candidates && tally.most_left + 1 < limit {
                    // Not whole at the reset: it frees writes one by one.
                    self.resets_whole = Some(false);
                    self.used_up_at = None;
                }
            } else {
                self.since_reset = Some(tally);
            }
        }
    }

    /// Learns when the budget comes back whole: `reset_in` from `now`, by the newest answer.
    fn learn_reset(&mut self, now: Instant, reset_in: Duration) {
        // Answers about the same reset narrow it (Reset is whole seconds, rounded up: the
        // earliest instant announced is the closest); one more than half a window later is the
        // next reset.
        let announced = now + reset_in;
        self.whole_at = Some(match self.whole_at {
            Some(known) if known > now && announced < known + reset_in / 2 => known.min(announced),
            known => {
                if let Some(known) = known.filter(|known| *known <= now) {
                    self.whole_since =
                        Some(self.whole_since.map_or(known, |since| since.max(known)));
                    self.reset_passed = Some(known);
                }
                announced
            }
        });
    }

    /// Takes in what other processes did, from the shared ledger (`to_instant` maps its Unix
    /// milliseconds onto this clock): their writes, the budget they learnt and their pauses. A
    /// quota another run found used up is not taken in: it is for `plan`'s estimate, and a run
    /// asks the server itself (the quota may be back sooner than it said).
    fn import(&mut self, entry: &LedgerEntry, own: u32, to_instant: impl Fn(i64) -> Instant) {
        if let (Some(limit), Some(window_ms)) = (entry.limit, entry.window_ms) {
            let window = Duration::from_millis(window_ms);
            self.budget = Some(match self.budget {
                Some(known) => Budget {
                    limit,
                    window: known.window.max(window),
                },
                None => Budget { limit, window },
            });
        }
        if let Some(until) = entry.pause_until_ms {
            self.pause_until(to_instant(until));
        }
        // A quota another process found used up while this one runs holds this one too; one
        // found by an earlier run is for `plan`'s estimate only: a run asks the server itself,
        // as the quota may be back sooner than it said.
        if let (Some(until), Some(seen)) = (entry.exhausted_until_ms, entry.exhausted_seen_ms)
            && self
                .sharing_since
                .is_some_and(|since| to_instant(seen) >= since)
        {
            let at = crate::epoch::from_millis(until.max(0));
            self.exhausted_until = Some(self.exhausted_until.map_or(at, |known| known.max(at)));
        }
        self.sends.retain(|send| send.ticket.is_some());
        self.others_writing = entry.sends.iter().any(|send| send.pid != own);
        for send in entry.sends.iter().filter(|send| send.pid != own) {
            let at = to_instant(send.at_ms);
            let index = self.sends.partition_point(|known| known.at <= at);
            self.sends.insert(
                index,
                Send {
                    at,
                    start: at,
                    ticket: None,
                },
            );
        }
    }

    /// Writes back this process's writes and what it learnt (`to_ms` maps this clock onto Unix
    /// milliseconds); other processes' writes in the entry are kept.
    fn export(&self, entry: &mut LedgerEntry, own: u32, to_ms: impl Fn(Instant) -> i64) {
        if let Some(budget) = self.budget {
            entry.limit = Some(budget.limit);
            entry.window_ms = Some(u64::try_from(budget.window.as_millis()).unwrap_or(u64::MAX));
        }
        if let Some(until) = self.not_before {
            let until = to_ms(until);
            entry.pause_until_ms =
                Some(entry.pause_until_ms.map_or(until, |known| known.max(until)));
        }
        if let (Some(until), Some(seen)) = (self.exhausted_until, self.exhausted_seen) {
            entry.exhausted_until_ms = Some(crate::epoch::millis(until).max(0));
            entry.exhausted_seen_ms = Some(to_ms(seen));
        }
        entry.sends.retain(|send| send.pid != own);
        entry.sends.extend(
            self.sends
                .iter()
                .filter(|send| send.ticket.is_some())
                .map(|send| LedgerSend {
                    at_ms: to_ms(send.at),
                    pid: own,
                }),
        );
        entry.sends.sort_by_key(|send| send.at_ms);
    }
}

/// Whether an update of the gate goes through the shared ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LedgerSync {
    /// Always: a write let through, a pause, a quota; what another process must know.
    Always,
    /// Only while another process writes too: the finer points (when a write was answered)
    /// that matter to no one else otherwise. A process alone thus reads and writes the file
    /// once per write, and once more when it learns a budget or finds a quota spent.
    WhileShared,
}

/// The shared gate; clones share one state.
#[derive(Debug, Clone)]
pub struct RateGate {
    state: Arc<Mutex<GateState>>,
    shared: Arc<Mutex<Option<Shared>>>,
}

/// The ledger this gate shares its budget through, and this process's clocks to map its
/// times between processes.
#[derive(Debug)]
struct Shared {
    ledger: Ledger,
    pid: u32,
    base: Instant,
    base_ms: i64,
    /// Whether an unusable ledger was reported already (once per run is enough).
    warned: std::sync::atomic::AtomicBool,
    /// Until when the ledger is left alone after it could not be used.
    unusable_until: Mutex<Option<Instant>>,
}

/// How long the gate paces alone after the ledger could not be used, before it tries again.
const LEDGER_RETRY_AFTER: Duration = Duration::from_secs(10);

impl Shared {
    /// Updates the ledger; one that cannot be used is reported once, and the gate paces alone
    /// (for a while: [`LEDGER_RETRY_AFTER`], so that a lock held elsewhere does not cost every
    /// write the ledger's lock deadline). The file's lock and I/O may block: on a
    /// multi-threaded runtime the thread is marked as blocking, so that other tasks move off it.
    fn update(&self, f: impl FnOnce(&mut LedgerEntry)) {
        let resting = self
            .unusable_until
            .lock()
            .ok()
            .and_then(|until| *until)
            .is_some_and(|until| Instant::now() < until);
        if resting {
            return;
        }
        let update = || self.ledger.update(f);
        let result = match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(update)
            }
            _ => update(),
        };
        if let Err(err) = result {
            if let Ok(mut until) = self.unusable_until.lock() {
                *until = Some(Instant::now() + LEDGER_RETRY_AFTER);
            }
            if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!(error = %err, "the shared rate-limit ledger is unusable; pacing alone");
            }
        }
    }

    fn to_ms(&self, at: Instant) -> i64 {
        match at.checked_duration_since(self.base) {
            Some(after) => self.base_ms + i64::try_from(after.as_millis()).unwrap_or(i64::MAX / 2),
            None => {
                self.base_ms - i64::try_from(self.base.duration_since(at).as_millis()).unwrap_or(0)
            }
        }
    }

    fn to_instant(&self, ms: i64) -> Instant {
        let offset = Duration::from_millis(ms.abs_diff(self.base_ms));
        if ms >= self.base_ms {
            self.base + offset
        } else {
            self.base.checked_sub(offset).unwrap_or(self.base)
        }
    }
}

impl RateGate {
    /// A gate pacing at `rate_per_second`, or unpaced (but still honouring 429s and headers).
    pub fn new(rate_per_second: Option<f64>) -> Self {
        RateGate {
            state: Arc::new(Mutex::new(GateState::new(rate_per_second))),
            shared: Arc::new(Mutex::new(None)),
        }
    }

    /// Shares the budget from now on with every process that uses the same `ledger`.
    pub fn share(&self, ledger: Ledger) {
        let shared = Shared {
            ledger,
            pid: std::process::id(),
            base: Instant::now(),
            base_ms: crate::epoch::millis(SystemTime::now()),
            warned: std::sync::atomic::AtomicBool::new(false),
            unusable_until: Mutex::new(None),
        };
        if let Ok(mut state) = self.state.lock() {
            state.sharing_since = Some(shared.base);
        }
        if let Ok(mut slot) = self.shared.lock() {
            *slot = Some(shared);
        }
        self.with_state(LedgerSync::Always, |_| ());
    }

    /// Runs `f` on the state; with a ledger (and, for [`LedgerSync::WhileShared`], another
    /// process writing), between reading the others' part from it and writing this process's
    /// part back, under its lock.
    fn with_state<R>(&self, sync: LedgerSync, f: impl FnOnce(&mut GateState) -> R) -> R {
        // A poisoned lock only means another task panicked mid-update; the state is still usable.
        let mut state = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let shared = match self.shared.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let Some(shared) = shared.as_ref() else {
            return f(&mut state);
        };
        if sync == LedgerSync::WhileShared && !state.others_writing {
            // Alone, only what a process starting later must know goes to the ledger: a
            // budget learnt (its answers may all come after its last write was let through)
            // or a quota found spent.
            let known = (state.budget, state.exhausted_until);
            let result = f(&mut state);
            if (state.budget, state.exhausted_until) != known {
                shared.update(|entry| state.export(entry, shared.pid, |at| shared.to_ms(at)));
            }
            return result;
        }
        let mut f = Some(f);
        let mut result = None;
        shared.update(|entry| {
            state.import(entry, shared.pid, |ms| shared.to_instant(ms));
            result = f.take().map(|f| f(&mut state));
            state.export(entry, shared.pid, |at| shared.to_ms(at));
        });
        match (result, f) {
            (Some(result), _) => result,
            (None, Some(f)) => f(&mut state),
            (None, None) => unreachable!("`f` ran or is still here"),
        }
    }

    /// Waits until this request may start, and hands back its ticket. Fails at once with the
    /// time it comes back when a quota is used up.
    pub async fn wait(&self, kind: RequestKind) -> Result<Ticket, SystemTime> {
        loop {
            let now = Instant::now();
            let sync = match kind {
                RequestKind::Write => LedgerSync::Always,
                RequestKind::Read => LedgerSync::WhileShared,
            };
            let reserved = self.with_state(sync, |state| {
                let exhausted = state
                    .exhausted_until()
                    .filter(|until| *until > SystemTime::now());
                match exhausted {
                    Some(until) => Err(Some(until)),
                    None if state.awaits_budget(now, kind) => Err(None),
                    None => Ok(state.reserve(now, kind)),
                }
            });
            let (start, ticket) = match reserved {
                Ok(reserved) => reserved,
                Err(Some(until)) => return Err(until),
                Err(None) => {
                    tokio::time::sleep(AWAIT_BUDGET_POLL).await;
                    continue;
                }
            };
            if start <= now {
                // The reservation saw every pause there was.
                return Ok(ticket);
            }
            tokio::time::sleep_until(start.into()).await;
            // A 429 seen while this request slept holds it too.
            let held = self.with_state(LedgerSync::WhileShared, |state| {
                let held = state.paused_at(Instant::now());
                if held {
                    state.cancel(ticket);
                }
                held
            });
            if !held {
                return Ok(ticket);
            }
        }
    }

    /// Takes back the turn of a request that is not sent after all.
    pub fn cancel(&self, ticket: Ticket) {
        self.with_state(LedgerSync::Always, |state| state.cancel(ticket));
    }

    /// The request with `ticket` is being sent now (see [`GateState::sent`]).
    pub fn sent(&self, ticket: Ticket) {
        let now = Instant::now();
        self.with_state(LedgerSync::WhileShared, |state| state.sent(ticket, now));
    }

    /// Pauses every request sharing this gate for `delay` from now.
    pub fn pause_for(&self, delay: Duration) {
        let until = Instant::now() + delay;
        self.with_state(LedgerSync::Always, |state| state.pause_until(until));
    }

    /// A write was refused for the rate limit (see [`GateState::refused`]).
    pub fn refused(&self) {
        self.with_state(LedgerSync::Always, GateState::refused);
    }

    /// Marks a quota used up until `until` (a 429 that says to come back in hours).
    pub fn exhausted(&self, until: SystemTime) {
        let now = Instant::now();
        self.with_state(LedgerSync::Always, |state| {
            state.exhausted_until = Some(until);
            state.exhausted_seen = Some(now);
        });
    }

    /// The answer to the write with `ticket` came now: it counts from now on (see
    /// [`GateState::sent`]), and its rate-limit headers, if any, feed the pacing; `server_now`
    /// is the server's clock, as estimated.
    pub fn answered(
        &self,
        ticket: Ticket,
        headers: Option<RateLimitHeaders>,
        server_now: SystemTime,
    ) {
        let now = Instant::now();
        self.with_state(LedgerSync::WhileShared, |state| {
            if let Some(headers) = headers {
                state.observe(headers, ticket, now, server_now);
            }
            state.sent(ticket, now);
            state.end_probe(ticket);
        });
    }

    /// The server took the write with `ticket` (see [`GateState::accepted`]).
    pub fn accepted(&self, ticket: Ticket) {
        self.with_state(LedgerSync::WhileShared, |state| state.accepted(ticket));
    }
}

#[cfg(test)]
#[path = "gate_tests.rs"]
mod tests;
