//! The policy's `enforcement`: what becomes of the reasons a review is refused for.
//! `deny` denies with every reason; `warn` admits with the reasons as warnings; `dry-run`
//! admits silently and keeps the would-be denial for the router's log line.

use policy::Enforcement;

use crate::review::Decision;

/// Denies for `errors` under `deny`; turns them into warnings under `warn`; admits silently
/// under `dry-run`. `warnings` are shown unless the mode is `dry-run`.
pub(super) fn enforce(
    enforcement: Enforcement,
    headline: &str,
    errors: Vec<String>,
    warnings: Vec<String>,
) -> Decision {
    if errors.is_empty() {
        return match enforcement {
            Enforcement::DryRun => Decision::allow(),
            Enforcement::Deny | Enforcement::Warn => Decision::allow().with_warnings(warnings),
        };
    }
    let message = format!("{headline}: {}", errors.join("; "));
    match enforcement {
        Enforcement::Deny => Decision::deny(message).with_warnings(warnings),
        Enforcement::Warn => {
            let mut shown: Vec<String> = errors
                .iter()
                .map(|error| format!("{error} (enforcement is warn: admitted anyway)"))
                .collect();
            shown.extend(warnings);
            Decision {
                overridden: Some(format!("warn: {message}")),
                ..Decision::allow().with_warnings(shown)
            }
        }
        Enforcement::DryRun => Decision {
            overridden: Some(format!("dry-run: {message}")),
            ..Decision::allow()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_mode_refuses_with_every_reason() {
        let decision = enforce(
            Enforcement::Deny,
            "backstop denied Namespace a",
            vec![
                "[no-schedule] x".to_string(),
                "[rpo-exceeds-target] y".to_string(),
            ],
            vec!["w".to_string()],
        );
        assert_eq!(
            decision.message(),
            Some("backstop denied Namespace a: [no-schedule] x; [rpo-exceeds-target] y")
        );
        assert_eq!(decision.warnings, ["w"]);
    }

    #[test]
    fn warn_mode_admits_with_the_reasons_as_warnings() {
        let decision = enforce(
            Enforcement::Warn,
            "h",
            vec!["[no-schedule] x".to_string()],
            vec!["w".to_string()],
        );
        assert!(decision.is_allowed());
        assert_eq!(
            decision.warnings,
            [
                "[no-schedule] x (enforcement is warn: admitted anyway)",
                "w"
            ]
        );
        assert!(decision.overridden.is_some());
    }

    #[test]
    fn dry_run_mode_admits_silently_but_remembers_the_denial() {
        let decision = enforce(
            Enforcement::DryRun,
            "h",
            vec!["[no-schedule] x".to_string()],
            vec!["w".to_string()],
        );
        assert_eq!(decision.refusal, None);
        assert!(decision.warnings.is_empty());
        assert_eq!(
            decision.overridden.as_deref(),
            Some("dry-run: h: [no-schedule] x")
        );
    }
}
