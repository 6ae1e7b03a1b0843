#!/bin/bash
# User-space instructions per W4 round trip, counted by callgrind: each
# variant runs twice (--ops 20000 and 60000 round trips in one iteration),
# and the difference of the two totals over 40,000 is the cost of one round
# trip, start-up and warm-up excluded. Instructions are deterministic where
# time on these machines is not, so this is how the scheduler's per-operation
# work is compared between commits.
#
#   benchmark/callgrind_w4.sh [--build-dir DIR] [filter...]
#
# Default filters: the post and 1-byte read round trips of asio_uring (both
# context set-ups), Boost.Asio's post and raw liburing's read. Builds
# bench_w4 in DIR (default build-bench, Release) first. Needs valgrind.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$repo/build-bench
if [ "${1:-}" = "--build-dir" ]; then
  build_dir=$2
  shift 2
fi
filters=("$@")
if [ ${#filters[@]} -eq 0 ]; then
  filters=(BM_W4_post_asio_uring BM_W4_post_asio_uring_hint1
    BM_W4_post_boost_asio BM_W4_read1_asio_uring BM_W4_read1_asio_uring_hint1
    BM_W4_read1_raw_liburing_coop)
fi
command -v valgrind >/dev/null || { echo "callgrind_w4.sh: valgrind is needed" >&2; exit 1; }
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"${JOBS:-1}" --target bench_w4 >/dev/null
bin=$build_dir/benchmark/bench_w4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
total() {
  valgrind --tool=callgrind --callgrind-out-file="$work/out" "$bin" \
    --benchmark_filter="^$1/" --benchmark_min_time=0.000001 --ops="$2" \
    >/dev/null 2>&1
  awk '/^(summary|totals):/ { print $2; exit }' "$work/out"
}
echo "commit $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD || echo ' (with uncommitted changes)')"
printf '| %-34s | %s |\n' variant "instructions per round trip"
printf '|%s|%s|\n' "---" "--:"
for f in "${filters[@]}"; do
  a=$(total "$f" 20000)
  b=$(total "$f" 60000)
  printf '| %-34s | %d |\n' "$f" $(( (b - a) / 40000 ))
done
