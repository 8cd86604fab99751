//! The performance benchmark: drives the release `pinbatch` binary against the in-process
//! emulator and reports every figure as a ratio to an ideal or a peer measured in the same run.
//!
//! Run it with `cargo run --release --example bench` (it first runs
//! `cargo build --release --bin pinbatch`, which is quick when nothing changed). It measures the
//! binary of the profile it was itself built with: `--release` is the one users install;
//! `cargo run --profile profiling --example bench` measures the same code with line tables, for
//! `perf record` on the binary in `target/profiling/`. Flags:
//! `--quick` (fewer pins, for a smoke run), `--no-peers` (skip the Python SDK and curl),
//! `--readme` / `--no-readme` (write the table into README.md; on by default for full runs of
//! the release profile), `--only SECTION` (one section: `size`, `throughput`, `rate`,
//! `memory`, `validate`, `resume`, `drip` or `peers`; never writes README.md).
//!
//! Figures: the binary's size and start-up time (`pinbatch --version`), the emulator's own
//! answer time at the set latency (the floor for every ratio), throughput against `N / latency` (median of 3 runs), API calls per pin, 429s provoked under
//! a server write limit with and without `--rate-limit`, peak resident memory with large images,
//! CPU time per pin, `validate` time of large CSVs, resume time over a large state, drip
//! publishing (`apply --follow` against each pin's slot, its CPU while it waits, `plan` of a
//! large scheduled CSV), and two peers
//! (the official Python SDK in a plain loop, and `xargs -P N curl`). CPU time of a child comes from
//! `wait4`, so it covers that process and the children it waited for; peak memory is the child's
//! own `VmHWM`, sampled while it runs.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use pinbatch_emulator::{AppliedFault, Emulator, EmulatorConfig, parse_fault_spec};

/// Latency of the emulator in the throughput, rate-limit, memory and peer runs.
const LATENCY_MS: u64 = 50;
/// Runs per concurrency in the throughput rows; the median one is reported, with the range.
const THROUGHPUT_ROUNDS: usize = 3;
/// The board every benchmark pin goes to.
const BOARD: &str = "Bench";

struct Options {
    quick: bool,
    peers: bool,
    readme: bool,
    /// Run only this section.
    only: Option<String>,
}

/// The sections `--only` can name.
const SECTIONS: [&str; 8] = [
    "size",
    "throughput",
    "rate",
    "memory",
    "validate",
    "resume",
    "drip",
    "peers",
];

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let only = match args.iter().position(|a| a == "--only") {
        Some(at) => {
            let Some(section) = args.get(at + 1).cloned() else {
                bail!("--only needs a section: {}", SECTIONS.join(", "));
            };
            if !SECTIONS.contains(&section.as_str()) {
                bail!(
                    "unknown section `{section}` (known: {})",
                    SECTIONS.join(", ")
                );
            }
            args.drain(at..at + 2);
            Some(section)
        }
        None => None,
    };
    let quick = args.iter().any(|a| a == "--quick");
    let mut options = Options {
        quick,
        peers: !args.iter().any(|a| a == "--no-peers"),
        readme: if args.iter().any(|a| a == "--no-readme") || only.is_some() {
            false
        } else {
            !quick || args.iter().any(|a| a == "--readme")
        },
        only,
    };
    if let Some(unknown) = args.iter().find(|a| {
        !matches!(
            a.as_str(),
            "--quick" | "--no-peers" | "--readme" | "--no-readme"
        )
    }) {
        bail!(
            "unknown argument `{unknown}` (known: --quick, --no-peers, --readme, --no-readme, --only SECTION)"
        );
    }
    let (binary, profile) = build_binary()?;
    if profile != "release" && !args.iter().any(|a| a == "--readme") {
        // README.md shows what users install; other profiles print only.
        options.readme = false;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the emulator runtime")?;
    let work = tempfile::Builder::new()
        .prefix("pinbatch-bench")
        .tempdir()
        .context("cannot create a temporary folder")?;
    let bench = Bench {
        binary,
        profile,
        runtime,
        work: work.path().to_path_buf(),
        options,
    };
    let started = Instant::now();
    let mut table = Table {
        cpu_reference: cpu_reference(),
        ..Table::default()
    };
    let runs = |section: &str| {
        bench
            .options
            .only
            .as_deref()
            .is_none_or(|only| only == section)
    };
    if runs("size") {
        bench.binary_size_and_start_up(&mut table)?;
    }
    if runs("throughput") {
        bench.calibrate(&mut table)?;
        bench.throughput(&mut table)?;
    }
    if runs("rate") {
        bench.rate_limit(&mut table)?;
        bench.rate_bound(&mut table)?;
    }
    if runs("memory") {
        bench.memory(&mut table)?;
    }
    if runs("validate") {
        bench.validate(&mut table)?;
    }
    if runs("resume") {
        bench.resume(&mut table)?;
    }
    if runs("drip") {
        bench.follow_on_time(&mut table)?;
        bench.follow_idle(&mut table)?;
        bench.plan_scheduled(&mut table)?;
    }
    if !runs("peers") {
    } else if bench.options.peers {
        bench.peers(&mut table)?;
    } else {
        table.note("Peers skipped: --no-peers.");
    }
    let markdown = table.render(&bench.profile, bench.options.quick, started.elapsed());
    println!("\n{markdown}");
    if bench.options.readme {
        write_readme("bench", &markdown)?;
        write_readme("bench-rate", &table.rate_table())?;
        eprintln!("README.md sections \"Performance\" and \"Rate limits\" updated.");
    }
    Ok(())
}

/// Builds `pinbatch` with the cargo profile this benchmark itself was built with (a no-op when it
/// is up to date) and returns its path and the profile's name. `--release` measures the binary
/// users install (stripped, no debug info); `--profile profiling` the same code with line tables,
/// for `perf`.
fn build_binary() -> anyhow::Result<(PathBuf, String)> {
    // This example lives in <target>/<profile dir>/examples/; the binary goes to
    // <target>/<profile dir>/, and the dev profile's folder is called `debug`.
    let exe = std::env::current_exe().context("cannot find the benchmark's own path")?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("unexpected location of the benchmark binary")?;
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") => "dev".to_owned(),
        Some(name) => name.to_owned(),
        None => bail!("unexpected location of the benchmark binary"),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--profile",
            &profile,
            "--quiet",
            "--bin",
            "pinbatch",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .context("cannot run cargo to build the binary")?;
    if !status.success() {
        bail!("`cargo build --profile {profile} --bin pinbatch` failed");
    }
    let binary = profile_dir.join("pinbatch");
    if !binary.is_file() {
        bail!("the binary {} is missing", binary.display());
    }
    Ok((binary, profile))
}

struct Bench {
    binary: PathBuf,
    /// The cargo profile `binary` was built with.
    profile: String,
    runtime: tokio::runtime::Runtime,
    work: PathBuf,
    options: Options,
}

/// What a finished child process used, from `wait4`.
struct Usage {
    code: i32,
    wall: Duration,
    cpu: Duration,
    max_rss_kb: u64,
    stdout: String,
    stderr: String,
}

