//! `pinbatch report MANIFEST -o FILE`: the manifest back with its results, one row per pin in
//! manifest order (the manifest's own cells as written, then pin id, link, status, publish time
//! and error), as CSV, a workbook or JSON. Offline: it reads the manifest and the state. With
//! `--metrics` it also reads each published pin's analytics (read-only, through the cache beside
//! the state) and sums them per board.

use std::path::Path;

use anyhow::Context as _;

use crate::apply::metrics::{self, MetricsPin, Period};
use crate::cli::{GlobalArgs, ReportArgs};
use crate::commands::common::{self, Loaded, load_manifest};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::commands::settings::{self, ClientOptions, GlobalSettings, api_failure};
use crate::manifest::{ImageSource, Manifest, Media};
use crate::plan::{self, PlanOptions};
use crate::render::results::{self, Report, ReportFormat, ResultStatus};
use crate::state::analytics::{AnalyticsCache, cache_path};
use crate::state::{self, StateSnapshot};

/// Runs `report`.
pub async fn run(global: &GlobalArgs, args: &ReportArgs) -> anyhow::Result<ExitStatus> {
    if same_file(&args.output, &args.manifest) {
        return Err(Fatal::new(
            ExitStatus::Usage,
            format!(
                "-o {} is the manifest itself: a report is written beside it, never over it",
                args.output.display()
            ),
        )
        .with_hint("name another file, e.g. results.xlsx")
        .into());
    }
    let Some(format) = ReportFormat::of(&args.output) else {
        return Err(Fatal::new(
            ExitStatus::Usage,
            format!(
                "-o {}: a report is a .csv, .xlsx or .json file",
                args.output.display()
            ),
        )
        .into());
    };
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let period = if args.metrics {
        Some(settings::metrics_period(args.since, args.until, today)?)
    } else {
        None
    };
    let Some(loaded) = load_manifest(&args.manifest, &args.input, global)? else {
        return Ok(ExitStatus::Failure);
    };
    let options = settings::load_options(&args.input)?;
    let written = crate::manifest::written::read(&args.manifest, &options)
        .map_err(|message| anyhow::anyhow!(message))
        .with_context(|| format!("Cannot read `{}` again", args.manifest.display()))?;
    let settings = GlobalSettings::resolve(global)?;
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_state_path(&args.manifest));
    let snapshot = common::load_state_for(&state_path, settings.environment.origin())?;
    let mut report = rows(&loaded, written.as_ref(), snapshot.as_ref(), global);
    warn_of_media_paths(&loaded.manifest, written.is_some(), &args.output, global);
    let mut status = ExitStatus::Success;
    if let Some(period) = period {
        let run = MetricsRun {
            args,
            settings: &settings,
            state_path: &state_path,
            snapshot: snapshot.as_ref(),
            global,
        };
        let Some(outcome) = run
            .add_to(&mut report, &loaded.manifest, period, today)
            .await?
        else {
            eprintln!(
                "Interrupted: the analytics read so far are kept in the cache; run the same command again to go on."
            );
            return Ok(ExitStatus::Interrupted);
        };
        status = outcome;
    }
    results::write(&args.output, format, &report)?;
    if !global.quiet {
        eprintln!("{}", summary(&report, &args.output));
    }
    Ok(status)
}

/// Whether two paths name the same file (one of them may not exist yet).
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => std::path::absolute(a).ok() == std::path::absolute(b).ok(),
    }
}

/// The report's rows from the manifest and the state, as the planner sees them now; what a
/// YAML manifest loses in a table is said on stderr.
fn rows(
    loaded: &Loaded,
    written: Option<&crate::manifest::written::WrittenTable>,
    snapshot: Option<&StateSnapshot>,
    global: &GlobalArgs,
) -> Report {
    // The manifest's own schedule dates its rows as `apply` would; flags have no say here.
    let policy = loaded
        .manifest
        .schedule
        .clone()
        .filter(crate::manifest::SchedulePolicy::has_pace);
    let plan = plan::plan_with(
        &loaded.manifest,
        snapshot,
        jiff::Timestamp::now(),
        PlanOptions::default(),
        loaded.timing(policy.as_ref()),
    );
    let actions: Vec<_> = plan.pins.into_iter().map(|p| p.action).collect();
    let (report, losses) =
        results::build(&loaded.manifest, written, snapshot, &actions, &loaded.zone);
    if !global.quiet {
        for (what, count) in &losses {
            eprintln!(
                "warning: the report is one table and leaves out the {what} of {count} pin(s); keep the YAML manifest for those"
            );
        }
    }
    report
}

