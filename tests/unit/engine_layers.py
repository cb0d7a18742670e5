#!/usr/bin/env python3
"""The engine's layers: no file of src/tcp includes the header of a layer
above its own, nor a header that is no layer's.

usage: engine_layers.py SRC_TCP_DIR LAYER...   (bottom first; the list is
tcp_layers in src/tcp/meson.build)

Module M is tcp_M.c with its header tcp_M.h. A file may include the
headers of its own layer and of the layers below it. Every tcp_*.c and
tcp_*.h of the folder must belong to a layer. Exits 1 and names each
offending include otherwise."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"(tcp_[a-z0-9_]+)\.h"', re.M)
FILE = re.compile(r'^(tcp_[a-z0-9_]+)\.[ch]$')


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    folder, layers = argv[1], argv[2:]
    rank = {'tcp_' + m: i for i, m in enumerate(layers)}
    bad = []
    files = sorted(f for f in os.listdir(folder) if FILE.match(f))
    if not files:
        bad.append(f'{folder}: no tcp_*.c or tcp_*.h at all')
    for name in files:
        module = FILE.match(name).group(1)
        if module not in rank:
            bad.append(f'{name}: {module} is in no layer of the list')
            continue
        with open(os.path.join(folder, name), encoding='utf-8') as f:
            text = f.read()
        for line, inc in ((text.count('\n', 0, m.start()) + 1, m.group(1))
                          for m in INCLUDE.finditer(text)):
            if inc not in rank:
                bad.append(f'{name}:{line}: includes {inc}.h, no layer\'s')
            elif rank[inc] > rank[module]:
                bad.append(f'{name}:{line}: {module} (layer {rank[module]})'
                           f' includes {inc}.h (layer {rank[inc]}, above)')
    for b in bad:
        print(b)
    print(f'{len(files)} files, {len(layers)} layers: '
          f'{"ok" if not bad else str(len(bad)) + " bad includes"}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
