# shellcheck shell=bash
# Shell machinery shared by the playback scripts: run.sh (VOD),
# run_live.sh (live channels) and benchmarks/latency.sh (glass-to-glass
# latency). Sourced, never run. It holds what they need to do alike: refuse
# to start (SKIP) on a machine that lacks the players or the tools, report
# FAIL lines, and for a live channel on this machine's loopback: start
# `encbox serve` on free ports with a configuration of its own, create a
# channel, publish a generated feed to it over SRT with ffmpeg -re, wait for
# its window, and stop every process started here on any exit.
#
# The caller sets, before sourcing:
#   PB_NAME       its name in messages ("playback_live")
#   ENCBOX        the encbox binary
#   WORK          its work folder (absolute; pb_prepare fills it)
# and may set, before pb_publish:
#   PUB_SIZE PUB_RATE PUB_GOP   the generated feed (default 640x360, 25, 25)
#   PUB_MAX       the publisher stops itself after this many seconds (60)
# The functions and variables named here are its interface; the rest is
# internal.

PB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PB_SKIP=77
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

# A test is skipped (77, CTest's SKIP_RETURN_CODE); a benchmark sets
# PB_SKIP=2 and PB_SKIP_WORD (what comes before the reason) instead.
pb_skip() {
    echo "${PB_SKIP_WORD:-SKIP $PB_NAME}: $*"
    exit $PB_SKIP
}

# Exits 77 (SKIP) unless the players, node, Chromium and ffmpeg with SRT
# are here, and 2 unless ENCBOX runs. Arguments: --no-srt (ffmpeg without
# SRT will do), then the node modules needed.
pb_requirements() {
    local m protocols srt=1
    if [ "${1:-}" = --no-srt ]; then
        srt=0
        shift
    fi
    for m in "$@"; do
        [ -f "$PB_HERE/node_modules/$m/package.json" ] ||
            pb_skip "$PB_HERE/node_modules/$m is missing: run 'npm ci' in $PB_HERE"
    done
    command -v node >/dev/null 2>&1 || pb_skip "node is not installed"
    [ -x "$CHROMIUM" ] || pb_skip "$CHROMIUM is missing (apt-get install chromium)"
    command -v ffmpeg >/dev/null 2>&1 || pb_skip "ffmpeg is not installed (needed to make the media)"
    if [ $srt -eq 1 ]; then
        protocols=$(ffmpeg -hide_banner -protocols 2>/dev/null || true)
        grep -qx ' *srt' <<<"$protocols" ||
            pb_skip "this ffmpeg has no SRT protocol (needed to publish the feed)"
    fi
    if [ ! -x "$ENCBOX" ]; then
        echo "$PB_NAME: $ENCBOX is not an executable" >&2
        exit 2
    fi
}

# A fresh storage folder and configuration in WORK (no
# /etc/encbox/encbox.yaml of this machine: the defaults, no tokens).
pb_prepare() {
    mkdir -p "$WORK"
    STORAGE=$WORK/storage
    DAEMON_LOG=$WORK/daemon.log
    PUB_LOG=$WORK/publisher.log
    PUB_PIDFILE=$WORK/publisher.pid
    rm -rf "$STORAGE" "$DAEMON_LOG" "$PUB_LOG" "$PUB_PIDFILE"
    mkdir -p "$STORAGE"
    CONFIG=$WORK/encbox.yaml
    echo "# $PB_NAME: the built-in defaults" >"$CONFIG"
}

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
HELPER_PIDS=() # the caller's background helpers (subshells), stopped first

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

