//! The command-line interface as clap derive types: data only, no I/O and no logic. Settings
//! are resolved from these in `commands::settings`. May use the plain types of `manifest`, `ui`
//! and the emulator crate that its options are parsed into.
//!
//! House style: every option that takes a value has an uppercase `value_name`; short flags only
//! where documented in the README; doc comments are the help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success (warnings allowed)
  1    the work did not complete (invalid manifest, some pins failed, state locked)
  2    command-line usage error
  3    authentication or configuration problem
  130  interrupted (Ctrl-C)";

/// Publish Pinterest Pins in bulk from a spreadsheet, CSV or YAML manifest, safely and resumably.
#[derive(Debug, Parser)]
#[command(name = "pinbatch", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Options accepted by every command, before or after the subcommand.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Target the Pinterest API sandbox (https://api-sandbox.pinterest.com); Trial-access apps can only write there.
    // The doc comment is the help text, where a bare address reads best.
    #[allow(rustdoc::bare_urls)]
    #[arg(long, global = true)]
    pub sandbox: bool,

    /// Override the API origin (pinbatch appends /v5/...). Plain http:// only for loopback addresses.
    #[arg(long, global = true, value_name = "URL", env = "PINBATCH_API_BASE")]
    pub api_base: Option<String>,

    /// Read the access token from this file: its first line, or api-quickstart's JSON token file (takes precedence over PINTEREST_ACCESS_TOKEN and the token store).
    #[arg(long, global = true, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail (repeat for debug logs). Never prints tokens.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never draw a progress bar.
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// When to use colour (NO_COLOR is honoured by `auto`).
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
}

impl GlobalArgs {
    /// What these flags ask of the terminal, as `ui` takes it.
    pub fn terminal(&self) -> crate::ui::Terminal {
        crate::ui::Terminal {
            quiet: self.quiet,
            verbose: self.verbose,
            no_progress: self.no_progress,
            color: match self.color {
                ColorChoice::Auto => crate::ui::ColorWhen::Auto,
                ColorChoice::Always => crate::ui::ColorWhen::Always,
                ColorChoice::Never => crate::ui::ColorWhen::Never,
            },
        }
    }
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests: schema and semantic checks, every problem reported at once (offline unless --online).
    Validate(ValidateArgs),
    /// Print the manifest JSON Schema (identical to schemas/manifest.schema.json).
    Schema,
    /// Scaffold a CSV, YAML or workbook manifest from a folder of images and videos.
    Init(InitArgs),
    /// Write a manifest as Pinterest's own bulk-create CSV (at most 200 rows per file).
    Export(ExportArgs),
    /// Show what `apply` would do: create / update / replace / unchanged / orphaned / scheduled, per pin.
    Plan(PlanArgs),
    /// Create the manifest's pins: bounded concurrency, retries, rate limiting, resumable state.
    Apply(ApplyArgs),
    /// Summarise the state file: done, failed (with the last error), pending.
    Status(StatusArgs),
    /// Write one self-contained HTML page showing every pin as a card (no network).
    Preview(PreviewArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(CompletionsArgs),
    /// Run a local Pinterest API v5 emulator (in memory, 127.0.0.1 only) until Ctrl-C.
    #[command(after_help = EMULATOR_HELP)]
    Emulator(EmulatorArgs),
    /// Log in to Pinterest, show, refresh or forget the stored token.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// List or create boards.
    #[command(subcommand)]
    Boards(BoardsCommand),
    /// List the sections of a board.
    #[command(subcommand)]
    Sections(SectionsCommand),
    /// List, show or delete the pins an account already has.
    #[command(subcommand)]
    Pins(PinsCommand),
    /// Record pins that already exist and match manifest pins in the state, so that `apply`
    /// updates or leaves them instead of creating them again. Never writes to Pinterest.
    Import(ImportArgs),
    /// Write the manifest back with its results: one row per pin, its own columns first, then
    /// pin id, link, status, publish time and error (and with --metrics, analytics); .csv,
    /// .xlsx or .json. It reads back as a manifest.
    Report(ReportArgs),
}

/// Arguments of `pinbatch report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The manifest (.yaml, .yml, .csv, .xlsx, .xlsm, .xls or .ods).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,

    /// How to read the manifest.
    #[command(flatten)]
    pub input: ManifestArgs,

    /// The report to write, by extension: .csv, .xlsx or .json (replaced if it exists).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// State file (default: beside the manifest, named `<manifest>.state`).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// Add each published pin's analytics from Pinterest: impressions, saves, pin clicks,
    /// outbound clicks (and video views and average watch time for videos).
    #[arg(long)]
    pub metrics: bool,

