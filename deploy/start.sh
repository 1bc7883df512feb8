#!/usr/bin/env bash
# The README's first command: install what nanum needs, build it (release), and start a
# community node on this machine.
#
# What it starts today: one validator node (nanumd) of a new community with two households,
# made by `nanumctl init` in ./community on the first run and reused afterwards (its ledger
# survives a stop and a start). It runs in the foreground; Ctrl-C stops it cleanly. The
# local community of issue 7 (4 validators, followers, oracles and trading agents) replaces
# this once the peer transport and the oracle exist.
#
#   deploy/start.sh                 build and start
#   NANUM_HOME=/path deploy/start.sh   keep the community somewhere else
set -euo pipefail
cd "$(dirname "$0")/.."
home="${NANUM_HOME:-$PWD/community}"

deploy/install-deps.sh
cmake --preset release
cmake --build --preset release
bin="$PWD/build/release"

if [ ! -f "$home/genesis.json" ]; then
  "$bin/cli/nanumctl" init "$home" --community "Local Community" --chain-id local-1 \
    --households a b --slot-seconds 60 --base-port 7701
fi

cat <<INFO

== nanum: a one-validator community in $home ==
  API (gRPC, reflection on):  127.0.0.1:7701
  node status:   $bin/cli/nanumctl --node 127.0.0.1:7701 status
  a transfer:    $bin/cli/nanumctl --node 127.0.0.1:7701 transfer --key $home/keys/a.key --to b 100
  an order:      $bin/cli/nanumctl --node 127.0.0.1:7701 order sell --key $home/keys/a.key --wh 500 --price 3 --in 2
  the book:      $bin/cli/nanumctl --node 127.0.0.1:7701 book --in 2
  health, metrics: http://127.0.0.1:7901/ready  http://127.0.0.1:7901/metrics
  stop:          Ctrl-C (or SIGTERM); starting again continues the same ledger
INFO
exec "$bin/node/nanumd" --config "$home/validator-0.toml"
