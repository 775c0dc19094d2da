#!/bin/sh
# siteward side by side with the floor under it and two Node-RED flows, in
# one run against one private mosquitto on a free loopback port (issue #18):
#   - siteward              (prefix siteward)
#   - relay: the floor      (bench/relay.c, sw-bench-relay, prefix relay): a
#     Paho MQTTAsync client that appends each message to LMDB in the
#     callback and republishes it retained, and does nothing else
#   - flow: the full peer   (bench/peer/flow.json, prefix peer): the same
#     classification, dedup, correlation and retained incident publish,
#     from stock nodes, no store and no timers
#   - flowmin: the minimal  (bench/peer/flow-min.json, prefix peermin):
#     mqtt in -> one function setting topic and payload -> mqtt out retained
#   - the broker alone at the same rates (the floor under all of them)
# For each of the four, every event opening its own incident (sw-bench
# --unique: 4 types, a quarter Level I):
#   - throughput: N events flat out, until every incident state is out
#   - latency, event published -> incident state received, at 1,000 and
#     5,000 events/s, and the rate kept at 5,000/s
#   - peak RSS (VmHWM) flat out and in the latency runs
#   - in every run, the CPU time per event of each process: the target, the
#     broker and the load generator (sw-bench, publisher and receiver)
# Each round runs all of them, in alternating order; the summary prints one
# row per figure with the medians of the rounds and the ratios siteward /
# floor, siteward / flow and siteward / minimal flow, each taken within a
# round and then medianed, with the targets of DESIGN.md where there is one.
# It is appended, with the date, commit and load average, to
# bench/results/run-peer.txt (sw-bench appends every raw figure there too,
# and this script its CPU and RSS lines).
#
#   bench/run-peer.sh [N]      N events per throughput run (default 100000)
#
# Environment: BUILD (default ./build) holds bin/siteward, bin/sw-bench and
# bin/sw-bench-relay; ROUNDS (3); SECONDS_PER_RATE (10); INFLIGHT (16).
# Node-RED comes from the npm registry into bench/peer/node_modules
# (ignored by git), at the version pinned in bench/peer/package-lock.json.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
n=${1:-100000}
rounds=${ROUNDS:-3}
lat_s=${SECONDS_PER_RATE:-10}
inflight=${INFLIGHT:-16}
bench="$build/bin/sw-bench"
relay="$build/bin/sw-bench-relay"
peer="$top/bench/peer"
results="$top/bench/results/run-peer.txt"
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
tmp=$(mktemp -d /tmp/sw-run-peer-XXXXXX)
broker_pid=""
target_pid=""
probes=0

# shellcheck disable=SC2317 # called by the trap
cleanup() {
    for pid in "$target_pid" "$broker_pid"; do
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$bench" "$relay" "$build/bin/siteward"; do
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
# The full flow classifies by the same policy file as siteward.
policy=$(node "$peer/policy.js" "$top/config/policy/default.json")

# shellcheck source=bench/broker.sh
. "$top/bench/broker.sh"

# Each target's topic prefix: none takes another's events on the one broker.
prefix_of() {
    case $1 in
    siteward) echo siteward ;;
    relay) echo relay ;;
    flow) echo peer ;;
    flowmin) echo peermin ;;
    esac
}

# Until a probe event's state is out on prefix $1 (retained, and at a site
# of its own each time), or $target_pid ends, or 60 tries.
wait_probe() {
    probes=$((probes + 1))
    i=0
    until [ -n "$(mosquitto_sub -h 127.0.0.1 -p "$port" -t "$1/probe$probes/incident/+" -C 1 \
        -W 1 2>/dev/null)" ]; do
        i=$((i + 1))
        if [ $i -gt 60 ] || ! kill -0 "$target_pid" 2>/dev/null; then
            echo "run-peer: $2 did not come up" >&2
            cat "$tmp/target.log" >&2
            exit 1
        fi
        mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t "$1/probe$probes/event/sensor/probe" \
            -m "{\"type\":\"smoke\",\"id\":\"probe-$i\"}" 2>/dev/null || true
    done
}