    /// First day of the metrics, YYYY-MM-DD (UTC; default: 30 days before today; Pinterest keeps 90 days).
    #[arg(long, value_name = "DATE", requires = "metrics", value_parser = parse_date)]
    pub since: Option<jiff::civil::Date>,

    /// Last day of the metrics, YYYY-MM-DD (UTC; default: yesterday).
    #[arg(long, value_name = "DATE", requires = "metrics", value_parser = parse_date)]
    pub until: Option<jiff::civil::Date>,

    /// Retries, pacing and timeouts of the analytics reads.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Parses a day written `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<jiff::civil::Date, String> {
    let text = text.trim();
    let valid = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    match text.parse::<jiff::civil::Date>() {
        Ok(date) if valid => Ok(date),
        _ => Err(format!("`{text}` is not a day written YYYY-MM-DD")),
    }
}

/// `pinbatch pins ...`.
#[derive(Debug, Subcommand)]
pub enum PinsCommand {
    /// List the pins of a board (or of one of its sections), newest first, every page.
    List(PinsListArgs),
    /// Show one pin.
    Get(PinsGetArgs),
    /// Delete pins (asks first on a terminal; --yes otherwise).
    Delete(PinsDeleteArgs),
}

/// Arguments of `pinbatch pins list`.
#[derive(Debug, Args)]
pub struct PinsListArgs {
    /// The board: its name or its numeric id.
    #[arg(value_name = "BOARD")]
    pub board: String,

    /// Only the pins of this section of the board.
    #[arg(long, value_name = "NAME")]
    pub section: Option<String>,

    /// Output format; csv writes manifest columns (`pinbatch validate` and `import` read it).
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub format: ListFormat,

    /// Print at most N pins (the newest).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// Network options.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Arguments of `pinbatch pins get`.
#[derive(Debug, Args)]
pub struct PinsGetArgs {
    /// The pin id.
    #[arg(value_name = "ID", value_parser = parse_pin_id)]
    pub id: String,

    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub format: ListFormat,

    /// Network options.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Arguments of `pinbatch pins delete`.
#[derive(Debug, Args)]
pub struct PinsDeleteArgs {
    /// The pin ids.
    #[arg(required = true, value_name = "ID", value_parser = parse_pin_id)]
    pub ids: Vec<String>,

    /// Delete without asking (needed when standard input is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Network options.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Arguments of `pinbatch import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The manifest (.yaml, .yml, .csv, or a workbook: .xlsx, .xlsm, .xls, .ods).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,

    /// How to read the manifest.
    #[command(flatten)]
    pub input: ManifestArgs,

    /// State file (default: beside the manifest, named `<manifest>.state`).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// Show what would be recorded; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Adopt this pin for this manifest key (settles an ambiguous match); repeatable.
    #[arg(long = "pin", value_name = "KEY=PIN_ID", value_parser = parse_pin_assignment)]
    pub pins: Vec<(String, String)>,

    /// Network options.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Parses a pin id: digits only.
pub fn parse_pin_id(text: &str) -> Result<String, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err(format!("`{text}` is not a pin id (digits only)"))
    }
}

/// Parses `--pin KEY=PIN_ID` (the key may itself contain `=`: the id is after the last one).
pub fn parse_pin_assignment(text: &str) -> Result<(String, String), String> {
    let Some((key, id)) = text.rsplit_once('=') else {
        return Err(format!("`{text}` is not KEY=PIN_ID"));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(format!("`{text}` names no key"));
    }
    Ok((key.to_owned(), parse_pin_id(id)?))
}

/// Arguments of `pinbatch init`.
#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The folder of images (JPEG/PNG, by their bytes) and videos (.mp4, .mov, .m4v); optional with --xlsx.
    #[arg(value_name = "DIR", required_unless_present = "xlsx")]
    pub dir: Option<PathBuf>,

    /// Write a workbook to start from: a note per column, a drop-down of your boards when logged in, one row per file in DIR.
    #[arg(long, value_name = "FILE.xlsx", conflicts_with = "output")]
    pub xlsx: Option<PathBuf>,

    /// The board every pin goes to; without it the board is left empty for you to fill in.
    #[arg(long, value_name = "NAME")]
    pub board: Option<String>,

    /// Which files to take, relative to DIR (case-insensitive; `*` stays in one folder, `**` crosses folders).
    #[arg(long, value_name = "PATTERN", default_value = crate::manifest::scaffold::DEFAULT_GLOB)]
    pub glob: String,

    /// The manifest to write (.csv, .yaml, .yml or .xlsx; default DIR/pins.csv).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `pinbatch export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The manifest (.yaml, .yml, .csv, .xlsx, .xlsm, .xls or .ods).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,

    /// How to read the manifest.
    #[command(flatten)]
    pub input: ManifestArgs,

