#!/usr/bin/env python3
"""Runs a command and prints the peak resident memory (VmHWM, KiB) of the
command's own process and of every other process it starts that is not
QEMU (a jail's child before it becomes QEMU, helpers), sampled from /proc
every 2 ms while it runs; QEMU's own memory is the VM's, not counted.

  procmem.py -- COMMAND [ARG...]  ->  "loader_kib others_kib status"

others_kib is the sum of the other processes' peaks (an upper bound: a
forked child shares its parent's pages until it executes something else).
"""
import os
import subprocess
import sys
import time


def status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Name", "PPid", "VmHWM"):
                    out[k] = v.strip()
    except OSError:
        return None
    return out


def descendants(root):
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def kib(s):
    return int(s.get("VmHWM", "0 kB").split()[0]) if s else 0


def main(argv):
    cmd = argv[argv.index("--") + 1:]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    own, others = 0, {}
    while p.poll() is None:
        own = max(own, kib(status(p.pid)))
        for c in descendants(p.pid):
            s = status(c)
            if not s or s.get("Name", "").startswith("qemu-system"):
                continue    # QEMU's peak is the VM's; its jail's before is kept
            others[c] = max(others.get(c, 0), kib(s))
        if time.monotonic() - t0 > 900:
            p.kill()
        time.sleep(0.002)
    print(f"{own} {sum(others.values())} {p.returncode}")


if __name__ == "__main__":
    main(sys.argv)
