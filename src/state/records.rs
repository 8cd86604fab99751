//! The lines of a state file and what each means for one pin: the [`Header`], the [`Record`]s
//! appended after it, and [`PinState`], a key's state replayed from them.

use serde::{Deserialize, Serialize};

/// The first line of a state file: what history and which account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `"header"`; lets a reader recognise the file.
    #[serde(rename = "type")]
    pub kind: HeaderTag,
    /// [`super::STATE_FORMAT_VERSION`] of the writer.
    pub version: u32,
    /// A random id fixed when the file was first created; survives compaction.
    pub lineage: String,
    /// The API origin the pins were created on (for example `https://api.pinterest.com`).
    pub origin: String,
    /// The account (user id) the pins belong to, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The account's username, for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// When the file was first created, in milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// The tag of the header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderTag {
    /// The only value.
    Header,
}

/// A content fingerprint of a pin, split so the planner can tell what changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Title, description, link, alt text, dominant colour.
    pub text: String,
    /// Board and section.
    pub placement: String,
    /// Media references (and local file sizes).
    pub media: String,
    /// What a board listing shows of the pin and reconciliation matches on: title, description,
    /// link and media kind. Empty in states written before it was recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity: String,
}

/// What an attempt was trying to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `POST /v5/pins`.
    Create,
    /// `PATCH /v5/pins/{id}`.
    Update,
    /// Delete the old pin, then create the new one.
    Replace,
    /// `DELETE /v5/pins/{id}` of an orphan.
    Delete,
}

/// One line of the log after the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// The account the state belongs to became known.
    Account {
        /// User id.
        account: String,
        /// Username.
        username: String,
    },
    /// About to send a request whose effect must not be repeated blindly.
    Attempt {
        /// Pin key.
        key: String,
        /// What is being tried.
        op: Operation,
        /// When the attempt began, by this machine's clock (ms since epoch).
        started_ms: i64,
        /// The earliest the server's clock can have read when the attempt began, estimated from
        /// its `Date` headers (ms since epoch): a pin found later on the board and created no
        /// earlier than this may be the result of this attempt. `None` when no estimate existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server_started_ms: Option<i64>,
        /// The content being sent.
        fingerprint: Fingerprint,
        /// Resolved board id.
        board_id: String,
        /// Resolved section id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        section_id: Option<String>,
    },
    /// A video upload was registered; the media id is kept so it is not uploaded twice.
    Media {
        /// Pin key.
        key: String,
        /// The media id from `POST /v5/media`.
        media_id: String,
        /// The upload finished (the file was sent).
        uploaded: bool,
    },
    /// The pin exists with this content (created, adopted after an unknown outcome, or updated).
    Done {
        /// Pin key.
        key: String,
        /// Pinterest's pin id.
        pin_id: String,
        /// When Pinterest says the pin was created (ms since epoch), when the answer said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created_ms: Option<i64>,
        /// The board it is on.
        board_id: String,
        /// The section it is in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        section_id: Option<String>,
        /// The content it has.
        fingerprint: Fingerprint,
        /// Found on the board after an attempt of unknown outcome rather than confirmed by a response.
        #[serde(default, skip_serializing_if = "is_false")]
        adopted: bool,
        /// The other key the state records this pin for too: Pinterest answered this key's
        /// create with a pin already recorded for that one. Both keep it, so that neither is
        /// ever created again, until someone looks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shared_with: Option<String>,
        /// When (ms since epoch).
        at_ms: i64,
    },
    /// A create was sent but whether it created the pin is still unknown (its retries ran out,
    /// the listing could not be read, or the run stopped while it settled). The attempt stays
    /// in flight: the next run looks for the pin before anything else for this key.
    Unknown {
        /// Pin key.
        key: String,
        /// The last error, as shown to the user.
        error: String,
        /// When the outcome was last known to be unknown (ms since epoch): the settle window of
        /// the next look at the listing starts here.
        at_ms: i64,
    },
    /// The announced attempt had no effect: the run stopped while it waited for a request slot,
    /// or the server refused it because the account's quota was used up. It is no longer in
    /// flight; earlier attempts whose outcome is unknown stay so.
    Unsent {
        /// Pin key.
        key: String,
        /// Which attempt had no effect (see [`Ends`]).
        #[serde(default, skip_serializing_if = "Ends::is_latest", with = "ends_format")]
        ends: Ends,
    },
    /// Everything the state knows about one key at once: what compaction writes.
    Pin {
        /// Pin key.
        key: String,
        /// The whole state of the key.
        state: Box<PinState>,
    },
    /// The attempt failed for sure (the server answered with an error, or it could not be
    /// sent): nothing was created by it. Earlier attempts whose outcome is unknown stay so.
    Failed {
        /// Pin key.
        key: String,
        /// The error, as shown to the user (never containing a token).
        error: String,
        /// When (ms since epoch).
        at_ms: i64,
        /// Which attempt failed (see [`Ends`]).
        #[serde(default, skip_serializing_if = "Ends::is_latest", with = "ends_format")]
        ends: Ends,
    },
    /// The pin was deleted (an orphan pruned, or the old pin of a replace).
    Deleted {
        /// Pin key.
        key: String,
        /// When (ms since epoch).
        at_ms: i64,
    },
    /// Pinterest refused the pin's link as spam (code 9): nothing was created, and the pin is
    /// not sent again (nor others of its link's domain) until `--retry-blocked`.
    Blocked {
        /// Pin key.
        key: String,
        /// The link that was refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        link: Option<String>,
        /// Pinterest's message.
        error: String,
        /// When (ms since epoch).
        at_ms: i64,
    },
    /// Pinterest refused the account's writes (a spam block, or rate limits that did not lift):
    /// no run writes before `until_ms` unless forced.
    Hold {
        /// When writing may start again (ms since epoch).
        until_ms: i64,
        /// What Pinterest said.
        reason: String,
        /// When the refusal came (ms since epoch).
        at_ms: i64,
    },
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// Which announced attempt a `failed` or `unsent` record ends. A failure can come before
/// anything was announced in its run (a video that cannot be prepared, say), and then it must
/// not end an earlier attempt whose outcome is still unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ends {
    /// The latest attempt of the key: what records written before this field existed mean
    /// (the field is absent from them).
    #[default]
    Latest,
    /// The attempt that began at this instant (ms since the epoch, its `started_ms`).
    Attempt(i64),
    /// No attempt: the failure came before anything was announced (`"ends": null`).
    Nothing,
}

