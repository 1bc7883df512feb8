#!/usr/bin/env bash
# Memory and CPU per process of the local community (deploy/community.sh), for
# docs/PERFORMANCE.md: at idle (the 10 nodes and 10 oracles, no plugs and no trading: empty
# blocks only) and under the demo's load (plugs sampling every second, agents trading every
# slot). Prints, per kind of process, mean CPU % of one core over the window and the mean
# and largest resident memory at its end.
#
#   NANUM_BIN=build/release tests/load/community_resources.sh [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
secs=${1:-60}
export NANUM_HOME=${NANUM_HOME:-/tmp/nanum-resources}
export NANUM_BIN=${NANUM_BIN:-$root/build/release}
tck=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

measure() {  # label
  declare -A t0
  local f n
  for f in "$NANUM_HOME"/run/*.pid; do n=$(basename "$f" .pid); t0[$n]=$(cpu_ticks "$(cat "$f")"); done
  sleep "$secs"
  printf '%s (%s s)\n' "$1" "$secs"
  printf '  %-10s %5s %10s %14s %14s\n' kind count "CPU %" "RSS mean MiB" "RSS max MiB"
  for kind in validator follower oracle plug agent; do
    local count=0 ticks=0 rss_sum=0 rss_max=0
    for f in "$NANUM_HOME"/run/"$kind"-*.pid; do
      [ -e "$f" ] || continue
      n=$(basename "$f" .pid); pid=$(cat "$f")
      local t r; t=$(cpu_ticks "$pid"); r=$(rss_kib "$pid")
      count=$((count + 1)); ticks=$((ticks + t - ${t0[$n]:-0})); rss_sum=$((rss_sum + r))
      [ "$r" -gt "$rss_max" ] && rss_max=$r
    done
    [ "$count" -gt 0 ] || continue
    awk -v k="$kind" -v c="$count" -v t="$ticks" -v s="$secs" -v hz="$tck" -v sum="$rss_sum" -v mx="$rss_max" \
      'BEGIN { printf "  %-10s %5d %10.2f %14.1f %14.1f\n", k, c, 100 * t / hz / s / c, sum / c / 1024, mx / 1024 }'
  done
}

rm -rf "$NANUM_HOME"
"$root/deploy/community.sh" start >/dev/null
trap '"$root/deploy/community.sh" stop >/dev/null' EXIT
# Idle: no plugs, no agents.
for f in "$NANUM_HOME"/run/agent-*.pid "$NANUM_HOME"/run/plug-*.pid; do kill -TERM "$(cat "$f")"; rm -f "$f"; done
sleep 10
measure "idle: 4 validators, 6 followers, 10 oracles; empty blocks only"
# The demo's load: plugs and agents back; let trading begin before measuring.
"$root/deploy/community.sh" start >/dev/null
sleep 45
measure "the demo's load: plugs every second, an order per household per slot, readings, settlements"
du -sb "$NANUM_HOME"/data | awk '{printf "data after the run: %.1f MiB\n", $1 / 1048576}'
