//! Unit tests of the pacing state machine, with a made-up clock: the rules one by one, then
//! whole runs against the emulator's own write budgets (a token bucket, fixed and sliding
//! windows), simulated request by request.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::*;
use pinbatch_emulator::limits::{ResetFormat, WriteLimiter, WritePolicy};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn server_epoch(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()
}

fn wall() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000)
}

fn headers(limit: u64, remaining: u64, reset: u64) -> RateLimitHeaders {
    RateLimitHeaders {
        limit: Some(limit),
        remaining: Some(remaining),
        reset: Some(reset),
        ..RateLimitHeaders::default()
    }
}

fn writes(gate: &mut GateState, at: Instant, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|_| gate.reserve(at, RequestKind::Write).0 - at)
        .collect()
}

#[test]
fn an_unpaced_gate_lets_requests_start_at_once() {
    let t0 = Instant::now();
    let mut gate = GateState::new(None);
    assert_eq!(writes(&mut gate, t0, 3), vec![ms(0); 3]);
}

#[test]
fn a_fixed_rate_spaces_requests_evenly() {
    let t0 = Instant::now();
    let mut gate = GateState::new(Some(4.0));
    assert_eq!(
        writes(&mut gate, t0, 4),
        vec![ms(0), ms(252), ms(504), ms(756)]
    );
    // After a quiet period there is no debt to pay back.
    assert_eq!(
        gate.reserve(t0 + ms(5000), RequestKind::Read).0,
        t0 + ms(5000)
    );
}

#[test]
fn a_pause_holds_every_later_request() {
    let t0 = Instant::now();
    let mut gate = GateState::new(None);
    gate.pause_until(t0 + ms(2000));
    gate.pause_until(t0 + ms(1000)); // a shorter pause never shortens a longer one
    assert_eq!(
        gate.reserve(t0 + ms(10), RequestKind::Read).0,
        t0 + ms(2000)
    );
    assert_eq!(
        gate.reserve(t0 + ms(2500), RequestKind::Write).0,
        t0 + ms(2500)
    );
}

#[test]
fn a_budget_is_spent_at_once_then_each_write_follows_one_leaving_the_window() {
    let t0 = Instant::now();
    let mut gate = GateState::new(None);
    let (_, first) = gate.reserve(t0, RequestKind::Write);
    // 20 per second, 19 left after this one.
    gate.observe(headers(20, 19, 1), first, t0 + ms(30), wall());
    assert_eq!(
        gate.budget(),
        Some(Budget {
            limit: 20,
            window: ms(1000)
        })
    );
    let starts = writes(&mut gate, t0 + ms(30), 21);
    assert!(starts[..19].iter().all(|&start| start == ms(0)));
    // The 21st write of the window waits for the first to leave it, the 22nd for the second.
    assert_eq!(starts[19], ms(970) + WINDOW_SLACK);
    assert_eq!(starts[20], ms(1000) + WINDOW_SLACK);
    // Reads are not counted against the write budget.
    assert_eq!(gate.reserve(t0 + ms(40), RequestKind::Read).0, t0 + ms(40));
}

#[test]
fn a_write_that_goes_late_counts_from_when_it_went() {
    let t0 = Instant::now();
    let mut gate = GateState::new(None);
    let (_, first) = gate.reserve(t0, RequestKind::Write);
    gate.observe(headers(2, 1, 1), first, t0, wall());
    let (_, second) = gate.reserve(t0, RequestKind::Write);
    // The second write only went out 300 ms after its slot.
    gate.sent(second, t0 + ms(300));
    let starts = writes(&mut gate, t0, 2);
    assert_eq!(
        starts,
        vec![ms(1000) + WINDOW_SLACK, ms(1300) + WINDOW_SLACK]
    );
}

#[test]
fn a_reset_given_as_a_unix_time_is_read_against_the_servers_clock() {
    let t0 = Instant::now();
    let mut gate = GateState::new(None);
    let (_, ticket) = gate.reserve(t0, RequestKind::Write);
    let reset = 2_000_000_000 + 5;
    gate.observe(headers(100, 99, reset), ticket, t0, wall() + ms(300));
    assert_eq!(gate.budget().unwrap().window, ms(4000));
    let mut gate = GateState::new(None);
    let (_, ticket) = gate.reserve(t0, RequestKind::Write);
    gate.observe(headers(100, 99, reset), ticket, t0, wall());
    assert_eq!(gate.budget().unwrap().window, ms(5000));
}

