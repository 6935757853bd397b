#!/usr/bin/env bash
# Real-browser playback of encrypted outputs (issue 16).
#
#   run_protected.sh ENCBOX_BINARY WORKDIR
#
# Starts `encbox serve` with an API token on free loopback ports, submits
# four jobs of one short clip over the API (cenc and cbcs CMAF, AES-128 TS
# and CMAF), and plays them with protect.mjs from another origin: hls.js
# fetching the AES-128 key with the token, Shaka Player and dash.js getting
# ClearKey licenses from the daemon; without the token, and with a wrong
# key, playback must fail. Last, /metrics must have counted the license
# and key requests. The machinery (daemon, cleanup) is env.sh's.
# Exit: 0 passed, 1 failed, 2 bad usage, 77 skipped (no node_modules,
# node, ffmpeg or Chromium on this machine).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -eq 2 ] || { echo "usage: run_protected.sh ENCBOX_BINARY WORKDIR" >&2; exit 2; }
ENCBOX=$1
WORK=$2
PB_NAME=playback_protected
PLAY_TIMEOUT=${PLAYBACK_TOTAL_TIMEOUT:-240}
# shellcheck source=tests/playback/env.sh
. "$HERE/env.sh"

pb_requirements --no-srt playwright-core hls.js shaka-player dashjs
WORK=$(mkdir -p "$WORK" && cd "$WORK" && pwd)
pb_prepare
PB_TOKEN=protected-playback-$RANDOM$RANDOM
export PB_TOKEN
(umask 077 && echo "$PB_TOKEN" >"$WORK/token")
cat >>"$CONFIG" <<YAML
api:
  token_files: [$WORK/token]
inputs:
  roots: [$WORK]
YAML
SRC=$WORK/src.mp4
ffmpeg -nostdin -hide_banner -loglevel error -y \
    -f lavfi -i testsrc2=size=640x360:rate=30:duration=4 \
    -f lavfi -i sine=frequency=440:sample_rate=48000:duration=4 \
    -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 96k -shortest "$SRC"

pb_daemon
declare -A IDS
submit() { # NAME FORMAT SCHEME
    local job
    job=$(api POST /v1/jobs "{\"input\":\"$SRC\",\"video_id\":\"p_$1\",\"format\":\"$2\",\"segment_seconds\":2,\"encryption\":{\"scheme\":\"$3\"}}") || {
        fail "job-$1" "POST /v1/jobs was refused"
        return 1
    }
    IDS[$1]=$(jget "$job" o.id)
}
submit cenc cmaf cenc
submit cbcs cmaf cbcs
submit aes_ts ts aes-128
submit aes_cmaf cmaf aes-128
JOBS="{"
sep=
for k in cenc cbcs aes_ts aes_cmaf; do
    deadline=$((SECONDS + 180))
    state=
    while [ $SECONDS -lt $deadline ]; do
        job=$(api GET "/v1/jobs/${IDS[$k]}")
        state=$(jget "$job" o.state)
        case $state in succeeded | failed | canceled) break ;; esac
        sleep 0.5
    done
    if [ "$state" != succeeded ]; then
        fail "job-$k" "state '$state': $(jget "$job" o.error)"
        sed 's/^/#   daemon: /' "$DAEMON_LOG" | tail -10
        exit 1
    fi
    note "job $k: encryption $(jget "$job" o.encryption), outputs $(jget "$job" o.outputs)"
    JOBS="$JOBS$sep\"$k\":$job"
    sep=,
done
JOBS="$JOBS}"

rc=0
run_node "$HERE/protect.mjs" "$ORIGIN" "$PB_TOKEN" "$JOBS" --total-timeout "$PLAY_TIMEOUT" || rc=$?
metrics=$(api GET /metrics)
granted=$(echo "$metrics" | sed -n 's/^encbox_key_requests_total{endpoint="license",result="granted"} //p')
refused=$(echo "$metrics" | sed -n 's/^encbox_key_requests_total{endpoint="license",result="unauthorized"} //p')
keys=$(echo "$metrics" | sed -n 's/^encbox_key_requests_total{endpoint="key",result="granted"} //p')
if [ "${granted:-0}" -ge 2 ] && [ "${refused:-0}" -ge 1 ] && [ "${keys:-0}" -ge 2 ]; then
    echo "PASS metrics-audit (licenses granted $granted, refused $refused; keys granted $keys)"
else
    fail metrics-audit "encbox_key_requests_total: licenses granted ${granted:-?}, refused ${refused:-?}, keys granted ${keys:-?}"
    rc=1
fi
[ $fails -eq 0 ] || rc=1
exit $rc
