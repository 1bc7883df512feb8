#!/usr/bin/env bash
# Cross-compiles nanum for 64-bit ARM home gateways with Debian 12's cross toolchain and
# arm64 libraries, and packages it: build/arm64/nanum_<version>_arm64.deb. Installs what it
# needs (as root): the arm64 architecture, crossbuild-essential-arm64, and the arm64
# development packages of the libraries nanum links.
#
#   deploy/cross-arm64.sh
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh   # the host's tools: cmake, ninja, protoc, grpc_cpp_plugin, headers
libs=(libleveldb-dev libsnappy-dev libsecp256k1-dev libssl-dev libprotobuf-dev libgrpc++-dev libtomlplusplus-dev libjemalloc-dev)
want=(crossbuild-essential-arm64)
for l in "${libs[@]}"; do want+=("$l:arm64"); done
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

cmake --preset arm64
cmake --build --preset arm64
cmake --build --preset arm64 --target package
file build/arm64/node/nanumd build/arm64/meter_oracle/nanum-oracle build/arm64/cli/nanumctl
ls -l build/arm64/nanum_*_arm64.deb