    /// The CSV to write; above 200 rows, FILE-1.csv, FILE-2.csv, ... instead.
    #[arg(short, long, value_name = "FILE.csv")]
    pub output: PathBuf,

    /// The schedule's settings (over the manifest's `schedule:` block).
    #[command(flatten)]
    pub schedule: ScheduleArgs,

    /// How far ahead Pinterest's bulk upload takes a publish date: pins due later are listed and left out.
    #[arg(long, value_name = "DURATION", default_value = "14d", value_parser = humantime::parse_duration)]
    pub horizon: Duration,
}

/// Arguments of `pinbatch plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// The manifest (.yaml, .yml, .csv, .xlsx, .xlsm, .xls or .ods).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,

    /// How to read the manifest.
    #[command(flatten)]
    pub input: ManifestArgs,

    /// State file (default: beside the manifest, named `<manifest>.state`).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// Make no network call: skip checking boards, sections and image links.
    #[arg(long)]
    pub offline: bool,

    /// Skip fetching image URLs (boards and sections are still checked); env: any value but 0, false, no, off.
    #[arg(long, env = "PINBATCH_NO_LINK_CHECK", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_link_check: bool,

    /// Share links and the image-link check.
    #[command(flatten)]
    pub links: LinkArgs,

    /// Plan replacing pins whose media changed.
    #[arg(long)]
    pub replace: bool,

    /// Plan deleting pins that are no longer in the manifest.
    #[arg(long)]
    pub prune: bool,

    /// Plan creating missing boards and sections.
    #[arg(long)]
    pub create_boards: bool,

    /// Plan sending the pins whose link Pinterest refused as spam, and those held with them.
    #[arg(long)]
    pub retry_blocked: bool,

    /// The schedule's settings (over the manifest's `schedule:` block).
    #[command(flatten)]
    pub schedule: ScheduleArgs,

    /// Retries, pacing and timeouts of the read-only calls.
    #[command(flatten)]
    pub network: NetworkArgs,

    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "human")]
    pub format: OutputFormat,
}

/// Arguments of `pinbatch apply`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The manifest (.yaml, .yml, .csv, .xlsx, .xlsm, .xls or .ods).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,

    /// How to read the manifest.
    #[command(flatten)]
    pub input: ManifestArgs,

    /// State file (default: beside the manifest, named `<manifest>.state`).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// Upload media that resolves outside the manifest's folder even under CI=true (refused there by default).
    #[arg(long)]
    pub allow_outside: bool,

    /// At most N requests in flight.
    #[arg(short = 'j', long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// Show the plan only: no writes to the API or the state.
    #[arg(long)]
    pub dry_run: bool,

    /// Write a per-pin report (key, location, status, pin id, pin URL, attempts, error); .json or .csv.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Output format: human (progress bar or one line per pin on stderr) or json (one event per line on stdout).
    #[arg(long, value_name = "FORMAT", default_value = "human")]
    pub format: OutputFormat,

    /// Create missing boards and sections even when they are not declared under `boards:`.
    #[arg(long)]
    pub create_boards: bool,

    /// Replace pins whose media changed (delete, then create again).
    #[arg(long)]
    pub replace: bool,

    /// Delete pins that are in the state but no longer in the manifest.
    #[arg(long)]
    pub prune: bool,

    /// Send the direct form of Dropbox, Google Drive and OneDrive share links (the manifest is not changed).
    #[arg(long)]
    pub fix_share_links: bool,

    /// Follow each destination link first (HEAD, then GET) and send where its redirects lead (the manifest is not changed); a link that leads nowhere stops the run before anything is sent.
    #[arg(long)]
    pub resolve_links: bool,

    /// Timeout of each request of `--resolve-links`.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub link_timeout: Duration,

    /// Rehearse: run the whole apply against a fresh local emulator, with a throwaway token and a temporary state.
    #[arg(long, conflicts_with = "state")]
    pub emulator: bool,

    /// How long after a create's outcome became unknown (a gateway error, a timeout, a lost
    /// connection) the board is read to look for its pin before it is sent again. Listings lag
    /// writes: a shorter window than the lag can create a pin twice.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub settle: Duration,

    /// Keep running, sleeping until the next pin is due, until every pin is published (or --until).
    #[arg(long)]
    pub follow: bool,

    /// With --follow: stop at this local time (as publish_at is written), even with pins left.
    #[arg(long, value_name = "TIME", requires = "follow")]
    pub until: Option<String>,

    /// Send again the pins whose link Pinterest refused as spam, and those of the same domains.
    #[arg(long)]
    pub retry_blocked: bool,

    /// Write although Pinterest blocked the account's writes and the wait it asked for is not over.
    #[arg(long)]
    pub force: bool,

    /// The schedule's settings (over the manifest's `schedule:` block).
    #[command(flatten)]
    pub schedule: ScheduleArgs,

    /// Retries, pacing and timeouts.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Arguments of `pinbatch status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The manifest (.yaml, .yml, .csv, .xlsx, .xlsm, .xls or .ods).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,

    /// How to read the manifest.
    #[command(flatten)]
    pub input: ManifestArgs,

    /// State file (default: beside the manifest, named `<manifest>.state`).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "human")]
    pub format: OutputFormat,

    /// The schedule's settings (over the manifest's `schedule:` block).
    #[command(flatten)]
    pub schedule: ScheduleArgs,
}

