#!/usr/bin/env bash
# Installs, from Debian 12's own packages, everything that nanum's build, tests, benchmarks
# and local community need. Idempotent: packages already present are left alone, and the
# package lists are refreshed only when something is missing.
#
#   sudo deploy/install-deps.sh        (or as root, without sudo)
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git
  # libraries (DESIGN.md)
  libleveldb-dev libsnappy-dev libsecp256k1-dev libssl-dev libboost-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  # nanumd and nanumctl: configuration (TOML), JSON (genesis, --json), command lines
  libtomlplusplus-dev nlohmann-json3-dev libcli11-dev
  # nanumctl's allocator: the audit's replay makes millions of small allocations
  libjemalloc-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # tools used by the tests and scripts
  python3 procps iproute2 openssl coreutils
  # the Debian package (CPack's dpkg-shlibdeps) and its test (systemd-analyze verify)
  dpkg-dev file systemd
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1
  fi
else
  SUDO=
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