impl Ends {
    fn is_latest(&self) -> bool {
        *self == Ends::Latest
    }
}

/// `ends` on the wire: absent for [`Ends::Latest`], `null` for [`Ends::Nothing`], the attempt's
/// start otherwise.
mod ends_format {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Ends;

    pub(super) fn serialize<S: Serializer>(ends: &Ends, serializer: S) -> Result<S::Ok, S::Error> {
        match ends {
            Ends::Attempt(started_ms) => serializer.serialize_i64(*started_ms),
            Ends::Latest | Ends::Nothing => serializer.serialize_none(),
        }
    }

    /// Called only when the field is present (absent is `Ends::Latest`, its default).
    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Ends, D::Error> {
        Ok(match Option::<i64>::deserialize(deserializer)? {
            Some(started_ms) => Ends::Attempt(started_ms),
            None => Ends::Nothing,
        })
    }
}

impl Record {
    pub(super) fn key(&self) -> Option<&str> {
        match self {
            Record::Account { .. } | Record::Hold { .. } => None,
            Record::Attempt { key, .. }
            | Record::Media { key, .. }
            | Record::Done { key, .. }
            | Record::Unknown { key, .. }
            | Record::Unsent { key, .. }
            | Record::Pin { key, .. }
            | Record::Failed { key, .. }
            | Record::Deleted { key, .. }
            | Record::Blocked { key, .. } => Some(key),
        }
    }
}

/// A refusal of the account's writes that later runs wait out (the last [`Record::Hold`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountHold {
    /// When writing may start again (ms since epoch).
    pub until_ms: i64,
    /// What Pinterest said.
    pub reason: String,
    /// When the refusal came (ms since epoch).
    pub at_ms: i64,
}

/// Where a pin stands according to the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PinStatus {
    /// Never attempted, or only failed attempts before anything existed.
    Pending,
    /// Exists on Pinterest with the recorded fingerprint.
    Done,
    /// The last attempt failed; nothing from it exists.
    Failed,
    /// Was deleted.
    Deleted,
    /// Pinterest refused its link as spam; not sent again until `--retry-blocked`.
    Blocked,
}