impl Usage {
    /// Wall time, CPU time and peak memory, as one table cell.
    fn summary(&self) -> String {
        format!(
            "{:.2} s wall, {:.2} s CPU, {:.0} MB peak",
            self.wall.as_secs_f64(),
            self.cpu.as_secs_f64(),
            self.max_rss_kb as f64 / 1024.0
        )
    }
}

/// Runs a command to the end and measures it: wall time, user+system CPU (of the child and the
/// children it waited for) and the child's own peak RSS, sampled every millisecond.
fn measure(command: &mut Command) -> anyhow::Result<Usage> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {command:?}"))?;
    let mut out = child.stdout.take().context("no stdout pipe")?;
    let mut err = child.stderr.take().context("no stderr pipe")?;
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
    // wait4's ru_maxrss also counts the spawning process's memory at exec time (the child
    // starts as a copy of this one), so the peak is sampled from the child's own VmHWM instead.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = std::sync::Arc::clone(&done);
        std::thread::spawn(move || {
            let mut peak_kb = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(kb) = vm_hwm_kb(pid) {
                    peak_kb = peak_kb.max(kb);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            peak_kb
        })
    };
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our child, not yet reaped; the pointers are to live locals.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("wait4 failed");
        }
    }
    let wall = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let max_rss_kb = sampler.join().unwrap_or(0);
    let timeval = |tv: libc::timeval| {
        Duration::from_secs(tv.tv_sec.max(0) as u64)
            + Duration::from_micros(tv.tv_usec.max(0) as u64)
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok(Usage {
        code,
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        max_rss_kb,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// The peak resident set of a running process, in KiB (`VmHWM` in `/proc/PID/status`).
fn vm_hwm_kb(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One apply run's figures.
/// The least time a server budget allows for a run's writes, in seconds, given the run.
type LeastTime<'a> = dyn Fn(&ApplyRun) -> f64 + 'a;

struct ApplyRun {
    usage: Usage,
    /// The executor's own elapsed time (from the JSON summary), without start-up and board lookup.
    executing: Duration,
    requests: Vec<pinbatch_emulator::RecordedRequest>,
    pins_stored: usize,
    /// When the emulator started by its own clock (the machine's): `arrived` counts from there.
    emulator_started: std::time::SystemTime,
}

impl Bench {
    fn emulator(&self, faults: &str) -> anyhow::Result<(Emulator, String)> {
        let faults = parse_fault_spec(faults).map_err(|err| anyhow::anyhow!(err))?;
        let emulator = self
            .runtime
            .block_on(Emulator::start(EmulatorConfig {
                faults,
                ..EmulatorConfig::default()
            }))
            .context("cannot start the emulator")?;
        let board = emulator.seed_board(BOARD, "PUBLIC");
        Ok((emulator, board))
    }

    fn stop(&self, emulator: Emulator) {
        self.runtime.block_on(emulator.shutdown());
    }

    fn dir(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.work.join(name);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir)
    }

    fn pinbatch(&self, emulator: &Emulator, config_dir: &Path) -> Command {
        let mut command = Command::new(&self.binary);
        for (name, _) in std::env::vars_os() {
            let text = name.to_string_lossy();
            if text.starts_with("PINTEREST_") || text.starts_with("PINBATCH_") {
                command.env_remove(&name);
            }
        }
        command
            .env("PINBATCH_API_BASE", emulator.base_url())
            .env(
                "PINTEREST_ACCESS_TOKEN",
                EmulatorConfig::default().access_token,
            )
            .env("PINBATCH_CONFIG_DIR", config_dir)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .arg("--no-progress");
        command
    }

    /// Runs `pinbatch apply --format json` with `extra` arguments on a fresh emulator.
    fn apply(
        &self,
        name: &str,
        faults: &str,
        manifest: impl Fn(&Path) -> anyhow::Result<PathBuf>,
        extra: &[&str],
    ) -> anyhow::Result<ApplyRun> {
        let dir = self.dir(name)?;
        let manifest = manifest(&dir)?;
        let (emulator, _) = self.emulator(faults)?;
        let usage = measure(
            self.pinbatch(&emulator, &dir)
                .args(["apply", "--format", "json"])
                .args(extra)
                .arg(&manifest),
        )?;
        let requests = emulator.requests();
        let pins_stored = emulator.snapshot().pins.len();
        let emulator_started = std::time::SystemTime::now() - emulator.elapsed();
        self.stop(emulator);
        if usage.code != 0 {
            bail!(
                "{name}: pinbatch apply exited {}:\n{}\n{}",
                usage.code,
                tail(&usage.stdout),
                tail(&usage.stderr)
            );
        }
        let executing = summary_elapsed(&usage.stdout).unwrap_or(usage.wall);
        Ok(ApplyRun {
            usage,
            executing,
            requests,
            pins_stored,
            emulator_started,
        })
    }

    /// Measures how long the emulator itself takes to answer one request at the set latency,
    /// with a plain keep-alive socket and nothing else: the floor that no client can beat.
    /// The binary's size on disk and its start-up time: `pinbatch --version`, spawned and waited
    /// for (so the figure includes exec and the dynamic loader), median of many runs.
    fn binary_size_and_start_up(&self, table: &mut Table) -> anyhow::Result<()> {
        const TARGET_MB: f64 = 15.0;
        const TARGET_START_UP_MS: f64 = 5.0;
        let runs = if self.options.quick { 50 } else { 300 };
        let bytes = std::fs::metadata(&self.binary)
            .with_context(|| format!("cannot read {}", self.binary.display()))?
            .len();
        let mb = bytes as f64 / 1e6;
        table.rows.push(vec![
            format!(
                "Binary size (`{}` profile, `{}`)",
                self.profile,
                self.binary
                    .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap_or(&self.binary)
                    .display()
            ),
            format!("< {TARGET_MB:.0} MB (target)"),
            format!("{mb:.2} MB ({bytes} bytes)"),
            format!("**{:.2}** of {TARGET_MB:.0} MB", mb / TARGET_MB),
        ]);
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let started = Instant::now();
            let status = Command::new(&self.binary)
                .arg("--version")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .context("cannot run pinbatch --version")?;
            times.push(started.elapsed());
            if !status.success() {
                bail!("pinbatch --version failed: {status}");
            }
        }
        times.sort();
        let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
        let median = ms(times[times.len() / 2]);
        table.rows.push(vec![
            format!("Start-up: `pinbatch --version`, spawn to exit (median of {runs} runs)"),
            format!("< {TARGET_START_UP_MS:.0} ms (target)"),
            format!(
                "{median:.2} ms (fastest {:.2} ms, 90th percentile {:.2} ms)",
                ms(times[0]),
                ms(times[times.len() * 9 / 10])
            ),
            format!(
                "**{:.2}** of {TARGET_START_UP_MS:.0} ms",
                median / TARGET_START_UP_MS
            ),
        ]);
        Ok(())
    }

    fn calibrate(&self, table: &mut Table) -> anyhow::Result<()> {
        const REQUESTS: usize = 40;
        let (emulator, _) = self.emulator(&format!("latency={LATENCY_MS}ms"))?;
        let address = emulator.base_url().trim_start_matches("http://").to_owned();
        let mut times = Vec::with_capacity(REQUESTS);
        let measured = (|| -> anyhow::Result<()> {
            let mut stream = std::net::TcpStream::connect(&address)?;
            stream.set_nodelay(true)?;
            let mut reader = std::io::BufReader::new(stream.try_clone()?);
            let request = format!(
                "GET /v5/user_account HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\r\n",
                EmulatorConfig::default().access_token
            );
            for _ in 0..REQUESTS {
                let started = Instant::now();
                stream.write_all(request.as_bytes())?;
                read_http_response(&mut reader)?;
                times.push(started.elapsed());
            }
            Ok(())
        })();
        self.stop(emulator);
        measured.context("calibration against the emulator failed")?;
        times.sort();
        let median = times[times.len() / 2];
        let ideal = Duration::from_millis(LATENCY_MS);
        table.rows.push(vec![
            format!("Emulator answer time at {LATENCY_MS} ms latency (bare socket, {REQUESTS} requests, median)"),
            format!("{LATENCY_MS} ms"),
            format!("{:.2} ms", median.as_secs_f64() * 1000.0),
            format!("{:.3} (the fake's own floor)", ideal.as_secs_f64() / median.as_secs_f64()),
        ]);
        Ok(())
    }

    fn throughput(&self, table: &mut Table) -> anyhow::Result<()> {
        let latency = Duration::from_millis(LATENCY_MS);
        let mut rows = Vec::new();
        let mut calls_row = None;
        for (n, pins) in [(1usize, 100usize), (4, 200), (16, 400), (64, 1600)] {
            let pins = if self.options.quick { pins / 4 } else { pins };
            let rounds = if self.options.quick {
                1
            } else {
                THROUGHPUT_ROUNDS
            };
            let mut runs = Vec::with_capacity(rounds);
            for round in 1..=rounds {
                eprintln!(
                    "throughput: -j {n}, {pins} pins, latency {LATENCY_MS} ms, run {round} of {rounds}"
                );
                let run = self.apply(
                    &format!("throughput-{n}-{round}"),
                    &format!("latency={LATENCY_MS}ms"),
                    |dir| url_manifest(dir, pins, "yaml"),
                    &["-j", &n.to_string()],
                )?;
                check_stored(&run, pins)?;
                runs.push(run);
            }
            runs.sort_by_key(|run| run.executing);
            let ideal = n.min(pins) as f64 / latency.as_secs_f64();
            let ratio = |run: &ApplyRun| pins as f64 / run.executing.as_secs_f64() / ideal;
            let spread = if runs.len() > 1 {
                format!(
                    "; runs {:.3}-{:.3}",
                    ratio(&runs[runs.len() - 1]),
                    ratio(&runs[0])
                )
            } else {
                String::new()
            };
            let run = runs.swap_remove(runs.len() / 2);
            let executing = pins as f64 / run.executing.as_secs_f64();
            let whole = pins as f64 / run.usage.wall.as_secs_f64();
            rows.push(vec![
                format!(
                    "Throughput, -j {n}, {pins} URL pins, {LATENCY_MS} ms latency{}",
                    if rounds > 1 {
                        format!(" (median of {rounds} runs)")
                    } else {
                        String::new()
                    }
                ),
                format!("{ideal:.0} pins/s (N / latency)"),
                format!("{executing:.1} pins/s ({whole:.1} end to end)"),
                format!(
                    "**{:.3}** ({:.3} end to end{spread})",
                    executing / ideal,
                    whole / ideal
                ),
            ]);
            if n == 16 {
                let resolution = run
                    .requests
                    .iter()
                    .filter(|r| !r.is("POST", "/v5/pins"))
                    .count();
                let calls = run.requests.len() as f64 / pins as f64;
                calls_row = Some(vec![
                    format!("API calls per created pin (-j 16, {pins} pins, no faults)"),
                    format!(
                        "{:.3} (1 + 2 board-lookup calls / {pins})",
                        (pins + 2) as f64 / pins as f64
                    ),
                    format!("{calls:.3} ({resolution} calls besides the creates)"),
                    format!("**{:.3}**", calls / ((pins + 2) as f64 / pins as f64)),
                ]);
                let cpu_ms = run.usage.cpu.as_secs_f64() * 1000.0 / pins as f64;
                table.cpu_rows.push(vec![
                    format!("CPU time per pin (user+sys, -j 16, {pins} URL pins)"),
                    "< 1 ms (target)".to_owned(),
                    format!(
                        "{cpu_ms:.3} ms ({:.2} s in all)",
                        run.usage.cpu.as_secs_f64()
                    ),
                    format!("**{cpu_ms:.3}** of 1 ms"),
                ]);
            }
        }
        table.rows.extend(rows);
        table.rows.extend(calls_row);
        Ok(())
    }

    fn rate_limit(&self, table: &mut Table) -> anyhow::Result<()> {
        let pins = if self.options.quick { 40 } else { 100 };
        // The bucket announces itself in X-RateLimit headers and allows a burst of 20; the
        // window allows no burst and says nothing, so only --rate-limit can keep within it.
        let cases = [
            ("write-limit=20/s", false, "the bucket allows"),
            ("write-limit=20/s", true, "the bucket allows"),
            ("write-window=20/s", true, "the window allows"),
        ];
        for (limit, paced, allows) in cases {
            let mut extra = vec!["-j", "16"];
            if paced {
                extra.extend(["--rate-limit", "20/s"]);
            }
            eprintln!("rate limit: {limit}, -j 16, {pins} pins, --rate-limit {paced}");
            let run = self.apply(
                &format!("rate-limit-{}-{paced}", limit.replace(['=', '/'], "-")),
                &format!("latency={LATENCY_MS}ms,{limit}"),
                |dir| url_manifest(dir, pins, "yaml"),
                &extra,
            )?;
            check_stored(&run, pins)?;
            let limited = run
                .requests
                .iter()
                .filter(|r| r.status == Some(429))
                .count();
            let injected = run
                .requests
                .iter()
                .filter(|r| r.fault == Some(AppliedFault::WriteLimited))
                .count();
            let burst = if limit.starts_with("write-limit") {
                20
            } else {
                1
            };
            let ideal_wall = pins.saturating_sub(burst) as f64 / 20.0;
            table.rows.push(vec![
                format!(
                    "429s, server {limit}, -j 16, {pins} pins, {}",
                    if paced { "`--rate-limit 20/s`" } else { "no `--rate-limit`" }
                ),
                "0 after the first".to_owned(),
                format!(
                    "{limited} x 429 ({injected} from the limit), {:.2} calls/pin, {:.1} s ({allows} {ideal_wall:.1} s)",
                    run.requests.len() as f64 / pins as f64,
                    run.usage.wall.as_secs_f64()
                ),
                format!("**{}** after the first", limited.saturating_sub(1)),
            ]);
        }
        Ok(())
    }

    /// Writes bound by the server's budget, not by latency: 300 creates at -j 16 with 30 ms
    /// latency under a token bucket, a fixed window, a sliding window and a window aligned to
    /// the clock (the fixed and aligned windows twice: `X-RateLimit-Reset` in seconds to go, and
    /// as a Unix time), each without and with `--rate-limit` at the server's average rate. Each
    /// elapsed time is set against the least time the policy allows for the writes, computed
    /// from its parameters (and, for the aligned window, from where in a window the run began).
    fn rate_bound(&self, table: &mut Table) -> anyhow::Result<()> {
        const RATE_LATENCY_MS: u64 = 30;
        let pins: usize = if self.options.quick { 120 } else { 300 };
        let bucket = |rate: usize, burst: usize| pins.saturating_sub(burst) as f64 / rate as f64;
        let window = |limit: usize, seconds: f64| (pins.div_ceil(limit) - 1) as f64 * seconds;
        // A window aligned to the clock has its whole budget from the first write on, but ends
        // as early into the run as the run began into it.
        let aligned = |limit: usize, seconds: f64| {
            move |run: &ApplyRun| {
                let first = run
                    .requests
                    .iter()
                    .find(|r| r.method == "POST")
                    .map_or(Duration::ZERO, |r| r.arrived);
                let at = (run.emulator_started + first)
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs_f64();
                window(limit, seconds) - at.rem_euclid(seconds)
            }
        };
        let fixed = |least: f64| move |_: &ApplyRun| least;
        // (name, fault spec, least time for `pins` writes in seconds)
        let policies: [(&str, &str, Box<LeastTime<'_>>); 6] = [
            (
                "token bucket, 20/s, burst 20",
                "write-limit=20/s",
                Box::new(fixed(bucket(20, 20))),
            ),
            (
                "fixed window, 100 per 5 s",
                "write-fixed=100/5s",
                Box::new(fixed(window(100, 5.0))),
            ),
            (
                "fixed window, 100 per 5 s, Reset as a Unix time",
                "write-fixed=100/5s,reset=epoch",
                Box::new(fixed(window(100, 5.0))),
            ),
            (
                "sliding window, 100 per 5 s",
                "write-sliding=100/5s",
                Box::new(fixed(window(100, 5.0))),
            ),
            (
                "window aligned to the clock, 60 per 4 s",
                "write-aligned=60/4s",
                Box::new(aligned(60, 4.0)),
            ),
            (
                "window aligned to the clock, 60 per 4 s, Reset as a Unix time",
                "write-aligned=60/4s,reset=epoch",
                Box::new(aligned(60, 4.0)),
            ),
        ];
        for (name, faults, least) in policies {
            for paced in [false, true] {
                let mut extra = vec!["-j", "16"];
                if paced {
                    extra.extend(["--rate-limit", "20/s"]);
                }
                eprintln!("rate bound: {name}, -j 16, {pins} pins, --rate-limit {paced}");
                let run = self.apply(
                    &format!(
                        "rate-bound-{}-{paced}",
                        faults.replace(['=', '/', ','], "-")
                    ),
                    &format!("latency={RATE_LATENCY_MS}ms,{faults}"),
                    |dir| url_manifest(dir, pins, "yaml"),
                    &extra,
                )?;
                check_stored(&run, pins)?;
                let ideal = least(&run);
                let refused = run
                    .requests
                    .iter()
                    .filter(|r| r.status == Some(429))
                    .count();
                let elapsed = run.executing.as_secs_f64();
                table.rate_rows.push(vec![
                    name.to_owned(),
                    if paced {
                        "`--rate-limit 20/s`".to_owned()
                    } else {
                        "none (headers only)".to_owned()
                    },
                    format!("{ideal:.1} s"),
                    format!("{elapsed:.2} s"),
                    format!("**{:.3}**", ideal / elapsed),
                    format!("{refused} ({:.1}%)", refused as f64 * 100.0 / pins as f64),
                ]);
            }
        }
        Ok(())
    }

    fn memory(&self, table: &mut Table) -> anyhow::Result<()> {
        let (count, megabytes) = if self.options.quick { (16, 8) } else { (48, 8) };
        let images = self.dir("images")?;
        eprintln!("memory: writing {count} PNG images of {megabytes} MB");
        let mut paths = Vec::new();
        for i in 0..count {
            let path = images.join(format!("big-{i:02}.png"));
            write_png(&path, megabytes * 1024 * 1024, i as u8)?;
            paths.push(path);
        }
        let largest = paths
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .max()
            .unwrap_or(0) as f64
            / (1024.0 * 1024.0);
        for n in [4usize, 16] {
            eprintln!("memory: -j {n}, {count} images");
            let run = self.apply(
                &format!("memory-{n}"),
                &format!("latency={LATENCY_MS}ms"),
                |dir| image_manifest(dir, &paths),
                &["-j", &n.to_string()],
            )?;
            check_stored(&run, count)?;
            let peak = run.usage.max_rss_kb as f64 / 1024.0;
            let budget = 30.0 + n as f64 * 3.0 * largest;
            table.rows.push(vec![
                format!("Peak RSS, -j {n}, {count} PNGs of {largest:.1} MB"),
                format!("<= {budget:.0} MB (30 + N x 3 x largest)"),
                format!(
                    "{peak:.0} MB; CPU {:.1} ms/pin incl. base64",
                    run.usage.cpu.as_secs_f64() * 1000.0 / count as f64
                ),
                format!("**{:.2}** of budget", peak / budget),
            ]);
        }
        Ok(())
    }

    fn validate(&self, table: &mut Table) -> anyhow::Result<()> {
        let sizes: &[usize] = if self.options.quick {
            &[10_000]
        } else {
            &[10_000, 100_000]
        };
        for &rows in sizes {
            let dir = self.dir(&format!("validate-{rows}"))?;
            let manifest = url_manifest(&dir, rows, "csv")?;
            eprintln!("validate: {rows} rows");
            let usage = measure(
                Command::new(&self.binary)
                    .env("NO_COLOR", "1")
                    .args(["--no-progress", "-q", "validate"])
                    .arg(&manifest),
            )?;
            if usage.code != 0 {
                bail!(
                    "validate {rows} rows exited {}:\n{}",
                    usage.code,
                    tail(&usage.stderr)
                );
            }
            let per_row = usage.wall.as_secs_f64() * 1e6 / rows as f64;
            table.rows.push(vec![
                format!("`validate` of a {rows}-row CSV"),
                "-".to_owned(),
                usage.summary(),
                format!("{per_row:.1} µs/row"),
            ]);
        }
        let rows = if self.options.quick { 10_000 } else { 100_000 };
        let dir = self.dir(&format!("validate-xlsx-{rows}"))?;
        let workbook = url_workbook(&dir, rows)?;
        eprintln!("validate: {rows}-row workbook");
        let usage = measure(
            Command::new(&self.binary)
                .env("NO_COLOR", "1")
                .args(["--no-progress", "-q", "validate", "--timezone", "UTC"])
                .arg(&workbook),
        )?;
        if usage.code != 0 {
            bail!(
                "validate of the workbook exited {}:\n{}",
                usage.code,
                tail(&usage.stderr)
            );
        }
        let peak_mb = usage.max_rss_kb as f64 / 1024.0;
        table.rows.push(vec![
            format!("`validate` of a {rows}-row .xlsx (12 columns, a date cell per row)"),
            "< 3 s, < 300 MB".to_owned(),
            usage.summary(),
            format!(
                "**{:.2}** of 3 s, **{:.2}** of 300 MB",
                usage.wall.as_secs_f64() / 3.0,
                peak_mb / 300.0
            ),
        ]);
        Ok(())
    }

    fn resume(&self, table: &mut Table) -> anyhow::Result<()> {
        let keys = if self.options.quick { 20_000 } else { 100_000 };
        let dir = self.dir("resume")?;
        let manifest = url_manifest(&dir, keys, "csv")?;
        let (emulator, board_id) = self.emulator("none")?;
        eprintln!("resume: writing a {keys}-key state");
        write_done_state(&manifest, &emulator.base_url(), &board_id)?;
        let usage = measure(
            self.pinbatch(&emulator, &dir)
                .args(["-q", "apply"])
                .arg(&manifest),
        )?;
        let calls = emulator.requests().len();
        self.stop(emulator);
        if usage.code != 0 {
            bail!("resume exited {}:\n{}", usage.code, tail(&usage.stderr));
        }
        if calls != 0 {
            bail!("resume over a complete state made {calls} API calls; expected none");
        }
        table.rows.push(vec![
            format!("Resume with nothing to do, {keys}-key state"),
            "0 API calls".to_owned(),
            usage.summary(),
            format!("**{calls}** API calls"),
        ]);
        Ok(())
    }

    /// `apply --follow` of pins one second apart from a start a few seconds ahead: how long
    /// after its slot each create reached the emulator.
    fn follow_on_time(&self, table: &mut Table) -> anyhow::Result<()> {
        let pins = if self.options.quick { 6 } else { 20 };
        let dir = self.dir("drip-follow")?;
        let ahead = std::time::SystemTime::now() + Duration::from_secs(3);
        let first_slot = ahead
            .duration_since(std::time::UNIX_EPOCH)
            .context("the clock is before 1970")?
            .as_secs()
            + 1;
        let start = jiff::Timestamp::from_second(i64::try_from(first_slot)?)?
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string();
        let manifest = drip_manifest(&dir, pins, &format!("  start: {start}\n  every: 1s\n"))?;
        let (emulator, _) = self.emulator("none")?;
        let base = (std::time::SystemTime::now(), emulator.elapsed());
        eprintln!("drip: --follow, {pins} pins one second apart");
        let usage = measure(
            self.pinbatch(&emulator, &dir)
                .args(["-q", "apply", "--follow"])
                .arg(&manifest),
        )?;
        let arrivals: Vec<std::time::SystemTime> = emulator
            .requests()
            .iter()
            .filter(|r| r.is("POST", "/v5/pins"))
            .map(|r| base.0 + r.arrived - base.1)
            .collect();
        self.stop(emulator);
        if usage.code != 0 || arrivals.len() != pins {
            bail!(
                "follow exited {} with {} of {pins} creates:\n{}",
                usage.code,
                arrivals.len(),
                tail(&usage.stderr)
            );
        }
        let mut late_ms: Vec<f64> = arrivals
            .iter()
            .enumerate()
            .map(|(i, arrived)| {
                let slot = std::time::UNIX_EPOCH + Duration::from_secs(first_slot + i as u64);
                match arrived.duration_since(slot) {
                    Ok(late) => late.as_secs_f64() * 1000.0,
                    Err(early) => -early.duration().as_secs_f64() * 1000.0,
                }
            })
            .collect();
        late_ms.sort_by(f64::total_cmp);
        let worst = late_ms.iter().copied().fold(f64::MIN, f64::max);
        let earliest = late_ms.first().copied().unwrap_or_default();
        let median = late_ms[late_ms.len() / 2];
        table.rows.push(vec![
            format!("`apply --follow`, `every: 1s`, {pins} pins: arrival after each slot"),
            "< 500 ms".to_owned(),
            format!(
                "median {median:.1} ms, latest {worst:.1} ms, earliest {earliest:.1} ms; {:.2} s CPU over {:.1} s",
                usage.cpu.as_secs_f64(),
                usage.wall.as_secs_f64()
            ),
            format!("**{:.3}** of 500 ms", worst / 500.0),
        ]);
        Ok(())
    }

    /// `apply --follow` sleeping between two pins ten seconds apart: the share of a core it
    /// uses, start-up and both pins included.
    fn follow_idle(&self, table: &mut Table) -> anyhow::Result<()> {
        let dir = self.dir("drip-idle")?;
        let manifest = drip_manifest(&dir, 2, "  every: 10s\n")?;
        let (emulator, _) = self.emulator("none")?;
        eprintln!("drip: --follow waiting 10 s between two pins");
        let usage = measure(
            self.pinbatch(&emulator, &dir)
                .args(["-q", "apply", "--follow"])
                .arg(&manifest),
        )?;
        self.stop(emulator);
        if usage.code != 0 {
            bail!("follow exited {}:\n{}", usage.code, tail(&usage.stderr));
        }
        let share = usage.cpu.as_secs_f64() / usage.wall.as_secs_f64();
        table.rows.push(vec![
            "`apply --follow` sleeping 10 s between two pins (start-up and both pins included)"
                .to_owned(),
            "< 1% of a core".to_owned(),
            format!(
                "{:.3} s CPU over {:.1} s wall",
                usage.cpu.as_secs_f64(),
                usage.wall.as_secs_f64()
            ),
            format!("**{:.2}%** of a core", share * 100.0),
        ]);
        Ok(())
    }

    /// `plan --offline` of a large CSV under a schedule (every row gets a time), against
    /// `validate` of the same file: what the schedule and the plan add to reading it.
    fn plan_scheduled(&self, table: &mut Table) -> anyhow::Result<()> {
        let rows = if self.options.quick { 10_000 } else { 100_000 };
        let dir = self.dir("drip-plan")?;
        let manifest = url_manifest(&dir, rows, "csv")?;
        eprintln!("drip: plan of {rows} scheduled rows");
        let validate = measure(
            Command::new(&self.binary)
                .env("NO_COLOR", "1")
                .env("PINBATCH_NO_LINK_CHECK", "1")
                .args(["--no-progress", "-q", "validate"])
                .arg(&manifest),
        )?;
        let plan = measure(
            Command::new(&self.binary)
                .env("NO_COLOR", "1")
                .env("PINBATCH_NO_LINK_CHECK", "1")
                .args([
                    "--no-progress",
                    "-q",
                    "plan",
                    "--offline",
                    "--format",
                    "json",
                ])
                .args(["--timezone", "Europe/Paris", "--start", "2030-01-07 08:00"])
                .args(["--per-day", "10", "--between", "08:00-21:00"])
                .args(["--every", "30m", "--jitter", "20m"])
                .arg(&manifest),
        )?;
        if plan.code != 0 || validate.code != 0 {
            bail!("plan exited {}:\n{}", plan.code, tail(&plan.stderr));
        }
        let timed = plan.stdout.matches("\"due\":").count();
        if timed < rows {
            bail!("plan gave {timed} of {rows} rows a time");
        }
        table.rows.push(vec![
            format!("`plan --offline` of a {rows}-row CSV, each row given a time (10 a day, 08:00-21:00)"),
            "< 1 s".to_owned(),
            format!(
                "{}; `validate` of the same file {:.2} s",
                plan.summary(),
                validate.wall.as_secs_f64()
            ),
            format!("**{:.2}** of 1 s", plan.wall.as_secs_f64()),
        ]);
        Ok(())
    }

    fn peers(&self, table: &mut Table) -> anyhow::Result<()> {
        let pins = if self.options.quick { 50 } else { 200 };
        let faults = format!("latency={LATENCY_MS}ms");
        let mut ours = std::collections::BTreeMap::new();
        for n in [1usize, 16] {
            eprintln!("peers: pinbatch -j {n}, {pins} pins");
            let run = self.apply(
                &format!("peer-pinbatch-{n}"),
                &faults,
                |dir| url_manifest(dir, pins, "yaml"),
                &["-j", &n.to_string()],
            )?;
            check_stored(&run, pins)?;
            table.peer_rows.push(peer_row(
                &format!("pinbatch -j {n}"),
                &run.usage,
                run.requests.len(),
                pins,
                None,
            ));
            ours.insert(n, run.usage);
        }
        match self.python_sdk(pins, &faults) {
            Ok((usage, calls)) => table.peer_rows.push(peer_row(
                "Python SDK `pinterest-api-sdk` 0.2.7, plain loop (1 at a time)",
                &usage,
                calls,
                pins,
                ours.get(&1),
            )),
            Err(err) => table.note(&format!("Python SDK skipped: {err:#}")),
        }
        match self.curl(pins, 16, &faults) {
            Ok((usage, calls)) => table.peer_rows.push(peer_row(
                "`xargs -P 16 curl` (one process per pin)",
                &usage,
                calls,
                pins,
                ours.get(&16),
            )),
            Err(err) => table.note(&format!("curl skipped: {err:#}")),
        }
        Ok(())
    }

    /// The official Python SDK in a venv under the target folder, creating pins in a loop.
    fn python_sdk(&self, pins: usize, faults: &str) -> anyhow::Result<(Usage, usize)> {
        let python = sdk_python()?;
        let dir = self.dir("peer-sdk")?;
        let script = dir.join("create_pins.py");
        std::fs::write(&script, SDK_SCRIPT)?;
        let (emulator, board_id) = self.emulator(faults)?;
        eprintln!("peers: Python SDK, {pins} pins");
        let usage = measure(
            Command::new(&python)
                .arg(&script)
                .arg(&board_id)
                .arg(pins.to_string())
                .env("PINTEREST_API_URI", format!("{}/v5", emulator.base_url()))
                .env(
                    "PINTEREST_ACCESS_TOKEN",
                    EmulatorConfig::default().access_token,
                ),
        )?;
        let calls = emulator.requests().len();
        let stored = emulator.snapshot().pins.len();
        self.stop(emulator);
        if usage.code != 0 || stored != pins {
            bail!(
                "the SDK script exited {} with {stored} of {pins} pins stored: {}",
                usage.code,
                tail(&usage.stderr)
            );
        }
        Ok((usage, calls))
    }

    /// `xargs -P N curl`, one POST /v5/pins per JSON body file.
    fn curl(&self, pins: usize, parallel: usize, faults: &str) -> anyhow::Result<(Usage, usize)> {
        which("curl")?;
        which("xargs")?;
        let dir = self.dir("peer-curl")?;
        let (emulator, board_id) = self.emulator(faults)?;
        let mut list = String::new();
        for i in 0..pins {
            let body = serde_json::json!({
                "board_id": board_id,
                "title": format!("Pin number {i}"),
                "description": format!("Description {i}"),
                "link": format!("https://example.com/p/{i}"),
                "media_source": {"source_type": "image_url", "url": format!("https://example.com/img/{i}.jpg")},
            });
            let path = dir.join(format!("pin-{i:04}.json"));
            std::fs::write(&path, body.to_string())?;
            writeln!(list, "{}", path.display())?;
        }
        let list_path = dir.join("bodies.txt");
        std::fs::write(&list_path, list)?;
        eprintln!("peers: xargs -P {parallel} curl, {pins} pins");
        let usage = measure(
            Command::new("xargs")
                .arg("-a")
                .arg(&list_path)
                .args([
                    "-P",
                    &parallel.to_string(),
                    "-I{}",
                    "curl",
                    "-sS",
                    "-o",
                    "/dev/null",
                    "--fail",
                ])
                .args(["-X", "POST", "-H", "Content-Type: application/json"])
                .arg("-H")
                .arg(format!(
                    "Authorization: Bearer {}",
                    EmulatorConfig::default().access_token
                ))
                .args(["--data-binary", "@{}"])
                .arg(format!("{}/v5/pins", emulator.base_url())),
        )?;
        let calls = emulator.requests().len();
        let stored = emulator.snapshot().pins.len();
        self.stop(emulator);
        if usage.code != 0 || stored != pins {
            bail!(
                "xargs curl exited {} with {stored} of {pins} pins stored: {}",
                usage.code,
                tail(&usage.stderr)
            );
        }
        Ok((usage, calls))
    }
}

const SDK_SCRIPT: &str = r#"# Creates N URL pins with the official SDK in a plain loop, as its README shows.
import sys
from pinterest.client import PinterestSDKClient
from pinterest.organic.pins import Pin

board_id, count = sys.argv[1], int(sys.argv[2])
client = PinterestSDKClient.create_default_client()
for i in range(count):
    Pin.create(
        board_id=board_id,
        title=f"Pin number {i}",
        description=f"Description {i}",
        link=f"https://example.com/p/{i}",
        media_source={"source_type": "image_url", "url": f"https://example.com/img/{i}.jpg"},
        client=client,
    )
"#;

/// The venv's python with `pinterest-api-sdk` installed, creating it on first use.
fn sdk_python() -> anyhow::Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let venv = target.join("bench-venv");
    let python = venv.join("bin/python");
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", "import pinterest.organic.pins"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if python.is_file() && ready(&python) {
        return Ok(python);
    }
    eprintln!(
        "peers: installing pinterest-api-sdk into {}",
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .context("python3 is not available")?;
    if !status.success() {
        bail!("`python3 -m venv` failed");
    }
    let output = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "pinterest-api-sdk==0.2.7"])
        .output()
        .context("cannot run pip")?;
    if !output.status.success() || !ready(&python) {
        bail!(
            "cannot install pinterest-api-sdk: {}",
            tail(&String::from_utf8_lossy(&output.stderr))
        );
    }
    Ok(python)
}

