#!/bin/bash
# k8s_manifests: deploy/k8s/*.yaml parse and hold what a tcpfs deployment
# needs (k8s_check.py says what: hostPID, privileged, /run/tcpfs with
# Bidirectional propagation in the DaemonSet, HostToContainer and read-only in
# the workload, /dev/fuse); and the checker rejects a copy with one of these
# broken. No cluster here: kubectl is never run.
. "$(dirname "$0")/lib.sh"
need_py_module yaml yaml python3-yaml
K8S=$LIB_DIR/../../deploy/k8s
CHECK=$LIB_DIR/k8s_check.py
WORK=$(mktemp -d "/tmp/tcpfs-$TEST_NAME.XXXXXX") || die "mktemp"
trap 'rm -rf "$WORK"' EXIT

out=$("$PY" "$CHECK" "$K8S"/*.yaml 2>&1)
assert_eq "ok: 2 manifests: DaemonSet 1, Pod 1" "$out" "deploy/k8s passes the checks"

# broken FILE WHAT SED: a copy of the manifests with SED applied to FILE
# must fail the checks with a line that matches WHAT.
broken() {
	local file=$1 what=$2 expr=$3
	rm -f "$WORK"/*.yaml
	cp "$K8S"/*.yaml "$WORK/" || die "cp"
	sed -i -e "$expr" "$WORK/$file" || die "sed"
	! cmp -s "$K8S/$file" "$WORK/$file" || die "'$expr' changes nothing in $file"
	if out=$("$PY" "$CHECK" "$WORK"/*.yaml 2>&1); then
		fail "$file with '$expr' passes the checks"
	else
		assert_match "$what" "$out" "$file with '$expr' is rejected"
	fi
}
broken tcpfs-daemonset.yaml 'Bidirectional' 's/Bidirectional/HostToContainer/'
broken tcpfs-daemonset.yaml 'hostPID' 's/hostPID: true/hostPID: false/'
broken tcpfs-daemonset.yaml 'privileged' 's/privileged: true/privileged: false/'
broken tcpfs-daemonset.yaml '/dev/fuse' 's|path: /dev/fuse|path: /dev/null|'
broken tcpfs-daemonset.yaml 'matchLabels' '/matchLabels:/{n;s/tcpfs/other/}'
broken pod-example.yaml 'HostToContainer' 's/HostToContainer/None/'
broken pod-example.yaml 'readOnly' '/readOnly: true/d'
broken pod-example.yaml 'names no volume' '0,/- name: tcpfs$/s//- name: other/'
broken pod-example.yaml 'not one of' 's/HostToContainer/Shared/'
broken pod-example.yaml 'YAML|mapping|expected' 's/^spec:/spec: [/'
finish
