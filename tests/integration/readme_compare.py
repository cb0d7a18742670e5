#!/usr/bin/env python3
"""Compare the README's example sessions with a run of scripts/demo.sh.

usage: readme_compare.py README DEMO_OUTPUT

The README's ```console blocks, in order, against the sessions demo.sh
printed (each after a "--- TITLE" line): the same commands, typed the same
way, and the same output in its stable parts. What differs from run to run
is left out: ports other than the services' (8080, 2222, 7000), cookies,
times, sequence numbers, counters, process ids, dates, the congestion
control; kernel sockets' sequence numbers (snd_una ...) are in one and not
the other when only one had the eBPF backend. ls's columns and lines are the
same names. Exit 0 if they agree, 1 with a diff otherwise.
"""
import difflib
import re
import sys

SERVICE_PORTS = {"0", "8080", "2222", "7000"}
KBPF_KEYS = {"iss", "irs", "snd_una", "snd_nxt", "snd_wl1", "rcv_nxt",
             "write_seq", "copied_seq"}
# status keys whose values are the same every run (after port and cookie
# normalisation)
STABLE_KEYS = {"state", "local", "remote", "uid", "timer", "shutdown",
               "options"}


def readme_sessions(text):
    """The ```console blocks: lists of (command, [output lines])."""
    return [parse(block.splitlines())
            for block in re.findall(r"```console\n(.*?)```", text, re.S)]


def demo_sessions(text):
    """demo.sh's sessions, each after a "--- TITLE" line."""
    sessions, cur = [], None
    for line in text.splitlines():
        if line.startswith("--- "):
            cur = []
            sessions.append(cur)
        elif cur is not None:
            cur.append(line)
    return [parse(s) for s in sessions]


def parse(lines):
    cmds = []
    for line in lines:
        if line.startswith("# "):
            cmds.append((line[2:], []))
        elif cmds:
            cmds[-1][1].append(line)
    return cmds


def ports_cookies(s):
    s = re.sub(r"#[0-9a-f]+\b", "#C", s)
    return re.sub(r"(?<=[\d\]]):(\d+)\b",
                  lambda m: m.group(0) if m.group(1) in SERVICE_PORTS else ":P",
                  s)


def norm_output(cmd, out):
    """The stable part of OUT, what CMD printed, as a list of lines."""
    if cmd == "cat status":
        keep = []
        for line in out:
            key, _, val = line.partition(" ")
            if key in KBPF_KEYS:
                continue
            keep.append(key + (" " + ports_cookies(val)
                               if key in STABLE_KEYS else ""))
        return keep
    if cmd.startswith("ls -l"):
        return [f"{line.split()[0]} {line.split()[-1]}" for line in out]
    if cmd.startswith("ls "):
        # on a terminal ls quotes names with brackets: '[::1]:2222-...'
        return sorted(ports_cookies(w.strip("'"))
                      for line in out for w in line.split())
    if cmd.endswith("/trace"):
        keep = []
        for line in out:
            f = line.split()
            if f[1] == "*":
                keep.append(" ".join(f[1:]))
            else:  # direction, flags, the data's length
                keep.append(" ".join(f[1:3] + [w for w in f if w.startswith("len=")]))
        return keep
    if cmd.startswith("grep -E"):
        return [line.split()[0] for line in out]
    if cmd.startswith("cat pid"):
        return [re.sub(r"^\d+", "PID", line) for line in out]
    # the rest: numbers (rtt, cwnd) vary, words do not; nor do the widths
    # of columns that hold them (a socket cookie grows a digit with uptime)
    return [re.sub(r" {2,}", "  ", re.sub(r"\d+", "N", ports_cookies(line)))
            for line in out]


def norm_cmd(cmd):
    return ports_cookies(cmd)


def flat(sessions):
    lines = []
    for i, session in enumerate(sessions):
        lines.append(f"--- session {i + 1}")
        for cmd, out in session:
            lines.append("# " + norm_cmd(cmd))
            lines += ["  " + line for line in norm_output(cmd, out)]
    return lines


def main():
    readme = flat(readme_sessions(open(sys.argv[1]).read()))
    demo = flat(demo_sessions(open(sys.argv[2]).read()))
    if len(readme) < 10:
        print("FAIL: the README has no console sessions")
        return 1
    if readme == demo:
        print(f"the README's sessions and the demo agree ({len(readme)} lines)")
        return 0
    print("FAIL: the README's sessions (-) and the demo's (+) differ:")
    sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(
        readme, demo, "README.md", "demo.sh", lineterm="", n=2))
    return 1


if __name__ == "__main__":
    sys.exit(main())
