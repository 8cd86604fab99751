//! What one pin's task does with the API: create the pin exactly once, update it, replace it,
//! or delete an orphan. Every request is announced in the state before it is sent.
//!
//! A create whose outcome is unknown (a gateway page, a timeout or a dropped connection after the
//! request went out) is never sent again blindly: the task releases its request slot, waits until
//! the listings have had a settle window to show the pin (listings lag writes), takes a slot again
//! and reads them right before it would re-send. A pin found there is adopted, then brought to
//! today's manifest by the planner's usual rules. When the retries run out, or the listing cannot
//! be read, the outcome is recorded as unknown, never as failed, and the next run looks first.

use std::time::{Duration, SystemTime};

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

/// One create as sent: what, where, when.
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
    /// An attempt recorded by an earlier run. Without a recorded end, its request lived at most
    /// until its timeout (`request_timeout`), and no later than this run began (`run_started_ms`).
    fn earlier(in_flight: &InFlight, request_timeout: Duration, run_started_ms: i64) -> Attempt {
        let timeout_ms = i64::try_from(request_timeout.as_millis()).unwrap_or(i64::MAX);
        let ended = in_flight.ended_ms.unwrap_or_else(|| {
            in_flight
                .started_ms
                .saturating_add(timeout_ms)
                .min(run_started_ms)
        });
        Attempt {
            started_ms: in_flight.started_ms,
            server_started_ms: in_flight.server_started_ms,
            unknown_since_ms: ended,
            board_id: in_flight.board_id.clone(),
            section_id: in_flight.section_id.clone(),
            fingerprint: in_flight.fingerprint.clone(),
        }
    }

    /// What to look for: the text this attempt sent. States written before the sent text was
    /// recorded fall back to today's manifest text.
    fn sought(&self, spec: &PinSpec) -> Sought {
        let identity = if self.fingerprint.identity.is_empty() {
            plan::fingerprint(spec).identity
        } else {
            self.fingerprint.identity.clone()
        };
        Sought {
            identity,
            board_id: self.board_id.clone(),
            section_id: self.section_id.clone(),
            created_from_ms: Sought::created_from(self.started_ms, self.server_started_ms),
        }
    }
}

/// What the listings said about an attempt of unknown outcome.
enum Resolution<'a> {
    /// The pin it made, claimed for this key.
    Found(Box<Pin>),
    /// Not there: the slot that read the listing, kept so that a re-send follows at once.
    Absent(SemaphorePermit<'a>),
}

