use std::process::ExitCode;

use clap::Parser;

/// jemalloc, not glibc's malloc: per-request allocations were 19% of the server's CPU under
/// load (`docs/benchmarks.md`, "Webhook under load"), and it stays within the memory budget.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    backstop_webhook::run(backstop_webhook::args::Cli::parse())
}
