//! The `pinbatch` binary: parse the command line, run it, print a fatal error, exit with its code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pinbatch::cli::Cli::parse();
    pinbatch::ui::init_logging(cli.global.terminal());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return pinbatch::exit::ExitStatus::Failure.into();
        }
    };
    let status = runtime.block_on(pinbatch::run(cli));
    status.into()
}
