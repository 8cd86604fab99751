//! What one pin's task does with the API: create the pin exactly once, update it, replace it,
//! or delete an orphan. Every request is announced in the state before it is sent.
//!
//! A create whose outcome is unknown (a gateway page, a timeout or a dropped connection after the
//! request went out) is never sent again blindly: the task releases its request slot, waits until
//! the listings have had a settle window to show the pin (listings lag writes), takes a slot again
//! and reads them right before it would re-send. A pin found there is adopted, then brought to
//! today's manifest by the planner's usual rules. When the retries run out, or the listing cannot
//! be read, the outcome is recorded as unknown, never as failed, and the next run looks first.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::SemaphorePermit;

use super::media::{media_source, prepare_video};
use super::reconcile::{self, Sought};
use super::{Context, TaskError, TaskOutcome};
use crate::api::retry::RetryState;
use crate::api::types::{AiDisclosures, Pin, PinCreate, PinUpdate};
use crate::apply::progress::PinOutcome;
use crate::epoch::now_ms;
use crate::manifest::{AiDisclosure, PinSpec};
use crate::plan::{self, Action};
use crate::state::{Fingerprint, InFlight, Operation, PinState, PinStatus, Record};

/// Where a pin goes and what it will hold.
pub(super) struct Target {
    /// Resolved board id.
    pub board_id: String,
    /// Resolved section id.
    pub section_id: Option<String>,
    /// The fingerprint of today's manifest pin.
    pub fingerprint: Fingerprint,
}

/// How long a listing read stays fresh enough to send a create on: a re-send whose turn under
/// the rate gate comes later than this after the listing said "absent" reads it again first.
const LISTING_FRESH_FOR: Duration = Duration::from_secs(1);

/// One create as sent: what, where, when.
#[derive(Debug, Clone)]
struct Attempt {
    started_ms: i64,
    server_started_ms: Option<i64>,
    /// Since when (ms since the epoch) its outcome is known to be unknown: the settle window of
    /// the listings starts here.
    unknown_since_ms: i64,
    board_id: String,
    section_id: Option<String>,
    fingerprint: Fingerprint,
}

impl Attempt {
    /// An attempt recorded by an earlier run. Without a recorded end, the process stopped while
    /// its request may still have been on the wire, or about to go out: a create held by the rate
    /// gate may have been sent just before the kill, so its settle window starts when this run
    /// began (`run_started_ms`), the first moment it is surely over.
    fn earlier(in_flight: &InFlight, run_started_ms: i64) -> Attempt {
        Attempt {
            started_ms: in_flight.started_ms,
            server_started_ms: in_flight.server_started_ms,
            unknown_since_ms: in_flight.ended_ms.unwrap_or(run_started_ms),
            board_id: in_flight.board_id.clone(),
            section_id: in_flight.section_id.clone(),
            fingerprint: in_flight.fingerprint.clone(),
        }
    }

    /// What to look for: the text this attempt sent. States written before the sent text was
    /// recorded fall back to today's manifest text; those written before text was normalized
    /// recorded the text as written, which is also looked for as the service keeps it when it is
    /// today's text.
    fn sought(&self, spec: &PinSpec) -> Sought {
        let today = plan::fingerprint(spec).identity;
        let mut identities = Vec::new();
        if self.fingerprint.identity.is_empty() {
            identities.push(today);
        } else {
            identities.push(self.fingerprint.identity.clone());
            let written = plan::written_identity(
                spec.title.as_deref(),
                spec.description.as_deref(),
                spec.link.as_deref(),
                plan::listed_media_type(&spec.media),
            );
            if written == self.fingerprint.identity && today != written {
                identities.push(today);
            }
        }
        Sought {
            identities,
            board_id: self.board_id.clone(),
            section_id: self.section_id.clone(),
            created_from_ms: Sought::created_from(self.started_ms, self.server_started_ms),
        }
    }
}

/// What the listings said about the attempts of unknown outcome.
enum Resolution<'a> {
    /// The pin one of them made, claimed for this key, and that attempt.
    Found(Box<Pin>, Attempt),
    /// Not there: the slot that read the listing, kept so that a re-send follows at once.
    Absent(SemaphorePermit<'a>),
}

