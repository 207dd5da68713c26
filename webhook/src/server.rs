//! The two listeners: HTTPS for admission reviews (rustls via tokio-rustls, HTTP/2 or HTTP/1.1
//! as ALPN chose, served by hyper-util) and plain HTTP for probes and metrics; both stop on the
//! shutdown signal, the HTTPS side draining in-flight requests first.
//!
//! Slow and abusive clients are bounded by [`HttpsLimits`]: at most `max_connections` at once
//! (past it, new connections wait in the kernel's backlog until one closes), a TLS handshake
//! within `handshake`, the first request's head within `header_read` of the handshake (either
//! protocol), each later HTTP/1 request head within `header_read` of the previous answer (an
//! idle keep-alive connection closes then), and HTTP/2 connections that stop answering pings
//! closed. A body's time is bounded by the admission handlers (`--body-read-timeout`).

mod probes;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::WebhookError;
use crate::state::AppState;

pub use probes::probe_router;

/// Connections served at once by default: the apiserver multiplexes reviews over a few HTTP/2
/// connections, and each open connection costs tens of KiB.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Concurrent HTTP/2 streams one connection may open.
pub const MAX_CONCURRENT_STREAMS: u32 = 128;
/// An HTTP/2 connection is pinged after this long without a frame, and closed if the ping is not
/// answered within [`H2_PING_TIMEOUT`].
pub const H2_PING_INTERVAL: Duration = Duration::from_secs(30);
pub const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Limits of the HTTPS listener.
#[derive(Debug, Clone, Copy)]
pub struct HttpsLimits {
    /// A client has this long to complete the TLS handshake.
    pub handshake: Duration,
    /// After the handshake, a client has this long to send its first request's head; an HTTP/1
    /// client has this long for each later head too (so idle keep-alive connections close).
    pub header_read: Duration,
    /// Connections served at once; past it new ones wait to be accepted.
    pub max_connections: usize,
    /// On shutdown, in-flight requests have this long to finish.
    pub drain: Duration,
}

impl Default for HttpsLimits {
    fn default() -> Self {
        Self {
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            drain: Duration::from_secs(20),
        }
    }
}

/// The connection builders, one per protocol: ALPN decides, so no bytes are read to guess.
struct Builders {
    http1: auto::Builder<TokioExecutor>,
    http2: auto::Builder<TokioExecutor>,
}

impl Builders {
    fn new(limits: HttpsLimits) -> Self {
        let configured = || {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .keep_alive(true);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
                .keep_alive_interval(H2_PING_INTERVAL)
                .keep_alive_timeout(H2_PING_TIMEOUT);
            builder
        };
        Self {
            http1: configured().http1_only(),
            http2: configured().http2_only(),
        }
    }

    fn for_alpn(&self, alpn: Option<&[u8]>) -> &auto::Builder<TokioExecutor> {
        match alpn {
            Some(b"h2") => &self.http2,
            _ => &self.http1,
        }
    }
}

/// Connection-limit warnings: at most one per this period.
const LIMIT_WARN_EVERY: Duration = Duration::from_secs(10);

/// Resolves once `shutdown` holds `true` (or its sender is gone).
pub async fn stopped(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Serves `app` over TLS on `listener` until `shutdown`, then stops accepting and waits (up to
/// `limits.drain`) for the requests in flight. Connections that are idle close at once.
pub async fn serve_https(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    app: Router,
    shutdown: watch::Receiver<bool>,
    limits: HttpsLimits,
) -> Result<(), WebhookError> {
    let acceptor = TlsAcceptor::from(tls);
    let builders = Arc::new(Builders::new(limits));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut limit_warned: Option<Instant> = None;
    let graceful = GracefulShutdown::new();
    let stop = stopped(shutdown);
    tokio::pin!(stop);
    loop {
        // A slot first: at the limit, connections wait in the backlog rather than being
        // handshaken and then starved.
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if limit_warned.is_none_or(|at| at.elapsed() >= LIMIT_WARN_EVERY) {
                    limit_warned = Some(Instant::now());
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "https: connection limit reached; new connections wait until one closes"
                    );
                }
                tokio::select! {
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_) => break, // never closed
                    },
                    () = &mut stop => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%error, "https: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let builders = Arc::clone(&builders);
        let requested = Arc::new(AtomicBool::new(false));
        let service = {
            let requested = Arc::clone(&requested);
            TowerToHyperService::new(tower::ServiceExt::map_request(
                app.clone(),
                move |request: http::Request<hyper::body::Incoming>| {
                    requested.store(true, Ordering::Relaxed);
                    request
                },
            ))
        };
        // Watched from before the handshake, so shutdown also waits for (bounded) handshakes.
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            let tls = match tokio::time::timeout(limits.handshake, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "https: handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "https: handshake timed out");
                    return;
                }
            };
            let builder = builders.for_alpn(tls.get_ref().1.alpn_protocol());
            let connection = watcher.watch(builder.serve_connection(TokioIo::new(tls), service));
            // hyper bounds each HTTP/1 head; this bounds the wait for the first request of
            // either protocol (an HTTP/2 client that never sends its preface, for one).
            let first_request = async {
                tokio::time::sleep(limits.header_read).await;
                if requested.load(Ordering::Relaxed) {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                ended = connection => {
                    if let Err(error) = ended {
                        tracing::debug!(%peer, %error, "https: connection ended with an error");
                    }
                }
                () = first_request => {
                    tracing::debug!(%peer, "https: no request within the header read timeout; closed");
                }
            }
        });
    }
    drop(listener);
    let open = graceful.count();
    tracing::info!(connections = open, "https: draining");
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            drain = ?limits.drain,
            "https: requests still in flight when the drain period ended"
        );
    }
    Ok(())
}

/// Serves `/healthz`, `/readyz` and `/metrics` over plain HTTP until `shutdown`.
pub async fn serve_probes(
    listener: TcpListener,
    state: AppState,
    shutdown: watch::Receiver<bool>,
) -> Result<(), WebhookError> {
    axum::serve(listener, probe_router(state))
        .with_graceful_shutdown(stopped(shutdown))
        .await
        .map_err(|source| WebhookError::Serving {
            what: "probe server",
            source,
        })
}

/// Binds `addr`, with the address in the error.
pub async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, WebhookError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| WebhookError::Bind { addr, source })
}
