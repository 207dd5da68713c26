#!/usr/bin/env bash
# Runs `backstop-webhook audit` over what is really deployed: the Schedules in
# deploy/velero, the platform's Namespaces/PVCs/Pods/StorageClasses in
# fixtures/platform/cluster, and the policy carried by the prod overlay's
# ConfigMap (rendered, then extracted). Then asserts the findings the audit
# must report (ci/check-platform-audit.py), above all that the hourly
# critical-backup (~61 min worst case) misses the critical tier's 15 min RPO.
#
# fixtures/platform/velero (a copy of the platform's schedules) is left out on
# purpose: the audit must judge the Schedules this repository deploys.
#
# BACKSTOP_WEBHOOK_BIN=path skips the cargo build.
set -Eeuo pipefail
trap 'echo "check-platform-audit: failed (line $LINENO of ${BASH_SOURCE[0]})" >&2' ERR
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=ci/validate-manifests-env.sh
. ci/validate-manifests-env.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$MANIFESTS_PY" ci/validate-manifests.py --extract-policy "$tmp/policy.yaml"

if [ -n "${BACKSTOP_WEBHOOK_BIN:-}" ]; then
  audit() { "$BACKSTOP_WEBHOOK_BIN" audit "$@"; }
else
  cargo build -q -p backstop-webhook --locked
  audit() { cargo run -q -p backstop-webhook --locked -- audit "$@"; }
fi

args=(--policy "$tmp/policy.yaml" --manifests deploy/velero --manifests fixtures/platform/cluster)
rc=0
audit "${args[@]}" --output json > "$tmp/audit.json" || rc=$?
echo "backstop-webhook audit ${args[*]} --output json: exit $rc"
# The human-readable report, for the CI log.
audit "${args[@]}" --output table || true
"$MANIFESTS_PY" ci/check-platform-audit.py "$tmp/audit.json" "$rc"
