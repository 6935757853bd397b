#!/bin/sh
# Builds the config loader's fuzz target with clang in its own build dir
# (build-fuzz/ at the repository root, or $EB_FUZZ_BUILD) and runs it for
# $EB_FUZZ_SECONDS (default 60) seconds, seeded with the generated example
# file and firmware-config/fuzz/seeds/. Exits 0 when no input crashed,
# leaked or broke one of the target's checks; otherwise non-zero, with the
# input saved under the build dir's fuzz-artifacts/.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${EB_FUZZ_BUILD:-$root/build-fuzz}
seconds=${EB_FUZZ_SECONDS:-60}
cc=${EB_FUZZ_CC:-clang}

command -v "$cc" >/dev/null 2>&1 || { echo "run.sh: $cc not found" >&2; exit 1; }

mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="$cc" -DEB_FUZZ=ON -DBUILD_TESTING=OFF \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --target fuzz_config -j2

target="$build/firmware-config/fuzz/fuzz_config"
corpus="$build/fuzz-corpus"
artifacts="$build/fuzz-artifacts"
mkdir -p "$corpus" "$artifacts"
cp "$root/firmware-config/encbox.example.yaml" "$corpus/example.yaml"

# Dictionary: every key the example file uses, so the fuzzer starts from
# real setting names (derived from the generated file, so it cannot drift).
dict="$build/fuzz-config.dict"
sed -n 's/^ *-\{0,1\} *\([a-z_]*\):.*/\1/p' "$root/firmware-config/encbox.example.yaml" |
    sort -u | sed 's/.*/"&:"/' >"$dict"

"$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -dict="$dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    "$corpus" "$here/seeds"