/// Arguments of `pinbatch preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The manifest (.yaml, .yml, .csv, .xlsx, .xlsm, .xls or .ods).
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,

    /// How to read the manifest.
    #[command(flatten)]
    pub input: ManifestArgs,

    /// The HTML file to write (replaced if it exists).
    #[arg(short, long, value_name = "FILE.html")]
    pub output: PathBuf,

    /// State file whose progress to show (default: beside the manifest, named `<manifest>.state`).
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// The schedule's settings (over the manifest's `schedule:` block).
    #[command(flatten)]
    pub schedule: ScheduleArgs,
}

/// Arguments of `pinbatch completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// Output format of `plan`, `apply` and `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people.
    Human,
    /// JSON on stdout.
    Json,
}

const EMULATOR_HELP: &str = "\
The emulator keeps everything in memory and listens on 127.0.0.1 only. It prints the base URL
and a throwaway access token; point pinbatch at it with PINBATCH_API_BASE (or --api-base) and
PINTEREST_ACCESS_TOKEN. OAuth app id 1234, secret emulator-secret; the authorize page is
BASE/oauth/ and redirects at once.

Fault spec (--faults): comma-separated key=value pairs, e.g.
  latency=100ms,error-rate=0.1,status=503,rate429=0.05,retry-after=1s,seed=7
  latency=DURATION        answer every request this long after it arrived
  error-rate=P            answer a target request with STATUS (probability 0..1)
  status=CODE             status for error-rate and fail-first (400-599, default 503)
  rate429=P               answer a target request with 429 code 8
  retry-after=DURATION    send Retry-After (whole seconds) on injected 429s; none if unset
  drop-before=P           close the connection before storing anything, no response
  drop-after-commit=P     store the pin, then close the connection with no response
  fail-first=N            the first N target requests get STATUS
  drop-before-first=N     the next N target requests are dropped before storing
  drop-after-first=N      the next N target requests are stored, then dropped
  write-limit=N/s         token bucket over POST/PATCH/DELETE: 429 code 8 when empty;
                          write responses carry X-RateLimit-Limit/-Remaining/-Reset
  write-window=N/s        instead of write-limit: at most N writes in any trailing second,
                          no burst and no X-RateLimit headers
  trial-access=on|off     refuse every write with 403 code 29, as production refuses an
                          app with Trial access
  token-lifetime=DURATION access tokens issued from now on work this long (default 30d)
  refresh-token-lifetime=DURATION
                          refresh tokens issued from now on work this long (default 60d)
  block-domain=D1|D2      refuse pins whose link is on these domains as spam (code 9)
  block-status=CODE       the status of that refusal (default 429)
  spam-after=N/DURATION   block the account's writes as spam once more than N pins
                          were created within DURATION (a 429 about spam, Retry-After)
  spam-block=DURATION     how long that block lasts (default 24h)
  media-fail=P            video processing ends in `failed`
  media-polls=N           status polls spent in `processing` (default 2)
  scope=pins|writes|all|analytics
                          target requests: POST /v5/pins (default), every write, every
                          request, every GET /v5/pins/{id}/analytics
  seed=N                  seed of the random draws (default 0), for reproducible runs
/v5/oauth/token is never a target. Random faults share one draw per request, so their
probabilities sum to at most 1; the counters apply first, in the order listed.";

/// Arguments of `pinbatch emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// TCP port on 127.0.0.1 (0 picks a free port).
    #[arg(long, value_name = "PORT", default_value_t = 8090)]
    pub port: u16,

    /// Faults to inject (grammar below).
    #[arg(long, value_name = "SPEC", value_parser = <pinbatch_emulator::FaultPlan as std::str::FromStr>::from_str)]
    pub faults: Option<pinbatch_emulator::FaultPlan>,

    /// Validate request bodies against this OpenAPI JSON document and report violations.
    #[arg(long, value_name = "PATH")]
    pub openapi: Option<PathBuf>,
}

/// How to read a manifest; flattened into every command that reads one.
#[derive(Debug, Clone, Default, Args)]
pub struct ManifestArgs {
    /// Workbooks (.xlsx, .xlsm, .xls, .ods): the sheet to read (default: the first visible one).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,

