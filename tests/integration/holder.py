#!/usr/bin/env python3
"""A socket holder for the tcpfs integration tests.

Reads one command per line on stdin, answers one line on stdout:
"ok ..." or "err ERRNO_NAME text". Every socket gets an ID chosen by the
caller. Every blocking step is bounded (STEP_TIMEOUT seconds) and the
process exits by itself after MAX_LIFE seconds, or at end of input.

Commands:
  listen ID FAM ADDR PORT [backlog=N] [reuseport] [defer=SECS] [dev=IF]
                               dev: bound to interface IF (IPv4:
                               SO_BINDTODEVICE; IPv6: ADDR's scope)
                                                                -> ok LOCAL
  bind ID FAM ADDR PORT        bound, neither listening nor connected
                                                                -> ok LOCAL
  connect ID FAM ADDR PORT [nowait] [dev=IF]
                               dev: bound to interface IF first
                               (SO_BINDTODEVICE)                -> ok LOCAL
  disconnect ID                connect(AF_UNSPEC): the socket is unconnected
                               again, and may connect anew      -> ok
  again ID FAM ADDR PORT       connect socket ID anew, without waiting
                                                                -> ok LOCAL
  accept ID LID                                                 -> ok LOCAL
  pair CID SID LID             connect to listener LID, accept  -> ok CNAME SNAME
  name ID                      tcpfs directory name              -> ok NAME
  shutdown ID rd|wr|rdwr | close ID | linger0 ID
  send ID NBYTES               send NBYTES bytes ('x')          -> ok SENT
  fill ID                      send non-blocking until EAGAIN   -> ok SENT
  recv ID                      one recv, waits up to 2 s        -> ok N | ok EOF | err ...
  sendone ID                   one send of 1 byte               -> ok N | err ...
  sockerr ID                   SO_ERROR                         -> ok ERRNAME|0
  recvall ID NBYTES            receive exactly NBYTES           -> ok NBYTES
  repair ID                    TCP_REPAIR's TCP_QUEUE_SEQ of the send and
                               receive queues (needs CAP_NET_ADMIN)
                                                         -> ok WRITE_SEQ RCV_NXT
  unacked ID                   bytes sent and not yet acknowledged (SIOCOUTQ)
                                                                -> ok N
  pid                                                           -> ok PID
  nodump                       prctl(PR_SET_DUMPABLE, 0): /proc/PID/fd
                               becomes root's, ptrace's checks refuse
                               even the same uid               -> ok
FAM is 4 or 6. ADDR is a literal address. A name is what tcpfs calls the
socket's directory: LOCAL-REMOTE#COOKIE, ADDR:PORT each, IPv6 as [ADDR]:PORT.
"""
import errno
import os
import select
import socket
import struct
import sys
import time

STEP_TIMEOUT = 5.0
MAX_LIFE = float(os.environ.get("HOLDER_MAX_LIFE", "900"))
SO_COOKIE = getattr(socket, "SO_COOKIE", 57)

socks = {}
targets = {}  # ID -> (family, remote addr, port) for connects


def fmt(fam, addr, port):
    if fam == socket.AF_INET6:
        addr = socket.inet_ntop(socket.AF_INET6,
                                socket.inet_pton(socket.AF_INET6, addr))
        return "[%s]:%d" % (addr, port)
    return "%s:%d" % (addr, port)


def family(f):
    return socket.AF_INET6 if f == "6" else socket.AF_INET


def local_of(s):
    a = s.getsockname()
    return fmt(s.family, a[0], a[1])


def remote_of(sid):
    s = socks[sid]
    try:
        a = s.getpeername()
        return fmt(s.family, a[0], a[1])
    except OSError:
        if sid in targets:
            fam, addr, port = targets[sid]
            if fam == socket.AF_INET6 and ":" not in addr:
                addr = "::ffff:" + addr
            return fmt(fam, addr, port)
        return fmt(s.family, "::" if s.family == socket.AF_INET6 else
                   "0.0.0.0", 0)


