#!/usr/bin/env python3
"""Runs a command with the journal's stream socket as its stdout and
stderr, as systemd runs a service's (StandardOutput=journal).

  journalstream.py IDENTIFIER COMMAND [ARGS...]

Connects to /run/systemd/journal/stdout, sends the stream's header
(IDENTIFIER, no unit, priority info, no level prefix, no forwarding), sets
JOURNAL_STREAM to the socket's DEVICE:INODE as systemd.exec(5) says a
service gets it, and execs COMMAND. systemd-cat connects the same socket
but sets no JOURNAL_STREAM.
"""
import os
import socket
import sys


def main():
    ident, argv = sys.argv[1], sys.argv[2:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("/run/systemd/journal/stdout")
    s.shutdown(socket.SHUT_RD)
    # identifier, unit, priority, level prefix, to syslog, to kmsg, to console
    s.sendall(("%s\n\n6\n0\n0\n0\n0\n" % ident).encode())
    st = os.fstat(s.fileno())
    os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    os.dup2(s.fileno(), 1)
    os.dup2(s.fileno(), 2)
    s.close()
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main()
