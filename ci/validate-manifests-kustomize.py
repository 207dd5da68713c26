"""A small, strict kustomize renderer: the fallback for machines without kubectl.

`kubectl kustomize` (kustomize v5 built into kubectl) is the renderer CI prefers.
This module renders the subset of kustomize that deploy/ uses, with the same
semantics, so the manifests can still be rendered and validated where no
kubectl is installed (it cannot be fetched from the registries CI reaches).
When both are available, validate-manifests.py renders every kustomization with
both and fails on any difference, so this renderer is checked against the real
one on every run.

Supported: `resources` (files and directories), `components`, `namespace`,
`configMapGenerator` (files, literals, behavior create/replace/merge, options
labels/annotations/disableNameSuffixHash, top-level `generatorOptions`), the
ConfigMap content-hash suffix and the name references to it from pod specs,
`patches` (strategic-merge or JSON 6902, from `path` or inline `patch`, with an
optional `target`), and `images`. Any other kustomization field is an error:
this renderer never silently ignores what it does not implement.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from typing import Any

import yaml

SUPPORTED_FIELDS = {
    "apiVersion", "kind", "resources", "components", "namespace",
    "configMapGenerator", "generatorOptions", "patches", "images",
}

# Cluster-scoped kinds that can appear in this repo's manifests; anything else is
# treated as namespaced, as kustomize does for kinds it does not know.
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "PersistentVolume", "StorageClass", "PriorityClass", "ClusterIssuer",
    "APIService", "CSIDriver", "CSINode", "VolumeSnapshotClass", "IngressClass",
    "RuntimeClass", "Node", "VolumeAttachment",
}

# Strategic-merge keys for the lists deploy/ patches (from the Kubernetes API's
# patchMergeKey tags). Lists not named here are replaced, as SMP does for lists
# without a merge key.
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "env": "name", "imagePullSecrets": "name", "ports": "containerPort",
    "webhooks": "name", "hostAliases": "ip", "topologySpreadConstraints": "topologyKey",
}


class KustomizeError(Exception):
    pass


def _load_yaml_docs(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    for d in docs:
        if not isinstance(d, dict):
            raise KustomizeError(f"{path}: a document is not a mapping")
    return docs


def _read_kustomization(path: str) -> dict:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        p = os.path.join(path, name)
        if os.path.isfile(p):
            docs = _load_yaml_docs(p)
            if len(docs) != 1:
                raise KustomizeError(f"{p}: expected one document")
            k = docs[0]
            unknown = set(k) - SUPPORTED_FIELDS
            if unknown:
                raise KustomizeError(
                    f"{p}: fields {sorted(unknown)} are not supported by the builtin renderer "
                    "(install kubectl, or extend ci/validate-manifests-kustomize.py)")
            return k
    raise KustomizeError(f"{path}: no kustomization.yaml")


def _within(root: str, path: str) -> str:
    real = os.path.realpath(path)
    if os.path.commonpath([real, os.path.realpath(root)]) != os.path.realpath(root):
        raise KustomizeError(f"{path}: file is outside the kustomization root {root} "
                             "(kustomize's load restrictor forbids it)")
    return real


def _gvk(res: dict) -> tuple[str, str, str]:
    api = res.get("apiVersion", "")
    group, _, version = api.rpartition("/")
    return group, version, res.get("kind", "")


def _rid(res: dict) -> tuple[str, str, str, str]:
    group, _, kind = _gvk(res)
    md = res.get("metadata", {})
    return group, kind, md.get("namespace", "") or "", md.get("name", "")


def _go_json(value: Any) -> str:
    """json.Marshal as Go writes it: sorted keys, no spaces, HTML-escaped."""
    s = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
             .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def configmap_hash(cm: dict) -> str:
    """kustomize's ConfigMap name-suffix hash (api/hasher): sha256 of the JSON
    encoding of kind, name and data, first ten hex digits with the letters that
    could spell words swapped out."""
    enc: dict[str, Any] = {"kind": "ConfigMap", "name": "", "data": cm.get("data") or {}}
    if cm.get("binaryData"):
        enc["binaryData"] = cm["binaryData"]
    digest = hashlib.sha256(_go_json(enc).encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


# --------------------------------------------------------------------- patches

def strategic_merge(base: Any, patch: Any, key: str = "") -> Any:
    if isinstance(patch, dict) and isinstance(base, dict):
        if "$patch" in patch or any(k.startswith("$") for k in patch):
            raise KustomizeError(f"strategic-merge directive in {sorted(patch)} not supported")
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = strategic_merge(out[k], v, k)
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(patch, list) and isinstance(base, list) and key in MERGE_KEYS:
        mk = MERGE_KEYS[key]
        out = [copy.deepcopy(x) for x in base]
        for item in patch:
            if not isinstance(item, dict) or mk not in item:
                raise KustomizeError(f"list {key}: patch item without merge key {mk}")
            for i, existing in enumerate(out):
                if isinstance(existing, dict) and existing.get(mk) == item[mk]:
                    out[i] = strategic_merge(existing, item, "")
                    break
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise KustomizeError(f"JSON pointer {path!r} must start with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def json6902(doc: dict, ops: list[dict]) -> dict:
    doc = copy.deepcopy(doc)
    for op in ops:
        kind = op.get("op")
        parts = _pointer(op.get("path", ""))
        parent: Any = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1]
        if kind in ("add", "replace"):
            value = copy.deepcopy(op["value"])
            if isinstance(parent, list):
                if last == "-":
                    parent.append(value)
                elif kind == "add":
                    parent.insert(int(last), value)
                else:
                    parent[int(last)] = value
            else:
                if kind == "replace" and last not in parent:
                    raise KustomizeError(f"replace: {op['path']} does not exist")
                parent[last] = value
        elif kind == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            else:
                if last not in parent:
                    raise KustomizeError(f"remove: {op['path']} does not exist")
                del parent[last]
        else:
            raise KustomizeError(f"JSON 6902 op {kind!r} not supported")
    return doc


def _matches_target(res: dict, target: dict) -> bool:
    group, version, kind = _gvk(res)
    md = res.get("metadata", {})
    for field, actual in (("group", group), ("version", version), ("kind", kind),
                          ("name", md.get("name", "")), ("namespace", md.get("namespace", ""))):
        want = target.get(field)
        if want is not None and not re.fullmatch(want, actual or ""):
            return False
    for field in ("labelSelector", "annotationSelector"):
        if field in target:
            raise KustomizeError(f"patch target {field} not supported by the builtin renderer")
    return True


# ------------------------------------------------------------------ pod specs

def _pod_specs(res: dict) -> list[dict]:
    kind = res.get("kind")
    spec = res.get("spec") or {}
    if kind == "Pod":
        return [spec]
    if kind == "CronJob":
        return [spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"):
        return [spec.get("template", {}).get("spec", {})]
    return []


def _containers(pod: dict) -> list[dict]:
    return [c for key in ("initContainers", "containers", "ephemeralContainers")
            for c in pod.get(key) or []]


def _rename_configmap_refs(pod: dict, old: str, new: str) -> None:
    for v in pod.get("volumes") or []:
        if (v.get("configMap") or {}).get("name") == old:
            v["configMap"]["name"] = new
        for src in (v.get("projected") or {}).get("sources") or []:
            if (src.get("configMap") or {}).get("name") == old:
                src["configMap"]["name"] = new
    for c in _containers(pod):
        for e in c.get("env") or []:
            ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
            if ref and ref.get("name") == old:
                ref["name"] = new
        for e in c.get("envFrom") or []:
            ref = e.get("configMapRef")
            if ref and ref.get("name") == old:
                ref["name"] = new


def _apply_images(res: dict, images: list[dict]) -> None:
    for pod in _pod_specs(res):
        for c in _containers(pod):
            image = c.get("image", "")
            name = re.split(r"@", image, maxsplit=1)[0]
            if ":" in name.rsplit("/", 1)[-1]:
                name = name.rsplit(":", 1)[0]
            for img in images:
                if img.get("name") != name:
                    continue
                new = img.get("newName", name)
                if "digest" in img:
                    c["image"] = f"{new}@{img['digest']}"
                elif "newTag" in img:
                    c["image"] = f"{new}:{img['newTag']}"
                else:
                    rest = image[len(name):]
                    c["image"] = new + rest


# -------------------------------------------------------------------- builder

class _Acc:
    def __init__(self) -> None:
        self.resources: list[dict] = []
        self.generated: set[int] = set()   # ids of generated ConfigMaps (hash suffix)
        self.nohash: set[int] = set()

    def add(self, res: dict, generated: bool = False, nohash: bool = False) -> None:
        rid = _rid(res)
        if any(_rid(r) == rid for r in self.resources):
            raise KustomizeError(f"duplicate resource {rid}")
        self.resources.append(res)
        if generated:
            self.generated.add(id(res))
        if nohash:
            self.nohash.add(id(res))


def _generate_configmaps(acc: _Acc, k: dict, root: str) -> None:
    defaults = k.get("generatorOptions") or {}
    for gen in k.get("configMapGenerator") or []:
        unknown = set(gen) - {"name", "namespace", "behavior", "files", "literals", "options"}
        if unknown:
            raise KustomizeError(f"configMapGenerator {gen.get('name')}: {sorted(unknown)} not supported")
        data: dict[str, str] = {}
        for entry in gen.get("files") or []:
            key, _, path = entry.partition("=") if "=" in entry else (os.path.basename(entry), "", entry)
            with open(_within(root, os.path.join(root, path)), encoding="utf-8") as f:
                data[key] = f.read()
        for entry in gen.get("literals") or []:
            key, _, value = entry.partition("=")
            data[key] = value
        opts = {**defaults, **(gen.get("options") or {})}
        md: dict[str, Any] = {"name": gen["name"]}
        if gen.get("namespace"):
            md["namespace"] = gen["namespace"]
        if opts.get("labels"):
            md["labels"] = dict(opts["labels"])
        if opts.get("annotations"):
            md["annotations"] = dict(opts["annotations"])
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": data}
        behavior = gen.get("behavior", "create")
        if behavior == "create":
            acc.add(cm, generated=True, nohash=bool(opts.get("disableNameSuffixHash")))
            continue
        matches = [r for r in acc.resources if r.get("kind") == "ConfigMap"
                   and r["metadata"]["name"] == gen["name"]
                   and (not gen.get("namespace") or r["metadata"].get("namespace") == gen["namespace"])]
        if len(matches) != 1:
            raise KustomizeError(f"configMapGenerator {gen['name']}: behavior {behavior} "
                                 f"needs exactly one existing ConfigMap, found {len(matches)}")
        old = matches[0]
        if behavior == "replace":
            old["data"] = data
            old.pop("binaryData", None)
        elif behavior == "merge":
            old.setdefault("data", {}).update(data)
        else:
            raise KustomizeError(f"configMapGenerator behavior {behavior!r} unknown")
        for field in ("labels", "annotations"):
            if md.get(field):
                old["metadata"].setdefault(field, {}).update(md[field])


def _apply_patches(acc: _Acc, k: dict, root: str) -> None:
    for p in k.get("patches") or []:
        unknown = set(p) - {"path", "patch", "target", "options"}
        if unknown or p.get("options"):
            raise KustomizeError(f"patch fields {sorted(unknown | set(p.get('options') or {}))} not supported")
        if "path" in p:
            with open(_within(root, os.path.join(root, p["path"])), encoding="utf-8") as f:
                text = f.read()
        else:
            text = p["patch"]
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
        target = p.get("target")
        if len(docs) == 1 and isinstance(docs[0], list):
            if not target:
                raise KustomizeError("a JSON 6902 patch needs a target")
            hits = [i for i, r in enumerate(acc.resources) if _matches_target(r, target)]
            if not hits:
                raise KustomizeError(f"patch target {target} matches nothing")
            for i in hits:
                new = json6902(acc.resources[i], docs[0])
                _replace(acc, i, new)
            continue
        for doc in docs:
            if not isinstance(doc, dict):
                raise KustomizeError("strategic-merge patch must be a mapping")
            if target:
                hits = [i for i, r in enumerate(acc.resources) if _matches_target(r, target)]
            else:
                group, version, kind = _gvk(doc)
                md = doc.get("metadata", {})
                hits = [i for i, r in enumerate(acc.resources)
                        if _gvk(r)[0] == group and r.get("kind") == kind
                        and r["metadata"]["name"] == md.get("name")
                        and (not md.get("namespace") or r["metadata"].get("namespace", "") == md["namespace"])]
            if not hits:
                raise KustomizeError(f"strategic-merge patch {_rid(doc)} matches nothing")
            for i in hits:
                body = copy.deepcopy(doc)
                if target:   # with a target, the patch's own name/namespace are not applied
                    md = body.get("metadata") or {}
                    md.pop("name", None)
                    md.pop("namespace", None)
                    if not md:
                        body.pop("metadata", None)
                _replace(acc, i, strategic_merge(acc.resources[i], body))


def _replace(acc: _Acc, i: int, new: dict) -> None:
    old = acc.resources[i]
    acc.resources[i] = new
    for s in (acc.generated, acc.nohash):
        if id(old) in s:
            s.discard(id(old))
            s.add(id(new))


def _set_namespace(acc: _Acc, ns: str) -> None:
    for r in acc.resources:
        if r.get("kind") in CLUSTER_SCOPED:
            if r.get("kind") in ("ClusterRoleBinding",):
                for s in r.get("subjects") or []:
                    if s.get("kind") == "ServiceAccount" and s.get("namespace") != ns:
                        raise KustomizeError("builtin renderer does not rewrite subject namespaces "
                                             f"({s.get('namespace')} -> {ns}); set them explicitly")
            if r.get("kind") in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
                for w in r.get("webhooks") or []:
                    svc = (w.get("clientConfig") or {}).get("service")
                    if svc and svc.get("namespace") != ns:
                        raise KustomizeError("builtin renderer does not rewrite webhook service "
                                             f"namespaces ({svc.get('namespace')} -> {ns}); set them explicitly")
            continue
        r.setdefault("metadata", {})["namespace"] = ns


def _build(path: str, acc: _Acc, expect_component: bool) -> None:
    root = os.path.realpath(path)
    k = _read_kustomization(root)
    kind = k.get("kind", "Kustomization")
    if expect_component != (kind == "Component"):
        raise KustomizeError(f"{root}: kind {kind} used as {'component' if expect_component else 'resource'}")
    local = acc if expect_component else _Acc()
    for entry in k.get("resources") or []:
        p = os.path.join(root, entry)
        if os.path.isdir(p):
            sub = _Acc()
            _build(p, sub, expect_component=False)
            for r in sub.resources:
                local.add(r, generated=id(r) in sub.generated, nohash=id(r) in sub.nohash)
        elif os.path.isfile(p):
            for d in _load_yaml_docs(_within(root, p)):
                local.add(d)
        else:
            raise KustomizeError(f"{root}: resource {entry} not found (remote resources unsupported)")
    for entry in k.get("components") or []:
        _build(os.path.join(root, entry), local, expect_component=True)
    _generate_configmaps(local, k, root)
    _apply_patches(local, k, root)
    if k.get("namespace"):
        _set_namespace(local, k["namespace"])
    if k.get("images"):
        for r in local.resources:
            _apply_images(r, k["images"])
    if not expect_component:
        for r in local.resources:
            acc.add(r, generated=id(r) in local.generated, nohash=id(r) in local.nohash)


def render(path: str) -> list[dict]:
    """Render the kustomization in `path` as `kubectl kustomize path` would
    (resource order aside: callers compare by identity)."""
    acc = _Acc()
    _build(path, acc, expect_component=False)
    renames: dict[tuple[str, str], str] = {}
    for r in acc.resources:
        if id(r) in acc.generated and id(r) not in acc.nohash:
            md = r["metadata"]
            new = f"{md['name']}-{configmap_hash(r)}"
            renames[(md.get("namespace", ""), md["name"])] = new
            md["name"] = new
    for r in acc.resources:
        ns = r.get("metadata", {}).get("namespace", "")
        for pod in _pod_specs(r):
            for (cm_ns, old), new in renames.items():
                if cm_ns == ns:
                    _rename_configmap_refs(pod, old, new)
    return acc.resources
