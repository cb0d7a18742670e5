#!/usr/bin/env python3
"""Compare MNT/kernel of a tcpfs mount with `ss -tanHe` of the same namespace.

usage: compare.py MNT [--require FILE] [--absent FILE] [-- PREFIX...]

PREFIX (e.g. `ip netns exec NAME`, `nsenter --net=PATH`) runs ss in the
namespace the mount shows. Every socket ss lists must have its directory
LOCAL-REMOTE#COOKIE, with the same state, local, remote, cookie, recv_q,
send_q, uid and inode, and nothing else may be listed. uid and inode must be
absent for TIME_WAIT and SYN_RECEIVED sockets, inode for a connection not
yet accepted (ss: inode 0); the directory's st_uid is the
owner. --require FILE: lines "NAME STATE" that must be there, with that state
(in ss and in tcpfs). --absent FILE: lines "NAME" (or a `:PORT-` style
substring prefixed with `~`) that must not be listed. Exit 0 if all holds,
1 with FAIL lines otherwise.
"""
import errno
import os
import re
import socket
import subprocess
import sys
import time

SS_STATES = {
    "LISTEN": "LISTEN", "ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT",
    "SYN-RECV": "SYN_RECEIVED", "FIN-WAIT-1": "FIN_WAIT_1",
    "FIN-WAIT-2": "FIN_WAIT_2", "CLOSE-WAIT": "CLOSE_WAIT",
    "CLOSING": "CLOSING", "LAST-ACK": "LAST_ACK", "TIME-WAIT": "TIME_WAIT",
    "UNCONN": "CLOSED", "CLOSE": "CLOSED",
}
NO_OWNER = ("TIME_WAIT", "SYN_RECEIVED")

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def norm_addr(fam, text):
    """ss's ADDR:PORT (PORT may be *, ADDR may be * or [v6]) -> tcpfs form."""
    addr, _, port = text.rpartition(":")
    port = "0" if port == "*" else port
    if addr.startswith("[") and addr.endswith("]"):
        addr = addr[1:-1]
    addr = addr.split("%", 1)[0]  # a device scope: not part of the name
    if addr == "*":
        addr = "::" if fam == 6 else "0.0.0.0"
    if fam == 6:
        addr = socket.inet_ntop(socket.AF_INET6,
                                socket.inet_pton(socket.AF_INET6, addr))
        return "[%s]:%d" % (addr, int(port))
    socket.inet_pton(socket.AF_INET, addr)
    return "%s:%d" % (addr, int(port))


def ss_snapshot(prefix):
    socks = {}
    for fam in (4, 6):
        cmd = prefix + ["ss", "-tanHe", "-%d" % fam]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                             timeout=30).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) < 5:
                continue
            state = SS_STATES.get(f[0])
            if state is None:
                fail("ss state %r unknown to this test: %s" % (f[0], line))
                continue
            rest = " ".join(f[5:])
            m = re.search(r"\bsk:([0-9a-f]+)", rest)
            if not m:
                fail("ss gave no cookie (sk:) for: %s" % line)
                continue
            ino = re.search(r"\bino:(\d+)", rest)
            uid = re.search(r"\buid:(\d+)", rest)
            rec = {
                "state": state,
                "local": norm_addr(fam, f[3]),
                "remote": norm_addr(fam, f[4]),
                "recv_q": f[1],
                "send_q": f[2],
                "cookie": m.group(1),
                "inode": ino.group(1) if ino else "0",
                "uid": uid.group(1) if uid else "0",
            }
            name = "%s-%s#%s" % (rec["local"], rec["remote"], rec["cookie"])
            socks[name] = rec
    return socks


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("ascii", "replace")
    except OSError as e:
        return "<%s>" % errno.errorcode.get(e.errno, e.errno)


def tcpfs_snapshot(mnt):
    root = os.path.join(mnt, "kernel")
    # every entry is a socket's directory but pids, the one file there
    names = [n for n in os.listdir(root) if n != "pids"]
    view = {}
    for n in names:
        d = os.path.join(root, n)
        rec = {}
        for k in ("state", "local", "remote", "recv_q", "send_q", "cookie",
                  "uid", "inode"):
            rec[k] = read_file(os.path.join(d, k))
        try:
            rec["st_uid"] = str(os.stat(d).st_uid)
        except OSError as e:
            rec["st_uid"] = "<%s>" % errno.errorcode.get(e.errno, e.errno)
        view[n] = rec
    return view