/// Creates a pin exactly once. `earlier` are the attempts of previous runs whose outcome is
/// unknown: they are resolved before anything else is done for the pin (a video is not even
/// prepared), and they stay unresolved in the state, whatever happens to later attempts, until
/// a pin is found for them or the key is done.
pub(super) async fn create(
    context: &Context,
    spec: &PinSpec,
    target: &Target,
    earlier: &[InFlight],
) -> TaskOutcome {
    let mut unresolved: Vec<Attempt> = earlier
        .iter()
        .map(|in_flight| Attempt::earlier(in_flight, context.run_started_ms))
        .collect();
    let mut ready_slot = None;
    if !unresolved.is_empty() {
        match resolve(context, spec, &unresolved, None).await? {
            Resolution::Found(pin, attempt) => {
                return adopt(context, spec, target, &attempt, *pin).await;
            }
            Resolution::Absent(slot) => ready_slot = Some(slot),
        }
    }
    // A video is uploaded and processed now; that holds a request slot only per request.
    let video_media_id = match ready_slot.take() {
        Some(slot) if matches!(spec.media, crate::manifest::Media::Video(_)) => {
            drop(slot);
            prepare_video(context, spec).await?
        }
        Some(slot) => {
            ready_slot = Some(slot);
            None
        }
        None => prepare_video(context, spec).await?,
    };
    let mut retry = RetryState::new(context.retry);
    let listing_read = Mutex::new(Instant::now());
    loop {
        // Announced before taking a request slot, so that the disk wait overlaps other pins'
        // requests instead of idling a slot (unless a listing read just took one).
        let attempt = record_attempt(context, &spec.key, Operation::Create, target).await?;
        let slot = match ready_slot.take() {
            Some(slot) if !context.stop.stopped() => slot,
            Some(_) => return Err(unsent(context, &spec.key).await),
            None => match context.slot_for(spec).await {
                Ok(slot) => slot,
                Err(_) => return Err(unsent(context, &spec.key).await),
            },
        };
        // Media is read only now, inside the slot: at most N pins' media are in memory.
        let body = PinCreate {
            board_id: target.board_id.clone(),
            board_section_id: target.section_id.clone(),
            title: plan::sent_text(spec.title.as_deref()),
            description: plan::sent_text(spec.description.as_deref()),
            link: plan::sent_text(spec.link.as_deref()),
            alt_text: plan::sent_text(spec.alt_text.as_deref()),
            dominant_color: spec.dominant_color.clone(),
            ai_disclosures: (!spec.ai_disclosures.is_empty())
                .then(|| ai_disclosures(&spec.ai_disclosures)),
            media_source: media_source(context, spec, video_media_id.as_deref()).await?,
        };
        let sent = if unresolved.is_empty() {
            context.client.create_pin(body).await
        } else {
            let recheck = Recheck {
                context,
                spec,
                unresolved: &unresolved,
                listing_read: &listing_read,
                outcome: Mutex::new(None),
            };
            let sent = context
                .client
                .create_pin_checked(body, &|| Box::pin(recheck.run()))
                .await;
            match recheck.outcome.into_inner().unwrap_or(None) {
                Some(Rechecked::Found(pin, earlier)) => {
                    drop(slot);
                    // The announced attempt was never sent.
                    unsent_quietly(context, &spec.key).await?;
                    return adopt(context, spec, target, &earlier, *pin).await;
                }
                Some(Rechecked::Unreadable(err)) => {
                    drop(slot);
                    unsent_quietly(context, &spec.key).await?;
                    return Err(TaskError::Unknown {
                        auth: err.is_auth(),
                        message: format!(
                            "an earlier create may have made the pin, and the board could not be checked again before the re-send: {err}"
                        ),
                    });
                }
                None => sent,
            }
        };
        let err = match sent {
            Ok(pin) => {
                drop(slot);
                return created(context, spec, target, &pin);
            }
            Err(err) if err.outcome_unknown() => err,
            Err(err) => return Err(TaskError::Api(err)),
        };
        drop(slot);
        unresolved.push(Attempt {
            unknown_since_ms: now_ms(),
            ..attempt
        });
        let backoff = retry.next_delay(&err, SystemTime::now(), fastrand::f64());
        if let Some(delay) = backoff {
            let wait = delay.max(context.settle);
            context.reporter.on_retry(
                &spec.key,
                wait,
                &format!("{err}; the pin is looked for on its board before it is sent again"),
            );
        }
        match resolve(context, spec, &unresolved, backoff).await? {
            Resolution::Found(pin, attempt) => {
                return adopt(context, spec, target, &attempt, *pin).await;
            }
            Resolution::Absent(slot) if backoff.is_some() => {
                ready_slot = Some(slot);
                *listing_read.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            }
            Resolution::Absent(_) => {
                return Err(TaskError::Unknown {
                    message: format!(
                        "{err}; the pin was not on its board after the settle window, but the listing may lag: the next run looks for it again before creating it"
                    ),
                    auth: false,
                });
            }
        }
    }
}

