//! The ways in without a Rust toolchain, tested against a local folder standing in for a GitHub
//! release: `install.sh` (archive choice, checksum, prefix, then smoke tests of the installed
//! binary) and the composite action in `action.yml` (its shell steps run as a runner would).
//!
//! The release is made here from the binary under test, or from `PINBATCH_DIST_BINARY` when set
//! (`.ci/run` points it at the release build). Nothing touches the network.

#![cfg(unix)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// Every target the release workflow builds, with its archive's file name.
const RELEASE_TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn install_script() -> PathBuf {
    repo_root().join("install.sh")
}

/// The binary packed into the release for this machine.
fn binary_under_test() -> PathBuf {
    std::env::var_os("PINBATCH_DIST_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pinbatch")))
}

/// The release target `install.sh` should pick on this machine.
fn host_target() -> String {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "linux" => format!("{arch}-unknown-linux-musl"),
        "macos" => format!("{arch}-apple-darwin"),
        other => panic!("no release target for {other}"),
    }
}

fn archive_name(target: &str) -> String {
    if target.contains("-windows-") {
        format!("pinbatch-{target}.zip")
    } else {
        format!("pinbatch-{target}.tar.gz")
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether a program is on PATH, for the cases that need one this machine may lack.
fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// A folder laid out like the assets of a release: one archive per target, each with its
/// `.sha256`. The host's archive holds the real binary; every other one holds a script that
/// prints `pinbatch 0.0.0-TARGET`, so a test can tell which archive was installed.
struct LocalRelease {
    _root: tempfile::TempDir,
    dir: PathBuf,
}

impl LocalRelease {
    fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("release");
        let staging = root.path().join("staging");
        std::fs::create_dir_all(&dir).unwrap();
        let host = host_target();
        for target in RELEASE_TARGETS {
            if target.contains("-windows-") && !(have("zip") && have("unzip")) {
                eprintln!("skipping the Windows archive: zip and unzip are not installed");
                continue;
            }
            let folder = staging.join(format!("pinbatch-{target}"));
            std::fs::create_dir_all(&folder).unwrap();
            let exe = if target.contains("-windows-") {
                "pinbatch.exe"
            } else {
                "pinbatch"
            };
            if target == host {
                // Without its debug info the test build packs in a second instead of a minute.
                let stripped = Command::new("strip")
                    .arg("-o")
                    .arg(folder.join(exe))
                    .arg(binary_under_test())
                    .output()
                    .is_ok_and(|out| out.status.success());
                if !stripped {
                    std::fs::copy(binary_under_test(), folder.join(exe)).unwrap();
                }
            } else {
                std::fs::write(
                    folder.join(exe),
                    format!("#!/bin/sh\necho 'pinbatch 0.0.0-{target}'\n"),
                )
                .unwrap();
            }
            std::fs::copy(repo_root().join("README.md"), folder.join("README.md")).unwrap();
            let archive = archive_name(target);
            let packed = if archive.ends_with(".zip") {
                run(Command::new("zip")
                    .args(["-qr", dir.join(&archive).to_str().unwrap()])
                    .arg(format!("pinbatch-{target}"))
                    .current_dir(&staging))
            } else {
                run(Command::new("tar")
                    .arg("-czf")
                    .arg(dir.join(&archive))
                    .arg(format!("pinbatch-{target}"))
                    .current_dir(&staging))
            };
            assert!(packed.status.success(), "packing {archive}: {packed:?}");
            let digest = sha256_hex(&std::fs::read(dir.join(&archive)).unwrap());
            std::fs::write(
                dir.join(format!("{archive}.sha256")),
                format!("{digest}  {archive}\n"),
            )
            .unwrap();
        }
        LocalRelease { _root: root, dir }
    }

    fn archive(&self, target: &str) -> PathBuf {
        self.dir.join(archive_name(target))
    }

    fn checksum_file(&self, target: &str) -> PathBuf {
        self.dir.join(format!("{}.sha256", archive_name(target)))
    }

    /// Appends a byte to the archive, so that it no longer matches its checksum.
    fn corrupt_archive(&self, target: &str) {
        let mut bytes = std::fs::read(self.archive(target)).unwrap();
        bytes.push(0);
        std::fs::write(self.archive(target), bytes).unwrap();
    }

    /// Runs `install.sh --base-url THIS --prefix PREFIX` with HOME at `home`.
    fn install(&self, home: &Path, prefix: &Path) -> Output {
        run(install_command(home, None)
            .arg("--base-url")
            .arg(&self.dir)
            .arg("--prefix")
            .arg(prefix))
    }
}

/// `sh install.sh ARGS` with a clean environment: HOME in a temp dir, no `PINBATCH_*` variables,
/// and `fake_bin` (fake `uname`/`sysctl`) first on PATH when given.
fn install_command(home: &Path, fake_bin: Option<&Path>) -> Command {
    let mut command = Command::new("sh");
    command.arg(install_script()).env_clear().env("HOME", home);
    let path = std::env::var("PATH").unwrap_or_default();
    let path = match fake_bin {
        Some(dir) => format!("{}:{path}", dir.display()),
        None => path,
    };
    command.env("PATH", path);
    command
}

/// A folder holding a fake `uname` (answering `-s` and `-m`) and `sysctl` (answering Rosetta's
/// `hw.optional.arm64`).
fn fake_machine(root: &Path, system: &str, machine: &str, arm64_capable: bool) -> PathBuf {
    let dir = root.join(format!("fake-{system}-{machine}-{arm64_capable}"));
    std::fs::create_dir_all(&dir).unwrap();
    write_script(
        &dir.join("uname"),
        &format!("case \"$1\" in -s) echo {system} ;; -m) echo {machine} ;; *) exit 1 ;; esac\n"),
    );
    write_script(
        &dir.join("sysctl"),
        &format!("echo {}\n", if arm64_capable { 1 } else { 0 }),
    );
    dir
}

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn version_of(binary: &Path) -> String {
    let out = run(Command::new(binary).arg("--version"));
    assert!(
        out.status.success(),
        "{} --version: {out:?}",
        binary.display()
    );
    text(&out.stdout).trim().to_owned()
}

#[test]
fn install_script_picks_this_machines_archive_and_the_installed_binary_works() {
    let release = LocalRelease::new();
    let home = tempfile::tempdir().unwrap();
    let prefix = home.path().join("opt");
    let out = release.install(home.path(), &prefix);
    assert!(out.status.success(), "install.sh failed: {out:?}");
    let installed = prefix.join("bin/pinbatch");
    let expected = format!("pinbatch {}", env!("CARGO_PKG_VERSION"));
    assert_eq!(
        version_of(&installed),
        expected,
        "the wrong archive was installed"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&archive_name(&host_target()))
            && stderr.contains(&format!("installed {expected} to {}", installed.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("is not on PATH"),
        "a PATH hint is due: {stderr}"
    );

    // Smoke tests of the installed copy: offline validation, a rehearsal against the built-in
    // emulator (loopback only), and GitHub annotations for a broken manifest.
    let examples = repo_root().join("examples");
    let validate = run(Command::new(&installed)
        .args(["validate", "pins.yaml", "pins.csv"])
        .current_dir(&examples));
    assert!(validate.status.success(), "{validate:?}");
    assert!(
        text(&validate.stderr).contains("pins.yaml: 5 pins, 0 errors"),
        "{validate:?}"
    );
    let config = tempfile::tempdir().unwrap();
    let apply = run(Command::new(&installed)
        .args(["--no-progress", "apply", "pins.yaml", "--emulator"])
        .env("PINBATCH_CONFIG_DIR", config.path())
        .env_remove("PINBATCH_API_BASE")
        .env_remove("PINTEREST_ACCESS_TOKEN")
        .current_dir(&examples));
    assert!(apply.status.success(), "{apply:?}");
    assert!(text(&apply.stderr).contains("4 created"), "{apply:?}");
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(
        broken.path().join("pins.yaml"),
        format!(
            "version: 1\npins:\n  - board: B\n    title: {}\n    image: https://example.com/a.jpg\n",
            "x".repeat(120)
        ),
    )
    .unwrap();
    let annotated = run(Command::new(&installed)
        .args(["validate", "--format", "github", "pins.yaml"])
        .current_dir(broken.path()));
    assert_eq!(annotated.status.code(), Some(1), "{annotated:?}");
    assert!(
        text(&annotated.stdout).starts_with("::error file=pins.yaml,line=4,col=12::title:"),
        "{annotated:?}"
    );
}

#[test]
fn install_script_picks_the_archive_by_system_and_processor() {
    let release = LocalRelease::new();
    let home = tempfile::tempdir().unwrap();
    let mut cases = vec![
        ("Linux", "x86_64", false, "x86_64-unknown-linux-musl"),
        ("Linux", "aarch64", false, "aarch64-unknown-linux-musl"),
        ("Linux", "arm64", false, "aarch64-unknown-linux-musl"),
        ("Darwin", "arm64", false, "aarch64-apple-darwin"),
        ("Darwin", "x86_64", false, "x86_64-apple-darwin"),
        // A shell under Rosetta on Apple silicon: the native arm64 build is taken.
        ("Darwin", "x86_64", true, "aarch64-apple-darwin"),
    ];
    if release.archive("x86_64-pc-windows-msvc").exists() {
        cases.push((
            "MINGW64_NT-10.0-20348",
            "x86_64",
            false,
            "x86_64-pc-windows-msvc",
        ));
    }
    for (system, machine, rosetta, target) in cases {
        let fake = fake_machine(home.path(), system, machine, rosetta);
        let prefix = home
            .path()
            .join(format!("prefix-{system}-{machine}-{rosetta}"));
        let out = run(install_command(home.path(), Some(&fake))
            .arg("--base-url")
            .arg(&release.dir)
            .arg("--prefix")
            .arg(&prefix));
        assert!(out.status.success(), "{system} {machine}: {out:?}");
        let exe = if target.contains("-windows-") {
            "pinbatch.exe"
        } else {
            "pinbatch"
        };
        let installed = prefix.join("bin").join(exe);
        let version = if target == host_target() {
            format!("pinbatch {}", env!("CARGO_PKG_VERSION"))
        } else {
            format!("pinbatch 0.0.0-{target}")
        };
        assert_eq!(version_of(&installed), version, "{system} {machine}");
    }

    for (system, machine) in [("Linux", "riscv64"), ("SunOS", "x86_64")] {
        let fake = fake_machine(home.path(), system, machine, false);
        let out = run(install_command(home.path(), Some(&fake))
            .arg("--base-url")
            .arg(&release.dir));
        assert_eq!(out.status.code(), Some(1), "{system} {machine}: {out:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("no prebuilt pinbatch") && stderr.contains("cargo install"),
            "{stderr}"
        );
    }
}

#[test]
fn install_script_refuses_an_archive_whose_checksum_does_not_match() {
    let release = LocalRelease::new();
    let host = host_target();
    let home = tempfile::tempdir().unwrap();
    let prefix = home.path().join("prefix");

    // One byte more in the archive: the download is not what the checksum names.
    release.corrupt_archive(&host);
    let out = release.install(home.path(), &prefix);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("checksum mismatch for {}", archive_name(&host)))
            && stderr.contains("nothing was installed"),
        "{stderr}"
    );
    assert!(!prefix.exists(), "nothing may be written on a mismatch");

    // A checksum file that holds no checksum, and one that is missing.
    std::fs::write(release.checksum_file(&host), "not a checksum\n").unwrap();
    let out = release.install(home.path(), &prefix);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("does not hold a SHA-256 checksum"),
        "{out:?}"
    );
    std::fs::remove_file(release.checksum_file(&host)).unwrap();
    let out = release.install(home.path(), &prefix);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("cannot download"), "{out:?}");
    assert!(
        !prefix.exists(),
        "nothing may be written without a checksum"
    );
}

