#!/bin/sh
# The long versions of the fault tests and fuzzing (docs/testing.md, "Fault tests and
# fuzzing"); not part of CI.
#   scripts/soak.sh [fault|fuzz|all]     (default all)
# fault: the tests of tests/fault with SW_SOAK=1 on the RelWithDebInfo build
#        (300,000 events and 60 kills; 20 broker restarts; ...). A seed is
#        printed per test: SW_FAULT_SEED=N replays it.
# fuzz:  each libFuzzer target for SW_FUZZ_SECONDS (default 600) on the
#        clang build, keeping what it found in build-fuzz/tests/fuzz/*/corpus.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
jobs=$(nproc)
"$top/scripts/deps.sh"
case $what in fault|fuzz|all) ;; *) echo "usage: soak.sh [fault|fuzz|all]" >&2; exit 64 ;; esac
if [ "$what" != fuzz ]; then
    cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$top/build" -j"$jobs"
    SW_SOAK=1 ctest --test-dir "$top/build" --output-on-failure -V -L fault
fi
if [ "$what" != fault ]; then
    cmake -S "$top" -B "$top/build-fuzz" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSW_FUZZ=ON -DSW_TESTS=OFF -DSW_FUZZ_SECONDS="${SW_FUZZ_SECONDS:-600}" >/dev/null
    cmake --build "$top/build-fuzz" -j"$jobs"
    ctest --test-dir "$top/build-fuzz" --output-on-failure -V -j"$jobs"
fi
