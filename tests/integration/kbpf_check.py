#!/usr/bin/env python3
"""kbpf_check: the checks of kernel_bpf.sh, run in a fresh network namespace.

    kbpf_check.py PROBE EVENTFILE

Drives real sockets on loopback and compares what kbpf_probe (the kbpf
backend) says with independent references: TCP_REPAIR's TCP_QUEUE_SEQ on the
same sockets, byte counts, the peer's numbers, and (when tshark is there) the
SYN and SYN-ACK of a capture. Prints one "FAIL: ..." line per failed check;
exits 1 if any failed.
"""
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import time

from holder import repair  # beside this script

PROBE = sys.argv[1]
SERVER = None
MASK = 0xFFFFFFFF
fails = 0
checks = 0


def check(ok, what):
    global fails, checks
    checks += 1
    if not ok:
        fails += 1
        print("FAIL:", what, flush=True)


def eq(want, got, what):
    check(want == got, "%s: expected %r, got %r" % (what, want, got))


def parse(line):
    words = line.split()
    d = {"_": words[0], "words": words} if words else {}
    for w in words:
        if "=" in w:
            k, v = w.split("=", 1)
            d[k] = int(v) if v.isdigit() else v
    return d


def seq(laddr, lport, raddr, rport, cookie=None):
    """Ask the probe that also records the events (it keeps iss/irs)."""
    args = ["seq", laddr, str(lport), raddr, str(rport)]
    if cookie is not None:
        args.append(str(cookie))
    return SERVER.ask(" ".join(args))


def seq_of(sock, cookie=None):
    la, lp = sock.getsockname()[:2]
    ra, rp = sock.getpeername()[:2]
    return seq(la, lp, ra, rp, cookie)


def recv_all(sock, n):
    got = 0
    while got < n:
        b = sock.recv(min(65536, n - got))
        if not b:
            break
        got += len(b)
    return got


def pair(fam, addr, port, listener=None):
    l = listener
    if l is None:
        l = socket.socket(fam)
        l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind((addr, port))
        l.listen(16)
    c = socket.socket(fam)
    c.connect((addr, port))
    s, _ = l.accept()
    return l, c, s


def nft(*rules):
    subprocess.run(["nft"] + list(rules), check=True)