#[test]
fn install_script_honours_the_prefix_the_environment_and_the_default() {
    let release = LocalRelease::new();
    let expected = format!("pinbatch {}", env!("CARGO_PKG_VERSION"));

    // No prefix: ~/.local/bin.
    let home = tempfile::tempdir().unwrap();
    let out = run(install_command(home.path(), None)
        .arg("--base-url")
        .arg(&release.dir));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        version_of(&home.path().join(".local/bin/pinbatch")),
        expected
    );

    // PINBATCH_PREFIX and PINBATCH_BASE_URL (as a file:// URL), and the PATH note left out
    // when the folder is on PATH already.
    let home = tempfile::tempdir().unwrap();
    let prefix = home.path().join("tools");
    let bin_dir = prefix.join("bin");
    let out = run(install_command(home.path(), None)
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("PINBATCH_PREFIX", &prefix)
        .env(
            "PINBATCH_BASE_URL",
            format!("file://{}", release.dir.display()),
        ));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(version_of(&bin_dir.join("pinbatch")), expected);
    assert!(!home.path().join(".local").exists());
    assert!(!text(&out.stderr).contains("not on PATH"), "{out:?}");

    // --prefix=DIR wins over the environment, and a second install replaces the first.
    let other = home.path().join("other");
    for _ in 0..2 {
        let out = run(install_command(home.path(), None)
            .env("PINBATCH_PREFIX", &prefix)
            .arg(format!("--prefix={}", other.display()))
            .arg(format!("--base-url={}", release.dir.display())));
        assert!(out.status.success(), "{out:?}");
    }
    assert_eq!(version_of(&other.join("bin/pinbatch")), expected);
    let leftovers: Vec<_> = std::fs::read_dir(other.join("bin"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["pinbatch"], "no temporary file may be left");
}

