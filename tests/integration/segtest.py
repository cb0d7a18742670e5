#!/usr/bin/python3
"""segtest: packetdrill-style cases against the tcpfs engine, over its TUN.

Usage: segtest.py [-6] ENGINE_DIR TABLE [CASE_REGEX]
       segtest.py [-6] --kernel TABLE [CASE_REGEX]

The test's peer is this script: it writes crafted segments (IPv4, or IPv6
with -6: the table is the same for both) straight into the TUN device through a packet socket (so the host's kernel never
sees them; engine_segments.sh drops what the engine sends before the kernel
answers it) and reads what the engine sends from the same socket. The
engine is driven into each state through its files (clone, ctl connect,
announce, close), the peer playing its half segment by segment.

With --kernel the same table runs against Linux, the reference where the
RFC leaves a choice: a TUN device of the script's own (segk0, 198.19.252.0/30
or fdcf:7c9f:7cfb::/64) carries the segments, and sockets of the script's namespace play the
engine's part (connect, listen, shutdown for close); their state comes from
/proc/net/tcp (tcp6). The file checks of AFTER are the engine's only.

TABLE has a case per line:  STATE | INJECT | EXPECT | AFTER | RFC
  STATE   LISTEN SYN_SENT SYN_RECEIVED ESTABLISHED FIN_WAIT_1 FIN_WAIT_2
          CLOSE_WAIT CLOSING LAST_ACK TIME_WAIT
  INJECT  FLAGS [seq=E] [ack=E] [win=N] [len=N]: the segment the peer sends
  EXPECT  none, or FLAGS [seq=E] [ack=E] [win=N] [len=N]: the engine's
          answer (only the fields given are compared; FLAGS exactly, but
          PSH); "ENGINE ~ LINUX" where Linux makes another allowed choice
  AFTER   the connection's state (the listener's in LISTEN and
          SYN_RECEIVED), then FILE=E pairs compared to its files
A line starting with '+' adds another INJECT | EXPECT | AFTER step to the
case above it. E is a Python expression of: rcv (the engine's RCV.NXT as
the peer knows it: what it will send next), nxt (the engine's SND.NXT,
from its segments), iss (the engine's ISS), irs (the peer's ISS), seg
(the injected segment's seq and ack: seg_seq, seg_ack), taken mod 2**32.
Prints one "ok"/"FAIL" line per case; exits 1 if any failed.
"""
import fcntl
import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6

M = 2**32
QUIET = 0.3  # how long "none" waits for a segment that must not come
WAIT = 2.0  # how long an expected segment may take
STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECEIVED", 4: "FIN_WAIT_1",
          5: "FIN_WAIT_2", 6: "TIME_WAIT", 8: "CLOSE_WAIT", 9: "LAST_ACK",
          10: "LISTEN", 11: "CLOSING"}


def flagstr(f):
    """TCP flags as letters in a fixed order (F S R P A), e.g. 'SA'."""
    return "".join(c for c in "FSRPA" if c in str(f))


class Fail(Exception):
    pass


