//! `pinbatch preview`: one self-contained HTML page showing every pin as a card, offline.
//!
//! The page is written even when the manifest has problems: they are shown on the pins they
//! concern. Exit 0 once the page is written; the manifest's validity is `validate`'s job. Under
//! a schedule policy each card shows its time and the page a calendar of the days.

use crate::cli::{GlobalArgs, PreviewArgs};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::fs::atomic::{self, Access, Existing};
use crate::manifest::{self, Manifest};
use crate::plan::{self, PlanOptions, Timing};
use crate::render::preview::{self, PreviewInput};
use crate::{linkcheck, state};

/// Runs `preview`.
pub fn run(global: &GlobalArgs, args: &PreviewArgs) -> anyhow::Result<ExitStatus> {
    let mut options = crate::commands::settings::load_options(&args.input)?;
    options.keep_rejected = true;
    let mut outcome = manifest::load_with(&args.manifest, &options);
    let mut manifest = outcome
        .manifest
        .take()
        .or_else(|| outcome.partial.take())
        .unwrap_or_else(|| Manifest {
            path: args.manifest.clone(),
            boards: Vec::new(),
            pins: Vec::new(),
            schedule: None,
        });
    // Share links are found offline; nothing else is fetched.
    let share = linkcheck::share_links(&mut manifest, false);
    outcome.diagnostics.extend(share.diagnostics);
    manifest::sort_by_position(&mut outcome.diagnostics);
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_state_path(&args.manifest));
    let snapshot = match state::load(&state_path) {
        Ok(snapshot) => snapshot,
        Err(err) => {
            if !global.quiet {
                eprintln!("warning: the preview shows no state: {err}");
            }
            None
        }
    };
    let now = jiff::Timestamp::now();
    let policy = crate::commands::settings::schedule_policy(
        &args.schedule,
        manifest.schedule.as_ref(),
        &outcome.zone,
    )?;
    let timing = policy.as_ref().map(|policy| Timing {
        policy,
        zone: outcome.zone.time_zone(),
    });
    let plan = plan::plan_with(
        &manifest,
        snapshot.as_ref(),
        now,
        PlanOptions::default(),
        timing,
    );
    let due: Vec<Option<jiff::Timestamp>> = plan.pins.iter().map(|p| p.due).collect();
    let input = PreviewInput {
        manifest: &manifest,
        rejected: &outcome.rejected,
        diagnostics: &outcome.diagnostics,
        state: snapshot.as_ref(),
        zone: &outcome.zone,
        now,
        due: &due,
        scheduled: policy.is_some(),
    };
    let page = preview::build(&input, &preview::thumbnail_data_uri);
    let html = preview::render(&page, &outcome.zone.human(now));
    atomic::write(
        &args.output,
        html.as_bytes(),
        Access::Shared,
        Existing::Replace,
    )
    .map_err(|err| {
        Fatal::new(ExitStatus::Failure, err.to_string())
            .with_hint("check that the folder exists and is writable")
    })?;
    if !global.quiet {
        let problems = manifest::Tally::of(&outcome.diagnostics);
        eprintln!(
            "Wrote {} ({} pin(s), {} error(s), {} warning(s) shown on their pins)",
            args.output.display(),
            page.cards.len(),
            problems.errors,
            problems.warnings
        );
    }
    Ok(ExitStatus::Success)
}