/// Local media paths in a table are relative to the manifest's folder: a report written
/// elsewhere reads back as a manifest only once moved beside it.
fn warn_of_media_paths(manifest: &Manifest, table: bool, output: &Path, global: &GlobalArgs) {
    let local = manifest.pins.iter().any(|spec| match &spec.media {
        Media::Image(ImageSource::File(_)) | Media::Video(_) => true,
        Media::Carousel(items) => items
            .iter()
            .any(|item| matches!(item.source, ImageSource::File(_))),
        Media::Image(ImageSource::Url(_)) => false,
    });
    let folder = |path: &Path| {
        let parent = crate::fs::atomic::parent_dir(path);
        std::fs::canonicalize(parent).ok()
    };
    if table && local && !global.quiet && folder(output) != folder(&manifest.path) {
        eprintln!(
            "warning: the media paths in {} are relative to the manifest's folder; to apply the report as a manifest, keep it in that folder",
            output.display()
        );
    }
}

/// The published pins of a report, with whether each is a video.
fn published_pins(manifest: &Manifest, report: &Report) -> Vec<MetricsPin> {
    manifest
        .pins
        .iter()
        .zip(&report.rows)
        .filter(|(_, row)| row.status == ResultStatus::Published)
        .filter_map(|(spec, row)| {
            Some(MetricsPin {
                pin_id: row.pin_id.clone()?,
                video: matches!(spec.media, Media::Video(_)),
            })
        })
        .collect()
}

/// What reading the analytics needs of the command.
struct MetricsRun<'a> {
    args: &'a ReportArgs,
    settings: &'a GlobalSettings,
    state_path: &'a Path,
    snapshot: Option<&'a StateSnapshot>,
    global: &'a GlobalArgs,
}

impl MetricsRun<'_> {
    /// Reads the analytics of every published pin for `period` and adds them to the report.
    /// `Ok(None)` when interrupted (what was read is kept in the cache); otherwise the exit
    /// status: a failure when some pins' analytics could not be read.
    async fn add_to(
        &self,
        report: &mut Report,
        manifest: &Manifest,
        period: Period,
        today: jiff::civil::Date,
    ) -> anyhow::Result<Option<ExitStatus>> {
        let client = self
            .settings
            .api_client(ClientOptions::from_args(&self.args.network))?;
        let pins = published_pins(manifest, report);
        if !pins.is_empty() {
            check_account(&client, self.snapshot, self.state_path).await?;
        }
        let cache_file = cache_path(self.state_path);
        let mut cache = AnalyticsCache::open(&cache_file, self.settings.environment.origin());
        let progress = crate::ui::metrics::metrics_progress(self.global.terminal());
        let gathered = tokio::select! {
            gathered = metrics::gather(&client, &pins, period, today, &mut cache, progress.as_ref()) => gathered,
            _ = tokio::signal::ctrl_c() => {
                progress.on_finish();
                return Ok(None);
            }
        };
        if let Err(err) = cache.save() {
            tracing::warn!(error = %err, "cannot rewrite the analytics cache");
        }
        let gathered = gathered.map_err(api_failure)?;
        report.add_metrics(period, &gathered.metrics);
        for (pin_id, err) in &gathered.failures {
            eprintln!("warning: cannot read the analytics of pin {pin_id}: {err}");
        }
        if !self.global.quiet {
            eprintln!(
                "Analytics from {} to {} (UTC): {} pin(s), {} read from Pinterest, {} from the cache {}",
                period.since,
                period.until,
                pins.len(),
                gathered.read,
                pins.len() - gathered.read - gathered.failures.len(),
                cache_file.display()
            );
        }
        if gathered.failures.is_empty() {
            return Ok(Some(ExitStatus::Success));
        }
        eprintln!(
            "{} pin(s) have no analytics in the report; run the same command again to read them",
            gathered.failures.len()
        );
        Ok(Some(ExitStatus::Failure))
    }
}

/// Analytics are the account's: a token of another account than the state's is refused
/// (exit code 3) before any pin is read.
async fn check_account(
    client: &crate::api::ApiClient,
    snapshot: Option<&StateSnapshot>,
    state_path: &Path,
) -> anyhow::Result<()> {
    let Some(recorded) = snapshot.and_then(|s| s.header.account.clone()) else {
        return Ok(());
    };
    let user = client.user_account().await.map_err(api_failure)?;
    let account = user.id.clone().unwrap_or_else(|| user.username.clone());
    if account == recorded {
        return Ok(());
    }
    Err(common::state_failure(state::StateError::WrongAccount {
        path: state_path.to_owned(),
        recorded,
        current: format!("{} ({account})", user.username),
    }))
}

/// One line saying what was written.
fn summary(report: &Report, output: &Path) -> String {
    let counts: Vec<String> = report
        .counts()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    format!(
        "Wrote {}: {} row(s) ({})",
        output.display(),
        report.rows.len(),
        counts.join(", ")
    )
}
