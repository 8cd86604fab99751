//! `pinbatch import MANIFEST`: records pins that already exist (made by hand, by a bulk upload,
//! by a script) for the manifest pins the state knows nothing of, so that the first `apply`
//! updates or leaves them instead of creating them again. It only reads from Pinterest; it
//! writes the state through the state file's own API (locked, tied to the account, appended
//! and fsynced), as `adopted` pins.
//!
//! Pins a manifest names by id (a report's `pin_id`) go the same way, by
//! [`adopt_named_rows`], which `plan` and `apply` call too: a report copied to a machine
//! without the state rebuilds it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use anyhow::Context as _;

use futures::StreamExt as _;

use crate::api::ApiClient;
use crate::api::types::Pin;
use crate::apply::import::{self, Decision, NamedPin, Wanted};
use crate::cli::{GlobalArgs, ImportArgs};
use crate::commands::common::{self, load_manifest};
use crate::commands::exit::{ExitStatus, Fatal};
use crate::commands::settings::{ClientOptions, GlobalSettings, api_failure};
use crate::epoch::now_ms;
use crate::manifest::{Diagnostic, Manifest, PinSpec};
use crate::plan::resolve::{self, ResolveProblem};
use crate::state::{self, PinState, PinStatus, Record, StateFile, StateSnapshot};

/// Runs `import`.
pub async fn run(global: &GlobalArgs, args: &ImportArgs) -> anyhow::Result<ExitStatus> {
    let Some(loaded) = load_manifest(&args.manifest, &args.input, global)? else {
        return Ok(ExitStatus::Failure);
    };
    let manifest = loaded.manifest;
    let settings = GlobalSettings::resolve(global)?;
    let client = settings.api_client(ClientOptions::from_args(&args.network))?;
    let origin = settings.environment.origin().to_owned();
    let state_path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_state_path(&args.manifest));
    let (mut state_file, snapshot) = open_state(args, &state_path, &origin)?;
    let account = client.user_account().await.map_err(api_failure)?;
    let account_id = account
        .id
        .clone()
        .unwrap_or_else(|| account.username.clone());
    check_account(
        state_file.as_mut(),
        &snapshot,
        &state_path,
        &account_id,
        &account.username,
    )?;

    let mut selection = select(&manifest, &snapshot, args)?;
    // Pins the manifest names by id are read by id; `--pin` names override them.
    let (rows, candidates): (Vec<&PinSpec>, Vec<&PinSpec>) =
        selection.candidates.iter().partition(|spec| {
            spec.pin_id.is_some() && !args.pins.iter().any(|(key, _)| *key == spec.key)
        });
    selection.candidates = candidates;
    let row_adoption = adopt_named_rows(
        &client,
        &manifest,
        &rows,
        Some(&snapshot),
        &account.username,
    )
    .await?;
    if !row_adoption.problems.is_empty() {
        return Err(named_row_failure(&row_adoption.problems, global));
    }
    let wanted = locate(&client, &manifest, &selection.candidates).await?;
    let listed = read_listings(&client, &wanted.found).await?;
    let claimed: HashSet<String> = snapshot
        .pins
        .values()
        .filter_map(|pin| pin.pin_id.clone())
        .collect();
    let named = named_pins(&client, args, &wanted.found, &claimed).await?;
    let mut decisions = import::decide(&wanted.found, &listed, &claimed, &named);
    decisions.extend(wanted.nowhere.iter().map(|spec| Decision::NoMatch {
        key: spec.key.clone(),
    }));

    for line in row_adoption.lines() {
        println!("{line}");
    }
    let tally = record_decisions(&manifest, &wanted.found, decisions);
    for (key, reason) in &selection.skipped {
        println!("skipped    {key}  {reason}");
    }

    let Tally {
        mut records,
        ambiguous,
        missing,
    } = tally;
    records.splice(0..0, row_adoption.records);
    let adopted = records.len();
    match state_file.as_mut() {
        Some(file) => {
            file.append(&records).map_err(common::state_failure)?;
            if !global.quiet {
                eprintln!(
                    "Recorded {adopted} existing pin(s) in {} ({missing} to create, {ambiguous} ambiguous, {} already in the state)",
                    file.path().display(),
                    selection.known
                );
            }
        }
        None => {
            if !global.quiet {
                eprintln!(
                    "Dry run: would record {adopted} existing pin(s) in {} ({missing} to create, {ambiguous} ambiguous, {} already in the state); nothing was written",
                    state_path.display(),
                    selection.known
                );
            }
        }
    }
    if ambiguous > 0 {
        return Err(Fatal::new(
            ExitStatus::Failure,
            format!(
                "{ambiguous} manifest pin(s) match ambiguously and were left alone: `apply` would create them again"
            ),
        )
        .with_hint("choose the pin for each with --pin KEY=PIN_ID and run `pinbatch import` again (see `pinbatch pins list BOARD`)")
        .into());
    }
    Ok(ExitStatus::Success)
}

