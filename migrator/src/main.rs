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

/// Turns transparent huge pages off for this process: mimalloc asks for them, and a huge page
/// is cleared whole when first touched, however little of it is used. Without them a plan's
/// peak memory is about a tenth lower, and it no longer waits now and then while the kernel
/// gathers free memory into huge pages (docs/benchmarks.md, fourteenth run).
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours; when it
    // fails, pages stay as they were.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    no_huge_pages();
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