    /// CSV: the text encoding (default: detected among UTF-8, UTF-16 with a BOM, Shift_JIS/CP932, Windows-1252).
    #[arg(long, value_name = "NAME")]
    pub encoding: Option<String>,

    /// The IANA time zone of local publish times such as `2026/12/24 9:00` and date cells (default: `defaults.timezone`, else the machine's).
    #[arg(long, value_name = "NAME")]
    pub timezone: Option<String>,

    /// Refuse local WebP, GIF, BMP and TIFF images (and send CMYK JPEGs as they are) instead of converting them to JPEG or PNG when uploading.
    #[arg(long)]
    pub no_convert: bool,

    /// Scale local images over Pinterest's 20 MB limit down until they fit, when uploading.
    #[arg(long)]
    pub fit: bool,

    /// A UTM parameter for every pin's link, as NAME=VALUE (source, medium, campaign, term, content; placeholders {key} {board} {section} {row}); repeatable; over `defaults.utm`, under a pin's own.
    #[arg(long, value_name = "NAME=VALUE")]
    pub utm: Vec<String>,
}

/// The schedule policy as flags, for CSV and workbook manifests (which have no `schedule:`
/// block) and to override a YAML block setting by setting; flattened into `plan`, `apply`,
/// `status`, `preview` and `export`.
#[derive(Debug, Clone, Default, Args)]
pub struct ScheduleArgs {
    /// Schedule: when the first pin may go (local time in the manifest's time zone, as publish_at; default: now).
    #[arg(long, value_name = "TIME", help_heading = "Schedule")]
    pub start: Option<String>,

    /// Schedule: at most N pins in one local calendar day.
    #[arg(long, value_name = "N", value_parser = per_day_arg, help_heading = "Schedule")]
    pub per_day: Option<u32>,

    /// Schedule: the daily window, local time (e.g. 08:00-21:00).
    #[arg(long, value_name = "HH:MM-HH:MM", value_parser = window_arg, help_heading = "Schedule")]
    pub between: Option<crate::manifest::schedule::DailyWindow>,

    /// Schedule: the weekdays pins go on (e.g. mon..fri, or mon,wed,fri).
    #[arg(long, value_name = "DAYS", value_parser = days_arg, help_heading = "Schedule")]
    pub days: Option<crate::manifest::schedule::Weekdays>,

    /// Schedule: the least time between two pins (e.g. 30m).
    #[arg(long, value_name = "DURATION", value_parser = every_arg, help_heading = "Schedule")]
    pub every: Option<Duration>,

    /// Schedule: a random offset within each pin's slot, at most this long, the same on every run (seeded by its key).
    #[arg(long, value_name = "DURATION", value_parser = span_arg, help_heading = "Schedule")]
    pub jitter: Option<Duration>,

    /// Schedule: the least time between two pins with the same link (default 48h; 0 for none).
    #[arg(long, value_name = "DURATION", value_parser = span_arg, help_heading = "Schedule")]
    pub same_link: Option<Duration>,
}

fn setting_error(problem: crate::manifest::schedule::SettingProblem) -> String {
    format!("{} ({})", problem.message, problem.hint)
}

fn per_day_arg(text: &str) -> Result<u32, String> {
    crate::manifest::schedule::parse_per_day(text).map_err(setting_error)
}

fn window_arg(text: &str) -> Result<crate::manifest::schedule::DailyWindow, String> {
    crate::manifest::schedule::parse_window(text).map_err(setting_error)
}

fn days_arg(text: &str) -> Result<crate::manifest::schedule::Weekdays, String> {
    crate::manifest::schedule::parse_days(text).map_err(setting_error)
}

fn every_arg(text: &str) -> Result<Duration, String> {
    crate::manifest::schedule::parse_duration(text, true).map_err(setting_error)
}

fn span_arg(text: &str) -> Result<Duration, String> {
    crate::manifest::schedule::parse_duration(text, false).map_err(setting_error)
}

/// Share links and the image-link check; flattened into `validate` and `plan`.
#[derive(Debug, Clone, Args)]
pub struct LinkArgs {
    /// Send the direct form of Dropbox, Google Drive and OneDrive share links (the manifest is not changed).
    #[arg(long)]
    pub fix_share_links: bool,

    /// Timeout of each request of the image-link check.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub link_timeout: Duration,

    /// Send where each destination link's redirects lead, found by the online check (the manifest is not changed).
    #[arg(long)]
    pub resolve_links: bool,
}

/// Retries, pacing and timeouts of API requests; flattened into every command that calls the API.
#[derive(Debug, Clone, Args)]
pub struct NetworkArgs {
    /// Retries of a failed request (429, 5xx, timeouts, connection errors) before giving up.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_retries: u32,

