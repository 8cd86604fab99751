//! What `apply` would do: the manifest's board and section names resolved to ids (`resolve`,
//! the one part that reads the API), then the pure planner: (manifest, state, now, schedule)
//! -> what `apply` would do to each pin, with reasons, and when (`schedule`: each pin's time
//! under a schedule policy).
//!
//! No I/O and no API types in this file: the same function serves `plan --offline`, `plan`,
//! `apply --dry-run` and `apply`, and is unit-tested on values alone. May use `manifest`,
//! `state`, `api` (in `resolve` only) and the leaves.

pub(crate) mod resolve;
pub(crate) mod schedule;

use std::borrow::Cow;
use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::manifest::{ImageSource, Manifest, Media, PinSpec, SchedulePolicy, VideoCover};
use crate::state::{Fingerprint, InFlight, Operation, PinState, PinStatus, StateSnapshot};

/// Options that change what the plan does with changed media, orphans and blocked links.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PlanOptions {
    /// Replace pins whose media changed (delete, then create).
    pub replace: bool,
    /// Delete pins that are in the state but no longer in the manifest.
    pub prune: bool,
    /// `--retry-blocked`: send again the pins whose link Pinterest refused as spam before this
    /// time (ms since the epoch; the run's start), and those of the same domains. Refusals from
    /// the run itself still hold.
    pub retry_blocked_before: Option<i64>,
}

/// A schedule policy and the time zone its local times (days, windows) are in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing<'a> {
    /// The policy (the manifest's block with the flags over it).
    pub policy: &'a SchedulePolicy,
    /// The manifest's time zone.
    pub zone: &'a jiff::tz::TimeZone,
}

/// What to do with one manifest pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Create the pin. `reconcile` holds the earlier attempts whose outcome is unknown: look for
    /// what each sent, where it sent it, first, and adopt the pin if found.
    Create {
        /// The earlier attempts to reconcile, oldest first (empty: none).
        reconcile: Vec<InFlight>,
    },
    /// The text or placement changed: `PATCH` the existing pin.
    Update {
        /// Pinterest's pin id.
        pin_id: String,
        /// Which parts changed (`text`, `board/section`).
        changes: Vec<&'static str>,
    },
    /// The media changed and `--replace` was given: delete the pin, then create it again.
    Replace {
        /// The pin to delete.
        pin_id: String,
    },
    /// The media changed but `--replace` was not given: left as it is, reported.
    NeedsReplace {
        /// The existing pin.
        pin_id: String,
    },
    /// Nothing changed: no API call.
    Unchanged {
        /// The existing pin.
        pin_id: String,
    },
    /// Not due yet (its `publish_at`, or its time under the schedule): skipped until then.
    Scheduled {
        /// When it becomes due.
        due: jiff::Timestamp,
    },
    /// Pinterest refused the pin's link as spam: not sent again until `--retry-blocked`.
    Blocked {
        /// Pinterest's message.
        message: String,
    },
    /// Not sent: Pinterest refused another pin's link of the same domain as spam.
    Held {
        /// The domain.
        domain: String,
    },
}

impl Action {
    /// The action's name as printed in plans and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Update { .. } => "update",
            Action::Replace { .. } => "replace",
            Action::NeedsReplace { .. } => "needs-replace",
            Action::Unchanged { .. } => "unchanged",
            Action::Scheduled { .. } => "scheduled",
            Action::Blocked { .. } => "blocked",
            Action::Held { .. } => "held",
        }
    }

    /// Whether carrying it out needs the API.
    pub fn needs_api(&self) -> bool {
        matches!(
            self,
            Action::Create { .. } | Action::Update { .. } | Action::Replace { .. }
        )
    }

    /// A short human explanation.
    pub fn reason(&self) -> String {
        match self {
            Action::Create { reconcile } if reconcile.is_empty() => "not created yet".into(),
            Action::Create { .. } => {
                "an earlier attempt's outcome is unknown: look for it on the board first".into()
            }
            Action::Update { changes, .. } => format!("{} changed", changes.join(" and ")),
            Action::Replace { .. } => "media changed (--replace)".into(),
            Action::NeedsReplace { .. } => {
                "media changed; pass --replace to delete and re-create the pin".into()
            }
            Action::Unchanged { .. } => "up to date".into(),
            Action::Scheduled { due } => format!("due at {due}"),
            Action::Blocked { message } => format!(
                "Pinterest refused the link as spam ({message}); --retry-blocked sends it again"
            ),
            Action::Held { domain } => format!(
                "held: Pinterest refused a link of {domain} as spam; --retry-blocked sends it"
            ),
        }
    }
}