def load_lines(path):
    if not path:
        return []
    with open(path) as f:
        return [l.split() for l in f if l.strip()]


def stable_key(ss):
    return {n: (r["state"], r["recv_q"], r["send_q"], r["uid"], r["inode"])
            for n, r in ss.items()}


def main():
    argv = sys.argv[1:]
    prefix = []
    if "--" in argv:
        i = argv.index("--")
        argv, prefix = argv[:i], argv[i + 1:]
    mnt = argv.pop(0)
    require = absent = None
    while argv:
        opt = argv.pop(0)
        if opt == "--require":
            require = argv.pop(0)
        elif opt == "--absent":
            absent = argv.pop(0)
        else:
            sys.exit("compare.py: unknown option " + opt)

    # Sockets can change while we look: take ss before and after, and only
    # judge a round in which ss saw the same thing both times.
    for attempt in range(5):
        before = ss_snapshot(prefix)
        view = tcpfs_snapshot(mnt)
        after = ss_snapshot(prefix)
        if stable_key(before) == stable_key(after):
            break
        time.sleep(0.3)
    else:
        fail("the namespace's sockets kept changing in 5 rounds; "
             "ss before/after differ")
    ss = before

    missing = sorted(set(ss) - set(view))
    extra = sorted(set(view) - set(ss))
    for n in missing:
        fail("ss lists %s (%s) but tcpfs has no such directory"
             % (n, ss[n]["state"]))
    for n in extra:
        fail("tcpfs lists %s (state %r) but ss does not"
             % (n, view[n]["state"].strip()))

    for n in sorted(set(ss) & set(view)):
        want, got = ss[n], view[n]
        for k in ("state", "local", "remote", "recv_q", "send_q", "cookie"):
            if got[k] != want[k] + "\n":
                fail("%s: %s is %r, ss says %r" % (n, k, got[k], want[k]))
        if want["state"] in NO_OWNER:
            for k in ("uid", "inode"):
                if got[k] != "<ENOENT>":
                    fail("%s: %s socket has a %s file (%r); it must not"
                         % (n, want["state"], k, got[k]))
        else:
            for k in ("uid", "inode"):
                # inode 0: a connection not yet accepted, which no file
                # holds: no inode file
                w = "<ENOENT>" if (k, want[k]) == ("inode", "0") else \
                    want[k] + "\n"
                if got[k] != w:
                    fail("%s: %s is %r, ss says %r" % (n, k, got[k], want[k]))
            if got["st_uid"] != want["uid"]:
                fail("%s: directory st_uid is %s, the owner is uid %s"
                     % (n, got["st_uid"], want["uid"]))

    for words in load_lines(require):
        n, state = words[0], words[1]
        if n.endswith("#"):  # LOCAL-REMOTE#: the cookie is not known
            hits = [m for m in ss if m.startswith(n)]
            if len(hits) != 1:
                fail("required socket %s* (%s): ss has %d such sockets, "
                     "wanted 1: test setup failed" % (n, state, len(hits)))
                continue
            n = hits[0]
        if n not in ss:
            fail("required socket %s (%s) is not in ss: test setup failed"
                 % (n, state))
        elif ss[n]["state"] != state:
            fail("required socket %s is %s in ss, wanted %s: test setup failed"
                 % (n, ss[n]["state"], state))
        if n not in view:
            fail("required socket %s (%s) has no directory" % (n, state))
        elif view[n]["state"] != state + "\n":
            fail("required socket %s: state file %r, wanted %s"
                 % (n, view[n]["state"], state))

    for words in load_lines(absent):
        pat = words[0]
        if pat.startswith("~"):
            hits = [n for n in view if pat[1:] in n]
        else:
            hits = [n for n in view if n == pat]
        for h in hits:
            fail("tcpfs lists %s, which must not be there (%s)" % (h, pat))

    counts = {}
    for r in ss.values():
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    print("compare: ss %d sockets, tcpfs %d directories; %s"
          % (len(ss), len(view),
             " ".join("%s=%d" % kv for kv in sorted(counts.items()))))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
