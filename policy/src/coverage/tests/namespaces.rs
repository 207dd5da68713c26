//! Velero's namespace filter: `includedNamespaces`, `excludedNamespaces`, globs and `*`
//! (`pkg/util/collections/includes_excludes.go`, `NamespaceIncludesExcludes.ShouldInclude`, globs
//! matched by `globStringSet.match`; what validation refuses is in `validation.rs`).

use super::*;

#[test]
fn covers_namespace_named_in_included_namespaces() {
    let index = index(
        &(namespace("registry", "")
            + &schedule("daily", "0 2 * * *", "{includedNamespaces: [registry]}")),
    );
    let verdict = namespace_verdict(&index, "registry");
    assert_eq!(verdict.covered_by, ["daily"]);
    assert_eq!(verdict.rpo, Some(Duration::from_secs(24 * H + 60)));
    assert!(verdict.gaps.is_empty(), "{:?}", verdict.gaps);
}

#[test]
fn empty_included_namespaces_means_every_namespace() {
    let index = index(&(namespace("registry", "") + &schedule("all", "0 2 * * *", "{}")));
    assert_eq!(namespace_verdict(&index, "registry").covered_by, ["all"]);
}

#[test]
fn star_in_included_namespaces_means_every_namespace() {
    let index = index(
        &(namespace("registry", "") + &schedule("all", "0 2 * * *", "{includedNamespaces: ['*']}")),
    );
    assert_eq!(namespace_verdict(&index, "registry").covered_by, ["all"]);
}

#[test]
fn glob_include_selects_matching_namespaces_only() {
    let index = index(
        &(namespace("team-a", "")
            + &namespace("registry", "")
            + &schedule("teams", "0 2 * * *", "{includedNamespaces: ['team-?']}")),
    );
    assert_eq!(namespace_verdict(&index, "team-a").covered_by, ["teams"]);
    assert_eq!(
        codes(&namespace_verdict(&index, "registry")),
        [GapCode::NoSchedule]
    );
}

#[test]
fn excluded_namespace_wins_over_star_include() {
    let index = index(
        &(namespace("registry", "")
            + &schedule(
                "all",
                "0 2 * * *",
                "{includedNamespaces: ['*'], excludedNamespaces: [registry]}",
            )),
    );
    assert_eq!(
        codes(&namespace_verdict(&index, "registry")),
        [GapCode::NoSchedule]
    );
}

#[test]
fn excluded_glob_wins_over_exact_include() {
    let index = index(
        &(namespace("team-a", "")
            + &schedule(
                "s",
                "0 2 * * *",
                "{includedNamespaces: [team-a], excludedNamespaces: ['team-*']}",
            )),
    );
    assert!(namespace_verdict(&index, "team-a").covered_by.is_empty());
}

#[test]
fn uncovered_namespace_message_names_the_fix() {
    let index = index(&namespace("data-platform", ""));
    let verdict = namespace_verdict(&index, "data-platform");
    assert_eq!(error_codes(&verdict), [GapCode::NoSchedule]);
    let message = &verdict.gaps[0].message;
    assert!(
        message.contains("add data-platform to a schedule's includedNamespaces"),
        "{message}"
    );
    assert!(message.contains("\"*/12 * * * *\""), "{message}");
}
