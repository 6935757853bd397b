#!/usr/bin/env bash
# Real-browser playback test of encbox's output.
#
#   run.sh ENCBOX_BINARY WORKDIR
#
# Makes a short source (testsrc2 1280x720 30 fps 4 s + two sines, English
# and French, H.264 + AAC),
# transcodes it with `encbox transcode` in CMAF mode (HLS + DASH) and in TS
# mode (HLS only), and plays each result in Chromium with playback.mjs.
# Exit: 0 passed, 1 failed, 2 bad usage, 77 skipped (no node_modules, node,
# ffmpeg or Chromium on this machine).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ $# -ne 2 ]; then
    echo "usage: run.sh ENCBOX_BINARY WORKDIR" >&2
    exit 2
fi
ENCBOX=$1
WORK=$2
# Time limits (seconds). The CTest limit for the whole test is 600.
TRANSCODE_TIMEOUT=${PLAYBACK_TRANSCODE_TIMEOUT:-180}
PLAY_TIMEOUT=${PLAYBACK_TOTAL_TIMEOUT:-120}
PB_NAME=playback
# shellcheck source=tests/playback/env.sh
. "$HERE/env.sh"

# ---- can this machine run the test at all?
pb_requirements --no-srt playwright-core hls.js shaka-player

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
OUT=$WORK/out
SRC=$WORK/src.mp4
rm -rf "$OUT" "$SRC"

# ---- source clip: small and fast to make
echo "== making the source clip"
# Two audio languages, English the default: CMAF keeps both as renditions.
ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i testsrc2=size=1280x720:rate=30:duration=4 \
    -f lavfi -i sine=frequency=440:sample_rate=48000:duration=4 \
    -f lavfi -i sine=frequency=880:sample_rate=48000:duration=4 \
    -map 0:v -map 1:a -map 2:a -c:v libx264 -preset veryfast -pix_fmt yuv420p \
    -c:a aac -b:a 128k -ac 2 -metadata:s:a:0 language=eng -metadata:s:a:1 language=fra \
    -disposition:a:0 default -disposition:a:1 0 -shortest "$SRC"

# transcode NAME ID [encbox options...]: returns 0 when the job published ID.
transcode() {
    local name=$1 id=$2
    shift 2
    echo "== $ENCBOX transcode $SRC -o $OUT --id $id $*"
    local rc=0 t0=$SECONDS
    timeout --kill-after=10 "$TRANSCODE_TIMEOUT" \
        "$ENCBOX" transcode "$SRC" -o "$OUT" --id "$id" "$@" || rc=$?
    if [ $rc -ne 0 ]; then
        if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
            fail "$name" "encbox transcode did not finish within $TRANSCODE_TIMEOUT s"
        else
            fail "$name" "encbox transcode exited with status $rc"
        fi
        return 1
    fi
    if [ ! -f "$OUT/videos/$id/hls/master.m3u8" ]; then
        fail "$name" "encbox exited 0 but $OUT/videos/$id/hls/master.m3u8 is missing"
        find "$OUT" -maxdepth 4 | sed 's/^/#   /' | head -40
        return 1
    fi
    echo "PASS $name ($((SECONDS - t0)) s)"
    find "$OUT/videos/$id" -type f | sort | sed "s|^$OUT/videos/|#   |"
}

# play NAME ID [playback.mjs options...]
play() {
    local name=$1 id=$2
    shift 2
    echo "== playing $OUT/videos/$id"
    local rc=0
    node "$HERE/playback.mjs" "$OUT/videos/$id" --total-timeout "$PLAY_TIMEOUT" "$@" || rc=$?
    if [ $rc -ne 0 ]; then
        fail "$name" "playback.mjs exited with status $rc"
    fi
}

# CMAF (default): HLS and DASH over the same fMP4 segments
if transcode transcode-cmaf play; then
    play play-cmaf play --expect-audio --expect-dash --expect-languages en,fr
fi

# MPEG-TS: HLS only, audio muxed into every variant
if transcode transcode-ts playts --format ts; then
    play play-ts playts --expect-audio
fi

echo "=="
if [ $fails -ne 0 ]; then
    echo "playback: $fails failed (${failed[*]})"
    exit 1
fi
echo "playback: all passed"
