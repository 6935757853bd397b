#!/usr/bin/env bash
# Real-browser playback test of a live channel and of its recording.
#
#   run_live.sh ENCBOX_BINARY WORKDIR [--reconnect] [--end] [--low-latency]
#
# Starts `encbox serve` on free loopback ports (API/origin and SRT ingest)
# over a fresh storage folder in WORKDIR, creates channel "cam" (1 s
# segments, 10 s window), publishes a generated feed to it over SRT with
# ffmpeg -re (testsrc2 640x360 25 fps + sine, H.264 GOP 25 + AAC), plays
# the live window with live.mjs (hls.js and dash.js), stops the publisher,
# checks that the channel goes idle with one recording, and plays that
# recording to its end with playback.mjs.
# The channel waits 6 s (reconnect_window_seconds) for a publisher that
# left before it ends the run.
# --reconnect: while live.mjs plays, the publisher is stopped and started
# again 2 s later (live.mjs --expect-discontinuity).
# --end: last, the publisher is stopped while the players still play, and
# they must play to the end of the run (live.mjs --expect-end).
# --low-latency (CTest's playback_ll): the channel has 2 s segments and a
# 20 s window, low latency being its default (parts of 0.334 s), and is fed
# 854x480 30 fps; live.mjs --low-latency checks LL-HLS and LL-DASH from node
# and plays with hls.js and dash.js in their low-latency modes (hls.js
# within 4 s of the wall clock, PLAYBACK_LL_MAX_LATENCY).
# The machinery (daemon, channel, publisher, cleanup) is env.sh's.
# Exit: 0 passed, 1 failed, 2 bad usage, 77 skipped (no node_modules, node,
# ffmpeg with SRT or Chromium on this machine).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    echo "usage: run_live.sh ENCBOX_BINARY WORKDIR [--reconnect] [--end] [--low-latency]" >&2
    exit 2
}
[ $# -ge 2 ] || usage
ENCBOX=$1
WORK=$2
shift 2
RECONNECT=0
END=0
LL=0
for a in "$@"; do
    case $a in
    --reconnect) RECONNECT=1 ;;
    --end) END=1 ;;
    --low-latency) LL=1 ;;
    *) usage ;;
    esac
done
PB_NAME=playback_live
CHANNEL=cam
SEGMENT=1
WINDOW=10
# Seconds between stopping the publisher and starting it again (--reconnect).
BREAK_GAP=${PLAYBACK_LIVE_BREAK_GAP:-2}
# The channel's reconnect_window_seconds: how long the daemon waits for a
# publisher that left before it ends the run (and publishes the recording).
RECONNECT_WINDOW=${PLAYBACK_LIVE_RECONNECT_WINDOW:-6}
# Watchdogs of live.mjs and playback.mjs; with the other waits the worst
# case stays under CTest's 300 s.
PLAY_TIMEOUT=${PLAYBACK_TOTAL_TIMEOUT:-90}
# The publisher stops itself after this long if nothing stops it first.
PUB_MAX=${PLAYBACK_LIVE_PUBLISH_MAX:-60}
MAX_LATENCY=$WINDOW
if [ $LL -eq 1 ]; then
    # Low latency (the channel's default): 2 s segments, parts of 0.334 s.
    # The window is longer than CAN-SKIP-UNTIL (6 targets, 12 s), so that
    # a delta update has segments to skip by the time it is checked.
    # A 480p feed: two video renditions and audio, so that every playlist
    # reports on two others (EXT-X-RENDITION-REPORT).
    PB_NAME=playback_ll
    SEGMENT=2
    WINDOW=20
    PUB_SIZE=854x480
    PUB_RATE=30
    PUB_GOP=30
    MAX_LATENCY=${PLAYBACK_LL_MAX_LATENCY:-4}
fi

# shellcheck source=tests/playback/env.sh
. "$HERE/env.sh"

# ---- can this machine run the test at all?
pb_requirements playwright-core hls.js dashjs shaka-player
WORK=$(mkdir -p "$WORK" && cd "$WORK" && pwd)
pb_prepare
BREAK_FILE=$WORK/break
END_FILE=$WORK/end
rm -f "$BREAK_FILE" "$END_FILE"

T0=$SECONDS
pb_daemon
body="\"segment_seconds\":$SEGMENT,\"window_seconds\":$WINDOW,\"reconnect_window_seconds\":$RECONNECT_WINDOW"
pb_channel "$CHANNEL" "$body"
pb_publish
state=$(jget "$(api GET "/v1/channels/$CHANNEL")" o.state)
note "window there after $((SECONDS - PUB_T0)) s of publishing; channel state $state"
[ "$state" = live ] || fail channel-live "the channel serves a window but its state is '$state', not 'live'"