#[test]
fn install_script_prints_the_checksum_and_rejects_bad_usage() {
    let release = LocalRelease::new();
    let home = tempfile::tempdir().unwrap();
    let out = run(install_command(home.path(), None)
        .arg("--print-checksum")
        .arg("--base-url")
        .arg(&release.dir));
    assert!(out.status.success(), "{out:?}");
    let archive = std::fs::read(release.archive(&host_target())).unwrap();
    assert_eq!(text(&out.stdout).trim(), sha256_hex(&archive));
    assert!(!home.path().join(".local").exists());

    for args in [&["--frobnicate"][..], &["--prefix"], &["--version="]] {
        let out = run(install_command(home.path(), None).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(text(&out.stderr).contains("error:"), "{args:?}: {out:?}");
    }
    let help = run(install_command(home.path(), None).arg("--help"));
    assert!(help.status.success());
    assert!(text(&help.stdout).contains("--base-url"), "{help:?}");
}

// ---- the composite action ----

/// One run of the composite action's steps, as a GitHub runner would do them: `run` steps with
/// `bash --noprofile --norc -eo pipefail`, `${{ }}` expressions in `env`, `with`, `if` and
/// `working-directory` filled in, `GITHUB_OUTPUT` / `GITHUB_PATH` honoured, and
/// `actions/cache` played by `cache` (a hit copies the saved folder back; after a successful
/// run, a miss saves it). An expression or action the test does not know fails the test.
struct ActionRun {
    /// Per step, by name: `None` if skipped, else the step's output.
    steps: Vec<(String, Option<Output>)>,
}

impl ActionRun {
    fn step(&self, name: &str) -> Option<&Output> {
        self.steps
            .iter()
            .find(|(step, _)| step == name)
            .unwrap_or_else(|| panic!("no step {name:?}: {:?}", self.step_names()))
            .1
            .as_ref()
    }

    fn step_names(&self) -> Vec<&str> {
        self.steps.iter().map(|(name, _)| name.as_str()).collect()
    }

    fn succeeded(&self) -> bool {
        self.steps
            .iter()
            .all(|(_, out)| out.as_ref().is_none_or(|out| out.status.success()))
    }
}

struct Runner {
    root: tempfile::TempDir,
    workspace: PathBuf,
    cache: HashMap<String, PathBuf>,
}

impl Runner {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let workspace = root.path().join("workspace");
        std::fs::create_dir_all(&workspace).unwrap();
        Runner {
            root,
            workspace,
            cache: HashMap::new(),
        }
    }

    fn run_action(&mut self, inputs: &[(&str, &str)]) -> ActionRun {
        let text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
        let action: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
        let mut input_values = HashMap::new();
        for (name, spec) in action["inputs"].as_mapping().unwrap() {
            let name = name.as_str().unwrap().to_owned();
            let given = inputs.iter().find(|(input, _)| *input == name);
            let value = match given {
                Some((_, value)) => (*value).to_owned(),
                None => {
                    assert_ne!(
                        spec["required"].as_bool(),
                        Some(true),
                        "input {name} is required"
                    );
                    spec["default"].as_str().unwrap_or("").to_owned()
                }
            };
            input_values.insert(name, value);
        }
        for (name, _) in inputs {
            assert!(
                input_values.contains_key(*name),
                "action.yml has no input {name}"
            );
        }

        // A fresh runner: its own temp and tool cache; the workspace and cache persist.
        let run_dir = tempfile::tempdir_in(self.root.path()).unwrap();
        let runner_temp = run_dir.path().join("temp");
        let tool_cache = run_dir.path().join("toolcache");
        std::fs::create_dir_all(&runner_temp).unwrap();
        std::fs::create_dir_all(&tool_cache).unwrap();
        let github_path = run_dir.path().join("github_path");
        std::fs::write(&github_path, "").unwrap();
        let mut context = Context {
            inputs: input_values,
            outputs: HashMap::new(),
            runner_temp: runner_temp.clone(),
        };
        let mut to_save = Vec::new();
        let mut steps = Vec::new();
        for (index, step) in action["runs"]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .enumerate()
        {
            let name = step["name"].as_str().unwrap_or("unnamed").to_owned();
            let id = step["id"].as_str().map(str::to_owned);
            let failed_before = steps.iter().any(|(_, out): &(String, Option<Output>)| {
                out.as_ref().is_some_and(|out| !out.status.success())
            });
            let wanted = match step["if"].as_str() {
                Some(condition) => !failed_before && context.condition(condition),
                None => !failed_before,
            };
            if !wanted {
                steps.push((name, None));
                continue;
            }
            if let Some(uses) = step["uses"].as_str() {
                assert!(
                    uses.starts_with("actions/cache@"),
                    "the test does not emulate {uses}"
                );
                let path = PathBuf::from(context.expand(step["with"]["path"].as_str().unwrap()));
                let key = context.expand(step["with"]["key"].as_str().unwrap());
                assert!(
                    !key.is_empty() && path.is_absolute(),
                    "cache {key:?} {path:?}"
                );
                let hit = match self.cache.get(&key) {
                    Some(saved) => {
                        copy_dir(saved, &path);
                        true
                    }
                    None => {
                        to_save.push((key, path));
                        false
                    }
                };
                if let Some(id) = &id {
                    context
                        .outputs
                        .insert(format!("{id}.cache-hit"), hit.to_string());
                }
                steps.push((name, Some(run(&mut Command::new("true")))));
                continue;
            }
            let script = step["run"].as_str().expect("a step runs or uses");
            assert_eq!(
                step["shell"].as_str(),
                Some("bash"),
                "composite run steps name a shell"
            );
            let script_path = runner_temp.join(format!("step-{index}.sh"));
            std::fs::write(&script_path, script).unwrap();
            let output_file = runner_temp.join(format!("output-{index}"));
            std::fs::write(&output_file, "").unwrap();
            let directory = match step["working-directory"].as_str() {
                Some(dir) => self.workspace.join(context.expand(dir)),
                None => self.workspace.clone(),
            };
            let mut path = String::new();
            for line in std::fs::read_to_string(&github_path).unwrap().lines().rev() {
                path.push_str(line);
                path.push(':');
            }
            path.push_str(&std::env::var("PATH").unwrap_or_default());
            let mut command = Command::new("bash");
            command
                .args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script_path)
                .current_dir(directory)
                .env_clear()
                .env("PATH", path)
                .env("HOME", run_dir.path())
                .env("CI", "true")
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_ACTION_PATH", repo_root())
                .env("GITHUB_WORKSPACE", &self.workspace)
                .env("GITHUB_OUTPUT", &output_file)
                .env("GITHUB_PATH", &github_path)
                .env("RUNNER_OS", "Linux")
                .env("RUNNER_ARCH", "X64")
                .env("RUNNER_TEMP", &runner_temp)
                .env("RUNNER_TOOL_CACHE", &tool_cache);
            if let Some(env) = step["env"].as_mapping() {
                for (key, value) in env {
                    command.env(
                        key.as_str().unwrap(),
                        context.expand(value.as_str().unwrap()),
                    );
                }
            }
            let out = run(&mut command);
            if let Some(id) = &id {
                for line in std::fs::read_to_string(&output_file).unwrap().lines() {
                    let (key, value) = line.split_once('=').expect("key=value outputs");
                    context
                        .outputs
                        .insert(format!("{id}.{key}"), value.to_owned());
                }
            }
            steps.push((name, Some(out)));
        }
        let result = ActionRun { steps };
        if result.succeeded() {
            for (key, path) in to_save {
                let saved = self.root.path().join(format!("cache-{}", self.cache.len()));
                copy_dir(&path, &saved);
                self.cache.insert(key, saved);
            }
        }
        result
    }
}

