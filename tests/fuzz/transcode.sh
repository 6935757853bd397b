#!/usr/bin/env bash
# Mutation fuzzing of the transcode path, through the real command line.
#
#   tests/fuzz/transcode.sh ENCBOX_BINARY WORKDIR
#
# Makes a small corpus with ffmpeg (H.264 + AAC in mp4, mkv and MPEG-TS, an
# HLS playlist over TS segments, an mp4 with two audio languages), then, for
# seed after seed, mutates one corpus file with zzuf (Debian's; a random
# ratio between 0.01% and 1% of the bits, the same bytes for the same seed)
# and runs `encbox transcode` on it with a time limit. Each case is judged:
#
#   ok        exit 0, a master playlist published, nothing left in staging
#   refused   exit 1 with one error line, nothing published or left behind
#   CRASH     killed by a signal, or a sanitizer report
#   HANG      still running after EB_FUZZ_CASE_SECONDS (default 60)
#   BAD-EXIT  exit 2 ("bad command line") or another code for a media error
#   MESSY     a failure with more than one error line, or an error line
#             that is a bare library message with nothing about what failed
#   LEFTOVER  a failed case that left files under videos/ or .staging/
#   PARTIAL   exit 0 but the published duration is short of what ffprobe
#             reads in the mutated input (at most the corpus's 2 s) by more
#             than a second
#
# Every case that is not ok or refused is kept under WORKDIR/findings/
# with its input and stderr. Exit 0 when all cases are ok or refused.
#
# Length: EB_FUZZ_CASES cases (default 40), or until EB_FUZZ_SECONDS
# (default 120) have passed. CI runs a brief form (ctest fuzz_transcode:
# 24 cases); the longer form is e.g.
#   EB_FUZZ_CASES=2000 EB_FUZZ_SECONDS=7200 tests/fuzz/transcode.sh build/ci/encbox /tmp/fz
# EB_FUZZ_SEED (default 1) is the first seed, so a run can be resumed or
# a finding replayed (`EB_FUZZ_SEED=N EB_FUZZ_CASES=1`).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: transcode.sh ENCBOX_BINARY WORKDIR" >&2
    exit 2
fi
ENCBOX=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
WORK=$2
CASES=${EB_FUZZ_CASES:-40}
SECONDS_MAX=${EB_FUZZ_SECONDS:-120}
CASE_SECONDS=${EB_FUZZ_CASE_SECONDS:-60}
SEED=${EB_FUZZ_SEED:-1}

for tool in zzuf ffmpeg ffprobe timeout; do
    if ! command -v "$tool" > /dev/null; then
        echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"
        exit 77
    fi
done

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
CORPUS=$WORK/corpus
FINDINGS=$WORK/findings
rm -rf "$WORK/case" "$WORK/out" "$FINDINGS"
mkdir -p "$CORPUS" "$FINDINGS"

# ---- the corpus: small, so each case takes a fraction of a second
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
src="-f lavfi -i testsrc2=size=192x108:rate=25:duration=2 -f lavfi -i sine=frequency=440:duration=2"
enc="-c:v libx264 -preset ultrafast -g 25 -c:a aac -b:a 64k"
[ -f "$CORPUS/a.mp4" ] || ff $src $enc "$CORPUS/a.mp4"
[ -f "$CORPUS/a.mkv" ] || ff $src $enc "$CORPUS/a.mkv"
[ -f "$CORPUS/a.ts" ] || ff $src $enc -f mpegts "$CORPUS/a.ts"
[ -f "$CORPUS/two.mp4" ] || ff $src -f lavfi -i sine=frequency=880:duration=2 -map 0 -map 1 \
    -map 2 $enc -metadata:s:a:0 language=eng -metadata:s:a:1 language=fre "$CORPUS/two.mp4"
if [ ! -f "$CORPUS/hls/in.m3u8" ]; then
    mkdir -p "$CORPUS/hls"
    ff $src $enc -f hls -hls_time 1 -hls_list_size 0 -hls_playlist_type vod \
        -hls_segment_filename "$CORPUS/hls/s%d.ts" "$CORPUS/hls/in.m3u8"
fi
inputs=(a.mp4 a.mkv a.ts two.mp4 hls/s0.ts hls/in.m3u8)

declare -A count=()
for k in ok refused CRASH HANG BAD-EXIT MESSY LEFTOVER PARTIAL; do count[$k]=0; done
# An error line that is only a library's message: says nothing about what
# failed (EOF, EINVAL, EPERM, EBUSY, EMFILE, ENOSYS, ...).
bare='^encbox: [^:]*: (End of file|Invalid argument|Operation not permitted|Device or resource busy|Too many open files|Not yet implemented in FFmpeg[^:]*|Invalid data found when processing input|Generic error in an external library|Input/output error|Function not implemented|Resource temporarily unavailable|Unknown error occurred|error -?[0-9]+)$'

