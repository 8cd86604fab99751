//! `pinbatch validate`: offline checks of one or more manifests.
//!
//! Human output goes to stderr (diagnostics, then one summary line per manifest); `json` and
//! `github` print data on stdout for CI. Exit 0 when no manifest has errors, 1 otherwise.

use std::io::Write;

use crate::cli::{DiagnosticFormat, GlobalArgs, ValidateArgs};
use crate::exit::ExitStatus;
use crate::manifest::diagnostic::{self, Diagnostic, Tally};
use crate::manifest::{self, LoadOutcome};

/// Validates every manifest and prints all diagnostics at once.
pub fn run(global: &GlobalArgs, args: &ValidateArgs) -> anyhow::Result<ExitStatus> {
    let options = crate::settings::load_options(&args.input)?;
    let outcomes: Vec<(String, LoadOutcome)> = args
        .manifests
        .iter()
        .map(|path| {
            (
                path.display().to_string(),
                manifest::load_with(path, &options),
            )
        })
        .collect();
    let failed = outcomes.iter().any(|(_, outcome)| outcome.has_errors());
    match args.format {
        DiagnosticFormat::Human => {
            let color = crate::ui::stderr_color(global);
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
