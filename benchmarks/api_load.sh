#!/usr/bin/env bash
# Load benchmark of `encbox serve`: requests per second and latency of
#   1. GET /v1/jobs (the job list an orchestrator polls, with the token),
#   2. GET /videos/<id>/cmaf/<rung>/segment_001.m4s (the origin, whole file),
#   3. the same segment with a Range header (what players and CDNs send),
#   4. GET /v1/health (the floor: no SQLite, no file).
# It starts its own daemon on a free loopback port with a scratch storage
# tree, submits a few small jobs so the list and the origin have something
# to serve, waits for them, then runs wrk against each URL.
#
#   benchmarks/api_load.sh [--encbox PATH] [--seconds S] [--connections C]
#                          [--threads T] [--jobs N]
#
# Needs wrk, curl and ffmpeg (the test source); scripts/install-deps.sh
# installs them.
# wrk runs on the same box as the daemon, so on a small machine the two
# share the cores: the figures are for comparing runs on one box.
set -euo pipefail
cd "$(dirname "$0")/.."

encbox=build-bench/encbox
seconds=10
connections=16
threads=2
jobs=5
while [ $# -gt 0 ]; do
  case $1 in
    --encbox) encbox=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "api_load: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in wrk ffmpeg curl; do
  command -v "$tool" > /dev/null || { echo "api_load: needs $tool (apt-get install $tool)" >&2; exit 2; }
done
if [ ! -x "$encbox" ]; then
  echo "api_load: no $encbox; build first:" >&2
  echo "  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2" >&2
  exit 2
fi

work=$(mktemp -d /tmp/encbox-api-load.XXXXXX)
daemon=""
cleanup() {
  [ -n "$daemon" ] && kill "$daemon" 2> /dev/null && wait "$daemon" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/in" "$work/storage"
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" > "$work/token"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
auth="Authorization: Bearer $token"

ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=640x360:rate=30:duration=6 \
  -f lavfi -i sine=frequency=440:duration=6 -c:v libx264 -preset veryfast -pix_fmt yuv420p \
  -c:a aac -shortest "$work/in/src.mp4"

"$encbox" serve --listen "127.0.0.1:$port" --storage "$work/storage" --input-root "$work/in" \
  --token-file "$work/token" --db "$work/jobs.db" > "$work/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do
  curl -sf "$base/v1/health" > /dev/null && break
  sleep 0.1
done
curl -sf "$base/v1/health" > /dev/null || { echo "api_load: the daemon did not start:" >&2; cat "$work/daemon.log" >&2; exit 1; }

ids=()
for i in $(seq "$jobs"); do
  body="{\"input\":\"$work/in/src.mp4\",\"video_id\":\"load$i\"}"
  id=$(curl -sf -H "$auth" -d "$body" "$base/v1/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  ids+=("$id")
done
echo "api_load: $jobs jobs submitted; waiting for them (6 s 360p each) ..." >&2
for id in "${ids[@]}"; do
  for _ in $(seq 600); do
    state=$(curl -sf -H "$auth" "$base/v1/jobs/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    case $state in succeeded) break ;; failed | canceled) echo "api_load: job $id $state" >&2; exit 1 ;; esac
    sleep 0.5
  done
  [ "$state" = succeeded ] || { echo "api_load: job $id still $state" >&2; exit 1; }
done

seg=$(cd "$work/storage/videos/load1/cmaf" && ls -d */segment_001.m4s | head -1)
seg_url="$base/videos/load1/cmaf/$seg"
list_bytes=$(curl -sf -H "$auth" "$base/v1/jobs" | wc -c)
seg_bytes=$(curl -sf "$seg_url" | wc -c)

# wrk -s: one header more for the Range run
cat > "$work/range.lua" << 'EOF'
wrk.headers["Range"] = "bytes=0-65535"
EOF

run() { # label, extra wrk args...
  local label=$1
  shift
  local out
  out=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency "$@")
  local rps lat p99 non2xx xfer
  rps=$(awk '/^Requests\/sec/ {print $2}' <<< "$out")
  xfer=$(awk '/^Transfer\/sec/ {print $2}' <<< "$out")
  lat=$(awk '/^    Latency/ {print $2}' <<< "$out")
  p99=$(awk '/^ +99%/ {print $2}' <<< "$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<< "$out")
  printf '%-44s %12s %10s %10s %10s %8s\n' "$label" "$rps" "$xfer" "$lat" "$p99" "${non2xx:-0}"
}

echo
echo "encbox serve under wrk -t$threads -c$connections -d${seconds}s, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(git rev-parse --short HEAD 2> /dev/null || echo '?')"
printf '%-44s %12s %10s %10s %10s %8s\n' "request" "requests/s" "bytes/s" "mean" "p99" "non-2xx"
run "GET /v1/health" "$base/v1/health"
run "GET /v1/jobs ($jobs jobs, $list_bytes B, token)" -H "$auth" "$base/v1/jobs"
run "GET segment_001.m4s ($seg_bytes B)" "$seg_url"
run "GET segment_001.m4s, Range 0-65535" -s "$work/range.lua" "$seg_url"
echo "(wrk and the daemon share this machine's cores)"
