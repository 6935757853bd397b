#!/usr/bin/env bash
# Head-to-head: encbox's default ladder against the ffmpeg command line doing
# the same ladder (decode once, split + scale, libx264 with the same preset,
# bitrates, maxrate/bufsize and GOP, 6 s fMP4 HLS segments), alternating
# runs on the same source. Prints wall time, CPU time and peak RSS of each
# run and the encbox/ffmpeg ratios of the medians.
#
#   benchmarks/ladder_vs_ffmpeg.sh [--runs N] [--seconds S] [--preset P] [--input FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=2 seconds=20 preset=veryfast input=""
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --preset) preset=$2; shift 2 ;;
    --input) input=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--seconds S] [--preset P] [--input FILE]" >&2; exit 2 ;;
  esac
done
work=${BENCH_DIR:-/tmp/encbox-bench}
mkdir -p "$work"
bin=build/release/encbox
if [ ! -x "$bin" ]; then
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release > /dev/null
  cmake --build build/release -j"$(nproc)" --target encbox > /dev/null
fi
if [ -z "$input" ]; then
  input=$work/src-1080p30-${seconds}s.mp4
  if [ ! -s "$input" ]; then
    ffmpeg -nostdin -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30" \
      -f lavfi -i "sine=frequency=440:sample_rate=48000" -ac 2 -t "$seconds" \
      -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -c:a aac -b:a 192k -shortest "$input"
  fi
fi

run_encbox() {
  rm -rf "$work/encbox-out"
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" \
    "$bin" transcode "$input" -o "$work/encbox-out" --id bench --preset "$preset" -q > /dev/null
}

run_ffmpeg() {
  rm -rf "$work/ffmpeg-out"
  mkdir -p "$work/ffmpeg-out"
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" \
    ffmpeg -nostdin -v error -y -i "$input" \
    -filter_complex "[0:v]split=4[a][b][c][d];[b]scale=1280:720[b2];[c]scale=854:480[c2];[d]scale=640:360[d2]" \
    -map "[a]" -map "[b2]" -map "[c2]" -map "[d2]" -map 0:a:0 \
    -c:v libx264 -preset "$preset" -pix_fmt yuv420p \
    -b:v:0 5000k -maxrate:v:0 5350k -bufsize:v:0 7500k \
    -b:v:1 2500k -maxrate:v:1 2675k -bufsize:v:1 3750k \
    -b:v:2 1000k -maxrate:v:2 1070k -bufsize:v:2 1500k \
    -b:v:3 600k -maxrate:v:3 642k -bufsize:v:3 900k \
    -g 181 -keyint_min 181 -sc_threshold 0 -force_key_frames "expr:gte(t,n_forced*6)" \
    -c:a aac -b:a 128k \
    -f hls -hls_time 6 -hls_playlist_type vod -hls_segment_type fmp4 \
    -var_stream_map "v:0,agroup:aud v:1,agroup:aud v:2,agroup:aud v:3,agroup:aud a:0,agroup:aud" \
    -master_pl_name master.m3u8 -hls_segment_filename "$work/ffmpeg-out/%v/segment_%03d.m4s" \
    "$work/ffmpeg-out/%v/index.m3u8"
}

declare -a ew ec er fw fc fr
printf "%-8s %-4s %8s %8s %10s\n" tool run wall_s cpu_s peak_MB
for i in $(seq 1 "$runs"); do
  run_encbox
  read -r wall user sys rss < "$work/time.txt"
  ew+=("$wall") ec+=("$(awk "BEGIN{print $user + $sys}")") er+=("$rss")
  printf "%-8s %-4s %8s %8s %10.1f\n" encbox "$i" "$wall" "${ec[-1]}" "$(awk "BEGIN{print $rss / 1024}")"
  run_ffmpeg
  read -r wall user sys rss < "$work/time.txt"
  fw+=("$wall") fc+=("$(awk "BEGIN{print $user + $sys}")") fr+=("$rss")
  printf "%-8s %-4s %8s %8s %10.1f\n" ffmpeg "$i" "$wall" "${fc[-1]}" "$(awk "BEGIN{print $rss / 1024}")"
done
median() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mew=$(median "${ew[@]}") mfw=$(median "${fw[@]}")
mer=$(median "${er[@]}") mfr=$(median "${fr[@]}")
mec=$(median "${ec[@]}") mfc=$(median "${fc[@]}")
echo
echo "source: $input ($seconds s), preset $preset, $(nproc) cores, $runs alternating runs each"
printf "median wall:    encbox %6.2f s   ffmpeg %6.2f s   throughput encbox/ffmpeg = %.2fx\n" "$mew" "$mfw" "$(awk "BEGIN{print $mfw / $mew}")"
printf "median CPU:     encbox %6.2f s   ffmpeg %6.2f s   ratio %.2f\n" "$mec" "$mfc" "$(awk "BEGIN{print $mec / $mfc}")"
printf "median peak RSS encbox %6.1f MB  ffmpeg %6.1f MB  ratio %.2f\n" "$(awk "BEGIN{print $mer / 1024}")" "$(awk "BEGIN{print $mfr / 1024}")" "$(awk "BEGIN{print $mer / $mfr}")"
