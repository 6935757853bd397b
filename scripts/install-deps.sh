#!/usr/bin/env bash
# Installs the Debian 12 packages encbox builds, tests and runs with, when
# they are missing. Safe to run again: it installs nothing that is there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libavformat-dev libavcodec-dev libavfilter-dev libavutil-dev libswscale-dev libswresample-dev
  libx264-dev ffmpeg time openssl
  # benchmarks/api_load.sh drives the daemon with wrk
  wrk curl
  libcmocka-dev libyaml-dev libjansson-dev
  # ISO 639 language names and codes for audio renditions (eb_language.h)
  iso-codes
  # the mutator of the transcode fuzz test (tests/fuzz/transcode.sh)
  zzuf
  libmicrohttpd-dev libsqlite3-dev libcurl4-openssl-dev libgnutls28-dev
  # WebSocket framing of the daemon's event and chat sockets (api/eb_ws.c)
  libwslay-dev
  # a rack's shared job queue (libpq), and the server its test starts
  libpq-dev postgresql
  # the S3-compatible server of the object-storage tests (tests/rack/with-swift.sh):
  # OpenStack Swift with s3api, and the memcached its tempauth needs
  swift-proxy swift-object swift-container swift-account memcached
  # live ingest: SRT (the GnuTLS build, the one Debian's libavformat links)
  libsrt-gnutls-dev
  clang libclang-rt-dev
  libffmpeg-nvenc-dev libva-dev libvpl-dev
  # Mesa's CPU Vulkan device (lavapipe): the tests' stand-in for a GPU on
  # the hardware path (real libav hardware frames, no GPU needed)
  mesa-vulkan-drivers libvulkan1
  # the players of the playback and console tests, and the emoji of the
  # console's chat reactions in its screenshots
  chromium fonts-noto-color-emoji
  # the HTTP/2 front end for low-latency HLS (firmware-config/nghttpx.conf)
  nghttp2-proxy
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# The browser playback test needs node and npm; any install of them will do
# (Debian's, or NodeSource's nodejs, which carries its own npm).
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  missing+=(nodejs npm)
fi
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
