//! The baseline: the same TLS stack and accept loop (rustls + hyper-util + axum, via
//! `backstop_webhook::server::serve_https`) answering every request with a fixed 200, after
//! reading its body. Runs as a child process, like the webhook, so both are measured alike.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use backstop_webhook::dev_cert::DevCert;
use backstop_webhook::server::{self, HttpsLimits};
use backstop_webhook::tls::{self, CertResolver};

const ANSWER: &str = r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"00000000-0000-0000-0000-000000000000","allowed":true}}"#;

pub fn run(listen: SocketAddr, ca_out: PathBuf) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        tls::install_default_provider();
        let dev = DevCert::generate().unwrap();
        dev.write_ca(&ca_out).unwrap();
        let resolver = Arc::new(CertResolver::new(dev.certified_key().unwrap()));
        let config = Arc::new(tls::server_config(resolver).unwrap());
        let app = Router::new().fallback(|body: Bytes| async move {
            std::hint::black_box(body);
            ([(header::CONTENT_TYPE, "application/json")], ANSWER)
        });
        let listener = server::bind(listen).await.unwrap();
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        server::serve_https(listener, config, app, stopped, HttpsLimits::default())
            .await
            .unwrap();
    });
}
