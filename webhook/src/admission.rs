//! The admission router: `POST /mutate` and `POST /validate`, with the protocol's robustness.
//!
//! - Every decodable review gets HTTP 200 with an answer echoing its `uid`; JSON that is not a
//!   review gets 200 with an invalid answer (uid echoed when it can be found, else empty);
//!   a body that is not JSON gets 400, one above [`MAX_REVIEW_BYTES`] 413, another method 405,
//!   a `Content-Type` other than `application/json` (optionally `; charset=utf-8`) 415.
//! - The apiserver's `?timeout=` (default 10s, capped at 30s) sets a server-side deadline of
//!   `min(80% of it, it - 500ms)` ([`deadline`]), counted from when the handler starts and
//!   covering reading the body and deciding. When it runs out, the answer is the configured
//!   failure decision (`--timeout-decision`), before the apiserver gives up on its own. Cheap
//!   decisions run inline: Namespaces, PVCs and Schedule changes that touch at most
//!   [`INLINE_SCHEDULE_REACH`] objects (tens of microseconds). A Schedule change that
//!   re-evaluates more (a `*` schedule on a large cluster) runs on the blocking pool, so the
//!   deadline can fire while it works and other reviews are not held up.
//! - At most [`AdmissionLimits::max_in_flight`] reviews are decided at once (`--max-in-flight`).
//!   Past that bound a review is not queued: it is read and answered at once (HTTP 200, its uid
//!   echoed) with the failure decision, decoded only as far as its uid, kind and operation
//!   ([`review::probe`]; a body the probe cannot settle is decoded whole), and counted as
//!   `backstop_admission_failures_total{reason="overloaded"}`. Its body must still arrive within
//!   the deadline, so no answer comes later than `?timeout=` minus the margin either way.
//! - A body has at most [`AdmissionLimits::body_read`] (`--body-read-timeout`, and never more
//!   than the deadline) to arrive whole; a client still trickling it then gets HTTP 408.
//! - The failure decision follows `--timeout-decision` and the policy's `enforcement`: `deny`
//!   refuses (504 Timeout, 429 TooManyRequests or 500 InternalError) only under
//!   `enforcement: deny`; under `warn` it admits with a warning, under `dry-run` silently
//!   (logged), as every other denial would be.
//! - A panic while deciding is caught and answered with the failure decision as well.
//! - `dryRun` requests are decided exactly like others: deciding has no side effect.
//! - One tracing span per review at DEBUG (uid, kind, namespace, name, operation, verdict,
//!   mutated, duration); a denial, or what `warn`/`dry-run` let through, logs at INFO.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use policy::Enforcement;
use policy::duration::parse_go_duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::field::{Empty, debug as debug_value};

use crate::args::TimeoutDecision;
use crate::metrics::{DecisionRecord, FailureReason};
use crate::review::{
    self, API_VERSION_V1, AdmissionRequest, Decision, DecodeError, Operation, Outcome,
};
use crate::state::AppState;
use crate::{mutate, validate};

/// The apiserver sends reviews of objects up to etcd's 1.5 MiB, twice (object and oldObject),
/// plus the request: 7 MiB leaves room, as the upstream webhook examples do.
pub const MAX_REVIEW_BYTES: usize = 7 * 1024 * 1024;
/// The apiserver's timeout when the query has none (its default `timeoutSeconds`).
pub const DEFAULT_APISERVER_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest `timeoutSeconds` a webhook configuration may set.
pub const MAX_APISERVER_TIMEOUT: Duration = Duration::from_secs(30);
/// Time kept back for the answer to travel back before the apiserver gives up.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(500);
/// A Schedule change that re-evaluates at most this many objects (about a microsecond each,
/// twice) is decided on the request's own thread: handing it to the blocking pool would cost
/// more CPU than deciding it. Larger ones go to the blocking pool.
pub const INLINE_SCHEDULE_REACH: usize = 64;

/// Reviews decided at once by default: more than one kube-apiserver sends with its default
/// `--max-mutating-requests-inflight=200`, so the bound bites only when reviews pile up.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// How long a request body may take to arrive whole by default (the deadline may cut it shorter).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Bounds of the admission handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Reviews being read or decided at once; past it, reviews get the failure decision at once.
    pub max_in_flight: usize,
    /// A body must arrive whole within this (and within the deadline).
    pub body_read: Duration,
}

