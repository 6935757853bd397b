#!/usr/bin/env bash
# Glass-to-glass latency of a low-latency live channel, in real players.
#
#   benchmarks/latency.sh [--encbox PATH] [--seconds S] [-o DIR]
#                         [--players hls-ll,dash-ll,hls,hls-ll-sync] [--verbose]
#
# Starts its own `encbox serve` on free loopback ports over a scratch
# storage folder, creates a channel (2 s segments, low latency: the
# default, parts of 0.334 s; no recording) and publishes a generated
# 1280x720 30 fps feed to it over SRT with ffmpeg -re (testsrc2 + sine,
# x264 zerolatency). Then benchmarks/latency.mjs plays it in headless
# Chromium with hls.js in low-latency mode, dash.js in low-latency mode and
# hls.js without it, one after the other, and samples each once a second
# for S seconds (default 120): the wall clock minus the date of the frame
# at the playhead (stamped at ingest). Prints the table and the LL-HLS
# target (median <= 2.0 s, p95 <= 3.0 s, no stall; reported, never a
# failure) and writes DIR/latency.json (default DIR: out/latency), with
# the daemon's and the publisher's logs in DIR/work/.
# Needs what the live playback test needs: node >= 20, `npm ci` in
# tests/playback, /usr/bin/chromium (or CHROMIUM=), ffmpeg with SRT.
# Everything runs on this box: the encoder, the players and the clock, so
# the figures include the encode on these cores and no network.
# Exit: 0 measured, 1 a player or the channel failed, 2 bad usage or a
# missing requirement.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

ENCBOX=$ROOT/build-bench/encbox
SECONDS_PER=120
OUT=out/latency
PLAYERS=hls-ll,dash-ll,hls
VERBOSE=()
while [ $# -gt 0 ]; do
    case $1 in
    --encbox) ENCBOX=$2; shift 2 ;;
    --seconds) SECONDS_PER=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    --players) PLAYERS=$2; shift 2 ;;
    --verbose) VERBOSE=(--verbose); shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
    *) echo "latency: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if ! [[ $SECONDS_PER =~ ^[0-9]+$ ]] || [ "$SECONDS_PER" -lt 1 ]; then
    echo "latency: --seconds needs a whole number >= 1" >&2
    exit 2
fi
if [ ! -x "$ENCBOX" ]; then
    echo "latency: no $ENCBOX; build first (or pass --encbox):" >&2
    echo "  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2 --target encbox" >&2
    exit 2
fi

PB_NAME=latency
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$OUT/work
# shellcheck source=tests/playback/env.sh
. "$ROOT/tests/playback/env.sh"
PB_SKIP=2
PB_SKIP_WORD="latency: cannot run"
pb_requirements playwright-core hls.js dashjs
pb_prepare

SEGMENT=2
nplayers=$(tr ',' '\n' <<<"$PLAYERS" | grep -c .)
PUB_SIZE=1280x720
PUB_RATE=30
PUB_GOP=30
# long enough for every player: a minute each to start, then its samples
PUB_MAX=$((nplayers * (SECONDS_PER + 60) + 60))

pb_daemon
pb_channel cam "\"segment_seconds\":$SEGMENT,\"window_seconds\":30,\"record\":false"
pb_publish
note "window there after $((SECONDS - PUB_T0)) s of publishing"
# the players start a few segments in, as a viewer joining a running channel would
sleep 4

rc=0
run_node "$ROOT/benchmarks/latency.mjs" "$ORIGIN" cam --seconds "$SECONDS_PER" --players "$PLAYERS" \
    --json "$OUT/latency.json" \
    --note "$("$ENCBOX" version 2>/dev/null || echo encbox) serve, software backend; ffmpeg -re testsrc2 $PUB_SIZE $PUB_RATE fps over SRT; segment ${SEGMENT} s, low latency (part_seconds default)" \
    "${VERBOSE[@]}" || rc=$?

if ! alive "$(cat "$PUB_PIDFILE" 2>/dev/null || echo 0)"; then
    fail publisher "the publisher stopped before the end (see $PUB_LOG)"
fi
view=$(api GET /v1/channels/cam) || view='{}'
note "channel state $(jget "$view" o.state), stats $(jget "$view" o.stats)"
stop_publisher
stop_daemon || true
rm -rf "$STORAGE"
[ $rc -eq 0 ] && [ $fails -eq 0 ] || exit 1