# The case's error line (not a warning or a note), or nothing.
last_error() {
    { grep '^encbox: ' "$WORK/stderr" || true; } | { grep -v '^encbox: \(warning\|note\):' || true; } |
        tail -1 | cut -c1-200
}

start=$SECONDS
n=0
while [ "$n" -lt "$CASES" ] && [ $((SECONDS - start)) -lt "$SECONDS_MAX" ]; do
    seed=$((SEED + n))
    name=${inputs[$((seed % ${#inputs[@]}))]}
    rm -rf "$WORK/case" "$WORK/out"
    mkdir -p "$WORK/case"
    if [ "${name%/*}" = hls ]; then
        # the playlist or one segment mutated, the rest intact
        cp -r "$CORPUS/hls" "$WORK/case/"
        zzuf -s "$seed" -r 0.0001:0.01 < "$CORPUS/$name" > "$WORK/case/$name"
        input=$WORK/case/hls/in.m3u8
    else
        input=$WORK/case/$name
        zzuf -s "$seed" -r 0.0001:0.01 < "$CORPUS/$name" > "$input"
    fi
    rc=0
    timeout --kill-after=5 "$CASE_SECONDS" "$ENCBOX" transcode "$input" -o "$WORK/out" --id f \
        --no-thumbnails > "$WORK/stdout" 2> "$WORK/stderr" || rc=$?
    errors=$(grep -c '^encbox: ' "$WORK/stderr" | tr -d ' ' || true)
    notes=$(grep -c '^encbox: \(warning\|note\):' "$WORK/stderr" | tr -d ' ' || true)
    errors=$((errors - notes))
    verdict=ok
    why=""
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        verdict=HANG
    elif [ $rc -gt 128 ] || grep -q 'Sanitizer\|runtime error:' "$WORK/stderr"; then
        verdict=CRASH
        why="exit $rc"
    elif [ $rc -eq 0 ]; then
        if [ ! -f "$WORK/out/videos/f/hls/master.m3u8" ] || [ -n "$(ls -A "$WORK/out/.staging" 2> /dev/null)" ]; then
            verdict=LEFTOVER
            why="exit 0 without a complete publish"
        else
            # encbox: published DIR (D s, ...)
            got=$(sed -n 's/^encbox: published .* (\([0-9.]*\) s,.*/\1/p' "$WORK/stdout")
            want=$(ffprobe -v quiet -show_entries format=duration -of csv=p=0 "$input" 2> /dev/null || true)
            case $want in '' | N/A) want=0 ;; esac
            # a mutated file holds at most the corpus's 2 s, whatever
            # damaged timestamps make ffprobe estimate
            if awk -v g="${got:-0}" -v w="$want" 'BEGIN { if (w > 2) w = 2; exit !(g + 1 < w) }'; then
                verdict=PARTIAL
                why="published ${got:-?} s, ffprobe reads $want s"
            fi
        fi
    elif [ $rc -ne 1 ]; then
        verdict=BAD-EXIT
        why="exit $rc"
    elif [ "$errors" -ne 1 ]; then
        verdict=MESSY
        why="$errors error lines"
    elif grep -Eq "$bare" "$WORK/stderr"; then
        verdict=MESSY
        why="bare message"
    elif [ -n "$(ls -A "$WORK/out/videos" 2> /dev/null)" ] || [ -n "$(ls -A "$WORK/out/.staging" 2> /dev/null)" ]; then
        verdict=LEFTOVER
        why="a failed job left files"
    elif [ "$verdict" = ok ]; then
        verdict=refused
    fi
    count[$verdict]=$((${count[$verdict]} + 1))
    line="case $seed ($name): $verdict${why:+ ($why)}: $(last_error)"
    echo "$line"
    if [ "$verdict" != ok ] && [ "$verdict" != refused ]; then
        d=$FINDINGS/$seed-$verdict
        mkdir -p "$d"
        cp -r "$WORK/case/." "$d/"
        cp "$WORK/stderr" "$d/stderr.txt"
        echo "$line" > "$d/verdict.txt"
    fi
    n=$((n + 1))
done

bad=$((${count[CRASH]} + ${count[HANG]} + ${count[BAD-EXIT]} + ${count[MESSY]} + ${count[LEFTOVER]} + ${count[PARTIAL]}))
echo "fuzz_transcode: $n cases in $((SECONDS - start)) s (seeds $SEED..$((SEED + n - 1))):" \
    "${count[ok]} ok, ${count[refused]} refused," \
    "${count[CRASH]} crashes, ${count[HANG]} hangs, ${count[BAD-EXIT]} bad exits," \
    "${count[MESSY]} messy errors, ${count[LEFTOVER]} leftovers, ${count[PARTIAL]} partial publishes"
if [ $bad -ne 0 ]; then
    echo "fuzz_transcode: findings under $FINDINGS"
    exit 1
fi
