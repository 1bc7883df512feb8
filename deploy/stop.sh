#!/usr/bin/env bash
# Stops the local community that deploy/start.sh started, cleanly: the trading agents, the
# plugs, the oracles (their queues stay on disk), the followers, then the validators.
#   NANUM_HOME=/path deploy/stop.sh     if it was started with NANUM_HOME
set -euo pipefail
cd "$(dirname "$0")/.."
export NANUM_BIN="${NANUM_BIN:-$PWD/build/release}"
exec deploy/community.sh stop
