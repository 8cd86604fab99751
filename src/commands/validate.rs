//! `pinbatch validate`: checks of one or more manifests, offline unless `--online` asks for the
//! image links to be fetched too.
//!
//! Human output goes to stderr (diagnostics, then one summary line per manifest); `json` and
//! `github` print data on stdout for CI. Exit 0 when no manifest has errors, 1 otherwise.

use std::io::Write;

use crate::cli::{DiagnosticFormat, GlobalArgs, ValidateArgs};
use crate::commands::exit::ExitStatus;
use crate::linkcheck::{self, LinkCheckOptions};
use crate::manifest::diagnostic::{self, Diagnostic, Tally};
use crate::manifest::{self, LoadOutcome};

/// Validates every manifest and prints all diagnostics at once.
pub async fn run(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    let mut options = crate::commands::settings::load_options(&args.input)?;
    // Link checks look at the pins that passed even when others did not.
    options.keep_rejected = true;
    let mut outcomes: Vec<(String, LoadOutcome)> = Vec::with_capacity(args.manifests.len());
    for path in &args.manifests {
        let mut outcome = manifest::load_with(path, &options);
        check_links(global, args, &mut outcome).await?;
        outcomes.push((path.display().to_string(), outcome));
    }
    let failed = outcomes.iter().any(|(_, outcome)| outcome.has_errors());
    match args.format {
        DiagnosticFormat::Human => {
            let color = global.terminal().stderr_color();
            let mut stderr = std::io::stderr().lock();
            for (file, outcome) in &outcomes {
                let tally = Tally::of(&outcome.diagnostics);
                let text = diagnostic::render_human(&outcome.diagnostics, !global.quiet, color);
                stderr.write_all(text.as_bytes())?;
                if !global.quiet || tally.errors > 0 {
                    let pins = outcome.manifest.as_ref().map(|m| m.pins.len());
                    let line = diagnostic::summary_line(file, pins, tally);
                    writeln!(stderr, "{line}")?;
                }
            }
        }
        DiagnosticFormat::Json => {
            let all: Vec<Diagnostic> = outcomes
                .into_iter()
                .flat_map(|(_, outcome)| outcome.diagnostics)
                .collect();
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{}", diagnostic::render_json(&all))?;
        }
        DiagnosticFormat::Github => {
            let mut stdout = std::io::stdout().lock();
            for (_, outcome) in &outcomes {
                stdout.write_all(diagnostic::render_github(&outcome.diagnostics).as_bytes())?;
            }
        }
    }
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Share links (always, offline) and, with `--online`, every image URL: their diagnostics join
/// the manifest's. A manifest with a link error is no longer valid.
async fn check_links(
    global: &GlobalArgs,
    args: &ValidateArgs,
    outcome: &mut LoadOutcome,
) -> anyhow::Result<()> {
    let Some(checked) = outcome.manifest.as_mut().or(outcome.partial.as_mut()) else {
        return Ok(());
    };
    let share = linkcheck::share_links(checked, args.links.fix_share_links);
    let mut found = share.diagnostics;
    if share.rewritten > 0 && !global.quiet && args.format == DiagnosticFormat::Human {
        eprintln!(
            "{}: checking the direct form of {} share link(s) (--fix-share-links; the file is not changed)",
            checked.path.display(),
            share.rewritten
        );
    }
    if args.online {
        let options = LinkCheckOptions {
            timeout: args.links.link_timeout,
            ..LinkCheckOptions::default()
        };
        let progress = crate::ui::links::link_progress(global.terminal());
        found.extend(linkcheck::check(checked, options, progress.as_ref()).await?);
        let destinations = linkcheck::destinations::follow_all(checked, options).await?;
        found.extend(linkcheck::destinations::diagnostics(
            checked,
            &destinations,
            args.links.resolve_links,
        ));
    }
    if found.is_empty() {
        return Ok(());
    }
    outcome.diagnostics.extend(found);
    manifest::sort_by_position(&mut outcome.diagnostics);
    if outcome.has_errors()
        && let Some(manifest) = outcome.manifest.take()
    {
        outcome.partial = Some(manifest);
    }
    Ok(())
}