/// An attempt whose outcome was never recorded: the process stopped (or lost the connection)
/// after it announced the request. The pin may or may not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// What was tried.
    pub op: Operation,
    /// When it began, by this machine's clock (ms since epoch).
    pub started_ms: i64,
    /// The earliest server time at which it began, when the server's clock was estimated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_started_ms: Option<i64>,
    /// When its outcome was last found unknown (ms since epoch); `None` when the process
    /// stopped before it learnt anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_ms: Option<i64>,
    /// The content that was being sent.
    pub fingerprint: Fingerprint,
    /// Board id it was sent to.
    pub board_id: String,
    /// Section id it was sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_id: Option<String>,
}

/// Everything the state knows about one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinState {
    /// Current status.
    pub status: PinStatus,
    /// Pinterest's pin id, while the pin exists.
    pub pin_id: Option<String>,
    /// Board id of the existing pin.
    pub board_id: Option<String>,
    /// Section id of the existing pin.
    pub section_id: Option<String>,
    /// Registered video media id, if any.
    pub media_id: Option<String>,
    /// Whether that media's file was uploaded.
    pub media_uploaded: bool,
    /// The content of the existing pin.
    pub fingerprint: Option<Fingerprint>,
    /// Attempts made so far, over all runs.
    pub attempts: u32,
    /// The last error, when the last attempt failed or its outcome is unknown.
    pub last_error: Option<String>,
    /// The latest attempt whose outcome is unknown, to reconcile before anything else.
    pub in_flight: Option<InFlight>,
    /// Earlier attempts whose outcome is unknown too, oldest first (beneath `in_flight`): an
    /// attempt stays until a pin is found for the key or the key is done, whatever later
    /// attempts come to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_in_flight: Vec<InFlight>,
    /// Whether the pin was found on its board after an attempt of unknown outcome (adopted)
    /// rather than confirmed by a response.
    #[serde(default)]
    pub adopted: bool,
    /// Another key whose recorded pin Pinterest answered this key's create with (see
    /// [`Record::Done`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_with: Option<String>,
    /// When the existing pin was published (ms since epoch): Pinterest's creation time when
    /// known, else when it was first recorded (created or adopted); reports show it and a
    /// schedule's pace counts it. `None` in states written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_ms: Option<i64>,
    /// Last change (ms since epoch).
    pub updated_ms: i64,
    /// The link Pinterest refused as spam, while it is held back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_link: Option<String>,
}

impl PinState {
    /// The state of a key never recorded.
    pub fn new() -> PinState {
        PinState {
            status: PinStatus::Pending,
            pin_id: None,
            board_id: None,
            section_id: None,
            media_id: None,
            media_uploaded: false,
            fingerprint: None,
            attempts: 0,
            last_error: None,
            in_flight: None,
            earlier_in_flight: Vec::new(),
            adopted: false,
            shared_with: None,
            published_ms: None,
            updated_ms: 0,
            blocked_link: None,
        }
    }

    /// When the existing pin was published, as far as the state knows (older states recorded
    /// only the time of the last change).
    pub fn published_at_ms(&self) -> Option<i64> {
        (self.status == PinStatus::Done).then(|| self.published_ms.unwrap_or(self.updated_ms))
    }

