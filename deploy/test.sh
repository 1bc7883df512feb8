#!/usr/bin/env bash
# Installs what nanum needs, builds it, and runs every test. The README's second command and
# what CI runs (.ci/run). Exits non-zero if anything fails.
#
#   deploy/test.sh              the default (debug) build, all tests
#   NANUM_PRESET=asan deploy/test.sh    the same under AddressSanitizer + UBSan
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${NANUM_PRESET:-default}

deploy/install-deps.sh
cmake --preset "$preset"
cmake --build --preset "$preset"
ctest --preset "$preset"
