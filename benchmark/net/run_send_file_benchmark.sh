#!/bin/bash
# async_send_file (splice) against async_read_some_at + async_write (1 MiB
# and 64 KiB buffers): a page-cached file sent over loopback TCP to a
# forked receiver that sums every byte. Builds in Release, runs the
# variants in rotated order for --rounds rounds, prints a markdown table of
# medians (MiB/s and the sender's CPU seconds per GiB, io-wq workers
# included).
#
#   benchmark/net/run_send_file_benchmark.sh [--rounds N] [--mib N]
#       [--build-dir DIR]
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
rounds=5
mib=1024
build_dir=$repo/build-net-bench
while [ $# -gt 0 ]; do
  case $1 in
  --rounds) rounds=$2; shift 2 ;;
  --mib) mib=$2; shift 2 ;;
  --build-dir) build_dir=$2; shift 2 ;;
  -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
  *) echo "run_send_file_benchmark.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
  -DASIO_URING_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j"${JOBS:-1}" --target send_file_bench >/dev/null
bin=$build_dir/benchmark/net/send_file_bench

results=$(mktemp "${TMPDIR:-/tmp}/asio_uring_send_file_XXXXXX")
variants=("splice" "copy 1024" "copy 64")
for round in $(seq "$rounds"); do
  for i in 0 1 2; do
    v=${variants[$(((i + round) % 3))]}
    # shellcheck disable=SC2086
    line=$("$bin" ${v%% *} "$mib" $( [ "${v#* }" != "$v" ] && echo "${v#* }" ))
    echo "$v | $line" | tee -a "$results"
    case $line in *ok=1*) ;; *) echo "transfer check failed: $line" >&2; exit 1 ;; esac
  done
done

python3 - "$results" "$mib" "$rounds" "$(git -C "$repo" rev-parse --short HEAD)" <<'PY'
import statistics, sys
path, mib, rounds, commit = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = {}
for line in open(path):
    name, kv = line.split(' | ')
    d = dict(f.split('=') for f in kv.split())
    rows.setdefault(name.strip(), []).append(
        (float(d['MiBps']), float(d['sender_cpu_s']) * 1024 / mib))
names = {'splice': 'async_send_file (splice)',
         'copy 1024': 'async_read_some_at + async_write, 1 MiB buffer',
         'copy 64': 'async_read_some_at + async_write, 64 KiB buffer'}
base = statistics.median(c for _, c in rows['copy 1024'])
print(f'commit {commit}, {mib:.0f} MiB file, {rounds} rounds, medians\n')
print('| variant | MiB/s | min-max | sender CPU s / GiB | CPU vs copy (1 MiB) |')
print('|---|--:|--:|--:|--:|')
for key in ['splice', 'copy 1024', 'copy 64']:
    r = rows[key]
    m = statistics.median(t for t, _ in r)
    c = statistics.median(c for _, c in r)
    print(f'| {names[key]} | {m:,.0f} | {min(t for t,_ in r):,.0f}-{max(t for t,_ in r):,.0f} '
          f'| {c:.3f} | {c / base:.2f} |')
PY
