#!/usr/bin/env python3
"""One file-system operation, reporting the errno by name.

  fsop.py write PATH TEXT [trunc]   write TEXT (with \\n, \\xNN escapes)
                                     in one write(2); O_TRUNC if asked
  fsop.py writehex PATH HEX [trunc]
  fsop.py writen PATH N             write N bytes "x" in one write(2)
  fsop.py read PATH                 read to EOF
  fsop.py stat PATH
  fsop.py listdir PATH

Prints "OK" (write: "OK N" with the count written; read: "OK" then the
bytes, escaped), or the errno's name (ENOENT, EINVAL, ...). Exit status 0
either way: the caller judges.
"""
import codecs
import errno
import os
import sys


def name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def main():
    op, path = sys.argv[1], sys.argv[2]
    try:
        if op in ("write", "writehex", "writen"):
            arg = sys.argv[3]
            data = (bytes.fromhex(arg) if op == "writehex"
                    else b"x" * int(arg) if op == "writen"
                    else codecs.escape_decode(arg.encode())[0])
            flags = os.O_WRONLY
            if len(sys.argv) > 4 and sys.argv[4] == "trunc":
                flags |= os.O_TRUNC
            fd = os.open(path, flags)
            try:
                n = os.write(fd, data)
            finally:
                os.close(fd)
            print("OK %d" % n)
        elif op == "read":
            fd = os.open(path, os.O_RDONLY)
            try:
                out = b""
                while True:
                    b = os.read(fd, 65536)
                    if not b:
                        break
                    out += b
            finally:
                os.close(fd)
            print("OK " + repr(out))
        elif op == "stat":
            st = os.stat(path)
            print("OK uid=%d mode=%o" % (st.st_uid, st.st_mode))
        elif op == "listdir":
            print("OK %d" % len(os.listdir(path)))
        else:
            sys.exit("fsop.py: unknown op " + op)
    except OSError as e:
        print(name(e))


if __name__ == "__main__":
    main()
