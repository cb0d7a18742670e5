#!/usr/bin/env python3
"""bench/upgrade.py: how long an upgrade in place (SIGUSR2) stops the mount,
measured as root in a fresh network and mount namespace.

A reader lists the mount's root (opendir, readdir, releasedir: each reaches
the daemon) in a loop. Reference: the median time of one listing, in the
same run. Pause: the longest listing while the daemon executes itself
again, the median of RUNS upgrades; with the engine (its TUN device made
again), with --no-engine, and with --no-engine and DIRS connection
directories looked up (the inode table handed over).

With REF_TCPFS (a build without upgrade support, e.g. of an older commit),
also the cost of serving through libfuse's custom I/O: the median listing
of each binary, mounted in turn RUNS * 2 times, and their ratio.

usage: bench/upgrade.py
env:   TCPFS (build/src/tcpfs), RUNS (5), DIRS (2000), REF_TCPFS (none)
"""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TCPFS = os.environ.get("TCPFS", os.path.join(HERE, "..", "build", "src", "tcpfs"))
RUNS = int(os.environ.get("RUNS", "5"))
REF_TCPFS = os.environ.get("REF_TCPFS")
DIRS = int(os.environ.get("DIRS", "2000"))


def listing(mnt):
    t = time.perf_counter()
    os.listdir(mnt)
    return time.perf_counter() - t


def wait_mounted(mnt, proc):
    for _ in range(100):
        if os.path.isdir(os.path.join(mnt, "kernel")):
            return
        if proc.poll() is not None:
            sys.exit(f"upgrade: tcpfs exited {proc.returncode}")
        time.sleep(0.1)
    sys.exit("upgrade: the mount did not appear in 10 s")


def mount(work, binary, args):
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt, exist_ok=True)
    with open(os.path.join(work, "log"), "w") as log:
        proc = subprocess.Popen([binary, mnt, "-f"] + args, stdout=log, stderr=log)
    wait_mounted(mnt, proc)
    return mnt, proc


def custom_io_cost(work):
    medians = {TCPFS: [], REF_TCPFS: []}
    for _ in range(RUNS * 2):
        for binary, m in medians.items():
            mnt, proc = mount(work, binary, ["--no-engine"])
            m.append(statistics.median(listing(mnt) for _ in range(3000)))
            proc.terminate()
            proc.wait(10)
    new, ref = (statistics.median(medians[b]) for b in (TCPFS, REF_TCPFS))
    print(f"# custom I/O: listing {new * 1e6:.1f} us against {ref * 1e6:.1f} us"
          f" without ({REF_TCPFS}): ratio {new / ref:.3f}", flush=True)


def measure(work, label, lookup, args):
    mnt, proc = mount(work, TCPFS, args)
    try:
        kdir = os.path.join(mnt, "kernel")
        kept = [os.stat(os.path.join(kdir, n)) for n in os.listdir(kdir)] if lookup else []
        ref = statistics.median(listing(mnt) for _ in range(2000))
        pauses = []
        for _ in range(RUNS):
            proc.send_signal(signal.SIGUSR2)
            end, worst = time.perf_counter() + 1.0, 0.0
            while time.perf_counter() < end:
                worst = max(worst, listing(mnt))
            pauses.append(worst)
        p = statistics.median(pauses)
        print(f"{label:<28} listing {ref * 1e6:8.1f} us   pause {p * 1e3:8.2f} ms"
              f" (max {max(pauses) * 1e3:.2f})   pause/listing {p / ref:8.0f}x"
              f"   ({len(kept)} dirs looked up)", flush=True)
    finally:
        proc.terminate()
        proc.wait(10)


def main():
    if os.geteuid() != 0:
        print("upgrade: run as root", file=sys.stderr)
        return 77
    if os.environ.get("UPGRADE_BENCH_INNER") != str(os.getpid()):
        os.environ["UPGRADE_BENCH_INNER"] = str(os.getpid())
        os.execvp("unshare", ["unshare", "--net", "--mount", "--propagation", "private",
                              "--", sys.executable, os.path.abspath(__file__)])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    listeners = []
    for _ in range(DIRS):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        listeners.append(s)
    work = tempfile.mkdtemp(prefix="tcpfs-bench.")
    try:
        print(f"# upgrade pause: the longest listing of the root during SIGUSR2, median of {RUNS}", flush=True)
        measure(work, "engine", False, [])
        measure(work, "--no-engine", False, ["--no-engine"])
        measure(work, f"--no-engine, {DIRS} dirs", True, ["--no-engine"])
        if REF_TCPFS:
            custom_io_cost(work)
    finally:
        subprocess.run(["umount", "-l", os.path.join(work, "mnt")], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
