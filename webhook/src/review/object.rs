//! Object heads: a Namespace or PVC decoded from `object`/`oldObject` with only the fields a
//! decision reads, so `managedFields`, `spec` and `status` are skipped without being built, and
//! turned into the policy crate's facts.

use std::collections::BTreeMap;

use policy::objects::null_as_default as nullable;
use policy::objects::{Meta, NamespaceFacts, PvcFacts, PvcSpecFacts};
use policy::{CoverageIndex, Detail, ObjectKind, Verdict};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use super::wire::AdmissionRequest;

/// The metadata fields decisions read, keeping whether `metadata`, `labels` and `annotations`
/// were present at all (a JSON patch must create a missing map, not add into it).
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct MetaHead {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub deletion_timestamp: Option<IgnoredAny>,
}

impl MetaHead {
    /// `metadata.deletionTimestamp` is set (on absent metadata: no).
    pub fn is_terminating(meta: Option<&Self>) -> bool {
        meta.is_some_and(|meta| meta.deletion_timestamp.is_some())
    }
}

/// A Namespace or PVC, decoded from `object`/`oldObject` with only the fields Backstop reads.
#[derive(Deserialize, Debug, Default, Clone)]
pub struct ObjectHead {
    #[serde(default)]
    pub metadata: Option<MetaHead>,
    #[serde(default)]
    pub spec: Option<PvcSpecFacts>,
}

impl ObjectHead {
    pub fn decode(raw: &RawValue) -> Result<Self, serde_json::Error> {
        serde_json::from_str(raw.get())
    }

    /// The object is being deleted (finalizers are being removed): never block or patch it.
    pub fn is_terminating(&self) -> bool {
        MetaHead::is_terminating(self.metadata.as_ref())
    }

    /// The policy crate's view of the object, its maps moved rather than copied. The request's
    /// name and namespace fill what the object leaves out.
    pub fn into_facts(self, kind: ObjectKind, request: &AdmissionRequest<'_>) -> Facts {
        let head = self.metadata.unwrap_or_default();
        let fallback_namespace = match kind {
            ObjectKind::Namespace => None,
            ObjectKind::PersistentVolumeClaim => {
                Some(request.namespace.as_ref()).filter(|namespace| !namespace.is_empty())
            }
        };
        let metadata = Meta {
            name: if head.name.is_empty() {
                request.name.to_string()
            } else {
                head.name
            },
            namespace: head
                .namespace
                .filter(|namespace| !namespace.is_empty())
                .or_else(|| fallback_namespace.map(str::to_string)),
            labels: head.labels.unwrap_or_default(),
            annotations: head.annotations.unwrap_or_default(),
        };
        match kind {
            ObjectKind::Namespace => Facts::Namespace(NamespaceFacts { metadata }),
            ObjectKind::PersistentVolumeClaim => Facts::Pvc(PvcFacts {
                metadata,
                spec: self.spec.unwrap_or_default(),
                status: Default::default(),
            }),
        }
    }
}

/// A Namespace or PVC under review, as the policy crate judges it.
#[derive(Debug, Clone)]
pub enum Facts {
    Namespace(NamespaceFacts),
    Pvc(PvcFacts),
}

impl Facts {
    pub fn meta(&self) -> &Meta {
        match self {
            Self::Namespace(namespace) => &namespace.metadata,
            Self::Pvc(pvc) => &pvc.metadata,
        }
    }

    /// The verdict as admitted: a new PVC is judged as it will be once a pod mounts it.
    pub fn evaluate_at_admission(&self, index: &CoverageIndex, detail: Detail) -> Verdict {
        match self {
            Self::Namespace(namespace) => index.evaluate_namespace_with(namespace, detail),
            Self::Pvc(pvc) => index.evaluate_pvc_at_admission_with(pvc, detail),
        }
    }
}