impl Default for AdmissionLimits {
    fn default() -> Self {
        Self {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            body_read: DEFAULT_BODY_READ_TIMEOUT,
        }
    }
}

/// What the handlers share: the application state and the bound on reviews in flight.
#[derive(Clone)]
struct Handlers {
    state: AppState,
    in_flight: Arc<Semaphore>,
    limits: AdmissionLimits,
    overload_log: Arc<RateLimitedLog>,
}

/// The router the HTTPS server mounts, with the default [`AdmissionLimits`].
pub fn router(state: AppState) -> Router {
    router_with_limits(state, AdmissionLimits::default())
}

/// The router the HTTPS server mounts: `POST /mutate` and `POST /validate`.
pub fn router_with_limits(state: AppState, limits: AdmissionLimits) -> Router {
    let handlers = Handlers {
        state,
        in_flight: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
        limits,
        overload_log: Arc::new(RateLimitedLog::new(OVERLOAD_LOG_EVERY)),
    };
    Router::new()
        .route("/mutate", post(mutate_handler))
        .route("/validate", post(validate_handler))
        .layer(DefaultBodyLimit::max(MAX_REVIEW_BYTES))
        .with_state(handlers)
}

/// Shedding logs one WARN per this period (with the count since the last), not one per review.
const OVERLOAD_LOG_EVERY: Duration = Duration::from_secs(10);

/// Counts events and says when a WARN is due: at the first, then at most once per period.
struct RateLimitedLog {
    period: Duration,
    last: std::sync::Mutex<Option<Instant>>,
    since: std::sync::atomic::AtomicU64,
}

