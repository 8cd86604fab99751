//! The single writer of the state file during a run: a thread that appends the records the
//! pin tasks send it, one fsync per batch of whatever is queued (group commit), and a small
//! view of the state (attempt counts, video media, the attempts open in this run) that the
//! tasks may read meanwhile.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::state::{Ends, Record, StateError, StateFile};

/// The single writer of the state: records are sent to a thread that appends them, one fsync per
/// batch of whatever is queued (group commit), and acknowledges each once it is durable.
#[derive(Clone)]
pub(super) struct StateWriter {
    sender: mpsc::UnboundedSender<WriteRequest>,
    pub(super) view: Arc<Mutex<StateView>>,
    /// The state file, for messages.
    path: Arc<std::path::Path>,
}

/// What tasks may read from the state while the writer owns it.
#[derive(Default)]
pub(super) struct StateView {
    attempts: std::collections::HashMap<String, u32>,
    media: std::collections::HashMap<String, (String, bool)>,
    /// The attempt each key announced in this run and whose end is not recorded yet, by its
    /// start: what a failure of that key ends.
    open: std::collections::HashMap<String, i64>,
    /// Set when an append failed: nothing more is written (a partial line may end the file,
    /// and only a last line may be torn).
    pub(super) failure: Option<String>,
}

struct WriteRequest {
    records: Vec<Record>,
    /// `None` for records whose writer does not wait (see [`StateWriter::record_soon`]).
    ack: Option<oneshot::Sender<Result<(), StateError>>>,
}

pub(super) struct WriterThread {
    handle: std::thread::JoinHandle<StateFile>,
}