fn which(program: &str) -> anyhow::Result<()> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        Ok(())
    } else {
        bail!("`{program}` is not installed")
    }
}

fn peer_row(
    name: &str,
    usage: &Usage,
    calls: usize,
    pins: usize,
    baseline: Option<&Usage>,
) -> Vec<String> {
    let ratio =
        |mine: Duration, theirs: Duration| mine.as_secs_f64() / theirs.as_secs_f64().max(1e-6);
    let (wall, cpu) = match baseline {
        Some(base) => (
            format!("**{:.2}x**", ratio(usage.wall, base.wall)),
            format!("**{:.2}x**", ratio(usage.cpu, base.cpu)),
        ),
        None => ("1x".to_owned(), "1x".to_owned()),
    };
    vec![
        name.to_owned(),
        format!("{:.2} s", usage.wall.as_secs_f64()),
        wall,
        format!("{:.2} s", usage.cpu.as_secs_f64()),
        cpu,
        format!("{:.2}", calls as f64 / pins as f64),
        format!("{:.0} MB", usage.max_rss_kb as f64 / 1024.0),
    ]
}

/// Reads one HTTP/1.1 response with a `content-length` body from a keep-alive connection.
fn read_http_response(reader: &mut impl std::io::BufRead) -> anyhow::Result<()> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            bail!("the emulator closed the connection");
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0u8; length.context("the response has no content-length")?];
    reader.read_exact(&mut body)?;
    Ok(())
}

