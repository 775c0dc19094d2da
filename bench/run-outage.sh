#!/bin/sh
# siteward's memory through two outages, side by side for each build and
# setting, against one private mosquitto on a free loopback port:
#   A. siteward away: N events (default 60,000: a minute at 1,000/s, a
#      quarter of them Level I) pile up in its broker session while it is
#      stopped; it starts and catches up. Peak RSS (VmHWM) and the time to
#      apply them all.
#   B. the broker away for OUTAGE_S seconds (default 60) while the
#      incidents just opened miss their deadlines (--clock-scale 60):
#      escalations and incident states pile up in siteward. Peak RSS once
#      the broker is back and everything owed has gone out.
# The received queue and the publish queue are bounded by memory_queue_mb
# (default 16); beyond it the inbox and the outbox on disk hold the rest.
#
#   bench/run-outage.sh [N]
#
# Environment: BUILD (default ./build) holds bin/siteward; OLD, a siteward
# binary from before the bounded queues, run too for comparison (its config
# has no memory_queue_mb); OUTAGE_S (60); MQ (the memory_queue_mb values
# to run, default "16 1"). Figures go to the terminal and, with the date
# and commit, to bench/results/run-outage.txt.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
n=${1:-60000}
outage=${OUTAGE_S:-60}
mqs=${MQ:-"16 1"}
old=${OLD:-}
results="$top/bench/results/run-outage.txt"
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
tmp=$(mktemp -d /tmp/sw-run-outage-XXXXXX)
broker_pid=""
daemon_pid=""
sampler_pid=""

# shellcheck disable=SC2317 # called by the trap
cleanup() {
    for pid in "$sampler_pid" "$daemon_pid" "$broker_pid"; do
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$build/bin/siteward" ] || { echo "run-outage: $build/bin/siteward is missing" >&2; exit 1; }
for c in mosquitto mosquitto_pub mosquitto_sub /usr/bin/python3; do
    command -v "$c" >/dev/null || { echo "run-outage: $c is needed" >&2; exit 1; }
done

# shellcheck source=bench/broker.sh
. "$top/bench/broker.sh"

# $1 memory_queue_mb ("" for none): a copy of config/siteward.json with
# absolute paths and stats every second.
write_config() {
    sed -e "s|\"policy\": *\"policy/|\"policy\": \"$top/config/policy/|" \
        -e "s|\"calendar\": *\"calendars/|\"calendar\": \"$top/config/calendars/|" \
        -e "s|\"stats_interval\": *\"[0-9a-z]*\"|\"stats_interval\": \"1s\"|" \
        -e "s|\"metrics\": *{[^}]*},*||" \
        "$top/config/siteward.json" >"$tmp/siteward.json"
    if [ -n "$1" ]; then
        sed -i "s|\"stats_interval\": \"1s\"|\"stats_interval\": \"1s\", \"memory_queue_mb\": $1|" \
            "$tmp/siteward.json"
        grep -q "\"memory_queue_mb\": $1" "$tmp/siteward.json" ||
            { echo "run-outage: cannot set memory_queue_mb" >&2; exit 1; }
    fi
}

start_daemon() { # $1 binary
    "$1" --config "$tmp/siteward.json" --broker "$url" --state "$tmp/state" --instance bench \
        --clock-scale 60 >>"$tmp/siteward.log" 2>&1 &
    daemon_pid=$!
    sw_bench_online run-outage "$tmp/siteward.log"
}
stop_daemon() {
    kill "$daemon_pid"
    wait "$daemon_pid" 2>/dev/null || true
    daemon_pid=""
}
hwm_mb() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$daemon_pid/status"; }
# Anonymous memory (heap, queues: what memory_queue_mb bounds) is sampled
# every 0.2 s into $tmp/anon; VmHWM also counts the store's pages mapped
# from its file, which grows with the incidents and the kernel may drop.
sample_start() {
    : >"$tmp/anon"
    (while kill -0 "$daemon_pid" 2>/dev/null; do
        awk '/RssAnon/ {print $2}' "/proc/$daemon_pid/status" >>"$tmp/anon" 2>/dev/null || break
        sleep 0.2
    done) &
    sampler_pid=$!
}
sample_max_mb() { sort -n "$tmp/anon" | tail -n 1 | awk '{printf "%.0f", $1 / 1024}'; }
# The next stats message's value of key $1 (empty if none within 3 s).
stat() {
    mosquitto_sub -h 127.0.0.1 -p "$port" -t siteward/_daemon/bench/stats -C 1 -W 3 2>/dev/null |
        /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin).get('$1', ''))" 2>/dev/null || true
}

