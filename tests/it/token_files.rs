//! Token files as Pinterest's api-quickstart writes them (`common/oauth_tokens/NAME.json`):
//! `--token-file` reads them (and says so in `auth status`), `apply` works with them, an
//! expired access token is renewed with the file's refresh token into pinbatch's own token
//! store only (the file is never written), and later runs take the renewed pair up;
//! `auth import` stores such a file (or a plain token) privately.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{TestEmulator, url_manifest};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// An api-quickstart token file for a fresh pair the emulator issued; returns its path and the
/// access and refresh tokens.
fn quickstart_file(emu: &TestEmulator, dir: &Path) -> (PathBuf, String, String) {
    let pair = emu.issue_tokens();
    let path = dir.join("oauth_tokens").join("access_token.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = serde_json::json!({
        "name": "access_token",
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "scopes": pair.scope,
    });
    std::fs::write(&path, serde_json::to_string_pretty(&text).unwrap()).unwrap();
    (path, pair.access_token, pair.refresh_token)
}

fn refreshes(emu: &TestEmulator) -> usize {
    emu.count("POST", "/v5/oauth/token")
}

fn store(emu: &TestEmulator) -> Value {
    let text = std::fs::read_to_string(emu.config_dir().join("tokens.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn a_quickstart_token_file_works_and_its_refresh_goes_to_the_store_only() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let (file, access, _) = quickstart_file(&emu, dir.path());
    let original = std::fs::read(&file).unwrap();
    let with_file = |args: &[&str]| -> Output {
        emu.pinbatch()
            .env_remove("PINTEREST_ACCESS_TOKEN")
            .arg("--token-file")
            .arg(&file)
            .args(args)
            .output()
            .unwrap()
    };

    let status = with_file(&["auth", "status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(
        stdout(&status).contains("an api-quickstart JSON token file (`access_token`)"),
        "{}",
        stdout(&status)
    );
    assert!(stdout(&status).contains("Refreshable:   yes"));
    let json = with_file(&["auth", "status", "--format", "json"]);
    let json: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(json["token_file_format"], "api-quickstart-json");
    assert_eq!(json["scopes"][0], "boards:read");
    assert!(!stdout(&status).contains(&access), "the token never prints");

    let manifest = url_manifest(dir.path(), 3, "Quickstart");
    let apply = with_file(&["apply", manifest.to_str().unwrap(), "--create-boards"]);
    assert!(apply.status.success(), "{}", stderr(&apply));
    assert_eq!(emu.snapshot().pins.len(), 3);
    assert_eq!(refreshes(&emu), 0);
    assert!(
        !emu.config_dir().join("tokens.json").exists(),
        "nothing stored while no refresh was needed"
    );

    // The access token expires: the next run renews it with the file's refresh token, keeps
    // the new pair in the token store, and leaves the file exactly as it was.
    assert!(emu.expire_access_token(&access));
    let more = url_manifest(dir.path(), 4, "Quickstart");
    let apply = with_file(&["apply", more.to_str().unwrap()]);
    assert!(apply.status.success(), "{}", stderr(&apply));
    assert_eq!(refreshes(&emu), 1);
    assert_eq!(emu.snapshot().pins.len(), 4);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        original,
        "the file is never written"
    );
    let stored = store(&emu);
    let entry = &stored["tokens"][emu.base_url()];
    let renewed = entry["access_token"].as_str().unwrap().to_owned();
    assert_ne!(renewed, access);
    assert!(emu.is_valid_access_token(&renewed));
    assert!(entry["token_file"].is_string());
    assert_eq!(entry["scopes"][0], "boards:read");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(emu.config_dir().join("tokens.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The file's pair is spent (the refresh rotated it); the renewed one is taken up.
    let status = with_file(&["auth", "status"]);
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(
        stdout(&status).contains("renewed since, the pair kept in the token store is used"),
        "{}",
        stdout(&status)
    );
    assert_eq!(refreshes(&emu), 1, "no second refresh");
    emu.assert_no_spec_violations();
}

#[test]
fn auth_import_stores_a_token_file_privately_and_bad_files_say_why() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let (file, access, refresh) = quickstart_file(&emu, dir.path());
    let original = std::fs::read(&file).unwrap();
    let import = emu
        .pinbatch()
        .args(["auth", "import"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", stderr(&import));
    assert!(stderr(&import).contains("an api-quickstart JSON token file"));
    assert!(emu.requests().is_empty(), "importing is offline");
    assert_eq!(std::fs::read(&file).unwrap(), original);
    let entry = &store(&emu)["tokens"][emu.base_url()];
    assert_eq!(entry["access_token"], access.as_str());
    assert_eq!(entry["refresh_token"], refresh.as_str());
    // The stored login is used without the file or the environment variable.
    let status = emu
        .pinbatch()
        .env_remove("PINTEREST_ACCESS_TOKEN")
        .args(["auth", "status"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(stdout(&status).contains("Token from:    token store"));
    // It is refreshable: the stored access token expires, a command renews it.
    emu.expire_access_token(&access);
    let boards = emu
        .pinbatch()
        .env_remove("PINTEREST_ACCESS_TOKEN")
        .args(["boards", "list"])
        .output()
        .unwrap();
    assert!(boards.status.success(), "{}", stderr(&boards));
    assert_eq!(refreshes(&emu), 1);

    // A plain token imports too; it has nothing to refresh with.
    let plain = dir.path().join("token.txt");
    std::fs::write(&plain, format!("{}\n", emu.token())).unwrap();
    let import = emu
        .pinbatch()
        .arg("--sandbox")
        .args(["auth", "import"])
        .arg(&plain)
        .env_remove("PINBATCH_API_BASE")
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", stderr(&import));
    assert!(stderr(&import).contains("a plain token file"));
    assert!(stderr(&import).contains("no refresh token"));
    let sandbox = &store(&emu)["tokens"]["https://api-sandbox.pinterest.com"];
    assert_eq!(sandbox["access_token"], emu.token().as_str());

    // A broken file: exit 3, where it is broken, never its text.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"access_token\": \"pina_secret\",\n  oops").unwrap();
    for args in [
        vec!["auth", "import"],
        vec!["boards", "list", "--token-file"],
    ] {
        let output = emu.pinbatch().args(&args).arg(&broken).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(3),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("not valid JSON at line 2"),
            "{}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("pina_secret"));
    }
}

#[test]
fn a_plain_token_file_says_so() {
    let emu = TestEmulator::start();
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("token");
    std::fs::write(&plain, format!("\n{}\n", emu.token())).unwrap();
    let status = emu
        .pinbatch()
        .env_remove("PINTEREST_ACCESS_TOKEN")
        .arg("--token-file")
        .arg(&plain)
        .args(["auth", "status", "--format", "json"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", stderr(&status));
    let json: Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(json["token_file_format"], "plain");
    assert_eq!(json["refreshable"], false);
}
