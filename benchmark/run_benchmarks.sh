#!/bin/bash
# Builds the benchmarks (Release) and runs W1 and W4 interleaved, then
# prints the tables and writes them into doc/benchmarks.md.
#
#   benchmark/run_benchmarks.sh [--rounds N] [--min-time S] [--size-mib N]
#                               [--block-kib N] [--build-dir DIR] [--no-doc]
#                               [--no-syscalls]
#
# Protocol (the brief, section 3): every variant runs once per round, in an
# order rotated from round to round; each run re-reads its file right before
# measuring (page-cache pages idle for about a minute get reclaimed here);
# the tables give medians over the rounds with min-max, and ratios computed
# within each round. Defaults: 7 rounds, 0.5 s minimum per run, a 1 GiB
# file of 32 KiB blocks; about 4 minutes on a quiet 2-core machine. Then
# one more run of the main variants under perf stat counts system calls
# per operation (skipped when perf or its syscall tracepoints are missing).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
rounds=7
min_time=0.5
size_mib=1024
block_kib=32
build_dir=$repo/build-bench
write_doc=1
syscalls=1

while [ $# -gt 0 ]; do
  case $1 in
  --rounds) rounds=$2; shift 2 ;;
  --min-time) min_time=$2; shift 2 ;;
  --size-mib) size_mib=$2; shift 2 ;;
  --block-kib) block_kib=$2; shift 2 ;;
  --build-dir) build_dir=$2; shift 2 ;;
  --no-doc) write_doc=0; shift ;;
  --no-syscalls) syscalls=0; shift ;;
  -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
  *) echo "run_benchmarks.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command="benchmark/run_benchmarks.sh --rounds $rounds --min-time $min_time --size-mib $size_mib --block-kib $block_kib"

command -v python3 >/dev/null || { echo "python3 is needed for the tables" >&2; exit 1; }

echo "== building (Release) in $build_dir"
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"${JOBS:-1}" --target file_checksum bench_w1 \
  bench_w4 bench_boost_uring bench_boost_uring_noepoll

bin=$build_dir/benchmark
file=${TMPDIR:-/tmp}/asio_uring_bench_${size_mib}M.bin
results=$(mktemp -d "${TMPDIR:-/tmp}/asio_uring_bench_results_XXXXXX")
echo "== results in $results"

# The commit measured: BENCH_COMMIT when set (e.g. for a `git archive`
# export, which has no .git), else the checkout's HEAD and whether the
# sources differ from it.
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
  echo "Command: \`$command\` ($rounds rounds, $min_time s minimum per run;" \
    "W1 file ${size_mib} MiB in ${block_kib} KiB blocks; W4 10000 round trips per iteration)."
  echo
} >"$results/machine.txt"

# The flagship demo first: it also generates the W1 file if missing.
echo "== flagship demo"
"$build_dir/example/file_checksum" --file "$file" --size "$size_mib" \
  --block "$block_kib" | tee "$results/demo.txt"

