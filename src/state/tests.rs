//! The state file end to end: appends, reopening, torn and damaged lines, origins and
//! accounts, the lock, compaction and in-flight attempts.

use std::fs::{self, File};
use std::path::Path;

use super::journal::StateSnapshot;
use super::*;

fn fingerprint(text: &str) -> Fingerprint {
    Fingerprint {
        text: text.to_owned(),
        placement: "p".to_owned(),
        media: "m".to_owned(),
        identity: "i".to_owned(),
    }
}

fn attempt(key: &str) -> Record {
    Record::Attempt {
        key: key.to_owned(),
        op: Operation::Create,
        started_ms: 1000,
        server_started_ms: Some(1200),
        fingerprint: fingerprint("t"),
        board_id: "1".to_owned(),
        section_id: None,
    }
}

fn done(key: &str, pin: &str) -> Record {
    done_at(key, pin, None, 2000)
}

fn done_at(key: &str, pin: &str, created_ms: Option<i64>, at_ms: i64) -> Record {
    Record::Done {
        key: key.to_owned(),
        pin_id: pin.to_owned(),
        created_ms,
        board_id: "1".to_owned(),
        section_id: None,
        fingerprint: fingerprint("t"),
        adopted: false,
        shared_with: None,
        at_ms,
    }
}

#[test]
fn nothing_is_appended_after_a_failed_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.state");
    let mut state = StateFile::open(&path, "o").unwrap();
    state.append(&[done("a", "11")]).unwrap();
    let writable = std::mem::replace(&mut state.file, File::open(&path).unwrap());
    assert!(state.append(&[attempt("b")]).is_err());
    state.file = writable;
    let err = state.append(&[attempt("c")]).unwrap_err();
    assert!(err.to_string().contains("m.state"), "{err}");
    drop(state);
    let snapshot = load(&path).unwrap().unwrap();
    assert_eq!(
        snapshot.pins.len(),
        1,
        "only the record written before the failure"
    );
}

#[test]
fn default_path_sits_beside_the_manifest() {
    assert_eq!(
        default_state_path(Path::new("dir/pins.yaml")),
        PathBuf::from("dir/pins.yaml.state")
    );
}

#[test]
fn records_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.state");
    {
        let mut state = StateFile::open(&path, "http://127.0.0.1:1").unwrap();
        state
            .append(&[attempt("a"), done("a", "11"), attempt("b")])
            .unwrap();
    }
    let snapshot = load(&path).unwrap().unwrap();
    let a = snapshot.pin("a").unwrap();
    assert_eq!(a.status, PinStatus::Done);
    assert_eq!(a.pin_id.as_deref(), Some("11"));
    assert_eq!(a.attempts, 1);
    let b = snapshot.pin("b").unwrap();
    assert_eq!(b.status, PinStatus::Pending);
    assert!(
        b.in_flight.is_some(),
        "an attempt with no outcome is in flight"
    );
}

#[test]
fn a_torn_last_line_is_ignored_and_repaired_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.state");
    {
        let mut state = StateFile::open(&path, "o").unwrap();
        state.append(&[done("a", "11")]).unwrap();
    }
    let mut bytes = fs::read(&path).unwrap();
    bytes.extend_from_slice(br#"{"type":"done","key":"b","pin"#);
    fs::write(&path, &bytes).unwrap();
    let snapshot = load(&path).unwrap().unwrap();
    assert!(snapshot.torn_tail);
    assert!(snapshot.pin("b").is_none());
    let mut state = StateFile::open(&path, "o").unwrap();
    state.append(&[done("c", "12")]).unwrap();
    drop(state);
    let snapshot = load(&path).unwrap().unwrap();
    assert!(!snapshot.torn_tail);
    assert_eq!(snapshot.pins.len(), 2);
}

#[test]
fn a_damaged_middle_line_is_an_error_not_a_fresh_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.state");
    {
        let mut state = StateFile::open(&path, "o").unwrap();
        state.append(&[done("a", "11"), done("b", "12")]).unwrap();
    }
    let text = fs::read_to_string(&path)
        .unwrap()
        .replacen("\"b\"", "\"b", 1);
    fs::write(&path, text).unwrap();
    let err = StateFile::open(&path, "o").unwrap_err();
    assert!(matches!(err, StateError::Corrupt { line: 3, .. }), "{err}");
    assert!(err.to_string().contains("line 3"));
}

