# Sourced by the bench scripts: sw_bench_broker NAME starts a private
# mosquitto on a free loopback port for NAME's run, using the caller's $tmp,
# and sets $port and $broker_pid (the caller's cleanup stops it).
# mosquitto exits at once when the port is taken, so another is tried.
sw_bench_broker() {
    for try in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + ($$ * 7 + try * 7919) % 40000))
        cat >"$tmp/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
max_queued_messages 0
set_tcp_nodelay true
persistence false
CONF
        # Started as root, mosquitto drops to its own user, which cannot read
        # this root-only temp dir.
        [ "$(id -u)" -eq 0 ] && echo "user root" >>"$tmp/mosquitto.conf"
        mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
        broker_pid=$!
        i=0
        while kill -0 "$broker_pid" 2>/dev/null; do
            mosquitto_pub -h 127.0.0.1 -p "$port" -t bench/probe -n 2>/dev/null && return 0
            i=$((i + 1))
            [ $i -gt 100 ] && break
            sleep 0.05
        done
        kill "$broker_pid" 2>/dev/null || true
        wait "$broker_pid" 2>/dev/null || true
        broker_pid=""
    done
    echo "$1: mosquitto did not start" >&2
    cat "$tmp/mosquitto.log" >&2
    exit 1
}

# sw_bench_online NAME LOG: wait until the siteward started as $daemon_pid
# (instance "bench") says it is online on the broker at $port; stop the run
# with LOG shown if it exits first or takes longer than 15 s. The retained
# status reads "offline" from an earlier run until this daemon subscribed.
sw_bench_online() {
    i=0
    until [ "$(mosquitto_sub -h 127.0.0.1 -p "$port" -t siteward/_daemon/bench/status -C 1 -W 1 \
        2>/dev/null)" = online ]; do
        i=$((i + 1))
        if [ $i -gt 150 ] || ! kill -0 "$daemon_pid" 2>/dev/null; then
            echo "$1: siteward did not come online" >&2
            cat "$2" >&2
            exit 1
        fi
        sleep 0.1
    done
}
