//! The ledger writer through the API server's service proxy
//! (`/api/v1/namespaces/<ns>/services/ledger:http/proxy/<path>`), so the harness needs no
//! port-forward and no route into the cluster. The proxy passes the writer's own answer
//! through; when it cannot reach a pod it answers itself (404 `services "ledger" not found`
//! without Endpoints, 503 `no endpoints available for service "ledger"` with empty ones),
//! and that answer is the error.

use ::kube::Client;
use ::kube::client::Body;
use http_body_util::BodyExt;
use serde::Deserialize;

use crate::error::Error;
use crate::ground_truth::LastAck;

/// The ledger's Service and its port name (`fixtures/workloads/ledger.yaml`).
pub const SERVICE: &str = "ledger:http";
/// How much of a failed answer an error keeps.
const DETAIL_CHARS: usize = 300;

/// The service-proxy path of `path` on the ledger in `namespace`.
pub fn proxy_path(namespace: &str, path: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/services/{SERVICE}/proxy/{path}")
}

/// GETs `path` of the ledger; the body of a 2xx answer, else an error with its status.
async fn get(client: &Client, namespace: &str, path: &str) -> Result<Vec<u8>, Error> {
    let url = proxy_path(namespace, path);
    let fail = |message: String| Error::Unavailable(format!("GET {url}: {message}"));
    let request = http::Request::get(&url)
        .body(Body::empty())
        .map_err(|e| fail(e.to_string()))?;
    let response = client
        .send(request)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| fail(format!("HTTP {status}, body unreadable: {e}")))?
        .to_bytes()
        .to_vec();
    if !status.is_success() {
        let text: String = String::from_utf8_lossy(&body)
            .trim()
            .chars()
            .take(DETAIL_CHARS)
            .collect();
        return Err(fail(format!("HTTP {}: {text}", status.as_u16())));
    }
    Ok(body)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Last {
    seq: u64,
    unix_nanos: u64,
}

/// The writer's `GET /last`.
pub async fn last(client: &Client, namespace: &str) -> Result<LastAck, Error> {
    let body = get(client, namespace, "last").await?;
    let last: Last = serde_json::from_slice(&body).map_err(|e| {
        Error::Unavailable(format!(
            "GET {}: not a /last answer: {e}",
            proxy_path(namespace, "last")
        ))
    })?;
    Ok(LastAck {
        seq: last.seq,
        unix_nanos: last.unix_nanos,
    })
}

/// The bytes the writer started with `start_id` found at its start (`/found-at-start/<id>`).
pub async fn found_at_start(
    client: &Client,
    namespace: &str,
    start_id: &str,
) -> Result<Vec<u8>, Error> {
    get(client, namespace, &format!("found-at-start/{start_id}")).await
}
