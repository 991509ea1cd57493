#!/usr/bin/env python3
"""Runs `omerta submit ...` and prints, in seconds, the time from the
provider accepting the job (submit's "job ID accepted" on stderr) to the
workload's first output line on stdout, then submit's exit status. A
command still running after 300 s is killed.

  accepted_to_first.py -- COMMAND [ARG...]   ->  "seconds status"
"""
import selectors
import subprocess
import sys
import time


def main(argv):
    cmd = argv[argv.index("--") + 1:]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ, "out")
    sel.register(p.stderr, selectors.EVENT_READ, "err")
    accepted = first = None
    errs = b""
    t0 = time.monotonic()
    while sel.get_map() and time.monotonic() - t0 < 300:
        for key, _ in sel.select(timeout=1):
            chunk = key.fileobj.read1(65536)
            now = time.monotonic()
            if not chunk:
                sel.unregister(key.fileobj)
                continue
            if key.data == "err":
                errs += chunk
                if accepted is None and b" accepted" in errs:
                    accepted = now
            elif first is None:
                first = now
    if p.poll() is None:
        p.kill()
    status = p.wait()
    if accepted is None or first is None:
        sys.stderr.write(errs.decode(errors="replace"))
        print(f"-1 {status}")
        return
    print(f"{first - accepted:.4f} {status}")


if __name__ == "__main__":
    main(sys.argv)
