//! Every gap of a report as a finding located at its source: the object's file, document and
//! line (or, for a `no-consistency-hook`, the database pod's), and the schedule's.

use policy::origin::{ObjectKey, Origin, Place};
use policy::{Gap, ObjectKind, Verdict};
use serde_json::{Value, json};

use super::AuditReport;
use crate::manifests::{KUSTOMIZE_PREFIX, STDIN};

/// One gap, with where its object and its schedule are defined.
#[derive(Debug, Clone, Copy)]
pub struct Finding<'a> {
    pub verdict: &'a Verdict,
    pub gap: &'a Gap,
    /// Where the object the gap is about comes from (`None`: read from a cluster).
    pub origin: Option<&'a Origin>,
    /// Where the gap's schedule is defined, when it names one.
    pub schedule: Option<&'a Origin>,
}

impl AuditReport {
    /// Every gap of every object, in report order.
    pub fn findings(&self) -> Vec<Finding<'_>> {
        self.objects
            .iter()
            .enumerate()
            .flat_map(|(at, verdict)| {
                verdict
                    .gaps
                    .iter()
                    .enumerate()
                    .map(move |(gap_at, gap)| (at, verdict, gap_at, gap))
            })
            .map(|(at, verdict, gap_at, gap)| {
                let subject = self
                    .gap_subjects
                    .get(&(at, gap_at))
                    .cloned()
                    .unwrap_or_else(|| verdict_key(verdict));
                Finding {
                    verdict,
                    gap,
                    origin: self.origins.get(&subject),
                    schedule: gap.schedule.as_ref().and_then(|name| {
                        self.origins
                            .get(&ObjectKey::new("Schedule", &self.velero_namespace, name))
                    }),
                }
            })
            .collect()
    }
}

/// The key the origins of a verdict's object are recorded under.
pub fn verdict_key(verdict: &Verdict) -> ObjectKey {
    match verdict.kind {
        ObjectKind::Namespace => ObjectKey::new("Namespace", "", &verdict.name),
        ObjectKind::PersistentVolumeClaim => {
            ObjectKey::new("PersistentVolumeClaim", &verdict.namespace, &verdict.name)
        }
    }
}

/// A place that is a file in the repository (not standard input, not a rendered
/// kustomization): what code-scanning views and annotations can point into.
pub fn file_of(place: &Place) -> Option<&str> {
    let file: &str = &place.file;
    (file != STDIN && !file.starts_with(KUSTOMIZE_PREFIX)).then_some(file)
}

/// An origin as JSON: `{"file", "document", "line", "item", "template", "predictedFrom"}`.
pub fn origin_json(origin: Option<&Origin>) -> Value {
    let Some(origin) = origin else {
        return Value::Null;
    };
    let place = origin.place.as_ref();
    json!({
        "file": place.map(|place| place.file.to_string()),
        "document": place.map(|place| place.document),
        "line": place.map(|place| place.line),
        "item": place.and_then(|place| place.item),
        "template": place.and_then(|place| place.template.clone()),
        "predictedFrom": origin.predicted.as_ref().map(|predicted| json!({
            "kind": predicted.controller.kind,
            "namespace": predicted.controller.namespace,
            "name": predicted.controller.name,
            "path": predicted.path,
        })),
    })
}
