#!/bin/sh
# Builds siteward and runs it with the shipped config and default policy
# against a private mosquitto on loopback, both in the foreground until
# Ctrl-C. State lives in ./run/state (kept between runs).
#   PORT=1883 scripts/run.sh          # broker port (default 1883)
#   scripts/run.sh --clock-scale 60   # extra flags go to siteward
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
port=${PORT:-1883}
"$top/scripts/deps.sh"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" -j"$(nproc)" >/dev/null
mkdir -p "$top/run/state"
conf="$top/run/mosquitto.conf"
sed -e "s/^listener 1883 127.0.0.1$/listener $port 127.0.0.1/" \
    -e "s|^persistence_location .*|persistence_location $top/run/|" \
    "$top/config/mosquitto.conf" >"$conf"
# mosquitto started as root drops to its own user unless told otherwise,
# and could then not read ./run.
[ "$(id -u)" -eq 0 ] && echo "user root" >>"$conf"
mosquitto -c "$conf" &
broker=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; kill $broker 2>/dev/null; wait $broker 2>/dev/null' EXIT INT TERM
# Wait (bounded) until the broker accepts connections.
i=0
until mosquitto_pub -p "$port" -h 127.0.0.1 -t siteward/_probe -n 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 50 ] && { echo "mosquitto did not start" >&2; exit 1; }
    sleep 0.1
done
echo "siteward: broker on 127.0.0.1:$port; try:" >&2
echo "  mosquitto_sub -p $port -t 'siteward/#' -v &" >&2
echo "  mosquitto_pub -p $port -q 1 -t siteward/A/event/sensor/d17 -m '{\"type\":\"smoke\",\"location\":{\"building\":\"3\",\"floor\":\"12\"}}'" >&2
"$top/build/bin/siteward" --config "$top/config/siteward.json" --broker "tcp://127.0.0.1:$port" \
    --state "$top/run/state" "$@" &
daemon=$!
wait $daemon
