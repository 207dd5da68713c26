//! Is a resource served? Asked of API discovery (`GET /apis/GROUP/VERSION`), never guessed from
//! how an error body failed to parse.
//!
//! A real API server answers an unserved group, version or resource with HTTP 404
//! `text/plain` `404 page not found` (for lists, watches and discovery alike). kube-rs turns
//! that body into a `Status` with reason "Failed to parse error data" and code 404, on which
//! kube-core's `Status::is_not_found()` is *false* (it falls back to the code only for an
//! unknown reason). So a 404 only prompts the question; discovery answers it: the group-version
//! is listed with the resource (served), or 404 (not served).

use kube::Client;

/// Whether the API server serves `plural` in `api_version` (`"v1"` for the core group,
/// `"group/version"` otherwise). An error is a failure to ask (unreachable, 403, 5xx), not an
/// answer.
pub async fn is_served(
    client: &Client,
    api_version: &str,
    plural: &str,
) -> Result<bool, kube::Error> {
    let resources = if api_version.contains('/') {
        client.list_api_group_resources(api_version).await
    } else {
        client.list_core_api_resources(api_version).await
    };
    match resources {
        Ok(list) => Ok(list
            .resources
            .iter()
            .any(|resource| resource.name == plural)),
        Err(error) if is_http_404(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

/// An answer with HTTP status 404, whatever its body.
pub fn is_http_404(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

/// An answer with HTTP status 410 Gone (an expired continue token or resourceVersion).
pub fn is_http_410(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 410)
}

/// `plural.group`, the name of the CustomResourceDefinition behind a resource.
pub fn crd_name(api_version: &str, plural: &str) -> String {
    match api_version.split_once('/') {
        Some((group, _)) => format!("{plural}.{group}"),
        None => plural.to_string(),
    }
}
