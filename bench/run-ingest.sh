#!/bin/sh
# Broker pass-through, siteward's ingest (kill-9-safe and power-loss-safe
# durability) and event -> incident latency at 1,000 and 5,000 events/s,
# side by side in one run against a private mosquitto on a free loopback
# port. Prints the figures and the ratio ingest/pass-through; sw-bench
# appends each figure, with the date and commit, to bench/results/run-ingest.txt.
#
#   bench/run-ingest.sh [N]     N messages per throughput run (default 100000)
#
# Environment: BUILD (default ./build) holds bin/siteward and bin/sw-bench;
# POWER_N events for the power-durability run (default N/5: an fsync per
# commit is much slower); INFLIGHT (default 16); SECONDS_PER_RATE (default 10).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
n=${1:-100000}
power_n=${POWER_N:-$((n / 5))}
inflight=${INFLIGHT:-16}
lat_s=${SECONDS_PER_RATE:-10}
bench="$build/bin/sw-bench"
results="$top/bench/results/run-ingest.txt"
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
tmp=$(mktemp -d /tmp/sw-run-ingest-XXXXXX)
broker_pid=""
daemon_pid=""

# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$daemon_pid" ]; then
        kill "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    if [ -n "$broker_pid" ]; then
        kill "$broker_pid" 2>/dev/null || true
        wait "$broker_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$bench" "$build/bin/siteward"; do
    [ -x "$f" ] || { echo "run-ingest: $f is missing; build it first" >&2; exit 1; }
done

# shellcheck source=bench/broker.sh
. "$top/bench/broker.sh"

# A copy of config/siteward.json with the durability $1, absolute paths
# (relative ones are relative to the file's folder) and stats every second.
write_config() {
    sed -e "s|\"durability\": *\"[a-z]*\"|\"durability\": \"$1\"|" \
        -e "s|\"policy\": *\"policy/|\"policy\": \"$top/config/policy/|" \
        -e "s|\"calendar\": *\"calendars/|\"calendar\": \"$top/config/calendars/|" \
        -e "s|\"stats_interval\": *\"[0-9a-z]*\"|\"stats_interval\": \"1s\"|" \
        "$top/config/siteward.json" >"$tmp/siteward-$1.json"
    for want in "\"durability\": \"$1\"" "\"policy\": \"$top/" "\"stats_interval\": \"1s\""; do
        grep -q "$want" "$tmp/siteward-$1.json" ||
            { echo "run-ingest: cannot set $want in a copy of config/siteward.json" >&2; exit 1; }
    done
}

# $1 durability: a fresh state directory, then wait for the retained status.
start_daemon() {
    write_config "$1"
    rm -rf "$tmp/state"
    "$build/bin/siteward" --config "$tmp/siteward-$1.json" --broker "$url" --state "$tmp/state" \
        --instance bench >"$tmp/siteward-$1.log" 2>&1 &
    daemon_pid=$!
    sw_bench_online run-ingest "$tmp/siteward-$1.log"
}
stop_daemon() {
    kill "$daemon_pid"
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=""
}

# sw-bench with the run's flags; its figures go to the terminal and $out.
out="$tmp/figures.txt"
run() {
    if "$bench" "$@" --broker "$url" --results "$results" --commit "$commit" >"$tmp/one"; then
        :
    else
        echo "run-ingest: sw-bench $* did not complete (exit $?)" >&2
    fi
    cat "$tmp/one"
    cat "$tmp/one" >>"$out"
}
# The value of key $2 in the first line of $out starting with $1.
get() {
    sed -n "s/^$1 .*[ ]$2=\\([^ ]*\\).*/\\1/p" "$out" | head -n 1
}

mkdir -p "$top/bench/results"
sw_bench_broker run-ingest
url="tcp://127.0.0.1:$port"
echo "mosquitto on $url; N=$n, power N=$power_n, $inflight in flight, commit $commit"