#[test]
fn writes_of_others_the_server_counted_leave_less_room() {
    let t0 = Instant::now();
    let mut gate = GateState::new(None);
    let (_, ticket) = gate.reserve(t0, RequestKind::Write);
    // The server counted 6 writes in its window; this gate sent 1: others sent 5, of which
    // one is taken for the rounding of a bucket's tokens.
    gate.observe(headers(10, 4, 5), ticket, t0 + ms(30), wall());
    let starts = writes(&mut gate, t0 + ms(30), 6);
    // 10 - 4 foreign: six of this gate's own fit the window, five go at once, and the sixth
    // waits until the first has left it.
    assert_eq!(starts[..5], [ms(0); 5]);
    assert_eq!(starts[5], ms(4970) + slack(ms(5000)));
}

#[test]
fn an_answer_older_than_one_already_followed_is_ignored() {
    let t0 = Instant::now();
    let mut gate = GateState::new(None);
    let tickets: Vec<Ticket> = (0..16)
        .map(|_| gate.reserve(t0, RequestKind::Write).1)
        .collect();
    gate.observe(headers(20, 4, 1), tickets[15], t0 + ms(30), wall());
    // The first request's answer, arriving after the last one's, changes nothing.
    gate.observe(headers(50, 49, 9), tickets[0], t0 + ms(31), wall());
    assert_eq!(gate.budget().unwrap().limit, 20);
    assert_eq!(gate.budget().unwrap().window, ms(1000));
}

#[test]
fn a_budget_for_the_day_used_up_fails_requests_instead_of_pacing_them() {
    let t0 = Instant::now();
    let mut gate = GateState::new(None);
    let (_, ticket) = gate.reserve(t0, RequestKind::Write);
    gate.observe(headers(1000, 3, 40_000), ticket, t0, wall());
    assert_eq!(gate.budget(), None, "a day is not a pacing window");
    assert_eq!(gate.exhausted_until(), None);
    let (_, ticket) = gate.reserve(t0, RequestKind::Write);
    // The server's clock is a day ahead of this machine's: the quota comes back 40 000 s from
    // now on this machine's clock, which is the one it is compared on.
    let before = SystemTime::now();
    let server_now = before + Duration::from_secs(86_400);
    gate.observe(
        headers(1000, 0, server_epoch(server_now) + 40_000),
        ticket,
        t0,
        server_now,
    );
    let until = gate.exhausted_until().unwrap();
    assert!(until >= before + Duration::from_secs(39_999));
    assert!(until <= SystemTime::now() + Duration::from_secs(40_001));
}

#[test]
fn a_write_refused_despite_the_budget_makes_the_window_longer() {
    let t0 = Instant::now();
    let mut gate = GateState::new(None);
    let (_, ticket) = gate.reserve(t0, RequestKind::Write);
    gate.observe(headers(100, 99, 4), ticket, t0, wall());
    gate.refused();
    assert_eq!(gate.budget().unwrap().window, ms(4090));
}

#[test]
fn a_write_waits_for_another_processs_first_answers_two_seconds_at_most() {
    let t0 = Instant::now();
    let base_ms = 1_000_000_i64;
    let to_ms = |at: Instant| base_ms + at.duration_since(t0).as_millis() as i64;
    let to_instant = |ms_: i64| t0 + ms(u64::try_from(ms_ - base_ms).unwrap_or(0));
    let mut entry = LedgerEntry::default();
    let (mut a, mut b) = (GateState::new(None), GateState::new(None));
    // A keeps writing and never learns a budget (its answers carry no headers): B waits two
    // seconds from its first wait, not for ever.
    for step in 1..=30 {
        let at = t0 + ms(step * 100);
        let (_, ticket) = a.reserve(at, RequestKind::Write);
        a.sent(ticket, at);
        a.export(&mut entry, 1, to_ms);
        b.import(&entry, 2, to_instant);
        let waits = b.awaits_budget(at, RequestKind::Write);
        // The first wait was at 100 ms.
        assert_eq!(waits, at < t0 + ms(2100), "at {:?}", at - t0);
    }
}

