//! What the workspace's tests share (a dev-dependency of `backstop-webhook` and `backstop-chaos`,
//! never shipped): a mock Kubernetes API server that answers as a real one does.
//!
//! Every answer comes from `fixtures/apiserver-captures/`: real answers of a kube-apiserver
//! v1.36 to the calls Backstop makes (the README there says what each file shows and what a
//! hand-written mock most often gets wrong). A test loads the exchange it needs
//! ([`captures::Captured::response`], [`apiserver::planned::captured`]) and names the file and
//! exchange beside it; an answer derived from a capture (other items, another kind) keeps the
//! capture's status, headers and body shape ([`bodies`]).
//!
//! What the server does on its own, and which capture says so:
//! - a request no route answers gets capture 01's `404 page not found` (`text/plain`), as a
//!   real server answers for a group, version or resource it does not serve;
//! - a watch is answered with capture 10's watch headers, one JSON event per line, and stays
//!   open until the test ends it (a real server ends it at `timeoutSeconds`);
//! - `fieldSelector=metadata.name=X` and a `labelSelector` of equalities, inequalities and
//!   existence tests filter list items and watch events, as the server applies them;
//! - every request is recorded with its query and body.
//!
//! Two ways to drive it, over one implementation: [`apiserver::MockApiServer`] starts at once
//! and takes routes, watch events and outages while the client runs (the webhook's reflector
//! tests); [`apiserver::planned::MockApiServer`] is given its routes first and started once
//! (the chaos harness's request/answer tests).

#![allow(clippy::missing_panics_doc)]

pub mod apiserver;
pub mod bodies;
pub mod captures;
mod selectors;