def cookie_of(s):
    return struct.unpack("=Q", s.getsockopt(socket.SOL_SOCKET, SO_COOKIE, 8))[0]


def name_of(sid):
    s = socks[sid]
    return "%s-%s#%x" % (local_of(s), remote_of(sid), cookie_of(s))


def errname(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "EUNKNOWN"


def cmd_listen(sid, fam, addr, port, *opts):
    s = socket.socket(family(fam), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    backlog = 16
    where = (addr, int(port))
    for o in opts:
        if o == "reuseport":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        elif o.startswith("backlog="):
            backlog = int(o[8:])
        elif o.startswith("defer="):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT,
                         int(o[6:]))
        elif o == "v6only":
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        elif o.startswith("dev=") and s.family == socket.AF_INET6:
            where = (addr, int(port), 0, socket.if_nametoindex(o[4:]))
        elif o.startswith("dev="):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                         o[4:].encode())
    s.bind(where)
    s.listen(backlog)
    socks[sid] = s
    return local_of(s)


def cmd_bind(sid, fam, addr, port):
    s = socket.socket(family(fam), socket.SOCK_STREAM)
    s.bind((addr, int(port)))
    socks[sid] = s
    return local_of(s)


def cmd_connect(sid, fam, addr, port, *opts):
    s = socket.socket(family(fam), socket.SOCK_STREAM)
    socks[sid] = s
    targets[sid] = (family(fam), addr, int(port))
    for o in opts:
        if o.startswith("from="):  # a port of its own: kept after a reset
            s.bind((addr, int(o[5:])))
        elif o.startswith("dev="):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                         o[4:].encode())
    if "nowait" in opts:
        s.setblocking(False)
        e = s.connect_ex((addr, int(port)))
        if e not in (0, errno.EINPROGRESS):
            raise OSError(e, os.strerror(e))
        s.setblocking(True)
    else:
        s.settimeout(STEP_TIMEOUT)
        s.connect((addr, int(port)))
        s.settimeout(None)
    return local_of(s)


