#!/bin/sh
# siteward side by side with its Node-RED peer (bench/peer/flow.json: the
# same classification, dedup, correlation and retained incident publish,
# from stock nodes, with no store and no timers), in one run against one
# private mosquitto on a free loopback port:
#   - throughput: N varied events flat out, until every incident state is out
#   - latency, event published -> incident state received, at 1,000 and
#     5,000 events/s
#   - peak RSS (VmHWM) of each, and the CPU time each used per event
#   - the broker alone at the same rates (the floor under both)
# Each round runs both, in alternating order; the summary prints one line
# per figure with the medians of the rounds, the ratio siteward / peer taken
# within each round and its median (the verdict on the target), and appends
# it, with the date, commit and machine, to bench/results/run-peer.txt
# (sw-bench appends every raw figure there too).
#
#   bench/run-peer.sh [N]      N events per throughput run (default 100000)
#
# Environment: BUILD (default ./build) holds bin/siteward and bin/sw-bench;
# ROUNDS (3); SECONDS_PER_RATE (10); INFLIGHT (16). Node-RED comes from the
# npm registry into bench/peer/node_modules (ignored by git), at the version
# pinned in bench/peer/package-lock.json.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
n=${1:-100000}
rounds=${ROUNDS:-3}
lat_s=${SECONDS_PER_RATE:-10}
inflight=${INFLIGHT:-16}
bench="$build/bin/sw-bench"
peer="$top/bench/peer"
results="$top/bench/results/run-peer.txt"
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
tmp=$(mktemp -d /tmp/sw-run-peer-XXXXXX)
broker_pid=""
daemon_pid=""
peer_pid=""
probes=0

# shellcheck disable=SC2317 # called by the trap
cleanup() {
    for pid in "$daemon_pid" "$peer_pid" "$broker_pid"; do
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$bench" "$build/bin/siteward"; do
    [ -x "$f" ] || { echo "run-peer: $f is missing; build it first" >&2; exit 1; }
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "run-peer: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 1
fi

# Node-RED at the pinned version: installed from the lock file when missing
# or when the lock file changed since (a copy of the lock that was installed
# is kept beside the modules).
want=$(node -p "require('$peer/package-lock.json').packages['node_modules/node-red'].version")
if ! cmp -s "$peer/package-lock.json" "$peer/node_modules/.installed-lock.json"; then
    echo "run-peer: installing node-red $want into bench/peer/node_modules"
    (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error) >"$tmp/npm.log" 2>&1 ||
        { cat "$tmp/npm.log" >&2; echo "run-peer: npm ci failed" >&2; exit 1; }
    cp "$peer/package-lock.json" "$peer/node_modules/.installed-lock.json"
fi
# The peer classifies by the same policy file as siteward.
policy=$(node "$peer/policy.js" "$top/config/policy/default.json")

# shellcheck source=bench/broker.sh
. "$top/bench/broker.sh"

# siteward: a copy of config/siteward.json with absolute paths, kill-9-safe
# durability, a fresh state directory; ready when its status is online.
start_daemon() {
    sed -e "s|\"durability\": *\"[a-z]*\"|\"durability\": \"process\"|" \
        -e "s|\"policy\": *\"policy/|\"policy\": \"$top/config/policy/|" \
        -e "s|\"calendar\": *\"calendars/|\"calendar\": \"$top/config/calendars/|" \
        "$top/config/siteward.json" >"$tmp/siteward.json"
    grep -q "\"policy\": \"$top/" "$tmp/siteward.json" ||
        { echo "run-peer: cannot make the policy path of config/siteward.json absolute" >&2; exit 1; }
    rm -rf "$tmp/state"
    "$build/bin/siteward" --config "$tmp/siteward.json" --broker "$url" --state "$tmp/state" \
        --instance bench >"$tmp/siteward.log" 2>&1 &
    daemon_pid=$!
    sw_bench_online run-peer "$tmp/siteward.log"
}

# Node-RED on prefix "peer" (so neither takes the other's events), with a
# fresh user directory; ready when a probe event's incident state is out
# (retained, and at a site of its own each time).
start_peer() {
    rm -rf "$tmp/nr"
    mkdir "$tmp/nr"
    probes=$((probes + 1))
    PEER_USERDIR="$tmp/nr" PEER_BROKER_PORT=$port PEER_PREFIX=peer PEER_EVENTS='peer/+/event/#' \
        PEER_POLICY="$policy" node "$peer/node_modules/node-red/red.js" \
        --settings "$peer/settings.js" >"$tmp/peer.log" 2>&1 &
    peer_pid=$!
    i=0
    until [ -n "$(mosquitto_sub -h 127.0.0.1 -p "$port" -t "peer/probe$probes/incident/+" -C 1 \
        -W 1 2>/dev/null)" ]; do
        i=$((i + 1))
        if [ $i -gt 60 ] || ! kill -0 "$peer_pid" 2>/dev/null; then
            echo "run-peer: the Node-RED peer did not come up" >&2
            cat "$tmp/peer.log" >&2
            exit 1
        fi
        mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t "peer/probe$probes/event/sensor/probe" \
            -m "{\"type\":\"smoke\",\"id\":\"probe-$i\"}" 2>/dev/null || true
    done
}

# Peak RSS in MB of PID $1, appended as "$2 peak_rss_mb=..." to the figures,
# with what is resident at the end: anonymous memory and mapped files (for
# siteward, the store's pages, which the kernel may drop and read again).
peak_rss() {
    awk -v name="$2" '{ v[$1] = $2 / 1024 }
        END { printf "%s peak_rss_mb=%.1f rss_anon_mb=%.1f rss_file_mb=%.1f\n", name,
              v["VmHWM:"], v["RssAnon:"], v["RssFile:"] }' "/proc/$1/status" | tee -a "$out"
}

# CPU time (user + system, all threads) PID $1 has used, in clock ticks.
ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)

