#!/usr/bin/env bash
# The HTTP/2 front end of firmware-config/nghttpx.conf in front of
# `encbox serve`, checked for what low-latency players need of it.
#
#   run_h2.sh ENCBOX_BINARY WORKDIR
#
# Lays out a live channel's files in a fresh storage folder (a low-latency
# media playlist and its parts, as encbox live writes them), starts
# `encbox serve` on a free loopback port and nghttpx with the shipped
# configuration (its own ports and a throwaway certificate given on the
# command line, everything else from the file), then, through the proxy
# with curl over HTTP/2:
#   h2-alpn       HTTP/2 is negotiated and a playlist arrives byte for byte,
#                 with the origin's Cache-Control (no-cache)
#   h2-immutable  a part keeps its immutable caching
#   h2-blocking   a blocking playlist reload (_HLS_msn/_HLS_part) is held
#                 through the proxy until the part is listed, and answered
#                 within 0.5 s once it is
#   h2-multiplex  20 held reloads on ONE HTTP/2 connection are all answered
#                 once the part is listed
#   h2-bad        _HLS_part without _HLS_msn comes back as 400
# Exit: 0 passed, 1 failed, 2 bad usage, 77 skipped (no nghttpx, or a curl
# without HTTP/2).
set -euo pipefail

SKIP=77
[ $# -eq 2 ] || { echo "usage: run_h2.sh ENCBOX_BINARY WORKDIR" >&2; exit 2; }
ENCBOX=$1
WORK=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=$HERE/../../firmware-config/nghttpx.conf

command -v nghttpx >/dev/null || { echo "SKIP h2: nghttpx not installed (nghttp2-proxy)"; exit $SKIP; }
curl --version | grep -q HTTP2 || { echo "SKIP h2: curl without HTTP/2"; exit $SKIP; }
command -v openssl >/dev/null || { echo "SKIP h2: no openssl"; exit $SKIP; }

rm -rf "$WORK"
mkdir -p "$WORK"
STORAGE=$WORK/storage
LIVE=$STORAGE/live/cam
mkdir -p "$LIVE/hls/360p" "$LIVE/cmaf/360p"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

passed=0
failed=0
pass() { echo "PASS $1${2:+ ($2)}"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# A playlist with segments 1..3 listed and parts of segment 4 up to $1,
# written atomically as the live sink does.
playlist() {
    local last=$1 f=$LIVE/hls/360p/index.m3u8
    {
        printf '#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n'
        printf '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.750,CAN-SKIP-UNTIL=6\n'
        printf '#EXT-X-PART-INF:PART-TARGET=0.25000\n#EXT-X-MEDIA-SEQUENCE:1\n'
        printf '#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI="../../cmaf/360p/init.mp4"\n'
        printf '#EXT-X-PROGRAM-DATE-TIME:2026-12-06T00:00:00.000Z\n'
        for n in 1 2 3; do
            printf '#EXTINF:1.000000,\n../../cmaf/360p/segment_%03d.m4s\n' "$n"
        done
        for ((k = 0; k <= last; k++)); do
            printf '#EXT-X-PART:DURATION=0.25000,URI="../../cmaf/360p/segment_004.%d.m4s"%s\n' \
                "$k" "$([ "$k" -eq 0 ] && echo ,INDEPENDENT=YES)"
        done
        printf '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="../../cmaf/360p/segment_004.%d.m4s"\n' $((last + 1))
    } > "$f.tmp"
    mv "$f.tmp" "$f"
}
for n in 1 2 3; do head -c 2000 /dev/urandom > "$LIVE/cmaf/360p/segment_00$n.m4s"; done
for k in 0 1 2 3; do head -c 500 /dev/urandom > "$LIVE/cmaf/360p/segment_004.$k.m4s"; done
head -c 700 /dev/urandom > "$LIVE/cmaf/360p/init.mp4"
playlist 0

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() { # url: up to 10 s
    for _ in $(seq 100); do
        curl -sk -o /dev/null "$1" && return 0
        sleep 0.1
    done
    return 1
}

ORIGIN_PORT=$(free_port)
: > "$WORK/encbox.yaml"
"$ENCBOX" serve --config "$WORK/encbox.yaml" --listen "127.0.0.1:$ORIGIN_PORT" \
    --storage "$STORAGE" > "$WORK/serve.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$ORIGIN_PORT/v1/time" || { echo "FAIL h2: encbox serve did not start"; cat "$WORK/serve.log"; exit 1; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
FRONT_PORT=$(free_port)
nghttpx --conf="$CONF" --frontend="127.0.0.1,$FRONT_PORT" \
    --backend="127.0.0.1,$ORIGIN_PORT;;proto=http/1.1" \
    --errorlog-file="$WORK/nghttpx.log" "$WORK/key.pem" "$WORK/cert.pem" \
    > "$WORK/nghttpx.out" 2>&1 &
PIDS+=($!)
FRONT=https://127.0.0.1:$FRONT_PORT
PL=$FRONT/live/cam/hls/360p/index.m3u8
wait_http "$FRONT/v1/time" || { echo "FAIL h2: nghttpx did not start"; cat "$WORK/nghttpx.out" "$WORK/nghttpx.log" 2>/dev/null; exit 1; }

# h2-alpn
version=$(curl -sk --http2 -D "$WORK/h.txt" -o "$WORK/pl.m3u8" -w '%{http_version}' "$PL")
if [ "$version" != 2 ]; then
    fail h2-alpn "HTTP version $version, not 2"
elif ! cmp -s "$WORK/pl.m3u8" "$LIVE/hls/360p/index.m3u8"; then
    fail h2-alpn "the playlist arrived changed"
elif ! grep -qi '^cache-control: no-cache' "$WORK/h.txt"; then
    fail h2-alpn "Cache-Control: $(grep -i cache-control "$WORK/h.txt" | tr -d '\r')"
else
    pass h2-alpn "HTTP/$version"
fi

# h2-immutable
curl -sk --http2 -D "$WORK/h2.txt" -o /dev/null "$FRONT/live/cam/cmaf/360p/segment_004.0.m4s"
if grep -qi '^cache-control: public, max-age=31536000, immutable' "$WORK/h2.txt"; then
    pass h2-immutable
else
    fail h2-immutable "Cache-Control: $(grep -i cache-control "$WORK/h2.txt" | tr -d '\r')"
fi

# h2-blocking: held until part 4.1 is listed (1.5 s later), then at once.
now() { date +%s.%N; }
t0=$(now)
curl -sk --http2 -o "$WORK/held.m3u8" -w '%{http_code}' "$PL?_HLS_msn=4&_HLS_part=1" \
    > "$WORK/held.code" &
held=$!
sleep 1.5
if ! kill -0 "$held" 2>/dev/null; then
    fail h2-blocking "answered ($(cat "$WORK/held.code")) before the part was listed"
    playlist 1
else
    playlist 1
    t1=$(now)
    wait "$held" || true
    t2=$(now)
    dt=$(python3 -c "print(f'{$t2 - $t1:.3f}')")
    if [ "$(cat "$WORK/held.code")" != 200 ]; then
        fail h2-blocking "status $(cat "$WORK/held.code")"
    elif ! grep -q 'segment_004.1.m4s' "$WORK/held.m3u8"; then
        fail h2-blocking "the answer does not list part 4.1"
    elif python3 -c "import sys; sys.exit(0 if $t2 - $t1 < 0.5 else 1)"; then
        pass h2-blocking "held $(python3 -c "print(f'{$t1 - $t0:.2f}')") s, answered ${dt} s after the part was listed"
    else
        fail h2-blocking "answered ${dt} s after the part was listed"
    fi
fi

# h2-multiplex: 20 held reloads on one connection (curl --parallel
# multiplexes them over HTTP/2), answered when part 4.2 is listed.
args=()
for i in $(seq 20); do args+=(-o /dev/null "$PL?_HLS_msn=4&_HLS_part=2&i=$i"); done
curl -sk --http2 --parallel --parallel-max 20 -w '%{http_code} %{num_connects}\n' \
    "${args[@]}" > "$WORK/multi.txt" 2>/dev/null &
multi=$!
sleep 1
if ! kill -0 "$multi" 2>/dev/null; then
    fail h2-multiplex "answered before the part was listed: $(tr '\n' ' ' < "$WORK/multi.txt" | head -c 200)"
    playlist 2
else
    playlist 2
    wait "$multi" || true
    ok=$(grep -c '^200 ' "$WORK/multi.txt" || true)
    conns=$(awk '{s += $2} END {print s + 0}' "$WORK/multi.txt")
    if [ "$ok" -eq 20 ] && [ "$conns" -eq 1 ]; then
        pass h2-multiplex "20 answered, $conns connection"
    else
        fail h2-multiplex "$ok of 20 answered 200 over $conns connection(s)"
    fi
fi

# h2-bad
code=$(curl -sk --http2 -o /dev/null -w '%{http_code}' "$PL?_HLS_part=1")
if [ "$code" = 400 ]; then pass h2-bad; else fail h2-bad "status $code, not 400"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
