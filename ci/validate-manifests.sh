#!/usr/bin/env bash
# Offline, strict validation of every manifest under deploy/: renders the
# kustomize overlays (kubectl kustomize), validates all objects against the Kubernetes OpenAPI and
# the Velero / cert-manager / Prometheus-operator CRD schemas (unknown fields
# are errors), checks what the manifests must guarantee, proves with negative
# cases that it rejects bad input, and lints the Dockerfile and the alerts.
# Details: ci/validate-manifests.py. Installs what it needs on first run
# (ci/validate-manifests-env.sh); idempotent and quick afterwards.
#
#   ci/validate-manifests.sh [-v]                 # the check CI runs
#   ci/validate-manifests.sh --update-schemas --crds DIR  # re-vendor ci/schemas from upstream CRDs
#   ci/validate-manifests.sh --extract-policy F   # the prod ConfigMap's policy to F
set -Eeuo pipefail
trap 'echo "validate-manifests: failed (line $LINENO of ${BASH_SOURCE[0]})" >&2' ERR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ci/validate-manifests-env.sh
. "$here/validate-manifests-env.sh"
exec "$MANIFESTS_PY" "$here/validate-manifests.py" "$@"