#[test]
fn another_origin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.state");
    drop(StateFile::open(&path, "https://api-sandbox.pinterest.com").unwrap());
    let err = StateFile::open(&path, "https://api.pinterest.com").unwrap_err();
    assert!(matches!(err, StateError::WrongOrigin { .. }));
}

#[test]
fn another_account_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.state");
    {
        let mut state = StateFile::open(&path, "o").unwrap();
        state.check_account("1", "alice").unwrap();
    }
    let mut state = StateFile::open(&path, "o").unwrap();
    state.check_account("1", "alice").unwrap();
    let err = state.check_account("2", "bob").unwrap_err();
    assert!(err.to_string().contains("alice"), "{err}");
}

#[test]
fn a_second_open_is_refused_while_the_first_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.state");
    let _first = StateFile::open(&path, "o").unwrap();
    let err = StateFile::open(&path, "o").unwrap_err();
    assert!(matches!(err, StateError::Locked { .. }));
    assert!(
        err.to_string().contains(&std::process::id().to_string()),
        "{err}"
    );
}

#[test]
fn compaction_keeps_every_field_of_every_pin_and_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.state");
    {
        let mut state = StateFile::open(&path, "o").unwrap();
        state.check_account("1", "alice").unwrap();
        for _ in 0..700 {
            state.append(&[attempt("a"), done("a", "11")]).unwrap();
        }
        // A failed update leaves the pin done, with its error.
        state
            .append(&[
                attempt("a"),
                Record::Failed {
                    key: "a".to_owned(),
                    error: "PATCH refused".to_owned(),
                    at_ms: 3000,
                    ends: Ends::Latest,
                },
            ])
            .unwrap();
        // An unknown outcome after its retries ran out, and one before it.
        state
            .append(&[
                attempt("b"),
                attempt_at("b", 1500),
                Record::Unknown {
                    key: "b".to_owned(),
                    error: "502 Bad Gateway".to_owned(),
                    at_ms: 4000,
                },
            ])
            .unwrap();
        // A video uploaded, then its pin adopted.
        state
            .append(&[
                Record::Media {
                    key: "c".to_owned(),
                    media_id: "77".to_owned(),
                    uploaded: true,
                },
                attempt("c"),
                Record::Done {
                    key: "c".to_owned(),
                    pin_id: "13".to_owned(),
                    created_ms: None,
                    board_id: "1".to_owned(),
                    section_id: Some("5".to_owned()),
                    fingerprint: fingerprint("t"),
                    adopted: true,
                    shared_with: None,
                    at_ms: 5000,
                },
            ])
            .unwrap();
        // Failed for sure, then deleted.
        state
            .append(&[
                attempt("d"),
                Record::Failed {
                    key: "d".to_owned(),
                    error: "400".to_owned(),
                    at_ms: 6000,
                    ends: Ends::Latest,
                },
                attempt("e"),
                done("e", "14"),
                Record::Deleted {
                    key: "e".to_owned(),
                    at_ms: 7000,
                },
            ])
            .unwrap();
    }
    let before = load(&path).unwrap().unwrap();
    drop(StateFile::open(&path, "o").unwrap());
    let after = load(&path).unwrap().unwrap();
    assert!(after.records < 10, "{} records", after.records);
    assert_eq!(after.header, before.header);
    assert_eq!(after.pins, before.pins, "every field of every pin survives");
    assert_eq!(after.pin("a").unwrap().attempts, 701);
    assert!(after.pin("b").unwrap().is_unknown());
    assert_eq!(starts(after.pin("b").unwrap()), vec![1000, 1500]);
    assert!(dir.path().join("m.state.backup").exists());
}

#[test]
fn an_unknown_outcome_stays_in_flight_and_an_unsent_attempt_does_not() {
    let mut snapshot = StateSnapshot::new("o");
    snapshot.apply(&attempt("a"));
    snapshot.apply(&Record::Unknown {
        key: "a".to_owned(),
        error: "timed out".to_owned(),
        at_ms: 9000,
    });
    let a = snapshot.pin("a").unwrap();
    assert_eq!(a.status, PinStatus::Pending);
    assert_eq!(a.in_flight.as_ref().unwrap().ended_ms, Some(9000));
    assert_eq!(a.last_error.as_deref(), Some("timed out"));
    snapshot.apply(&attempt("b"));
    snapshot.apply(&Record::Unsent {
        key: "b".to_owned(),
        ends: Ends::Attempt(1000),
    });
    let b = snapshot.pin("b").unwrap();
    assert!(!b.is_unknown());
    assert_eq!(b.attempts, 0);
}

