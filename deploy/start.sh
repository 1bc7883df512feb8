#!/usr/bin/env bash
# The README's first command: install what nanum needs, build it (release), start the local
# community (deploy/community.sh: 4 validators, 6 followers, 10 households with meter
# oracles, simulated plugs and trading agents), and show it trading, slot by slot.
#
# Ctrl-C leaves the live view; the community keeps running in the background until
# deploy/stop.sh. Running start.sh again starts whatever is not running and shows the view
# again; the ledger, the oracles' queues and the plugs' registers survive a stop and a start.
#
#   deploy/start.sh                      build, start, watch
#   NANUM_HOME=/path deploy/start.sh     keep the community somewhere else (default ./community)
#   NANUM_SLOT_SECONDS=60 deploy/start.sh   slot length for a new community (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake --preset release
cmake --build --preset release
export NANUM_BIN="$PWD/build/release"
deploy/community.sh start
echo
echo "Trading, slot by slot (Ctrl-C leaves this view; the community keeps running until deploy/stop.sh):"
deploy/community.sh live || true