/// The values `${{ }}` expressions of action.yml may use.
struct Context {
    inputs: HashMap<String, String>,
    /// `ID.NAME` -> value.
    outputs: HashMap<String, String>,
    runner_temp: PathBuf,
}

impl Context {
    fn value(&self, expression: &str) -> String {
        let expression = expression.trim();
        if let Some(name) = expression.strip_prefix("inputs.") {
            return self.inputs[name].clone();
        }
        if let Some(rest) = expression.strip_prefix("steps.") {
            let (id, name) = rest.split_once(".outputs.").expect("steps.ID.outputs.NAME");
            return self
                .outputs
                .get(&format!("{id}.{name}"))
                .cloned()
                .unwrap_or_default();
        }
        match expression {
            "github.action_path" => repo_root().display().to_string(),
            // As for an action used from a local path (`uses: ./`): no ref.
            "github.action_ref" => String::new(),
            "runner.temp" => self.runner_temp.display().to_string(),
            other => panic!("the test does not emulate the expression `{other}`"),
        }
    }

    fn expand(&self, text: &str) -> String {
        let mut result = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            result.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("a closed expression") + start;
            result.push_str(&self.value(&rest[start + 3..end]));
            rest = &rest[end + 2..];
        }
        result.push_str(rest);
        result
    }

    /// `if:` conditions of the form `A == 'text'` or `A != 'text'`.
    fn condition(&self, condition: &str) -> bool {
        let condition = condition.trim();
        let condition = condition
            .strip_prefix("${{")
            .and_then(|c| c.strip_suffix("}}"))
            .unwrap_or(condition);
        for (operator, equal) in [("!=", false), ("==", true)] {
            if let Some((left, right)) = condition.split_once(operator) {
                let right = right.trim().trim_matches('\'');
                return (self.value(left) == right) == equal;
            }
        }
        panic!("the test does not emulate the condition `{condition}`");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let out = run(Command::new("cp").arg("-a").arg(from).arg(to));
    assert!(out.status.success(), "{out:?}");
}