stop_helpers() {
    local p
    for p in "${HELPER_PIDS[@]}"; do
        stop_pid "$p" 1 || true
    done
    HELPER_PIDS=()
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

stop_daemon() { # returns the daemon's status
    local rc=0
    [ -n "$DAEMON_PID" ] || return 0
    stop_pid "$DAEMON_PID" 10 || rc=$?
    # its live workers are in its process group (setsid below)
    kill -KILL -- "-$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=
    return $rc
}

pb_cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_helpers
    # node closes Chromium on TERM (its own watchdog also bounds it)
    [ -z "$NODE_PID" ] || stop_pid "$NODE_PID" 20 || true
    [ -z "${PUB_PIDFILE:-}" ] || stop_publisher
    stop_daemon || true
    exit $rc
}
trap pb_cleanup EXIT
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
api() { # METHOD PATH [JSON]: prints the body; fails on an HTTP error (token: $PB_TOKEN)
    node -e '
const [m, url, body] = process.argv.slice(1);
const headers = body ? { "Content-Type": "application/json" } : {};
if (process.env.PB_TOKEN) headers.Authorization = `Bearer ${process.env.PB_TOKEN}`;
fetch(url, { method: m, body: body || undefined, signal: AbortSignal.timeout(10000), headers })
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

PDEATH=
if command -v setpriv >/dev/null 2>&1; then
    PDEATH="setpriv --pdeathsig KILL"
fi

# ---- the daemon, on free ports (again on others if they were taken meanwhile)
start_daemon() {
    local ports port srt
    for _ in 1 2 3 4 5; do
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

# Starts the daemon or exits 1 with its log (FAIL daemon).
pb_daemon() {
    if ! start_daemon; then
        fail daemon "encbox serve did not start"
        sed 's/^/#   /' "$DAEMON_LOG" | tail -20
        exit 1
    fi
    note "daemon pid $DAEMON_PID, origin $ORIGIN, SRT ingest $SRT_LISTEN"
}

# CHANNEL JSON-MEMBERS: creates the channel (the members after "name") and
# sets INGEST to its SRT URL, or exits 1 (FAIL channel).
pb_channel() {
    local ch
    CHANNEL=$1
    ch=$(api POST /v1/channels "{\"name\":\"$CHANNEL\"${2:+,$2}}") || {
        fail channel "POST /v1/channels failed"
        exit 1
    }
    INGEST=$(jget "$ch" 'o.ingest && o.ingest.srt')
    if [ -z "$INGEST" ]; then
        fail channel "the channel has no SRT ingest URL: $ch"
        exit 1
    fi
    note "channel $(jget "$ch" o.id) ($CHANNEL), state $(jget "$ch" o.state), low_latency $(jget "$ch" o.low_latency)," \
        "part_seconds $(jget "$ch" o.part_seconds), outputs $(jget "$ch" o.outputs)"
}

# ---- the publisher: a generated feed over SRT to the channel's ingest URL
start_publisher() {
    local size=${PUB_SIZE:-640x360} rate=${PUB_RATE:-25} gop=${PUB_GOP:-25} max=${PUB_MAX:-60}
    echo "== ffmpeg -re testsrc2 $size $rate fps + sine -> SRT (at most $max s)" >>"$PUB_LOG"
    ffmpeg -nostdin -hide_banner -loglevel error -re \
        -f lavfi -i "testsrc2=size=$size:rate=$rate" \
        -f lavfi -i sine=frequency=440:sample_rate=48000 \
        -t "$max" -map 0:v -map 1:a \
        -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g "$gop" -keyint_min "$gop" -sc_threshold 0 \
        -c:a aac -b:a 96k -f mpegts "$INGEST&pkt_size=1316" >>"$PUB_LOG" 2>&1 &
    echo $! >"$PUB_PIDFILE"
}

# Starts publishing and waits (at most 30 s) until the origin serves the
# channel's master playlist and MPD; exits 1 (FAIL live-window) if it
# does not. Sets PUB_T0 (SECONDS at the publisher's start).
pb_publish() {
    local window=0 deadline
    echo "== publishing to channel $CHANNEL"
    PUB_T0=$SECONDS
    start_publisher
    echo "== waiting for $ORIGIN/live/$CHANNEL/hls/master.m3u8"
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
}