# Starts target $1 as $target_pid, fresh (an empty state or user directory),
# and waits until it is ready.
start() {
    rm -rf "$tmp/state" "$tmp/nr"
    case $1 in
    siteward)
        # A copy of config/siteward.json with absolute paths, kill-9-safe
        # durability; ready when its status is online.
        sed -e "s|\"durability\": *\"[a-z]*\"|\"durability\": \"process\"|" \
            -e "s|\"policy\": *\"policy/|\"policy\": \"$top/config/policy/|" \
            -e "s|\"calendar\": *\"calendars/|\"calendar\": \"$top/config/calendars/|" \
            "$top/config/siteward.json" >"$tmp/siteward.json"
        grep -q "\"policy\": \"$top/" "$tmp/siteward.json" ||
            { echo "run-peer: cannot make the policy path of config/siteward.json absolute" >&2; exit 1; }
        "$build/bin/siteward" --config "$tmp/siteward.json" --broker "$url" --state "$tmp/state" \
            --instance bench >"$tmp/target.log" 2>&1 &
        target_pid=$!
        # shellcheck disable=SC2034 # sw_bench_online (bench/broker.sh) watches it
        daemon_pid=$target_pid
        sw_bench_online run-peer "$tmp/target.log"
        ;;
    relay)
        mkdir "$tmp/state"
        "$relay" --broker "$url" --state "$tmp/state" --prefix relay >"$tmp/target.log" 2>&1 &
        target_pid=$!
        wait_probe relay "the relay"
        ;;
    flow | flowmin)
        mkdir "$tmp/nr"
        flow=flow.json
        [ "$1" = flowmin ] && flow="flow-min.json"
        p=$(prefix_of "$1")
        PEER_USERDIR="$tmp/nr" PEER_FLOW=$flow PEER_BROKER_PORT=$port PEER_PREFIX=$p \
            PEER_EVENTS="$p/+/event/#" PEER_POLICY="$policy" \
            node "$peer/node_modules/node-red/red.js" --settings "$peer/settings.js" \
            >"$tmp/target.log" 2>&1 &
        target_pid=$!
        wait_probe "$p" "the Node-RED $flow"
        ;;
    esac
}

stop_target() {
    kill "$target_pid"
    wait "$target_pid" 2>/dev/null || true
    target_pid=""
}

# A figure line from stdin: to the terminal, $out, and the results file
# with the date and commit, as sw-bench writes its own.
record() {
    while read -r line; do
        echo "$line"
        echo "$line" >>"$out"
        echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) commit=$commit $line" >>"$results"
    done
}

# Peak RSS in MB of PID $1, recorded as "$2 peak_rss_mb=...",
# with what is resident at the end: anonymous memory and mapped files (for
# siteward and the relay, the store's pages, which the kernel may drop and
# read again).
peak_rss() {
    awk -v name="$2" '{ v[$1] = $2 / 1024 }
        END { printf "%s peak_rss_mb=%.1f rss_anon_mb=%.1f rss_file_mb=%.1f\n", name,
              v["VmHWM:"], v["RssAnon:"], v["RssFile:"] }' "/proc/$1/status" | record
}

# CPU time (user + system, all threads) PID $1 has used, in clock ticks.
ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)

# sw-bench with the run's flags; its figures go to the terminal and $out.
out="$tmp/figures.txt"
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

