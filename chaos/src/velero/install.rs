//! Velero in the run's cluster: `velero install` with the AWS plugin against the run's MinIO
//! (the argv the plan prints too), the version the scenario asks for, and the wait until
//! the BackupStorageLocation is `Available`; on an existing cluster, the Velero already
//! there, with its node agent and the location the scenario names.
//!
//! The flags are those of Velero's own `pkg/cmd/cli/install/install.go` (`BindFlags`) and
//! its root command's `--kubeconfig`/`--kubecontext` (`pkg/client/factory.go`).

use std::path::Path;
use std::time::Duration;

use ::kube::{Api, Client};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use policy::velero::BackupStorageLocation;

use super::restore::VELERO_NAMESPACE;
use crate::error::Error;
use crate::kube::wait::{self, Target};
use crate::scenario::{FsBackup, aws_plugin_for, parse_version};

/// The Velero server image repository (`internal/velero/images.go`, `DefaultVeleroImage`).
pub const VELERO_IMAGE: &str = "velero/velero";
/// The AWS object-store plugin's image repository.
pub const AWS_PLUGIN_IMAGE: &str = "velero/velero-plugin-for-aws";
/// The node agent's DaemonSet (`pkg/install/daemonset.go`), which runs file-system backups.
pub const NODE_AGENT: &str = "node-agent";

/// Everything `velero install` is given.
#[derive(Debug, Clone)]
pub struct Install<'a> {
    pub kubeconfig: &'a str,
    pub context: &'a str,
    pub bucket: &'a str,
    /// The AWS credentials file (`[default]` profile) for the bucket.
    pub secret_file: &'a str,
    /// The store as the cluster reaches it (Velero's and the node agents' `s3Url`).
    pub s3_url: &'a str,
    /// The store as the harness reaches it: Velero signs download URLs (logs, restore
    /// results) for this address instead of `s3_url` (`publicUrl`).
    pub public_url: &'a str,
    pub region: &'a str,
    pub uploader: FsBackup,
    /// `velero-plugin-for-aws:<tag>`'s tag.
    pub plugin: &'a str,
    /// `--image`, when the server must be another patch release than the CLI's own.
    pub image: Option<&'a str>,
}

/// `velero install` with the AWS plugin, the node agent and the scenario's uploader; no
/// VolumeSnapshotLocation (the run backs up by file system only); `--wait` for the
/// Deployment and the node agent to be ready.
pub fn install_argv(i: &Install<'_>) -> Vec<String> {
    let mut argv: Vec<String> = [
        "velero",
        "install",
        "--kubeconfig",
        i.kubeconfig,
        "--kubecontext",
        i.context,
        "--provider",
        "aws",
        "--plugins",
        &format!("{AWS_PLUGIN_IMAGE}:{}", i.plugin),
        "--bucket",
        i.bucket,
        "--secret-file",
        i.secret_file,
        "--backup-location-config",
        &format!(
            "region={},s3ForcePathStyle=true,s3Url={},publicUrl={}",
            i.region, i.s3_url, i.public_url
        ),
        "--use-volume-snapshots=false",
        "--use-node-agent",
        "--uploader-type",
        &i.uploader.to_string(),
        "--wait",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    if let Some(image) = i.image {
        argv.push("--image".into());
        argv.push(image.to_owned());
    }
    argv
}

/// `velero version --client-only` (`pkg/cmd/cli/version/version.go`).
pub fn client_version_argv() -> Vec<String> {
    ["velero", "version", "--client-only"]
        .iter()
        .map(|a| (*a).to_owned())
        .collect()
}

/// The CLI's version from `velero version --client-only` (`Client:` then `\tVersion: v1.16.1`).
pub fn parse_client_version(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("Version:"))
        .map(|v| v.trim().to_owned())
        .filter(|v| parse_version(v).is_some())
}

/// What the run installs, decided from the scenario's version and the CLI's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    /// The server's version, as `result.json` reports it.
    pub server: String,
    /// `--image`, when the server is not the CLI's own version.
    pub image: Option<String>,
    /// The AWS plugin's tag for that minor version.
    pub plugin: &'static str,
}

