#!/usr/bin/env python3
"""Hold many established loopback TCP connections, for bench/kernel_view.sh.

Reads commands on stdin, answers one line each on stdout:
  grow N    open connected pairs until N sockets are held in all
            (N/2 pairs; both ends of each are established sockets)
            -> "ok SOCKETS SECONDS"
  quit
One process may hold no more descriptors than its RLIMIT_NOFILE hard limit
(which an unprivileged process, or a container, cannot raise), so the
sockets are spread over holder processes forked from this one, each with
at most PER_HOLDER sockets (both ends of a pair in the same holder, which
has its own listener on 127.0.0.1). Holders grow in parallel. Clients bind
127.1.K.1 (IP_BIND_ADDRESS_NO_PORT) with K changing every PER_SOURCE
connections over all holders, so no source address runs out of ports.
Holders die with this process; it exits at end of input or after MAX_LIFE
seconds.
"""
import ctypes
import os
import resource
import select
import signal
import socket
import sys
import time

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
PER_SOURCE = 20000
BATCH = 256
MAX_LIFE = float(os.environ.get("PAIRS_MAX_LIFE", "3600"))
SLACK = 64  # descriptors a holder needs besides its sockets
PR_SET_PDEATHSIG = 1


def nofile_limit():
    """Raise the soft limit to the hard one; return the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def per_holder():
    env = os.environ.get("PAIRS_PER_HOLDER")
    cap = int(env) if env else min(16000, nofile_limit() - SLACK)
    return max(2, cap - cap % 2)


# --- a holder: one process, its own listener, up to PER_HOLDER sockets ---

def holder(rd, wr, first_pair):
    """Serve "grow N" on pipe RD (answers on WR): hold N sockets, pair
    number first_pair + i binding source 127.1.((first_pair + i) //
    PER_SOURCE).1."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG,
                                                signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:
        os._exit(0)
    nofile_limit()
    held = []
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", 0))
    lst.listen(4096)
    dst = lst.getsockname()
    cmds = os.fdopen(rd, "r")
    answers = os.fdopen(wr, "w")
    for line in cmds:
        target = int(line.split()[1])
        try:
            while len(held) < target:
                batch = []
                for _ in range(min(BATCH, (target - len(held)) // 2 or 1)):
                    i = first_pair + len(held) // 2 + len(batch)
                    c = socket.socket()
                    c.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                    c.bind(("127.1.%d.1" % (i // PER_SOURCE), 0))
                    c.connect(dst)
                    batch.append(c)
                for c in batch:
                    s, _ = lst.accept()
                    held.append(c)
                    held.append(s)
            answers.write("ok %d\n" % len(held))
        except OSError as e:
            answers.write("err %s (holder %d holding %d sockets)\n"
                          % (e, os.getpid(), len(held)))
        answers.flush()
    os._exit(0)


class Holder:
    def __init__(self, first_pair):
        crd, cwr = os.pipe()  # commands, parent -> holder
        ard, awr = os.pipe()  # answers, holder -> parent
        pid = os.fork()
        if pid == 0:
            # keep only the own pipes: no other holder's command pipe (its
            # EOF ends that holder), nor the parent's stdin and stdout
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 1)
            for fd in map(int, os.listdir("/proc/self/fd")):
                if fd > 2 and fd not in (crd, awr):
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            try:
                holder(crd, awr, first_pair)
            finally:
                os._exit(1)
        os.close(crd)
        os.close(awr)
        self.pid = pid
        self.cmd = os.fdopen(cwr, "w")
        self.ans = os.fdopen(ard, "r")
        self.held = 0


def grow(holders, target, cap):
    """Bring the total to TARGET sockets; "" or the first error."""
    want = []
    left = target
    i = 0
    while left > 0:
        n = min(cap, left)
        if i == len(holders):
            holders.append(Holder(i * cap // 2))
        want.append(max(n, holders[i].held))
        left -= n
        i += 1
    busy = []
    for h, n in zip(holders, want):
        if n > h.held:
            h.cmd.write("grow %d\n" % n)
            h.cmd.flush()
            busy.append(h)
    err = ""
    for h in busy:  # they work in parallel; collect every answer
        line = h.ans.readline().strip()
        if line.startswith("ok "):
            h.held = int(line.split()[1])
        elif not err:
            err = line or "holder %d died" % h.pid
    return err


def main():
    cap = per_holder()
    holders = []
    start = time.monotonic()
    while time.monotonic() - start < MAX_LIFE:
        r, _, _ = select.select([sys.stdin], [], [], 1.0)
        if not r:
            continue
        line = sys.stdin.readline()
        if not line or line.startswith("quit"):
            break
        words = line.split()
        if words[0] != "grow" or len(words) != 2:
            print("err unknown command", flush=True)
            continue
        t0 = time.monotonic()
        err = grow(holders, int(words[1]), cap)
        total = sum(h.held for h in holders)
        if err:
            print("err %s (holding %d sockets in %d processes)"
                  % (err, total, len(holders)), flush=True)
        else:
            print("ok %d %.2f %d" % (total, time.monotonic() - t0,
                                     len(holders)), flush=True)
    for h in holders:
        h.cmd.close()
    for h in holders:
        try:
            os.kill(h.pid, signal.SIGKILL)
            os.waitpid(h.pid, 0)
        except OSError:
            pass


if __name__ == "__main__":
    main()