/// Records a pin Pinterest answered a create with. A pin the state records for another key
/// already is recorded for this one too, never forgotten, and reported.
fn created(context: &Context, spec: &PinSpec, target: &Target, pin: &Pin) -> TaskOutcome {
    let pin_id = &pin.id;
    match context.claim_or_owner(pin_id, &spec.key) {
        None => {
            record_done(context, spec, target, pin, false)?;
            Ok((PinOutcome::Created, Some(pin_id.to_owned())))
        }
        Some(owner) => {
            context
                .writer
                .record_soon(vec![Record::Done {
                    key: spec.key.clone(),
                    pin_id: pin_id.to_owned(),
                    created_ms: pin.created_ms(),
                    board_id: target.board_id.clone(),
                    section_id: target.section_id.clone(),
                    fingerprint: target.fingerprint.clone(),
                    adopted: false,
                    shared_with: Some(owner.clone()),
                    at_ms: now_ms(),
                }])
                .map_err(TaskError::State)?;
            Err(TaskError::Conflict(format!(
                "Pinterest answered the create of `{}` with pin {pin_id}, which the state records for `{owner}` too; both keep it, so neither is created again: check on Pinterest which pin is whose",
                spec.key
            )))
        }
    }
}

/// What the check right before a re-send found, when it stopped the send.
enum Rechecked {
    /// The pin of an earlier attempt, and that attempt.
    Found(Box<Pin>, Attempt),
    /// The listing could not be read.
    Unreadable(crate::api::ApiError),
}

/// The check run right before a re-send (see [`crate::api::ApiClient::create_pin_checked`]):
/// when the listing was read longer ago than [`LISTING_FRESH_FOR`] (the rate gate or a 429
/// held the request), it is read again, and a pin found there stops the send.
struct Recheck<'a> {
    context: &'a Context,
    spec: &'a PinSpec,
    unresolved: &'a [Attempt],
    listing_read: &'a Mutex<Instant>,
    outcome: Mutex<Option<Rechecked>>,
}

impl Recheck<'_> {
    async fn run(&self) -> Result<(), crate::api::ApiError> {
        let read_at = *self.listing_read.lock().unwrap_or_else(|e| e.into_inner());
        if read_at.elapsed() < LISTING_FRESH_FOR {
            return Ok(());
        }
        let sought: Vec<Sought> = self
            .unresolved
            .iter()
            .map(|attempt| attempt.sought(self.spec))
            .collect();
        let stop = |found: Rechecked| {
            *self.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(found);
            crate::api::ApiError::new(crate::api::error::ApiErrorKind::Request, "POST", "/v5/pins")
                .with_message("not sent: the board was checked again first")
        };
        match reconcile::find(self.context, &self.spec.key, &sought).await {
            Ok(Some(pin)) => {
                let attempt = matching_attempt(self.unresolved, self.spec, &pin);
                Err(stop(Rechecked::Found(Box::new(pin), attempt)))
            }
            Ok(None) => {
                *self.listing_read.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
                Ok(())
            }
            // The run stopped: the create is not sent, and the caller takes it back.
            Err(err) if err.is_stopped() => Err(err),
            Err(err) => Err(stop(Rechecked::Unreadable(err))),
        }
    }
}