class Server:
    """kbpf_probe serve: one kbpf for lookups and events, until stop()."""

    def __init__(self, evfile):
        self.evfile = evfile
        self.p = subprocess.Popen([PROBE, "serve", evfile],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        first = parse(self.p.stdout.readline())
        if first.get("_") != "ready":
            print("FAIL: the probe is not ready:", first)
            sys.exit(1)
        self.netns = first.get("netns")
        self.lines = []

    def ask(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return parse(self.p.stdout.readline())

    def stop(self):
        time.sleep(0.2)  # more than one drain period
        self.p.stdin.close()
        self.p.wait(timeout=10)
        with open(self.evfile) as f:
            self.lines = [parse(l) for l in f]
        return self.lines

    def of(self, cookie, kind=None):
        return [e for e in self.lines if e.get("cookie") == cookie and
                (kind is None or e["_"] == kind)]


def transitions(ev, cookie):
    return [(e["from"], e["to"]) for e in ev.of(cookie, "state")]


def start_capture(port):
    """tshark on lo for the SYN and SYN-ACK to/from PORT, or None."""
    if not shutil.which("tshark"):
        return None
    p = subprocess.Popen(
        ["tshark", "-l", "-n", "-i", "lo", "-c", "2", "-f",
         "tcp port %d and tcp[tcpflags] & tcp-syn != 0" % port,
         "-T", "fields", "-e", "tcp.flags.ack", "-e", "tcp.seq_raw"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait for "Capturing on" on stderr
    end = time.time() + 20
    while time.time() < end:
        r, _, _ = select.select([p.stderr], [], [], 0.5)
        if r and "Capture started" in p.stderr.readline():
            return p
    p.kill()
    return None


def main():
    global SERVER
    netns = os.stat("/proc/self/ns/net").st_ino
    # a connection older than the backend: no handshake seen, no iss
    lo_, co, so = pair(socket.AF_INET, "127.0.0.1", 4999)
    ev = SERVER = Server(sys.argv[2])
    cos = seq_of(co)
    eq("ESTABLISHED", cos.get("state"), "older connection: found")
    check("iss" not in cos and "irs" not in cos,
          "older connection: no iss/irs (%s)" % " ".join(cos.get("words", [])))
    eq(netns, ev.netns, "events: the watched namespace is ours")

    # Another namespace: its sockets must not show.
    subprocess.run(
        ["unshare", "--net", sys.executable, "-c",
         "import socket,subprocess,time;"
         "subprocess.run(['ip','link','set','lo','up']);"
         "l=socket.socket();l.bind(('127.0.0.1',7777));l.listen();"
         "c=socket.create_connection(('127.0.0.1',7777));s,_=l.accept();"
         "c.close();s.close();l.close()"], check=True, timeout=20)

    # --- IPv4: data both ways, then idle ---
    N1, N2, PORT = 100000, 5000, 5000
    cap = start_capture(PORT)
    l, c, s = pair(socket.AF_INET, "127.0.0.1", PORT)
    c.sendall(b"a" * N1)
    eq(N1, recv_all(s, N1), "server reads what the client wrote")
    s.sendall(b"b" * N2)
    eq(N2, recv_all(c, N2), "client reads what the server wrote")
    time.sleep(0.2)
    cs, ss = seq_of(c), seq_of(s)
    cw, cr = repair(c)
    sw, sr = repair(s)
    for name, x, w, r in (("client", cs, cw, cr), ("server", ss, sw, sr)):
        eq("full", x.get("kind"), name + ": full socket")
        eq("ESTABLISHED", x.get("state"), name + ": state")
        eq(w, x.get("write_seq"), name + ": write_seq = TCP_REPAIR send queue seq")
        eq(r, x.get("rcv_nxt"), name + ": rcv_nxt = TCP_REPAIR receive queue seq")
        eq(x.get("write_seq"), x.get("snd_nxt"), name + ": idle: snd_nxt = write_seq")
        eq(x.get("snd_nxt"), x.get("snd_una"), name + ": idle: snd_una = snd_nxt")
        eq(x.get("rcv_nxt"), x.get("copied_seq"), name + ": all read: copied_seq = rcv_nxt")
    eq(cs.get("snd_nxt"), ss.get("rcv_nxt"), "client snd_nxt = server rcv_nxt")
    eq(ss.get("snd_nxt"), cs.get("rcv_nxt"), "server snd_nxt = client rcv_nxt")
    check(0 < (cs.get("snd_wl1", 0) - cs.get("irs", 0)) & MASK <= N2 + 1,
          "client snd_wl1 is a seq the server sent: %r" % cs.get("snd_wl1"))
    eq(N1, (cs.get("write_seq", 0) - cs.get("iss", 0) - 1) & MASK, "client: write_seq - iss - 1 = bytes written")
    eq(N2, (ss.get("write_seq", 0) - ss.get("iss", 0) - 1) & MASK, "server: write_seq - iss - 1 = bytes written")
    eq(cs.get("iss"), ss.get("irs"), "server irs = client iss")
    eq(ss.get("iss"), cs.get("irs"), "client irs = server iss")
    if cap:
        out, _ = cap.communicate(timeout=10)
        syn = dict(tuple(l.split()) for l in out.splitlines() if l.strip())
        eq(str(cs.get("iss")), syn.get("0"), "client iss = the SYN's seq (tshark)")
        eq(str(ss.get("iss")), syn.get("1"), "server iss = the SYN-ACK's seq (tshark)")
    else:
        print("note: no tshark capture; iss checked against byte counts only")

    # A wrong cookie is ENOENT.
    eq(["error", "ENOENT"], seq_of(c, cs["cookie"] + 1).get("words"),
       "wrong cookie: ENOENT")
    eq("full", seq_of(c, cs["cookie"]).get("kind"), "right cookie: found")

    # LISTEN
    ls = seq("127.0.0.1", PORT, "0.0.0.0", 0)
    eq("LISTEN", ls.get("state"), "listener: state")
    check("snd_nxt" not in ls, "listener: no sequence numbers")

    # Active close by the client, after the server read everything.
    ctuple = (c.getsockname(), c.getpeername())
    stuple = (s.getsockname(), s.getpeername())
    c.close()
    eq(0, len(s.recv(10)), "server reads EOF")
    s.close()
    time.sleep(0.2)
    tw = seq(ctuple[0][0], ctuple[0][1], ctuple[1][0], ctuple[1][1])
    eq("timewait", tw.get("kind"), "client: TIME_WAIT mini-socket")
    eq("TIME_WAIT", tw.get("state"), "client: TIME_WAIT state")
    eq(cs["cookie"], tw.get("cookie"), "TIME_WAIT keeps the cookie")
    eq((cs["write_seq"] + 1) & MASK, tw.get("snd_nxt"), "TIME_WAIT snd_nxt = write_seq + FIN")
    eq((ss["write_seq"] + 1) & MASK, tw.get("rcv_nxt"), "TIME_WAIT rcv_nxt = peer's write_seq + FIN")
    eq(cs.get("iss"), tw.get("iss"), "TIME_WAIT keeps iss")
    # The server's tuple now finds the listener: its cookie says no.
    st = seq(stuple[0][0], stuple[0][1], stuple[1][0], stuple[1][1], ss["cookie"])
    eq("error", st.get("_"), "gone connection (listener answers): error")
    eq(["error", "ENOENT"], st.get("words"), "gone connection: ENOENT")

    # --- IPv6 ---
    l6, c6, s6 = pair(socket.AF_INET6, "::1", 5001)
    c6.sendall(b"x" * 777)
    recv_all(s6, 777)
    time.sleep(0.1)
    c6s, s6s = seq_of(c6), seq_of(s6)
    eq(repair(c6)[0], c6s.get("write_seq"), "IPv6 client write_seq = TCP_REPAIR")
    eq(c6s.get("snd_nxt"), s6s.get("rcv_nxt"), "IPv6 client snd_nxt = server rcv_nxt")
    eq(777, (c6s.get("write_seq", 0) - c6s.get("iss", 0) - 1) & MASK, "IPv6 client: bytes written")
    c6t = (c6.getsockname()[:2], c6.getpeername()[:2])
    c6.close()
    eq(0, len(s6.recv(10)), "IPv6 server reads EOF")
    s6.close()
    time.sleep(0.1)
    tw6 = seq(c6t[0][0], c6t[0][1], c6t[1][0], c6t[1][1], c6s["cookie"])
    eq("timewait", tw6.get("kind"), "IPv6 TIME_WAIT mini-socket")
    eq((c6s["write_seq"] + 1) & MASK, tw6.get("snd_nxt"), "IPv6 TIME_WAIT snd_nxt")

    # Dual stack: an IPv6 listener, an IPv4 client: the server socket is
    # IPv6 with v4-mapped addresses.
    ld = socket.socket(socket.AF_INET6)
    ld.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ld.bind(("::", 5002))
    ld.listen()
    cd = socket.create_connection(("127.0.0.1", 5002))
    sd, _ = ld.accept()
    sds = seq_of(sd)
    eq("ESTABLISHED", sds.get("state"), "dual stack: v4-mapped server socket found")
    eq(seq_of(cd).get("snd_nxt"), sds.get("rcv_nxt"), "dual stack: client snd_nxt = server rcv_nxt")

    # --- a request socket: the client's final ACK never arrives ---
    nft("add table inet kbpft")
    nft("add chain inet kbpft out { type filter hook output priority 0; }")
    nft("add rule inet kbpft out tcp dport 5003 tcp flags & (syn|ack) == ack drop")
    lr = socket.socket()
    lr.bind(("127.0.0.1", 5003))
    lr.listen(16)
    cr = socket.create_connection(("127.0.0.1", 5003))
    time.sleep(0.1)
    crs = seq_of(cr)
    rq = seq("127.0.0.1", 5003, "127.0.0.1", cr.getsockname()[1])
    eq("request", rq.get("kind"), "request socket: kind")
    eq("SYN_RECEIVED", rq.get("state"), "request socket: state")
    eq(crs.get("iss"), rq.get("irs"), "request irs = client iss")
    eq(crs.get("irs"), rq.get("iss"), "request iss = client irs")
    eq((rq.get("irs", 0) + 1) & MASK, rq.get("rcv_nxt"), "request rcv_nxt = irs + 1")
    eq((rq.get("iss", 0) + 1) & MASK, crs.get("rcv_nxt"), "client rcv_nxt = request iss + 1")
    cr.close()
    nft("delete table inet kbpft")

    # --- SYN_SENT: the SYN-ACK dropped on input ---
    nft("add table inet kbpft")
    nft("add chain inet kbpft in { type filter hook input priority 0; }")
    nft("add rule inet kbpft in tcp sport 5008 drop")
    ls_ = socket.socket()
    ls_.bind(("127.0.0.1", 5008))
    ls_.listen()
    cap = start_capture(5008)
    cs_ = socket.socket()
    cs_.setblocking(False)
    try:
        cs_.connect(("127.0.0.1", 5008))
    except BlockingIOError:
        pass
    time.sleep(0.1)
    ss_ = seq("127.0.0.1", cs_.getsockname()[1], "127.0.0.1", 5008)
    eq("SYN_SENT", ss_.get("state"), "SYN_SENT socket: state")
    eq(ss_.get("snd_una"), ss_.get("iss"), "SYN_SENT: iss = snd_una")
    eq((ss_.get("iss", 0) + 1) & MASK, ss_.get("snd_nxt"), "SYN_SENT: snd_nxt = iss + 1")
    check("irs" not in ss_, "SYN_SENT: no irs")
    if cap:
        out, _ = cap.communicate(timeout=10)
        syn = dict(tuple(l.split()) for l in out.splitlines() if l.strip())
        eq(str(ss_.get("iss")), syn.get("0"), "SYN_SENT: iss = the SYN's seq (tshark)")
    cs_.close()
    ls_.close()
    nft("delete table inet kbpft")

    # --- a reset: SO_LINGER 0 ---
    l7, c7, s7 = pair(socket.AF_INET, "127.0.0.1", 5004)
    c7s, s7s = seq_of(c7), seq_of(s7)
    s7.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s7.close()
    time.sleep(0.1)
    try:
        c7.recv(1)
    except ConnectionResetError:
        pass

    # --- a retransmission: data dropped for a while ---
    l8, c8, s8 = pair(socket.AF_INET, "127.0.0.1", 5005)
    c8s = seq_of(c8)
    # dropped on input: the sender's transmission succeeded, the data is
    # lost (a drop on output fails the send, which is no retransmission)
    nft("add table inet kbpft")
    nft("add chain inet kbpft in { type filter hook input priority 0; }")
    nft("add rule inet kbpft in tcp dport 5005 ip length > 100 drop")
    c8.sendall(b"r" * 1000)
    time.sleep(0.6)
    nft("delete table inet kbpft")
    eq(1000, recv_all(s8, 1000), "retransmitted data arrives")

    # --- FIN_WAIT_2 ended by a reset: CLOSE, not TIME_WAIT ---
    l9, c9, s9 = pair(socket.AF_INET, "127.0.0.1", 5006)
    c9s = seq_of(c9)
    c9.shutdown(socket.SHUT_WR)
    eq(0, len(s9.recv(10)), "FIN_WAIT_2 pair: server reads EOF")
    time.sleep(0.05)
    s9.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s9.close()
    time.sleep(0.05)

    # --- many connections: the iss/irs table grows, shrinks, stays right ---
    lm = socket.socket()
    lm.bind(("127.0.0.1", 5007))
    lm.listen(1024)
    many = []
    for i in range(1500):
        c = socket.socket()
        c.connect(("127.0.0.1", 5007))
        s_, _ = lm.accept()
        many.append((c, s_))
    for c, s_ in many[::2]:  # half go: the server closes first
        s_.close()
        c.close()
    bad = 0
    for c, s_ in many[1::2]:
        a, b = seq_of(c), seq_of(s_)
        if a.get("iss") is None or a.get("iss") != b.get("irs") or \
           b.get("iss") != a.get("irs"):
            bad += 1
    eq(0, bad, "750 live pairs among 1500: every iss = peer's irs")
    for c, s_ in many[1::2]:
        c.close()
        s_.close()

    ev.stop()
    eq([("ESTABLISHED", "FIN_WAIT_1"), ("FIN_WAIT_1", "FIN_WAIT_2"),
        ("FIN_WAIT_2", "CLOSED")], transitions(ev, c9s["cookie"])[2:],
       "FIN_WAIT_2 ended by a reset: CLOSE")
    eq(1, len(ev.of(c9s["cookie"], "rst_recv")), "FIN_WAIT_2: the reset")
    eq([("CLOSED", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
        ("ESTABLISHED", "FIN_WAIT_1"), ("FIN_WAIT_1", "FIN_WAIT_2"),
        ("FIN_WAIT_2", "TIME_WAIT")], transitions(ev, cs["cookie"]),
       "client history")
    eq([("LISTEN", "SYN_RECEIVED"), ("SYN_RECEIVED", "ESTABLISHED"),
        ("ESTABLISHED", "CLOSE_WAIT"), ("CLOSE_WAIT", "LAST_ACK"),
        ("LAST_ACK", "CLOSED")], transitions(ev, ss["cookie"]),
       "server history")
    eq(("FIN_WAIT_2", "TIME_WAIT"), (transitions(ev, c6s["cookie"]) or [None])[-1],
       "IPv6 client history ends in TIME_WAIT")
    est = [e for e in ev.of(cs["cookie"], "state") if e["to"] == "ESTABLISHED"]
    if est:
        eq(cs.get("iss"), est[0].get("iss"), "ESTABLISHED event: iss")
        eq((cs["iss"] + 1) & MASK, est[0].get("snd_una"), "ESTABLISHED event: snd_una = iss + 1")
    fw1 = [e for e in ev.of(cs["cookie"], "state") if e["to"] == "FIN_WAIT_1"]
    if fw1:
        eq(cs["write_seq"], fw1[0].get("snd_nxt"), "FIN_WAIT_1 event: snd_nxt before the FIN")
    # in SYN_SENT the peer's numbers are not known (the kernel's rcv_nxt
    # is 0): the closed SYN_SENT socket's events have none
    sse = ev.of(ss_.get("cookie"))
    eq([("CLOSED", "SYN_SENT"), ("SYN_SENT", "CLOSED")],
       transitions(ev, ss_.get("cookie")), "SYN_SENT socket closed: history")
    eq([], [e for e in sse if "rcv_nxt" in e], "SYN_SENT events: no rcv_nxt")
    eq(1, len(ev.of(s7s["cookie"], "rst_sent")), "reset sent by the lingering server")
    eq(1, len(ev.of(c7s["cookie"], "rst_recv")), "reset received by its client")
    rt = ev.of(c8s["cookie"], "retrans")
    check(len(rt) >= 1, "retransmission seen (%d)" % len(rt))
    if rt:
        eq((c8s["write_seq"]) & MASK, rt[0].get("seq"), "retransmission: seq of the first byte")
    eq(0, len([e for e in ev.lines if e.get("netns") not in (None, netns)]),
       "no event of another namespace")
    eq(0, len([e for e in ev.lines if ":7777" in str(e.get("local", "")) +
               str(e.get("remote", ""))]), "no socket of another namespace")
    eq(True, bool(ev.lines) and "lost" in ev.lines[-1], "events end with lost=")
    eq(0, ev.lines[-1].get("lost") if ev.lines else None, "no event lost")

    print("kbpf_check: %d checks, %d failed" % (checks, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
