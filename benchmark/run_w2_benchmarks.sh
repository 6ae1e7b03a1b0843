#!/bin/bash
# Builds the W2 random-read benchmarks and the extra W1 variants (O_DIRECT,
# read-ahead) in Release, runs them interleaved, prints the tables and
# writes them into doc/benchmarks.md (between the w2-results markers).
#
#   benchmark/run_w2_benchmarks.sh [--rounds N] [--only w1|w2]
#       [--w2-reads N] [--w2-direct-reads N] [--min-time S] [--size-mib N]
#       [--build-dir DIR] [--no-doc] [--no-syscalls]
#
# Protocol (the brief, section 3), as run_benchmarks.sh: every variant runs
# once per round as its own process, in an order rotated from round to
# round; page-cached runs re-read their files right before measuring,
# O_DIRECT runs bypass the cache; tables give medians over the rounds with
# min-max, and ratios computed within each round. W2: 4 files x 256 MiB
# (generated once in $TMPDIR or /tmp), --w2-reads (400000) timed reads per
# page-cached run and --w2-direct-reads (80000) per O_DIRECT run, at
# N = 8, 32 and 512. W1: bench_w1's 1 GiB file (page-cached) and the first
# W2 file (O_DIRECT), 32 KiB blocks, --min-time (0.5 s) per run. Defaults:
# 7 rounds, about 12 minutes on this 2-core machine. Then one more run of
# the main W2 variants under perf stat counts system calls per read.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=7
only=all
w2_reads=400000
w2_direct_reads=80000
min_time=0.5
size_mib=1024
build_dir=$repo/build-bench2
write_doc=1
syscalls=1

while [ $# -gt 0 ]; do
  case $1 in
  --rounds) rounds=$2; shift 2 ;;
  --only) only=$2; shift 2 ;;
  --w2-reads) w2_reads=$2; shift 2 ;;
  --w2-direct-reads) w2_direct_reads=$2; shift 2 ;;
  --min-time) min_time=$2; shift 2 ;;
  --size-mib) size_mib=$2; shift 2 ;;
  --build-dir) build_dir=$2; shift 2 ;;
  --no-doc) write_doc=0; shift ;;
  --no-syscalls) syscalls=0; shift ;;
  -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
  *) echo "run_w2_benchmarks.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case $only in all|w1|w2) ;; *) echo "--only takes w1 or w2" >&2; exit 2 ;; esac
command="benchmark/run_w2_benchmarks.sh --rounds $rounds --only $only --w2-reads $w2_reads --w2-direct-reads $w2_direct_reads --min-time $min_time --size-mib $size_mib"

command -v python3 >/dev/null || { echo "python3 is needed for the tables" >&2; exit 1; }

echo "== building (Release) in $build_dir"
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"${JOBS:-1}" --target bench_w1 bench_w1x \
  bench_w2 bench_w2_boost_uring bench_w2_boost_uring_noepoll

bin=$build_dir/benchmark
w1_file=${TMPDIR:-/tmp}/asio_uring_bench_${size_mib}M.bin
results=$(mktemp -d "${TMPDIR:-/tmp}/asio_uring_w2_results_XXXXXX")
echo "== results in $results"

if [ -n "${BENCH_COMMIT:-}" ]; then
  commit=$BENCH_COMMIT
elif git -C "$repo" rev-parse --short HEAD >/dev/null 2>&1; then
  commit=$(git -C "$repo" rev-parse --short HEAD)
  git -C "$repo" diff --quiet HEAD -- src include benchmark example CMakeLists.txt \
    || commit="$commit (+ uncommitted changes)"
else
  commit="unknown (not a git checkout)"
fi

{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') at commit $commit:" \
    "$(uname -sr), $(nproc) CPUs" \
    "($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)), load average" \
    "before: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Command: \`$command\` ($rounds rounds; W2: 4 files x 256 MiB," \
    "$w2_reads timed 4 KiB reads per page-cached run, $w2_direct_reads per O_DIRECT run;" \
    "W1: ${size_mib} MiB page-cached file and a 256 MiB O_DIRECT one in 32 KiB blocks," \
    "$min_time s minimum per run)."
} >"$results/machine.txt"

# "program benchmark [N]"
variants=()
if [ "$only" != w2 ]; then
  variants+=(
    "bench_w1 BM_W1_asio_uring"
    "bench_w1 BM_W1_thread_pool"
    "bench_w1 BM_W1_raw_liburing_coop"
    "bench_w1x BM_W1_asio_uring_readahead4"
    "bench_w1x BM_W1_raw_liburing_qd4"
    "bench_w1x BM_W1D_asio_uring"
    "bench_w1x BM_W1D_asio_uring_readahead4"
    "bench_w1x BM_W1D_raw_liburing"
    "bench_w1x BM_W1D_raw_liburing_qd4"
    "bench_w1x BM_W1D_thread_pool"
    "bench_w1x BM_W1D_pread"
    "bench_w2_boost_uring BM_W1D_boost_uring"
    "bench_w2_boost_uring_noepoll BM_W1D_boost_uring_noepoll"
  )