fn check_stored(run: &ApplyRun, pins: usize) -> anyhow::Result<()> {
    if run.pins_stored != pins {
        bail!(
            "expected {pins} pins on the emulator, found {}",
            run.pins_stored
        );
    }
    Ok(())
}

/// The executor's elapsed time from the JSON `summary` event.
fn summary_elapsed(stdout: &str) -> Option<Duration> {
    stdout.lines().rev().find_map(|line| {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        if value.get("event")?.as_str()? != "summary" {
            return None;
        }
        let ms = value.get("elapsed_ms")?.as_u64()?;
        Some(Duration::from_millis(ms.max(1)))
    })
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// A manifest of `n` URL pins on [`BOARD`], as `pins.yaml` or `pins.csv`.
fn url_manifest(dir: &Path, n: usize, format: &str) -> anyhow::Result<PathBuf> {
    let mut text = String::with_capacity(n * 160);
    if format == "csv" {
        text.push_str("id,board,title,description,link,image\n");
        for i in 0..n {
            writeln!(
                text,
                "pin-{i:06},{BOARD},Pin number {i},Description {i},https://example.com/p/{i},https://example.com/img/{i}.jpg"
            )?;
        }
    } else {
        writeln!(text, "version: 1\ndefaults:\n  board: \"{BOARD}\"\npins:")?;
        for i in 0..n {
            writeln!(
                text,
                "  - id: pin-{i:06}\n    title: Pin number {i}\n    description: Description {i}\n    link: https://example.com/p/{i}\n    image: https://example.com/img/{i}.jpg"
            )?;
        }
    }
    let path = dir.join(format!("pins.{format}"));
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// A YAML manifest of `n` URL pins on [`BOARD`] under the schedule `schedule` (its block's
/// lines), in UTC.
fn drip_manifest(dir: &Path, n: usize, schedule: &str) -> anyhow::Result<PathBuf> {
    let mut text = format!(
        "version: 1\ndefaults:\n  board: \"{BOARD}\"\n  timezone: UTC\nschedule:\n{schedule}pins:\n"
    );
    for i in 0..n {
        writeln!(
            text,
            "  - id: drip-{i:04}\n    title: Drip {i}\n    link: https://example.com/d/{i}\n    image: https://example.com/img/{i}.jpg"
        )?;
    }
    let path = dir.join("drip.yaml");
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// A workbook of `n` URL pins on [`BOARD`] with every column pinbatch reads and a date cell
/// in `publish_at`, as a spreadsheet program would save it.
fn url_workbook(dir: &Path, n: usize) -> anyhow::Result<PathBuf> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let header = pinbatch::manifest::NATIVE_COLUMNS;
    for (col, name) in (0u16..).zip(header) {
        sheet.write_string(0, col, *name)?;
    }
    let date = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let due = ExcelDateTime::from_ymd(2026, 12, 24)?.and_hms(9, 0, 0)?;
    for (row, i) in (1u32..).zip(0..n) {
        sheet.write_string(row, 0, format!("pin-{i:06}"))?;
        sheet.write_string(row, 1, BOARD)?;
        sheet.write_string(row, 2, "Cats")?;
        sheet.write_string(row, 3, format!("Pin number {i}"))?;
        sheet.write_string(row, 4, format!("Description {i}"))?;
        sheet.write_string(row, 5, format!("https://example.com/p/{i}"))?;
        sheet.write_string(row, 6, "A cat")?;
        sheet.write_string(row, 7, "#aabbcc")?;
        sheet.write_datetime_with_format(row, 8, &due, &date)?;
        sheet.write_string(row, 9, format!("https://example.com/img/{i}.jpg"))?;
    }
    let path = dir.join("pins.xlsx");
    book.save(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn image_manifest(dir: &Path, images: &[PathBuf]) -> anyhow::Result<PathBuf> {
    let mut text = format!("version: 1\ndefaults:\n  board: \"{BOARD}\"\npins:\n");
    for (i, image) in images.iter().enumerate() {
        writeln!(
            text,
            "  - id: big-{i:02}\n    title: Large image {i}\n    image: \"{}\"",
            image.display()
        )?;
    }
    let path = dir.join("pins.yaml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Writes a complete state for `manifest`: every pin done, with the fingerprint `plan` computes,
/// in the documented JSON-lines format (a header line, then one record per line).
fn write_done_state(manifest: &Path, base_url: &str, board_id: &str) -> anyhow::Result<()> {
    use pinbatch::state::{Record, StateSnapshot, default_state_path};
    let loaded = pinbatch::manifest::load(manifest);
    let Some(manifest_data) = loaded.manifest else {
        bail!(
            "the generated manifest is invalid: {:?}",
            loaded.diagnostics.first()
        );
    };
    let environment = pinbatch::api::Environment::resolve(false, Some(base_url))
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    let snapshot = StateSnapshot::new(environment.origin());
    let mut out = std::io::BufWriter::new(std::fs::File::create(default_state_path(manifest))?);
    serde_json::to_writer(&mut out, &snapshot.header)?;
    out.write_all(b"\n")?;
    let now = pinbatch::epoch::now_ms();
    for (i, pin) in manifest_data.pins.iter().enumerate() {
        let record = Record::Done {
            key: pin.key.clone(),
            pin_id: format!("{}", 900_000_000_000_000_000u64 + i as u64),
            created_ms: None,
            board_id: board_id.to_owned(),
            section_id: None,
            fingerprint: pinbatch::plan::fingerprint(pin),
            adopted: false,
            shared_with: None,
            at_ms: now,
        };
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Writes a valid RGB PNG of about `bytes` bytes: its pixels in stored (uncompressed) deflate
/// blocks, so the file size is what was asked and writing it takes no compression time.
fn write_png(path: &Path, bytes: usize, seed: u8) -> anyhow::Result<()> {
    let width: usize = 2048;
    let row = 1 + width * 3;
    let height = (bytes / row).max(1);
    let mut raw = Vec::with_capacity(row * height);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.extend_from_slice(&[(x as u8).wrapping_add(seed), y as u8, (x ^ y) as u8]);
        }
    }
    let mut zlib = Vec::with_capacity(raw.len() + raw.len() / 65535 * 5 + 16);
    zlib.extend_from_slice(&[0x78, 0x01]);
    let mut chunks = raw.chunks(65535).peekable();
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        zlib.push(u8::from(last));
        let len = chunk.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(chunk);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut png = Vec::with_capacity(zlib.len() + 64);
    png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    let mut header = Vec::new();
    header.extend_from_slice(&(width as u32).to_be_bytes());
    header.extend_from_slice(&(height as u32).to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    png_chunk(&mut png, b"IHDR", &header);
    png_chunk(&mut png, b"IDAT", &zlib);
    png_chunk(&mut png, b"IEND", &[]);
    std::fs::write(path, png).with_context(|| format!("cannot write {}", path.display()))
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = Crc32::default();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finish().to_be_bytes());
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

struct Crc32 {
    table: [u32; 256],
    value: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        let mut table = [0u32; 256];
        for (n, entry) in table.iter_mut().enumerate() {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        Crc32 {
            table,
            value: 0xFFFF_FFFF,
        }
    }
}

impl Crc32 {
    fn update(&mut self, data: &[u8]) {
        for &byte in data {
            self.value =
                self.table[((self.value ^ u32::from(byte)) & 0xFF) as usize] ^ (self.value >> 8);
        }
    }

    fn finish(&self) -> u32 {
        self.value ^ 0xFFFF_FFFF
    }
}

#[derive(Default)]
struct Table {
    /// The times of [`cpu_reference`] on this machine.
    cpu_reference: CpuReference,
    rows: Vec<Vec<String>>,
    cpu_rows: Vec<Vec<String>>,
    /// Rows of the rate-bound table (policy, pacing, least time, elapsed, ratio, 429s).
    rate_rows: Vec<Vec<String>>,
    peer_rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Table {
    fn note(&mut self, text: &str) {
        eprintln!("{text}");
        self.notes.push(text.to_owned());
    }

    fn render(&self, profile: &str, quick: bool, took: Duration) -> String {
        let mut out = String::new();
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let _ = writeln!(
            out,
            "Measured {} on this machine: {cores} cores, Linux, `{profile}` profile; the emulator runs in the benchmark's process on the same cores. The whole run took {:.0} s. Fixed reference work on one core took {:.0} ms for an integer loop and {:.0} ms to first touch 128 MiB: CPU-bound rows scale with the first from one machine to another, allocation-heavy ones (`validate`, resume, CPU per pin) with the second.\n",
            if quick {
                "with `--quick` (fewer pins)"
            } else {
                "in one run"
            },
            took.as_secs_f64(),
            self.cpu_reference.compute.as_secs_f64() * 1000.0,
            self.cpu_reference.memory.as_secs_f64() * 1000.0
        );
        let _ = writeln!(out, "| Measure | Ideal or target | Measured | Ratio |");
        let _ = writeln!(out, "|---|---|---|---|");
        for row in self.rows.iter().chain(&self.cpu_rows) {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        if !self.rate_rows.is_empty() {
            let _ = writeln!(out, "\n{}", self.rate_table());
        }
        if !self.peer_rows.is_empty() {
            let _ = writeln!(
                out,
                "\nPeers, same emulator and latency ({LATENCY_MS} ms), same pins; ratios are the peer against pinbatch at the same concurrency (higher is worse for the peer):\n"
            );
            let _ = writeln!(
                out,
                "| Tool | Wall | Wall vs pinbatch | CPU (user+sys) | CPU vs pinbatch | API calls per pin | Peak RSS |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|---|");
            for row in &self.peer_rows {
                let _ = writeln!(out, "| {} |", row.join(" | "));
            }
        }
        for note in &self.notes {
            let _ = writeln!(out, "\n{note}");
        }
        out
    }
}

impl Table {
    /// The rate-bound rows as a table of their own (also written into README's "Rate limits").
    fn rate_table(&self) -> String {
        let mut out = String::from(
            "Rate-bound: 300 creates (120 with `--quick`) at `-j 16`, 30 ms latency, under each server write budget; the ratio is the least time the budget allows over the time taken (higher is better, 1 is the ideal):\n\n| Server budget | Client pacing | Least time | Took | Ratio | 429s |\n|---|---|---|---|---|---|\n",
        );
        for row in &self.rate_rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }
}

/// Replaces the text between the benchmark markers in README.md's "Performance" section.
fn write_readme(block: &str, markdown: &str) -> anyhow::Result<()> {
    let start_marker = format!("<!-- {block}:start -->");
    let end_marker = format!("<!-- {block}:end -->");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let text = std::fs::read_to_string(&path).context("cannot read README.md")?;
    let (Some(start), Some(end)) = (text.find(&start_marker), text.find(&end_marker)) else {
        bail!("README.md has no {start_marker} ... {end_marker} markers");
    };
    if end < start {
        bail!("README.md's {block} markers are out of order");
    }
    let updated = format!(
        "{}{start_marker}\n{}{end_marker}{}",
        &text[..start],
        markdown,
        &text[end + end_marker.len()..]
    );
    std::fs::write(&path, updated).context("cannot write README.md")
}

/// Times fixed work on one core (the fastest of five runs): an integer loop, and the first
/// touch of fresh memory, which costs a page fault per page and is what differs most between
/// virtual machines. The same work everywhere, so two runs of this benchmark can be told apart
/// by the machine's speed before the code's.
fn cpu_reference() -> CpuReference {
    fn fastest(mut work: impl FnMut()) -> Duration {
        (0..5)
            .map(|_| {
                let started = Instant::now();
                work();
                started.elapsed()
            })
            .min()
            .unwrap_or_default()
    }
    let compute = fastest(|| {
        let mut state = std::hint::black_box(0x9e37_79b9_7f4a_7c15_u64);
        for _ in 0..50_000_000 {
            // xorshift64: a dependency chain the compiler cannot fold away.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
        }
        std::hint::black_box(state);
    });
    let memory = fastest(|| {
        let mut fresh = vec![0u8; 128 << 20];
        for page in fresh.chunks_mut(4096) {
            page[0] = 1;
        }
        std::hint::black_box(&fresh);
    });
    CpuReference { compute, memory }
}

/// What [`cpu_reference`] measured.
#[derive(Debug, Default, Clone, Copy)]
struct CpuReference {
    /// 50 million rounds of xorshift64.
    compute: Duration,
    /// Allocating and first touching 128 MiB.
    memory: Duration,
}
