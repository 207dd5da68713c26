//! Reading YAML documents into typed values with errors that name the origin and the path.

use serde::de::DeserializeOwned;

use crate::PolicyError;

/// Every document of a (possibly multi-document) YAML text, as JSON values. Empty documents
/// (a lone `---`, comments only) are dropped.
pub fn documents(text: &str, origin: &str) -> Result<Vec<serde_json::Value>, PolicyError> {
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(text).map_err(|error| PolicyError::Document {
            origin: origin.to_string(),
            path: ".".to_string(),
            message: format!("not valid YAML: {}", error.without_snippet()),
        })?;
    Ok(documents.into_iter().filter(|doc| !doc.is_null()).collect())
}

/// One document, decoded into `T`; an error names `origin` and the path of the offending field.
pub fn decode<T: DeserializeOwned>(
    value: serde_json::Value,
    origin: &str,
) -> Result<T, PolicyError> {
    serde_path_to_error::deserialize(value).map_err(|error| PolicyError::Document {
        origin: origin.to_string(),
        path: error.path().to_string(),
        message: error.inner().to_string(),
    })
}