    /// First retry delay; doubles on each retry (with random jitter), capped at 30s.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub retry_base_delay: Duration,

    /// Client-side pacing: at most this many requests per second (`10`, `10/s`, `600/min`).
    #[arg(long, value_name = "N/s", value_parser = parse_rate)]
    pub rate_limit: Option<f64>,

    /// Timeout of one request attempt.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Parses `--rate-limit`: a positive number of requests per second, optionally written
/// `N/s`, `N/min` or `N/h`.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, per_seconds) = match text.split_once('/') {
        None => (text, 1.0),
        Some((number, unit)) => {
            let seconds = match unit.trim() {
                "s" | "sec" | "second" => 1.0,
                "m" | "min" | "minute" => 60.0,
                "h" | "hour" => 3600.0,
                other => return Err(format!("unknown unit `{other}`: use N/s, N/min or N/h")),
            };
            (number, seconds)
        }
    };
    let count: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a rate such as 10/s"))?;
    if !(count.is_finite() && count > 0.0) {
        return Err("the rate must be a positive number".into());
    }
    Ok(count / per_seconds)
}

/// `pinbatch auth ...`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Authorize pinbatch in a browser (OAuth) and store the tokens for this environment.
    Login(AuthLoginArgs),
    /// Show who the token belongs to, its scopes and expiry (never the token).
    Status(AuthStatusArgs),
    /// Renew the stored access token with the stored refresh token.
    Refresh(AuthRefreshArgs),
    /// Forget the stored tokens of this environment.
    Logout,
    /// Store a token file in the token store for this environment: api-quickstart's JSON
    /// (`common/oauth_tokens/NAME.json`) or a plain token. The file itself is never changed.
    Import(AuthImportArgs),
}

/// Arguments of `pinbatch auth import`.
#[derive(Debug, Args)]
pub struct AuthImportArgs {
    /// The token file: api-quickstart's JSON, or a file whose first line is the token.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Arguments of `pinbatch auth login`.
#[derive(Debug, Args)]
pub struct AuthLoginArgs {
    /// The Pinterest app id.
    #[arg(long, value_name = "ID", env = "PINTEREST_APP_ID")]
    pub app_id: Option<String>,

    /// The Pinterest app secret. On the command line it is visible to every user of the
    /// machine (`ps`): prefer PINTEREST_APP_SECRET or --app-secret-stdin.
    #[arg(long, value_name = "SECRET")]
    pub app_secret: Option<String>,

    /// Read the Pinterest app secret from the first line of standard input.
    #[arg(long, conflicts_with = "app_secret")]
    pub app_secret_stdin: bool,

    /// Port of the local redirect listener (redirect URI http://localhost:PORT/, registered in the app).
    #[arg(long, value_name = "PORT", default_value_t = 8085)]
    pub port: u16,

    /// Scopes to ask for, comma separated (default: boards and Pins read/write, user_accounts:read).
    #[arg(long, value_name = "SCOPES", value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,

    /// Also ask for the secret-board scopes (boards/pins read_secret and write_secret).
    #[arg(long)]
    pub secret_boards: bool,

    /// Only print the authorize URL; do not open a browser.
    #[arg(long)]
    pub no_browser: bool,

    /// How long to wait for the browser to come back.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    pub wait: Duration,

    /// Network options.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Arguments of `pinbatch auth status`.
#[derive(Debug, Args)]
pub struct AuthStatusArgs {
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "human")]
    pub format: StatusFormat,

    /// Network options.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Arguments of `pinbatch auth refresh`.
#[derive(Debug, Args)]
pub struct AuthRefreshArgs {
    /// The Pinterest app id (default: the one stored at login).
    #[arg(long, value_name = "ID", env = "PINTEREST_APP_ID")]
    pub app_id: Option<String>,

    /// The Pinterest app secret. On the command line it is visible to every user of the
    /// machine (`ps`): prefer PINTEREST_APP_SECRET or --app-secret-stdin.
    #[arg(long, value_name = "SECRET")]
    pub app_secret: Option<String>,

    /// Read the Pinterest app secret from the first line of standard input.
    #[arg(long, conflicts_with = "app_secret")]
    pub app_secret_stdin: bool,

    /// Network options.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Output format of `auth status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Readable lines.
    Human,
    /// One JSON object.
    Json,
}

/// `pinbatch boards ...`.
#[derive(Debug, Subcommand)]
pub enum BoardsCommand {
    /// List every board the token can see (own and group boards).
    List(BoardsListArgs),
    /// Create a board.
    Create(BoardsCreateArgs),
}

/// Arguments of `pinbatch boards list`.
#[derive(Debug, Args)]
pub struct BoardsListArgs {
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub format: ListFormat,