/// One planned pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlannedPin {
    /// Index into `Manifest::pins`.
    pub index: usize,
    /// The pin's key.
    pub key: String,
    /// What to do.
    pub action: Action,
    /// The content fingerprint the pin will have.
    pub fingerprint: Fingerprint,
    /// When it is due, for a pin not yet published that has a time (its `publish_at`, or its
    /// time under the schedule; `now` for one due now).
    pub due: Option<jiff::Timestamp>,
}

/// A pin in the state that the manifest no longer has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Orphan {
    /// Its key.
    pub key: String,
    /// Its pin id.
    pub pin_id: String,
    /// Whether `--prune` deletes it.
    pub delete: bool,
}

/// A key the manifest no longer has whose create's outcome is unknown: its pin may exist, and
/// nothing looks for it unless the key comes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownOrphan {
    /// Its key.
    pub key: String,
    /// The boards its attempts were sent to.
    pub board_ids: Vec<String>,
}

impl UnknownOrphan {
    /// What to tell the user.
    pub fn message(&self) -> String {
        format!(
            "`{}` is no longer in the manifest, but a create of it may have made a pin on board {}: put it back to have pinbatch look for it, or check the board",
            self.key,
            self.board_ids.join(", ")
        )
    }
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    /// One entry per manifest pin, in manifest order.
    pub pins: Vec<PlannedPin>,
    /// Pins in the state and not in the manifest.
    pub orphans: Vec<Orphan>,
    /// Keys in the state and not in the manifest whose create's outcome is unknown.
    pub unknown_orphans: Vec<UnknownOrphan>,
}

impl Plan {
    /// Whether any pin or orphan needs the API.
    pub fn needs_api(&self) -> bool {
        self.pins.iter().any(|pin| pin.action.needs_api())
            || self.orphans.iter().any(|orphan| orphan.delete)
    }

    /// The boards (and sections) that the pins needing the API go to: what must be resolved.
    pub fn boards_needed(
        &self,
        manifest: &Manifest,
    ) -> std::collections::BTreeSet<(crate::manifest::BoardRef, Option<String>)> {
        self.pins
            .iter()
            .filter(|planned| planned.action.needs_api())
            .map(|planned| {
                let spec = &manifest.pins[planned.index];
                (spec.board.clone(), spec.section.clone())
            })
            .collect()
    }

    /// The boards (and sections) of the pins that need the API now or once they are due: what
    /// a run that follows the schedule must resolve.
    pub fn boards_to_come(
        &self,
        manifest: &Manifest,
    ) -> std::collections::BTreeSet<(crate::manifest::BoardRef, Option<String>)> {
        self.pins
            .iter()
            .filter(|planned| {
                planned.action.needs_api() || matches!(planned.action, Action::Scheduled { .. })
            })
            .map(|planned| {
                let spec = &manifest.pins[planned.index];
                (spec.board.clone(), spec.section.clone())
            })
            .collect()
    }

    /// How many writes carrying out the plan takes: a create (and a video's media
    /// registration), an update, a replace's delete and create, an orphan's delete.
    pub(crate) fn writes(&self, manifest: &Manifest) -> usize {
        let pins: usize = self
            .pins
            .iter()
            .map(|planned| {
                let video = usize::from(matches!(
                    manifest.pins[planned.index].media,
                    Media::Video(_)
                ));
                match planned.action {
                    Action::Create { .. } => 1 + video,
                    Action::Update { .. } => 1,
                    Action::Replace { .. } => 2 + video,
                    _ => 0,
                }
            })
            .sum();
        pins + self.orphans.iter().filter(|orphan| orphan.delete).count()
    }

    /// How many pins have each action name, in a fixed order, for summaries.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        let names = [
            "create",
            "update",
            "replace",
            "needs-replace",
            "unchanged",
            "scheduled",
            "blocked",
            "held",
        ];
        let mut counts: Vec<(&'static str, usize)> = names
            .iter()
            .map(|name| {
                let n = self
                    .pins
                    .iter()
                    .filter(|p| p.action.name() == *name)
                    .count();
                (*name, n)
            })
            .collect();
        counts.push(("orphaned", self.orphans.len()));
        counts
    }
}

/// Plans every pin of `manifest` against `state` (None = no state yet) at `now`, with no
/// schedule policy.
#[cfg(test)]
pub(crate) fn plan(
    manifest: &Manifest,
    state: Option<&StateSnapshot>,
    now: jiff::Timestamp,
    options: PlanOptions,
) -> Plan {
    plan_with(manifest, state, now, options, None)
}

