//! The Velero server as its Deployment runs it: the release from the image tag, the flags from
//! the `velero server` arguments, read as pflag reads them (`pkg/cmd/server/config/config.go`,
//! `BindFlags`; `--features` is the root command's, `pkg/cmd/velero/velero.go`). A flag the
//! arguments do not set has Velero's default, whatever the policy's `velero:` section says; only
//! a release the image tag does not name is taken from the policy.

use crate::duration::parse_go_duration;
use crate::objects::{ContainerSpecFacts, VeleroDeploymentFacts};
use crate::versions::VeleroVersion;

use super::VeleroServer;

/// The container that runs `velero server`: `velero` (as `velero install` and the Helm chart
/// name it), else the first one.
fn server_container(deployment: &VeleroDeploymentFacts) -> Option<&ContainerSpecFacts> {
    let containers = &deployment.spec.template.spec.containers;
    containers
        .iter()
        .find(|container| container.name == "velero")
        .or_else(|| containers.first())
}

/// The server `deployment` runs. `policy` (the policy's section) gives only the release when the
/// image names none. The notes say what could not be read, and where the policy disagrees.
pub fn server_from_deployment(
    deployment: &VeleroDeploymentFacts,
    policy: &VeleroServer,
) -> (VeleroServer, Vec<String>) {
    let name = format!(
        "{}/{}",
        deployment.metadata.namespace_or_default(),
        deployment.metadata.name
    );
    let base = policy;
    let mut server = VeleroServer {
        version: policy.version,
        origin: format!("the Velero Deployment {name}"),
        ..VeleroServer::default()
    };
    let mut notes = Vec::new();
    let Some(container) = server_container(deployment) else {
        notes.push(format!(
            "the Velero Deployment {name} has no container; judged as {} says",
            base.origin
        ));
        return (base.clone(), notes);
    };
    match VeleroVersion::parse(&container.image) {
        Ok(version) if version >= VeleroVersion::OLDEST => server.version = version,
        Ok(version) => notes.push(format!(
            "the Velero Deployment {name} runs {version}, older than Backstop models ({}); judged as {}",
            VeleroVersion::OLDEST,
            server.version
        )),
        Err(_) => notes.push(format!(
            "the image {:?} of the Velero Deployment {name} names no release; judged as {} (set velero.version in the policy)",
            container.image, server.version
        )),
    }
    let tokens = container
        .command
        .iter()
        .skip(1)
        .chain(container.args.iter())
        .map(String::as_str);
    for (flag, value) in flags(tokens) {
        apply(&mut server, flag, value, &mut notes, &name);
    }
    let differs = |key: &str, policy_value: bool, server_value: bool| {
        policy.stated.contains(&key) && policy_value != server_value
    };
    if differs("features", policy.csi_enabled(), server.csi_enabled())
        || differs(
            "defaultVolumesToFsBackup",
            policy.default_volumes_to_fs_backup,
            server.default_volumes_to_fs_backup,
        )
    {
        notes.push(format!(
            "the policy's velero: section says {}, the Velero Deployment {name} runs {}: the Deployment is what Velero does",
            describe(policy),
            describe(&server)
        ));
    }
    (server, notes)
}

fn describe(server: &VeleroServer) -> String {
    format!(
        "{} EnableCSI and {} --default-volumes-to-fs-backup",
        if server.csi_enabled() {
            "with"
        } else {
            "without"
        },
        if server.default_volumes_to_fs_backup {
            "with"
        } else {
            "without"
        },
    )
}

/// The flags Backstop reads, and whether each takes a value (`false`: a boolean flag, which
/// takes one only as `--flag=value`).
const FLAGS: [(&str, bool); 5] = [
    ("features", true),
    ("default-volumes-to-fs-backup", false),
    ("default-backup-ttl", true),
    ("default-backup-storage-location", true),
    ("default-volume-snapshot-locations", true),
];

/// `(flag, value)` for each known flag in the arguments, in order (`None`: a boolean flag given
/// alone). Unknown flags are passed over; `--` ends the flags.
fn flags<'a>(tokens: impl Iterator<Item = &'a str>) -> Vec<(&'a str, Option<&'a str>)> {
    let mut found = Vec::new();
    let mut tokens = tokens.peekable();
    while let Some(token) = tokens.next() {
        if token == "--" {
            break;
        }
        let Some(body) = token.strip_prefix("--") else {
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (body, None),
        };
        let Some((name, takes_value)) = FLAGS.iter().find(|(known, _)| *known == name) else {
            continue;
        };
        let value = match (inline, takes_value) {
            (Some(value), _) => Some(value),
            (None, true) => tokens.next(),
            (None, false) => None,
        };
        found.push((*name, value));
    }
    found
}