/// The error for pin ids that cannot be recorded: each printed where it was written, then one
/// fatal line. Nothing is recorded.
pub(crate) fn named_row_failure(problems: &[Diagnostic], global: &GlobalArgs) -> anyhow::Error {
    let text =
        crate::manifest::diagnostic::render_human(problems, true, global.terminal().stderr_color());
    eprint!("{text}");
    Fatal::new(
        ExitStatus::Failure,
        format!(
            "{} pin id(s) in the manifest cannot be recorded; nothing was sent or recorded",
            problems.len()
        ),
    )
    .with_hint("pin ids are checked against the account before they are trusted (see above)")
    .into()
}

/// A dry run reads the state without locking or creating it; a real one holds the lock from
/// before it reads the state until its records are durable.
fn open_state(
    args: &ImportArgs,
    state_path: &Path,
    origin: &str,
) -> anyhow::Result<(Option<StateFile>, StateSnapshot)> {
    if args.dry_run {
        let snapshot = common::load_state_for(state_path, origin)?
            .unwrap_or_else(|| StateSnapshot::new(origin));
        return Ok((None, snapshot));
    }
    let file = StateFile::open(state_path, origin).map_err(common::state_failure)?;
    let snapshot = file.snapshot().clone();
    Ok((Some(file), snapshot))
}

/// Refuses a state of another account; a locked state records the account when it has none.
fn check_account(
    state_file: Option<&mut StateFile>,
    snapshot: &StateSnapshot,
    state_path: &Path,
    account_id: &str,
    username: &str,
) -> anyhow::Result<()> {
    match state_file {
        Some(file) => file
            .check_account(account_id, username)
            .map_err(common::state_failure),
        None => match &snapshot.header.account {
            Some(recorded) if recorded != account_id => {
                Err(common::state_failure(state::StateError::WrongAccount {
                    path: state_path.to_owned(),
                    recorded: recorded.clone(),
                    current: format!("{username} ({account_id})"),
                }))
            }
            _ => Ok(()),
        },
    }
}

/// What the decisions come to: the records to append, and how many pins are left alone.
struct Tally {
    records: Vec<Record>,
    ambiguous: usize,
    missing: usize,
}

