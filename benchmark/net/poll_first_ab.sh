#!/bin/bash
# A/B of IORING_RECVSEND_POLL_FIRST on the W3 raw liburing HTTP server:
# w3_http_raw_liburing with and without RAW_HTTP_POLL_FIRST, under
# `wrk -t1 -d5s` at 5, 50 and 500 connections, server on core 0 and wrk on
# core 1, the two variants alternated within each round (order flipped from
# round to round), each against a fresh server after a 1 s warm-up. Prints
# requests/s per pair and the median of the per-pair ratios.
#
#   benchmark/net/poll_first_ab.sh [--rounds N] [--build-dir DIR]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
rounds=5
build_dir=$repo/build-net-bench
while [ $# -gt 0 ]; do
  case $1 in
  --rounds) rounds=$2; shift 2 ;;
  --build-dir) build_dir=$2; shift 2 ;;
  *) echo "poll_first_ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in wrk taskset python3; do
  command -v $tool >/dev/null || { echo "poll_first_ab.sh: $tool is needed" >&2; exit 1; }
done
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"${JOBS:-1}" --target w3_http_raw_liburing >/dev/null
exe=$build_dir/benchmark/net/w3_http_raw_liburing

# One measurement: prints requests/s. $1: 1 for POLL_FIRST; $2: connections.
run() {
  local out pid port=""
  out=$(mktemp)
  if [ "$1" = 1 ]; then
    RAW_HTTP_POLL_FIRST=1 taskset -c 0 "$exe" 0 >"$out" 2>&1 &
  else
    taskset -c 0 "$exe" 0 >"$out" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { kill "$pid"; echo "server did not start: $(cat "$out")" >&2; exit 1; }
  taskset -c 1 wrk -t1 -c"$2" -d1s "http://127.0.0.1:$port/" >/dev/null
  taskset -c 1 wrk -t1 -c"$2" -d5s "http://127.0.0.1:$port/" \
    | awk '/Requests\/sec/ { print $2 }'
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
}

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for r in $(seq "$rounds"); do
  for c in 5 50 500; do
    if [ $((r % 2)) = 1 ]; then a=$(run 0 "$c"); b=$(run 1 "$c")
    else b=$(run 1 "$c"); a=$(run 0 "$c"); fi
    echo "round $r conns $c plain $a poll_first $b" | tee -a "$results"
  done
done
python3 - "$results" <<'PY'
import statistics, sys
ratios = {}
for line in open(sys.argv[1]):
    f = line.split()
    ratios.setdefault(int(f[3]), []).append(float(f[7]) / float(f[5]))
for c in sorted(ratios):
    v = sorted(ratios[c])
    print(f"conns {c}: poll_first / plain median {statistics.median(v):.2f} "
          f"(per-round {', '.join(f'{x:.2f}' for x in v)})")
PY