class Link:
    """Where segments cross: send() one into it, recv() what the target
    sends. peer is the script's address, sut the target's, both of family
    (AF_INET or AF_INET6)."""
    family = socket.AF_INET

    def v6(self):
        return self.family == socket.AF_INET6

    def packet(self, seg):
        """SEG in an IP packet from the peer to the target."""
        if self.v6():
            return IPv6(src=self.peer, dst=self.sut, hlim=64) / seg
        return IP(src=self.peer, dst=self.sut, ttl=64) / seg

    def from_sut(self, data):
        """The TCP segment in DATA if the target sent it, else None."""
        if not data or data[0] >> 4 != (6 if self.v6() else 4):
            return None
        ip = (IPv6 if self.v6() else IP)(data)
        if TCP not in ip or (socket.inet_pton(self.family, ip.src) !=
                             socket.inet_pton(self.family, self.sut)):
            return None
        return ip[TCP]

    def recv(self, match, timeout):
        """The first segment the target sends that match() accepts, or
        None after timeout seconds."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            t = self.from_sut(self.read() if r else None)
            if t is not None and match(t):
                return t


class EngineLink(Link):
    """The engine's TUN device from the host side, through a packet socket:
    what it writes goes to the engine, and it reads what the engine sends."""

    def __init__(self, family):
        self.family = family
        self.tun = os.environ.get("TUN", "tcpfs0")
        if self.v6():
            self.peer = os.environ.get("HOST6", "fdcf:7c9f:7cfa::1")
            self.sut = os.environ.get("ENG6", "fdcf:7c9f:7cfa::2")
        else:
            self.peer = os.environ.get("HOST4", "198.19.253.1")
            self.sut = os.environ.get("ENG4", "198.19.253.2")
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                               socket.htons(0x0003))
        self.s.bind((self.tun, 0))
        self.s.setblocking(False)
        self.fd = self.s

    def send(self, pkt):
        self.s.sendto(bytes(pkt), (self.tun, 0x86DD if self.v6() else 0x0800))

    def read(self):
        try:
            data, addr = self.s.recvfrom(65535)
        except BlockingIOError:
            return None
        return None if addr[2] == socket.PACKET_OUTGOING else data


class KernelLink(Link):
    """A TUN device of the script's own: the kernel on one side (sut), the
    script on the other (peer)."""

    def __init__(self, family, name="segk0"):
        self.family = family
        if self.v6():  # nodad: usable at once
            self.peer, self.sut = "fdcf:7c9f:7cfb::2", "fdcf:7c9f:7cfb::1"
            addr = f"addr add {self.sut}/64 dev {name} nodad"
        else:
            self.peer, self.sut = "198.19.252.2", "198.19.252.1"
            addr = f"addr add {self.sut}/30 dev {name}"
        self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(self.fd, 0x400454CA,  # TUNSETIFF, IFF_TUN | IFF_NO_PI
                    struct.pack("16sH", name.encode(), 0x0001 | 0x1000))
        for cmd in (addr, f"link set {name} up"):
            subprocess.run(["ip"] + cmd.split(), check=True)

    def send(self, pkt):
        os.write(self.fd, bytes(pkt))

    def read(self):
        try:
            return os.read(self.fd, 65535)
        except BlockingIOError:
            return None


class Engine:
    """The engine, driven through its files; a connection is its number."""
    files = True

    def __init__(self, edir):
        self.e = edir

    def new(self):
        with open(os.path.join(self.e, "clone")) as fh:
            return int(fh.read().strip())

    def get(self, h, f):
        with open(os.path.join(self.e, str(h), f)) as fh:
            return fh.read().strip()

    def ctl(self, h, text):
        fd = os.open(os.path.join(self.e, str(h), "ctl"), os.O_WRONLY)
        try:
            os.write(fd, (text + "\n").encode())
        finally:
            os.close(fd)

    def connect(self, h, addr, port):
        self.ctl(h, f"connect [{addr}]:{port}" if ":" in addr else
                 f"connect {addr}:{port}")

    def announce(self, h, port):
        self.ctl(h, f"announce {port}")

    def close(self, h):
        self.ctl(h, "close")

    def state(self, c):
        return self.get(c.h, "state")

    def hangup(self, h):
        if self.get(h, "state") != "CLOSED":
            self.ctl(h, "hangup")


class Kernel:
    """Linux, through sockets of LINK's family at its sut address; close is
    shutdown(SHUT_WR), so that unread data never turns it into a RST."""
    files = False

    def __init__(self, link):
        self.link = link

    def new(self):
        return socket.socket(self.link.family, socket.SOCK_STREAM)

    def connect(self, h, addr, port):
        h.setblocking(False)
        h.connect_ex((addr, port))
        select.select([], [h], [], 2 * WAIT)
        err = h.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))

    def announce(self, h, port):
        h.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        h.bind((self.link.sut, port))
        h.listen(8)

    def close(self, h):
        h.shutdown(socket.SHUT_WR)

    def state(self, c):
        """From /proc/net/tcp (tcp6): the listener on c.eport, or the
        connection between c.eport and c.pport; CLOSED when there is none."""
        rport = 0 if c.listener else c.pport
        with open("/proc/net/tcp6" if self.link.v6() else
                  "/proc/net/tcp") as fh:
            for line in fh.readlines()[1:]:
                w = line.split()
                lp, rp = (int(x.split(":")[1], 16) for x in w[1:3])
                if lp == c.eport and rp == rport:
                    return STATES.get(int(w[3], 16), w[3])
        return "CLOSED"

    def hangup(self, h):
        h.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        h.close()


class Conn:
    """One connection between the peer (this script) and the target."""
    port = 41000

    def __init__(self, link, target):
        Conn.port += 1
        self.link, self.t = link, target
        self.pport = Conn.port
        self.eport = None
        self.h = None
        self.listener = False
        self.iss = self.nxt = 0
        self.irs = (0x10000000 + Conn.port * 7919) % M
        self.rcv = self.irs
        self.thread = None
        self.result = None

    def wait_state(self, want, secs=WAIT):
        end = time.monotonic() + secs
        while True:
            st = self.t.state(self)
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
        self.link.send(self.link.packet(t / data))

    def recv(self, timeout=WAIT):
        t = self.link.recv(self.mine, timeout)
        if t is not None:
            self.track(t)
        return t

    def track(self, t):
        """What a segment of the target tells of its SND.NXT and RCV.NXT."""
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
            raise Fail(f"{what}: no {flags} came")
        f = flagstr(t.flags)
        if f.replace("P", "") != flags:
            raise Fail(f"{what}: expected {flags}, got {show(t)}")
        for k, v in fields.items():
            if getattr(t, k) != v % M:
                raise Fail(f"{what}: expected {k}={v % M}, got {show(t)}")
        return t

    # driving the target into a state
    def syn_sent(self):
        self.h = self.t.new()

        def run():
            try:
                self.t.connect(self.h, self.link.peer, self.pport)
                self.result = "OK"
            except OSError as e:
                self.result = os.strerror(e.errno)
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        t = self.expect("S", "SYN_SENT: the SYN")
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
        self.h = self.t.new()
        self.listener = True
        self.eport = 20000 + self.pport % 20000
        self.t.announce(self.h, self.eport)

    def syn_received(self):
        self.listen()
        self.send("S", self.irs, mss=1460)
        t = self.expect("SA", "SYN_RECEIVED: the SYN,ACK", ack=self.irs + 1)
        self.iss = t.seq

    def fin_wait_1(self):
        self.established()
        self.t.close(self.h)
        self.expect("FA", "FIN_WAIT_1: the FIN", seq=self.nxt, ack=self.rcv)

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
        self.t.close(self.h)
        self.expect("FA", "LAST_ACK: the FIN", seq=self.nxt)
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
            raise Fail(f"setup: {got}, not {st}")

    def into(self, state):
        getattr(self, state.lower())()

    def cleanup(self):
        """Abort what is left, so that no retransmission outlives the case."""
        if self.thread is not None and self.thread.is_alive():
            # a connect still waits (and holds ctl): an acceptable RST ends it
            self.send("RA", self.rcv, self.iss + 1)
            self.thread.join(WAIT)
            if self.thread.is_alive():
                return  # a hangup would wait behind it
        try:
            if self.h is not None:
                self.t.hangup(self.h)
        except OSError:
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
    expect = expect.split(" ~ ")[-1 if isinstance(c.t, Kernel) else 0]
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
    words = after.split()
    got = c.wait_state(words[0], QUIET if words[0] != "CLOSED" else WAIT)
    if got != words[0]:
        raise Fail(f"{what}: the state is {got}, not {words[0]}")
    for w in words[1:] if c.t.files else []:
        k, e = w.split("=", 1)
        want = str(eval(e, {}, env) % M)  # noqa: S307
        got = c.t.get(c.h, k)
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
    args = sys.argv[1:]
    family = socket.AF_INET
    if args[0] == "-6":
        family = socket.AF_INET6
        args = args[1:]
    if args[0] == "--kernel":
        link = KernelLink(family)
        target = Kernel(link)
    else:
        link, target = EngineLink(family), Engine(args[0])
    table = args[1]
    only = re.compile(args[2] if len(args) > 2 else "")
    fails = ran = 0
    t0 = time.monotonic()
    for case in load(table):
        name = f"{case['state']}: {case['steps'][0][0]} -> " \
               f"{case['steps'][0][1]} [{case['rfc']}]"
        if not only.search(name):
            continue
        ran += 1
        c = Conn(link, target)
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
