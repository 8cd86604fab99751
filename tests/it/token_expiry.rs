//! Tokens that warn before they expire, and Trial access made visible. The clock is controlled
//! through what the emulator issues (`token-lifetime`, `refresh-token-lifetime`) and through
//! expiry times written into the token store; Trial access through the `trial-access` fault.

use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::auth_emulator::{login, stored_tokens, with_store};
use crate::common::{TestEmulator, url_manifest};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes one token store entry for the emulator's origin, with a pair the emulator accepts.
fn store_login(emu: &TestEmulator, access_expires_at: u64, refresh_expires_at: u64) {
    let pair = emu.issue_tokens();
    let store = json!({
        "version": 1,
        "tokens": {
            emu.base_url(): {
                "access_token": pair.access_token,
                "refresh_token": pair.refresh_token,
                "access_token_expires_at": access_expires_at,
                "refresh_token_expires_at": refresh_expires_at,
                "scopes": ["boards:read", "boards:write", "pins:read", "pins:write", "user_accounts:read"],
                "username": "pinbatch-emulator",
                "app_id": "1234",
                "updated_at": now(),
            }
        }
    });
    std::fs::write(
        emu.config_dir().join("tokens.json"),
        serde_json::to_vec_pretty(&store).unwrap(),
    )
    .unwrap();
}

