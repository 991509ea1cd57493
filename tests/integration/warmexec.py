#!/usr/bin/env python3
"""Drives a warm VM as the daemon does: starts 'omerta-loader exec --warm-fd
FD' with the VM's shape, waits for its "ready", then sends the job's exec
arguments (NUL-terminated) and closes its end; exits with exec's status.

  warmexec.py LOADER N SHAPE_ARG*N [JOB_ARG...]
  warmexec.py LOADER N SHAPE_ARG*N --no-job    close without a job once ready

Says "warm: ready" on stderr when the VM waits, and "warm: ready never came"
(exit 99) when exec ended first.
"""
import os
import socket
import subprocess
import sys


def main():
    loader, n = sys.argv[1], int(sys.argv[2])
    shape = sys.argv[3:3 + n]
    job = sys.argv[3 + n:]
    ours, theirs = socket.socketpair()
    fd = theirs.fileno()
    proc = subprocess.Popen([loader, "exec", "--warm-fd", str(fd)] + shape, pass_fds=(fd,))
    theirs.close()
    got = b""
    while not got.endswith(b"\n"):
        chunk = ours.recv(64)
        if not chunk:
            print("warm: ready never came", file=sys.stderr, flush=True)
            proc.wait()
            sys.exit(99)
        got += chunk
    print("warm: " + got.decode().strip(), file=sys.stderr, flush=True)
    if job != ["--no-job"]:
        ours.sendall(b"".join(a.encode() + b"\0" for a in ["omerta-loader", "exec"] + job))
    ours.shutdown(socket.SHUT_WR)
    sys.exit(proc.wait())


if __name__ == "__main__":
    main()
