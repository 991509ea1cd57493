#!/usr/bin/env python3
"""Runs a command and prints, in seconds, when MARKER first appeared on its
stdout and when it exited, plus the command's peak resident memory (VmHWM)
in KiB, sampled from /proc while it runs (the process itself, not its
children). A command still running after 120 s is killed (status -9).

  timecmd.py MARKER -- COMMAND [ARG...]   ->  "first total hwm_kib status"
"""
import os
import subprocess
import sys
import time


def hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main(argv):
    marker = argv[1].encode()
    cmd = argv[argv.index("--") + 1:]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    os.set_blocking(p.stdout.fileno(), False)
    seen, first, peak = b"", None, 0
    while True:
        peak = max(peak, hwm(p.pid))
        try:
            chunk = p.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            seen = (seen + chunk)[-4096:]
            if first is None and marker in seen:
                first = time.monotonic() - t0
        if p.poll() is not None:
            break
        if time.monotonic() - t0 > 120:
            p.kill()
            p.wait()
            break
        time.sleep(0.002)
    total = time.monotonic() - t0
    print(f"{first if first is not None else -1:.4f} {total:.4f} {peak} {p.returncode}")


if __name__ == "__main__":
    main(sys.argv)