# "$2 cpu_s=... cpu_us_per_event=..." for PID $1 since $3 ticks, over $4 events.
cpu_used() {
    awk -v name="$2" -v t0="$3" -v t1="$(ticks "$1")" -v hz="$hz" -v n="$4" 'BEGIN {
        printf "%s cpu_s=%.2f cpu_us_per_event=%.1f\n", name, (t1 - t0) / hz, (t1 - t0) / hz / n * 1e6
    }' | tee -a "$out"
}

stop() { # $1: the PID variable's name
    eval "pid=\$$1"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    eval "$1=''"
}

# sw-bench with the run's flags; its figures go to the terminal and $out.
out="$tmp/figures.txt"
: >"$out"
run() {
    if "$bench" "$@" --broker "$url" --timeout 300 --results "$results" --commit "$commit" \
        >"$tmp/one"; then
        :
    else
        echo "run-peer: sw-bench $* did not complete (exit $?)" >&2
    fi
    cat "$tmp/one"
    cat "$tmp/one" >>"$out"
}

# One target's runs: $1 siteward or peer. Throughput and latency each on a
# fresh process; the peak RSS is the larger of the two.
one() {
    if [ "$1" = siteward ]; then
        start_daemon
        t0=$(ticks "$daemon_pid")
        run ingest -n "$n" --inflight "$inflight" --state "$tmp/state" --stats-wait 0 \
            --label siteward_ingest
        cpu_used "$daemon_pid" siteward_cpu_ingest "$t0" "$n"
        peak_rss "$daemon_pid" siteward_rss_ingest
        stop daemon_pid
        start_daemon
        t0=$(ticks "$daemon_pid")
        for r in 1000 5000; do
            run latency --rate $r --seconds "$lat_s" --label siteward_latency_$r
        done
        cpu_used "$daemon_pid" siteward_cpu_latency "$t0" $((6000 * lat_s))
        peak_rss "$daemon_pid" siteward_rss_latency
        stop daemon_pid
    else
        start_peer
        t0=$(ticks "$peer_pid")
        run ingest -n "$n" --inflight "$inflight" --prefix peer --stats-wait 0 --label peer_ingest
        cpu_used "$peer_pid" peer_cpu_ingest "$t0" "$n"
        peak_rss "$peer_pid" peer_rss_ingest
        stop peer_pid
        start_peer
        t0=$(ticks "$peer_pid")
        for r in 1000 5000; do
            run latency --rate $r --seconds "$lat_s" --prefix peer --label peer_latency_$r
        done
        cpu_used "$peer_pid" peer_cpu_latency "$t0" $((6000 * lat_s))
        peak_rss "$peer_pid" peer_rss_latency
        stop peer_pid
    fi
}

mkdir -p "$top/bench/results"
sw_bench_broker run-peer
url="tcp://127.0.0.1:$port"
echo "mosquitto on $url; N=$n, $rounds rounds, node-red $want, commit $commit"
for round in $(seq 1 "$rounds"); do
    echo "--- round $round"
    # The broker alone at the same rates: the floor under both.
    for r in 1000 5000; do
        run passthrough -n $((r * lat_s)) --rate $r --label broker_$r
    done
    if [ $((round % 2)) -eq 1 ]; then
        one siteward
        one peer
    else
        one peer
        one siteward
    fi