#[test]
fn two_processes_sharing_a_ledger_entry_stay_within_one_budget() {
    let t0 = Instant::now();
    let base_ms = 1_000_000_i64;
    let to_ms = |at: Instant| base_ms + at.duration_since(t0).as_millis() as i64;
    let to_instant = |ms_: i64| t0 + ms(u64::try_from(ms_ - base_ms).unwrap_or(0));
    let mut entry = LedgerEntry::default();
    let (mut a, mut b) = (GateState::new(None), GateState::new(None));
    let mut starts = Vec::new();
    // B, knowing nothing yet, waits while A has writes out and no answer told the budget.
    let (_, ticket) = a.reserve(t0, RequestKind::Write);
    a.export(&mut entry, 1, to_ms);
    b.import(&entry, 2, to_instant);
    assert!(b.awaits_budget(t0, RequestKind::Write));
    assert!(!b.awaits_budget(t0, RequestKind::Read));
    a.cancel(ticket);
    // Process A learnt the budget; B has not seen a header yet, and learns it from the ledger.
    let (_, ticket) = a.reserve(t0, RequestKind::Write);
    a.observe(headers(10, 9, 1), ticket, t0, wall());
    a.export(&mut entry, 1, to_ms);
    starts.push(t0);
    for i in 0..29 {
        let (gate, pid) = if i % 2 == 0 { (&mut b, 2) } else { (&mut a, 1) };
        gate.import(&entry, pid, to_instant);
        let (start, _) = gate.reserve(t0, RequestKind::Write);
        gate.export(&mut entry, pid, to_ms);
        starts.push(start);
    }
    starts.sort();
    for (i, start) in starts.iter().enumerate().skip(10) {
        assert!(
            *start >= starts[i - 10] + ms(1000),
            "more than 10 writes in one second: {starts:?}"
        );
    }
    assert!(
        starts[29] - t0 < ms(2100),
        "the budget was used: {starts:?}"
    );
}

/// A run to simulate (see [`simulate`]).
#[derive(Clone, Copy)]
struct Scenario {
    policy: WritePolicy,
    format: ResetFormat,
    /// Gates sharing one ledger entry.
    processes: usize,
    /// Writes per process.
    writes: usize,
    /// Workers per process.
    concurrency: usize,
    /// Round trip of a write.
    latency: Duration,
    /// `--rate-limit`.
    rate_limit: Option<f64>,
    /// How far into a whole multiple of the server's window (since the epoch) the run starts:
    /// where clock-aligned windows leave its first write.
    phase: Duration,
}

impl Scenario {
    /// 300 writes of one process with 16 workers, 30 ms round trips, no `--rate-limit`, at the
    /// start of a window.
    fn of(policy: WritePolicy, format: ResetFormat) -> Self {
        Scenario {
            policy,
            format,
            processes: 1,
            writes: 300,
            concurrency: 16,
            latency: ms(30),
            rate_limit: None,
            phase: Duration::ZERO,
        }
    }
}

