//! The two listeners: HTTPS for admission reviews (rustls via tokio-rustls, HTTP/1.1 and HTTP/2
//! through hyper-util's auto builder) and plain HTTP for probes and metrics; both stop on the
//! shutdown signal, the HTTPS side draining in-flight requests first.

mod probes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::WebhookError;
use crate::state::AppState;

pub use probes::probe_router;

/// Time limits of the HTTPS listener.
#[derive(Debug, Clone, Copy)]
pub struct HttpsLimits {
    /// A client has this long to complete the TLS handshake.
    pub handshake: Duration,
    /// An HTTP/1 client has this long to send a request's headers.
    pub header_read: Duration,
    /// On shutdown, in-flight requests have this long to finish.
    pub drain: Duration,
}

impl Default for HttpsLimits {
    fn default() -> Self {
        Self {
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            drain: Duration::from_secs(20),
        }
    }
}

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
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let stop = stopped(shutdown);
    tokio::pin!(stop);
    loop {
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
        let builder = Arc::clone(&builder);
        let service = TowerToHyperService::new(app.clone());
        // Watched from before the handshake, so shutdown also waits for (bounded) handshakes.
        let watcher = graceful.watcher();
        tokio::spawn(async move {
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
            let connection = builder.serve_connection(TokioIo::new(tls), service);
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(%peer, %error, "https: connection ended with an error");
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
        .map_err(|error| WebhookError::Runtime(format!("probe server: {error}")))
}

/// Binds `addr`, with the address in the error.
pub async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, WebhookError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| WebhookError::Bind { addr, source })
}