impl RateLimitedLog {
    fn new(period: Duration) -> Self {
        Self {
            period,
            last: std::sync::Mutex::new(None),
            since: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Counts one event; `Some(count since the last WARN)` when a WARN is due now.
    fn tick(&self) -> Option<u64> {
        use std::sync::atomic::Ordering;
        let count = self.since.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last.lock().ok()?;
        let now = Instant::now();
        if last.is_some_and(|last| now.duration_since(last) < self.period) {
            return None;
        }
        *last = Some(now);
        self.since.store(0, Ordering::Relaxed);
        Some(count)
    }
}

/// Holds a place among the reviews in flight, and the gauge that counts them.
struct InFlight {
    _permit: OwnedSemaphorePermit,
    metrics: Arc<crate::metrics::Metrics>,
}

impl InFlight {
    fn new(permit: OwnedSemaphorePermit, metrics: &Arc<crate::metrics::Metrics>) -> Self {
        metrics.add_in_flight(1);
        Self {
            _permit: permit,
            metrics: Arc::clone(metrics),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.metrics.add_in_flight(-1);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Mutate,
    Validate,
}

impl Endpoint {
    fn as_str(self) -> &'static str {
        match self {
            Self::Mutate => "mutate",
            Self::Validate => "validate",
        }
    }
}

async fn mutate_handler(State(handlers): State<Handlers>, request: Request) -> Response {
    serve(Endpoint::Mutate, handlers, request).await
}

async fn validate_handler(State(handlers): State<Handlers>, request: Request) -> Response {
    serve(Endpoint::Validate, handlers, request).await
}

/// The apiserver's timeout, from the request's query (`timeout=10s`), capped at 30s.
pub fn apiserver_timeout(query: Option<&str>) -> Duration {
    query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .find_map(|pair| pair.strip_prefix("timeout="))
        .and_then(|value| parse_go_duration(value).ok())
        .unwrap_or(DEFAULT_APISERVER_TIMEOUT)
        .min(MAX_APISERVER_TIMEOUT)
}

/// How long Backstop may take: `min(80% of the timeout, timeout - 500ms)`, so the answer
/// (even a failure decision) reaches the apiserver before it gives up. 10s → 8s, 5s → 4s,
/// 1s → 500ms, anything under 500ms → zero (answered with the failure decision unless the
/// review is already complete and decided without waiting).
pub fn deadline(timeout: Duration) -> Duration {
    let timeout = timeout.min(MAX_APISERVER_TIMEOUT);
    (timeout * 4 / 5).min(timeout.saturating_sub(DEADLINE_MARGIN))
}

/// `application/json`, with an optional `charset=utf-8` (JSON is UTF-8).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';');
    let media_type = parts.next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/json")
        && parts.all(|parameter| match parameter.split_once('=') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
                let charset = value.trim().trim_matches('"');
                charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
            }
            _ => true,
        })
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// What is known of a review once decoded, for an answer the deadline cuts short.
struct Seen {
    uid: String,
    api_version: &'static str,
    kind: &'static str,
    operation: &'static str,
}

async fn serve(endpoint: Endpoint, handlers: Handlers, request: Request) -> Response {
    let started = Instant::now();
    let state = &handlers.state;
    if !is_json(request.headers()) {
        state.metrics.record_failure(FailureReason::Decode);
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "an AdmissionReview must be sent as Content-Type: application/json\n",
        )
            .into_response();
    }
    if declared_length(request.headers()).is_some_and(|length| length > MAX_REVIEW_BYTES as u64) {
        state.metrics.record_failure(FailureReason::Decode);
        return too_large();
    }
    let budget = deadline(apiserver_timeout(request.uri().query()));
    // Never queued: a review past the bound is answered at once with the failure decision.
    let slot = match Arc::clone(&handlers.in_flight).try_acquire_owned() {
        Ok(permit) => Slot::Decide(InFlight::new(permit, &state.metrics)),
        Err(_) => Slot::Shed,
    };
    let mut seen = None;
    let answered = tokio::time::timeout(
        budget,
        answer(endpoint, &handlers, request, &mut seen, started, slot),
    )
    .await;
    match answered {
        Ok(response) => response,
        Err(_elapsed) => {
            state.metrics.record_failure(FailureReason::Timeout);
            let decision = failure_decision(
                state.timeout_decision,
                state.index().policy().enforcement,
                Failure::Timeout,
                &format!(
                    "the backstop webhook timed out: no decision within {}ms of the apiserver's deadline",
                    budget.as_millis()
                ),
            );
            tracing::warn!(
                endpoint = endpoint.as_str(),
                uid = seen.as_ref().map(|seen| seen.uid.as_str()).unwrap_or_default(),
                budget = ?budget,
                allowed = decision.is_allowed(),
                "admission review timed out; answered with the failure decision"
            );
            failed(endpoint, state, seen, &decision, started)
        }
    }
}

/// Whether a review holds a place among those in flight, or is past the bound.
enum Slot {
    Decide(InFlight),
    Shed,
}

fn too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("an AdmissionReview may be at most {MAX_REVIEW_BYTES} bytes\n"),
    )
        .into_response()
}

/// Why a review could not be decided normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    Timeout,
    Overloaded,
    Internal,
}

/// The answer when the review could not be decided: the configured failure decision, under the
/// policy's enforcement mode like any other denial (only `enforcement: deny` refuses).
fn failure_decision(
    configured: TimeoutDecision,
    enforcement: Enforcement,
    failure: Failure,
    why: &str,
) -> Decision {
    match (configured, enforcement) {
        (_, Enforcement::DryRun) => Decision {
            overridden: Some(format!("dry-run: {why}; admitted without checks")),
            ..Decision::allow()
        },
        (TimeoutDecision::Allow, _) => Decision::allow().with_warnings(vec![format!(
            "{why}; admitted without checks (--timeout-decision=allow)"
        )]),
        (TimeoutDecision::Deny, Enforcement::Warn) => Decision {
            overridden: Some(format!("warn: {why}")),
            ..Decision::allow().with_warnings(vec![format!(
                "{why}; admitted without checks (enforcement is warn)"
            )])
        },
        (TimeoutDecision::Deny, Enforcement::Deny) => {
            let mut decision = Decision::deny(format!("{why}; denied (--timeout-decision=deny)"));
            if let Some(refusal) = decision.refusal.as_mut() {
                (refusal.code, refusal.reason) = match failure {
                    Failure::Timeout => (504, "Timeout"),
                    Failure::Overloaded => (429, "TooManyRequests"),
                    Failure::Internal => (500, "InternalError"),
                };
            }
            decision
        }
    }
}