/// Prints one line per decision, in manifest order, and turns the adoptions into records.
fn record_decisions(
    manifest: &Manifest,
    found: &[Wanted<'_>],
    mut decisions: Vec<Decision>,
) -> Tally {
    let by_key: HashMap<&str, &Wanted<'_>> = found
        .iter()
        .map(|want| (want.spec.key.as_str(), want))
        .collect();
    let mut records = Vec::new();
    let mut ambiguous = 0usize;
    let mut missing = 0usize;
    let at_ms = now_ms();
    let order: HashMap<&str, usize> = manifest
        .pins
        .iter()
        .enumerate()
        .map(|(index, spec)| (spec.key.as_str(), index))
        .collect();
    decisions.sort_by_key(|decision| order.get(decision.key()).copied().unwrap_or(usize::MAX));
    for decision in &decisions {
        match decision {
            Decision::Adopt { key, pin, named } => {
                let want = by_key[key.as_str()];
                let fingerprint = import::adopted_fingerprint(want, pin);
                let how = if *named {
                    "named with --pin"
                } else {
                    "matches"
                };
                println!("adopt      {key}  pin {} ({how})", pin.id);
                records.push(Record::Done {
                    key: key.clone(),
                    pin_id: pin.id.clone(),
                    created_ms: pin.created_ms(),
                    board_id: pin
                        .board_id
                        .clone()
                        .unwrap_or_else(|| want.board_id.clone()),
                    section_id: pin.board_section_id.clone(),
                    fingerprint,
                    adopted: true,
                    shared_with: None,
                    at_ms,
                });
            }
            Decision::NoMatch { key } => {
                missing += 1;
                println!("missing    {key}  no existing pin matches: `apply` creates it");
            }
            Decision::SeveralPins { key, pin_ids } => {
                ambiguous += 1;
                println!(
                    "ambiguous  {key}  pins {} all match: name one with --pin '{key}=PIN_ID'",
                    pin_ids.join(", ")
                );
            }
            Decision::SharedPin {
                key,
                pin_id,
                others,
            } => {
                ambiguous += 1;
                println!(
                    "ambiguous  {key}  pin {pin_id} matches it and {}: name it for one with --pin '{key}={pin_id}'",
                    others.join(", ")
                );
            }
        }
    }
    Tally {
        records,
        ambiguous,
        missing,
    }
}

/// The manifest pins to look for, and those left out with why.
struct Selection<'a> {
    candidates: Vec<&'a PinSpec>,
    skipped: Vec<(String, &'static str)>,
    /// Pins the state already records as existing.
    known: usize,
}

/// Whether the state says nothing exists for a key: never recorded, or only failed (or
/// refused) attempts.
fn nothing_recorded(pin: Option<&PinState>) -> bool {
    pin.is_none_or(|pin| {
        matches!(
            pin.status,
            PinStatus::Pending | PinStatus::Failed | PinStatus::Blocked
        ) && pin.in_flight.is_none()
            && pin.pin_id.is_none()
    })
}

fn select<'a>(
    manifest: &'a Manifest,
    snapshot: &StateSnapshot,
    args: &ImportArgs,
) -> anyhow::Result<Selection<'a>> {
    let keys: HashSet<&str> = manifest.pins.iter().map(|p| p.key.as_str()).collect();
    let mut seen_ids = HashSet::new();
    for (key, pin_id) in &args.pins {
        if !keys.contains(key.as_str()) {
            return Err(Fatal::new(
                ExitStatus::Usage,
                format!(
                    "--pin names `{key}`, which is not a key of {}",
                    manifest.path.display()
                ),
            )
            .with_hint(
                "keys are the pins' `id`s, or derived from board + media (see `pinbatch plan`)",
            )
            .into());
        }
        if !seen_ids.insert(pin_id.as_str()) {
            return Err(Fatal::new(
                ExitStatus::Usage,
                format!("--pin gives pin {pin_id} to two keys: a pin belongs to one manifest pin"),
            )
            .into());
        }
        if !nothing_recorded(snapshot.pin(key)) {
            return Err(Fatal::new(
                ExitStatus::Usage,
                format!("--pin names `{key}`, which the state already records"),
            )
            .with_hint("`pinbatch status` shows what the state holds for it")
            .into());
        }
    }
    let mut selection = Selection {
        candidates: Vec::new(),
        skipped: Vec::new(),
        known: 0,
    };
    for spec in &manifest.pins {
        let recorded = snapshot.pin(&spec.key);
        if nothing_recorded(recorded) {
            selection.candidates.push(spec);
        } else if recorded.is_some_and(|pin| pin.in_flight.is_some() && pin.pin_id.is_none()) {
            selection.skipped.push((
                spec.key.clone(),
                "an earlier create's outcome is unknown: `apply` looks for that pin first",
            ));
        } else {
            selection.known += 1;
        }
    }
    Ok(selection)
}

/// Manifest pins with their board's (and section's) ids, and those whose board or section does
/// not exist (nothing can be on it).
struct Located<'a> {
    found: Vec<Wanted<'a>>,
    nowhere: Vec<&'a PinSpec>,
}

