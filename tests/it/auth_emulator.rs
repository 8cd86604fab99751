//! `auth` and `boards` against the emulator, as a new user would run them: the whole OAuth login
//! (the authorize page answered as a browser would), the stored token used, refreshed on 401 and
//! by `auth refresh`, forgotten by `auth logout`, 300 boards listed, Pinterest's errors shown,
//! and the token never printed.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::Value;

use crate::common::TestEmulator;

/// Runs `auth login` against the emulator and completes it by following the authorize URL.
/// Returns everything the login printed.
pub(crate) fn login(emu: &TestEmulator) -> String {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pinbatch"))
        .env("PINBATCH_API_BASE", emu.base_url())
        .env("PINBATCH_CONFIG_DIR", emu.config_dir())
        .env("PINTEREST_APP_ID", "1234")
        .env("PINTEREST_APP_SECRET", "emulator-secret")
        .env_remove("PINTEREST_ACCESS_TOKEN")
        .args(["auth", "login", "--no-browser", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut printed = String::new();
    let authorize = lines
        .by_ref()
        .map(|line| line.unwrap())
        .inspect(|line| {
            printed.push_str(line);
            printed.push('\n');
        })
        .find(|line| line.contains("/oauth/?"))
        .expect("the authorize URL is printed");
    let authorize = authorize.trim().to_owned();
    assert!(authorize.starts_with(&format!("{}/oauth/?", emu.base_url())));
    // The browser: the emulator's authorize page redirects to the local listener with a code.
    let client = pinbatch::api::http_client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let location = emu.block_on(async {
        let response = client.get(&authorize).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 302);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        location.replace("//localhost:", "//127.0.0.1:")
    });
    let landing = emu.block_on(async {
        client
            .get(&location)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(landing, 200);
    for line in lines {
        printed.push_str(&line.unwrap());
        printed.push('\n');
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{printed}");
    printed.push_str(&String::from_utf8_lossy(&output.stdout));
    printed
}

pub(crate) fn stored_tokens(emu: &TestEmulator) -> Value {
    let text = std::fs::read_to_string(emu.config_dir().join("tokens.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The `pinbatch` command with the token store as the only token source.
pub(crate) fn with_store(emu: &TestEmulator) -> assert_cmd::Command {
    let mut command = emu.pinbatch();
    command.env_remove("PINTEREST_ACCESS_TOKEN");
    command
}

#[test]
fn login_stores_a_private_token_that_later_commands_use_and_refresh() {
    let emu = TestEmulator::start();
    let printed = login(&emu);
    let stored = stored_tokens(&emu);
    let entry = &stored["tokens"][emu.base_url().as_str()];
    let access = entry["access_token"].as_str().unwrap().to_owned();
    let refresh = entry["refresh_token"].as_str().unwrap().to_owned();
    assert!(emu.emu().is_valid_access_token(&access));
    assert!(!printed.contains(&access) && !printed.contains(&refresh));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(emu.config_dir().join("tokens.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let status = with_store(&emu)
        .args(["auth", "status", "--format", "json"])
        .output()
        .unwrap();
    assert!(status.status.success());
    let status_text = String::from_utf8_lossy(&status.stdout);
    let json: Value = serde_json::from_str(&status_text).unwrap();
    assert_eq!(json["username"], "pinbatch-emulator");
    assert!(!status_text.contains(&access));

    // The access token expires on the server: the next call gets a 401, refreshes once with the
    // stored refresh token, retries, and stores the rotated pair.
    assert!(emu.emu().expire_access_token(&access));
    emu.emu().seed_board("Kept", "PUBLIC");
    let listed = with_store(&emu)
        .args(["-vv", "boards", "list", "--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&listed.stdout);
    let stderr = String::from_utf8_lossy(&listed.stderr);
    assert!(listed.status.success(), "{stderr}");
    assert!(stdout.contains("Kept"));
    let rotated = stored_tokens(&emu)["tokens"][emu.base_url().as_str()]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, access);
    assert!(emu.emu().is_valid_access_token(&rotated));
    for secret in [&access, &refresh, &rotated] {
        assert!(
            !stdout.contains(secret.as_str()) && !stderr.contains(secret.as_str()),
            "a token leaked into the output"
        );
    }
    emu.assert_no_spec_violations();
}

#[test]
fn boards_list_reads_every_page_of_300_boards() {
    let emu = TestEmulator::start();
    for i in 0..300 {
        emu.emu().seed_board(&format!("Board {i:03}"), "PUBLIC");
    }
    let output = emu
        .pinbatch()
        .args(["boards", "list", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let boards: Value = serde_json::from_slice(&output.stdout).unwrap();
    let boards = boards.as_array().unwrap();
    assert_eq!(boards.len(), 300);
    assert!(boards.iter().any(|b| b["name"] == "Board 299"));
    let pages = emu
        .emu()
        .requests()
        .iter()
        .filter(|r| r.is("GET", "/v5/boards"))
        .count();
    assert_eq!(pages, 2, "page_size 250: two pages");
}

#[test]
fn pinterest_errors_show_their_code_and_message() {
    let emu = TestEmulator::start();
    emu.emu().seed_board("Taken", "PUBLIC");
    let output = emu
        .pinbatch()
        .args(["boards", "create", "Brand new", "--privacy", "SECRET"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(emu.emu().snapshot().board_named("Brand new").is_some());
    let output = emu
        .pinbatch()
        .args(["sections", "list", "No such board"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let output = emu
        .pinbatch()
        .env("PINTEREST_ACCESS_TOKEN", "not-a-token")
        .args(["boards", "list"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("code 2"), "{stderr}");
    assert!(stderr.contains("Authentication failed"), "{stderr}");
    assert!(!stderr.contains("not-a-token"));
    emu.assert_no_spec_violations();
}

#[test]
fn auth_refresh_rotates_the_stored_pair_and_logout_forgets_it() {
    let emu = TestEmulator::start();
    login(&emu);
    let origin = emu.base_url();
    let before = stored_tokens(&emu)["tokens"][origin.as_str()].clone();
    let old_access = before["access_token"].as_str().unwrap().to_owned();
    let old_refresh = before["refresh_token"].as_str().unwrap().to_owned();

    let refreshed = with_store(&emu).args(["auth", "refresh"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refreshed.stderr);
    assert!(refreshed.status.success(), "{stderr}");
    assert!(stderr.contains("refreshed"), "{stderr}");
    let after = stored_tokens(&emu)["tokens"][origin.as_str()].clone();
    let new_access = after["access_token"].as_str().unwrap();
    let new_refresh = after["refresh_token"].as_str().unwrap();
    assert_ne!(new_access, old_access);
    assert_ne!(
        new_refresh, old_refresh,
        "the rotated refresh token is stored"
    );
    assert!(emu.emu().is_valid_access_token(new_access));
    assert!(!emu.emu().is_valid_access_token(&old_access));
    for secret in [old_access.as_str(), &old_refresh, new_access, new_refresh] {
        assert!(!stderr.contains(secret), "a token leaked");
    }
    // The refreshed token is the one later commands use.
    with_store(&emu).args(["boards", "list"]).assert().success();

    with_store(&emu).args(["auth", "logout"]).assert().success();
    assert!(stored_tokens(&emu)["tokens"][origin.as_str()].is_null());
    with_store(&emu)
        .args(["auth", "refresh"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("no stored login"))
        .stderr(predicates::str::contains("pinbatch auth login"));
    with_store(&emu).args(["boards", "list"]).assert().code(3);
    emu.assert_no_spec_violations();
}

#[test]
fn processes_refreshing_at_once_never_lose_the_rotated_refresh_token() {
    let emu = TestEmulator::start();
    login(&emu);
    emu.emu().seed_board("Kept", "PUBLIC");
    // Slow answers make the processes' refreshes overlap; every access token is now expired,
    // so each process gets a 401 and refreshes.
    emu.set_fault_spec("latency=300ms");
    emu.emu().expire_all_access_tokens();
    let run_at_once = |args: &[&str]| {
        let children: Vec<_> = (0..3)
            .map(|_| {
                emu.process()
                    .env_remove("PINTEREST_ACCESS_TOKEN")
                    .args(args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    };
    run_at_once(&["boards", "list"]);
    run_at_once(&["auth", "refresh"]);
    // The pair left in the store is the live one: it refreshes and it is accepted.
    let origin = emu.base_url();
    let refresh = stored_tokens(&emu)["tokens"][origin.as_str()]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    with_store(&emu)
        .args(["auth", "refresh"])
        .assert()
        .success();
    assert_ne!(
        stored_tokens(&emu)["tokens"][origin.as_str()]["refresh_token"]
            .as_str()
            .unwrap(),
        refresh
    );
    with_store(&emu).args(["boards", "list"]).assert().success();
}

#[test]
fn the_app_secret_comes_from_standard_input_and_on_the_command_line_draws_a_warning() {
    let emu = TestEmulator::start();
    login(&emu);
    let secret = pinbatch_emulator::DEFAULT_APP_SECRET;
    let warning = "can be read by every user of this machine";
    // From standard input: no secret in the environment, none on the command line.
    let from_stdin = with_store(&emu)
        .env_remove("PINTEREST_APP_SECRET")
        .args(["auth", "refresh", "--app-secret-stdin"])
        .write_stdin(format!("{secret}\n"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&from_stdin.stderr);
    assert!(from_stdin.status.success(), "{stderr}");
    assert!(!stderr.contains(warning), "{stderr}");
    // On the command line: it works, with a warning that never shows the secret.
    let on_command_line = with_store(&emu)
        .env_remove("PINTEREST_APP_SECRET")
        .args(["auth", "refresh", "--app-secret", secret])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&on_command_line.stderr);
    assert!(on_command_line.status.success(), "{stderr}");
    assert!(stderr.contains(warning), "{stderr}");
    assert!(stderr.contains("--app-secret-stdin"), "{stderr}");
    assert!(!stderr.contains(secret), "{stderr}");
    // Empty standard input is an error naming the flag.
    with_store(&emu)
        .env_remove("PINTEREST_APP_SECRET")
        .args(["auth", "refresh", "--app-secret-stdin"])
        .write_stdin("")
        .assert()
        .code(3)
        .stderr(predicates::str::contains("--app-secret-stdin"));
}

#[test]
fn auth_status_tells_an_unreachable_api_from_a_rejected_token() {
    let emu = TestEmulator::start();
    // A port nothing listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = emu
        .pinbatch()
        .args(["auth", "status", "--max-retries", "0"])
        .env("PINBATCH_API_BASE", format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert_eq!(unreachable.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did not answer"), "{stderr}");
    assert!(stderr.contains("refused the connection"), "{stderr}");
    assert!(!stderr.contains("rejected"), "{stderr}");
    let rejected = emu
        .pinbatch()
        .args(["auth", "status"])
        .env("PINTEREST_ACCESS_TOKEN", "not-a-token")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&rejected.stderr);
    assert_eq!(rejected.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("the token was rejected"), "{stderr}");
}
