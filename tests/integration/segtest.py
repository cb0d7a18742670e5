#!/usr/bin/python3
"""segtest: packetdrill-style cases against the tcpfs engine, over its TUN.

Usage: segtest.py ENGINE_DIR TABLE [CASE_REGEX]

The test's peer is this script: it writes crafted IPv4 segments straight
into the TUN device through a packet socket (so the host's kernel never
sees them; engine_segments.sh drops what the engine sends before the kernel
answers it) and reads what the engine sends from the same socket. The
engine is driven into each state through its files (clone, ctl connect,
announce, close), the peer playing its half segment by segment.

TABLE has a case per line:  STATE | INJECT | EXPECT | AFTER | RFC
  STATE   LISTEN SYN_SENT SYN_RECEIVED ESTABLISHED FIN_WAIT_1 FIN_WAIT_2
          CLOSE_WAIT CLOSING LAST_ACK TIME_WAIT
  INJECT  FLAGS [seq=E] [ack=E] [win=N] [len=N]: the segment the peer sends
  EXPECT  none, or FLAGS [seq=E] [ack=E] [win=N] [len=N]: the engine's
          answer (only the fields given are compared; FLAGS exactly)
  AFTER   the engine connection's state, then FILE=E pairs compared to
          the connection's files (- for no check)
A line starting with '+' adds another INJECT | EXPECT | AFTER step to the
case above it. E is a Python expression of: rcv (the engine's RCV.NXT as
the peer knows it: what it will send next), nxt (the engine's SND.NXT,
from its segments), iss (the engine's ISS), irs (the peer's ISS), seg
(the injected segment's seq and ack: seg_seq, seg_ack), taken mod 2**32.
Prints one "ok"/"FAIL" line per case; exits 1 if any failed.
"""
import os
import re
import select
import socket
import sys
import threading
import time

from scapy.layers.inet import IP, TCP

HOST, ENG, TUN = (os.environ.get(k, d) for k, d in
                  (("HOST4", "198.19.253.1"), ("ENG4", "198.19.253.2"),
                   ("TUN", "tcpfs0")))
M = 2**32
QUIET = 0.3  # how long "none" waits for a segment that must not come
WAIT = 2.0  # how long an expected segment may take
FLAGS = "FSRPAUEC"


def flagstr(f):
    """TCP flags as letters in a fixed order (F S R P A), e.g. 'SA'."""
    return "".join(c for c in "FSRPA" if c in str(f))


