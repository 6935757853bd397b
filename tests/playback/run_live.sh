#!/usr/bin/env bash
# Real-browser playback test of a live channel and of its recording.
#
#   run_live.sh ENCBOX_BINARY WORKDIR [--reconnect] [--end]
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
# Exit: 0 passed, 1 failed, 2 bad usage, 77 skipped (no node_modules, node,
# ffmpeg with SRT or Chromium on this machine).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SKIP=77

usage() {
    echo "usage: run_live.sh ENCBOX_BINARY WORKDIR [--reconnect] [--end]" >&2
    exit 2
}
[ $# -ge 2 ] || usage
ENCBOX=$1
WORK=$2
shift 2
RECONNECT=0
END=0
for a in "$@"; do
    case $a in
    --reconnect) RECONNECT=1 ;;
    --end) END=1 ;;
    *) usage ;;
    esac
done
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
CHANNEL=cam
SEGMENT=1
WINDOW=10
# The publisher stops itself after this long if nothing stops it first.
PUBLISH_MAX=${PLAYBACK_LIVE_PUBLISH_MAX:-60}
# Seconds between stopping the publisher and starting it again (--reconnect).
BREAK_GAP=${PLAYBACK_LIVE_BREAK_GAP:-2}
# The channel's reconnect_window_seconds: how long the daemon waits for a
# publisher that left before it ends the run (and publishes the recording).
RECONNECT_WINDOW=${PLAYBACK_LIVE_RECONNECT_WINDOW:-6}
# Watchdogs of live.mjs and playback.mjs; with the other waits the worst
# case stays under CTest's 300 s.
PLAY_TIMEOUT=${PLAYBACK_TOTAL_TIMEOUT:-90}

skip() {
    echo "SKIP playback_live: $*"
    exit $SKIP
}

# ---- can this machine run the test at all?
for m in playwright-core hls.js dashjs shaka-player; do
    [ -f "$HERE/node_modules/$m/package.json" ] ||
        skip "$HERE/node_modules/$m is missing: run 'npm ci' in $HERE"
done
command -v node >/dev/null 2>&1 || skip "node is not installed"
[ -x "$CHROMIUM" ] || skip "$CHROMIUM is missing (apt-get install chromium)"
command -v ffmpeg >/dev/null 2>&1 || skip "ffmpeg is not installed (needed to publish the feed)"
protocols=$(ffmpeg -hide_banner -protocols 2>/dev/null || true)
grep -qx ' *srt' <<<"$protocols" ||
    skip "this ffmpeg has no SRT protocol (needed to publish the feed)"
if [ ! -x "$ENCBOX" ]; then
    echo "run_live.sh: $ENCBOX is not an executable" >&2
    exit 2
fi

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
STORAGE=$WORK/storage
DAEMON_LOG=$WORK/daemon.log
PUB_LOG=$WORK/publisher.log
PUB_PIDFILE=$WORK/publisher.pid
BREAK_FILE=$WORK/break
END_FILE=$WORK/end
rm -rf "$STORAGE" "$DAEMON_LOG" "$PUB_LOG" "$PUB_PIDFILE" "$BREAK_FILE" "$END_FILE"
mkdir -p "$STORAGE"
# No /etc/encbox/encbox.yaml of this machine: the defaults, no tokens.
CONFIG=$WORK/encbox.yaml
echo "# playback_live: the built-in defaults" >"$CONFIG"

T0=$SECONDS
fails=0
failed=()
fail() {
    echo "FAIL $1: $2"
    fails=$((fails + 1))
    failed+=("$1")
}
note() { echo "# $*"; }

# ---- processes: each one started here is stopped on any exit
DAEMON_PID=
NODE_PID=
BREAKER_PID=
ENDER_PID=

