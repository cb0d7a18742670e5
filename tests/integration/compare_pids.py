#!/usr/bin/env python3
"""Compare a tcpfs kernel/pids file with `ss -tanpHe` of the same namespace.

usage: compare_pids.py PIDS_FILE SS_OUTPUT [NAMES]
Each socket of ss must have one entry in PIDS_FILE (its lines "NAME PID
COMM", or "NAME" alone without a holder), with the holders ss names, and
PIDS_FILE no socket ss lacks; with NAMES (the kernel/ listing, a name a
line), the names must be those of the listing. Exit 0 if equal, else 1
with the differences on stderr."""
import re
import sys

USER = re.compile(r'\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=\d+\)')


def from_pids(text):
    socks = {}
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        cookie = name.rpartition("#")[2]
        holders = socks.setdefault(cookie, (name, set()))[1]
        if rest:
            pid, _, comm = rest.partition(" ")
            holders.add((int(pid), comm))
    return socks


def from_ss(text):
    socks = {}
    for line in text.splitlines():
        m = re.search(r"\bsk:([0-9a-f]+)", line)
        if not m:
            continue
        users = re.search(r"users:\((.*?\))\)", line)
        holders = set()
        if users:
            holders = {(int(p), c) for c, p in USER.findall(users.group(1))}
        socks[m.group(1)] = holders
    return socks


def main():
    pids = from_pids(open(sys.argv[1]).read())
    ss = from_ss(open(sys.argv[2]).read())
    bad = []
    for cookie in sorted(set(pids) | set(ss)):
        if cookie not in ss:
            bad.append("only in pids: %s" % pids[cookie][0])
        elif cookie not in pids:
            bad.append("only in ss: sk:%s" % cookie)
        elif pids[cookie][1] != ss[cookie]:
            bad.append("%s: pids %s, ss %s" % (pids[cookie][0],
                       sorted(pids[cookie][1]), sorted(ss[cookie])))
    if len(sys.argv) > 3:
        names = set(open(sys.argv[3]).read().split()) - {"pids"}
        listed = {name for name, _ in pids.values()}
        if names != listed:
            bad.append("names: listing only %s, pids only %s" %
                       (sorted(names - listed), sorted(listed - names)))
    if not ss:
        bad.append("ss shows no socket")
    for b in bad:
        print(b, file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
