//! `pinbatch emulator`: runs the local Pinterest API emulator in the foreground until Ctrl-C.

use anyhow::Context as _;

use crate::cli::EmulatorArgs;
use crate::commands::exit::{ExitStatus, Fatal};
use pinbatch_emulator::{Emulator, EmulatorConfig};

/// Starts the emulator, prints how to use it, and serves until Ctrl-C (a normal stop: exit 0).
pub async fn run(args: &EmulatorArgs) -> anyhow::Result<ExitStatus> {
    let config = EmulatorConfig {
        port: args.port,
        faults: args.faults.clone().unwrap_or_default(),
        openapi: args.openapi.clone(),
        ..EmulatorConfig::default()
    };
    let token = config.access_token.clone();
    let (app_id, app_secret) = (config.app_id.clone(), config.app_secret.clone());
    let faults = config.faults.to_string();
    let emulator = Emulator::start(config).await.map_err(|err| {
        let hint = if err.kind() == std::io::ErrorKind::AddrInUse {
            "pick another port with --port, or --port 0 for any free one"
        } else {
            "check --port and --openapi"
        };
        // `Fatal` must be the root of the chain for `report_error` to find its hint.
        let mut cause = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(inner) = source {
            cause.push_str(&format!(": {inner}"));
            source = inner.source();
        }
        anyhow::Error::new(Fatal::new(ExitStatus::Failure, cause).with_hint(hint))
            .context("cannot start the emulator")
    })?;
    let base = emulator.base_url();
    println!("pinbatch emulator listening on {base} (in memory, 127.0.0.1 only)");
    println!("  export PINBATCH_API_BASE={base}");
    println!("  export PINTEREST_ACCESS_TOKEN={token}");
    println!("  OAuth: app id {app_id}, app secret {app_secret}, authorize page {base}/oauth/");
    println!("  faults: {faults}");
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    let requests = emulator.requests().len();
    let violations = emulator.spec_violations();
    let snapshot = emulator.snapshot();
    emulator.shutdown().await;
    eprintln!(
        "emulator stopped: {requests} requests, {} boards, {} pins",
        snapshot.boards.len(),
        snapshot.pins.len()
    );
    if args.openapi.is_some() {
        eprintln!(
            "{} request bodies violated the OpenAPI schema",
            violations.len()
        );
        for violation in violations {
            eprintln!("  {violation}");
        }
    }
    Ok(ExitStatus::Success)
}
