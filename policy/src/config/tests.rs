use super::*;

const PLATFORM: &str = include_str!("../../../fixtures/policy/platform.yaml");

fn error_of(text: &str) -> String {
    Policy::from_yaml(text, "policy.yaml")
        .unwrap_err()
        .to_string()
}

#[test]
fn loads_the_platform_policy() {
    let policy = Policy::from_yaml(PLATFORM, "platform.yaml").unwrap();
    assert_eq!(policy.velero_namespace, "velero");
    assert_eq!(policy.enforcement, Enforcement::Deny);
    let critical = policy.tier("critical").unwrap();
    assert_eq!(critical.rpo, Duration::from_secs(15 * 60));
    assert_eq!(critical.rto, Duration::from_secs(3600));
    assert_eq!(critical.min_retention, Duration::from_secs(168 * 3600));
    assert_eq!(policy.keys.tier, "backstop.io/tier");
    assert_eq!(policy.keys.exempt, "backstop.io/exempt");
}

#[test]
fn platform_namespaces_get_their_tiers() {
    let policy = Policy::from_yaml(PLATFORM, "platform.yaml").unwrap();
    let tier_of = |name: &str| {
        policy
            .namespace_tier(&Meta::named(name))
            .map(|(tier, _)| tier.name.clone())
    };
    for critical in ["data-platform", "monitoring", "vault-prod", "ml-platform"] {
        assert_eq!(tier_of(critical).as_deref(), Some("critical"), "{critical}");
    }
    for standard in ["registry", "cert-manager", "cloudflare-tunnel", "kubeflow"] {
        assert_eq!(tier_of(standard).as_deref(), Some("standard"), "{standard}");
    }
    assert_eq!(tier_of("scratch"), None);
}

#[test]
fn selector_entry_protects_labelled_namespaces() {
    let policy = Policy::from_yaml(PLATFORM, "platform.yaml").unwrap();
    let labelled = Meta::named("team-a").with_labels([("backstop.io/protect", "true")]);
    let (tier, source) = policy.namespace_tier(&labelled).unwrap();
    assert_eq!(
        (tier.name.as_str(), source),
        ("standard", TierSource::Policy)
    );
}

#[test]
fn exempt_namespace_is_never_protected_even_if_it_asks() {
    let policy = Policy::from_yaml(PLATFORM, "platform.yaml").unwrap();
    let velero = Meta::named("velero").with_labels([("backstop.io/tier", "critical")]);
    assert!(policy.namespace_tier(&velero).is_none());
}

#[test]
fn namespace_outside_the_policy_can_opt_in_with_a_known_tier() {
    let policy = Policy::from_yaml(PLATFORM, "platform.yaml").unwrap();
    let opted_in = Meta::named("payments").with_labels([("backstop.io/tier", "critical")]);
    let (tier, source) = policy.namespace_tier(&opted_in).unwrap();
    assert_eq!(
        (tier.name.as_str(), source),
        ("critical", TierSource::Annotation)
    );
    let unknown = Meta::named("payments").with_labels([("backstop.io/tier", "gold")]);
    assert!(policy.namespace_tier(&unknown).is_none());
}

#[test]
fn glob_entry_protects_matching_names() {
    let policy = Policy::from_yaml(
        "tiers: {std: {rpo: 24h, rto: 4h, minRetention: 720h}}\nprotected: [{namespace: 'team-*', tier: std}]\n",
        "p.yaml",
    )
    .unwrap();
    assert!(policy.namespace_tier(&Meta::named("team-x")).is_some());
    assert!(policy.namespace_tier(&Meta::named("other")).is_none());
}

#[test]
fn unknown_key_names_file_and_path() {
    let message =
        error_of("tiers:\n  critical: {rpo: 15m, rto: 1h, minRetention: 168h, rpoo: 1m}\n");
    assert!(
        message.starts_with("policy.yaml: tiers.critical"),
        "{message}"
    );
    assert!(message.contains("rpoo"), "{message}");
}

#[test]
fn unknown_top_level_key_is_rejected() {
    let message = error_of("tiers: {a: {rpo: 1m, rto: 1m, minRetention: 1h}}\nenforcment: warn\n");
    assert!(message.contains("enforcment"), "{message}");
}

#[test]
fn unknown_tier_names_the_entry_and_lists_known_tiers() {
    let message = error_of(
        "tiers: {critical: {rpo: 15m, rto: 1h, minRetention: 168h}}\nprotected:\n  - {namespace: a, tier: critical}\n  - {namespace: b, tier: gold}\n",
    );
    assert_eq!(
        message,
        "policy.yaml: protected[1].tier: unknown tier \"gold\"; defined tiers: critical"
    );
}

#[test]
fn bad_duration_names_the_field() {
    let message = error_of("tiers: {critical: {rpo: 15 minutes, rto: 1h, minRetention: 168h}}\n");
    assert!(
        message.starts_with("policy.yaml: tiers.critical.rpo: invalid duration"),
        "{message}"
    );
}

#[test]
fn bad_glob_names_the_entry() {
    let message = error_of(
        "tiers: {t: {rpo: 1h, rto: 1h, minRetention: 1h}}\nprotected: [{namespace: 'db-[ab', tier: t}]\n",
    );
    assert!(
        message.starts_with("policy.yaml: protected[0].namespace: invalid glob"),
        "{message}"
    );
}

#[test]
fn entry_with_both_namespace_and_selector_is_rejected() {
    let message = error_of(
        "tiers: {t: {rpo: 1h, rto: 1h, minRetention: 1h}}\nprotected: [{namespace: a, selector: {matchLabels: {x: z}}, tier: t}]\n",
    );
    assert!(
        message.contains("protected[0]: give exactly one of"),
        "{message}"
    );
}

#[test]
fn bad_selector_operator_is_rejected() {
    let message = error_of(
        "tiers: {t: {rpo: 1h, rto: 1h, minRetention: 1h}}\nprotected: [{selector: {matchExpressions: [{key: a, operator: Near}]}, tier: t}]\n",
    );
    assert!(message.contains("protected[0].selector"), "{message}");
}

#[test]
fn bad_enforcement_is_rejected() {
    let message =
        error_of("tiers: {t: {rpo: 1h, rto: 1h, minRetention: 1h}}\nenforcement: maybe\n");
    assert!(message.contains("enforcement"), "{message}");
}

#[test]
fn invalid_yaml_names_the_file() {
    let message = error_of("tiers: [unclosed\n");
    assert!(
        message.starts_with("policy.yaml: .: not valid YAML"),
        "{message}"
    );
}
