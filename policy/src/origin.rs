//! Where each object of an inventory came from: the file (or stream), the document in it and its
//! line, and, for the pods and claims a workload controller will create, that controller.
//! Coverage never reads any of it; reports use it to point every finding at its source.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// An object by kind, namespace (empty for cluster-scoped kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(kind: &'static str, namespace: &str, name: &str) -> Self {
        Self {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// A document of a manifest file or stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The file as it was named (`deploy/db.yaml`), `<stdin>`, or `kustomize build DIR`.
    pub file: Arc<str>,
    /// 1-based, counting the documents that hold something (a lone `---` is not one).
    pub document: usize,
    /// 1-based line where the document's content starts.
    pub line: usize,
    /// The item of a `List` document.
    pub item: Option<usize>,
    /// The template Helm rendered the document from (its `# Source:` comment), when given.
    pub template: Option<String>,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (document {}, line {}",
            self.file, self.document, self.line
        )?;
        if let Some(item) = self.item {
            write!(f, ", items[{item}]")?;
        }
        if let Some(template) = &self.template {
            write!(f, ", rendered from {template}")?;
        }
        f.write_str(")")
    }
}

/// Where an object came from: a place in the manifests (none when read from a cluster), and,
/// for a pod or claim a workload controller will create, the controller and the part of its
/// spec it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub place: Option<Place>,
    pub predicted: Option<Prediction>,
}

/// The workload controller an object is predicted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prediction {
    /// `StatefulSet data/postgres`.
    pub controller: ObjectKey,
    /// `spec.volumeClaimTemplates[0]`, `spec.template`.
    pub path: String,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.place, &self.predicted) {
            (Some(place), Some(predicted)) => {
                write!(f, "{place}: {} of {}", predicted.path, predicted.controller)
            }
            (Some(place), None) => write!(f, "{place}"),
            (None, Some(predicted)) => {
                write!(f, "{} of {}", predicted.path, predicted.controller)
            }
            (None, None) => f.write_str("the cluster"),
        }
    }
}

/// The origin of every object read from manifests, and of every predicted object.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    by_object: HashMap<ObjectKey, Origin>,
    /// Objects read from two places: the key, the earlier place, the later one.
    duplicates: Vec<(ObjectKey, Place, Place)>,
}

impl Origins {
    /// Records that `key` was read at `place`; a second place for one key is kept as a
    /// duplicate (see [`Origins::take_duplicates`]).
    pub fn read_at(&mut self, key: ObjectKey, place: Place) {
        let origin = Origin {
            place: Some(place.clone()),
            predicted: None,
        };
        if let Some(Origin {
            place: Some(earlier),
            ..
        }) = self.by_object.insert(key.clone(), origin)
        {
            self.duplicates.push((key, earlier, place));
        }
    }

    /// The objects read from more than one place so far.
    pub(crate) fn take_duplicates(&mut self) -> Vec<(ObjectKey, Place, Place)> {
        std::mem::take(&mut self.duplicates)
    }

    /// Records where `key` came from; returns the origin it had when it was already known.
    pub fn insert(&mut self, key: ObjectKey, origin: Origin) -> Option<Origin> {
        self.by_object.insert(key, origin)
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Origin> {
        self.by_object.get(key)
    }

    pub fn len(&self) -> usize {
        self.by_object.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_object.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            file: Arc::from("db.yaml"),
            document: 2,
            line: 14,
            item: None,
            template: None,
        }
    }

    #[test]
    fn a_place_names_file_document_and_line() {
        assert_eq!(place().to_string(), "db.yaml (document 2, line 14)");
        let rendered = Place {
            file: Arc::from("<stdin>"),
            template: Some("shop/templates/db.yaml".to_string()),
            ..place()
        };
        assert_eq!(
            rendered.to_string(),
            "<stdin> (document 2, line 14, rendered from shop/templates/db.yaml)"
        );
    }

    #[test]
    fn a_predicted_claim_names_its_controller_and_template() {
        let origin = Origin {
            place: Some(place()),
            predicted: Some(Prediction {
                controller: ObjectKey::new("StatefulSet", "data", "postgres"),
                path: "spec.volumeClaimTemplates[0]".to_string(),
            }),
        };
        assert_eq!(
            origin.to_string(),
            "db.yaml (document 2, line 14): spec.volumeClaimTemplates[0] of StatefulSet data/postgres"
        );
    }
}