/// Copies the example manifests and their images into `DIR/pins` of the workspace.
fn example_manifests(workspace: &Path) {
    let out = run(Command::new("cp")
        .arg("-a")
        .arg(repo_root().join("examples"))
        .arg(workspace.join("pins")));
    assert!(out.status.success(), "{out:?}");
}

fn step_text(out: Option<&Output>) -> String {
    match out {
        Some(out) => format!(
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            text(&out.stdout),
            text(&out.stderr)
        ),
        None => "skipped".to_owned(),
    }
}

#[test]
fn action_installs_from_a_release_caches_it_and_validates_the_manifests() {
    let release = LocalRelease::new();
    let base_url = release.dir.display().to_string();
    let mut runner = Runner::new();
    example_manifests(&runner.workspace);
    let inputs = [
        ("manifests", "pins/*.yaml\npins/pins.csv"),
        ("base-url", base_url.as_str()),
    ];

    let first = runner.run_action(&inputs);
    assert!(first.succeeded(), "{:#?}", first.steps);
    let install = first.step("Install pinbatch");
    assert!(
        install.is_some(),
        "a cache miss installs: {:?}",
        first.step_names()
    );
    let on_path = step_text(first.step("Put pinbatch on PATH"));
    assert!(
        on_path.contains(&format!("pinbatch {}", env!("CARGO_PKG_VERSION"))),
        "{on_path}"
    );
    let validate = first
        .step("Validate the manifests")
        .expect("validation ran");
    assert!(
        !text(&validate.stdout).contains("::error"),
        "{}",
        step_text(Some(validate))
    );

    // The second run restores pinbatch from the cache. With the archive gone from the release,
    // any download attempt would fail the run.
    std::fs::remove_file(release.archive(&host_target())).unwrap();
    let second = runner.run_action(&inputs);
    assert!(second.succeeded(), "{:#?}", second.steps);
    assert!(
        second.step("Install pinbatch").is_none(),
        "a cache hit must not install"
    );
    assert!(second.step("Validate the manifests").is_some());
}

