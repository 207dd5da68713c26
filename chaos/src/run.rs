//! The live run: a sequence of phases over an injected outside world.
//!
//! - [`world`]: the [`world::World`] trait, everything the run does to the outside world
//!   (cluster, store, Velero, workload, faults, restore); the real one calls kind, docker, velero and the API, tests
//!   use a fake.
//! - [`engine`]: the sequencer: phases in order, every wait bounded, teardown always
//!   (unless `--keep`), also on error and on interrupt, and the (partial) result written.
//! - [`truth`]: the ground-truth poller of the writer's `GET /last`.
//! - [`progress`]: what a person sees on stderr while it runs.
//! - [`rundir`]: the run directory's files.
//!
//! The pieces it drives live beside it: [`crate::fault`] (each fault's pure decisions),
//! [`crate::velero`], [`crate::workload`], [`crate::minio`], [`crate::diagnostics`].

pub mod engine;
pub mod progress;
pub mod real;
pub mod rundir;
pub mod truth;
pub mod world;

pub use engine::{Config, Timeouts, run};
pub use world::World;
