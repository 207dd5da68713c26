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

/// A document of a YAML stream and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedDocument {
    pub value: serde_json::Value,
    /// 1-based, counting the documents that hold something.
    pub index: usize,
    /// 1-based line of the document's first node (its first key, past comments and `---`).
    pub line: usize,
    /// Helm's `# Source: <chart>/templates/<file>` comment between the previous document and
    /// this one: the template it was rendered from.
    pub template: Option<String>,
}

/// [`documents`], each with its index, its first line and the Helm template it came from.
pub fn located_documents(text: &str, origin: &str) -> Result<Vec<LocatedDocument>, PolicyError> {
    let documents: Vec<serde_saphyr::Spanned<serde_json::Value>> =
        serde_saphyr::from_multiple(text).map_err(|error| PolicyError::Document {
            origin: origin.to_string(),
            path: ".".to_string(),
            message: format!("not valid YAML: {}", error.without_snippet()),
        })?;
    let lines: Vec<&str> = text.lines().collect();
    Ok(documents
        .into_iter()
        .filter(|document| !document.value.is_null())
        .enumerate()
        .map(|(index, document)| {
            let line = usize::try_from(document.referenced.line())
                .unwrap_or(1)
                .max(1);
            LocatedDocument {
                template: helm_source(&lines, line),
                value: document.value,
                index: index + 1,
                line,
            }
        })
        .collect())
}

/// The `# Source: PATH` comment Helm writes after each `---` it renders, looked for from the
/// line above `line` back to the document marker before it.
fn helm_source(lines: &[&str], line: usize) -> Option<String> {
    lines
        .get(..line.saturating_sub(1))?
        .iter()
        .rev()
        .take_while(|text| !is_document_marker(text))
        .find_map(|text| text.trim().strip_prefix("# Source:"))
        .map(|path| path.trim().to_string())
        .filter(|path| !path.is_empty())
}

fn is_document_marker(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_carry_their_index_and_first_line() {
        let text =
            "# leading comment\n---\napiVersion: v1\nkind: Namespace\n---\n---\n\n# c\nkind: Pod\n";
        let documents = located_documents(text, "x.yaml").unwrap();
        let found: Vec<(usize, usize)> = documents.iter().map(|d| (d.index, d.line)).collect();
        assert_eq!(found, [(1, 3), (2, 9)]);
        assert_eq!(documents[1].value["kind"], "Pod");
    }

    #[test]
    fn helm_source_comments_name_the_template() {
        let text = "---\n# Source: shop/templates/db.yaml\napiVersion: apps/v1\nkind: StatefulSet\n\
                    ---\napiVersion: v1\nkind: Service\n";
        let documents = located_documents(text, "<stdin>").unwrap();
        assert_eq!(
            documents[0].template.as_deref(),
            Some("shop/templates/db.yaml")
        );
        assert_eq!(documents[0].line, 3);
        assert_eq!(
            documents[1].template, None,
            "the comment belongs to the first document only"
        );
    }
}