fi
if [ "$only" != w1 ]; then
  for d in W2 W2D; do
    for n in 8 32 512; do
      variants+=(
        "bench_w2 BM_${d}_asio_uring $n"
        "bench_w2 BM_${d}_asio_uring_hint1 $n"
        "bench_w2 BM_${d}_raw_liburing $n"
        "bench_w2 BM_${d}_asio_uring_registered $n"
        "bench_w2 BM_${d}_raw_liburing_registered $n"
        "bench_w2_boost_uring BM_${d}_boost_uring $n"
        "bench_w2_boost_uring_noepoll BM_${d}_boost_uring_noepoll $n"
      )
    done
    variants+=("bench_w2 BM_${d}_pread")
  done
  for n in 8 32 512; do
    variants+=("bench_w2 BM_W2_asio_uring_typed $n")
  done
  variants+=("bench_w2 BM_W2_mmap" "bench_w2 BM_W2_mmap_populate")
fi
n_variants=${#variants[@]}

run_one() {  # program name arg out_prefix [extra args...]
  local program=$1 name=$2 arg=$3 out=$4
  shift 4
  local filter="^${name}/"
  [ -n "$arg" ] && filter="^${name}/${arg}/"
  local w2_args=(--w2_reads="$w2_reads" --w2_direct_reads="$w2_direct_reads")
  [ "$program" = bench_w1 ] && w2_args=()  # bench_w1 has no W2 options
  "$@" "$bin/$program" --benchmark_filter="$filter" \
    --benchmark_min_time="$min_time" --benchmark_format=json \
    --file="$w1_file" --size_mib="$size_mib" "${w2_args[@]}" \
    >"$out.json" 2>"$out.err"
}

start=$SECONDS
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r/$rounds ($((SECONDS - start)) s, load $(cut -d' ' -f1 /proc/loadavg))"
  for ((i = 0; i < n_variants; i++)); do
    read -r program name arg <<<"${variants[$(((i + r - 1) % n_variants))]}"
    tag=$name${arg:+_N$arg}
    if ! run_one "$program" "$name" "${arg:-}" "$results/r${r}_${tag}"; then
      echo "   $tag failed: $(tail -1 "$results/r${r}_${tag}.err")" >&2
    fi
  done
done
echo "== done in $((SECONDS - start)) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

events=syscalls:sys_enter_io_uring_enter,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_futex,syscalls:sys_enter_pread64
if [ "$syscalls" = 1 ] && [ "$only" != w1 ] && command -v perf >/dev/null \
    && perf stat -x, -e "$events" true >/dev/null 2>&1; then
  echo "== counting system calls (perf stat)"
  for v in "bench_w2 BM_W2_asio_uring" "bench_w2 BM_W2_raw_liburing" \
      "bench_w2_boost_uring BM_W2_boost_uring" \
      "bench_w2_boost_uring_noepoll BM_W2_boost_uring_noepoll" \
      "bench_w2 BM_W2D_asio_uring" "bench_w2 BM_W2D_raw_liburing" \
      "bench_w2_boost_uring BM_W2D_boost_uring"; do
    for n in 32 512; do
      read -r program name <<<"$v"
      run_one "$program" "$name" "$n" "$results/sys_${name}_N$n" \
        perf stat -x, -o "$results/sys_${name}_N$n.csv" -e "$events" -- \
        || echo "   $name/$n failed under perf" >&2
    done
  done
else
  echo "== no system-call table (perf or its syscall tracepoints missing, or --only w1)"
fi
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)." >>"$results/machine.txt"

table=$(python3 "$repo/benchmark/summarize_w2.py" "$results")
echo
echo "$table"

doc=$repo/doc/benchmarks.md
if [ "$write_doc" = 1 ]; then
  if grep -q '^<!-- w2-results:begin -->$' "$doc" 2>/dev/null \
      && grep -q '^<!-- w2-results:end -->$' "$doc"; then
    python3 - "$doc" "$table" <<'EOF'
import sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
head, rest = text.split("<!-- w2-results:begin -->\n", 1)
_, tail = rest.split("<!-- w2-results:end -->", 1)
open(path, "w").write(head + "<!-- w2-results:begin -->\n" + table + "\n"
                      + "<!-- w2-results:end -->" + tail)
EOF
    echo "== wrote $doc"
  else
    echo "== $doc has no w2-results markers; not written" >&2
  fi
fi