fn failed(
    endpoint: Endpoint,
    state: &AppState,
    seen: Option<Seen>,
    decision: &Decision,
    started: Instant,
) -> Response {
    let (uid, api_version, kind, operation) = match &seen {
        Some(seen) => (
            seen.uid.as_str(),
            seen.api_version,
            seen.kind,
            seen.operation,
        ),
        None => ("", API_VERSION_V1, "other", Operation::Other.as_str()),
    };
    state.metrics.record_decision(DecisionRecord {
        endpoint: endpoint.as_str(),
        kind,
        operation,
        verdict: decision.outcome().as_str(),
        elapsed: started.elapsed(),
    });
    json(review::encode(api_version, uid, decision))
}

fn json(body: Vec<u8>) -> Response {
    if body.is_empty() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn answer(
    endpoint: Endpoint,
    handlers: &Handlers,
    request: Request,
    seen: &mut Option<Seen>,
    started: Instant,
    slot: Slot,
) -> Response {
    let state = &handlers.state;
    let body_read = handlers.limits.body_read;
    let body = match tokio::time::timeout(body_read, Bytes::from_request(request, &())).await {
        Ok(Ok(body)) => body,
        Ok(Err(rejection)) => {
            state.metrics.record_failure(FailureReason::Decode);
            // 413 past the body limit, 400 for a body that could not be read.
            return rejection.into_response();
        }
        Err(_elapsed) => {
            state.metrics.record_failure(FailureReason::SlowBody);
            tracing::debug!(
                endpoint = endpoint.as_str(),
                body_read = ?body_read,
                "request body not received in time"
            );
            return (
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {}ms\n",
                    body_read.as_millis()
                ),
            )
                .into_response();
        }
    };
    if matches!(slot, Slot::Shed)
        && let Some(head) = review::probe(&body)
    {
        return shed(endpoint, handlers, &head, started);
    }
    let review = match review::decode(&body) {
        Ok(review) => review,
        Err(DecodeError::NotJson(reason)) => {
            state.metrics.record_failure(FailureReason::Decode);
            return (
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {reason}\n"),
            )
                .into_response();
        }
        Err(DecodeError::NotReview { uid, reason }) => {
            state.metrics.record_failure(FailureReason::Decode);
            tracing::debug!(
                endpoint = endpoint.as_str(),
                uid,
                reason,
                "not an AdmissionReview"
            );
            let decision = Decision::invalid(reason);
            let seen = Seen {
                uid,
                api_version: API_VERSION_V1,
                kind: "other",
                operation: Operation::Other.as_str(),
            };
            return failed(endpoint, state, Some(seen), &decision, started);
        }
    };
    let request = &review.request;
    let kind = request.subject().as_str();
    let operation = request.operation.as_str();
    *seen = Some(Seen {
        uid: request.uid.to_string(),
        api_version: review.api_version,
        kind,
        operation,
    });
    let span = tracing::debug_span!(
        "admission",
        endpoint = endpoint.as_str(),
        uid = %request.uid,
        kind = %request.kind.kind,
        namespace = %request.namespace,
        name = %request.name,
        operation,
        dry_run = request.dry_run,
        verdict = Empty,
        mutated = Empty,
        duration = Empty,
    );

    let shed = matches!(slot, Slot::Shed);
    let decided = match slot {
        Slot::Decide(in_flight) => {
            let decided = decide(endpoint, state, request).await;
            drop(in_flight);
            decided.map_err(|()| Failure::Internal)
        }
        Slot::Shed => Err(Failure::Overloaded),
    };
    let decision = match decided {
        Ok(decision) => decision,
        Err(Failure::Overloaded) => overloaded(handlers, &request.uid),
        Err(failure) => {
            state.metrics.record_failure(FailureReason::Internal);
            let decision = failure_decision(
                state.timeout_decision,
                state.index().policy().enforcement,
                failure,
                "the backstop webhook failed internally while deciding",
            );
            tracing::error!(
                parent: &span,
                uid = %request.uid,
                kind = %request.kind.kind,
                namespace = %request.namespace,
                name = %request.name,
                "admission decision failed internally; answered with the failure decision"
            );
            decision
        }
    };

    let outcome = decision.outcome();
    let elapsed = started.elapsed();
    span.record("verdict", outcome.as_str());
    span.record("mutated", decision.patch.is_some());
    span.record("duration", debug_value(elapsed));
    if !shed {
        // Shed reviews were logged above, rate-limited: one line each would add to the load.
        log_decision(&span, request, &decision, outcome);
    }
    state.metrics.record_decision(DecisionRecord {
        endpoint: endpoint.as_str(),
        kind,
        operation,
        verdict: outcome.as_str(),
        elapsed,
    });
    json(review::encode(review.api_version, &request.uid, &decision))
}