/// Resolves the boards and sections of `candidates` as `apply` does; an ambiguous name is an
/// error (nothing is recorded), a missing board or section means nothing to adopt there.
async fn locate<'a>(
    client: &ApiClient,
    manifest: &Manifest,
    candidates: &[&'a PinSpec],
) -> anyhow::Result<Located<'a>> {
    let needed: BTreeSet<_> = candidates
        .iter()
        .map(|spec| (spec.board.clone(), spec.section.clone()))
        .collect();
    let survey = if needed.is_empty() {
        resolve::Survey::default()
    } else {
        resolve::survey(client, manifest, &needed, false)
            .await
            .map_err(api_failure)?
    };
    let ambiguous: Vec<&ResolveProblem> = survey
        .problems
        .iter()
        .filter(|problem| {
            matches!(
                problem,
                ResolveProblem::AmbiguousBoard { .. } | ResolveProblem::AmbiguousSection { .. }
            )
        })
        .collect();
    if !ambiguous.is_empty() {
        for problem in &ambiguous {
            eprintln!("error: {problem}");
        }
        return Err(Fatal::new(
            ExitStatus::Failure,
            format!(
                "{} ambiguous board or section name(s); nothing was recorded",
                ambiguous.len()
            ),
        )
        .into());
    }
    let mut located = Located {
        found: Vec::new(),
        nowhere: Vec::new(),
    };
    for spec in candidates {
        let Some(board_id) = survey.resolved.board_id(&spec.board) else {
            located.nowhere.push(spec);
            continue;
        };
        let section_id = match &spec.section {
            None => None,
            Some(name) => match survey.resolved.section_id(board_id, name) {
                Some(id) => Some(id.to_owned()),
                None => {
                    located.nowhere.push(spec);
                    continue;
                }
            },
        };
        located.found.push(Wanted {
            spec,
            board_id: board_id.to_owned(),
            section_id,
        });
    }
    Ok(located)
}

/// Every page of the listing of each board, and of each section a pin goes to (Pinterest does
/// not promise that a board's listing includes its sections' pins), merged by pin id.
async fn read_listings(
    client: &ApiClient,
    wanted: &[Wanted<'_>],
) -> anyhow::Result<HashMap<String, BTreeMap<String, Pin>>> {
    let boards: BTreeSet<&str> = wanted.iter().map(|w| w.board_id.as_str()).collect();
    let sections: BTreeSet<(&str, &str)> = wanted
        .iter()
        .filter_map(|w| Some((w.board_id.as_str(), w.section_id.as_deref()?)))
        .collect();
    let mut listed: HashMap<String, BTreeMap<String, Pin>> = HashMap::new();
    for board_id in boards {
        let pins = client
            .list_board_pins(board_id)
            .await
            .map_err(api_failure)
            .with_context(|| format!("cannot list the pins of board {board_id}"))?;
        let entry = listed.entry(board_id.to_owned()).or_default();
        for mut pin in pins {
            pin.board_id.get_or_insert_with(|| board_id.to_owned());
            entry.insert(pin.id.clone(), pin);
        }
    }
    for (board_id, section_id) in sections {
        let pins = client
            .list_section_pins(board_id, section_id)
            .await
            .map_err(api_failure)
            .with_context(|| {
                format!("cannot list the pins of section {section_id} of board {board_id}")
            })?;
        let entry = listed.entry(board_id.to_owned()).or_default();
        for mut pin in pins {
            pin.board_id.get_or_insert_with(|| board_id.to_owned());
            pin.board_section_id
                .get_or_insert_with(|| section_id.to_owned());
            entry.insert(pin.id.clone(), pin);
        }
    }
    Ok(listed)
}

/// The pins named with `--pin`, read by id: each must exist, be on its key's board, and not be
/// recorded for another key.
async fn named_pins(
    client: &ApiClient,
    args: &ImportArgs,
    wanted: &[Wanted<'_>],
    claimed: &HashSet<String>,
) -> anyhow::Result<HashMap<String, Pin>> {
    let mut named = HashMap::new();
    for (key, pin_id) in &args.pins {
        let Some(want) = wanted.iter().find(|w| w.spec.key == *key) else {
            return Err(Fatal::new(
                ExitStatus::Failure,
                format!("--pin names `{key}`, whose board or section does not exist"),
            )
            .into());
        };
        if claimed.contains(pin_id) {
            return Err(Fatal::new(
                ExitStatus::Failure,
                format!("pin {pin_id} is already recorded in the state for another key"),
            )
            .with_hint("a pin belongs to one manifest pin")
            .into());
        }
        let pin = client
            .get_pin(pin_id)
            .await
            .map_err(api_failure)
            .with_context(|| format!("cannot read pin {pin_id} named for `{key}`"))?;
        if pin.board_id.as_deref() != Some(want.board_id.as_str()) {
            return Err(Fatal::new(
                ExitStatus::Failure,
                format!(
                    "pin {pin_id} is on board {}, not on `{}` ({}) where `{key}` goes",
                    pin.board_id.as_deref().unwrap_or("(unknown)"),
                    want.spec.board,
                    want.board_id
                ),
            )
            .with_hint("check the id with `pinbatch pins get`")
            .into());
        }
        named.insert(key.clone(), pin);
    }
    Ok(named)
}

/// How many pins named by id are read at once.
const NAMED_READS_IN_FLIGHT: usize = 8;

/// What the pin ids a manifest names come to (see [`adopt_named_rows`]).
#[derive(Debug, Default)]
pub(crate) struct RowAdoption {
    /// An `adopted` done record per pin of the account, in manifest order.
    pub records: Vec<Record>,
    /// A located error per pin id that cannot be recorded, in manifest order.
    pub problems: Vec<Diagnostic>,
}

impl RowAdoption {
    /// One line per adopted pin, as `import` prints its adoptions.
    pub fn lines(&self) -> Vec<String> {
        self.records
            .iter()
            .filter_map(|record| match record {
                Record::Done { key, pin_id, .. } => {
                    Some(format!("adopt      {key}  pin {pin_id} (its pin_id)"))
                }
                _ => None,
            })
            .collect()
    }
}

/// The manifest pins that name a pin id the state does not record for them: never recorded,
/// or only failed attempts (a create of unknown outcome is looked for by `apply` instead).
pub(crate) fn rows_to_adopt<'a>(
    manifest: &'a Manifest,
    snapshot: Option<&StateSnapshot>,
) -> Vec<&'a PinSpec> {
    manifest
        .pins
        .iter()
        .filter(|spec| spec.pin_id.is_some())
        .filter(|spec| nothing_recorded(snapshot.and_then(|s| s.pin(&spec.key))))
        .collect()
}

