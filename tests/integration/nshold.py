#!/usr/bin/env python3
"""Readers of a tcpfs events file, each in a network namespace of its own.

usage: nshold.py MNT UID COUNT [ls]
Forks COUNT children; each enters a new network namespace (unshare, as
root), becomes UID and opens MNT/events, and prints one line: "ok" or the
errno's name. With "ls", each also listens on 0.0.0.0, port 0, and prints
"ok" only if MNT/kernel lists that listener. The children hold what they
opened until this process ends (SIGTERM, or 120 s); they die with it.
"""
import ctypes
import errno
import os
import signal
import socket
import sys
import time

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1


def child(mnt, uid, ls, out):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        out.write("unshare:%s\n" % errno.errorcode[ctypes.get_errno()])
        return
    os.setgid(uid)
    os.setuid(uid)
    # after setuid, which clears it
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        if ls:
            s = socket.socket()
            s.bind(("0.0.0.0", 0))
            s.listen()
            want = "0.0.0.0:%d-0.0.0.0:0#" % s.getsockname()[1]
            names = os.listdir(os.path.join(mnt, "kernel"))
            ok = any(n.startswith(want) for n in names)
            out.write("ok\n" if ok else "missing\n")
        else:
            fd = os.open(os.path.join(mnt, "events"), os.O_RDONLY)
            out.write("ok\n")
    except OSError as e:
        out.write(errno.errorcode.get(e.errno, str(e.errno)) + "\n")
    out.flush()
    time.sleep(120)


def main():
    mnt, uid, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ls = sys.argv[4:] == ["ls"]
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    for _ in range(count):
        r, w = os.pipe()
        if os.fork() == 0:
            os.close(r)
            child(mnt, uid, ls, os.fdopen(w, "w"))
            os._exit(0)
        os.close(w)
        # one at a time: the daemon sees them in order
        print(os.fdopen(r).readline().strip() or "died", flush=True)
    time.sleep(120)


main()
