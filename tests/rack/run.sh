#!/usr/bin/env bash
# The rack test (issue 17, README.md here): two `encbox serve` boxes share
# a real PostgreSQL job queue (with-postgres.sh) and write their outputs to
# a real S3-compatible store (with-swift.sh); rack.mjs drives them.
#   run.sh ENCBOX WORKDIR
# Exits 77 (skipped) without PostgreSQL, Swift or node.
set -euo pipefail
bin=$(realpath "$1")
work=$2
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node > /dev/null; then
  echo "rack: needs node: skipped"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"
work=$(realpath "$work")
exec "$here/with-postgres.sh" "$here/with-swift.sh" \
  bash -c 'node "$1" "$2" "$3" "$EB_PG_URL"' rack "$here/rack.mjs" "$bin" "$work"