/// Rows whose `pin_id` is not the pin the state records for them (a report of another state,
/// an id edited by hand): the state's is kept, and each such row gets a warning where its id
/// is written.
pub(crate) fn conflicting_pin_ids(
    manifest: &Manifest,
    snapshot: Option<&StateSnapshot>,
) -> Vec<Diagnostic> {
    manifest
        .pins
        .iter()
        .filter_map(|spec| {
            let known = spec.pin_id.as_ref()?;
            let recorded = snapshot?.pin(&spec.key)?;
            let recorded_id = recorded.pin_id.as_deref()?;
            (recorded.status == PinStatus::Done && recorded_id != known.id).then(|| {
                Diagnostic::warning(
                    known.location.clone(),
                    format!(
                        "pin {} is not pin {recorded_id}, which the state records for this pin: the state's is kept",
                        known.id
                    ),
                )
                .with_field("pin_id")
                .with_hint("write the state's pin id (a new report does), or clear the cell")
            })
        })
        .collect()
}

/// Prints warnings about the manifest on stderr, as its diagnostics are printed.
pub(crate) fn print_warnings(warnings: &[Diagnostic], global: &GlobalArgs) {
    if warnings.is_empty() || global.quiet {
        return;
    }
    let text =
        crate::manifest::diagnostic::render_human(warnings, true, global.terminal().stderr_color());
    eprint!("{text}");
}

/// `plan --offline` and `apply --dry-run`, which read nothing: the pins `rows` name are taken
/// to be as the manifest describes them (recorded in memory only), so the plan shows what
/// `apply` does once it has checked them. Returns the snapshot to plan against.
pub(crate) fn assume_named_rows(
    rows: &[&PinSpec],
    snapshot: Option<StateSnapshot>,
    origin: &str,
) -> Option<StateSnapshot> {
    if rows.is_empty() {
        return snapshot;
    }
    let mut snapshot = snapshot.unwrap_or_else(|| StateSnapshot::new(origin));
    for spec in rows {
        let Some(known) = &spec.pin_id else {
            continue;
        };
        snapshot.apply(&Record::Done {
            key: spec.key.clone(),
            pin_id: known.id.clone(),
            created_ms: None,
            board_id: String::new(),
            section_id: None,
            fingerprint: crate::plan::fingerprint(spec),
            adopted: true,
            shared_with: None,
            at_ms: now_ms(),
        });
    }
    Some(snapshot)
}