#[test]
fn action_fails_with_annotations_for_a_broken_manifest() {
    let release = LocalRelease::new();
    let base_url = release.dir.display().to_string();
    let mut runner = Runner::new();
    let manifests = runner.workspace.join("site");
    std::fs::create_dir_all(&manifests).unwrap();
    std::fs::write(
        manifests.join("pins.yaml"),
        "version: 1\npins:\n  - board: B\n    title: Fine\n    link: not a url\n    image: https://example.com/a.jpg\n",
    )
    .unwrap();
    let run = runner.run_action(&[
        ("manifests", "pins.yaml missing.csv"),
        ("working-directory", "site"),
        ("base-url", base_url.as_str()),
    ]);
    assert!(!run.succeeded());
    let validate = run.step("Validate the manifests").expect("validation ran");
    assert_eq!(
        validate.status.code(),
        Some(1),
        "{}",
        step_text(Some(validate))
    );
    let stdout = text(&validate.stdout);
    assert!(
        stdout.contains("::error file=pins.yaml,line=5,col=11::link:")
            && stdout.contains("::error file=missing.csv::"),
        "{stdout}"
    );

    // An empty manifests input is a usage error of the action itself.
    let run = runner.run_action(&[("manifests", " \n "), ("base-url", base_url.as_str())]);
    let validate = run.step("Validate the manifests").expect("validation ran");
    assert_eq!(validate.status.code(), Some(2));
    assert!(text(&validate.stdout).contains("::error::the manifests input names no manifest"));
}