/// A whole run simulated against one of the emulator's write budgets, request by request, the
/// way the client drives the gate: `processes` gates sharing one ledger entry, each with
/// `concurrency` workers and `writes` writes. The server counts a write halfway through its
/// round trip of `latency`, up to 4 ms later, so writes in flight together are counted out of
/// order; answers come up to 12 ms later than that, so they also arrive out of order. Returns the time from the first start to the last
/// answer, and the number of writes refused.
fn simulate(scenario: Scenario) -> (Duration, usize) {
    let Scenario {
        policy,
        format,
        processes,
        writes,
        concurrency,
        latency,
        rate_limit,
        phase,
    } = scenario;
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Event {
        Ready(usize),
        Start(usize, u64),
        Counted(usize, u64),
        Answer(usize, u64),
    }
    struct Answer {
        headers: RateLimitHeaders,
        allowed: bool,
        retry_after: Duration,
    }
    let t0 = Instant::now();
    let base_ms = 5_000_000_i64;
    let to_ms = |at: Instant| base_ms + at.duration_since(t0).as_millis() as i64;
    let to_instant = |ms_: i64| t0 + ms(u64::try_from(ms_ - base_ms).unwrap_or(0));
    let server_clock = |at: Instant| wall() + phase + at.duration_since(t0);
    let jitter = |ticket: u64| ms(ticket * 7919 % 13);
    // Writes in flight together reach the server's counter in any order (each on its own
    // connection, up to 4 ms apart), so the last one sent is not always the one told that the
    // budget is used up, nor the first one sent the one that saw it whole.
    let counting = |ticket: u64| Duration::from_micros(ticket * 4099 % 4000);
    // A timer wakes its request up to 2 ms late (tokio's works in whole milliseconds).
    let late = |ticket: u64| Duration::from_micros(ticket * 7717 % 2000);
    let mut entry = LedgerEntry::default();
    let mut gates: Vec<GateState> = (0..processes).map(|_| GateState::new(rate_limit)).collect();
    let mut limiter = WriteLimiter::new(Some(policy), None, t0);
    let mut events: BinaryHeap<Reverse<(Instant, Event)>> = BinaryHeap::new();
    for p in 0..processes {
        for _ in 0..concurrency {
            events.push(Reverse((t0, Event::Ready(p))));
        }
    }
    let mut left = vec![writes; processes];
    let (mut done, mut refused, mut last) = (0, 0, t0);
    let mut answers: std::collections::HashMap<(usize, u64), Answer> = Default::default();
    while let Some(Reverse((at, event))) = events.pop() {
        let p = match event {
            Event::Ready(p) | Event::Start(p, _) | Event::Counted(p, _) | Event::Answer(p, _) => p,
        };
        let pid = p as u32 + 1;
        gates[p].import(&entry, pid, to_instant);
        match event {
            Event::Ready(_) if left[p] > 0 => {
                if gates[p].awaits_budget(at, RequestKind::Write) {
                    events.push(Reverse((at + ms(10), Event::Ready(p))));
                } else {
                    left[p] -= 1;
                    let (start, ticket) = gates[p].reserve(at, RequestKind::Write);
                    let start = if start > at {
                        start + late(ticket.0)
                    } else {
                        start
                    };
                    events.push(Reverse((start, Event::Start(p, ticket.0))));
                }
            }
            Event::Ready(_) => {}
            Event::Start(_, ticket) if gates[p].paused_at(at) => {
                gates[p].cancel(Ticket(ticket));
                left[p] += 1;
                events.push(Reverse((at, Event::Ready(p))));
            }
            Event::Start(_, ticket) => {
                gates[p].sent(Ticket(ticket), at);
                let counted = at + latency / 2 + counting(ticket);
                events.push(Reverse((counted, Event::Counted(p, ticket))));
            }
            Event::Counted(_, ticket) => {
                let server_ms = server_clock(at)
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64;
                let quota = limiter
                    .take(at, server_ms, Duration::from_secs(3600))
                    .unwrap();
                let reset = match format {
                    ResetFormat::Delta => quota.reset.as_secs_f64().ceil() as u64,
                    ResetFormat::Epoch => {
                        let now = server_clock(at)
                            .duration_since(SystemTime::UNIX_EPOCH)
                            .unwrap()
                            .as_millis() as u64;
                        (now + quota.reset.as_millis() as u64).div_ceil(1000)
                    }
                };
                let answer = Answer {
                    headers: headers(u64::from(quota.limit), u64::from(quota.remaining), reset),
                    allowed: quota.allowed,
                    // Retry-After is whole seconds.
                    retry_after: Duration::from_secs(quota.reset.as_secs_f64().ceil() as u64),
                };
                answers.insert((p, ticket), answer);
                let answer_at = at + latency / 2 + jitter(ticket);
                events.push(Reverse((answer_at, Event::Answer(p, ticket))));
            }
            Event::Answer(_, ticket) => {
                let answer = answers.remove(&(p, ticket)).unwrap();
                gates[p].observe(answer.headers, Ticket(ticket), at, server_clock(at));
                gates[p].sent(Ticket(ticket), at);
                if answer.allowed {
                    gates[p].accepted(Ticket(ticket));
                    done += 1;
                    last = last.max(at);
                } else {
                    // A 429 pauses every request of that process, and its write goes again.
                    refused += 1;
                    left[p] += 1;
                    gates[p].refused();
                    gates[p].pause_until(at + answer.retry_after);
                }
                events.push(Reverse((at, Event::Ready(p))));
            }
        }
        gates[p].export(&mut entry, pid, to_ms);
        if done == writes * processes {
            break;
        }
    }
    (last - t0, refused)
}

