#!/usr/bin/env bash
# The web console in a real browser (issue 18): console.mjs drives
# Chromium (playwright-core from tests/playback) through the console that
# `encbox serve` serves.
#   run.sh ENCBOX_BINARY WORKDIR
# Exit: 0 passed, 1 failed, 77 skipped (node, Chromium, ffmpeg or the npm
# packages missing: npm ci in tests/playback and api/console).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -eq 2 ] || { echo "usage: run.sh ENCBOX_BINARY WORKDIR" >&2; exit 2; }
encbox=$(realpath "$1")
work=$2
chromium=${CHROMIUM:-/usr/bin/chromium}
skip() { echo "SKIP console: $*"; exit 77; }
command -v node > /dev/null || skip "node is not installed"
command -v ffmpeg > /dev/null || skip "ffmpeg is not installed"
[ -x "$chromium" ] || skip "$chromium is missing"
[ -f "$root/tests/playback/node_modules/playwright-core/package.json" ] ||
  skip "playwright-core is missing: npm ci in tests/playback"
[ -f "$(dirname "$encbox")/console/vendor/hls.min.js" ] ||
  skip "the console's hls.js is missing: npm ci in api/console, then build"
rm -rf "$work"
mkdir -p "$work"
exec node "$here/console.mjs" "$encbox" "$(realpath "$work")" "$chromium"
