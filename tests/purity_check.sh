#!/usr/bin/env bash
# Fails if consensus/ or chaincode/ reach for I/O, threads, clocks or randomness: they must be
# deterministic state machines (DESIGN.md). Usage: purity_check.sh SOURCE_ROOT
set -euo pipefail
root=${1:?usage: purity_check.sh SOURCE_ROOT}
pattern='#[[:space:]]*include[[:space:]]*[<"](grpc|grpcpp|boost/|leveldb/|thread>|chrono>|mutex>|random>|future>|condition_variable>|ctime>|time\.h>|sys/time\.h>|sys/socket\.h>|fstream>)'
calls='std::chrono|std::thread|std::random_device|\b(time|clock_gettime|gettimeofday|rand|srand|getrandom)[[:space:]]*\(|\bfloat\b|\bdouble\b'
status=0
for part in consensus chaincode; do
  dir="$root/$part"
  [ -d "$dir" ] || continue
  while IFS= read -r -d '' f; do
    # Comments may name what is forbidden; code may not.
    body=$(sed -e 's://.*$::' "$f")
    if hits=$(printf '%s\n' "$body" | grep -nE "$pattern"); then
      printf '%s: forbidden include in a deterministic part:\n%s\n' "${f#$root/}" "$hits"; status=1
    fi
    if hits=$(printf '%s\n' "$body" | grep -nE "$calls"); then
      printf '%s: clock, thread, randomness or floating point in a deterministic part:\n%s\n' "${f#$root/}" "$hits"; status=1
    fi
  done < <(find "$dir" -type f \( -name '*.h' -o -name '*.cc' -o -name '*.cpp' -o -name '*.hpp' \) -print0)
done
if [ $status -eq 0 ]; then echo "purity check: consensus/ and chaincode/ are clean"; fi
exit $status