# One sw-bench run, $3 onwards, labelled $1, over $2 events, with the CPU
# time per event of the target ($target_pid, none for the broker alone),
# the broker and the load generator (its own figure) as "$1_cpu ...".
measured() {
    label=$1 events=$2
    shift 2
    d0=0
    [ -n "$target_pid" ] && d0=$(ticks "$target_pid")
    b0=$(ticks "$broker_pid")
    run "$@" --label "$label"
    d1=0
    [ -n "$target_pid" ] && d1=$(ticks "$target_pid")
    b1=$(ticks "$broker_pid")
    lg=$(sed -n "s/^${label}_loadgen .*cpu_s=\([^ ]*\).*/\1/p" "$tmp/one")
    awk -v name="${label}_cpu" -v d="$((d1 - d0))" -v b="$((b1 - b0))" -v lg="${lg:-0}" \
        -v hz="$hz" -v n="$events" -v has="${target_pid:+1}" 'BEGIN {
        line = name
        if (has)
            line = line sprintf(" target_s=%.2f target_us=%.1f target_s100k=%.2f", d / hz,
                                d / hz / n * 1e6, d / hz / n * 1e5)
        printf "%s broker_s=%.2f broker_us=%.1f loadgen_s=%.2f loadgen_us=%.1f\n", line,
            b / hz, b / hz / n * 1e6, lg, lg / n * 1e6
    }' | record
}

# One target's runs: throughput and latency each on a fresh process.
one() {
    p=$(prefix_of "$1")
    start "$1"
    extra=""
    # siteward's store also gives the events durable and applied.
    [ "$1" = siteward ] && extra="--state $tmp/state"
    # shellcheck disable=SC2086 # $extra is empty or two words
    measured "$1_ingest" "$n" ingest -n "$n" --unique --inflight "$inflight" --prefix "$p" \
        --stats-wait 0 $extra
    peak_rss "$target_pid" "$1_rss_ingest"
    stop_target
    start "$1"
    for r in 1000 5000; do
        measured "$1_latency_$r" $((r * lat_s)) latency --rate $r --seconds "$lat_s" --prefix "$p"
    done
    peak_rss "$target_pid" "$1_rss_latency"
    stop_target
}

mkdir -p "$top/bench/results"
sw_bench_broker run-peer
url="tcp://127.0.0.1:$port"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "mosquitto on $url; N=$n, $rounds rounds, node-red $want, commit $commit, load average $load0"
for round in $(seq 1 "$rounds"); do
    echo "--- round $round, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "round $round" >>"$out"
    order="siteward relay flow flowmin broker"
    [ $((round % 2)) -eq 0 ] && order="broker flowmin flow relay siteward"
    for t in $order; do
        if [ "$t" = broker ]; then
            for r in 1000 5000; do
                measured "broker_$r" $((r * lat_s)) passthrough -n $((r * lat_s)) --rate $r
            done
        else
            one "$t"
        fi
    done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# The summary: one row per figure, the median over the rounds of each