fn attempt_at(key: &str, started_ms: i64) -> Record {
    match attempt(key) {
        Record::Attempt {
            key,
            op,
            server_started_ms,
            fingerprint,
            board_id,
            section_id,
            ..
        } => Record::Attempt {
            key,
            op,
            started_ms,
            server_started_ms,
            fingerprint,
            board_id,
            section_id,
        },
        other => other,
    }
}

fn unknown(key: &str, at_ms: i64) -> Record {
    Record::Unknown {
        key: key.to_owned(),
        error: "502 Bad Gateway".to_owned(),
        at_ms,
    }
}

fn starts(pin: &PinState) -> Vec<i64> {
    pin.unresolved().map(|attempt| attempt.started_ms).collect()
}

#[test]
fn a_later_attempt_never_settles_an_earlier_one_of_unknown_outcome() {
    let mut snapshot = StateSnapshot::new("o");
    snapshot.apply(&attempt_at("a", 1000));
    snapshot.apply(&unknown("a", 1500));
    // Sent again after a listing read found nothing; this one never went out.
    snapshot.apply(&attempt_at("a", 2000));
    snapshot.apply(&Record::Unsent {
        key: "a".to_owned(),
        ends: Ends::Attempt(2000),
    });
    let a = snapshot.pin("a").unwrap();
    assert_eq!(starts(a), vec![1000], "the first stays in flight");
    assert_eq!(a.attempts, 1);
    // Refused for sure: that attempt made nothing, the first may still have.
    snapshot.apply(&attempt_at("a", 3000));
    snapshot.apply(&Record::Failed {
        key: "a".to_owned(),
        error: "400 Bad Request".to_owned(),
        at_ms: 3100,
        ends: Ends::Attempt(3000),
    });
    let a = snapshot.pin("a").unwrap();
    assert_eq!(a.status, PinStatus::Failed);
    assert_eq!(starts(a), vec![1000]);
    assert!(a.is_unknown());
    // Unknown too: both are looked for, the earliest first.
    snapshot.apply(&attempt_at("a", 4000));
    snapshot.apply(&unknown("a", 4500));
    let a = snapshot.pin("a").unwrap();
    assert_eq!(starts(a), vec![1000, 4000]);
    assert_eq!(a.in_flight.as_ref().unwrap().ended_ms, Some(4500));
    // Found: every attempt is settled.
    snapshot.apply(&done("a", "11"));
    assert_eq!(starts(snapshot.pin("a").unwrap()), Vec::<i64>::new());
}

#[test]
fn a_failure_before_anything_was_sent_ends_no_attempt() {
    let mut snapshot = StateSnapshot::new("o");
    snapshot.apply(&attempt_at("v", 1000));
    snapshot.apply(&unknown("v", 1500));
    // The next run could not even prepare the video (a 5xx on its media status).
    snapshot.apply(&Record::Failed {
        key: "v".to_owned(),
        error: "503 on GET /v5/media/1".to_owned(),
        at_ms: 9000,
        ends: Ends::Nothing,
    });
    snapshot.apply(&Record::Unsent {
        key: "v".to_owned(),
        ends: Ends::Nothing,
    });
    let v = snapshot.pin("v").unwrap();
    assert_eq!(starts(v), vec![1000], "still to be looked for");
    assert_eq!(v.attempts, 1);
    assert_eq!(v.last_error.as_deref(), Some("503 on GET /v5/media/1"));
}