/// The note `plan --offline` and `apply --dry-run` print about the pins [`assume_named_rows`]
/// took as the manifest describes them.
pub(crate) fn assumed_rows_note(count: usize) -> String {
    format!(
        "{count} pin(s) carry a pin_id the state does not record: taken as the manifest describes them (offline); `apply` reads each from the account and records it"
    )
}

/// Reads each pin named by `rows` from the account (never trusting the id blindly) and
/// decides: a pin of the account becomes an `adopted` done record with the fingerprint of
/// what it shows, as `import` records the pins it finds; a pin that does not exist, belongs to
/// another account, or is recorded for another key becomes a located error. Read-only.
pub(crate) async fn adopt_named_rows(
    client: &ApiClient,
    manifest: &Manifest,
    rows: &[&PinSpec],
    snapshot: Option<&StateSnapshot>,
    username: &str,
) -> anyhow::Result<RowAdoption> {
    let mut adoption = RowAdoption::default();
    if rows.is_empty() {
        return Ok(adoption);
    }
    let claimed: HashMap<&str, &str> = snapshot
        .into_iter()
        .flat_map(|s| s.pins.iter())
        .filter_map(|(key, pin)| Some((pin.pin_id.as_deref()?, key.as_str())))
        .collect();
    let needed: BTreeSet<_> = rows
        .iter()
        .map(|spec| (spec.board.clone(), spec.section.clone()))
        .collect();
    let survey = resolve::survey(client, manifest, &needed, false)
        .await
        .map_err(api_failure)?;
    let verdicts: Vec<anyhow::Result<NamedPin>> = futures::stream::iter(rows.iter())
        .map(|spec| read_named(client, spec, &claimed, username))
        .buffered(NAMED_READS_IN_FLIGHT)
        .collect()
        .await;
    let at_ms = now_ms();
    for (spec, verdict) in rows.iter().zip(verdicts) {
        let verdict = verdict?;
        let Some(known) = &spec.pin_id else {
            continue;
        };
        if let Some(problem) = import::named_pin_problem(known, &verdict) {
            adoption.problems.push(problem);
            continue;
        }
        let NamedPin::Ours(pin) = verdict else {
            continue;
        };
        let board_id = survey.resolved.board_id(&spec.board).unwrap_or_default();
        let want = Wanted {
            spec,
            board_id: board_id.to_owned(),
            section_id: spec
                .section
                .as_deref()
                .and_then(|name| survey.resolved.section_id(board_id, name))
                .map(str::to_owned),
        };
        adoption.records.push(Record::Done {
            key: spec.key.clone(),
            pin_id: pin.id.clone(),
            created_ms: pin.created_ms(),
            board_id: pin.board_id.clone().unwrap_or(want.board_id.clone()),
            section_id: pin.board_section_id.clone(),
            fingerprint: import::adopted_fingerprint(&want, &pin),
            adopted: true,
            shared_with: None,
            at_ms,
        });
    }
    Ok(adoption)
}

/// Reads the pin a row names; a pin Pinterest does not have is [`NamedPin::Missing`], any
/// other failure ends the command.
async fn read_named(
    client: &ApiClient,
    spec: &PinSpec,
    claimed: &HashMap<&str, &str>,
    username: &str,
) -> anyhow::Result<NamedPin> {
    let Some(known) = &spec.pin_id else {
        return Ok(NamedPin::Missing);
    };
    if let Some(other) = claimed.get(known.id.as_str()) {
        return Ok(NamedPin::Claimed {
            other_key: (*other).to_owned(),
        });
    }
    match client.get_pin(&known.id).await {
        Ok(pin) => Ok(import::judge_named_pin(pin, username)),
        Err(err) if err.status() == Some(404) => Ok(NamedPin::Missing),
        Err(err) => Err(api_failure(err))
            .with_context(|| format!("cannot read pin {} named at {}", known.id, known.location)),
    }
}
