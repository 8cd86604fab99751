//! Shared integration-test harness: an in-process emulator on 127.0.0.1 (port 0) with OpenAPI
//! validation, and a `pinbatch` command pre-wired to it with an isolated environment.
//!
//! ```ignore
//! let emu = TestEmulator::start();
//! emu.pinbatch().args(["boards", "list"]).assert().success();
//! assert_eq!(emu.snapshot().pins.len(), 0);
//! emu.assert_no_spec_violations();
//! ```

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pinbatch_emulator::{Emulator, EmulatorConfig, parse_fault_spec};

/// Path of the official OpenAPI document: `PINBATCH_OPENAPI`, else
/// `../shared/pinterest-openapi/openapi.json` next to the crate. Panics if it does not exist,
/// because silently skipping validation would hide contract bugs.
pub fn openapi_path() -> PathBuf {
    let path = std::env::var_os("PINBATCH_OPENAPI")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/pinterest-openapi/openapi.json")
        });
    assert!(
        path.is_file(),
        "the OpenAPI document {} is missing: set PINBATCH_OPENAPI to the official openapi.json",
        path.display()
    );
    path
}

/// An emulator running on its own tokio runtime, for `#[test]` functions that drive the
/// `pinbatch` binary as a subprocess. Also owns a temporary config directory.
pub struct TestEmulator {
    emulator: Option<Emulator>,
    runtime: tokio::runtime::Runtime,
    config_dir: tempfile::TempDir,
}

impl TestEmulator {
    /// Starts an emulator with no faults and OpenAPI validation on.
    pub fn start() -> Self {
        Self::start_with(EmulatorConfig::default())
    }

    /// Starts an emulator with faults parsed from a spec string (panics on a bad spec).
    pub fn with_faults(spec: &str) -> Self {
        let faults = parse_fault_spec(spec).unwrap_or_else(|err| panic!("bad fault spec: {err}"));
        Self::start_with(EmulatorConfig {
            faults,
            ..EmulatorConfig::default()
        })
    }

    /// Starts an emulator from a config; `openapi` is filled in when left empty and port is 0.
    pub fn start_with(mut config: EmulatorConfig) -> Self {
        config.port = 0;
        if config.openapi.is_none() {
            config.openapi = Some(openapi_path());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("cannot build the test runtime");
        let emulator = runtime
            .block_on(Emulator::start(config))
            .expect("cannot start the emulator");
        let config_dir = tempfile::tempdir().expect("cannot create a temp config dir");
        TestEmulator {
            emulator: Some(emulator),
            runtime,
            config_dir,
        }
    }

    /// The emulator, for snapshots, recorded requests, seeding and token control.
    pub fn emu(&self) -> &Emulator {
        self.emulator.as_ref().expect("emulator already shut down")
    }

    /// The access token the emulator accepts from the start.
    pub fn token(&self) -> String {
        EmulatorConfig::default().access_token
    }

    /// The temporary directory used as `PINBATCH_CONFIG_DIR`.
    pub fn config_dir(&self) -> PathBuf {
        self.config_dir.path().to_path_buf()
    }

    /// Replaces the fault plan from a spec string (panics on a bad spec).
    pub fn set_fault_spec(&self, spec: &str) {
        let faults = parse_fault_spec(spec).unwrap_or_else(|err| panic!("bad fault spec: {err}"));
        self.emu().set_faults(faults);
    }

    /// Takes the server down as a crash would, keeping its store (see [`Emulator::suspend`]).
    pub fn suspend(&mut self) {
        let emulator = self.emulator.as_mut().expect("emulator already shut down");
        self.runtime.block_on(emulator.suspend());
    }

    /// Brings the server back on the same address with the same store.
    pub fn resume(&mut self) {
        let emulator = self.emulator.as_mut().expect("emulator already shut down");
        self.runtime
            .block_on(emulator.resume())
            .expect("cannot listen on the same address again");
    }

    /// Runs a future on the emulator's runtime (e.g. a reqwest call in a sync test).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The `pinbatch` binary with `--no-progress`, `PINBATCH_API_BASE` at the emulator,
    /// `PINTEREST_ACCESS_TOKEN` set to its token, `PINTEREST_APP_ID`/`PINTEREST_APP_SECRET` set
    /// to its app, `PINBATCH_CONFIG_DIR` in a temp dir, `NO_COLOR`, `PINBATCH_NO_LINK_CHECK=1`
    /// (manifests in tests name `https://example.com/...` images, and tests reach nothing but
    /// 127.0.0.1: `plan` must not fetch them; link-check tests remove it), and every other
    /// `PINTEREST_*`/`PINBATCH_*` variable of the caller's environment removed, and `CI` too
    /// (CI runs the tests with `CI=true`, under which `apply` refuses media outside the
    /// manifest's folder; the tests of that set it themselves).
    pub fn pinbatch(&self) -> assert_cmd::Command {
        let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_pinbatch"));
        for (name, _) in std::env::vars_os() {
            let name_text = name.to_string_lossy();
            if name_text.starts_with("PINTEREST_") || name_text.starts_with("PINBATCH_") {
                command.env_remove(&name);
            }
        }
        let defaults = EmulatorConfig::default();
        command
            .env("PINBATCH_API_BASE", self.base_url())
            .env("PINTEREST_ACCESS_TOKEN", self.token())
            .env("PINTEREST_APP_ID", defaults.app_id)
            .env("PINTEREST_APP_SECRET", defaults.app_secret)
            .env("PINBATCH_CONFIG_DIR", self.config_dir.path())
            .env("NO_COLOR", "1")
            .env("PINBATCH_NO_LINK_CHECK", "1")
            .env_remove("RUST_LOG")
            .env_remove("CI")
            .arg("--no-progress");
        command
    }

    /// The same command as [`TestEmulator::pinbatch`], as a plain process to spawn, kill or
    /// interrupt while it runs.
    pub fn process(&self) -> std::process::Command {
        let command = self.pinbatch();
        let mut process = std::process::Command::new(command.get_program());
        for (name, value) in command.get_envs() {
            match value {
                Some(value) => process.env(name, value),
                None => process.env_remove(name),
            };
        }
        process.args(command.get_args());
        process
    }

    /// Asserts that the pins of [`url_manifest`] exist exactly once on `board`, and nothing else
    /// is on it; `context` names the case in the failure message.
    pub fn assert_exactly_once(&self, n: usize, board: &str, context: &str) {
        let snapshot = self.emu().snapshot();
        let board = snapshot.board_named(board).expect("board exists");
        let mut titles: Vec<String> = snapshot
            .pins_on(&board.id)
            .iter()
            .filter_map(|p| p.title.clone())
            .collect();
        titles.sort();
        let mut expected: Vec<String> = (0..n).map(|i| format!("Pin number {i}")).collect();
        expected.sort();
        assert_eq!(titles, expected, "{context}: each pin exactly once");
    }

    /// How many requests of `method` on exactly `path` the emulator has answered.
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.emu()
            .requests()
            .iter()
            .filter(|r| r.is(method, path))
            .count()
    }