    /// Network options.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Arguments of `pinbatch boards create`.
#[derive(Debug, Args)]
pub struct BoardsCreateArgs {
    /// The board name.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The board description.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// Who can see the board.
    #[arg(long, value_name = "PRIVACY", ignore_case = true)]
    pub privacy: Option<PrivacyArg>,

    /// Output format of the created board.
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub format: ListFormat,

    /// Network options.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Board privacy on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PrivacyArg {
    /// Visible to everyone.
    Public,
    /// Hidden from the profile; visible to the owner and collaborators.
    Protected,
    /// Secret (needs the secret-board scopes).
    Secret,
}

/// `pinbatch sections ...`.
#[derive(Debug, Subcommand)]
pub enum SectionsCommand {
    /// List the sections of a board.
    List(SectionsListArgs),
}

/// Arguments of `pinbatch sections list`.
#[derive(Debug, Args)]
pub struct SectionsListArgs {
    /// The board: its name or its numeric id.
    #[arg(value_name = "BOARD")]
    pub board: String,

    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    pub format: ListFormat,

    /// Network options.
    #[command(flatten)]
    pub network: NetworkArgs,
}

/// Output format of listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns for reading.
    Table,
    /// A JSON array of objects.
    Json,
    /// CSV with a header row.
    Csv,
}

/// Arguments of `pinbatch validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Manifest files (.yaml, .yml, .csv, .xlsx, .xlsm, .xls or .ods).
    #[arg(required = true, value_name = "MANIFEST")]
    pub manifests: Vec<PathBuf>,

    /// How to read the manifests.
    #[command(flatten)]
    pub input: ManifestArgs,

    /// Also fetch every image URL (first bytes only) and report those Pinterest could not use.
    #[arg(long)]
    pub online: bool,

    /// Share links and the image-link check.
    #[command(flatten)]
    pub links: LinkArgs,

    /// How to print diagnostics.
    #[arg(long, value_name = "FORMAT", default_value = "human")]
    pub format: DiagnosticFormat,
}

