#!/usr/bin/env python3
"""Compare tcpfs's kernel transitions with the kernel's own tracepoint text.

usage: kernel_transitions.py PORT TRACE EVENTS

TRACE is what a tracefs instance printed for sock:inet_sock_set_state (the
tracepoint tcpstates(8) reads); EVENTS is what MNT/events printed. Both are
cut down to the sockets on local or remote port PORT and, per socket
(local port, remote port), to the sequence of "A -> B" transitions. The
kernel names a socket that becomes a mini-socket FIN_WAIT2 -> CLOSE; tcpfs
says FIN_WAIT_2 -> TIME_WAIT, as it should: that is the one rewrite (for a
socket closed before its peer, whose mini-socket waits in FIN_WAIT2, tcpfs
says it when the peer's FIN comes, a change tracefs never shows: every
socket here sees its peer close, so the sequences are the same). A
client's first transition (CLOSED -> SYN_SENT) is traced before
its port is chosen (sport=0): it is given to the next client that leaves
SYN_SENT. Exit 0 if every socket has the same sequence on both sides, 1
with a FAIL line per difference. Prints the number of sockets compared.
"""
import re
import sys

NAMES = {
    "TCP_ESTABLISHED": "ESTABLISHED",
    "TCP_SYN_SENT": "SYN_SENT",
    "TCP_SYN_RECV": "SYN_RECEIVED",
    "TCP_FIN_WAIT1": "FIN_WAIT_1",
    "TCP_FIN_WAIT2": "FIN_WAIT_2",
    "TCP_TIME_WAIT": "TIME_WAIT",
    "TCP_CLOSE": "CLOSED",
    "TCP_CLOSE_WAIT": "CLOSE_WAIT",
    "TCP_LAST_ACK": "LAST_ACK",
    "TCP_LISTEN": "LISTEN",
    "TCP_CLOSING": "CLOSING",
    "TCP_NEW_SYN_RECV": "NEW_SYN_RECV",
}
TP = re.compile(r"sport=(\d+) dport=(\d+) .*oldstate=(\w+) newstate=(\w+)")
# the kernel's report of a socket becoming a TIME_WAIT mini-socket
TIMEWAIT = {("FIN_WAIT_2", "CLOSED"), ("CLOSING", "CLOSED")}
# "SECONDS kernel/LOCAL-REMOTE#COOKIE A -> B", ports after the last ':'
EV = re.compile(r"^\S+ kernel/\S*:(\d+)-\S*:(\d+)#[0-9a-f]+ (\w+) -> (\w+)$")


def traced(path, port):
    socks, pending = {}, []
    for line in open(path):
        m = TP.search(line)
        if not m:
            continue
        sport, dport = int(m[1]), int(m[2])
        old, new = NAMES.get(m[3], m[3]), NAMES.get(m[4], m[4])
        if port not in (sport, dport):
            continue
        if sport == 0:  # connect() before its port: claimed below
            pending.append((old, new))
            continue
        seq = socks.setdefault((sport, dport), [])
        if old == "SYN_SENT" and not seq and pending:
            seq.append(pending.pop(0))
        if (old, new) in TIMEWAIT:
            new = "TIME_WAIT"
        seq.append((old, new))
    return socks


def events(path, port):
    socks = {}
    for line in open(path):
        m = EV.match(line.strip())
        if m and port in (int(m[1]), int(m[2])):
            key = (int(m[1]), int(m[2]))
            socks.setdefault(key, []).append((m[3], m[4]))
    return socks


def show(seq):
    return ", ".join(f"{a} -> {b}" for a, b in seq) or "(none)"


def main():
    port, trace_path, events_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    want, got = traced(trace_path, port), events(events_path, port)
    bad = 0
    for key in sorted(set(want) | set(got)):
        w, g = want.get(key, []), got.get(key, [])
        if w != g:
            bad += 1
            print(f"FAIL :{key[0]}-:{key[1]} kernel: {show(w)} | tcpfs: {show(g)}")
    print(f"{len(want)} sockets compared")
    return 1 if bad or not want else 0


if __name__ == "__main__":
    sys.exit(main())
