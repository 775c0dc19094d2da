#!/bin/sh
# Refreshes web/vendor/ from the mqtt package pinned in package-lock.json:
# the console's browser bundle is committed, so a site serves it with no
# network. After changing the mqtt version in package.json:
#   (cd tests/web && npm install --package-lock-only) && tests/web/vendor.sh
# The browser test checks that the two stay the same file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
dir=${1:-$top/build/web-node}
"$here/npm-install.sh" "$dir"
cp "$dir/node_modules/mqtt/dist/mqtt.min.js" "$top/web/vendor/mqtt.min.js"
cp "$dir/node_modules/mqtt/LICENSE.md" "$top/web/vendor/mqtt.LICENSE.md"
echo "web/vendor: mqtt $(node -p "require('$dir/node_modules/mqtt/package.json').version")"