    /// Whether the outcome of an attempt is unknown: the pin may or may not exist.
    pub fn is_unknown(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Every attempt whose outcome is unknown, oldest first.
    pub fn unresolved(&self) -> impl Iterator<Item = &InFlight> {
        self.earlier_in_flight.iter().chain(&self.in_flight)
    }

    /// Takes an attempt out of flight: it had no effect. The one before it, if any, is the
    /// latest again. Returns whether one was taken out.
    fn end_attempt(&mut self, ends: Ends) -> bool {
        let ended = match ends {
            Ends::Nothing => return false,
            Ends::Latest => self.in_flight.take().is_some(),
            Ends::Attempt(started_ms) => {
                if self
                    .in_flight
                    .as_ref()
                    .is_some_and(|latest| latest.started_ms == started_ms)
                {
                    self.in_flight = None;
                    true
                } else {
                    let before = self.earlier_in_flight.len();
                    self.earlier_in_flight
                        .retain(|earlier| earlier.started_ms != started_ms);
                    self.earlier_in_flight.len() != before
                }
            }
        };
        if self.in_flight.is_none() {
            self.in_flight = self.earlier_in_flight.pop();
        }
        ended
    }

    /// Forgets every attempt: the key is done, deleted, or its pin was found.
    fn clear_in_flight(&mut self) {
        self.in_flight = None;
        self.earlier_in_flight.clear();
    }

    pub(super) fn apply(&mut self, record: &Record) {
        match record {
            Record::Account { .. } | Record::Hold { .. } => {}
            Record::Attempt {
                op,
                started_ms,
                server_started_ms,
                fingerprint,
                board_id,
                section_id,
                ..
            } => {
                self.attempts += 1;
                // An earlier attempt whose outcome is unknown stays unknown: a later one (sent
                // after a listing read found nothing) settles nothing about it.
                if let Some(earlier) = self.in_flight.take() {
                    self.earlier_in_flight.push(earlier);
                }
                self.in_flight = Some(InFlight {
                    op: *op,
                    started_ms: *started_ms,
                    server_started_ms: *server_started_ms,
                    ended_ms: None,
                    fingerprint: fingerprint.clone(),
                    board_id: board_id.clone(),
                    section_id: section_id.clone(),
                });
                self.updated_ms = *started_ms;
            }
            Record::Media {
                media_id, uploaded, ..
            } => {
                self.media_id = Some(media_id.clone());
                self.media_uploaded = *uploaded;
            }
            Record::Done {
                pin_id,
                created_ms,
                board_id,
                section_id,
                fingerprint,
                adopted,
                shared_with,
                at_ms,
                ..
            } => {
                // A new pin is published now (or when Pinterest says); an update keeps the time.
                if self.pin_id.as_ref() != Some(pin_id) || self.published_ms.is_none() {
                    self.published_ms = created_ms.or(Some(*at_ms));
                }
                self.status = PinStatus::Done;
                self.shared_with = shared_with.clone();
                self.blocked_link = None;
                self.pin_id = Some(pin_id.clone());
                self.board_id = Some(board_id.clone());
                self.section_id = section_id.clone();
                self.fingerprint = Some(fingerprint.clone());
                self.last_error = None;
                self.clear_in_flight();
                self.adopted = *adopted;
                self.updated_ms = *at_ms;
            }
            Record::Unknown { error, at_ms, .. } => {
                self.last_error = Some(error.clone());
                if let Some(in_flight) = &mut self.in_flight {
                    in_flight.ended_ms = Some(*at_ms);
                }
                self.updated_ms = *at_ms;
            }
            Record::Unsent { ends, .. } => {
                if self.end_attempt(*ends) {
                    self.attempts = self.attempts.saturating_sub(1);
                }
            }
            Record::Pin { state, .. } => *self = (**state).clone(),
            Record::Failed {
                error, at_ms, ends, ..
            } => {
                // A failed update or replace leaves the old pin as it was.
                if self.status != PinStatus::Done {
                    self.status = PinStatus::Failed;
                }
                self.last_error = Some(error.clone());
                self.end_attempt(*ends);
                self.updated_ms = *at_ms;
            }
            Record::Blocked {
                link, error, at_ms, ..
            } => {
                // A refused update leaves the old pin as it was.
                if self.status != PinStatus::Done {
                    self.status = PinStatus::Blocked;
                }
                self.blocked_link = link.clone();
                self.last_error = Some(error.clone());
                // Refused for sure: that create made nothing (earlier ones may have).
                self.end_attempt(Ends::Latest);
                self.updated_ms = *at_ms;
            }
            Record::Deleted { at_ms, .. } => {
                self.status = PinStatus::Deleted;
                self.pin_id = None;
                self.fingerprint = None;
                self.media_id = None;
                self.media_uploaded = false;
                self.clear_in_flight();
                self.adopted = false;
                self.shared_with = None;
                self.published_ms = None;
                self.updated_ms = *at_ms;
            }
        }
    }
}

impl Default for PinState {
    fn default() -> Self {
        PinState::new()
    }
}
