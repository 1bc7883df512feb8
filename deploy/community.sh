#!/usr/bin/env bash
# The local community on one machine: 4 validators and 6 follower nodes, ten households each
# with a meter oracle, a simulated smart plug (four of them with rooftop solar) and a trading
# agent. deploy/start.sh builds nanum and runs `community.sh start` and `community.sh live`;
# deploy/stop.sh runs `community.sh stop`.
#
#   community.sh start    make the community on the first run (nanumctl init), then start
#                         whatever of it is not running; prints where to look
#   community.sh stop     stop everything cleanly (SIGTERM, in the order that loses nothing)
#   community.sh status   which processes run, and the endpoints
#   community.sh live     the trading, slot by slot (nanumctl live), until Ctrl-C
#
# Environment:
#   NANUM_HOME          where the community lives (default ./community): keys, genesis,
#                       configs, data/, logs/, run/ (pid files). Its ledger survives stop and start.
#   NANUM_BIN           a directory with nanumd, nanumctl and nanum-oracle, or a build tree
#                       (default build/release, else what is on PATH)
#   NANUM_SLOT_SECONDS  slot length when the community is made (default 15; one slot is a
#                       simulated quarter hour, so a simulated day passes in 24 minutes)
#   NANUM_BASE_PORT     first node's API port when the community is made (default 7701)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
home="${NANUM_HOME:-$PWD/community}"
mkdir -p "$home"
home="$(cd "$home" && pwd)"

# household  node          plug profile  plug format
HOUSEHOLDS=(
  "ara    validator-0  solar      zigbee2mqtt"
  "bom    validator-1  household  tasmota"
  "chan   validator-2  household  sep2"
  "dana   validator-3  solar      tasmota"
  "eun    follower-0   household  zigbee2mqtt"
  "gaon   follower-1   solar      sep2"
  "hana   follower-2   household  zigbee2mqtt"
  "iseul  follower-3   household  tasmota"
  "jun    follower-4   solar      zigbee2mqtt"
  "mirae  follower-5   household  sep2"
)
NODES=(validator-0 validator-1 validator-2 validator-3 follower-0 follower-1 follower-2 follower-3 follower-4 follower-5)

find_bin() {  # name, subdirectory in a build tree
  local dir; dir="$(realpath -m "${NANUM_BIN:-$root/build/release}")"
  for c in "$dir/$1" "$dir/$2/$1"; do
    if [ -x "$c" ]; then echo "$c"; return; fi
  done
  if command -v "$1" >/dev/null; then command -v "$1"; return; fi
  echo "community.sh: cannot find $1 (build nanum, or set NANUM_BIN)" >&2
  exit 1
}
NANUMD=$(find_bin nanumd node)
NANUMCTL=$(find_bin nanumctl cli)
ORACLE=$(find_bin nanum-oracle meter_oracle)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