#[test]
fn action_installs_nothing_from_a_release_with_a_bad_checksum() {
    let release = LocalRelease::new();
    release.corrupt_archive(&host_target());
    let base_url = release.dir.display().to_string();
    let mut runner = Runner::new();
    example_manifests(&runner.workspace);
    let run = runner.run_action(&[
        ("manifests", "pins/pins.yaml"),
        ("base-url", base_url.as_str()),
    ]);
    let install = run.step("Install pinbatch").expect("install ran");
    assert_eq!(install.status.code(), Some(1));
    assert!(
        text(&install.stderr).contains("checksum mismatch"),
        "{}",
        step_text(Some(install))
    );
    assert!(run.step("Validate the manifests").is_none());
    assert!(runner.cache.is_empty(), "a failed run saves no cache");
}

#[test]
fn action_shell_steps_pass_shellcheck() {
    // `.ci/run` puts ShellCheck on PATH; actionlint checks workflows but not action.yml.
    if !have("shellcheck") {
        eprintln!("skipping: shellcheck is not installed (.ci/run installs it)");
        return;
    }
    let action_text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let action: serde_yaml::Value = serde_yaml::from_str(&action_text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for step in action["runs"]["steps"].as_sequence().unwrap() {
        let Some(script) = step["run"].as_str() else {
            continue;
        };
        let path = dir.path().join(format!("step-{checked}.sh"));
        std::fs::write(&path, script).unwrap();
        let out = run(Command::new("shellcheck")
            .args(["--shell=bash", "--severity=style"])
            .arg(&path));
        assert!(
            out.status.success(),
            "step {:?}:\n{}",
            step["name"].as_str(),
            text(&out.stdout)
        );
        checked += 1;
    }
    assert!(checked >= 3, "the action has its run steps");
}

// ---- the pre-commit hooks ----

#[test]
fn pre_commit_hook_checks_the_manifests_and_only_them() {
    // `.ci/run` installs pre-commit from PyPI and puts it on PATH.
    if !have("pre-commit") || !have("git") {
        eprintln!("skipping: pre-commit or git is not installed (.ci/run installs pre-commit)");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(binary_under_test(), bin.join("pinbatch")).unwrap();
    let repo = root.path().join("repo");
    let out = run(Command::new("cp")
        .arg("-a")
        .arg(repo_root().join("examples"))
        .arg(&repo));
    assert!(out.status.success(), "{out:?}");
    // Not a manifest: the hook's default `files:` must leave it alone.
    std::fs::write(repo.join("other.yaml"), "not: [a manifest\n").unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let git = |args: &[&str]| {
        let out = run(Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "test")
            .env("GIT_AUTHOR_EMAIL", "test@example.com")
            .env("GIT_COMMITTER_NAME", "test")
            .env("GIT_COMMITTER_EMAIL", "test@example.com"));
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&["init", "--quiet"]);
    git(&["add", "--all"]);
    let try_hook = || {
        run(Command::new("pre-commit")
            .args(["try-repo"])
            .arg(repo_root())
            .args(["pinbatch-validate", "--all-files"])
            .current_dir(&repo)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", root.path().join("pre-commit-home"))
            .env("GIT_CONFIG_GLOBAL", "/dev/null"))
    };
    let out = try_hook();
    assert!(out.status.success(), "{}", step_text(Some(&out)));
    assert!(text(&out.stdout).contains("Passed"), "{out:?}");

    std::fs::write(
        repo.join("pins.csv"),
        "board,title,image\nAnimals,Cat,no-such-file.jpg\n",
    )
    .unwrap();
    git(&["add", "--all"]);
    let out = try_hook();
    assert_eq!(out.status.code(), Some(1), "{}", step_text(Some(&out)));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Failed") && stdout.contains("pins.csv: row 2: error: image:"),
        "{stdout}"
    );
    assert!(!stdout.contains("other.yaml"), "{stdout}");
}

