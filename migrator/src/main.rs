//! The `migrator` command: parses arguments, starts logging, runs, maps the outcome to an exit code.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use migrator::cli::{self, Cli};
use migrator::error::{Error, EXIT_CHECK_FAILED};

/// Items are built from many small allocations on every core; mimalloc serves them faster than
/// the system allocator (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MIGRATOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {}", migrator::error::said_once(error.as_ref()));
            let code = error
                .chain()
                .find_map(|e| e.downcast_ref::<Error>())
                .map_or(EXIT_CHECK_FAILED, Error::exit_code);
            ExitCode::from(code as u8)
        }
    }
}
