#!/bin/bash
# deploy_install: meson install --destdir D puts tcpfs in sbindir, tcpfs.8
# in man8 (man renders it, man tcpfs finds it) and the systemd units in the
# unit directory, their ExecStart on the installed tcpfs; the units pass
# systemd-analyze verify (tcpfs.service, and tcpfs@.service as an
# instance), keep the capabilities tcpfs needs, create no mount namespace
# (the mount must be the host's), and make the mount point in
# ExecStartPre, not with a *Directory= (systemd would chmod it).
. "$(dirname "$0")/lib.sh"
need_root
need_cmd meson man
enter_netns "$@"
[ -n "${MESON_BUILD_ROOT:-}" ] || die "MESON_BUILD_ROOT is not set"

D=$WORK/destdir
out=$(meson install -C "$MESON_BUILD_ROOT" --destdir "$D" --no-rebuild 2>&1)
assert_eq 0 "$?" "meson install --destdir ($(tail -n 3 <<<"$out"))"
bin=$(find "$D" -path '*/sbin/tcpfs' -type f)
page=$(find "$D" -path '*/man8/tcpfs.8' -type f)
assert_ne "" "$bin" "tcpfs in sbin"
assert_ne "" "$page" "tcpfs.8 in man8"
[ -n "$bin" ] && assert_match "^tcpfs " "$("$bin" -V | head -n 1)" "the installed tcpfs runs"
if [ -n "$page" ]; then
	assert_match "tcpfs - TCP connections as a file system" \
		"$(MANWIDTH=80 man -l "$page" 2>&1 | col -b)" "man -l renders it"
	assert_match "DEPLOYMENT" "$(MANPATH=${page%/man8/*} MANWIDTH=80 man tcpfs 2>&1 | col -b)" \
		"man tcpfs finds it under the prefix's man directory"
fi

unit=$(find "$D" -path '*/systemd/system/tcpfs.service' -type f)
tmpl=$(find "$D" -path '*/systemd/system/tcpfs@.service' -type f)
assert_ne "" "$unit" "tcpfs.service installed"
assert_ne "" "$tmpl" "tcpfs@.service installed"
[ -n "$unit" ] && [ -n "$tmpl" ] || finish
exe=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
assert_eq "$bin" "$D$exe" "tcpfs.service runs the installed tcpfs"
assert_match "^ExecStart=$exe /run/tcpfs -f -o allow_other\$" "$(grep ^ExecStart= "$unit")" \
	"tcpfs.service: /run/tcpfs"
assert_match "^ExecStart=$exe /run/tcpfs-%i -f -o allow_other,netns=%i\$" \
	"$(grep ^ExecStart= "$tmpl")" "tcpfs@.service: /run/tcpfs-NAME, netns=NAME"
for u in "$unit" "$tmpl"; do
	caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$u")
	for c in CAP_SYS_ADMIN CAP_NET_ADMIN CAP_BPF CAP_PERFMON CAP_SYS_PTRACE CAP_DAC_READ_SEARCH; do
		[[ " $caps " == *" $c "* ]] && pass "${u##*/}: $c" || fail "${u##*/}: no $c in '$caps'"
	done
	ns=$(grep -E '^(Private(Tmp|Devices|Mounts|Network|Users)|Protect(System|Home|KernelTunables|KernelModules|KernelLogs|ControlGroups|Proc)|ReadOnlyPaths|ReadWritePaths|InaccessiblePaths|TemporaryFileSystem|BindPaths|MountFlags|RootDirectory)=' "$u")
	assert_eq "" "$ns" "${u##*/}: nothing that gives it a mount namespace or another network"
	assert_match "DeviceAllow=/dev/fuse rw" "$(cat "$u")" "${u##*/}: /dev/fuse"
	assert_match "DeviceAllow=/dev/net/tun rw" "$(cat "$u")" "${u##*/}: /dev/net/tun"
	# systemd chmods a *Directory= before every command (the reload's
	# too): on the mount point the mounted root refuses it, and a dead
	# mount fails it, so reload and restart would fail
	assert_eq "" "$(grep -E '^[A-Za-z]+Directory=' "$u")" "${u##*/}: no *Directory= (the mount point is made by ExecStartPre)"
	mnt=$(sed -n 's/^ExecStart=[^ ]* \([^ ]*\) .*/\1/p' "$u")
	assert_eq "-/bin/mkdir -p $mnt" "$(sed -n 's/^ExecStartPre=//p' "$u")" "${u##*/}: ExecStartPre makes $mnt, its failure ignored"
done

command -v systemd-analyze >/dev/null || {
	log "no systemd-analyze: the units are not verified"
	finish
}
# verify wants ExecStart's binary where it points and the Documentation's
# page: the installed ones, in this mount namespace
if [ ! -x "$exe" ]; then
	mount --bind "${bin%/*}" "${exe%/*}" || die "cannot bind ${bin%/*} on ${exe%/*}"
	at_exit "umount -l '${exe%/*}'"
fi
mkdir "$WORK/units" && cp "$unit" "$WORK/units/" && cp "$tmpl" "$WORK/units/tcpfs@box.service"
for u in tcpfs.service tcpfs@box.service; do
	out=$(MANPATH=${page%/man8/*} systemd-analyze verify "$WORK/units/$u" 2>&1)
	assert_eq 0 "$?" "systemd-analyze verify $u: $out"
	assert_eq "" "$out" "systemd-analyze verify $u says nothing"
done
finish