# ---- the live window in the browser
live_timeout=$PLAY_TIMEOUT
[ $RECONNECT -eq 0 ] || live_timeout=$((live_timeout + 60))
[ $END -eq 0 ] || live_timeout=$((live_timeout + 30))
live_args=(--max-latency "$MAX_LATENCY" --total-timeout "$live_timeout")
[ $LL -eq 0 ] || live_args+=(--low-latency)
if [ $RECONNECT -eq 1 ]; then
    live_args+=(--expect-discontinuity --break-file "$BREAK_FILE")
    # stops the publisher and starts it again once both players wait for it
    (
        while [ ! -f "$BREAK_FILE" ]; do sleep 0.2; done
        echo "# break: stopping the publisher, starting it again in $BREAK_GAP s"
        stop_publisher
        sleep "$BREAK_GAP"
        start_publisher
        echo "# break: publishing again"
    ) &
    HELPER_PIDS+=($!)
fi
if [ $END -eq 1 ]; then
    live_args+=(--expect-end --end-file "$END_FILE")
    # stops the publisher once both players wait for the end
    (
        while [ ! -f "$END_FILE" ]; do sleep 0.2; done
        echo "# end: stopping the publisher"
        stop_publisher
    ) &
    HELPER_PIDS+=($!)
fi
echo "== node live.mjs $ORIGIN $CHANNEL ${live_args[*]}"
rc=0
run_node "$HERE/live.mjs" "$ORIGIN" "$CHANNEL" "${live_args[@]}" || rc=$?
[ $rc -eq 0 ] || fail play-live "live.mjs exited with status $rc"
stop_helpers

# ---- the publisher leaves: the run ends and becomes a recording
left="after the publisher left"
if [ -f "$PUB_PIDFILE" ]; then
    echo "== stopping the publisher after $((SECONDS - PUB_T0)) s"
    stop_publisher
else
    left="after live.mjs (the publisher left during it)"
fi
view=
ok=0
LEFT_T0=$SECONDS
# the run ends once the reconnect window has passed without a publisher
deadline=$((SECONDS + ${RECONNECT_WINDOW%.*} + 30))
while [ $SECONDS -lt $deadline ]; do
    view=$(api GET "/v1/channels/$CHANNEL") || break
    if [ "$(jget "$view" o.state)" = idle ] && [ "$(jget "$view" '(o.recordings || []).length')" -ge 1 ]; then
        ok=1
        break
    fi
    sleep 0.1
done
if [ $ok -eq 0 ]; then
    fail recording "$((SECONDS - LEFT_T0)) s after the publisher left, the channel is '$(jget "$view" o.state)' with $(jget "$view" '(o.recordings || []).length') recording(s)"
    sed 's/^/#   daemon: /' "$DAEMON_LOG" | tail -20
    exit 1
fi
nrec=$(jget "$view" o.recordings.length)
REC=$(jget "$view" 'o.recordings[0].id')
DUR=$(jget "$view" 'o.recordings[0].duration')
note "channel idle $((SECONDS - LEFT_T0)) s $left (reconnect window $RECONNECT_WINDOW s); recording $REC, $DUR s, outputs $(jget "$view" 'o.recordings[0].outputs')"
if [ "$nrec" -ne 1 ]; then
    fail recording "the channel lists $nrec recordings after one run, not 1: $(jget "$view" 'o.recordings.map((r) => r.id).join(" ")')"
elif [ ! -f "$STORAGE/videos/$REC/hls/master.m3u8" ] || [ ! -f "$STORAGE/videos/$REC/dash/manifest.mpd" ]; then
    fail recording "recording $REC is not published under $STORAGE/videos/$REC/ (hls/master.m3u8, dash/manifest.mpd)"
else
    echo "PASS recording"
    # ---- the recording plays, to its end, as long as the API says it is
    echo "== node playback.mjs $STORAGE/videos/$REC (recording)"
    rc=0
    run_node "$HERE/playback.mjs" "$STORAGE/videos/$REC" --expect-dash --expect-audio \
        --expect-duration "$DUR" --duration-tolerance "$SEGMENT" --total-timeout "$PLAY_TIMEOUT" || rc=$?
    [ $rc -eq 0 ] || fail play-recording "playback.mjs exited with status $rc"
fi

# ---- the daemon is still there, and stops cleanly
if ! alive "$DAEMON_PID"; then
    fail daemon "encbox serve died during the test"
    sed 's/^/#   daemon: /' "$DAEMON_LOG" | tail -20
    DAEMON_PID=
else
    rc=0
    stop_daemon || rc=$?
    note "encbox serve stopped (status $rc)"
fi

echo "== $((SECONDS - T0)) s"
if [ $fails -ne 0 ]; then
    echo "$PB_NAME: $fails failed (${failed[*]})"
    exit 1
fi
echo "$PB_NAME: all passed"