// ---- one naming scheme for the workflow, install.sh and cargo-binstall ----

/// The value of `key = "..."` in a `[table]` of Cargo.toml (plain string values only).
fn cargo_toml_string(table: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let mut in_table = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_table = line == format!("[{table}]");
            continue;
        }
        if in_table
            && let Some((name, value)) = line.split_once('=')
            && name.trim() == key
        {
            return Some(value.trim().trim_matches('"').to_owned());
        }
    }
    None
}

#[test]
fn release_workflow_binstall_metadata_and_install_script_agree_on_the_archives() {
    let workflow =
        std::fs::read_to_string(repo_root().join(".github/workflows/release.yml")).unwrap();
    let workflow: serde_yaml::Value = serde_yaml::from_str(&workflow).unwrap();
    let mut built: Vec<&str> = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|entry| entry["target"].as_str().unwrap())
        .collect();
    built.sort_unstable();
    let mut expected = RELEASE_TARGETS.to_vec();
    expected.sort_unstable();
    assert_eq!(
        built, expected,
        "the workflow builds the targets install.sh knows"
    );

    let repository = cargo_toml_string("package", "repository").expect("a repository URL");
    let install = std::fs::read_to_string(install_script()).unwrap();
    assert!(
        install.contains(&format!("REPOSITORY_URL=\"{repository}\"")),
        "install.sh downloads from the crate's repository"
    );
    let version = env!("CARGO_PKG_VERSION");
    for target in RELEASE_TARGETS {
        let windows = target.contains("-windows-");
        let table = if windows {
            format!("package.metadata.binstall.overrides.{target}")
        } else {
            "package.metadata.binstall".to_owned()
        };
        let pkg_url = cargo_toml_string(&table, "pkg-url")
            .or_else(|| cargo_toml_string("package.metadata.binstall", "pkg-url"))
            .unwrap();
        let bin_dir = cargo_toml_string("package.metadata.binstall", "bin-dir").unwrap();
        let expand = |template: &str| {
            template
                .replace("{ repo }", &repository)
                .replace("{ version }", version)
                .replace("{ name }", "pinbatch")
                .replace("{ target }", target)
                .replace("{ bin }", "pinbatch")
                .replace("{ binary-ext }", if windows { ".exe" } else { "" })
        };
        assert_eq!(
            expand(&pkg_url),
            format!(
                "{repository}/releases/download/v{version}/{}",
                archive_name(target)
            )
        );
        let exe = if windows { "pinbatch.exe" } else { "pinbatch" };
        assert_eq!(expand(&bin_dir), format!("pinbatch-{target}/{exe}"));
    }
}
