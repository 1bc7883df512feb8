#!/usr/bin/env bash
# The README's first command: install what nanum needs, build it (release), and start it.
#
# What it starts today: the node daemon, nanumd, does not exist yet (issue 5), and neither
# does the local community (issue 7). Until then this builds everything that exists and shows
# the ledger core at work on this machine: its crash test (a process appending blocks to a
# LevelDB store, killed with SIGKILL 60 times, the store reopened and replayed after each)
# and its benchmarks, the chaincode's benchmarks, and PBFT in its simulator (four validators and
# a follower through every kind of fault, then the protocol's figures).
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake --preset release
cmake --build --preset release

echo
echo "== nanum: the node (nanumd) is not built yet; showing the ledger core and consensus =="
echo
build/release/tests/store_crash_test --kills=60
echo
build/release/tests/bench/ledger_bench --benchmark_min_time=0.5
echo
build/release/tests/bench/chaincode_bench --benchmark_min_time=0.5
echo
echo "== PBFT in the simulator: one seed with every fault, then the figures =="
build/release/tests/pbft_sim --seed 1 --n 4 -v
build/release/tests/pbft_sim --figures