# PID runs (an exited child of ours that is not yet reaped does not)
alive() {
    local st
    st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

stop_pid() { # PID SECONDS: TERM, then KILL after SECONDS; returns its status
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < $2 * 10; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    local rc=0
    wait "$pid" 2>/dev/null || rc=$?
    return $rc
}

stop_publisher() {
    local pid i
    pid=$(cat "$PUB_PIDFILE" 2>/dev/null) || return 0
    rm -f "$PUB_PIDFILE"
    # TERM: ffmpeg ends the stream and closes the SRT connection
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true # reaps it where it is our child
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    [ -z "$BREAKER_PID" ] || stop_pid "$BREAKER_PID" 1 || true
    [ -z "$ENDER_PID" ] || stop_pid "$ENDER_PID" 1 || true
    # node closes Chromium on TERM (its own watchdog also bounds it)
    [ -z "$NODE_PID" ] || stop_pid "$NODE_PID" 20 || true
    stop_publisher
    if [ -n "$DAEMON_PID" ]; then
        stop_pid "$DAEMON_PID" 10 || true
        # its live workers are in its process group (setsid below)
        kill -KILL -- "-$DAEMON_PID" 2>/dev/null || true
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Runs node in the background so that the trap can stop it; returns its status.
run_node() {
    local rc=0
    node "$@" &
    NODE_PID=$!
    wait "$NODE_PID" || rc=$?
    NODE_PID=
    return $rc
}

# ---- small HTTP/JSON helpers (node: no curl or jq needed)
ORIGIN=
api() { # METHOD PATH [JSON]: prints the body; fails on an HTTP error
    node -e '
const [m, url, body] = process.argv.slice(1);
fetch(url, { method: m, body: body || undefined, signal: AbortSignal.timeout(10000),
  headers: body ? { "Content-Type": "application/json" } : {} })
  .then(async (r) => {
    const t = await r.text();
    if (!r.ok) { console.error(`${m} ${url}: HTTP ${r.status} ${t}`); process.exit(1); }
    process.stdout.write(t);
  })
  .catch((e) => { console.error(`${m} ${url}: ${e.message}`); process.exit(1); });' "$1" "$ORIGIN$2" "${3:-}"
}
jget() { # JSON EXPRESSION-ON-o: prints the value ("" for null/undefined)
    node -e '
const o = JSON.parse(process.argv[1]);
const v = eval(process.argv[2]);
process.stdout.write(v === undefined || v === null ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));' "$1" "$2"
}
free_ports() { # a free loopback TCP port and a free UDP port
    node -e '
const net = require("net"), dgram = require("dgram");
const t = net.createServer().listen(0, "127.0.0.1", () => {
  const u = dgram.createSocket("udp4");
  u.bind(0, "127.0.0.1", () => { console.log(t.address().port, u.address().port); t.close(); u.close(); });
});'
}

# ---- the daemon, on free ports (again on others if they were taken meanwhile)
start_daemon() {
    local attempt i ports port srt
    for attempt in 1 2 3 4 5; do
        ports=$(free_ports)
        port=${ports% *}
        srt=${ports#* }
        ORIGIN=http://127.0.0.1:$port
        SRT_LISTEN=127.0.0.1:$srt
        echo "== $ENCBOX serve --listen 127.0.0.1:$port --storage $STORAGE --srt-listen $SRT_LISTEN"
        # its own process group: the live workers it spawns go with it; and
        # it dies with this script even if this script is killed outright
        setsid $PDEATH "$ENCBOX" serve --config "$CONFIG" --listen "127.0.0.1:$port" \
            --storage "$STORAGE" --srt-listen "$SRT_LISTEN" >>"$DAEMON_LOG" 2>&1 &
        DAEMON_PID=$!
        local deadline=$((SECONDS + 15))
        while [ $SECONDS -lt $deadline ]; do
            if ! alive "$DAEMON_PID"; then
                wait "$DAEMON_PID" 2>/dev/null || true
                DAEMON_PID=
                break
            fi
            api GET /v1/health >/dev/null 2>&1 && return 0
            sleep 0.1
        done
        [ -z "$DAEMON_PID" ] || stop_pid "$DAEMON_PID" 5 || true
        DAEMON_PID=
    done
    return 1
}

# ---- the publisher: a generated feed over SRT to the channel's ingest URL
start_publisher() {
    echo "== ffmpeg -re testsrc2 640x360 25 fps + sine -> SRT (at most $PUBLISH_MAX s)" >>"$PUB_LOG"
    ffmpeg -nostdin -hide_banner -loglevel error -re \
        -f lavfi -i testsrc2=size=640x360:rate=25 \
        -f lavfi -i sine=frequency=440:sample_rate=48000 \
        -t "$PUBLISH_MAX" -map 0:v -map 1:a \
        -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 25 -keyint_min 25 -sc_threshold 0 \
        -c:a aac -b:a 96k -f mpegts "$INGEST&pkt_size=1316" >>"$PUB_LOG" 2>&1 &
    echo $! >"$PUB_PIDFILE"
}

PDEATH=
if command -v setpriv >/dev/null 2>&1; then
    PDEATH="setpriv --pdeathsig KILL"
fi
if ! start_daemon; then
    fail daemon "encbox serve did not start"
    sed 's/^/#   /' "$DAEMON_LOG" | tail -20
    exit 1
fi
note "daemon pid $DAEMON_PID, origin $ORIGIN, SRT ingest $SRT_LISTEN"

body="{\"name\":\"$CHANNEL\",\"segment_seconds\":$SEGMENT,\"window_seconds\":$WINDOW"
body+=",\"reconnect_window_seconds\":$RECONNECT_WINDOW}"
ch=$(api POST /v1/channels "$body") || {
    fail channel "POST /v1/channels failed"
    exit 1
}
INGEST=$(jget "$ch" 'o.ingest && o.ingest.srt')
if [ -z "$INGEST" ]; then
    fail channel "the channel has no SRT ingest URL: $ch"
    exit 1
fi
note "channel $(jget "$ch" o.id) ($CHANNEL), state $(jget "$ch" o.state), outputs $(jget "$ch" o.outputs)"

echo "== publishing to channel $CHANNEL"
PUB_T0=$SECONDS
start_publisher

# ---- the window appears once the first segments are out
echo "== waiting for $ORIGIN/live/$CHANNEL/hls/master.m3u8"
window=0
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
    if api GET "/live/$CHANNEL/hls/master.m3u8" >/dev/null 2>&1 &&
        api GET "/live/$CHANNEL/dash/manifest.mpd" >/dev/null 2>&1; then
        window=1
        break
    fi
    if [ ! -f "$PUB_PIDFILE" ] || ! alive "$(cat "$PUB_PIDFILE")"; then
        break # the publisher is gone
    fi
    sleep 0.1
done
if [ $window -eq 0 ]; then
    fail live-window "no live window at $ORIGIN/live/$CHANNEL/ after $((SECONDS - PUB_T0)) s of publishing"
    sed 's/^/#   publisher: /' "$PUB_LOG" | tail -10
    sed 's/^/#   daemon: /' "$DAEMON_LOG" | tail -20
    exit 1
fi
state=$(jget "$(api GET "/v1/channels/$CHANNEL")" o.state)
note "window there after $((SECONDS - PUB_T0)) s of publishing; channel state $state"
[ "$state" = live ] || fail channel-live "the channel serves a window but its state is '$state', not 'live'"

# ---- the live window in the browser
live_timeout=$PLAY_TIMEOUT
[ $RECONNECT -eq 0 ] || live_timeout=$((live_timeout + 60))
[ $END -eq 0 ] || live_timeout=$((live_timeout + 30))
live_args=(--max-latency "$WINDOW" --total-timeout "$live_timeout")
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
    BREAKER_PID=$!
fi
if [ $END -eq 1 ]; then
    live_args+=(--expect-end --end-file "$END_FILE")
    # stops the publisher once both players wait for the end
    (
        while [ ! -f "$END_FILE" ]; do sleep 0.2; done
        echo "# end: stopping the publisher"
        stop_publisher
    ) &
    ENDER_PID=$!
fi
echo "== node live.mjs $ORIGIN $CHANNEL ${live_args[*]}"
rc=0
run_node "$HERE/live.mjs" "$ORIGIN" "$CHANNEL" "${live_args[@]}" || rc=$?
[ $rc -eq 0 ] || fail play-live "live.mjs exited with status $rc"
for p in "$BREAKER_PID" "$ENDER_PID"; do
    [ -z "$p" ] || stop_pid "$p" 1 || true
done
BREAKER_PID=
ENDER_PID=

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
    stop_pid "$DAEMON_PID" 10 || rc=$?
    kill -KILL -- "-$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=
    note "encbox serve stopped (status $rc)"
fi

echo "== $((SECONDS - T0)) s"
if [ $fails -ne 0 ]; then
    echo "playback_live: $fails failed (${failed[*]})"
    exit 1
fi
echo "playback_live: all passed"