done

# Key $2 of the lines starting with "$1 ", one a round, into file $3.
values() {
    sed -n "s/^$1 \(.* \)*$2=\([^ ]*\).*/\2/p" "$out" >"$3"
}
# Per round the larger peak of the target $1's two processes, into file $2.
rss_values() {
    values "$1_rss_ingest" peak_rss_mb "$tmp/a"
    values "$1_rss_latency" peak_rss_mb "$tmp/b"
    paste -d ' ' "$tmp/a" "$tmp/b" | awk '{ print ($1 > $2 ? $1 : $2) }' >"$2"
}
# The median of the numbers on stdin.
median_of() {
    sort -g | awk '{ v[NR] = $1 }
        END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
# One summary line: $1 the figure, $2 siteward's values and $3 the peer's
# (files, one a round), $4 the target on the ratio siteward / peer ("ge X",
# "le X" or "none"), $5 the unit. The ratio is taken within each round, where
# both ran on the same machine minutes apart, and its median is the verdict.
line() {
    paste -d ' ' "$2" "$3" | awk -v what="$1" -v t="$4" -v unit="$5" '
        function median(v, k,   i, j, x) {
            for (i = 2; i <= k; i++)
                for (j = i; j > 1 && v[j - 1] > v[j]; j--) { x = v[j]; v[j] = v[j - 1]; v[j - 1] = x }
            return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
        }
        NF == 2 && $2 + 0 > 0 { k++; a[k] = $1; b[k] = $2; r[k] = $1 / $2; list = list sprintf(" %.3f", r[k]) }
        END {
            if (!k) { printf "%s: no figures\n", what; exit }
            ratio = median(r, k)
            split(t, g, " ")
            if (g[1] == "ge")
                verdict = sprintf("target >= %s: %s", g[2], ratio >= g[2] ? "met" : "MISSED")
            else if (g[1] == "le")
                verdict = sprintf("target <= %s: %s", g[2], ratio <= g[2] ? "met" : "MISSED")
            else
                verdict = "no target"
            printf "%s: siteward %s %s, peer %s %s; siteward/peer %.3f (%s; by round%s)\n", what,
                median(a, k), unit, median(b, k), unit, ratio, verdict, list
        }'
}
median() {
    values "$1" "$2" "$tmp/m"
    median_of <"$tmp/m"
}
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit on $(nproc) cores," \
        "$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)," \
        "load average $(cut -d' ' -f1-3 /proc/loadavg); N=$n, medians of $rounds rounds," \
        "node-red $want, node $(node --version)"
    values siteward_ingest_incidents msgs_per_s "$tmp/s"
    values peer_ingest_incidents msgs_per_s "$tmp/p"
    line "throughput, N events until every incident state is out" "$tmp/s" "$tmp/p" "ge 1.5" events/s
    echo "  siteward meanwhile durable and applied (store): $(median siteward_ingest_stored msgs_per_s) events/s"
    for r in 1000 5000; do
        for q in p99 p50; do
            t=none
            [ $r = 5000 ] && [ $q = p99 ] && t="le 0.05"
            values siteward_latency_$r ${q}_ms "$tmp/s"
            values peer_latency_$r ${q}_ms "$tmp/p"
            line "latency $q at $r events/s" "$tmp/s" "$tmp/p" "$t" ms
        done
        echo "  the broker alone at $r msgs/s (the floor under both): p50 $(median broker_$r p50_ms) ms," \
            "p99 $(median broker_$r p99_ms) ms"
    done
    rss_values siteward "$tmp/s"
    rss_values peer "$tmp/p"
    line "peak RSS (VmHWM)" "$tmp/s" "$tmp/p" "le 0.2" MB
    echo "  at the end of the throughput run: siteward anonymous $(median siteward_rss_ingest rss_anon_mb) MB" \
        "+ mapped store $(median siteward_rss_ingest rss_file_mb) MB; peer anonymous" \
        "$(median peer_rss_ingest rss_anon_mb) MB"
    for run in ingest latency; do
        values siteward_cpu_$run cpu_us_per_event "$tmp/s"
        values peer_cpu_$run cpu_us_per_event "$tmp/p"
        line "CPU time per event, $run runs (all threads)" "$tmp/s" "$tmp/p" none us
    done
} >"$tmp/summary"
echo
cat "$tmp/summary"
cat "$tmp/summary" >>"$results"
exit 0
