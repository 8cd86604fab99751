//! `pinbatch plan`: what `apply` would do, using read-only calls (boards, sections) and a look
//! at every image URL, or none with `--offline`. Creates no state file.

use crate::cli::{GlobalArgs, PlanArgs};
use crate::commands::common::{self, load_manifest};
use crate::exit::ExitStatus;
use crate::linkcheck::{self, LinkCheckOptions};
use crate::plan::{self, PlanOptions};
use crate::resolve;
use crate::settings::{ClientOptions, GlobalSettings, api_failure};
use crate::state;

/// Runs `plan`.
pub async fn run(global: &GlobalArgs, args: &PlanArgs) -> anyhow::Result<ExitStatus> {
    let Some(mut loaded) = load_manifest(&args.manifest, &args.input, global)? else {
        return Ok(ExitStatus::Failure);
    };
    let share_links_ok =
        common::check_share_links(&mut loaded, args.links.fix_share_links, global)?;
    let manifest = &loaded.manifest;
    let settings = GlobalSettings::resolve(global)?;
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_state_path(&args.manifest));
    let snapshot = common::load_state_for(&state_path, settings.environment.origin())?;
    let options = PlanOptions {
        replace: args.replace,
        prune: args.prune,
    };
    let plan = plan::plan(manifest, snapshot.as_ref(), jiff::Timestamp::now(), options);
    let survey = if args.offline || !plan.needs_api() {
        None
    } else {
        let client = settings.api_client(ClientOptions::from_args(&args.network))?;
        let needed = plan.boards_needed(manifest);
        Some(
            resolve::survey(&client, manifest, &needed, args.create_boards)
                .await
                .map_err(api_failure)?,
        )
    };
    let link_problems = if args.offline || args.no_link_check {
        Vec::new()
    } else {
        let options = LinkCheckOptions {
            timeout: args.links.link_timeout,
            ..LinkCheckOptions::default()
        };
        let progress = crate::ui::links::link_progress(global);
        linkcheck::check(manifest, options, progress.as_ref()).await?
    };
    common::write_plan(&loaded, &plan, survey.as_ref(), args.format)?;
    common::print_link_problems(&link_problems, global)?;
    let problems = survey.as_ref().is_some_and(|s| !s.problems.is_empty())
        || !link_problems.is_empty()
        || !share_links_ok;
    Ok(if problems {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
