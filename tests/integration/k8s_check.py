#!/usr/bin/env python3
"""Check the Kubernetes manifests of deploy/k8s without a cluster.

k8s_check.py FILE...: parse every YAML document of each FILE and check what
a tcpfs deployment needs: the DaemonSet (hostPID, privileged, the node's
/run/tcpfs mounted with Bidirectional propagation, /dev/fuse, tcpfs in the
foreground on /run/tcpfs) and at least one workload Pod that mounts the same
host path with HostToContainer propagation, read-only. Generic checks on
every pod spec: each volumeMount names a volume, propagation modes are valid
and Bidirectional only in a privileged container. Prints one line per
problem; exit 0 if none, 1 otherwise.
"""
import sys

import yaml

MODES = {"None", "HostToContainer", "Bidirectional"}
MNT = "/run/tcpfs"
problems = []


def need(cond, where, what):
    if not cond:
        problems.append(f"{where}: {what}")
    return cond


def pod_spec(doc):
    if doc.get("kind") == "Pod":
        return doc.get("spec") or {}
    return ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}


def check_pod(spec, where):
    """Generic pod spec checks; returns {volume name: volume}."""
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    containers = spec.get("containers") or []
    need(containers, where, "no containers")
    for c in containers:
        cw = f"{where}: container {c.get('name')}"
        need(c.get("name") and c.get("image"), cw, "needs a name and an image")
        priv = (c.get("securityContext") or {}).get("privileged") is True
        for m in c.get("volumeMounts") or []:
            need(m.get("name") in volumes, cw,
                 f"volumeMount {m.get('name')} names no volume")
            need(str(m.get("mountPath", "")).startswith("/"), cw,
                 f"volumeMount {m.get('name')}: mountPath must be absolute")
            mode = m.get("mountPropagation", "None")
            need(mode in MODES, cw, f"mountPropagation {mode!r} is not one of {sorted(MODES)}")
            if mode == "Bidirectional":
                need(priv, cw, "Bidirectional propagation needs privileged: true")
    return volumes


def mounts_of(container, volumes, host_path):
    """The container's volumeMounts of hostPath host_path."""
    return [m for m in container.get("volumeMounts") or []
            if ((volumes.get(m.get("name")) or {}).get("hostPath") or {}).get("path") == host_path]


def check_daemonset(doc, where):
    need(doc.get("apiVersion") == "apps/v1", where, "apiVersion must be apps/v1")
    need((doc.get("metadata") or {}).get("name"), where, "metadata.name missing")
    spec = doc.get("spec") or {}
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    need(sel and sel.items() <= labels.items(), where,
         "spec.selector.matchLabels must match the template's labels")
    ps = pod_spec(doc)
    need(ps.get("hostPID") is True, where, "hostPID: true (readers' pids, pid files)")
    volumes = check_pod(ps, where)
    c = (ps.get("containers") or [{}])[0]
    cw = f"{where}: container {c.get('name')}"
    need((c.get("securityContext") or {}).get("privileged") is True, cw, "privileged: true")
    run = mounts_of(c, volumes, MNT)
    if need(run, cw, f"no hostPath {MNT} volumeMount"):
        need(run[0].get("mountPath") == MNT, cw, f"{MNT} mounted at {run[0].get('mountPath')}")
        need(run[0].get("mountPropagation") == "Bidirectional", cw,
             f"{MNT} needs mountPropagation: Bidirectional (the mount reaches the node)")
        need(not run[0].get("readOnly"), cw, f"{MNT} must be writable: the daemon mounts there")
    need(mounts_of(c, volumes, "/dev/fuse"), cw, "no hostPath /dev/fuse volumeMount")
    args = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
    need(MNT in args, cw, f"tcpfs must mount on {MNT}: args {args}")
    need("-f" in args or "-d" in args, cw, "tcpfs must stay in the foreground (-f)")


def check_workload(doc, where):
    need(doc.get("apiVersion") == "v1", where, "apiVersion must be v1")
    need((doc.get("metadata") or {}).get("name"), where, "metadata.name missing")
    ps = pod_spec(doc)
    volumes = check_pod(ps, where)
    found = [m for c in ps.get("containers") or [] for m in mounts_of(c, volumes, MNT)]
    if need(found, where, f"no container mounts hostPath {MNT}"):
        for m in found:
            need(m.get("mountPropagation") == "HostToContainer", where,
                 f"{MNT} needs mountPropagation: HostToContainer (a mount made later reaches the pod)")
            need(m.get("readOnly") is True, where, f"{MNT} should be readOnly: true")


def main(paths):
    kinds = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except (OSError, yaml.YAMLError) as e:
            problems.append(f"{path}: {e}")
            continue
        need(docs, path, "no YAML document")
        for i, doc in enumerate(docs):
            where = f"{path}[{i}] {doc.get('kind') if isinstance(doc, dict) else '?'}"
            if not need(isinstance(doc, dict) and doc.get("kind"), where, "not a manifest (no kind)"):
                continue
            kinds.setdefault(doc["kind"], []).append(where)
            if doc["kind"] == "DaemonSet":
                check_daemonset(doc, where)
            elif doc["kind"] == "Pod":
                check_workload(doc, where)
            else:
                problems.append(f"{where}: unexpected kind")
    need(kinds.get("DaemonSet"), "manifests", "no DaemonSet")
    need(kinds.get("Pod"), "manifests", "no workload Pod")
    for p in problems:
        print(p)
    if not problems:
        print(f"ok: {sum(len(v) for v in kinds.values())} manifests: "
              + ", ".join(f"{k} {len(v)}" for k, v in sorted(kinds.items())))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
