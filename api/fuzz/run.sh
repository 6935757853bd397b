#!/bin/sh
# Builds the API's fuzz targets with clang in their own build dir
# (build-fuzz-api/ at the repository root, or $EB_FUZZ_BUILD) and runs each
# for $EB_FUZZ_SECONDS (default 60) seconds, seeded with api/fuzz/seeds/:
# fuzz_job_request (job requests and job specs), then fuzz_channel_request
# (POST /v1/channels bodies; its seeds are channel_*, the others add
# variety), then fuzz_rtmp (the RTMP ingest's protocol machine; no seeds:
# the target builds a well-formed opening itself, see fuzz_rtmp.c), then
# fuzz_llhls (the origin's LL-HLS directives and playlists; seeds in
# seeds-llhls/), then fuzz_beacon (POST /v1/beacons bodies, which need no
# token, and their aggregation; seeds beacon_* in seeds/), then fuzz_chat
# (what a chat viewer sends on a channel's WebSocket; seeds chat_*).
# Exits 0 when no input crashed, leaked or broke one of the target's
# checks; otherwise non-zero, with the input under fuzz-artifacts/.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${EB_FUZZ_BUILD:-$root/build-fuzz-api}
seconds=${EB_FUZZ_SECONDS:-60}
cc=${EB_FUZZ_CC:-clang}

command -v "$cc" >/dev/null 2>&1 || { echo "run.sh: $cc not found" >&2; exit 1; }

mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="$cc" -DEB_FUZZ=ON -DBUILD_TESTING=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --target fuzz_job_request fuzz_channel_request fuzz_rtmp fuzz_llhls \
    fuzz_beacon fuzz_chat -j2

corpus="$build/fuzz-corpus"
artifacts="$build/fuzz-artifacts"
mkdir -p "$corpus" "$artifacts"
dict="$build/fuzz-job-request.dict"
for k in input video_id overwrite ladder format segment_seconds preset backend fallback \
         priority rungs name height bitrate audio cmaf ts upload: veryslow software auto none \
         source storage_root input_roots config thumbnails thumbnail_at threads secrets \
         stream_key maxrate bufsize codec profile max_fps channels hevc h264 \
         encryption scheme key_provider store cenc cbcs aes-128; do
    echo "\"$k\""
done >"$dict"

"$build/api/fuzz/fuzz_job_request" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -dict="$dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    "$corpus" "$here/seeds"

corpus="$build/fuzz-corpus-channel"
mkdir -p "$corpus"
dict="$build/fuzz-channel-request.dict"
for k in name ladder preset segment_seconds window_seconds reconnect_window_seconds record \
         default veryfast ch_ true false null; do
    echo "\"$k\""
done >"$dict"

"$build/api/fuzz/fuzz_channel_request" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -dict="$dict" -artifact_prefix="$artifacts/channel-" -print_final_stats=1 \
    "$corpus" "$here/seeds"

corpus="$build/fuzz-corpus-rtmp"
mkdir -p "$corpus"
dict="$build/fuzz-rtmp.dict"
for k in connect publish createStream releaseStream FCPublish FCUnpublish deleteStream \
         @setDataFrame onMetaData videocodecid audiocodecid live app; do
    echo "\"$k\""
done >"$dict"

"$build/api/fuzz/fuzz_rtmp" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -dict="$dict" -artifact_prefix="$artifacts/rtmp-" -print_final_stats=1 \
    "$corpus"

corpus="$build/fuzz-corpus-llhls"
mkdir -p "$corpus"
dict="$build/fuzz-llhls.dict"
for k in "#EXTM3U" "#EXTINF:" "#EXT-X-PART:" "#EXT-X-PRELOAD-HINT:" "#EXT-X-SERVER-CONTROL:" \
         "#EXT-X-PART-INF:" "#EXT-X-MEDIA-SEQUENCE:" "#EXT-X-SKIP:" "#EXT-X-ENDLIST" \
         "#EXT-X-DISCONTINUITY" "#EXT-X-PROGRAM-DATE-TIME:" "#EXT-X-DATERANGE:" "#EXT-X-KEY:" \
         "#EXT-X-MAP:" CAN-BLOCK-RELOAD=YES CAN-SKIP-UNTIL= PART-TARGET= INDEPENDENT=YES \
         URI= DURATION= TYPE=PART YES v2 ../ %2e; do
    printf '"%s"\n' "$k"
done >"$dict"

"$build/api/fuzz/fuzz_llhls" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -dict="$dict" -artifact_prefix="$artifacts/llhls-" -print_final_stats=1 \
    "$corpus" "$here/seeds-llhls"

corpus="$build/fuzz-corpus-beacon"
mkdir -p "$corpus"
dict="$build/fuzz-beacon.dict"
for k in video_id channel_id session_id event rendition startup_ms rebuffers rebuffer_ms \
         switches watched_s latency_s error start heartbeat rebuffer switch end; do
    echo "\"$k\""
done >"$dict"

"$build/api/fuzz/fuzz_beacon" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -dict="$dict" -artifact_prefix="$artifacts/beacon-" -print_final_stats=1 \
    "$corpus" "$here/seeds"

corpus="$build/fuzz-corpus-chat"
mkdir -p "$corpus"
dict="$build/fuzz-chat.dict"
for k in type message reaction delete name text emoji id token ping '\\u0000' '\\n' ' '; do
    printf '"%s"\n' "$k"
done >"$dict"
printf '"\xf0\x9f\x91\x8d"\n"\xe2\x9d\xa4\xef\xb8\x8f"\n' >>"$dict"

"$build/api/fuzz/fuzz_chat" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -dict="$dict" -artifact_prefix="$artifacts/chat-" -print_final_stats=1 \
    "$corpus" "$here/seeds"
