#!/bin/sh
# Builds siteward twice (plain, and with AddressSanitizer and
# UndefinedBehaviorSanitizer) and runs the whole test suite on both, then
# builds the libFuzzer targets with clang and runs each for a bounded time
# (SW_FUZZ_SECONDS, default 30).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
"$top/scripts/deps.sh"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" -j"$jobs"
ctest --test-dir "$top/build" --output-on-failure -j"$jobs"
cmake -S "$top" -B "$top/build-asan" -DCMAKE_BUILD_TYPE=Debug -DSW_SANITIZE=ON >/dev/null
cmake --build "$top/build-asan" -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$top/build-asan" --output-on-failure -j"$jobs"
cmake -S "$top" -B "$top/build-fuzz" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSW_FUZZ=ON -DSW_TESTS=OFF -DSW_FUZZ_SECONDS="${SW_FUZZ_SECONDS:-30}" >/dev/null
cmake --build "$top/build-fuzz" -j"$jobs"
ctest --test-dir "$top/build-fuzz" --output-on-failure -j"$jobs"
