#!/usr/bin/env bash
# Builds the release binaries and the Debian package of this machine's architecture:
# build/release/nanum_<version>_<arch>.deb (binaries, systemd units, the `nanum` user,
# configuration templates, docs). For arm64 gateways: deploy/cross-arm64.sh.
#
#   deploy/package.sh && sudo apt install ./build/release/nanum_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
cmake --preset release
cmake --build --preset release
cmake --build --preset release --target package
ls -l build/release/nanum_*.deb