/// The CLI installs its own version's CRDs and, by default, its own server image: it must
/// be of the scenario's minor version. A scenario naming a patch release gets that server
/// image (`--image`). The error says what is wrong and what to install.
pub fn versions(scenario: &str, cli: &str) -> Result<Versions, String> {
    let wanted = parse_version(scenario).ok_or_else(|| format!("{scenario} is not a version"))?;
    let have = parse_version(cli).ok_or_else(|| format!("the velero CLI reports {cli:?}"))?;
    let plugin = aws_plugin_for(wanted)
        .ok_or_else(|| format!("no known AWS plugin for Velero {scenario}"))?;
    if (wanted.0, wanted.1) != (have.0, have.1) {
        return Err(format!(
            "the scenario asks for Velero {scenario} but the velero CLI on PATH is {cli}: \
             `velero install` installs its own version's CRDs, so install the v{}.{} CLI \
             (https://github.com/vmware-tanzu/velero/releases)",
            wanted.0, wanted.1
        ));
    }
    Ok(match wanted.2 {
        Some(patch) if Some(patch) != have.2 => Versions {
            server: scenario.to_owned(),
            image: Some(format!("{VELERO_IMAGE}:{scenario}")),
            plugin,
        },
        _ => Versions {
            server: cli.to_owned(),
            image: None,
            plugin,
        },
    })
}

/// Watches the BackupStorageLocation `name` until its phase is `Available`. Velero's CRDs
/// have no status subresource: the phase is on the object every watch event carries.
pub async fn wait_location_available(
    client: &Client,
    name: &str,
    timeout: Duration,
) -> Result<(), Error> {
    let api: Api<BackupStorageLocation> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    wait::until(
        &api,
        Target {
            name,
            what: format!("BackupStorageLocation {VELERO_NAMESPACE}/{name} to be Available"),
            timeout,
        },
        |bsl| {
            let phase = bsl?.status.as_ref()?.phase.as_deref()?;
            (phase == "Available").then_some(())
        },
        |bsl| match bsl {
            None => format!("no BackupStorageLocation {name}"),
            Some(b) => {
                let status = b.status.as_ref();
                format!(
                    "BackupStorageLocation {name} in phase {}{}",
                    status
                        .and_then(|s| s.phase.as_deref())
                        .unwrap_or("(no status yet)"),
                    status
                        .and_then(|s| s.message.as_deref())
                        .map_or(String::new(), |m| format!(": {m}"))
                )
            }
        },
    )
    .await
}

/// On a cluster the run did not install Velero into: Velero must be served, and its node
/// agent present (without it no PodVolumeBackup ever completes). Both said plainly.
pub async fn require_installed(client: &Client, location: &str) -> Result<(), Error> {
    let locations: Api<BackupStorageLocation> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    match locations.get_opt(location).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(Error::Unavailable(format!(
                "Velero has no BackupStorageLocation {VELERO_NAMESPACE}/{location} (the \
                 scenario's velero.backupStorageLocation): `velero backup-location get` lists \
                 those there are"
            )));
        }
        // An unserved group is a text/plain 404 (capture 01): Velero is not installed.
        Err(::kube::Error::Api(status)) if status.code == 404 => {
            return Err(Error::Unavailable(
                "Velero is not installed in this cluster: the API server does not serve \
                 backupstoragelocations.velero.io/v1"
                    .into(),
            ));
        }
        Err(source) => {
            return Err(Error::Kube {
                action: format!("get BackupStorageLocation {VELERO_NAMESPACE}/{location}"),
                source: Box::new(source),
            });
        }
    }
    let daemonsets: Api<DaemonSet> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    match daemonsets.get_opt(NODE_AGENT).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(Error::Unavailable(format!(
            "Velero's node agent (DaemonSet {VELERO_NAMESPACE}/{NODE_AGENT}) is not installed, \
             so no file-system backup can run: install Velero with --use-node-agent"
        ))),
        Err(source) => Err(Error::Kube {
            action: format!("get DaemonSet {VELERO_NAMESPACE}/{NODE_AGENT}"),
            source: Box::new(source),
        }),
    }
}

