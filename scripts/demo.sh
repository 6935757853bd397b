#!/usr/bin/env bash
# The main job on a built-in default: installs what is missing, builds,
# generates a 10 s 1080p30 test source with audio, runs it through the
# default ladder (1080p/720p/480p/360p + AAC, CMAF for HLS and DASH), and
# tells you where the output is and how to watch it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$PWD/out}

scripts/install-deps.sh
if [ ! -d tests/playback/node_modules ]; then
  (cd tests/playback && npm ci --no-audit --no-fund --loglevel=error) || true
fi
# the web console's player (hls.js), copied beside the binary by the build
if [ ! -d api/console/node_modules ]; then
  (cd api/console && npm ci --no-audit --no-fund --loglevel=error) || true
fi
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build/release -j"$(nproc)" --target encbox > build/release/build.log 2>&1 || {
  cat build/release/build.log
  exit 1
}

mkdir -p "$out/sources"
src="$out/sources/demo.mp4"
if [ ! -s "$src" ]; then
  echo "demo: generating a 10 s 1080p30 test source: $src"
  ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" -ac 2 -t 10 \
    -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -c:a aac -b:a 192k -shortest "$src"
fi
build/release/encbox transcode "$src" -o "$out" --id demo --overwrite
cat <<EOT

Output: $out/videos/demo/
  HLS master playlist: $out/videos/demo/hls/master.m3u8
  DASH manifest:       $out/videos/demo/dash/manifest.mpd
  Thumbnails:          $out/videos/demo/thumbnails/ (thumb_001.jpg, sprite_001.jpg, thumbnails.vtt)

Watch it in a browser (hls.js with a rung picker, Shaka for DASH, sprite
previews while scrubbing):
  node scripts/watch.mjs $out/videos/demo      then open http://127.0.0.1:8000/
or with ffmpeg's player:
  ffplay $out/videos/demo/hls/master.m3u8
EOT