impl WriterThread {
    pub(super) fn finish(self) -> StateFile {
        match self.handle.join() {
            Ok(state) => state,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl StateWriter {
    pub(super) fn spawn(mut state: StateFile) -> (StateWriter, WriterThread) {
        let path: Arc<std::path::Path> = Arc::from(state.path());
        let mut view = StateView::default();
        for (key, pin) in &state.snapshot().pins {
            view.attempts.insert(key.clone(), pin.attempts);
            if let Some(media_id) = &pin.media_id {
                view.media
                    .insert(key.clone(), (media_id.clone(), pin.media_uploaded));
            }
        }
        let view = Arc::new(Mutex::new(view));
        let (sender, mut receiver) = mpsc::unbounded_channel::<WriteRequest>();
        let thread_view = Arc::clone(&view);
        let handle = std::thread::spawn(move || {
            while let Some(first) = receiver.blocking_recv() {
                let mut batch = vec![first];
                while let Ok(next) = receiver.try_recv() {
                    batch.push(next);
                }
                let records: Vec<Record> = batch
                    .iter()
                    .flat_map(|request| request.records.iter().cloned())
                    .collect();
                let failure = thread_view
                    .lock()
                    .ok()
                    .and_then(|view| view.failure.clone());
                let result = match failure {
                    Some(failure) => Err(failure),
                    None => state.append(&records).map_err(|err| err.to_string()),
                };
                if let (Err(failure), Ok(mut view)) = (&result, thread_view.lock()) {
                    view.failure.get_or_insert_with(|| failure.clone());
                }
                if result.is_ok()
                    && let Ok(mut view) = thread_view.lock()
                {
                    for record in &records {
                        match record {
                            Record::Attempt {
                                key, started_ms, ..
                            } => {
                                *view.attempts.entry(key.clone()).or_default() += 1;
                                view.open.insert(key.clone(), *started_ms);
                            }
                            Record::Unsent { key, ends } => {
                                view.open.remove(key);
                                if let (Some(attempts), false) =
                                    (view.attempts.get_mut(key), *ends == Ends::Nothing)
                                {
                                    *attempts = attempts.saturating_sub(1);
                                }
                            }
                            Record::Done { key, .. }
                            | Record::Unknown { key, .. }
                            | Record::Failed { key, .. } => {
                                view.open.remove(key);
                            }
                            Record::Media {
                                key,
                                media_id,
                                uploaded,
                            } => {
                                view.media
                                    .insert(key.clone(), (media_id.clone(), *uploaded));
                            }
                            Record::Deleted { key, .. } => {
                                view.media.remove(key);
                                view.open.remove(key);
                            }
                            _ => {}
                        }
                    }
                }
                for request in batch {
                    let reply = match &result {
                        Ok(()) => Ok(()),
                        Err(err) => Err(StateError::Io {
                            action: "write",
                            path: state.path().to_owned(),
                            source: std::io::Error::other(err.clone()),
                        }),
                    };
                    if let Some(ack) = request.ack {
                        let _ = ack.send(reply);
                    }
                }
            }
            state
        });
        let writer = StateWriter { sender, view, path };
        (writer, WriterThread { handle })
    }

    /// Appends records and waits until they are durable.
    pub(super) async fn record(&self, records: Vec<Record>) -> Result<(), StateError> {
        let (ack, done) = oneshot::channel();
        self.sender
            .send(WriteRequest {
                records,
                ack: Some(ack),
            })
            .map_err(|_| self.stopped())?;
        done.await.map_err(|_| self.stopped())?
    }

    /// Queues records without waiting for them to be durable. Fails only if an earlier write
    /// failed (the run must stop) or the writer is gone.
    pub(super) fn record_soon(&self, records: Vec<Record>) -> Result<(), StateError> {
        if let Some(failure) = self.failure() {
            return Err(self.error(failure));
        }
        self.sender
            .send(WriteRequest { records, ack: None })
            .map_err(|_| self.stopped())
    }

    fn stopped(&self) -> StateError {
        self.error("the state writer stopped".to_owned())
    }

    fn error(&self, reason: String) -> StateError {
        StateError::Io {
            action: "write",
            path: self.path.to_path_buf(),
            source: std::io::Error::other(reason),
        }
    }

    /// The first write failure, if any.
    pub(super) fn failure(&self) -> Option<String> {
        self.view.lock().ok().and_then(|view| view.failure.clone())
    }

    pub(super) fn attempts(&self, key: &str) -> u32 {
        self.view
            .lock()
            .ok()
            .and_then(|view| view.attempts.get(key).copied())
            .unwrap_or(0)
    }

    /// What a failure of `key` recorded now ends: the attempt it announced in this run, if
    /// that one has no end yet, else nothing (an earlier attempt of unknown outcome stays so).
    pub(super) fn open_attempt(&self, key: &str) -> Ends {
        self.view
            .lock()
            .ok()
            .and_then(|view| view.open.get(key).copied())
            .map_or(Ends::Nothing, Ends::Attempt)
    }

    pub(super) fn media(&self, key: &str) -> Option<(String, bool)> {
        self.view
            .lock()
            .ok()
            .and_then(|view| view.media.get(key).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Fingerprint, Operation};

    fn attempt(key: &str) -> Record {
        Record::Attempt {
            key: key.to_owned(),
            op: Operation::Create,
            started_ms: 1,
            server_started_ms: None,
            fingerprint: Fingerprint {
                text: String::new(),
                placement: String::new(),
                media: String::new(),
                identity: String::new(),
            },
            board_id: "1".to_owned(),
            section_id: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_from_many_tasks_are_durable_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state");
        let (writer, thread) = StateWriter::spawn(StateFile::open(&path, "o").unwrap());
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let writer = writer.clone();
                tokio::spawn(
                    async move { writer.record(vec![attempt(&format!("k{}", i % 4))]).await },
                )
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(writer.attempts("k0"), 5);
        writer
            .record(vec![Record::Unsent {
                key: "k0".to_owned(),
                ends: writer.open_attempt("k0"),
            }])
            .await
            .unwrap();
        assert_eq!(writer.attempts("k0"), 4);
        assert_eq!(writer.open_attempt("k0"), Ends::Nothing, "ended");
        assert_eq!(writer.open_attempt("k1"), Ends::Attempt(1), "open");
        writer
            .record_soon(vec![Record::Media {
                key: "k1".to_owned(),
                media_id: "77".to_owned(),
                uploaded: true,
            }])
            .unwrap();
        drop(writer);
        let state = thread.finish();
        assert_eq!(state.snapshot().pins["k1"].media_id.as_deref(), Some("77"));
        drop(state);
        let reloaded = crate::state::load(&path).unwrap().unwrap();
        assert_eq!(reloaded.pins["k0"].attempts, 4);
        assert_eq!(reloaded.pins["k3"].attempts, 5);
        assert!(reloaded.pins["k1"].media_uploaded);
    }
}
