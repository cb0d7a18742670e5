#!/usr/bin/env python3
"""Malformed ctl writes for kernel_badwrites.sh.

usage: badwrites.py DIR COUNT SEED

Writes COUNT malformed commands, one write(2) per open, to DIR/ctl (every
other open with O_TRUNC, as a shell's `>` does). Each must fail with EINVAL,
and DIR/err must then hold a reason: one non-empty line of text. Prints a
summary; the failures (at most 20 shown) on stderr; exit 1 if any.
"""
import errno
import os
import random
import sys

VALID = {b"close", b"hangup", b"abort"}


def maybe_valid(p):
    """Could the daemon rightly take P as a close? Then it is no test."""
    body = p[:-1] if p.endswith(b"\n") else p
    if any(c < 0x20 and c != 0x09 or c >= 0x7f for c in body):
        return False
    words = body.replace(b"\t", b" ").split()
    return len(words) == 1 and words[0] in VALID


def payloads(count, rnd):
    fixed = [
        b"\n", b" ", b"\t", b" \n", b"   \t  \n", b"\n\n",
        b"CLOSE", b"Close\n", b"closed", b"clos", b"hang up", b"hangup!",
        b"close;", b"close#", b"'close'", b'"close"', b"close()",
        b"close now", b"close 1", b"hangup x y", b"close\tforce",
        b"hangup now\n", b"close close", b"close\nclose\n", b"close\n\n",
        b"close\r\n", b"close\x00", b"\x00close", b"clo\x7fse", b"\xff\xfe",
        b"\x1b[31mclose", b"cl\xc3\xb6se", b"close\x0b", b"close\x0c",
        b"connect 127.0.0.1:80", b"connect", b"listen 8080", b"listen",
        b"announce 80", b"shutdown", b"keepalive", b"keepalive 30",
        b"nodelay 1", b"nodelay", b"data", b"accept", b"kill", b"rm -rf /",
        b"close " + b"x" * 300, b"x" * 256,
        b"x" * 4096, b"close\n" * 100, b"a" * 65536, b"close " * 50000,
    ]
    out = [p for p in fixed if not maybe_valid(p)]
    letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    while len(out) < count:
        kind = rnd.randrange(6)
        if kind == 0:  # a random verb
            p = bytes(rnd.choice(letters) for _ in range(rnd.randint(1, 20)))
            if rnd.random() < 0.5:
                p += b"\n"
        elif kind == 1:  # a valid verb with extra arguments
            p = rnd.choice([b"close", b"hangup"])
            for _ in range(rnd.randint(1, 4)):
                p += rnd.choice([b" ", b"\t", b"  "]) + bytes(
                    rnd.choice(letters) for _ in range(rnd.randint(1, 12)))
            if rnd.random() < 0.5:
                p += b"\n"
        elif kind == 2:  # binary
            p = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 100)))
        elif kind == 3:  # a valid verb spoiled by one byte
            p = bytearray(rnd.choice([b"close", b"hangup"]) + b"\n")
            p.insert(rnd.randrange(len(p)), rnd.choice(
                [0, 1, 8, 10, 13, 27, 127, 128, 200, 255]))
            p = bytes(p)
        elif kind == 4:  # very long
            n = rnd.choice([256, 257, 1000, 4095, 4096, 4097, 70000, 140000])
            p = (rnd.choice([b"close ", b"hangup ", b""]) + b"y" * n)[:n]
        else:  # an engine verb, which a kernel socket does not take
            p = rnd.choice([b"connect 198.18.0.1:80", b"listen 80",
                            b"announce 127.0.0.1:80", b"shutdown",
                            b"keepalive 10", b"nodelay 0", b"connect [::1]:22"])
            if rnd.random() < 0.5:
                p += b"\n"
        if not maybe_valid(p):
            out.append(p)
    return out[:count]


def main():
    d, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ctl, err = os.path.join(d, "ctl"), os.path.join(d, "err")
    rnd = random.Random(seed)
    bad = []
    einval = 0
    todo = payloads(count, rnd)
    for i, p in enumerate(todo):
        flags = os.O_WRONLY | (os.O_TRUNC if i % 2 else 0)
        try:
            fd = os.open(ctl, flags)
        except OSError as e:
            bad.append("open #%d: %s" % (i, errno.errorcode.get(e.errno)))
            continue
        try:
            n = os.write(fd, p)
            bad.append("write #%d %r: accepted (%d bytes); want EINVAL"
                       % (i, p[:60], n))
        except OSError as e:
            if e.errno == errno.EINVAL:
                einval += 1
            else:
                bad.append("write #%d %r: %s; want EINVAL"
                           % (i, p[:60], errno.errorcode.get(e.errno, e.errno)))
        finally:
            os.close(fd)
        try:
            with open(err, "rb") as f:
                why = f.read()
        except OSError as e:
            bad.append("read err after #%d: %s"
                       % (i, errno.errorcode.get(e.errno)))
            continue
        text = why.rstrip(b"\n")
        if (not text or b"\n" in text or not why.endswith(b"\n")
                or any(c < 0x20 or c >= 0x7f for c in text)):
            bad.append("err after #%d %r is %r; want one line of text"
                       % (i, p[:60], why[:100]))
    print("badwrites: %d malformed writes, %d got EINVAL, %d problems"
          % (len(todo), einval, len(bad)))
    for b in bad[:20]:
        print("FAIL: " + b, file=sys.stderr)
    if len(todo) != count:
        print("FAIL: only %d payloads generated" % len(todo), file=sys.stderr)
        sys.exit(1)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