/// The attempt whose pin `pin` is (the latest that matches; the latest if none says so).
fn matching_attempt(attempts: &[Attempt], spec: &PinSpec, pin: &Pin) -> Attempt {
    attempts
        .iter()
        .rev()
        .find(|attempt| attempt.sought(spec).matches(pin))
        .or(attempts.last())
        .cloned()
        .expect("only attempts that exist are resolved")
}

/// Waits until the listings have settled since the latest attempt's outcome became unknown (and
/// at least `backoff`), holding no request slot, then reads them in a slot of its own, looking
/// for the pin of any of the attempts.
async fn resolve<'a>(
    context: &'a Context,
    spec: &PinSpec,
    attempts: &[Attempt],
    backoff: Option<Duration>,
) -> Result<Resolution<'a>, TaskError> {
    let settle_ms = i64::try_from(context.settle.as_millis()).unwrap_or(i64::MAX);
    let unknown_since_ms = attempts
        .iter()
        .map(|attempt| attempt.unknown_since_ms)
        .max()
        .unwrap_or(0);
    let until_settled = unknown_since_ms
        .saturating_add(settle_ms)
        .saturating_sub(now_ms());
    let wait = Duration::from_millis(u64::try_from(until_settled).unwrap_or(0))
        .max(backoff.unwrap_or_default());
    let stopped = || {
        TaskError::Unknown {
        message: "the run stopped before the pin could be looked for on its board: the next run looks for it before creating it".to_owned(),
        auth: false,
    }
    };
    if !context.rest(wait).await {
        return Err(stopped());
    }
    let slot = context.slot().await.map_err(|_| stopped())?;
    let sought: Vec<Sought> = attempts
        .iter()
        .map(|attempt| attempt.sought(spec))
        .collect();
    match reconcile::find(context, &spec.key, &sought).await {
        Ok(Some(pin)) => {
            let attempt = matching_attempt(attempts, spec, &pin);
            Ok(Resolution::Found(Box::new(pin), attempt))
        }
        Ok(None) => Ok(Resolution::Absent(slot)),
        Err(err) if err.is_stopped() => Err(stopped()),
        Err(err) => Err(TaskError::Unknown {
            auth: err.is_auth(),
            message: format!(
                "the create may have made the pin, and the board could not be checked: {err}"
            ),
        }),
    }
}

/// Records a pin found after an attempt of unknown outcome, with what that attempt sent and
/// where, then brings it to today's manifest as the planner would any recorded pin: a PATCH
/// when its text or board changed since, a replace (with `--replace`) when its media did.
async fn adopt(
    context: &Context,
    spec: &PinSpec,
    target: &Target,
    attempt: &Attempt,
    pin: Pin,
) -> TaskOutcome {
    let adopted = PinState {
        status: PinStatus::Done,
        pin_id: Some(pin.id.clone()),
        board_id: Some(attempt.board_id.clone()),
        section_id: pin
            .board_section_id
            .clone()
            .or_else(|| attempt.section_id.clone()),
        fingerprint: Some(attempt.fingerprint.clone()),
        adopted: true,
        ..PinState::new()
    };
    let as_sent = Target {
        board_id: attempt.board_id.clone(),
        section_id: adopted.section_id.clone(),
        fingerprint: attempt.fingerprint.clone(),
    };
    record_done(context, spec, &as_sent, &pin, true)?;
    let next = plan::plan_pin(
        spec,
        &target.fingerprint,
        Some(&adopted),
        jiff::Timestamp::now(),
        context.plan_options,
    );
    match next {
        Action::Update { pin_id, .. } => update(context, spec, target, &pin_id).await,
        Action::Replace { pin_id } => replace(context, spec, target, &pin_id).await,
        Action::NeedsReplace { pin_id } => Ok((PinOutcome::NeedsReplace, Some(pin_id))),
        Action::Unchanged { .. }
        | Action::Create { .. }
        | Action::Scheduled { .. }
        | Action::Blocked { .. }
        | Action::Held { .. } => Ok((PinOutcome::Adopted, Some(pin.id))),
    }
}

