#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds with
# -Werror, runs every test (unit, integration, browser playback), then the
# unit and integration tests again under ASan+UBSan and the threaded ones
# under TSan, then the config and job-spec fuzzers briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT

# ctest, with its closing "N tests failed out of M" kept for the summary.
run_ctest() {
  ctest "$@" 2>&1 | tee -a "$summary"
  return "${PIPESTATUS[0]}"
}

scripts/install-deps.sh
if [ -f tests/playback/package-lock.json ]; then
  (cd tests/playback && npm ci --no-audit --no-fund --loglevel=error)
fi
# the web console's player (hls.js), copied beside the binary by the build
(cd api/console && npm ci --no-audit --no-fund --loglevel=error)

build() { # dir, cmake args...
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" -DEB_WERROR=ON "$@" > /dev/null
  cmake --build "$dir" -j"$jobs" > "$dir/build.log" 2>&1 || {
    cat "$dir/build.log"
    return 1
  }
}

echo "== build and test (RelWithDebInfo, -Werror)"
build build/ci -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_ctest --test-dir build/ci --output-on-failure -j"$jobs"

echo "== ASan + UBSan"
build build/asan -DCMAKE_BUILD_TYPE=Debug -DEB_SANITIZE=address,undefined
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS="suppressions=$root/tests/lsan.supp" UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_ctest --test-dir build/asan --output-on-failure -LE playback -j"$jobs"

echo "== TSan (threaded tests)"
build build/tsan -DCMAKE_BUILD_TYPE=Debug -DEB_SANITIZE=thread
TSAN_OPTIONS="halt_on_error=1 suppressions=$root/tests/tsan.supp" \
  run_ctest --test-dir build/tsan --output-on-failure -L threaded

if [ -x firmware-config/fuzz/run.sh ]; then
  echo "== config fuzzer (brief)"
  EB_FUZZ_SECONDS=${EB_FUZZ_SECONDS:-30} firmware-config/fuzz/run.sh
fi
if [ -x api/fuzz/run.sh ]; then
  echo "== API fuzzers: job requests and specs, channels, RTMP, LL-HLS, beacons, chat (brief)"
  EB_FUZZ_SECONDS=${EB_FUZZ_API_SECONDS:-20} api/fuzz/run.sh
fi
echo "== all tests passed"
awk '/tests failed out of/ { failed += $(NF-4); total += $NF }
     END { printf "%d passed, %d failed\n", total - failed, failed }' "$summary"
