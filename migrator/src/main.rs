//! The `migrator` command: parses arguments, starts logging, runs, and maps the outcome to the
//! exit code (the one place that does).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use migrator::cli::{self, Cli};
use migrator::error::{is_closed_output, Outcome};
use migrator::exit;
use migrator::progress::said_once;

/// Items are built from many small allocations on every core; mimalloc serves them faster than
/// the system allocator (see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What is logged unless MIGRATOR_LOG says otherwise: our own warnings, none of the libraries'.
const DEFAULT_LOG: &str = "migrator=warn";

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MIGRATOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG)),
        )
        .init();
    ExitCode::from(match cli::run(cli) {
        Ok(Outcome::Success) => exit::SUCCESS,
        Ok(Outcome::CheckFailed) => exit::CHECK_FAILED,
        Err(error) if is_closed_output(&error) => {
            exit::remove_temporaries();
            exit::CLOSED_OUTPUT
        }
        Err(error) => {
            migrator::say!("error: {}", said_once(error.as_ref()));
            exit::FAILED
        }
    })
}