# One line per event, a quarter of them smoke alarms (Level I), each at a
# place of its own: every event opens an incident.
/usr/bin/python3 - "$n" >"$tmp/events" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    t = ("smoke", "water_leak", "pipe_burst", "door_forced")[i % 4]
    print(json.dumps({"type": t, "id": "o-%06d" % i,
                      "location": {"building": str(i % 97), "floor": str(i // 97), "unit": "u"}}))
PY

mkdir -p "$top/bench/results"
sw_bench_broker run-outage
url="tcp://127.0.0.1:$port"
summary="$tmp/summary"
: >"$summary"
echo "mosquitto on $url; N=$n, broker outage ${outage}s, commit $commit, load $(cut -d' ' -f1-3 /proc/loadavg)"

run_variant() { # $1 label, $2 binary, $3 memory_queue_mb or ""
    write_config "$3"
    rm -rf "$tmp/state"
    : >"$tmp/siteward.log"
    start_daemon "$2"
    stop_daemon
    # A: the backlog builds up in the session, then siteward catches up.
    # (One device, so the broker keeps the order; the places differ.)
    mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t siteward/A/event/sensor/o1 -l <"$tmp/events"
    t0=$(date +%s.%N)
    start_daemon "$2"
    sample_start
    i=0
    while :; do
        got=$(/usr/bin/python3 -c "
import lmdb
e = lmdb.open('$tmp/state/main', readonly=True, lock=False, max_dbs=16, subdir=True)
db = e.open_db(b'dedup', create=False)
print(e.begin().stat(db)['entries'])" 2>/dev/null || echo 0)
        [ "$got" -ge "$n" ] && break
        i=$((i + 1))
        [ $i -gt 3000 ] && { echo "run-outage: $1 applied only $got of $n" >&2; break; }
        sleep 0.2
    done
    t1=$(date +%s.%N)
    rss_a=$(hwm_mb)
    anon_a=$(sample_max_mb)
    : >"$tmp/anon"
    # B: the broker goes away while deadlines pass.
    kill "$broker_pid"
    wait "$broker_pid" 2>/dev/null || true
    sleep "$outage"
    rss_b_down=$(hwm_mb)
    anon_b_down=$(sample_max_mb)
    mosquitto -c "$tmp/mosquitto.conf" >>"$tmp/mosquitto.log" 2>&1 &
    broker_pid=$!
    sw_bench_online run-outage "$tmp/siteward.log"
    # Until everything owed has been acknowledged (outbox 0), at most 120 s.
    i=0
    while [ $i -lt 120 ]; do
        owed=$(stat outbox)
        # An old build has no "outbox" in its stats: it is given 20 s.
        [ "$owed" = 0 ] && break
        [ -z "$owed" ] && [ $i -ge 20 ] && break
        i=$((i + 1))
        sleep 1
    done
    rss_b=$(hwm_mb)
    anon_b=$(sample_max_mb)
    file_mb=$(awk '/RssFile/ {printf "%.0f", $2 / 1024}' "/proc/$daemon_pid/status")
    stop_daemon
    wait "$sampler_pid" 2>/dev/null || true
    line=$(printf '%-20s catch-up %5.1f s, anon peak %4s MB (VmHWM %4s) | broker away %ss: anon peak %4s MB down, %4s MB until drained (VmHWM %4s, store mapped %4s MB)' \
        "$1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$anon_a" "$rss_a" "$outage" \
        "$anon_b_down" "$anon_b" "$rss_b" "$file_mb")
    echo "$line"
    echo "$line" >>"$summary"
}

for mq in $mqs; do
    run_variant "memory_queue_mb=$mq" "$build/bin/siteward" "$mq"
done
[ -n "$old" ] && run_variant "old build" "$old" ""

{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit N=$n outage ${outage}s load $(cut -d' ' -f1-3 /proc/loadavg)"
    cat "$summary"
} >>"$results"