/// The Velero server's version on a cluster the run did not install it into: the tag of the
/// `velero` Deployment's image (`velero/velero:v1.16.1`), or why it is not known.
pub async fn server_version(client: &Client) -> Result<String, Error> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), VELERO_NAMESPACE);
    let deployment = deployments
        .get_opt("velero")
        .await
        .map_err(|source| Error::Kube {
            action: format!("get Deployment {VELERO_NAMESPACE}/velero"),
            source: Box::new(source),
        })?;
    let image = deployment
        .map(|d| d.spec)
        .and_then(|s| s.template.spec)
        .and_then(|s| s.containers.into_iter().find(|c| c.name == "velero"))
        .and_then(|c| c.image);
    Ok(match image {
        Some(image) => image_tag(&image).unwrap_or(&image).to_owned(),
        None => "unknown (no velero container in Deployment velero/velero)".to_owned(),
    })
}

/// The tag of an image reference (`velero/velero:v1.16.1` → `v1.16.1`), not a registry port.
fn image_tag(image: &str) -> Option<&str> {
    let name = image.split('@').next()?;
    let (_, tag) = name.rsplit_once(':')?;
    (!tag.contains('/')).then_some(tag)
}

/// Velero's credentials file for the bucket (AWS shared-credentials format).
pub fn credentials_file(access_key: &str, secret_key: &str) -> String {
    format!("[default]\naws_access_key_id = {access_key}\naws_secret_access_key = {secret_key}\n")
}

/// Writes [`credentials_file`] with mode 0600 at `path`.
pub fn write_credentials(path: &Path, access_key: &str, secret_key: &str) -> Result<(), Error> {
    crate::secret_file::write(path, &credentials_file(access_key, secret_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_version_is_read_from_its_client_only_answer() {
        let out = "Client:\n\tVersion: v1.16.1\n\tGit commit: 1c0bd7c0-dirty\n";
        assert_eq!(parse_client_version(out).as_deref(), Some("v1.16.1"));
        assert_eq!(parse_client_version("Client:\n\tVersion: main\n"), None);
    }

    #[test]
    fn a_minor_version_installs_the_cli_s_own_server() {
        let v = versions("v1.16", "v1.16.2").unwrap();
        assert_eq!(v.server, "v1.16.2");
        assert_eq!(v.image, None);
        assert_eq!(v.plugin, "v1.12.0");
    }

    #[test]
    fn a_patch_version_other_than_the_cli_s_is_installed_by_image() {
        let v = versions("v1.16.1", "v1.16.2").unwrap();
        assert_eq!(v.image.as_deref(), Some("velero/velero:v1.16.1"));
        assert_eq!(v.server, "v1.16.1");
        assert_eq!(versions("v1.16.2", "v1.16.2").unwrap().image, None);
    }

    #[test]
    fn a_cli_of_another_minor_version_is_refused_saying_which_to_install() {
        let err = versions("v1.16", "v1.17.0").unwrap_err();
        assert!(err.contains("install the v1.16 CLI"), "{err}");
    }

    #[test]
    fn an_image_s_tag_is_not_its_registry_s_port() {
        assert_eq!(image_tag("velero/velero:v1.16.1"), Some("v1.16.1"));
        assert_eq!(
            image_tag("registry:5000/velero/velero:v1.16.1@sha256:ab"),
            Some("v1.16.1")
        );
        assert_eq!(image_tag("registry:5000/velero/velero"), None);
    }

    #[test]
    fn the_location_config_names_both_endpoints() {
        let argv = install_argv(&Install {
            kubeconfig: "/r/kubeconfig",
            context: "kind-x",
            bucket: "backstop",
            secret_file: "/r/credentials-velero",
            s3_url: "http://172.18.0.5:9000",
            public_url: "http://127.0.0.1:49153",
            region: "us-east-1",
            uploader: FsBackup::Kopia,
            plugin: "v1.12.0",
            image: None,
        });
        let config = &argv[argv
            .iter()
            .position(|a| a == "--backup-location-config")
            .unwrap()
            + 1];
        assert_eq!(
            config,
            "region=us-east-1,s3ForcePathStyle=true,s3Url=http://172.18.0.5:9000,publicUrl=http://127.0.0.1:49153"
        );
        assert!(!argv.contains(&"--image".to_owned()));
    }
}