    /// Every write (POST, PATCH, DELETE) the emulator has answered, as `METHOD /path`.
    pub fn writes(&self) -> Vec<String> {
        self.emu()
            .requests()
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// How many `POST /v5/pins` the emulator has answered.
    pub fn creates(&self) -> usize {
        self.count("POST", "/v5/pins")
    }

    /// Waits until the emulator has answered `n` create requests in total, or `child` has
    /// exited; panics after 60 s, when something is wrong with the run, not the machine.
    pub fn wait_for_creates(&self, n: usize, child: &mut std::process::Child) {
        self.wait_until(child, &format!("{n} creates"), || self.creates() >= n);
    }

    /// Waits until `reached` holds, or `child` has exited; panics (naming `what`) after 60 s.
    pub fn wait_until(
        &self,
        child: &mut std::process::Child,
        what: &str,
        reached: impl Fn() -> bool,
    ) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !reached() {
            if child.try_wait().unwrap().is_some() {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "waited 60 s for {what}; requests so far: {:#?}",
                self.requests()
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Runs `apply` again with `args` and asserts that it succeeds, prints `expected` on stderr
    /// and sends no request at all.
    pub fn assert_rerun_sends_nothing(&self, args: &[&str], expected: &str) {
        self.emu().clear_requests();
        self.pinbatch()
            .arg("apply")
            .args(args)
            .assert()
            .success()
            .stderr(predicates::str::contains(expected));
        let requests = self.emu().requests();
        assert!(requests.is_empty(), "a re-run sent requests: {requests:?}");
    }

    /// Panics with every recorded OpenAPI violation, if any: request bodies pinbatch sent, and
    /// (an emulator bug, reported separately) responses the emulator sent.
    pub fn assert_no_spec_violations(&self) {
        let violations = self.emu().spec_violations();
        assert!(
            violations.is_empty(),
            "request bodies violated the OpenAPI schema:\n{}",
            violations.join("\n")
        );
        let own = self.emu().response_violations();
        assert!(
            own.is_empty(),
            "the emulator's responses violated the OpenAPI schema (emulator bug):\n{}",
            own.join("\n")
        );
    }
}

/// `emu.snapshot()`, `emu.requests()`, `emu.seed_board(..)` and the rest of [`Emulator`]'s API
/// work directly on a `TestEmulator`.
impl std::ops::Deref for TestEmulator {
    type Target = Emulator;

    fn deref(&self) -> &Emulator {
        self.emu()
    }
}

impl Drop for TestEmulator {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.runtime.block_on(emulator.shutdown());
        }
    }
}

/// The text of one part of an .xlsx (a zip of XML files).
pub fn xlsx_part(path: &Path, part: &str) -> String {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut text = String::new();
    archive
        .by_name(part)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// Writes a YAML manifest of `n` URL pins on `board` (titled `Pin number {i}`) into `dir` and
/// returns its path.
pub fn url_manifest(dir: &Path, n: usize, board: &str) -> PathBuf {
    let mut text = format!("version: 1\ndefaults:\n  board: \"{board}\"\npins:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - id: pin-{i:03}\n    title: Pin number {i}\n    description: Description {i}\n    link: https://example.com/p/{i}\n    image: https://example.com/img/{i}.jpg\n"
        ));
    }
    let path = dir.join("pins.yaml");
    std::fs::write(&path, text).unwrap();
    path
}
