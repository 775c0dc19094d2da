#!/bin/sh
# Installs the Debian 12 packages siteward needs to build, run and test,
# when they are missing. Run as root to install; as another user it only
# reports what is missing.
set -eu
PKGS="build-essential cmake pkg-config libpaho-mqtt-dev libuv1-dev liblmdb-dev lmdb-utils
libcjson-dev libcmocka-dev libmicrohttpd-dev mosquitto mosquitto-clients python3 python3-paho-mqtt python3-lmdb
groff-base bc openssl chromium
clang-14 libclang-rt-14-dev"
# cpack DEB packages: dpkg-shlibdeps (dpkg-dev) and file; make for examples/plugin-sms
PKGS="$PKGS dpkg-dev file make"
# The browser test of web/ runs on node and npm: Debian's only where no node
# is installed (CI brings its own).
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "siteward: missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
    exit 1
fi
echo "siteward: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
