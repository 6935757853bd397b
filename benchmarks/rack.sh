#!/usr/bin/env bash
# The rack's queue and object store under load (issue 17): two boxes on
# this machine share a real PostgreSQL queue and write to a real S3 server
# (Swift with s3api), both started on loopback by the test scripts.
#   benchmarks/rack.sh [--encbox PATH] [--queued N] [--lease S]
# Prints claim latency (submit -> a box starts the job) at idle and with N
# queued jobs (default 1000), the jobs per second the rack drains with a
# full queue, the claims per second the queue itself sustains (pgbench
# running encbox's claim transaction on N x 100 queued rows), the time to
# recover a job from a box killed with -9, and upload throughput to the
# object store beside curl's to Swift's own API (no signing) for the same
# files, how far a live channel's window in the bucket trails the box's
# origin, and how long another box takes to carry a live channel whose box
# was killed with -9. Needs what scripts/install-deps.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
encbox=build-bench/encbox
queued=1000
lease=10
while [ $# -gt 0 ]; do
  case $1 in
    --encbox) encbox=$2; shift 2 ;;
    --queued) queued=$2; shift 2 ;;
    --lease) lease=$2; shift 2 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "rack: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ ! -x "$encbox" ]; then
  echo "rack: no $encbox; build first:" >&2
  echo "  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2" >&2
  exit 2
fi
work=$(mktemp -d /tmp/encbox-rack-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
tests/rack/with-postgres.sh tests/rack/with-swift.sh \
  node benchmarks/rack.mjs "$(realpath "$encbox")" "$work" "$queued" "$lease"
