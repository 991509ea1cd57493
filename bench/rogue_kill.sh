#!/usr/bin/env bash
# Rogue datagram to kill:PID target dead (see bench/rogue_kill.py).
#   bench/rogue_kill.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/.."
source scripts/lib.sh
trap omt_test_teardown EXIT
omt_topo_up
omt_net "$OMT_NS_G" python3 bench/rogue_kill.py "${1:-30}" "$OMT_NS_R" "$OMT_R_DEV" \
	"$OMT_ENDPOINT" "$OMT_G_IP" "$OMT_C_IP" "$OMT_LOADER"