#[test]
fn ends_is_absent_for_the_latest_null_for_none_and_the_start_otherwise() {
    let failed = |ends: Ends| Record::Failed {
        key: "a".to_owned(),
        error: "e".to_owned(),
        at_ms: 1,
        ends,
    };
    let line = |record: &Record| serde_json::to_string(record).unwrap();
    assert!(!line(&failed(Ends::Latest)).contains("ends"));
    assert!(line(&failed(Ends::Nothing)).contains("\"ends\":null"));
    assert!(line(&failed(Ends::Attempt(42))).contains("\"ends\":42"));
    for ends in [Ends::Latest, Ends::Nothing, Ends::Attempt(42)] {
        let read: Record = serde_json::from_str(&line(&failed(ends))).unwrap();
        assert_eq!(read, failed(ends));
    }
    // A state written before `ends` existed: its failures and unsent attempts end the latest.
    let mut snapshot = StateSnapshot::new("o");
    snapshot.apply(&attempt_at("a", 1000));
    snapshot.apply(&serde_json::from_str(r#"{"type":"unsent","key":"a"}"#).unwrap());
    assert!(!snapshot.pin("a").unwrap().is_unknown());
    snapshot.apply(&attempt_at("b", 1000));
    snapshot.apply(
        &serde_json::from_str(r#"{"type":"failed","key":"b","error":"x","at_ms":2}"#).unwrap(),
    );
    assert!(!snapshot.pin("b").unwrap().is_unknown());
}

#[test]
fn a_pin_keeps_when_it_was_published_through_updates_and_loses_it_when_deleted() {
    let mut pin = PinState::new();
    pin.apply(&done_at("a", "11", Some(1500), 2000));
    assert_eq!(pin.published_ms, Some(1500), "Pinterest's creation time");
    pin.apply(&done_at("a", "11", None, 9000));
    assert_eq!(pin.published_ms, Some(1500), "an update keeps it");
    pin.apply(&Record::Deleted {
        key: "a".to_owned(),
        at_ms: 9100,
    });
    assert_eq!(pin.published_ms, None);
    pin.apply(&done("a", "12"));
    assert_eq!(
        pin.published_ms,
        Some(2000),
        "a new pin, with no creation time given"
    );
    let old_line = r#"{"status":"done","pin_id":"1","board_id":null,"section_id":null,"media_id":null,"media_uploaded":false,"fingerprint":null,"attempts":1,"last_error":null,"in_flight":null,"updated_ms":5}"#;
    let old: PinState = serde_json::from_str(old_line).unwrap();
    assert_eq!(
        old.published_ms, None,
        "states written before it still load"
    );
}

#[test]
fn refusals_holds_and_publish_times_survive_and_older_files_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.state");
    // Compacted before publish times, refusals and holds were recorded.
    fs::write(
        &path,
        concat!(
            r#"{"type":"header","version":1,"lineage":"x","origin":"o","created_ms":1}"#,
            "\n",
            r#"{"type":"pin","key":"a","state":{"status":"done","pin_id":"11","board_id":"1","section_id":null,"media_id":null,"media_uploaded":false,"fingerprint":{"text":"t","placement":"p","media":"m"},"attempts":1,"last_error":null,"in_flight":null,"updated_ms":2000}}"#,
            "\n"
        ),
    )
    .unwrap();
    let old = load(&path).unwrap().unwrap();
    assert_eq!(old.pin("a").unwrap().published_ms, None);
    assert_eq!(old.pin("a").unwrap().published_at_ms(), Some(2000));
    assert_eq!(old.hold, None);
    {
        let mut state = StateFile::open(&path, "o").unwrap();
        state
            .append(&[
                attempt("b"),
                Record::Blocked {
                    key: "b".to_owned(),
                    link: Some("https://spam.example/x".to_owned()),
                    error: "Sorry! We blocked this link because it may lead to spam.".to_owned(),
                    at_ms: 3000,
                },
                Record::Hold {
                    until_ms: 90_000,
                    reason: "429: blocked as spam".to_owned(),
                    at_ms: 4000,
                },
                attempt("c"),
                done("c", "12"),
                // An update later: the pin was published when it was created.
                Record::Done {
                    key: "c".to_owned(),
                    pin_id: "12".to_owned(),
                    created_ms: None,
                    board_id: "1".to_owned(),
                    section_id: None,
                    fingerprint: fingerprint("updated"),
                    adopted: false,
                    shared_with: None,
                    at_ms: 9000,
                },
            ])
            .unwrap();
    }
    let before = load(&path).unwrap().unwrap();
    let blocked = before.pin("b").unwrap();
    assert_eq!(
        blocked.status,
        PinStatus::Blocked,
        "not failed: a reader can tell"
    );
    assert_eq!(
        blocked.blocked_link.as_deref(),
        Some("https://spam.example/x")
    );
    assert!(
        !blocked.is_unknown(),
        "nothing is in flight after a refusal"
    );
    assert_eq!(before.pin("c").unwrap().published_ms, Some(2000));
    assert_eq!(before.hold.as_ref().unwrap().until_ms, 90_000);
    compaction::rewrite(&path, &before, true).unwrap();
    let after = load(&path).unwrap().unwrap();
    assert_eq!(after.pins, before.pins);
    assert_eq!(after.hold, before.hold, "compaction keeps the hold");
}