variants=(
  "bench_w1 BM_W1_asio_uring"
  "bench_w1 BM_W1_thread_pool"
  "bench_boost_uring BM_W1_boost_uring"
  "bench_boost_uring_noepoll BM_W1_boost_uring_noepoll"
  "bench_w1 BM_W1_raw_liburing"
  "bench_w1 BM_W1_raw_liburing_coop"
  "bench_w1 BM_W1_asio_uring_single_issuer"
  "bench_w1 BM_W1_raw_liburing_defer"
  "bench_w1 BM_W1_read"
  "bench_w4 BM_W4_post_asio_uring"
  "bench_w4 BM_W4_post_asio_uring_hint1"
  "bench_w4 BM_W4_post_boost_asio"
  "bench_w4 BM_W4_post_boost_asio_reactor"
  "bench_w4 BM_W4_read1_asio_uring"
  "bench_w4 BM_W4_read1_asio_uring_hint1"
  "bench_boost_uring BM_W4_read1_boost_uring"
  "bench_boost_uring_noepoll BM_W4_read1_boost_uring_noepoll"
  "bench_w4 BM_W4_read1_raw_liburing"
  "bench_w4 BM_W4_read1_raw_liburing_coop"
  "bench_w4 BM_W4_nop_raw_liburing"
  "bench_w4 BM_W4_nop_raw_liburing_coop"
  "bench_w4 BM_W4_read1_pread"
  "bench_w4 BM_W4_read1_asio_uring_qd32"
  "bench_w4 BM_W4_read1_raw_liburing_coop_qd32"
)
n=${#variants[@]}

start=$SECONDS
for ((r = 1; r <= rounds; r++)); do
  echo "== round $r/$rounds ($((SECONDS - start)) s)"
  for ((i = 0; i < n; i++)); do
    read -r program name <<<"${variants[$(((i + r - 1) % n))]}"
    if ! "$bin/$program" --benchmark_filter="^${name}/real_time\$" \
        --benchmark_min_time="$min_time" --benchmark_format=json \
        --file="$file" --size_mib="$size_mib" --block_kib="$block_kib" \
        >"$results/r${r}_${name}.json" 2>"$results/r${r}_${name}.err"; then
      echo "   $name failed: $(tail -1 "$results/r${r}_${name}.err")" >&2
    fi
  done
done
echo "== done in $((SECONDS - start)) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# System calls per operation, counted with perf's syscall tracepoints in one
# extra run of each variant that talks to the kernel through a loop.
events=syscalls:sys_enter_io_uring_enter,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_futex,syscalls:sys_enter_pread64
if [ "$syscalls" = 1 ] && command -v perf >/dev/null \
    && perf stat -x, -e "$events" true >/dev/null 2>&1; then
  echo "== counting system calls (perf stat)"
  for v in "bench_w1 BM_W1_asio_uring" "bench_w1 BM_W1_thread_pool" \
      "bench_boost_uring BM_W1_boost_uring" \
      "bench_boost_uring_noepoll BM_W1_boost_uring_noepoll" \
      "bench_w1 BM_W1_raw_liburing_coop" \
      "bench_w4 BM_W4_post_asio_uring" "bench_w4 BM_W4_post_boost_asio_reactor" \
      "bench_w4 BM_W4_read1_asio_uring" "bench_boost_uring BM_W4_read1_boost_uring" \
      "bench_boost_uring_noepoll BM_W4_read1_boost_uring_noepoll" \
      "bench_w4 BM_W4_read1_raw_liburing_coop"; do
    read -r program name <<<"$v"
    perf stat -x, -o "$results/sys_${name}.csv" -e "$events" -- \
      "$bin/$program" --benchmark_filter="^${name}/real_time\$" \
      --benchmark_min_time=0.2 --benchmark_format=json --file="$file" \
      --size_mib="$size_mib" --block_kib="$block_kib" \
      >"$results/sys_${name}.json" 2>/dev/null || echo "   $name failed under perf" >&2
  done
else
  echo "== perf with syscall tracepoints unavailable: no system-call table"
fi
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)." >>"$results/machine.txt"

table=$(python3 "$repo/benchmark/summarize.py" "$results")
echo
echo "$table"

doc=$repo/doc/benchmarks.md
if [ "$write_doc" = 1 ]; then
  if grep -q '^<!-- results:begin -->$' "$doc" 2>/dev/null \
      && grep -q '^<!-- results:end -->$' "$doc"; then
    python3 - "$doc" "$table" <<'EOF'
import sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
head, rest = text.split("<!-- results:begin -->\n", 1)
_, tail = rest.split("<!-- results:end -->", 1)
open(path, "w").write(head + "<!-- results:begin -->\n" + table + "\n"
                      + "<!-- results:end -->" + tail)
EOF
    echo "== wrote $doc"
  else
    echo "== $doc has no results markers; not written" >&2
  fi
fi