/// Output format of diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    /// Readable lines on stderr, a summary at the end.
    Human,
    /// One JSON document on stdout.
    Json,
    /// GitHub Actions workflow commands (`::error file=...,line=...::`) on stdout.
    Github,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_options_are_accepted_after_the_subcommand() {
        let cli =
            Cli::try_parse_from(["pinbatch", "validate", "m.yaml", "--sandbox", "-q"]).unwrap();
        assert!(cli.global.sandbox);
        assert!(cli.global.quiet);
    }

    #[test]
    fn validate_needs_a_manifest() {
        let err = Cli::try_parse_from(["pinbatch", "validate"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn emulator_faults_are_parsed_by_clap() {
        let cli = Cli::try_parse_from([
            "pinbatch",
            "emulator",
            "--faults",
            "fail-first=2",
            "--port",
            "0",
        ])
        .unwrap();
        let Command::Emulator(args) = cli.command else {
            panic!("expected the emulator command");
        };
        assert_eq!(args.port, 0);
        assert_eq!(args.faults.map(|f| f.fail_first), Some(2));
        let err = Cli::try_parse_from(["pinbatch", "emulator", "--faults", "bogus=1"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn network_flags_parse_durations_and_rates() {
        let cli = Cli::try_parse_from([
            "pinbatch",
            "boards",
            "list",
            "--retry-base-delay",
            "200ms",
            "--rate-limit",
            "600/min",
            "--max-retries",
            "2",
        ])
        .unwrap();
        let Command::Boards(BoardsCommand::List(args)) = cli.command else {
            panic!("wrong command");
        };
        assert_eq!(args.network.retry_base_delay, Duration::from_millis(200));
        assert_eq!(args.network.rate_limit, Some(10.0));
        assert_eq!(args.network.max_retries, 2);
        assert_eq!(parse_rate("2.5/s"), Ok(2.5));
        assert_eq!(parse_rate("4"), Ok(4.0));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("5/day").is_err());
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn privacy_is_case_insensitive() {
        let cli = Cli::try_parse_from(["pinbatch", "boards", "create", "B", "--privacy", "secret"])
            .unwrap();
        let Command::Boards(BoardsCommand::Create(args)) = cli.command else {
            panic!("wrong command");
        };
        assert_eq!(args.privacy, Some(PrivacyArg::Secret));
    }

    #[test]
    fn completions_take_a_known_shell() {
        assert!(Cli::try_parse_from(["pinbatch", "completions", "zsh"]).is_ok());
        let err = Cli::try_parse_from(["pinbatch", "completions", "cmd.exe"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn init_defaults_to_every_image_and_video() {
        let cli = Cli::try_parse_from(["pinbatch", "init", "photos", "-o", "p.yaml"]).unwrap();
        let Command::Init(args) = cli.command else {
            panic!("wrong command");
        };
        assert_eq!(args.glob, "**/*.{jpg,jpeg,png,mp4,mov,m4v}");
        let cli = Cli::try_parse_from(["pinbatch", "init", "--xlsx", "p.xlsx"]).unwrap();
        let Command::Init(xlsx) = cli.command else {
            panic!("wrong command");
        };
        assert_eq!(xlsx.dir, None);
        assert!(
            Cli::try_parse_from(["pinbatch", "init"]).is_err(),
            "DIR or --xlsx"
        );
        assert_eq!(args.output, Some(PathBuf::from("p.yaml")));
        assert!(!args.force);
        let err = Cli::try_parse_from(["pinbatch", "export", "m.yaml"]).unwrap_err();
        assert_eq!(err.exit_code(), 2, "export needs -o");
    }

    #[test]
    fn pin_ids_and_assignments_are_checked() {
        let cli = Cli::try_parse_from([
            "pinbatch",
            "import",
            "m.yaml",
            "--pin",
            "a=b=12",
            "--pin",
            "c=3",
            "--dry-run",
        ])
        .unwrap();
        let Command::Import(args) = cli.command else {
            panic!("wrong command");
        };
        assert_eq!(
            args.pins,
            vec![
                ("a=b".to_owned(), "12".to_owned()),
                ("c".to_owned(), "3".to_owned())
            ]
        );
        for bad in [
            ["import", "m.yaml", "--pin", "a=x"],
            ["import", "m.yaml", "--pin", "=1"],
        ] {
            let err = Cli::try_parse_from(std::iter::once("pinbatch").chain(bad)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
        let err = Cli::try_parse_from(["pinbatch", "pins", "get", "12a"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err = Cli::try_parse_from(["pinbatch", "pins", "delete"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let err =
            Cli::try_parse_from(["pinbatch", "pins", "list", "B", "--limit", "0"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn report_takes_a_file_and_metrics_days() {
        let cli = Cli::try_parse_from([
            "pinbatch",
            "report",
            "p.csv",
            "-o",
            "r.xlsx",
            "--metrics",
            "--since",
            "2026-11-01",
        ])
        .unwrap();
        let Command::Report(args) = cli.command else {
            panic!("wrong command");
        };
        assert!(args.metrics);
        assert_eq!(args.since, Some(jiff::civil::date(2026, 11, 1)));
        assert_eq!(args.until, None);
        for bad in [
            vec!["report", "p.csv"],
            vec!["report", "p.csv", "-o", "r.csv", "--since", "2026-11-01"],
            vec![
                "report",
                "p.csv",
                "-o",
                "r.csv",
                "--metrics",
                "--until",
                "2026/11/01",
            ],
            vec![
                "report",
                "p.csv",
                "-o",
                "r.csv",
                "--metrics",
                "--until",
                "2026-11-31",
            ],
        ] {
            let err =
                Cli::try_parse_from(std::iter::once("pinbatch").chain(bad.clone())).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn plan_flags() {
        let cli = Cli::try_parse_from(["pinbatch", "plan", "m.csv", "--no-link-check"]).unwrap();
        let Command::Plan(args) = cli.command else {
            panic!("wrong command");
        };
        assert!(args.no_link_check);
        assert_eq!(args.links.link_timeout, Duration::from_secs(10));
    }

    #[test]
    fn schedule_flags_are_checked_where_they_are_given() {
        let cli = Cli::try_parse_from([
            "pinbatch",
            "apply",
            "m.csv",
            "--per-day",
            "10",
            "--between",
            "08:00-21:00",
            "--days",
            "mon..fri",
            "--every",
            "30m",
            "--follow",
            "--until",
            "2026-12-24 18:00",
        ])
        .unwrap();
        let Command::Apply(args) = cli.command else {
            panic!("wrong command");
        };
        assert_eq!(args.schedule.per_day, Some(10));
        assert_eq!(args.schedule.every, Some(Duration::from_secs(1800)));
        assert_eq!(args.schedule.between.unwrap().to_string(), "08:00-21:00");
        assert!(args.follow);
        for bad in [
            ["plan", "m.csv", "--per-day", "0"],
            ["plan", "m.csv", "--between", "21:00-08:00"],
            ["status", "m.csv", "--days", "someday"],
            ["export", "m.csv", "--every", "0"],
            ["apply", "m.csv", "--until", "2026-12-24"],
        ] {
            let err = Cli::try_parse_from(std::iter::once("pinbatch").chain(bad)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
        let err = Cli::try_parse_from(["pinbatch", "plan", "m.csv", "--between", "21:00-08:00"])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--between") && err.contains("ends before it starts"),
            "{err}"
        );
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