# 1. The broker alone, flat out and at 1,000/s.
run passthrough -n "$n" --inflight "$inflight"
run passthrough -n $((1000 * lat_s)) --rate 1000 --label passthrough_1000
# 2. siteward, kill-9-safe durability.
start_daemon process
run ingest -n "$n" --inflight "$inflight" --state "$tmp/state" --stats-wait 3 --label process_ingest
stop_daemon
# The same events with no subscriber in the bench (counted in the store
# only): the bench's own receiving shares the two cores too.
start_daemon process
run stored -n "$n" --inflight "$inflight" --state "$tmp/state" --label process_stored
stop_daemon
# 3. Power-loss-safe durability (an fsync per commit).
start_daemon power
run ingest -n "$power_n" --inflight "$inflight" --state "$tmp/state" --stats-wait 3 \
    --label power_ingest
stop_daemon
# 4. Event published -> incident state received, at fixed rates.
start_daemon process
run latency --rate 1000 --seconds "$lat_s"
run latency --rate 5000 --seconds "$lat_s"
rss=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$daemon_pid/status")
stop_daemon

echo
pass=$(get passthrough msgs_per_s)
ratio() { [ -n "$1" ] && [ -n "$pass" ] && awk -v a="$1" -v b="$pass" 'BEGIN { printf "%.2f", a / b }'; }
p_ing=$(get process_ingest msgs_per_s)
p_ack=$(get process_ingest_puback msgs_per_s)
w_ing=$(get power_ingest msgs_per_s)
p_sto=$(get process_stored msgs_per_s)
printf '%-44s %10s %8s  %s\n' figure "msgs/s" "/pass" "latency p50 / p99 / max ms"
printf '%-44s %10s %8s  %s / %s / %s\n' "broker pass-through, QoS 1, flat out" "$pass" 1.00 \
    "$(get passthrough p50_ms)" "$(get passthrough p99_ms)" "$(get passthrough max_ms)"
printf '%-44s %10s %8s  %s / %s / %s\n' "broker pass-through at 1,000/s" 1000 - \
    "$(get passthrough_1000 p50_ms)" "$(get passthrough_1000 p99_ms)" "$(get passthrough_1000 max_ms)"
printf '%-44s %10s %8s\n' "siteward ingest, process (events applied)" "$p_ing" "$(ratio "$p_ing")"
printf '%-44s %10s %8s\n' "  broker intake meanwhile (PUBACKs)" "$p_ack" "$(ratio "$p_ack")"
printf '%-44s %10s %8s\n' "  daemon stats (received, 1 s samples)" "$(get process_ingest_stats msgs_per_s)" \
    "$(ratio "$(get process_ingest_stats msgs_per_s)")"
printf '%-44s %10s %8s\n' "  incident states out (events reflected)" \
    "$(get process_ingest_incidents events_per_s)" "$(ratio "$(get process_ingest_incidents events_per_s)")"
printf '%-44s %10s %8s\n' "  the same, no subscriber in the bench" "$p_sto" "$(ratio "$p_sto")"
printf '%-44s %10s %8s\n' "siteward ingest, power (events applied)" "$w_ing" "$(ratio "$w_ing")"
for r in 1000 5000; do
    printf '%-44s %10s %8s  %s / %s / %s\n' "event -> incident state at $r/s" "$r" - \
        "$(sed -n "s/^latency rate=$r .*p50_ms=\\([^ ]*\\).*/\\1/p" "$out")" \
        "$(sed -n "s/^latency rate=$r .*p99_ms=\\([^ ]*\\).*/\\1/p" "$out")" \
        "$(sed -n "s/^latency rate=$r .*max_ms=\\([^ ]*\\).*/\\1/p" "$out")"
done
echo "siteward peak RSS over the latency runs: ${rss} MB"
[ -n "$p_ing" ] && echo "ratio ingest_process/passthrough=$(ratio "$p_ing") (target >= 0.80)"
[ -n "$p_sto" ] && echo "ratio ingest_process_no_subscriber/passthrough=$(ratio "$p_sto")"
exit 0
