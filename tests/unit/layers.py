#!/usr/bin/env python3
"""Layers call downward only: no file includes the header of a layer above
its own, nor a header that belongs to no layer. Exits 1 and names each
offending include.

usage: layers.py folders SRC_DIR LAYER=HEADER,... ...
       layers.py engine  SRC_TCP_DIR MODULE ...

folders: the layers are the folders of SRC_DIR, bottom first; each
LAYER=HEADER,... names the headers of include/tcpfs/ the folder owns
(`tcpfs/HEADER.h`). Every .c and .h of each folder belongs to its folder's
layer. The last LAYER may be `.`: the files at the top of SRC_DIR (main.c,
options.c, upgrade.c), above every folder. (The list is src_layers in src/meson.build.)

engine: the layers are the engine's modules, bottom first; module M is
tcp_M.c with its header tcp_M.h in SRC_TCP_DIR. (The list is tcp_layers in
src/tcp/meson.build.)"""
import os
import re
import sys

FOLDER_INCLUDE = re.compile(r'^\s*#\s*include\s+"tcpfs/([a-z0-9_]+)\.h"', re.M)
ENGINE_INCLUDE = re.compile(r'^\s*#\s*include\s+"(tcp_[a-z0-9_]+)\.h"', re.M)
ENGINE_FILE = re.compile(r'^(tcp_[a-z0-9_]+)\.[ch]$')
SOURCE = re.compile(r'^[a-z0-9_]+\.[ch]$')


def check(files, include, owner, rank):
    """FILES: (path, layer) pairs; INCLUDE: the include pattern; OWNER:
    header -> layer; RANK: layer -> height. The offending includes."""
    bad = []
    for path, layer in files:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        for m in include.finditer(text):
            line = text.count('\n', 0, m.start()) + 1
            hdr = m.group(1)
            name = f'{os.path.basename(path)}:{line}'
            if hdr not in owner:
                bad.append(f'{name}: includes {hdr}.h, no layer\'s')
            elif rank[owner[hdr]] > rank[layer]:
                bad.append(f'{name}: {layer} includes {hdr}.h of '
                           f'{owner[hdr]}, a layer above')
    return bad


def folders(src, specs):
    rank, owner, files = {}, {}, []
    for i, spec in enumerate(specs):
        layer, _, hdrs = spec.partition('=')
        rank[layer] = i
        for h in filter(None, hdrs.split(',')):
            owner[h] = layer
        d = os.path.join(src, layer)
        files += [(os.path.join(d, f), layer) for f in sorted(os.listdir(d))
                  if SOURCE.match(f)]
    inc = os.path.join(src, '..', 'include', 'tcpfs')
    bad = [f'include/tcpfs/{f}: belongs to no layer'
           for f in sorted(os.listdir(inc)) if f[:-2] not in owner]
    return files, bad + check(files, FOLDER_INCLUDE, owner, rank)


def engine(folder, modules):
    rank = {'tcp_' + m: i for i, m in enumerate(modules)}
    owner = {m: m for m in rank}
    files, bad = [], []
    for f in sorted(os.listdir(folder)):
        m = ENGINE_FILE.match(f)
        if not m:
            continue
        if m.group(1) not in rank:
            bad.append(f'{f}: {m.group(1)} is in no layer of the list')
        else:
            files.append((os.path.join(folder, f), m.group(1)))
    return files, bad + check(files, ENGINE_INCLUDE, owner, rank)


def main(argv):
    if len(argv) < 4 or argv[1] not in ('folders', 'engine'):
        print(__doc__, file=sys.stderr)
        return 2
    run = folders if argv[1] == 'folders' else engine
    files, bad = run(argv[2], argv[3:])
    if not files:
        bad.append(f'{argv[2]}: no source files at all')
    for b in bad:
        print(b)
    print(f'{len(files)} files, {len(argv) - 3} layers: '
          f'{"ok" if not bad else str(len(bad)) + " bad includes"}')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
