#!/usr/bin/env bash
# Every benchmark; each prints ratios against a baseline measured in the
# same run. Results go into docs/benchmarks.md by hand, with the date.
set -eu
cd "$(dirname "$0")/.."
echo "== guard per-frame cost (BPF_PROG_TEST_RUN)"
build/bench/guard_cost
echo
echo "== guard on a tap's receive path"
bench/tap.sh
echo
echo "== tunnel throughput over a guarded veth"
bench/tunnel.sh
echo
echo "== the owner first: a CPU-bound owner beside a CPU-bound VM"
bench/owner.sh 3 3 debian
bench/owner.sh 3 3 minimal
echo
echo "== rogue datagram to kill"
bench/rogue_kill.sh
echo
echo "== owner activity to VM paused"
bench/owner_latency.sh
echo
echo "== checkpoint and restore of a 256 MiB job"
bench/checkpoint.sh
echo
echo "== python3 on the debian image against true on minimal"
bench/workload.sh
echo
echo "== Work Queue through omerta swarm against local workers"
bench/swarm.sh
echo
echo "== the debian image: build time and size"
bench/image.sh 1
echo
echo "== a signed API request over TLS 1.3 against plain HTTP"
bench/api.sh
echo
echo "== warm VMs: accepted to first output, warm against cold"
bench/warm.sh
