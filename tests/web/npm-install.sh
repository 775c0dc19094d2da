#!/bin/sh
# Installs the browser test's npm packages, at the versions pinned in
# tests/web/package-lock.json, into DIR (a cache in the build tree), once
# per lock file. Needs node and npm (scripts/deps.sh) and the npm registry.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: npm-install.sh DIR}
for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "web tests: $tool not found (run scripts/deps.sh as root)" >&2; exit 1; }
done
mkdir -p "$dir"
if cmp -s "$here/package-lock.json" "$dir/package-lock.json" && [ -f "$dir/node_modules/.package-lock.json" ]; then
    exit 0
fi
cp "$here/package.json" "$here/package-lock.json" "$dir/"
cd "$dir"
npm ci --no-audit --no-fund --loglevel=error