# target, and the ratios siteward / the others taken within each round (all
# ran there minutes apart on the same machine) and then medianed.
awk -v targets="siteward relay flow flowmin" '
    function median(v, k,   i, j, x) {
        for (i = 2; i <= k; i++)
            for (j = i; j > 1 && v[j - 1] > v[j]; j--) { x = v[j]; v[j] = v[j - 1]; v[j - 1] = x }
        return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
    }
    function fmt(x) {
        if (x == "") return "-"
        return x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.2f", x)
    }
    # The median over the rounds of target t figure f (name suffix) key k.
    function med(t, f, k,   r, v, c) {
        c = 0
        for (r = 1; r <= rounds; r++)
            if ((r, t "_" f, k) in val) v[++c] = val[r, t "_" f, k]
        return c ? median(v, c) : ""
    }
    # The median over the rounds of siteward / t, within each round.
    function ratio(t, f, k,   r, v, c, a, b) {
        c = 0
        for (r = 1; r <= rounds; r++)
            if ((r, "siteward_" f, k) in val && (r, t "_" f, k) in val) {
                a = val[r, "siteward_" f, k]; b = val[r, t "_" f, k]
                if (b + 0 > 0) v[++c] = a / b
            }
        return c ? sprintf("%.3f", median(v, c)) : "-"
    }
    # A row; tg: the targets on the ratios ("relay ge 0.9,flow ge 1.5") or
    # on siteward itself ("abs le 2").
    function row(what, f, k, tg,   i, t, line, n, g, want, verdict, x) {
        line = sprintf("%-44s", what)
        for (i = 1; i <= nt; i++) line = line sprintf(" %9s", fmt(med(tt[i], f, k)))
        for (i = 2; i <= nt; i++) line = line sprintf(" %8s", ratio(tt[i], f, k))
        verdict = ""
        n = split(tg, g, ",")
        for (i = 1; i <= n; i++) {
            split(g[i], want, " ")
            x = want[1] == "abs" ? med("siteward", f, k) : ratio(want[1], f, k)
            if (x == "" || x == "-") continue
            ok = want[2] == "ge" ? x + 0 >= want[3] : x + 0 <= want[3]
            who = want[1] == "abs" ? "siteward" : want[1] == "relay" ? "sw/floor" : "sw/" want[1]
            verdict = verdict sprintf(" %s %s %s: %s;", who,
                                      want[2] == "ge" ? ">=" : "<=", want[3], ok ? "met" : "MISSED")
        }
        print line verdict
    }
    /^round / { round = $2; if (round > rounds) rounds = round; next }
    {
        for (i = 2; i <= NF; i++) {
            split($i, kv, "=")
            val[round, $1, kv[1]] = kv[2]
        }
    }
    END {
        nt = split(targets, tt, " ")
        printf "%-44s %9s %9s %9s %9s %8s %8s %8s\n", "figure (median of " rounds " rounds)",
            "siteward", "floor", "flow", "flow-min", "sw/floor", "sw/flow", "sw/min"
        row("flat out, all states out (events/s)", "ingest_incidents", "msgs_per_s",
            "relay ge 0.9,flow ge 1.5")
        row("  durable and applied, store (events/s)", "ingest_stored", "msgs_per_s", "")
        row("  CPU per event, target (us)", "ingest_cpu", "target_us", "relay le 1.3")
        row("  CPU s of the target per 100k events", "ingest_cpu", "target_s100k", "")
        row("  CPU per event, broker (us)", "ingest_cpu", "broker_us", "")
        row("  CPU per event, load generator (us)", "ingest_cpu", "loadgen_us", "")
        row("  peak RSS flat out (MB)", "rss_ingest", "peak_rss_mb", "flow le 0.2")
        row("  anonymous at the end (MB)", "rss_ingest", "rss_anon_mb", "")
        row("  mapped files at the end (MB)", "rss_ingest", "rss_file_mb", "")
        for (j = 1; j <= 2; j++) {
            r = j == 1 ? 1000 : 5000
            row("at " r "/s: rate kept (events/s)", "latency_" r, "msgs_per_s", "")
            row("  p50 (ms)", "latency_" r, "p50_ms", "")
            row("  p99 (ms)", "latency_" r, "p99_ms", r == 1000 ? "abs le 2" : "flow le 0.05")
            row("  CPU per event, target (us)", "latency_" r "_cpu", "target_us", "")
            row("  CPU per event, broker (us)", "latency_" r "_cpu", "broker_us", "")
            row("  CPU per event, load generator (us)", "latency_" r "_cpu", "loadgen_us", "")
        }
        row("peak RSS, latency runs (MB)", "rss_latency", "peak_rss_mb", "")
        for (j = 1; j <= 2; j++) {
            r = j == 1 ? 1000 : 5000
            printf "the broker alone at %d msgs/s: kept %s/s, p50 %s ms, p99 %s ms; CPU per message" \
                " broker %s us, load generator %s us\n", r, fmt(med("broker", r, "msgs_per_s")),
                fmt(med("broker", r, "p50_ms")), fmt(med("broker", r, "p99_ms")),
                fmt(med("broker", r "_cpu", "broker_us")), fmt(med("broker", r "_cpu", "loadgen_us"))
        }
    }' "$out" >"$tmp/table"
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $commit on $(nproc) cores," \
        "$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)," \
        "load average $load0 before, $load1 after; N=$n, $rounds rounds," \
        "SECONDS_PER_RATE=$lat_s, INFLIGHT=$inflight, node-red $want, node $(node --version)"
    cat "$tmp/table"
} >"$tmp/summary"
echo
cat "$tmp/summary"
cat "$tmp/summary" >>"$results"
exit 0
