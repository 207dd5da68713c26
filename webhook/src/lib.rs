//! Backstop admission webhook (`serve`) and coverage audit (`audit`).
//!
//! The decisions live in the `policy` crate; this crate is the shell around them: reading
//! manifests, answering AdmissionReviews over HTTPS, and rendering audit reports.
//!
//! Module map, in the order a review meets them (`docs/architecture.md` tells the whole flow):
//! - [`args`]: the command line (clap derive); every flag also a `BACKSTOP_*` variable.
//! - [`server`]: the HTTPS and probe listeners, and shutdown; [`tls`]: rustls setup and
//!   certificate rotation; [`dev_cert`]: the `--dev` certificate.
//! - [`admission`]: the `/mutate` and `/validate` router: body limits, deadlines, failure answers.
//! - [`review`]: the AdmissionReview wire format, the [`review::Decision`] and object heads.
//! - [`mutate`] and [`validate`]: the decisions, pure functions of the coverage index and the
//!   request.
//! - [`state`]: what handlers share (the current index, readiness, metrics); [`cache`]: the
//!   cluster view (manifests or reflectors) that rebuilds the index off the request path, and
//!   the backup evidence's caches (`cache::evidence`), judged into metrics, never decisions.
//! - [`metrics`]: the Prometheus metrics; `logging`: batched log lines on stderr.
//! - [`manifests`]: the policy file and folders of manifests, read from disk.
//! - [`audit`]: `backstop-webhook audit`, its cluster reader and its renderings.
//! - `serve`: `backstop-webhook serve`, wiring all of the above; [`WebhookError`]: the one error
//!   type.
//!
//! Public, on purpose, for the benches (`webhook/benches`), the fuzz targets and the integration
//! tests (`webhook/tests`): decoding and encoding reviews, the decision entry points
//! (`mutate::decide`, `validate::decide`/`validate::plan`, the `admission` router), policy and
//! manifest loading, and the pieces the integration tests assemble a server from. Everything
//! else is private to the crate.

pub mod admission;
pub mod args;
pub mod audit;
pub mod cache;
pub mod dev_cert;
mod error;
mod logging;
pub mod manifests;
pub mod metrics;
pub mod mutate;
pub mod review;
mod serve;
pub mod server;
pub mod state;
pub mod tls;
pub mod validate;

use std::process::ExitCode;

use args::{Cli, Command};

pub use error::WebhookError;

/// Runs a parsed command line and maps the outcome to the documented exit codes.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Audit(args) => audit::run(&args),
        Command::Serve(args) => serve::run(args),
    }
}