/// The least time 300 writes take under `policy` from `phase` into one of its windows (see
/// [`Scenario::phase`]), from the policy's parameters: a bucket's burst, then its rate; whole
/// windows; for clock-aligned windows, what the first window has left, then whole windows.
fn least_time(policy: WritePolicy, phase: Duration) -> f64 {
    let writes = 300;
    match policy {
        WritePolicy::Bucket { rate, burst } => (writes - burst as usize) as f64 / f64::from(rate),
        WritePolicy::Fixed {
            limit,
            window,
            aligned: true,
        } => {
            let later = writes.div_ceil(limit as usize) - 1;
            later as f64 * window.as_secs_f64() - phase.as_secs_f64()
        }
        WritePolicy::Fixed { limit, window, .. } | WritePolicy::Sliding { limit, window, .. } => {
            (writes.div_ceil(limit as usize) - 1) as f64 * window.as_secs_f64()
        }
    }
}

#[test]
fn whole_runs_use_each_budget_to_at_least_95_percent_with_at_most_1_percent_429s() {
    let policies = [
        WritePolicy::Bucket {
            rate: 20,
            burst: 20,
        },
        WritePolicy::Fixed {
            limit: 100,
            window: ms(5000),
            aligned: false,
        },
        WritePolicy::Sliding {
            limit: 100,
            window: ms(5000),
            announced: true,
        },
        WritePolicy::Fixed {
            limit: 60,
            window: ms(4000),
            aligned: true,
        },
    ];
    let mut short = Vec::new();
    for policy in policies {
        for format in [ResetFormat::Delta, ResetFormat::Epoch] {
            // Wherever in a second (and, for clock-aligned windows, in a window: up to where the
            // first window still takes its whole budget) the run starts.
            for step in 0..15 {
                let phase = ms(step * 250);
                let (took, refused) = simulate(Scenario {
                    phase,
                    ..Scenario::of(policy, format)
                });
                let ratio = least_time(policy, phase) / took.as_secs_f64();
                // Seconds to go, in whole seconds, place a clock-aligned window's end only within
                // a second, and the writes after it start up to that much late.
                let aligned_delta = matches!(policy, WritePolicy::Fixed { aligned: true, .. })
                    && format == ResetFormat::Delta;
                // A bucket whose Reset is a Unix time, started on a whole second, fills up just
                // as a window aligned to whole seconds would end: the gate takes it for one and
                // waits for each second's reset, refusing nothing but leaving some budget unused.
                let bucket_on_seconds = matches!(policy, WritePolicy::Bucket { .. })
                    && format == ResetFormat::Epoch
                    && phase.subsec_nanos() == 0;
                let least = if aligned_delta {
                    0.92
                } else if bucket_on_seconds {
                    0.80
                } else {
                    0.95
                };
                if ratio < least || refused > 3 {
                    short.push(format!(
                        "{policy} {format:?} from {phase:?} into a window: {took:?} for 300 writes (ratio {ratio:.3}), {refused} refused"
                    ));
                }
            }
        }
    }
    assert!(short.is_empty(), "{short:#?}");
}

#[test]
fn a_rate_limit_matching_a_strict_window_draws_no_429_however_late_the_timer() {
    // At most 100 writes in any trailing second, no burst and no headers to follow: paced at
    // exactly 1/100 s, a timer that wakes a request late would fit a 101st into some second.
    let strict = WritePolicy::Sliding {
        limit: 100,
        window: ms(1000),
        announced: false,
    };
    let (_, refused) = simulate(Scenario {
        writes: 250,
        rate_limit: Some(100.0),
        ..Scenario::of(strict, ResetFormat::Delta)
    });
    assert_eq!(refused, 0);
}

