#!/usr/bin/env python3
"""Traffic for the integration tests: no DNS, every wait bounded.

  netpoke.py tcp IP PORT          exit 0 if a TCP connection opens within 2 s
  netpoke.py udp IP PORT TEXT     send one datagram
  netpoke.py vlan-wg IFACE SRC DST PORT
                                  send, raw on IFACE, a WireGuard keepalive
                                  from SRC to DST:PORT inside an 802.1Q tag
  netpoke.py http-sink IP PORT DIR
                                  serve DIR over HTTP on IP:PORT, one stdout
                                  line per request ("GET /path")
  netpoke.py udp-sink PORT FILE   append "got N" to FILE per datagram
  netpoke.py tcp-sink PORT FILE   append "got N" to FILE per accepted connection
Sinks write "ready" to FILE once listening and run until killed.
"""
import socket
import socketserver
import struct
import sys


def sink(kind, port, path):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    if kind == "tcp":
        s.listen(16)
    with open(path, "a", buffering=1) as out:
        out.write("ready\n")
        n = 0
        while True:
            if kind == "tcp":
                c, _ = s.accept()
                c.close()
            else:
                s.recvfrom(65535)
            n += 1
            out.write(f"got {n}\n")


def vlan_wg(iface, src, dst, port):
    wg = bytes([4, 0, 0, 0]) + bytes(28)
    udp = struct.pack("!HHHH", 40000, port, 8 + len(wg), 0) + wg
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst)) + udp
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    mac = s.getsockname()[4]
    s.send(b"\xff" * 6 + mac + struct.pack("!HHH", 0x8100, 5, 0x0800) + ip)


def http_sink(ip, port, root):
    import http.server
    import functools

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, fmt, *args):
            print(f"{self.command} {self.path}", flush=True)

    socketserver.TCPServer.allow_reuse_address = True
    # TCPServer, not HTTPServer: no reverse look-up of the bind address.
    srv = socketserver.TCPServer((ip, port), functools.partial(Handler, directory=root))
    print("ready", flush=True)
    srv.serve_forever()


def main(argv):
    cmd = argv[1]
    if cmd == "tcp":
        try:
            socket.create_connection((argv[2], int(argv[3])), timeout=2).close()
        except OSError:
            return 1
        return 0
    if cmd == "udp":
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(argv[4].encode(), (argv[2], int(argv[3])))
        return 0
    if cmd == "http-sink":
        http_sink(argv[2], int(argv[3]), argv[4])
    if cmd == "vlan-wg":
        vlan_wg(argv[2], argv[3], argv[4], int(argv[5]))
        return 0
    if cmd in ("udp-sink", "tcp-sink"):
        sink(cmd[:3], int(argv[2]), argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
