#!/bin/bash
# A/B of one option of the W3 raw liburing HTTP server
# (benchmark/net/raw_http_server.cpp): w3_http_raw_liburing with and
# without the variant's environment variable, under `wrk -t1 -d5s` at 5, 50
# and 500 connections, server on core 0 and wrk on core 1, the two alternated
# within each round (order flipped from round to round), each against a
# fresh server after a 1 s warm-up. Prints requests/s per pair and the
# median of the per-pair ratios.
#
#   benchmark/net/raw_http_ab.sh [--variant poll_first|multishot]
#       [--rounds N] [--build-dir DIR]
#
# Variants: poll_first (RAW_HTTP_POLL_FIRST: IORING_RECVSEND_POLL_FIRST on
# recvs after a drained socket), multishot (RAW_HTTP_MULTISHOT: one
# multishot recv per connection over a provided-buffer ring).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
rounds=5
variant=poll_first
build_dir=$repo/build-net-bench
while [ $# -gt 0 ]; do
  case $1 in
  --variant) variant=$2; shift 2 ;;
  --rounds) rounds=$2; shift 2 ;;
  --build-dir) build_dir=$2; shift 2 ;;
  *) echo "raw_http_ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case $variant in
poll_first) env_var=RAW_HTTP_POLL_FIRST ;;
multishot) env_var=RAW_HTTP_MULTISHOT ;;
*) echo "raw_http_ab.sh: --variant is poll_first or multishot" >&2; exit 2 ;;
esac
for tool in wrk taskset python3; do
  command -v $tool >/dev/null || { echo "raw_http_ab.sh: $tool is needed" >&2; exit 1; }
done
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"${JOBS:-1}" --target w3_http_raw_liburing >/dev/null
exe=$build_dir/benchmark/net/w3_http_raw_liburing

# One measurement: prints requests/s. $1: 1 for the variant; $2:
# connections.
run() {
  local out pid port=""
  out=$(mktemp)
  if [ "$1" = 1 ]; then
    env "$env_var=1" taskset -c 0 "$exe" 0 >"$out" 2>&1 &
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
    echo "round $r conns $c plain $a $variant $b" | tee -a "$results"
  done
done
python3 - "$results" "$variant" <<'PY'
import statistics, sys
ratios = {}
for line in open(sys.argv[1]):
    f = line.split()
    ratios.setdefault(int(f[3]), []).append(float(f[7]) / float(f[5]))
for c in sorted(ratios):
    v = sorted(ratios[c])
    print(f"conns {c}: {sys.argv[2]} / plain median {statistics.median(v):.2f} "
          f"(per-round {', '.join(f'{x:.2f}' for x in v)})")
PY