make_community() {
  local slot="${NANUM_SLOT_SECONDS:-15}" base="${NANUM_BASE_PORT:-7701}"
  local names=()
  for h in "${HOUSEHOLDS[@]}"; do read -r name _ <<<"$h"; names+=("$name"); done
  local tmp="$home/.init"
  rm -rf "$tmp"
  # Uniform-price matching gives each slot one clearing price; a grant large enough for a
  # simulated week of buying.
  "$NANUMCTL" init "$tmp" --community "Local Community" --chain-id local-1 --validators 4 --followers 6 \
    --households "${names[@]}" --slot-seconds "$slot" --mechanism uniform_price --initial-grant 50000000 \
    --base-port "$base" >/dev/null
  # One slot is a simulated quarter hour; the simulated day starts at 09:00 now, so that
  # the solar households have something to sell from the first minutes.
  local scale=$(( 900 / slot )); [ "$scale" -ge 1 ] || scale=1
  local day_start=$(( $(now_ms) - 9 * 3600 * 1000 / scale ))
  cat >"$tmp/community.env" <<ENV
# Written by deploy/community.sh when it made this community.
SLOT_SECONDS=$slot
BASE_PORT=$base
TIME_SCALE=$scale
DAY_START_MS=$day_start
ENV
  mv "$tmp"/* "$home"/ && rmdir "$tmp"
  echo "made the community in $home (slots of $slot s)"
}

pidfile() { echo "$home/run/$1.pid"; }

alive() {  # pid: true while it runs (an exited process waiting to be reaped does not count)
  kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null
}

running() {  # name: true if its recorded process is alive and is one of ours
  local f; f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  local pid; pid=$(cat "$f")
  [ -n "$pid" ] && alive "$pid" && grep -qa -e nanumd -e nanumctl -e nanum-oracle "/proc/$pid/cmdline" 2>/dev/null
}

launch() {  # name, command...: in its own session (Ctrl-C in this terminal does not reach it)
  local name=$1; shift
  if running "$name"; then return; fi
  setsid bash -c 'echo $$ > "$0"; exec "$@"' "$(pidfile "$name")" "$@" >>"$home/logs/$name.log" 2>&1 </dev/null &
}

api_of() {  # node name → its API address
  local i; for i in "${!NODES[@]}"; do [ "${NODES[$i]}" = "$1" ] && echo "127.0.0.1:$((BASE_PORT + i))"; done
}

start() {
  [ -f "$home/genesis.json" ] || make_community
  if [ ! -f "$home/community.env" ]; then
    echo "community.sh: $home holds a community that community.sh did not make (an older deploy/start.sh" \
         "made a one-validator one there); move it away or set NANUM_HOME" >&2
    exit 1
  fi
  # shellcheck disable=SC1091
  . "$home/community.env"
  mkdir -p "$home/logs" "$home/run"
  for n in "${NODES[@]}"; do launch "$n" "$NANUMD" --config "$home/$n.toml"; done
  local k=0
  for h in "${HOUSEHOLDS[@]}"; do
    read -r name node profile format <<<"$h"
    launch "oracle-$name" "$ORACLE" run --config "$home/oracle-$name.toml"
    launch "plug-$name" "$ORACLE" simulate --plug "$name-plug:$profile:$format" \
      --target "http://127.0.0.1:$((BASE_PORT + 300 + k))" --interval-ms 1000 --time-scale "$TIME_SCALE" \
      --day-start-ms "$DAY_START_MS" --state "$home/data/plug-$name.state" --seed $((k + 1))
    launch "agent-$name" "$NANUMCTL" --node "$(api_of "$node")" agent --key "$home/keys/$name.key"
    k=$((k + 1))
  done
  # Wait until every node answers.
  for n in "${NODES[@]}"; do
    local tries=0
    until "$NANUMCTL" --node "$(api_of "$n")" status >/dev/null 2>&1; do
      tries=$((tries + 1))
      if [ "$tries" -gt 120 ] || ! running "$n"; then
        echo "community.sh: $n did not come up; the end of $home/logs/$n.log:" >&2
        tail -n 20 "$home/logs/$n.log" >&2
        exit 1
      fi
      sleep 0.5
    done
  done
  info
}

info() {
  . "$home/community.env"
  local ctl="$NANUMCTL --node 127.0.0.1:$BASE_PORT"
  cat <<INFO

== nanum: the local community in $home ==
4 validators and 6 followers; 10 households (ara, dana, gaon and jun with solar), each with
a meter oracle, a simulated plug and a trading agent. Slots of $SLOT_SECONDS s, each a
simulated quarter hour; uniform-price matching.

  node APIs (gRPC, reflection on)   127.0.0.1:$BASE_PORT (validator-0) … 127.0.0.1:$((BASE_PORT + 9)) (follower-5)
  health and metrics                http://127.0.0.1:$((BASE_PORT + 200))/ready  …/metrics  (one per node, +200)
  oracles (IEEE 2030.5, plugs)      http://127.0.0.1:$((BASE_PORT + 300))/dcap  (ara) … +9 (mirae)
  logs                              $home/logs/

  point nanumctl at it:
    $ctl status
    $ctl live
    $ctl members
    $ctl orders --key $home/keys/ara.key
    $ctl settlements --key $home/keys/ara.key
    $ctl order buy --key $home/keys/bom.key --wh 200 --price 120 --in 2
    $ctl audit --genesis $home/genesis.json
  stop:   deploy/stop.sh   (or deploy/community.sh stop); starting again continues the same ledger
INFO
}

stop_group() {  # names...: SIGTERM them all, wait for each (SIGKILL after 20 s)
  local pids=() names=()
  for n in "$@"; do
    if running "$n"; then pids+=("$(cat "$(pidfile "$n")")"); names+=("$n"); kill -TERM "${pids[-1]}"; fi
  done
  local i
  for i in "${!pids[@]}"; do
    local waited=0
    while alive "${pids[$i]}"; do
      if [ "$waited" -ge 200 ]; then
        echo "community.sh: ${names[$i]} did not stop in 20 s; killing it" >&2
        kill -KILL "${pids[$i]}" 2>/dev/null || true
        break
      fi
      sleep 0.1
      waited=$((waited + 1))
    done
    rm -f "$(pidfile "${names[$i]}")"
  done
}

stop() {
  [ -d "$home/run" ] || { echo "nothing runs from $home"; return; }
  local agents=() plugs=() oracles=()
  for h in "${HOUSEHOLDS[@]}"; do
    read -r name _ <<<"$h"
    agents+=("agent-$name"); plugs+=("plug-$name"); oracles+=("oracle-$name")
  done
  # Traders first, then the plugs, then the oracles (their queues are on disk), then the
  # followers, then the validators.
  stop_group "${agents[@]}"
  stop_group "${plugs[@]}"
  stop_group "${oracles[@]}"
  stop_group "${NODES[@]:4}"
  stop_group "${NODES[@]:0:4}"
  echo "stopped the community in $home"
}

status() {
  [ -f "$home/community.env" ] || { echo "no community in $home"; return 1; }
  local up=0 all=0 line
  for n in "${NODES[@]}"; do
    all=$((all + 1)); if running "$n"; then up=$((up + 1)); line="running"; else line="stopped"; fi
    printf '  %-14s %s\n' "$n" "$line"
  done
  for h in "${HOUSEHOLDS[@]}"; do
    read -r name _ <<<"$h"
    for p in oracle plug agent; do
      all=$((all + 1)); if running "$p-$name"; then up=$((up + 1)); line="running"; else line="stopped"; fi
      printf '  %-14s %s\n' "$p-$name" "$line"
    done
  done
  echo "$up of $all processes running"
  [ "$up" -gt 0 ]
}

live() {
  . "$home/community.env"
  exec "$NANUMCTL" --node "127.0.0.1:$BASE_PORT" live "$@"
}

cmd="${1:-}"
shift || true
case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  info) info ;;
  live) live "$@" ;;
  *) echo "usage: $0 start|stop|status|info|live" >&2; exit 2 ;;
esac
