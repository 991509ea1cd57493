#!/usr/bin/env python3
"""Time from a rogue datagram leaving the guest to the kill:PID target being
dead, against a plain SIGKILL-and-reap of the same kind of process, in the
same run. Run in the guest's network namespace by bench/rogue_kill.sh.

  rogue_kill.py ROUNDS ROUTER_NS DEV ENDPOINT PEER_IP TARGET_IP LOADER
"""
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import time


def wait_dead(pidfd, proc):
    if not select.select([pidfd], [], [], 5)[0]:
        raise SystemExit("target still alive after 5 s")
    t = time.monotonic_ns()
    proc.wait()
    return t


def rogue_round(ns, dev, endpoint, peer, target, loader):
    victim = subprocess.Popen(["sleep", "600"])
    pidfd = os.pidfd_open(victim.pid)
    guard = subprocess.Popen(
        ["nsenter", f"--net=/var/run/netns/{ns}", loader, "guard", "--dev", dev,
         "--endpoint", endpoint, "--peer-ip", peer, "--on-rogue", f"kill:{victim.pid}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for line in guard.stderr:
            if "guarding" in line:
                break
        else:
            raise SystemExit("guard did not start")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t0 = time.monotonic_ns()
        s.sendto(b"rogue", (target, 9))
        t1 = wait_dead(pidfd, victim)
        return (t1 - t0) / 1e6
    finally:
        os.close(pidfd)
        if victim.poll() is None:
            victim.kill()
            victim.wait()
        guard.send_signal(signal.SIGTERM)
        guard.wait()


def direct_round():
    victim = subprocess.Popen(["sleep", "600"])
    pidfd = os.pidfd_open(victim.pid)
    t0 = time.monotonic_ns()
    os.kill(victim.pid, signal.SIGKILL)
    t1 = wait_dead(pidfd, victim)
    os.close(pidfd)
    return (t1 - t0) / 1e6


def main(argv):
    rounds = int(argv[1])
    rogue, direct = [], []
    for _ in range(rounds):
        rogue.append(rogue_round(*argv[2:8]))
        direct.append(direct_round())
    q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))]
    mr, md = statistics.median(rogue), statistics.median(direct)
    print(f"rogue datagram to kill:PID target dead, {rounds} rounds")
    print(f"  rogue -> dead   median {mr:7.3f} ms  p90 {q(rogue, 0.9):7.3f} ms  max {max(rogue):7.3f} ms")
    print(f"  SIGKILL -> dead median {md:7.3f} ms  p90 {q(direct, 0.9):7.3f} ms  (baseline)")
    print(f"  ratio {mr / md:.2f}x the bare kill; {5000 / mr:.0f}x faster than a 5 s poll")


if __name__ == "__main__":
    main(sys.argv)