class Link:
    """The TUN device from the host side: send into it, read from it."""

    def __init__(self):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                               socket.htons(0x0003))
        self.s.bind((TUN, 0))
        self.s.setblocking(False)

    def send(self, pkt):
        self.s.sendto(bytes(pkt), (TUN, 0x0800))

    def recv(self, match, timeout):
        """The first segment the engine sends that match() accepts, or None
        after timeout seconds."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                continue
            try:
                data, addr = self.s.recvfrom(65535)
            except BlockingIOError:
                continue
            if addr[2] == socket.PACKET_OUTGOING or data[0] >> 4 != 4:
                continue
            ip = IP(data)
            if ip.src != ENG or TCP not in ip:
                continue
            if match(ip[TCP]):
                return ip[TCP]


class Conn:
    """One connection between the peer (this script) and the engine."""
    port = 41000

    def __init__(self, case, link, engine):
        Conn.port += 1
        self.case, self.link, self.e = case, link, engine
        self.pport = Conn.port
        self.eport = None
        self.n = None
        self.iss = self.nxt = 0
        self.irs = (0x10000000 + Conn.port * 7919) % M
        self.rcv = self.irs
        self.thread = None
        self.result = None

    # the engine's files
    def path(self, f):
        return os.path.join(self.e, str(self.n), f)

    def get(self, f):
        with open(self.path(f)) as fh:
            return fh.read().strip()

    def ctl(self, text):
        fd = os.open(self.path("ctl"), os.O_WRONLY)
        try:
            os.write(fd, (text + "\n").encode())
        finally:
            os.close(fd)

    def clone(self):
        with open(os.path.join(self.e, "clone")) as fh:
            self.n = int(fh.read().strip())

    def wait_state(self, want, secs=WAIT):
        end = time.monotonic() + secs
        while True:
            st = self.get("state")
            if st == want or time.monotonic() > end:
                return st
            time.sleep(0.02)

    # segments
    def mine(self, t):
        return t.dport == self.pport and (self.eport is None or
                                          t.sport == self.eport)

    def send(self, flags, seq, ack=0, win=65535, data=b"", mss=None):
        opts = [("MSS", mss)] if mss else []
        t = TCP(sport=self.pport, dport=self.eport, flags=flags, seq=seq % M,
                ack=ack % M, window=win, options=opts)
        self.link.send(IP(src=HOST, dst=ENG, ttl=64) / t / data)

    def recv(self, timeout=WAIT):
        t = self.link.recv(self.mine, timeout)
        if t is not None:
            self.track(t)
        return t

    def track(self, t):
        """What a segment of the engine tells of its SND.NXT and RCV.NXT."""
        f = flagstr(t.flags)
        if "R" in f:
            return
        end = (t.seq + len(t.payload) + ("S" in f) + ("F" in f)) % M
        if "S" in f or (end - self.nxt) % M < M // 2:
            self.nxt = end
        if "A" in f:
            self.rcv = t.ack

    def expect(self, flags, what, **fields):
        t = self.recv()
        if t is None:
            raise Fail(f"{what}: no {flags} from the engine")
        f = flagstr(t.flags)
        if f.replace("P", "") != flags:
            raise Fail(f"{what}: expected {flags}, got {show(t)}")
        for k, v in fields.items():
            if getattr(t, k) != v % M:
                raise Fail(f"{what}: expected {k}={v % M}, got {show(t)}")
        return t

    # driving the engine into a state
    def connect_bg(self):
        def run():
            try:
                self.ctl(f"connect {HOST}:{self.pport}")
                self.result = "OK"
            except OSError as e:
                self.result = os.strerror(e.errno)
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def syn_sent(self):
        self.clone()
        self.connect_bg()
        t = self.expect("S", "SYN_SENT: the engine's SYN")
        self.eport, self.iss = t.sport, t.seq

    def established(self):
        self.syn_sent()
        self.send("SA", self.irs, self.iss + 1, mss=1460)
        self.rcv = (self.irs + 1) % M
        self.expect("A", "ESTABLISHED: the handshake's ACK", seq=self.iss + 1,
                    ack=self.irs + 1)
        self.thread.join(WAIT)
        if self.result != "OK":
            raise Fail(f"connect: {self.result}")

    def listen(self):
        self.clone()
        self.eport = 20000 + self.pport % 20000
        self.ctl(f"announce {self.eport}")

    def syn_received(self):
        self.listen()
        self.send("S", self.irs, mss=1460)
        t = self.expect("SA", "SYN_RECEIVED: the engine's SYN,ACK",
                        ack=self.irs + 1)
        self.iss = t.seq

    def fin_wait_1(self):
        self.established()
        self.ctl("close")
        self.expect("FA", "FIN_WAIT_1: the engine's FIN", seq=self.nxt,
                    ack=self.rcv)

    def fin_wait_2(self):
        self.fin_wait_1()
        self.send("A", self.rcv, self.nxt)
        self.must_be("FIN_WAIT_2")

    def close_wait(self):
        self.established()
        self.send("FA", self.rcv, self.nxt)
        self.expect("A", "CLOSE_WAIT: the ACK of the peer's FIN",
                    ack=self.rcv + 1)
        self.must_be("CLOSE_WAIT")

    def closing(self):
        self.fin_wait_1()
        self.send("FA", self.rcv, self.nxt - 1)
        self.expect("A", "CLOSING: the ACK of the peer's FIN",
                    ack=self.rcv + 1)
        self.must_be("CLOSING")

    def last_ack(self):
        self.close_wait()
        self.ctl("close")
        self.expect("FA", "LAST_ACK: the engine's FIN", seq=self.nxt)
        self.must_be("LAST_ACK")

    def time_wait(self):
        self.fin_wait_2()
        self.send("FA", self.rcv, self.nxt)
        self.expect("A", "TIME_WAIT: the ACK of the peer's FIN",
                    ack=self.rcv + 1)
        self.must_be("TIME_WAIT")

    def must_be(self, st):
        got = self.wait_state(st)
        if got != st:
            raise Fail(f"setup: engine/{self.n} is {got}, not {st}")

    def into(self, state):
        getattr(self, state.lower())()

    def cleanup(self):
        """Abort what is left, so that no retransmission outlives the case."""
        if self.thread is not None and self.thread.is_alive():
            # a connect still waits (and holds ctl): an acceptable RST ends it
            self.send("RA", self.irs, self.iss + 1)
            self.thread.join(WAIT)
        try:
            if self.n is not None and self.get("state") != "CLOSED":
                self.ctl("hangup")
        except OSError:
            pass


class Fail(Exception):
    pass


def show(t):
    return (f"{flagstr(t.flags)} seq={t.seq} ack={t.ack} win={t.window} "
            f"len={len(t.payload)}")


def parse_seg(spec, env):
    """'FLAGS k=E ...' to (flags, {k: value})."""
    words = spec.split()
    fields = {}
    for w in words[1:]:
        k, e = w.split("=", 1)
        fields[k] = eval(e, {}, env) % M  # noqa: S307 (the test's own table)
    return words[0], fields


def step(c, inject, expect, after):
    env = {"rcv": c.rcv, "nxt": c.nxt, "iss": c.iss, "irs": c.irs}
    flags, f = parse_seg(inject, env)
    seq, ack = f.get("seq", c.rcv), f.get("ack", c.nxt if "A" in flags else 0)
    env.update(seg_seq=seq, seg_ack=ack)
    data = b"x" * f.get("len", 0)
    c.send(flags, seq, ack, f.get("win", 65535), data)
    what = f"{inject!r}"
    if expect == "none":
        t = c.recv(QUIET)
        if t is not None:
            raise Fail(f"{what}: expected no answer, got {show(t)}")
    else:
        eflags, ef = parse_seg(expect, env)
        names = {"seq": "seq", "ack": "ack", "win": "window"}
        t = c.expect(eflags, what, **{names[k]: v for k, v in ef.items()
                                      if k in names})
        if "len" in ef and len(t.payload) != ef["len"]:
            raise Fail(f"{what}: expected len={ef['len']}, got {show(t)}")
    if after == "-":
        return
    words = after.split()
    if c.n is not None:
        got = c.wait_state(words[0], QUIET if words[0] != "CLOSED" else WAIT)
        if got != words[0]:
            raise Fail(f"{what}: engine/{c.n} is {got}, not {words[0]}")
    for w in words[1:]:
        k, e = w.split("=", 1)
        want = str(eval(e, {}, env) % M)  # noqa: S307
        got = c.get(k)
        if got != want:
            raise Fail(f"{what}: {k} is {got}, not {want}")


def load(path):
    cases = []
    with open(path) as fh:
        for line in fh:
            line = line.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            cols = [x.strip() for x in line.split("|")]
            if cols[0] == "+":
                cases[-1]["steps"].append(cols[1:4])
            else:
                cases.append({"state": cols[0], "steps": [cols[1:4]],
                              "rfc": cols[4] if len(cols) > 4 else ""})
    return cases


def main():
    engine, table = sys.argv[1], sys.argv[2]
    only = re.compile(sys.argv[3] if len(sys.argv) > 3 else "")
    link = Link()
    fails = ran = 0
    t0 = time.monotonic()
    for case in load(table):
        name = f"{case['state']}: {case['steps'][0][0]} -> " \
               f"{case['steps'][0][1]} [{case['rfc']}]"
        if not only.search(name):
            continue
        ran += 1
        c = Conn(case, link, engine)
        try:
            c.into(case["state"])
            for inject, expect, after in case["steps"]:
                step(c, inject, expect, after)
            print(f"ok {name}", flush=True)
        except (Fail, OSError) as e:
            fails += 1
            print(f"FAIL {name}: {e}", flush=True)
        finally:
            c.cleanup()
    print(f"segtest: {ran} cases, {fails} failed, "
          f"{time.monotonic() - t0:.1f} s", flush=True)
    sys.exit(1 if fails or not ran else 0)


if __name__ == "__main__":
    main()