/// The answer to a review past `--max-in-flight`, from its head alone.
fn shed(
    endpoint: Endpoint,
    handlers: &Handlers,
    head: &review::Head<'_>,
    started: Instant,
) -> Response {
    let decision = overloaded(handlers, &head.uid);
    handlers.state.metrics.record_decision(DecisionRecord {
        endpoint: endpoint.as_str(),
        kind: head.subject.as_str(),
        operation: head.operation.as_str(),
        verdict: decision.outcome().as_str(),
        elapsed: started.elapsed(),
    });
    json(review::encode(head.api_version, &head.uid, &decision))
}

/// The failure decision for a review shed past the bound, counted, and logged at most once per
/// [`OVERLOAD_LOG_EVERY`] (one line each would add to the load).
fn overloaded(handlers: &Handlers, uid: &str) -> Decision {
    let state = &handlers.state;
    state.metrics.record_failure(FailureReason::Overloaded);
    let max = handlers.limits.max_in_flight;
    let decision = failure_decision(
        state.timeout_decision,
        state.index().policy().enforcement,
        Failure::Overloaded,
        &format!("the backstop webhook is overloaded: {max} reviews already in flight"),
    );
    match handlers.overload_log.tick() {
        Some(count) => tracing::warn!(
            max_in_flight = max,
            shed = count,
            uid,
            allowed = decision.is_allowed(),
            "overloaded: reviews past --max-in-flight answered at once with the failure decision"
        ),
        None => tracing::debug!(uid, "overloaded: answered with the failure decision"),
    }
    decision
}

fn log_decision(
    span: &tracing::Span,
    request: &AdmissionRequest<'_>,
    decision: &Decision,
    outcome: Outcome,
) {
    let logged = match (decision.message(), &decision.overridden) {
        (Some(message), _) if outcome == Outcome::Denied => Some((message, "admission denied")),
        (_, Some(overridden)) => Some((
            overridden.as_str(),
            "admission allowed by enforcement mode or exception",
        )),
        _ => None,
    };
    match logged {
        Some((message, what)) => tracing::info!(
            parent: span,
            uid = %request.uid,
            kind = %request.kind.kind,
            namespace = %request.namespace,
            name = %request.name,
            operation = request.operation.as_str(),
            dry_run = request.dry_run,
            message,
            "{what}"
        ),
        None => tracing::debug!(parent: span, "admission decided"),
    }
}

/// Runs the pure decision functions, catching panics; Schedule changes go to the blocking pool.
async fn decide(
    endpoint: Endpoint,
    state: &AppState,
    request: &AdmissionRequest<'_>,
) -> Result<Decision, ()> {
    let index = state.index();
    match endpoint {
        Endpoint::Mutate => guarded(|| mutate::decide(&index, request)),
        Endpoint::Validate => match guarded(|| validate::plan(&index, request))? {
            validate::Plan::Decided(decision) => Ok(decision),
            validate::Plan::Schedule(review)
                if guarded(|| review.reach(&index))? <= INLINE_SCHEDULE_REACH =>
            {
                guarded(|| review.decide(&index))
            }
            validate::Plan::Schedule(review) => {
                let index = Arc::clone(&index);
                tokio::task::spawn_blocking(move || review.decide(&index))
                    .await
                    .map_err(|_| ())
            }
        },
    }
}

