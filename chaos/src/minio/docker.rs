//! The `docker` argv of the MinIO container, and what the harness reads from Docker's answers.

use std::net::SocketAddr;
use std::path::Path;

use super::{S3_PORT, Spec};
use crate::kube::namespace::RUN_LABEL;

fn argv(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// `docker ps --all` filtered to the exact name: prints the name when such a container exists.
pub fn list_argv(container: &str) -> Vec<String> {
    argv(&[
        "docker",
        "ps",
        "--all",
        "--filter",
        &format!("name=^{container}$"),
        "--format",
        "{{.Names}}",
    ])
}

/// `docker run --detach` of MinIO: on `spec.network`, S3 published on 127.0.0.1 at a port
/// Docker chooses, credentials from `env_file`, labelled with the run's id.
pub fn run_argv(spec: &Spec, env_file: &Path) -> Vec<String> {
    argv(&[
        "docker",
        "run",
        "--detach",
        "--name",
        &spec.container,
        "--network",
        &spec.network,
        "--publish",
        &format!("127.0.0.1::{S3_PORT}"),
        "--env-file",
        &env_file.display().to_string(),
        "--label",
        &format!("{RUN_LABEL}={}", spec.run_id),
        &spec.image,
        "server",
        "/data",
    ])
}

/// `docker inspect` printing the container's IPv4 address on `network`.
pub fn inspect_argv(container: &str, network: &str) -> Vec<String> {
    argv(&[
        "docker",
        "inspect",
        "--format",
        &format!("{{{{(index .NetworkSettings.Networks {network:?}).IPAddress}}}}"),
        container,
    ])
}

/// `docker port` of the S3 port: the host address it is published on.
pub fn port_argv(container: &str) -> Vec<String> {
    argv(&["docker", "port", container, &format!("{S3_PORT}/tcp")])
}

/// `docker inspect` printing whether the container runs (`true`/`false`).
pub fn running_argv(container: &str) -> Vec<String> {
    argv(&[
        "docker",
        "inspect",
        "--format",
        "{{.State.Running}}",
        container,
    ])
}

/// `docker rm --force --volumes`: the container and its anonymous data volume.
pub fn remove_argv(container: &str) -> Vec<String> {
    argv(&["docker", "rm", "--force", "--volumes", container])
}

/// The address `docker inspect` printed; `None` when empty (not on that network) or not an IP.
pub(super) fn parse_address(stdout: &str) -> Option<std::net::IpAddr> {
    stdout.trim().parse().ok()
}

/// The first `host:port` line of `docker port` (`127.0.0.1:49153`).
pub(super) fn parse_published(stdout: &str) -> Option<SocketAddr> {
    stdout
        .lines()
        .find_map(|line| line.trim().parse::<SocketAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inspect_template_indexes_the_network_by_its_quoted_name() {
        assert_eq!(
            inspect_argv("m", "kind")[3],
            "{{(index .NetworkSettings.Networks \"kind\").IPAddress}}"
        );
    }

    #[test]
    fn docker_answers_are_read_strictly() {
        assert_eq!(
            parse_address("172.18.0.5\n"),
            Some("172.18.0.5".parse().unwrap())
        );
        assert_eq!(parse_address("\n"), None, "not on the network");
        assert_eq!(
            parse_published("127.0.0.1:49153\n"),
            Some("127.0.0.1:49153".parse().unwrap())
        );
        assert_eq!(parse_published("Error: No public port\n"), None);
    }
}