#[test]
fn a_rate_limit_matching_the_server_draws_no_429() {
    let bucket = WritePolicy::Bucket {
        rate: 20,
        burst: 20,
    };
    let (took, refused) = simulate(Scenario {
        writes: 100,
        rate_limit: Some(20.0),
        ..Scenario::of(bucket, ResetFormat::Delta)
    });
    assert_eq!(refused, 0);
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[test]
fn a_pause_set_while_a_request_waits_for_its_slot_holds_it_too() {
    let t0 = Instant::now();
    let mut gate = GateState::new(Some(10.0));
    gate.reserve(t0, RequestKind::Write);
    // The second request's slot is about 100 ms away; a 429 20 ms later pauses for 300 ms.
    let (slot, ticket) = gate.reserve(t0, RequestKind::Write);
    assert!(
        slot - t0 >= ms(100) && slot - t0 < ms(320),
        "{:?}",
        slot - t0
    );
    gate.pause_until(t0 + ms(320));
    // Woken at its slot, the request finds the pause ([`RateGate::wait`] asks this), gives its
    // turn back and reserves again: not before the pause ends.
    assert!(gate.paused_at(slot));
    gate.cancel(ticket);
    let (again, _) = gate.reserve(slot, RequestKind::Write);
    assert!(again >= t0 + ms(320), "{:?}", again - t0);
}

#[tokio::test]
async fn clones_share_one_pause_and_a_used_up_quota_fails_at_once() {
    let gate = RateGate::new(None);
    let other = gate.clone();
    gate.pause_for(ms(30));
    let started = Instant::now();
    other.wait(RequestKind::Read).await.unwrap();
    assert!(started.elapsed() >= ms(25));
    let until = SystemTime::now() + Duration::from_secs(3600);
    gate.exhausted(until);
    assert_eq!(other.wait(RequestKind::Write).await, Err(until));
}

#[test]
fn processes_sharing_a_ledger_use_one_budget_without_429s() {
    let bucket = WritePolicy::Bucket {
        rate: 20,
        burst: 20,
    };
    let (alone, refused_alone) = simulate(Scenario::of(bucket, ResetFormat::Delta));
    let (together, refused) = simulate(Scenario {
        processes: 2,
        writes: 150,
        ..Scenario::of(bucket, ResetFormat::Delta)
    });
    eprintln!(
        "alone {alone:?} ({refused_alone} refused), together {together:?} ({refused} refused)"
    );
    assert!(refused <= 3, "{refused} refused");
    assert!(together.as_secs_f64() <= alone.as_secs_f64() * 1.10);
}

#[tokio::test]
async fn a_process_alone_leaves_the_budget_it_learnt_in_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let gate = RateGate::new(None);
    gate.share(Ledger::new(dir.path(), "owner", "account"));
    let first = gate.wait(RequestKind::Write).await.unwrap();
    let second = gate.wait(RequestKind::Write).await.unwrap();
    gate.sent(first);
    gate.sent(second);
    let ledger = Ledger::new(dir.path(), "owner", "account");
    assert_eq!(ledger.read().unwrap().limit, None, "nothing learnt yet");
    // Both writes were let through before either answer told the budget.
    gate.answered(first, Some(headers(10, 9, 5)), SystemTime::now());
    let entry = ledger.read().unwrap();
    assert_eq!(entry.limit, Some(10));
    assert_eq!(entry.window_ms, Some(5_000));
    assert_eq!(entry.sends.len(), 2);
}

#[tokio::test]
async fn an_unusable_ledger_leaves_the_gate_pacing_alone() {
    let dir = tempfile::tempdir().unwrap();
    // A folder where the file should be: every update fails.
    std::fs::create_dir(dir.path().join(crate::api::ledger::LEDGER_FILE)).unwrap();
    let gate = RateGate::new(None);
    gate.share(Ledger::new(dir.path(), "owner", "account"));
    let ticket = gate.wait(RequestKind::Write).await.unwrap();
    gate.sent(ticket);
    gate.answered(ticket, Some(headers(1, 0, 60)), SystemTime::now());
    // The budget learnt from the headers still paces this process: the next write waits for
    // the window.
    let next = tokio::time::timeout(ms(200), gate.wait(RequestKind::Write)).await;
    assert!(next.is_err(), "the next write went at once");
}