/// Plans every pin of `manifest` against `state` (None = no state yet) at `now`; with `timing`,
/// pins without `publish_at` are due when the schedule says.
pub(crate) fn plan_with(
    manifest: &Manifest,
    state: Option<&StateSnapshot>,
    now: jiff::Timestamp,
    options: PlanOptions,
    timing: Option<Timing<'_>>,
) -> Plan {
    let held = state
        .map(|state| blocked_domains(state, options))
        .unwrap_or_default();
    let mut pins: Vec<PlannedPin> = manifest
        .pins
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let fingerprint = fingerprint(spec);
            let recorded = state.and_then(|state| state.pin(&spec.key));
            let action = held_back(spec, recorded, &held, options)
                .unwrap_or_else(|| plan_pin(spec, &fingerprint, recorded, now, options));
            let due = match &action {
                Action::Scheduled { due } => Some(*due),
                Action::Create { reconcile } if reconcile.is_empty() => spec.publish_at,
                _ => None,
            };
            PlannedPin {
                index,
                key: spec.key.clone(),
                action,
                fingerprint,
                due,
            }
        })
        .collect();
    if let Some(timing) = timing {
        schedule_pins(manifest, state, now, timing, &mut pins);
    }
    let orphans = state
        .map(|state| {
            let keys: HashSet<&str> = manifest.pins.iter().map(|pin| pin.key.as_str()).collect();
            state
                .pins
                .iter()
                .filter(|(key, _)| !keys.contains(key.as_str()))
                .filter_map(|(key, pin)| match (&pin.status, &pin.pin_id) {
                    (PinStatus::Done, Some(pin_id)) => Some(Orphan {
                        key: key.clone(),
                        pin_id: pin_id.clone(),
                        delete: options.prune,
                    }),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let unknown_orphans = state
        .map(|state| unknown_orphans(manifest, state))
        .unwrap_or_default();
    Plan {
        pins,
        orphans,
        unknown_orphans,
    }
}

/// The keys of `state` that `manifest` no longer has and whose create's outcome is unknown.
pub(crate) fn unknown_orphans(manifest: &Manifest, state: &StateSnapshot) -> Vec<UnknownOrphan> {
    let keys: std::collections::HashSet<&str> =
        manifest.pins.iter().map(|pin| pin.key.as_str()).collect();
    state
        .pins
        .iter()
        .filter(|(key, pin)| !keys.contains(key.as_str()) && pin.is_unknown())
        .filter_map(|(key, pin)| {
            let mut board_ids: Vec<String> = pin
                .unresolved()
                .filter(|attempt| matches!(attempt.op, Operation::Create | Operation::Replace))
                .map(|attempt| attempt.board_id.clone())
                .collect();
            board_ids.dedup();
            (!board_ids.is_empty()).then(|| UnknownOrphan {
                key: key.clone(),
                board_ids,
            })
        })
        .collect()
}

/// Gives the pins without `publish_at` that would be created now their time under the
/// schedule: those not due yet become `scheduled`.
fn schedule_pins(
    manifest: &Manifest,
    state: Option<&StateSnapshot>,
    now: jiff::Timestamp,
    timing: Timing<'_>,
    pins: &mut [PlannedPin],
) {
    let recorded = |spec: &PinSpec| state.and_then(|state| state.pin(&spec.key));
    let published_at = |pin: &PinState| {
        pin.published_at_ms()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
    };
    let slot_pins: Vec<schedule::SlotPin<'_>> = manifest
        .pins
        .iter()
        .zip(pins.iter())
        .map(|(spec, planned)| {
            let phase = match (&planned.action, recorded(spec).and_then(published_at)) {
                (Action::Create { reconcile }, _) if reconcile.is_empty() => {
                    schedule::Phase::Pending
                }
                (Action::Scheduled { .. }, _) => schedule::Phase::Pending,
                (_, Some(at)) => schedule::Phase::Published(at),
                _ => schedule::Phase::Idle,
            };
            schedule::SlotPin {
                key: &spec.key,
                board: board_text(spec),
                link: spec.link.as_deref(),
                explicit: spec.publish_at,
                phase,
            }
        })
        .collect();
    let mut history: Vec<schedule::Published<'_>> = slot_pins
        .iter()
        .filter_map(|pin| match pin.phase {
            schedule::Phase::Published(at) => Some(schedule::Published { link: pin.link, at }),
            _ => None,
        })
        .collect();
    if let Some(state) = state {
        let in_manifest: HashSet<&str> = manifest.pins.iter().map(|p| p.key.as_str()).collect();
        history.extend(
            state
                .pins
                .iter()
                .filter(|(key, _)| !in_manifest.contains(key.as_str()))
                .filter_map(|(_, pin)| published_at(pin))
                .map(|at| schedule::Published { link: None, at }),
        );
    }
    let times = schedule::assign(timing.policy, timing.zone, &slot_pins, &history, now);
    for (planned, (spec, due)) in pins.iter_mut().zip(manifest.pins.iter().zip(times.due)) {
        let (Some(due), None) = (due, spec.publish_at) else {
            continue;
        };
        if !matches!(&planned.action, Action::Create { reconcile } if reconcile.is_empty()) {
            continue;
        }
        planned.due = Some(due);
        if due > now {
            planned.action = Action::Scheduled { due };
        }
    }
}

/// The board as written (as `BoardRef`'s `Display` shows it).
pub(crate) fn board_text(spec: &PinSpec) -> &str {
    match &spec.board {
        crate::manifest::BoardRef::Id(id) | crate::manifest::BoardRef::Name(id) => id,
    }
}

/// The domain of a link (its host, without a leading `www.`), as blocks are counted.
pub(crate) fn link_domain(link: &str) -> Option<String> {
    let url = url::Url::parse(link).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    Some(host.strip_prefix("www.").unwrap_or(&host).to_owned())
}

/// The domains of the links the state records as refused as spam, and not retried.
fn blocked_domains(state: &StateSnapshot, options: PlanOptions) -> HashSet<String> {
    state
        .pins
        .values()
        .filter(|pin| still_blocked(pin, options))
        .filter_map(|pin| pin.blocked_link.as_deref())
        .filter_map(link_domain)
        .collect()
}

/// Whether a refusal recorded for `pin` holds: it is not retried, or it came during this run.
fn still_blocked(pin: &PinState, options: PlanOptions) -> bool {
    pin.blocked_link.is_some()
        && options
            .retry_blocked_before
            .is_none_or(|before| pin.updated_ms >= before)
}

/// A pin held back because of a refused link: its own (unchanged since), or another of the
/// same domain (`held`). `None` when nothing holds it.
fn held_back(
    spec: &PinSpec,
    recorded: Option<&PinState>,
    held: &HashSet<String>,
    options: PlanOptions,
) -> Option<Action> {
    if let Some(pin) = recorded
        && still_blocked(pin, options)
        && pin.blocked_link == spec.link
    {
        return Some(Action::Blocked {
            message: pin.last_error.clone().unwrap_or_default(),
        });
    }
    // What already exists unchanged is left alone; only what would be sent is held.
    if held.is_empty() || recorded.is_some_and(|pin| pin.status == PinStatus::Done) {
        return None;
    }
    let domain = spec.link.as_deref().and_then(link_domain)?;
    held.contains(&domain).then_some(Action::Held { domain })
}

/// Plans one pin against what the state records for its key (`None`: nothing yet).
pub(crate) fn plan_pin(
    spec: &PinSpec,
    fingerprint: &Fingerprint,
    recorded: Option<&PinState>,
    now: jiff::Timestamp,
    options: PlanOptions,
) -> Action {
    let existing = recorded.and_then(|state| match (&state.status, &state.pin_id) {
        (PinStatus::Done, Some(pin_id)) => Some((state, pin_id.clone())),
        _ => None,
    });
    if let Some((state, pin_id)) = existing {
        let Some(old) = &state.fingerprint else {
            return Action::Unchanged { pin_id };
        };
        // An interrupted replace deleted nothing yet or is half done: do it again (a delete of
        // a pin already gone counts as done).
        if let Some(in_flight) = &state.in_flight
            && in_flight.op == Operation::Replace
        {
            return Action::Replace { pin_id };
        }
        if old.media != fingerprint.media {
            return if options.replace {
                Action::Replace { pin_id }
            } else {
                Action::NeedsReplace { pin_id }
            };
        }
        // An update sent but never confirmed may have reached the pin: it holds the recorded
        // content or that update's, so anything differing from either is sent again (even
        // when the manifest went back to the recorded text).
        let mut holds = vec![old];
        holds.extend(
            state
                .unresolved()
                .filter(|attempt| attempt.op == Operation::Update)
                .map(|attempt| &attempt.fingerprint),
        );
        let mut changes = Vec::new();
        if holds.iter().any(|held| held.text != fingerprint.text) {
            changes.push("text");
        }
        if holds
            .iter()
            .any(|held| held.placement != fingerprint.placement)
        {
            changes.push("board/section");
        }
        return if changes.is_empty() {
            Action::Unchanged { pin_id }
        } else {
            Action::Update { pin_id, changes }
        };
    }
    // An attempt of unknown outcome (whether its retries ran out, the process stopped, or it
    // was never answered) is looked for before anything else is sent for this key.
    let reconcile: Vec<InFlight> = recorded
        .map(|state| {
            state
                .unresolved()
                .filter(|attempt| matches!(attempt.op, Operation::Create | Operation::Replace))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    // A pin whose create may already have happened is reconciled even if it is not due yet.
    if reconcile.is_empty()
        && let Some(due) = spec.publish_at
        && due > now
    {
        return Action::Scheduled { due };
    }
    Action::Create { reconcile }
}

/// The content fingerprint of a pin: what, if changed, needs an API call.
///
/// Media is fingerprinted by reference (path as written, or URL) and local file size, not by
/// content: hashing every file on every run would make a no-op re-run of a large manifest slow.
pub fn fingerprint(pin: &PinSpec) -> Fingerprint {
    let labels: Vec<&str> = pin.ai_disclosures.iter().map(|l| l.as_str()).collect();
    let text = text_digest(
        PinText {
            title: pin.title.as_deref(),
            description: pin.description.as_deref(),
            link: pin.link.as_deref(),
            alt_text: pin.alt_text.as_deref(),
            dominant_color: pin.dominant_color.as_deref(),
        },
        &labels,
    );
    let placement = placement_digest(board_text(pin), pin.section.as_deref());
    // Borrowed where the text is already there: planning a large manifest fingerprints every pin.
    let mut media_parts: Vec<Cow<'_, str>> = vec![Cow::Borrowed(pin.media.kind())];
    match &pin.media {
        Media::Image(source) => media_parts.push(image_ref(source)),
        Media::Carousel(items) => {
            for item in items {
                media_parts.push(image_ref(&item.source));
                media_parts.push(slide_text(&item.title));
                media_parts.push(slide_text(&item.description));
                media_parts.push(slide_text(&item.link));
            }
        }
        Media::Video(video) => {
            media_parts.push(Cow::Owned(format!("{}#{}", video.reference, video.len)));
            media_parts.push(match &video.cover {
                None => Cow::Borrowed(""),
                Some(VideoCover::File(image)) => {
                    Cow::Owned(format!("{}#{}", image.reference, image.len))
                }
                Some(VideoCover::Url(url)) => Cow::Borrowed(url.as_str()),
                Some(VideoCover::Frame(seconds)) => Cow::Owned(format!("frame:{seconds}")),
            });
        }
    }
    let media_refs: Vec<&str> = media_parts.iter().map(AsRef::as_ref).collect();
    Fingerprint {
        text,
        placement,
        media: digest(&media_refs),
        identity: identity(
            pin.title.as_deref(),
            pin.description.as_deref(),
            pin.link.as_deref(),
            listed_media_type(&pin.media),
        ),
    }
}

/// The `placement` part of a fingerprint: the board as written and the section name.
pub(crate) fn placement_digest(board: &str, section: Option<&str>) -> String {
    digest(&[board, section.unwrap_or("")])
}

/// The text fields of a pin that its fingerprint's `text` covers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PinText<'a> {
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub link: Option<&'a str>,
    pub alt_text: Option<&'a str>,
    pub dominant_color: Option<&'a str>,
}

/// The `text` part of a fingerprint: the text fields, then the AI disclosure labels (in any
/// order, repeats ignored). Without labels it is the digest of the five text fields alone, as
/// in states written before labels existed, so those states still plan as unchanged.
pub(crate) fn text_digest(text: PinText<'_>, ai_disclosures: &[&str]) -> String {
    let mut parts = vec![
        text.title.unwrap_or(""),
        text.description.unwrap_or(""),
        text.link.unwrap_or(""),
        text.alt_text.unwrap_or(""),
        text.dominant_color.unwrap_or(""),
    ];
    let mut labels = ai_disclosures.to_vec();
    labels.sort_unstable();
    labels.dedup();
    if !labels.is_empty() {
        parts.push("ai_disclosures");
        parts.extend(labels);
    }
    digest(&parts)
}

/// The `media.media_type` a board listing shows for a pin of this media.
pub(crate) fn listed_media_type(media: &Media) -> &'static str {
    match media {
        Media::Image(_) => "image",
        Media::Carousel(_) => "multiple_images",
        Media::Video(_) => "video",
    }
}

/// What a board listing shows of a pin that reconciliation can match on: title, description,
/// link and media type (the listing carries no trace of the source image), each text as the
/// service keeps it ([`normalized_text`]), so that a pin is recognised whether the service
/// stored the text as sent or trimmed it. Absent text and empty text are the same, as Pinterest
/// returns either.
pub(crate) fn identity(
    title: Option<&str>,
    description: Option<&str>,
    link: Option<&str>,
    media_type: &str,
) -> String {
    let text = |value: Option<&str>| normalized_text(value.unwrap_or("")).into_owned();
    digest(&[&text(title), &text(description), &text(link), media_type])
}

/// The identity as states written before text was normalized recorded it: of the text as
/// written. It equals [`identity`] for text with nothing to normalize.
pub(crate) fn written_identity(
    title: Option<&str>,
    description: Option<&str>,
    link: Option<&str>,
    media_type: &str,
) -> String {
    digest(&[
        title.unwrap_or(""),
        description.unwrap_or(""),
        link.unwrap_or(""),
        media_type,
    ])
}

/// Text as services keep it and as pinbatch sends it: without leading and trailing white
/// space, with CRLF and lone CR line ends as LF. Spreadsheet cells carry stray spaces and
/// Windows line ends, and YAML block scalars a final newline; a service that stores the text
/// trimmed would otherwise never show the text that was sent in its listings.
pub(crate) fn normalized_text(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim();
    if trimmed.contains('\r') {
        Cow::Owned(trimmed.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(trimmed)
    }
}

/// A text field as it is sent: normalized, and left out when nothing remains.
pub(crate) fn sent_text(text: Option<&str>) -> Option<String> {
    text.map(normalized_text)
        .filter(|text| !text.is_empty())
        .map(Cow::into_owned)
}

/// A carousel slide's text, as its fingerprint takes it.
fn slide_text(value: &Option<String>) -> Cow<'_, str> {
    Cow::Borrowed(value.as_deref().unwrap_or(""))
}

fn image_ref(source: &ImageSource) -> Cow<'_, str> {
    match source {
        ImageSource::File(image) => Cow::Owned(format!("{}#{}", image.reference, image.len)),
        ImageSource::Url(url) => Cow::Borrowed(url),
    }
}

/// A short hex digest of length-prefixed parts (so `["ab", "c"]` and `["a", "bc"]` differ).
fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let bytes = hasher.finalize();
    // Hex by hand: a `format!` per byte was a third of planning a large manifest.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(24);
    for byte in &bytes[..12] {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    use crate::state::{Record, StateSnapshot};

    fn pin(key: &str, title: &str, url: &str) -> PinSpec {
        let media = Media::Image(ImageSource::Url(url.to_owned()));
        PinSpec {
            title: Some(title.to_owned()),
            ..PinSpec::sample(key, "Board", media)
        }
    }

    fn manifest(pins: Vec<PinSpec>) -> Manifest {
        Manifest {
            path: PathBuf::from("m.yaml"),
            boards: Vec::new(),
            pins,
            schedule: None,
        }
    }

    fn now() -> jiff::Timestamp {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    fn done(state: &mut StateSnapshot, spec: &PinSpec, pin_id: &str) {
        state.apply(&Record::Done {
            key: spec.key.clone(),
            pin_id: pin_id.to_owned(),
            created_ms: None,
            board_id: "1".to_owned(),
            section_id: None,
            fingerprint: fingerprint(spec),
            adopted: false,
            shared_with: None,
            at_ms: 0,
        });
    }

    #[test]
    fn without_state_everything_is_created() {
        let m = manifest(vec![pin("a", "A", "https://x/a.jpg")]);
        let plan = plan(&m, None, now(), PlanOptions::default());
        assert_eq!(plan.pins[0].action, Action::Create { reconcile: vec![] });
        assert!(plan.needs_api());
    }

    #[test]
    fn unchanged_pins_need_no_api_call() {
        let a = pin("a", "A", "https://x/a.jpg");
        let mut state = StateSnapshot::new("o");
        done(&mut state, &a, "9");
        let plan = plan(
            &manifest(vec![a]),
            Some(&state),
            now(),
            PlanOptions::default(),
        );
        assert_eq!(
            plan.pins[0].action,
            Action::Unchanged {
                pin_id: "9".to_owned()
            }
        );
        assert!(!plan.needs_api());
    }

    #[test]
    fn text_edit_is_an_update_and_media_edit_needs_replace() {
        let a = pin("a", "A", "https://x/a.jpg");
        let b = pin("b", "B", "https://x/b.jpg");
        let mut state = StateSnapshot::new("o");
        done(&mut state, &a, "1");
        done(&mut state, &b, "2");
        let edited = vec![
            pin("a", "A edited", "https://x/a.jpg"),
            pin("b", "B", "https://x/b2.jpg"),
        ];
        let m = manifest(edited);
        let plain = plan(&m, Some(&state), now(), PlanOptions::default());
        assert_eq!(
            plain.pins[0].action,
            Action::Update {
                pin_id: "1".to_owned(),
                changes: vec!["text"]
            }
        );
        assert_eq!(
            plain.pins[1].action,
            Action::NeedsReplace {
                pin_id: "2".to_owned()
            }
        );
        let replace = PlanOptions {
            replace: true,
            ..PlanOptions::default()
        };
        let replaced = plan(&m, Some(&state), now(), replace);
        assert_eq!(
            replaced.pins[1].action,
            Action::Replace {
                pin_id: "2".to_owned()
            }
        );
    }

    fn attempt(spec: &PinSpec) -> Record {
        attempt_with(spec, Operation::Create, 42)
    }

    fn attempt_with(spec: &PinSpec, op: Operation, started_ms: i64) -> Record {
        Record::Attempt {
            key: spec.key.clone(),
            op,
            started_ms,
            server_started_ms: Some(40),
            fingerprint: fingerprint(spec),
            board_id: "7".to_owned(),
            section_id: None,
        }
    }

    #[test]
    fn an_interrupted_update_is_sent_again_even_when_the_manifest_went_back() {
        let first = pin("a", "A", "https://x/a.jpg");
        let edited = pin("a", "A, edited", "https://x/a.jpg");
        let mut state = StateSnapshot::new("o");
        done(&mut state, &first, "1");
        // The PATCH to the edited text was sent, and the process was killed before its answer.
        state.apply(&attempt_with(&edited, Operation::Update, 42));
        for today in [&first, &edited] {
            let plan = plan(
                &manifest(vec![today.clone()]),
                Some(&state),
                now(),
                PlanOptions::default(),
            );
            assert_eq!(
                plan.pins[0].action,
                Action::Update {
                    pin_id: "1".to_owned(),
                    changes: vec!["text"],
                },
                "the pin may hold either text"
            );
        }
        // Once an update is confirmed, the recorded text is the pin's again.
        done(&mut state, &first, "1");
        let plan = plan(
            &manifest(vec![first.clone()]),
            Some(&state),
            now(),
            PlanOptions::default(),
        );
        assert_eq!(plan.pins[0].action.name(), "unchanged");
    }

    #[test]
    fn every_earlier_attempt_of_unknown_outcome_is_reconciled() {
        let first = pin("a", "A", "https://x/a.jpg");
        let second = pin("a", "A, edited", "https://x/a.jpg");
        let mut state = StateSnapshot::new("o");
        state.apply(&attempt(&first));
        state.apply(&attempt_with(&second, Operation::Create, 50));
        let plan = plan(
            &manifest(vec![second.clone()]),
            Some(&state),
            now(),
            PlanOptions::default(),
        );
        let Action::Create { reconcile } = &plan.pins[0].action else {
            panic!("{:?}", plan.pins[0].action);
        };
        let sent: Vec<&Fingerprint> = reconcile.iter().map(|a| &a.fingerprint).collect();
        assert_eq!(sent, vec![&fingerprint(&first), &fingerprint(&second)]);
    }

    #[test]
    fn text_is_sent_and_compared_as_services_keep_it() {
        assert_eq!(normalized_text("  Cat\r\nnap \r"), "Cat\nnap");
        assert_eq!(normalized_text("a\rb"), "a\nb");
        assert_eq!(sent_text(Some(" \n ")), None);
        assert_eq!(sent_text(Some(" Cat ")).as_deref(), Some("Cat"));
        assert_eq!(
            identity(Some(" Cat "), Some("a\r\nb\n"), None, "image"),
            identity(Some("Cat"), Some("a\nb"), None, "image")
        );
        // Text with nothing to normalize keeps the identity states recorded before.
        assert_eq!(
            identity(Some("Cat"), None, Some("https://e.com"), "image"),
            written_identity(Some("Cat"), None, Some("https://e.com"), "image")
        );
        assert_ne!(
            identity(Some(" Cat"), None, None, "image"),
            written_identity(Some(" Cat"), None, None, "image")
        );
    }

    #[test]
    fn an_unknown_outcome_is_reconciled_with_what_was_sent_before_creating() {
        let sent = pin("a", "A", "https://x/a.jpg");
        let mut state = StateSnapshot::new("o");
        state.apply(&attempt(&sent));
        // The manifest was edited since: reconciliation still looks for the text that was sent.
        let edited = pin("a", "A, edited", "https://x/a.jpg");
        let plan = plan(
            &manifest(vec![edited]),
            Some(&state),
            now(),
            PlanOptions::default(),
        );
        let Action::Create { reconcile } = &plan.pins[0].action else {
            panic!("{:?}", plan.pins[0].action);
        };
        let [earlier] = reconcile.as_slice() else {
            panic!("{reconcile:?}");
        };
        assert_eq!(earlier.started_ms, 42);
        assert_eq!(earlier.server_started_ms, Some(40));
        assert_eq!(earlier.board_id, "7");
        assert_eq!(earlier.fingerprint, fingerprint(&sent));
        assert_ne!(
            earlier.fingerprint.identity,
            plan.pins[0].fingerprint.identity
        );
    }

    #[test]
    fn an_unknown_outcome_whose_retries_ran_out_is_reconciled_not_failed() {
        let a = pin("a", "A", "https://x/a.jpg");
        let mut state = StateSnapshot::new("o");
        state.apply(&attempt(&a));
        state.apply(&Record::Unknown {
            key: "a".to_owned(),
            error: "502 Bad Gateway after 5 retries".to_owned(),
            at_ms: 99,
        });
        let plan = plan(
            &manifest(vec![a]),
            Some(&state),
            now(),
            PlanOptions::default(),
        );
        let Action::Create { reconcile } = &plan.pins[0].action else {
            panic!("{:?}", plan.pins[0].action);
        };
        let [earlier] = reconcile.as_slice() else {
            panic!("{reconcile:?}");
        };
        assert_eq!(earlier.ended_ms, Some(99));
        assert_eq!(
            plan.pins[0].action.reason(),
            "an earlier attempt's outcome is unknown: look for it on the board first"
        );
    }

    #[test]
    fn identity_ignores_what_a_listing_does_not_show() {
        let mut a = pin("a", "A", "https://x/a.jpg");
        let b = pin("b", "A", "https://x/b.jpg");
        a.alt_text = Some("other alt text".to_owned());
        assert_eq!(fingerprint(&a).identity, fingerprint(&b).identity);
        assert_ne!(fingerprint(&a).media, fingerprint(&b).media);
        assert_eq!(
            identity(None, Some(""), None, "image"),
            identity(Some(""), None, Some(""), "image")
        );
        assert_ne!(
            identity(Some("A"), None, None, "image"),
            identity(Some("A"), None, None, "video")
        );
    }

    #[test]
    fn future_pins_are_scheduled_and_due_ones_created() {
        let mut later = pin("a", "A", "https://x/a.jpg");
        later.publish_at = Some("2026-12-24T09:00:00Z".parse().unwrap());
        let mut past = pin("b", "B", "https://x/b.jpg");
        past.publish_at = Some("2026-11-01T09:00:00Z".parse().unwrap());
        let plan = plan(
            &manifest(vec![later, past]),
            None,
            now(),
            PlanOptions::default(),
        );
        assert_eq!(plan.pins[0].action.name(), "scheduled");
        assert_eq!(plan.pins[1].action.name(), "create");
    }

    #[test]
    fn orphans_are_deleted_only_with_prune() {
        let a = pin("a", "A", "https://x/a.jpg");
        let gone = pin("gone", "G", "https://x/g.jpg");
        let mut state = StateSnapshot::new("o");
        done(&mut state, &a, "1");
        done(&mut state, &gone, "2");
        let m = manifest(vec![a]);
        let kept = plan(&m, Some(&state), now(), PlanOptions::default());
        assert_eq!(kept.orphans.len(), 1);
        assert!(!kept.orphans[0].delete);
        assert!(!kept.needs_api());
        let pruned = plan(
            &m,
            Some(&state),
            now(),
            PlanOptions {
                prune: true,
                ..PlanOptions::default()
            },
        );
        assert!(pruned.orphans[0].delete);
        assert!(pruned.needs_api());
    }

    #[test]
    fn failed_pins_are_retried() {
        let a = pin("a", "A", "https://x/a.jpg");
        let mut state = StateSnapshot::new("o");
        state.apply(&Record::Failed {
            key: "a".to_owned(),
            error: "boom".to_owned(),
            at_ms: 1,
            ends: crate::state::Ends::Latest,
        });
        let plan = plan(
            &manifest(vec![a]),
            Some(&state),
            now(),
            PlanOptions::default(),
        );
        assert_eq!(plan.pins[0].action, Action::Create { reconcile: vec![] });
    }

    #[test]
    fn ai_disclosures_are_text_and_absent_ones_keep_old_fingerprints() {
        use crate::manifest::AiDisclosure;
        let plain = pin("a", "A", "https://x/a.jpg");
        let old_text = digest(&["A", "", "", "", ""]);
        assert_eq!(
            fingerprint(&plain).text,
            old_text,
            "states made before labels"
        );
        let mut labelled = plain.clone();
        labelled.ai_disclosures = vec![AiDisclosure::SyntheticPerformer, AiDisclosure::AiModified];
        assert_ne!(fingerprint(&labelled).text, old_text);
        let mut reordered = plain.clone();
        reordered.ai_disclosures = vec![AiDisclosure::AiModified, AiDisclosure::SyntheticPerformer];
        assert_eq!(fingerprint(&labelled).text, fingerprint(&reordered).text);
        assert_eq!(
            fingerprint(&labelled).identity,
            fingerprint(&plain).identity
        );
        let mut state = StateSnapshot::new("o");
        done(&mut state, &plain, "1");
        let plan = plan(
            &manifest(vec![labelled]),
            Some(&state),
            now(),
            PlanOptions::default(),
        );
        assert_eq!(
            plan.pins[0].action,
            Action::Update {
                pin_id: "1".to_owned(),
                changes: vec!["text"]
            }
        );
    }

    #[test]
    fn digest_separates_parts() {
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
        assert_eq!(digest(&["x"]).len(), 24);
    }
}
