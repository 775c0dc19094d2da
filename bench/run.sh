#!/bin/sh
# Runs every benchmark side by side in one run against a private mosquitto
# on loopback and prints one line per figure; appends them, with the date,
# commit and machine, to bench/results/results.txt.
#   bench/run.sh [N]     N events for the throughput runs (default 100000)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
n=${1:-100000}
tmp=$(mktemp -d /tmp/sw-bench-XXXXXX)
broker_pid=""
daemon_pid=""
# The figures are produced in a subshell (piped to tee), so the daemon's
# PID is kept in a file the cleanup can read.
cleanup() {
    [ -f "$tmp/daemon.pid" ] && kill "$(cat "$tmp/daemon.pid")" 2>/dev/null
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cmake --build "$build" -j"$(nproc)" --target siteward sw-bench sw-bench-timers map decode classify correlate >/dev/null

# shellcheck source=bench/broker.sh
. "$top/bench/broker.sh"
sw_bench_broker run
url="tcp://127.0.0.1:$port"

# $1 durability, $2 extra flags
start_daemon() {
    sed -e "s/\"durability\": \"process\"/\"durability\": \"$1\"/" \
        -e "s|\"policy\": \"policy/default.json\"|\"policy\": \"$top/config/policy/default.json\"|" \
        -e "s|\"calendar\": \"calendars/|\"calendar\": \"$top/config/calendars/|" \
        "$top/config/siteward.json" >"$tmp/siteward.json"
    rm -rf "$tmp/state"
    "$build/bin/siteward" --config "$tmp/siteward.json" --broker "$url" --state "$tmp/state" \
        --instance bench $2 >"$tmp/siteward-$1.log" 2>&1 &
    daemon_pid=$!
    echo "$daemon_pid" >"$tmp/daemon.pid"
    sw_bench_online run "$tmp/siteward-$1.log"
}
stop_daemon() {
    kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
    rm -f "$tmp/daemon.pid"
}

out="$tmp/figures.txt"
b="$build/bin/sw-bench"
{
    # 1. The broker alone: publisher -> mosquitto -> plain subscriber.
    "$b" passthrough -b "$url" -n "$n" -k 16 || true
    # 2. siteward, kill-9-safe durability: every event durable and applied.
    start_daemon process ""
    "$b" stored -b "$url" -n "$n" -k 16 -d "$tmp/state" --unique | sed 's/^stored/stored durability=process/' || true
    stop_daemon
    # 3. The same, end to end: until every incident state reached a subscriber.
    start_daemon process ""
    "$b" ingest -b "$url" -n "$n" -k 16 -d "$tmp/state" -w 0 --unique | sed 's/^ingest /ingest durability=process /' || true
    stop_daemon
    # 4. Power-loss-safe durability (fsync per commit).
    start_daemon power ""
    "$b" stored -b "$url" -n "$((n / 10))" -k 16 -d "$tmp/state" --unique | sed 's/^stored/stored durability=power/' || true
    stop_daemon
    # 5. Event published -> incident state received, at fixed rates.
    start_daemon process ""
    "$b" latency -b "$url" -r 1000 -s 10 || true
    "$b" latency -b "$url" -r 5000 -s 10 || true
    awk '/VmHWM/ {printf "siteward peak_rss_mb=%.1f\n", $2 / 1024}' /proc/"$daemon_pid"/status
    stop_daemon
    # 6. Deadline -> escalation received, on a 60x clock.
    start_daemon process "--clock-scale 60"
    "$b" escalation -b "$url" -c 1000 -r 100 || true
    "$b" escalation -b "$url" -c 2000 -k 16 | sed "s/^escalation/escalation burst/" || true
    stop_daemon
    # 7. The deadline structure at a million pending obligations.
    "$build/bin/sw-bench-timers" -n 1000000
    "$build/bin/sw-bench-timers" -n 1000000 -r
} | tee "$out"
pass=$(sed -n 's/^passthrough .*msgs_per_s=\([0-9]*\).*/\1/p' "$out")
# stored: events durable and applied; ingest: until every incident state is out.
for what in "stored durability=process .*msgs_per_s" "ingest_incidents .*events_per_s"; do
    got=$(sed -n "s/^$what=\\([0-9]*\\).*/\\1/p" "$out")
    [ -n "$pass" ] && [ -n "$got" ] &&
        awk -v a="$got" -v b="$pass" -v w="${what%% *}" 'BEGIN { printf "ratio %s_process/passthrough=%.2f\n", w, a / b }' | tee -a "$out"
done

mkdir -p "$top/bench/results"
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
         "on $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
    cat "$out"
} >>"$top/bench/results/results.txt"