fn apply(
    server: &mut VeleroServer,
    flag: &str,
    value: Option<&str>,
    notes: &mut Vec<String>,
    name: &str,
) {
    let mut unreadable = |value: &str| {
        notes.push(format!(
            "the Velero Deployment {name} sets --{flag}={value}, which Velero would refuse; it is ignored"
        ));
    };
    match flag {
        // `StringArray.Set`: the last occurrence wins, split on ',' without trimming.
        "features" => {
            server.features = value
                .unwrap_or_default()
                .split(',')
                .map(str::to_string)
                .collect()
        }
        // pflag's bool: alone is true, otherwise Go's `strconv.ParseBool`.
        "default-volumes-to-fs-backup" => match value.map_or(Some(true), parse_go_bool) {
            Some(flag) => server.default_volumes_to_fs_backup = flag,
            None => unreadable(value.unwrap_or_default()),
        },
        "default-backup-ttl" => match value.map(parse_go_duration) {
            Some(Ok(ttl)) => server.default_backup_ttl = ttl,
            _ => unreadable(value.unwrap_or_default()),
        },
        "default-backup-storage-location" => {
            server.default_backup_storage_location = value.unwrap_or_default().to_string();
        }
        // `flag.Map` with ':' between provider and location: entries accumulate.
        "default-volume-snapshot-locations" => {
            for entry in value
                .unwrap_or_default()
                .split(',')
                .filter(|entry| !entry.is_empty())
            {
                match entry.split_once(':') {
                    Some((provider, location)) => {
                        server
                            .default_volume_snapshot_locations
                            .insert(provider.to_string(), location.to_string());
                    }
                    None => unreadable(entry),
                }
            }
        }
        _ => {}
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Meta;

    fn deployment(image: &str, command: &[&str], args: &[&str]) -> VeleroDeploymentFacts {
        let mut deployment = VeleroDeploymentFacts {
            metadata: Meta::namespaced("velero", "velero"),
            ..VeleroDeploymentFacts::default()
        };
        deployment
            .spec
            .template
            .spec
            .containers
            .push(ContainerSpecFacts {
                name: "velero".to_string(),
                image: image.to_string(),
                command: command.iter().map(|s| s.to_string()).collect(),
                args: args.iter().map(|s| s.to_string()).collect(),
            });
        deployment
    }

    /// `pkg/install/deployment.go`, `Deployment`: `velero install --features=EnableCSI
    /// --default-volumes-to-fs-backup` writes `/velero server --features=EnableCSI
    /// --default-volumes-to-fs-backup=true`.
    #[test]
    fn reads_what_velero_install_writes() {
        let (server, notes) = server_from_deployment(
            &deployment(
                "velero/velero:v1.16.2",
                &["/velero"],
                &[
                    "server",
                    "--features=EnableCSI,EnableAPIGroupVersions",
                    "--default-volumes-to-fs-backup=true",
                    "--uploader-type=kopia",
                ],
            ),
            &VeleroServer::default(),
        );
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(server.version, VeleroVersion::new(1, 16));
        assert!(server.csi_enabled());
        assert!(server.default_volumes_to_fs_backup);
        assert_eq!(server.origin, "the Velero Deployment velero/velero");
    }

    /// pflag: a value may follow as the next argument (not for a boolean flag), the last
    /// `--features` wins, and its list is not trimmed.
    #[test]
    fn reads_flags_as_pflag_does() {
        let (server, _) = server_from_deployment(
            &deployment(
                "velero/velero:v1.18.0",
                &["/velero", "server"],
                &[
                    "--features",
                    "EnableCSI",
                    "--features=EnableAPIGroupVersions, EnableCSI",
                    "--default-backup-ttl",
                    "168h",
                    "--default-volume-snapshot-locations=aws:east,gcp:main",
                    "--default-volumes-to-fs-backup",
                ],
            ),
            &VeleroServer::default(),
        );
        assert_eq!(server.features, ["EnableAPIGroupVersions", " EnableCSI"]);
        assert!(!server.csi_enabled(), "\" EnableCSI\" is not EnableCSI");
        assert_eq!(server.default_backup_ttl.as_secs(), 168 * 3600);
        assert_eq!(server.default_volume_snapshot_locations.len(), 2);
        assert!(server.default_volumes_to_fs_backup);
    }

    /// An image without a release tag keeps the policy's version, and says so; a flag the
    /// Deployment does not set has Velero's default, and a policy that claims otherwise is told.
    #[test]
    fn image_without_a_release_keeps_the_policy_version_but_not_its_flags() {
        let policy = VeleroServer {
            version: VeleroVersion::new(1, 17),
            features: vec!["EnableCSI".to_string()],
            origin: super::super::POLICY_SECTION.to_string(),
            stated: vec!["features"],
            ..VeleroServer::default()
        };
        let (server, notes) = server_from_deployment(
            &deployment("registry.local/velero@sha256:abc", &[], &["server"]),
            &policy,
        );
        assert_eq!(server.version, VeleroVersion::new(1, 17));
        assert!(!server.csi_enabled());
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("names no release"), "{}", notes[0]);
        assert!(
            notes[1].contains("the Deployment is what Velero does"),
            "{}",
            notes[1]
        );
    }

    #[test]
    fn boolean_flag_false_turns_it_off() {
        let (server, _) = server_from_deployment(
            &deployment(
                "velero/velero:v1.18.1",
                &[],
                &[
                    "server",
                    "--default-volumes-to-fs-backup",
                    "--default-volumes-to-fs-backup=false",
                ],
            ),
            &VeleroServer::default(),
        );
        assert!(!server.default_volumes_to_fs_backup);
    }
}