/// Creates a pin exactly once. `earlier` is an attempt of a previous run whose outcome is
/// unknown: it is resolved before anything is sent.
pub(super) async fn create(
    context: &Context,
    spec: &PinSpec,
    target: &Target,
    earlier: Option<&InFlight>,
) -> TaskOutcome {
    // A video is uploaded and processed first; that holds a request slot only per request.
    let video_media_id = prepare_video(context, spec).await?;
    let mut ready_slot = None;
    if let Some(earlier) = earlier {
        let attempt = Attempt::earlier(earlier, context.request_timeout, context.run_started_ms);
        match resolve(context, spec, &attempt, None).await? {
            Resolution::Found(pin) => return adopt(context, spec, target, &attempt, *pin).await,
            Resolution::Absent(slot) => ready_slot = Some(slot),
        }
    }
    let mut retry = RetryState::new(context.retry);
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
            title: spec.title.clone(),
            description: spec.description.clone(),
            link: spec.link.clone(),
            alt_text: spec.alt_text.clone(),
            dominant_color: spec.dominant_color.clone(),
            ai_disclosures: (!spec.ai_disclosures.is_empty())
                .then(|| ai_disclosures(&spec.ai_disclosures)),
            media_source: media_source(context, spec, video_media_id.as_deref()).await?,
        };
        let err = match context.client.create_pin(body).await {
            Ok(pin) => {
                drop(slot);
                if !context.claim(&pin.id, &spec.key) {
                    return Err(TaskError::Conflict(format!(
                        "Pinterest answered the create of `{}` with pin {}, which the state already records for another pin; check both on Pinterest",
                        spec.key, pin.id
                    )));
                }
                record_done(context, spec, target, &pin.id, false)?;
                return Ok((PinOutcome::Created, Some(pin.id)));
            }
            Err(err) if err.outcome_unknown() => err,
            Err(err) => return Err(TaskError::Api(err)),
        };
        drop(slot);
        let attempt = Attempt {
            unknown_since_ms: now_ms(),
            ..attempt
        };
        let backoff = retry.next_delay(&err, SystemTime::now(), fastrand::f64());
        if let Some(delay) = backoff {
            let wait = delay.max(context.settle);
            context.reporter.on_retry(
                &spec.key,
                wait,
                &format!("{err}; the pin is looked for on its board before it is sent again"),
            );
        }
        match resolve(context, spec, &attempt, backoff).await? {
            Resolution::Found(pin) => return adopt(context, spec, target, &attempt, *pin).await,
            Resolution::Absent(slot) if backoff.is_some() => ready_slot = Some(slot),
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

/// Waits until the listings have settled since the attempt's outcome became unknown (and at
/// least `backoff`), holding no request slot, then reads them in a slot of its own.
async fn resolve<'a>(
    context: &'a Context,
    spec: &PinSpec,
    attempt: &Attempt,
    backoff: Option<Duration>,
) -> Result<Resolution<'a>, TaskError> {
    let settle_ms = i64::try_from(context.settle.as_millis()).unwrap_or(i64::MAX);
    let until_settled = attempt
        .unknown_since_ms
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
    match reconcile::find(context, &spec.key, &attempt.sought(spec)).await {
        Ok(Some(pin)) => Ok(Resolution::Found(Box::new(pin))),
        Ok(None) => Ok(Resolution::Absent(slot)),
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
    record_done(context, spec, &as_sent, &pin.id, true)?;
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
    pin_id: &str,
    adopted: bool,
) -> Result<(), TaskError> {
    context
        .writer
        .record_soon(vec![Record::Done {
            key: spec.key.clone(),
            pin_id: pin_id.to_owned(),
            board_id: target.board_id.clone(),
            section_id: target.section_id.clone(),
            fingerprint: target.fingerprint.clone(),
            adopted,
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
    match context
        .writer
        .record(vec![Record::Unsent {
            key: key.to_owned(),
        }])
        .await
    {
        Ok(()) => TaskError::Stopped,
        Err(err) => TaskError::State(err),
    }
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
        title: spec.title.clone(),
        description: spec.description.clone(),
        link: spec.link.clone(),
        alt_text: spec.alt_text.clone(),
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
    record_done(context, spec, target, &pin.id, false)?;
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
    let (_, new_id) = Box::pin(create(context, spec, target, None)).await?;
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
    fn an_earlier_attempt_settles_from_its_recorded_end_else_its_timeout_or_this_run() {
        let sent = spec("Sent");
        let timeout = Duration::from_secs(30);
        let recorded = Attempt::earlier(&in_flight(&sent, Some(105_000)), timeout, 900_000);
        assert_eq!(recorded.unknown_since_ms, 105_000);
        // Killed mid-request long ago: the request lived at most until its timeout.
        let long_ago = Attempt::earlier(&in_flight(&sent, None), timeout, 900_000);
        assert_eq!(long_ago.unknown_since_ms, 130_000);
        // Killed a moment ago: the request may have lived until this run began.
        let just_now = Attempt::earlier(&in_flight(&sent, None), timeout, 101_000);
        assert_eq!(just_now.unknown_since_ms, 101_000);
    }

    #[test]
    fn the_sought_pin_is_what_was_sent_where_it_was_sent() {
        let sent = spec("Sent");
        let attempt = Attempt::earlier(&in_flight(&sent, None), Duration::ZERO, 0);
        let sought = attempt.sought(&spec("Edited since"));
        assert_eq!(sought.identity, plan::fingerprint(&sent).identity);
        assert_eq!(sought.board_id, "7");
        assert_eq!(sought.section_id.as_deref(), Some("9"));
        assert_eq!(sought.created_from_ms, 400_000 - 2_000);
        // A state written before the sent text was recorded: today's text is all there is.
        let mut old = in_flight(&sent, None);
        old.fingerprint.identity.clear();
        let attempt = Attempt::earlier(&old, Duration::ZERO, 0);
        assert_eq!(
            attempt.sought(&spec("Today")).identity,
            plan::fingerprint(&spec("Today")).identity
        );
    }
}
