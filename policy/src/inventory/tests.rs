//! Reading manifests into an inventory: kinds, lists, errors that name their place, and objects
//! defined twice.

use super::*;

#[test]
fn reads_every_document_and_ignores_other_kinds() {
    let mut inventory = Inventory::default();
    let kept = inventory
        .add_yaml(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n\
             apiVersion: v1\nkind: Service\nmetadata: {name: d}\n---\n\
             apiVersion: velero.io/v1\nkind: Schedule\nmetadata: {name: s, namespace: velero}\n\
             spec: {schedule: '0 * * * *', template: {includedNamespaces: [a]}}\n",
            "a.yaml",
        )
        .unwrap();
    assert_eq!(kept, 2);
    assert_eq!(inventory.namespaces[0].metadata.name, "a");
    assert_eq!(inventory.schedules[0].spec.schedule, "0 * * * *");
}

#[test]
fn expands_lists() {
    let mut inventory = Inventory::default();
    inventory
        .add_yaml(
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- {apiVersion: v1, kind: Namespace, metadata: {name: b}}\n",
            "list.yaml",
        )
        .unwrap();
    assert_eq!(inventory.namespaces.len(), 2);
    let origin = inventory
        .origins
        .get(&ObjectKey::new("Namespace", "", "b"))
        .unwrap();
    assert_eq!(
        origin.to_string(),
        "list.yaml (document 1, line 1, items[1])"
    );
}

#[test]
fn bad_document_names_file_document_line_and_field() {
    let error = Inventory::default()
        .add_yaml(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n---\n\
             apiVersion: velero.io/v1\nkind: Schedule\nmetadata: {name: s}\nspec: {paused: sometimes}\n",
            "schedules.yaml",
        )
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("schedules.yaml (document 2, line 5): spec.paused"),
        "{error}"
    );
}

#[test]
fn document_without_kind_is_an_error() {
    let error = Inventory::default()
        .add_yaml("metadata: {name: x}\n", "x.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("apiVersion and kind are required"),
        "{error}"
    );
}

#[test]
fn every_object_remembers_its_file_document_and_line() {
    let mut inventory = Inventory::default();
    inventory
        .add_yaml(
            "# a comment\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n\
             apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: shop}\n",
            "shop.yaml",
        )
        .unwrap();
    let claim = inventory
        .origins
        .get(&ObjectKey::new("PersistentVolumeClaim", "shop", "data"))
        .unwrap();
    assert_eq!(claim.to_string(), "shop.yaml (document 2, line 6)");
}

const SCHEDULE: &str =
    "apiVersion: velero.io/v1\nkind: Schedule\nmetadata: {name: daily, namespace: velero}\n";

#[test]
fn a_schedule_defined_twice_is_counted_once_with_a_note_naming_both_places() {
    let mut inventory = Inventory::default();
    let daily = format!("{SCHEDULE}spec: {{schedule: '0 2 * * *'}}\n");
    inventory
        .add_yaml(&daily, "deploy/velero/schedules.yaml")
        .unwrap();
    inventory.add_yaml(&daily, "fixtures/copy.yaml").unwrap();
    inventory.finish();
    assert_eq!(inventory.schedules.len(), 1);
    let [note] = inventory.notes.as_slice() else {
        panic!("one note: {:?}", inventory.notes);
    };
    assert_eq!(
        note.to_string(),
        "Schedule velero/daily is defined twice, in deploy/velero/schedules.yaml (document 1, line 1) \
         and in fixtures/copy.yaml (document 1, line 1); it is counted once (both definitions are the same)"
    );
}

#[test]
fn of_two_different_definitions_the_later_one_counts_as_kubectl_apply_would_leave_it() {
    let mut inventory = Inventory::default();
    inventory
        .add_yaml(
            &format!("{SCHEDULE}spec: {{schedule: '0 2 * * *'}}\n---\n{SCHEDULE}spec: {{schedule: '0 * * * *'}}\n"),
            "schedules.yaml",
        )
        .unwrap();
    inventory.finish();
    assert_eq!(inventory.schedules.len(), 1);
    assert_eq!(inventory.schedules[0].spec.schedule, "0 * * * *");
    let note = inventory.notes[0].to_string();
    assert!(note.contains("the two differ"), "{note}");
    assert_eq!(inventory.notes[0].place().document, 2);
}

#[test]
fn same_name_in_another_namespace_or_of_another_kind_is_not_a_duplicate() {
    let mut inventory = Inventory::default();
    inventory
        .add_yaml(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: a}\n---\n\
             apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: b}\n---\n\
             apiVersion: v1\nkind: Pod\nmetadata: {name: data, namespace: a}\n",
            "x.yaml",
        )
        .unwrap();
    inventory.finish();
    assert_eq!(inventory.pvcs.len(), 2);
    assert!(inventory.notes.is_empty());
}