/// Queues the outcome without waiting for its fsync: it lands in the log before any later
/// record, and a crash before it is durable only leaves the attempt in flight, which the next
/// run reconciles by finding this pin. Waiting would add an fsync to every pin.
fn record_done(
    context: &Context,
    spec: &PinSpec,
    target: &Target,
    pin: &Pin,
    adopted: bool,
) -> Result<(), TaskError> {
    context
        .writer
        .record_soon(vec![Record::Done {
            key: spec.key.clone(),
            pin_id: pin.id.clone(),
            created_ms: pin.created_ms(),
            board_id: target.board_id.clone(),
            section_id: target.section_id.clone(),
            fingerprint: target.fingerprint.clone(),
            adopted,
            shared_with: None,
            at_ms: now_ms(),
        }])
        .map_err(TaskError::State)
}

/// Writes (and fsyncs) the announcement of an attempt before it is made.
async fn record_attempt(
    context: &Context,
    key: &str,
    op: Operation,
    target: &Target,
) -> Result<Attempt, TaskError> {
    let started_ms = now_ms();
    let server_started_ms = context
        .client
        .server_clock()
        .map(|offset| started_ms.saturating_add(offset.low));
    context
        .writer
        .record(vec![Record::Attempt {
            key: key.to_owned(),
            op,
            started_ms,
            server_started_ms,
            fingerprint: target.fingerprint.clone(),
            board_id: target.board_id.clone(),
            section_id: target.section_id.clone(),
        }])
        .await
        .map_err(TaskError::State)?;
    Ok(Attempt {
        started_ms,
        server_started_ms,
        unknown_since_ms: started_ms,
        board_id: target.board_id.clone(),
        section_id: target.section_id.clone(),
        fingerprint: target.fingerprint.clone(),
    })
}

/// The wire form of a pin's AI disclosure labels.
fn ai_disclosures(labels: &[AiDisclosure]) -> AiDisclosures {
    AiDisclosures {
        values: labels.iter().map(|l| l.as_str().to_owned()).collect(),
    }
}

/// Takes back an announced attempt that the run stopped before sending, and says so.
async fn unsent(context: &Context, key: &str) -> TaskError {
    match unsent_quietly(context, key).await {
        Ok(()) => TaskError::Stopped,
        Err(err) => err,
    }
}

/// Takes back the attempt `key` announced in this run: it was never sent. Earlier attempts
/// whose outcome is unknown stay so.
async fn unsent_quietly(context: &Context, key: &str) -> Result<(), TaskError> {
    context
        .writer
        .record(vec![Record::Unsent {
            key: key.to_owned(),
            ends: context.writer.open_attempt(key),
        }])
        .await
        .map_err(TaskError::State)
}

/// `PATCH`es a pin's text and placement to today's manifest.
pub(super) async fn update(
    context: &Context,
    spec: &PinSpec,
    target: &Target,
    pin_id: &str,
) -> TaskOutcome {
    record_attempt(context, &spec.key, Operation::Update, target).await?;
    let Ok(slot) = context.slot().await else {
        return Err(unsent(context, &spec.key).await);
    };
    let body = PinUpdate {
        title: plan::sent_text(spec.title.as_deref()),
        description: plan::sent_text(spec.description.as_deref()),
        link: plan::sent_text(spec.link.as_deref()),
        alt_text: plan::sent_text(spec.alt_text.as_deref()),
        board_id: Some(target.board_id.clone()),
        board_section_id: target.section_id.clone(),
        // Always sent: the pin takes the manifest's labels, and an empty list clears old ones.
        ai_disclosures: Some(ai_disclosures(&spec.ai_disclosures)),
    };
    let pin = context
        .client
        .update_pin(pin_id, &body)
        .await
        .map_err(TaskError::Api)?;
    drop(slot);
    record_done(context, spec, target, &pin, false)?;
    Ok((PinOutcome::Updated, Some(pin.id)))
}

/// Deletes a pin whose media changed, then creates it anew.
pub(super) async fn replace(
    context: &Context,
    spec: &PinSpec,
    target: &Target,
    pin_id: &str,
) -> TaskOutcome {
    record_attempt(context, &spec.key, Operation::Replace, target).await?;
    delete_remote(context, &spec.key, pin_id).await?;
    let (_, new_id) = Box::pin(create(context, spec, target, &[])).await?;
    Ok((PinOutcome::Replaced, new_id))
}

