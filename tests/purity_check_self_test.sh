#!/usr/bin/env bash
# Shows that purity_check.sh fails on each kind of violation and passes clean code.
set -uo pipefail
check=${1:?usage: purity_check_self_test.sh PATH_TO_purity_check.sh}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() {  # expect pass|fail PART CODE
  local want=$1 part=$2 code=$3
  rm -rf "$tmp"/*; mkdir -p "$tmp/$part"
  printf '%s\n' "$code" > "$tmp/$part/x.cc"
  if bash "$check" "$tmp" >/dev/null 2>&1; then got=pass; else got=fail; fi
  if [ "$got" != "$want" ]; then echo "expected $want for $part: $code"; fail=1; fi
}
expect pass chaincode 'int f() { return 1; }'
expect pass chaincode '// we never #include <thread> here'
expect fail chaincode '#include <thread>'
expect fail consensus '#include <chrono>'
expect fail consensus '#include <grpcpp/grpcpp.h>'
expect fail chaincode '#include <boost/asio.hpp>'
expect fail chaincode '#include "leveldb/db.h"'
expect fail consensus 'auto t = std::chrono::steady_clock::now();'
expect fail chaincode 'long t = time(nullptr);'
expect fail chaincode 'double price = 1.5;'
expect pass node '#include <thread>'   # other parts may
[ $fail -eq 0 ] && echo "purity check self-test: all cases as expected"
exit $fail
