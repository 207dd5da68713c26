//! Creating an object with `fieldValidation=Strict`: without it the API server defaults to
//! Warn and silently drops fields it does not know (capture 08), so a typo in a manifest
//! would change what the run does without anyone noticing; strict, it is a 400 (capture 07).

use std::fmt::Debug;

use ::kube::api::{ApiResource, DynamicObject, PostParams};
use ::kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Error;

/// POSTs `object` into `namespace` (cluster-scoped when `None`) with strict field
/// validation and returns the object as the server stored it. `action` names the call in
/// an error (`create Schedule velero/backstop-x`).
pub async fn create<K>(
    client: &Client,
    namespace: Option<&str>,
    object: &K,
    action: String,
) -> Result<K, Error>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + Clone + Debug,
{
    post(client, K::url_path(&(), namespace), object, action).await
}

/// [`create`] for an object known only by its [`ApiResource`] (a workload manifest's
/// objects, Velero's DownloadRequests).
pub async fn create_dynamic(
    client: &Client,
    namespace: &str,
    resource: &ApiResource,
    object: &DynamicObject,
    action: String,
) -> Result<DynamicObject, Error> {
    post(
        client,
        DynamicObject::url_path(resource, Some(namespace)),
        object,
        action,
    )
    .await
}

async fn post<K>(client: &Client, url: String, object: &K, action: String) -> Result<K, Error>
where
    K: Serialize + DeserializeOwned + Clone + Debug,
{
    let fail = |source: ::kube::Error| Error::Kube {
        action: action.clone(),
        source: Box::new(source),
    };
    let body = serde_json::to_vec(object).map_err(|e| fail(::kube::Error::SerdeError(e)))?;
    let mut request = ::kube::core::Request::new(url)
        .create(&PostParams::default(), body)
        .map_err(|e| fail(::kube::Error::BuildRequest(e)))?;
    let uri = request.uri().to_string();
    let joined = match uri.split_once('?') {
        Some((_, "")) => format!("{uri}fieldValidation=Strict"),
        Some(_) => format!("{uri}&fieldValidation=Strict"),
        None => format!("{uri}?fieldValidation=Strict"),
    };
    *request.uri_mut() = joined.parse().map_err(|e: http::uri::InvalidUri| {
        fail(::kube::Error::BuildRequest(
            ::kube::core::request::Error::BuildRequest(e.into()),
        ))
    })?;
    client.request::<K>(request).await.map_err(fail)
}