fn guarded<T>(decide: impl FnOnce() -> T) -> Result<T, ()> {
    catch_unwind(AssertUnwindSafe(decide)).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_fifth_or_half_a_second_of_the_apiservers_timeout() {
        for (timeout, expected) in [
            (Duration::from_secs(10), Duration::from_secs(8)),
            (Duration::from_secs(5), Duration::from_secs(4)),
            (Duration::from_secs(2), Duration::from_millis(1500)),
            (Duration::from_secs(1), Duration::from_millis(500)),
            (Duration::from_millis(400), Duration::ZERO),
            (Duration::from_secs(3600), Duration::from_secs(24)),
        ] {
            assert_eq!(deadline(timeout), expected, "timeout {timeout:?}");
        }
    }

    #[test]
    fn turns_a_panic_while_deciding_into_an_error_value() {
        assert_eq!(guarded(|| 7), Ok(7));
        let result: Result<(), ()> = guarded(|| panic!("decision bug"));
        assert_eq!(result, Err(()));
    }

    #[test]
    fn answers_failures_with_the_configured_decision() {
        let deny =
            |failure| failure_decision(TimeoutDecision::Deny, Enforcement::Deny, failure, "x");
        let refusal = deny(Failure::Internal).refusal.unwrap();
        assert_eq!((refusal.code, refusal.reason), (500, "InternalError"));
        assert_eq!(deny(Failure::Timeout).refusal.unwrap().code, 504);
        let refusal = deny(Failure::Overloaded).refusal.unwrap();
        assert_eq!((refusal.code, refusal.reason), (429, "TooManyRequests"));
        let allowed = failure_decision(
            TimeoutDecision::Allow,
            Enforcement::Deny,
            Failure::Timeout,
            "slow",
        );
        assert!(allowed.is_allowed());
        assert_eq!(
            allowed.warnings,
            ["slow; admitted without checks (--timeout-decision=allow)"]
        );
    }

    #[test]
    fn a_failure_denies_only_under_enforcement_deny() {
        let warned = failure_decision(
            TimeoutDecision::Deny,
            Enforcement::Warn,
            Failure::Overloaded,
            "busy",
        );
        assert!(warned.is_allowed());
        assert_eq!(
            warned.warnings,
            ["busy; admitted without checks (enforcement is warn)"]
        );
        assert_eq!(warned.overridden.as_deref(), Some("warn: busy"));
        for configured in [TimeoutDecision::Deny, TimeoutDecision::Allow] {
            let silent =
                failure_decision(configured, Enforcement::DryRun, Failure::Timeout, "slow");
            assert!(silent.is_allowed() && silent.warnings.is_empty());
            assert!(
                silent.overridden.is_some(),
                "dry-run logs what it let through"
            );
        }
    }

    #[test]
    fn warns_about_shedding_at_most_once_per_period() {
        let log = RateLimitedLog::new(Duration::from_secs(3600));
        assert_eq!(log.tick(), Some(1));
        assert_eq!(log.tick(), None);
        assert_eq!(log.tick(), None);
        let log = RateLimitedLog::new(Duration::ZERO);
        assert_eq!(log.tick(), Some(1));
        assert_eq!(log.tick(), Some(1));
    }

    #[test]
    fn reads_the_timeout_from_the_query() {
        assert_eq!(
            apiserver_timeout(Some("timeout=5s")),
            Duration::from_secs(5)
        );
        assert_eq!(
            apiserver_timeout(Some("x=1&timeout=1500ms")),
            Duration::from_millis(1500)
        );
        assert_eq!(apiserver_timeout(None), DEFAULT_APISERVER_TIMEOUT);
        assert_eq!(
            apiserver_timeout(Some("timeout=soon")),
            DEFAULT_APISERVER_TIMEOUT
        );
        assert_eq!(apiserver_timeout(Some("timeout=1h")), MAX_APISERVER_TIMEOUT);
    }

    #[test]
    fn accepts_json_with_an_optional_utf8_charset_only() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            headers
        };
        assert!(is_json(&headers("application/json")));
        assert!(is_json(&headers("Application/JSON; charset=utf-8")));
        assert!(is_json(&headers("application/json;charset=\"UTF-8\"")));
        assert!(!is_json(&headers("application/json; charset=latin1")));
        assert!(!is_json(&headers("text/plain")));
        assert!(!is_json(&headers("application/jsonp")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