#[test]
fn login_asks_for_continuous_refresh_and_status_shows_both_expiry_times() {
    let emu = TestEmulator::with_faults("refresh-token-lifetime=3d");
    login(&emu);
    let exchange = emu
        .requests()
        .into_iter()
        .find(|r| r.is("POST", "/v5/oauth/token"))
        .unwrap();
    let body = exchange.body.unwrap();
    assert_eq!(body["grant_type"], "authorization_code");
    assert_eq!(body["continuous_refresh"], "true");
    let entry = &stored_tokens(&emu)["tokens"][emu.base_url().as_str()];
    let access_at = entry["access_token_expires_at"].as_u64().unwrap();
    let refresh_at = entry["refresh_token_expires_at"].as_u64().unwrap();
    let access_left = access_at - now();
    let refresh_left = refresh_at - now();
    assert!(
        (30 * 86_400 - 60..=30 * 86_400).contains(&access_left),
        "{access_left}"
    );
    assert!(
        (3 * 86_400 - 60..=3 * 86_400).contains(&refresh_left),
        "{refresh_left}"
    );

    let output = with_store(&emu).args(["auth", "status"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("Access token:  expires "), "{shown}");
    // The command runs within a second or so of the login: 30 days, or just under.
    assert!(
        shown.contains("(in 30 days)") || shown.contains("(in 29 days)"),
        "{shown}"
    );
    assert!(shown.contains("Refresh token: expires "), "{shown}");
    assert!(
        shown.contains("(in 3 days)") || shown.contains("(in 2 days)"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("Environment:   {}", emu.base_url())),
        "{shown}"
    );
    let warnings = stderr(&output);
    assert_eq!(
        warnings
            .matches("warning: the stored refresh token")
            .count(),
        1,
        "warned once: {warnings}"
    );
    assert!(warnings.contains("auth login"), "{warnings}");
    let output = with_store(&emu)
        .args(["auth", "status", "--format", "json"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["refresh_token_expires_at"].as_str().is_some());
    assert!(json["access_token_expires_at"].as_str().is_some());
}

#[test]
fn commands_warn_within_a_week_and_stop_before_any_write_once_expired() {
    let emu = TestEmulator::start();
    emu.seed_board("Board", "PUBLIC");
    let day = 86_400;
    store_login(&emu, now() + 20 * day, now() + 6 * day + day / 2);
    let output = with_store(&emu).args(["boards", "list"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let warnings = stderr(&output);
    assert_eq!(warnings.matches("warning:").count(), 1, "{warnings}");
    assert!(
        warnings.contains("expires") && warnings.contains("(in 6 days)"),
        "{warnings}"
    );
    assert!(warnings.contains("auth refresh") && warnings.contains("auth login"));
    // Eight days left: nothing to say.
    store_login(&emu, now() + 20 * day, now() + 8 * day);
    let output = with_store(&emu).args(["boards", "list"]).output().unwrap();
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));

    // Expired: exit 3 with the login hint, before any request and before any state exists.
    store_login(&emu, now() + 20 * day, now() - 60);
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 3, "Board");
    emu.clear_requests();
    let output = with_store(&emu)
        .arg("apply")
        .arg(&manifest)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(
        text.contains("refresh token") && text.contains("expired"),
        "{text}"
    );
    assert!(text.contains("hint: run `pinbatch --api-base"), "{text}");
    assert!(text.contains("auth login"), "{text}");
    assert!(emu.requests().is_empty(), "nothing was sent");
    assert!(!dir.path().join("pins.yaml.state").exists());
    let output = with_store(&emu).args(["auth", "refresh"]).output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(emu.requests().is_empty());
}

#[test]
fn a_long_apply_refreshes_the_access_token_before_it_expires() {
    // Access tokens that live 62 s: pinbatch renews a token 60 s before it expires, so one
    // issued at login is due for renewal 2 s later, in the middle of this apply.
    let emu = TestEmulator::with_faults("token-lifetime=62s,latency=100ms");
    login(&emu);
    emu.seed_board("Board", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 40, "Board");
    emu.clear_requests();
    let output = with_store(&emu)
        .arg("apply")
        .arg(&manifest)
        .args(["-j", "1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let requests = emu.requests();
    let refreshes: Vec<_> = requests
        .iter()
        .filter(|r| r.is("POST", "/v5/oauth/token"))
        .collect();
    assert!(
        !refreshes.is_empty(),
        "the token was renewed during the run"
    );
    assert!(
        refreshes
            .iter()
            .all(|r| r.body.as_ref().unwrap()["grant_type"] == "refresh_token")
    );
    assert!(
        requests.iter().all(|r| r.status != Some(401)),
        "renewed before it expired, not after a 401"
    );
    emu.assert_exactly_once(40, "Board", "long apply");
    // The renewed pair is stored, so the next run starts with it.
    let entry = &stored_tokens(&emu)["tokens"][emu.base_url().as_str()];
    assert!(emu.is_valid_access_token(entry["access_token"].as_str().unwrap()));
    emu.assert_no_spec_violations();
}

#[test]
fn trial_access_stops_the_run_and_names_the_sandbox() {
    let emu = TestEmulator::with_faults("trial-access=on");
    emu.seed_board("Board", "PUBLIC");
    let dir = tempfile::tempdir().unwrap();
    let manifest = url_manifest(dir.path(), 5, "Board");
    let output = emu
        .pinbatch()
        .arg("apply")
        .arg(&manifest)
        .args(["-j", "1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("Trial access"), "{text}");
    assert!(text.contains("--sandbox"), "{text}");
    assert_eq!(emu.creates(), 1, "no pin is sent after the refusal");
    assert!(emu.snapshot().pins.is_empty());
    // The refused pin failed for sure (nothing was created): the next run sends it again.
    let snapshot = pinbatch::state::load(&dir.path().join("pins.yaml.state"))
        .unwrap()
        .unwrap();
    let failed: Vec<&String> = snapshot
        .pins
        .iter()
        .filter(|(_, pin)| pin.status == pinbatch::state::PinStatus::Failed)
        .map(|(key, _)| key)
        .collect();
    assert_eq!(failed.len(), 1);
    // Other writes say so too.
    let output = emu
        .pinbatch()
        .args(["boards", "create", "New board"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains("code 29") && text.contains("--sandbox"),
        "{text}"
    );
    // Reads still work, as they do for a Trial app.
    emu.pinbatch().args(["boards", "list"]).assert().success();
}

#[test]
fn a_missing_login_names_the_environment_that_has_one() {
    let emu = TestEmulator::start();
    login(&emu);
    let output = with_store(&emu)
        .env_remove("PINBATCH_API_BASE")
        .args(["--sandbox", "auth", "status"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let text = stderr(&output);
    assert!(
        text.contains("not logged in to sandbox (https://api-sandbox.pinterest.com)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("has a login for {}", emu.base_url())),
        "{text}"
    );
}
