#!/usr/bin/env bash
# The chat's fan-out (issue 18): bench_chat (bench_chat.c) runs the box's
# own WebSocket hub and chat in one process with N viewers on socketpairs,
# on a SQLite job database and then on a real PostgreSQL
# (tests/rack/with-postgres.sh, initdb on loopback), for 10, 100 and 1,000
# viewers. For each: the time from a message's send until the last viewer
# has it (one message at a time), and a flood (messages back to back):
# messages and deliveries a second, and CPU per delivery.
#
#   benchmarks/chat.sh [--build DIR] [--messages N]
#
# DIR is a configured build tree (default build/dev; built here if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/dev
messages=300
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "chat.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$build" --target bench_chat > /dev/null
bench=$(realpath "$build/benchmarks/bench_chat")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "== SQLite (the one-box job database), $(nproc) cores"
for n in 10 100 1000; do
  rm -f "$tmp"/chat.db*
  "$bench" "$tmp/chat.db" "$n" "$messages"
done
echo "== PostgreSQL (a rack's job database, on this machine: NOTIFY wakes the tail)"
# one database for the three runs: each starts from the newest id
tests/rack/with-postgres.sh bash -c 'for n in 10 100 1000; do "$1" "$EB_PG_URL" "$n" "$2"; done' \
  chat "$bench" "$messages" || echo "(PostgreSQL is not installed: skipped)"
