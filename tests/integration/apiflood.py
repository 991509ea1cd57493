#!/usr/bin/env python3
"""A bounded flood of the provider's API, for the load tests.

  apiflood.py HOST:PORT SOURCES CONNS SECONDS MAX_REQUESTS CLAIMED_KEY [SIGNED]

CONNS connections at once, spread over SOURCES (comma-separated local
addresses), each sending a POST /v1/jobs's headers over TLS and then
dripping its body a byte a second until the provider answers or closes,
then starting again; for at most SECONDS and MAX_REQUESTS requests in all.
A connection takes the next signed header block of the file SIGNED
(apiclient ... headers:N) while there is one: a verified upload; else it
sends a stranger's: CLAIMED_KEY, a fresh nonce, a signature that does not
verify and a 12 MiB Content-Length. Prints one JSON line: requests sent,
answers by status, connections cut without an answer, connect errors.
"""
import json
import os
import socket
import ssl
import sys
import threading
import time


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    sources = sys.argv[2].split(",")
    conns, seconds, max_requests = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    claimed_key = sys.argv[6]
    signed = []
    if len(sys.argv) > 7:
        with open(sys.argv[7]) as f:
            signed = [b.strip("\n") for b in f.read().split("\n\n") if b.strip()]
    lock = threading.Lock()
    stats = {"requests": 0, "statuses": {}, "cut": 0, "errors": 0}
    deadline = time.monotonic() + seconds
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def next_headers():
        with lock:
            if stats["requests"] >= max_requests:
                return None
            stats["requests"] += 1
            if signed:
                return signed.pop()
        return "\n".join([
            "Omerta-Key: " + claimed_key,
            "Omerta-Timestamp: %d" % time.time(),
            "Omerta-Nonce: " + os.urandom(16).hex(),
            "Omerta-Content-SHA256: " + "0" * 64,
            "Omerta-Signature: " + "A" * 86 + "==",
            "Content-Length: %d" % (12 << 20),
        ])

    def one(source, headers):
        """The status the provider answered with, or None when it cut the connection."""
        raw = socket.create_connection((host, int(port)), timeout=5,
                                       source_address=(source, 0))
        with ctx.wrap_socket(raw) as s:
            s.sendall(("POST /v1/jobs HTTP/1.1\r\nHost: %s\r\n%s\r\n\r\n"
                       % (host, headers.replace("\n", "\r\n"))).encode())
            s.settimeout(1)
            while time.monotonic() < deadline:
                try:
                    data = s.recv(4096)
                except socket.timeout:
                    try:
                        s.sendall(b"x")
                    except OSError:
                        return None
                    continue
                if data.startswith(b"HTTP/1.1 "):
                    return data[9:12].decode()
                return None
        return None

    def worker(i):
        source = sources[i % len(sources)]
        while time.monotonic() < deadline:
            headers = next_headers()
            if headers is None:
                return
            try:
                status = one(source, headers)
            except (OSError, ssl.SSLError):
                with lock:
                    stats["errors"] += 1
                time.sleep(0.2)
                continue
            with lock:
                if status:
                    stats["statuses"][status] = stats["statuses"].get(status, 0) + 1
                else:
                    stats["cut"] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