def cmd_disconnect(sid):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    unspec = (ctypes.c_ubyte * 16)()  # sa_family 0: AF_UNSPEC
    if libc.connect(socks[sid].fileno(), unspec, len(unspec)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ""


def cmd_again(sid, fam, addr, port):
    s = socks[sid]
    targets[sid] = (family(fam), addr, int(port))
    s.setblocking(False)
    try:
        e = s.connect_ex((addr, int(port)))
    finally:
        s.setblocking(True)
    if e not in (0, errno.EINPROGRESS):
        raise OSError(e, os.strerror(e))
    return local_of(s)


def cmd_accept(sid, lid):
    ls = socks[lid]
    ls.settimeout(STEP_TIMEOUT)
    try:
        s, _ = ls.accept()
    finally:
        ls.settimeout(None)
    s.settimeout(None)
    socks[sid] = s
    return local_of(s)


def cmd_pair(cid, sid, lid):
    ls = socks[lid]
    a = ls.getsockname()
    fam = "6" if ls.family == socket.AF_INET6 else "4"
    addr = a[0]
    if addr == "0.0.0.0":
        addr = "127.0.0.1"
    elif addr == "::":
        addr = "::1"
    if len(a) == 4 and a[3]:  # a scoped (link-local) address
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        socks[cid] = s
        s.settimeout(STEP_TIMEOUT)
        s.connect(a)
        s.settimeout(None)
    else:
        cmd_connect(cid, fam, addr, a[1])
    cmd_accept(sid, lid)
    return "%s %s" % (name_of(cid), name_of(sid))


def cmd_recv(sid):
    s = socks[sid]
    r, _, _ = select.select([s], [], [], 2.0)
    if not r:
        return "TIMEOUT"
    data = s.recv(65536)
    return str(len(data)) if data else "EOF"


def cmd_sendone(sid):
    return str(socks[sid].send(b"y"))


def cmd_send(sid, n):
    s = socks[sid]
    s.settimeout(STEP_TIMEOUT)
    s.sendall(b"x" * int(n))
    s.settimeout(None)
    return n


def cmd_fill(sid):
    s = socks[sid]
    s.setblocking(False)
    total = 0
    deadline = time.monotonic() + STEP_TIMEOUT
    chunk = b"z" * 65536
    idle = 0
    while time.monotonic() < deadline and idle < 20:
        try:
            total += s.send(chunk)
            idle = 0
        except BlockingIOError:
            idle += 1
            time.sleep(0.02)
    s.setblocking(True)
    return str(total)


def cmd_shutdown(sid, how):
    socks[sid].shutdown({"rd": socket.SHUT_RD, "wr": socket.SHUT_WR,
                         "rdwr": socket.SHUT_RDWR}[how])
    return ""


def cmd_close(sid):
    socks.pop(sid).close()
    return ""


def cmd_linger0(sid):
    s = socks.pop(sid)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return ""


def cmd_recvall(sid, n):
    s = socks[sid]
    left = int(n)
    s.settimeout(STEP_TIMEOUT)
    try:
        while left > 0:
            data = s.recv(min(left, 65536))
            if not data:
                raise OSError(errno.ECONNRESET, "EOF before %s bytes" % n)
            left -= len(data)
    finally:
        s.settimeout(None)
    return n


TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ = 19, 20, 21
TCP_RECV_QUEUE, TCP_SEND_QUEUE = 1, 2
MASK = 0xFFFFFFFF


def repair(sock):
    """(write_seq, rcv_nxt) through TCP_REPAIR: the kernel's own answer
    (also kbpf_check.py's)."""
    sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)
        w = sock.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ)
        sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)
        r = sock.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ)
    finally:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 0)
    return w & MASK, r & MASK


def cmd_repair(sid):
    return "%d %d" % repair(socks[sid])


def cmd_unacked(sid):
    import fcntl
    import termios
    b = fcntl.ioctl(socks[sid].fileno(), termios.TIOCOUTQ, b"\0" * 4)
    return str(struct.unpack("i", b)[0])


def cmd_nodump():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_DUMPABLE = 4
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return ""


def cmd_sockerr(sid):
    e = socks[sid].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    return errno.errorcode.get(e, str(e)) if e else "0"


COMMANDS = {
    "listen": cmd_listen, "bind": cmd_bind, "connect": cmd_connect,
    "accept": cmd_accept, "disconnect": cmd_disconnect, "again": cmd_again,
    "pair": cmd_pair, "name": name_of, "recv": cmd_recv, "send": cmd_send,
    "sendone": cmd_sendone, "fill": cmd_fill, "shutdown": cmd_shutdown,
    "close": cmd_close, "linger0": cmd_linger0, "sockerr": cmd_sockerr,
    "recvall": cmd_recvall, "repair": cmd_repair, "unacked": cmd_unacked,
    "pid": lambda: str(os.getpid()), "nodump": cmd_nodump,
}


def main():
    start = time.monotonic()
    while time.monotonic() - start < MAX_LIFE:
        r, _, _ = select.select([sys.stdin], [], [], 1.0)
        if not r:
            continue
        line = sys.stdin.readline()
        if not line:
            break
        words = line.split()
        if not words:
            continue
        if words[0] == "quit":
            break
        try:
            out = COMMANDS[words[0]](*words[1:])
            reply = ("ok " + out) if out else "ok"
        except socket.timeout:
            reply = "err TIMEOUT step timed out"
        except OSError as e:
            reply = "err %s %s" % (errname(e), e.strerror)
        except Exception as e:  # a test bug: say so, do not die
            reply = "err EXCEPTION %s: %s" % (type(e).__name__, e)
        sys.stdout.write(reply + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