/// Deletes a pin that is no longer in the manifest (`--prune`).
pub(super) async fn delete_orphan(context: &Context, key: &str, pin_id: &str) -> TaskOutcome {
    let nothing = Target {
        board_id: String::new(),
        section_id: None,
        fingerprint: Fingerprint {
            text: String::new(),
            placement: String::new(),
            media: String::new(),
            identity: String::new(),
        },
    };
    record_attempt(context, key, Operation::Delete, &nothing).await?;
    delete_remote(context, key, pin_id).await?;
    Ok((PinOutcome::Deleted, None))
}

/// Deletes a pin (one already gone counts as deleted) and records that it is gone.
async fn delete_remote(context: &Context, key: &str, pin_id: &str) -> Result<(), TaskError> {
    let Ok(slot) = context.slot().await else {
        return Err(unsent(context, key).await);
    };
    match context.client.delete_pin(pin_id).await {
        Ok(()) => {}
        Err(err) if err.status() == Some(404) => {}
        Err(err) => return Err(TaskError::Api(err)),
    }
    drop(slot);
    context
        .writer
        .record(vec![Record::Deleted {
            key: key.to_owned(),
            at_ms: now_ms(),
        }])
        .await
        .map_err(TaskError::State)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::manifest::{ImageSource, Media};

    fn spec(title: &str) -> PinSpec {
        let media = Media::Image(ImageSource::Url("https://x/a.jpg".to_owned()));
        PinSpec {
            title: Some(title.to_owned()),
            ..PinSpec::sample("a", "Board", media)
        }
    }

    fn in_flight(sent: &PinSpec, ended_ms: Option<i64>) -> InFlight {
        InFlight {
            op: Operation::Create,
            started_ms: 100_000,
            server_started_ms: Some(400_000),
            ended_ms,
            fingerprint: plan::fingerprint(sent),
            board_id: "7".to_owned(),
            section_id: Some("9".to_owned()),
        }
    }

    #[test]
    fn an_earlier_attempt_settles_from_its_recorded_end_else_from_this_run() {
        let sent = spec("Sent");
        let recorded = Attempt::earlier(&in_flight(&sent, Some(105_000)), 900_000);
        assert_eq!(recorded.unknown_since_ms, 105_000);
        // Killed with no end recorded: the request may have gone out (after a long wait for the
        // rate gate, say) just before the kill, so it settles from this run's start.
        let killed = Attempt::earlier(&in_flight(&sent, None), 900_000);
        assert_eq!(killed.unknown_since_ms, 900_000);
    }

    #[test]
    fn the_sought_pin_is_what_was_sent_where_it_was_sent() {
        let sent = spec("Sent");
        let attempt = Attempt::earlier(&in_flight(&sent, None), 0);
        let sought = attempt.sought(&spec("Edited since"));
        assert_eq!(sought.identities, vec![plan::fingerprint(&sent).identity]);
        assert_eq!(sought.board_id, "7");
        assert_eq!(sought.section_id.as_deref(), Some("9"));
        assert_eq!(sought.created_from_ms, 400_000 - 2_000);
        // A state written before the sent text was recorded: today's text is all there is.
        let mut old = in_flight(&sent, None);
        old.fingerprint.identity.clear();
        let attempt = Attempt::earlier(&old, 0);
        assert_eq!(
            attempt.sought(&spec("Today")).identities,
            vec![plan::fingerprint(&spec("Today")).identity]
        );
    }

    #[test]
    fn an_identity_recorded_before_text_was_normalized_is_also_sought_normalized() {
        // The state recorded the digest of the text as written, with a stray space.
        let written = spec("Cat ");
        let mut old = in_flight(&written, None);
        old.fingerprint.identity = plan::written_identity(
            Some("Cat "),
            None,
            None,
            plan::listed_media_type(&written.media),
        );
        let sought = Attempt::earlier(&old, 0).sought(&written);
        assert_eq!(
            sought.identities,
            vec![
                old.fingerprint.identity.clone(),
                plan::fingerprint(&spec("Cat")).identity
            ]
        );
        // Text with nothing to normalize has one identity, as before.
        let plain = spec("Cat");
        let sought = Attempt::earlier(&in_flight(&plain, None), 0).sought(&plain);
        assert_eq!(sought.identities.len(), 1);
    }
}
