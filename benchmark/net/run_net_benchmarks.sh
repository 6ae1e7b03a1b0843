#!/bin/bash
# W3 (HTTP keep-alive under wrk) and W5 (TCP stream checksum) for
# asio_uring against Boost.Asio (and, for W3, a raw liburing floor). Builds
# in Release, runs every variant once per round in an order rotated from
# round to round, prints the tables and writes them into doc/benchmarks.md
# (its "Network" section only).
#
#   benchmark/net/run_net_benchmarks.sh [--rounds N] [--duration S]
#       [--connections "5 50 500"] [--w5-mib N] [--build-dir DIR] [--no-doc]
#
# W3: example/net/http_server (fixed 13-byte response) built four ways:
# asio_uring; asio_uring reading with the multishot receive extension
# (HTTP_SERVER_MULTISHOT); Boost.Asio with its epoll reactor; Boost.Asio
# with its own io_uring backend for sockets (BOOST_ASIO_HAS_IO_URING +
# BOOST_ASIO_DISABLE_EPOLL); and the raw liburing floor,
# benchmark/net/raw_http_server.cpp (the same server written directly on
# liburing), run three times: its default ring (SINGLE_ISSUER |
# DEFER_TASKRUN), the same reading with one multishot recv per connection
# over a provided-buffer ring (RAW_HTTP_MULTISHOT, the floor of the
# multishot asio_uring build), and with setup flags 0 (RAW_HTTP_FLAGS=plain). The server runs on core 0,
# wrk (-t1) on core 1 (taskset), for each connection count; requests/s and
# p99 latency from wrk --latency, the server's peak RSS (VmHWM) after the
# run; ratios are against Boost.Asio epoll in the same round. CPU: the
# server's user + system time per request over the measured run, and the
# busy share of cores 0 and 1 (/proc/stat), which says whether the server
# or wrk was the one at 100%.
# W5: benchmark/net/stream_checksum, asio_uring vs Boost.Asio epoll: a
# forked sender on core 1 streams --w5-mib MiB over loopback to a receiver
# on core 0 that sums every byte (checked against the expected sum).
# Defaults: 5 rounds, 10 s per wrk run, 2048 MiB per W5 run; with
# --duration 5 --w5-mib 1024 a run takes about 14 minutes on this 2-core
# machine, the defaults longer. Ratios are taken within each round, then
# their median.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
rounds=5
duration=10
connections="5 50 500"
w5_mib=2048
build_dir=$repo/build-net-bench
write_doc=1

while [ $# -gt 0 ]; do
  case $1 in
  --rounds) rounds=$2; shift 2 ;;
  --duration) duration=$2; shift 2 ;;
  --connections) connections=$2; shift 2 ;;
  --w5-mib) w5_mib=$2; shift 2 ;;
  --build-dir) build_dir=$2; shift 2 ;;
  --no-doc) write_doc=0; shift ;;
  -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
  *) echo "run_net_benchmarks.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command="benchmark/net/run_net_benchmarks.sh --rounds $rounds --duration $duration --connections \"$connections\" --w5-mib $w5_mib"

for tool in wrk python3 taskset; do
  command -v $tool >/dev/null || { echo "run_net_benchmarks.sh: $tool is needed" >&2; exit 1; }
done

echo "== building (Release) in $build_dir"
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
  -DASIO_URING_BUILD_TESTS=OFF >/dev/null
cmake --build "$build_dir" -j"${JOBS:-1}" --target w3_http_asio_uring \
  w3_http_asio_uring_multishot w3_http_boost_epoll w3_http_boost_uring \
  w3_http_raw_liburing w5_stream_asio_uring w5_stream_boost_epoll
bin=$build_dir/benchmark/net

server_cpu=""
client_cpu=""
if [ "$(nproc)" -ge 2 ]; then
  server_cpu="taskset -c 0"
  client_cpu="taskset -c 1"
fi

results=$(mktemp "${TMPDIR:-/tmp}/asio_uring_net_bench_XXXXXX")
echo "== raw results in $results"
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "commit $commit" >>"$results"

# One wrk run against a fresh server: prints "rps p99_us rss_kib".
# raw_liburing_plain is w3_http_raw_liburing with RAW_HTTP_FLAGS=plain,
# raw_liburing_multishot the same with RAW_HTTP_MULTISHOT set.
run_w3() {
  local variant=$1 conns=$2
  local out exe=$bin/w3_http_$variant flags= multishot=
  case $variant in
  raw_liburing_plain) exe=$bin/w3_http_raw_liburing; flags=plain ;;
  raw_liburing_multishot) exe=$bin/w3_http_raw_liburing; multishot=1 ;;
  esac
  out=$(mktemp)
  if [ -n "$multishot" ]; then
    RAW_HTTP_MULTISHOT=1 $server_cpu "$exe" 0 >"$out" 2>&1 &
  else
    RAW_HTTP_FLAGS=$flags $server_cpu "$exe" 0 >"$out" 2>&1 &
  fi
  local pid=$!
  local port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    kill "$pid" 2>/dev/null || true
    echo "server $variant did not start: $(cat "$out")" >&2
    rm -f "$out"
    return 1
  fi
  local url=http://127.0.0.1:$port/
  $client_cpu wrk -t1 -c"$conns" -d1s "$url" >/dev/null  # warm-up
  # CPU over the measured run: the server process's utime + stime, and the
  # busy time of cores 0 (server) and 1 (wrk) from /proc/stat, which also
  # counts the softirq work of loopback TCP wherever it runs.
  local stat_before cpu_before report
  stat_before=$(grep -E '^cpu[01] ' /proc/stat)
  cpu_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  report=$($client_cpu wrk -t1 -c"$conns" -d"${duration}s" --latency "$url")
  local cpu_after stat_after
  cpu_after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  stat_after=$(grep -E '^cpu[01] ' /proc/stat)
  local rss
  rss=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
  REPORT=$report STAT_BEFORE=$stat_before STAT_AFTER=$stat_after \
    python3 - "$rss" "$((cpu_after - cpu_before))" "$(getconf CLK_TCK)" <<'PY'
import os, re, sys
report = os.environ['REPORT']
rps = re.search(r'Requests/sec:\s+([0-9.]+)', report).group(1)
m = re.search(r'^\s+99%\s+([0-9.]+)(us|ms|s)\s*$', report, re.M)
scale = {'us': 1, 'ms': 1000, 's': 1000000}[m.group(2)]
errors = re.search(r'Non-2xx or 3xx responses: (\d+)', report)
sock = re.search(r'Socket errors: (.*)', report)
if errors or sock:
    print('wrk reported errors:', errors and errors.group(0), sock and sock.group(0), file=sys.stderr)
requests = int(re.search(r'^\s*(\d+) requests in', report, re.M).group(1))
ticks, hz = int(sys.argv[2]), int(sys.argv[3])
def busy(text):
    # /proc/stat: user nice system idle iowait irq softirq steal ...
    out = {}
    for line in text.splitlines():
        f = line.split()
        v = [int(x) for x in f[1:9]]
        out[f[0]] = (sum(v) - v[3] - v[4] - v[7], sum(v) - v[7])
    return out
b, a = busy(os.environ['STAT_BEFORE']), busy(os.environ['STAT_AFTER'])
def pct(core):
    used, total = (a[core][0] - b[core][0]), (a[core][1] - b[core][1])
    return 100.0 * used / total if total else float('nan')
us_per_request = 1e6 * ticks / hz / requests if requests else float('nan')
print(rps, float(m.group(1)) * scale, sys.argv[1], f"{us_per_request:.2f}",
      f"{pct('cpu0'):.0f}", f"{pct('cpu1'):.0f}")
PY
}

w3_variants=(asio_uring asio_uring_multishot boost_epoll boost_uring raw_liburing
  raw_liburing_multishot raw_liburing_plain)
w5_variants=(asio_uring boost_epoll)
for round in $(seq "$rounds"); do
  echo "== round $round/$rounds"
  for conns in $connections; do
    for i in "${!w3_variants[@]}"; do
      v=${w3_variants[$(((i + round) % ${#w3_variants[@]}))]}
      line=$(run_w3 "$v" "$conns")
      echo "w3 $round $conns $v $line" | tee -a "$results"
    done
  done
  for i in 0 1; do
    v=${w5_variants[$(((i + round) % 2))]}
    line=$("$bin/w5_stream_$v" "$w5_mib")
    echo "w5 $round $line" | tee -a "$results"
    case $line in *ok=1*) ;; *) echo "W5 checksum mismatch: $line" >&2; exit 1 ;; esac
  done
done

tables=$(python3 - "$results" "$command" "$(nproc)" <<'PY'
import statistics, sys, collections
path, command, cpus = sys.argv[1], sys.argv[2], sys.argv[3]
commit = 'unknown'
w3 = collections.defaultdict(dict)   # (conns, variant) -> {round: (rps, p99, rss)}
w5 = collections.defaultdict(dict)   # variant -> {round: (MiBps, ctxsw)}
for line in open(path):
    f = line.split()
    if f[0] == 'commit':
        commit = f[1]
    elif f[0] == 'w3':
        _, rnd, conns, variant, rps, p99, rss, us, busy0, busy1 = f
        w3[(int(conns), variant)][int(rnd)] = (float(rps), float(p99), int(rss),
                                               float(us), float(busy0), float(busy1))
    elif f[0] == 'w5':
        kv = dict(x.split('=', 1) for x in f[2:])
        w5[kv['variant']][int(f[1])] = (float(kv['MiBps']), int(kv['ctx_switches']))

names = {'asio_uring': 'asio_uring',
         'asio_uring_multishot': 'asio_uring, multishot receive',
         'boost_epoll': 'Boost.Asio epoll',
         'boost_uring': 'Boost.Asio io_uring backend',
         # A bare | would end the Markdown table cell.
         'raw_liburing': 'raw liburing (SINGLE_ISSUER\\|DEFER_TASKRUN)',
         'raw_liburing_multishot': 'raw liburing, multishot receive',
         'raw_liburing_plain': 'raw liburing, setup flags 0'}
def spread(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"
def ratio(a, b):
    rounds = sorted(set(a) & set(b))
    return statistics.median(a[r][0] / b[r][0] for r in rounds) if rounds else float('nan')

out = []
out.append(f"Produced by `{command}` at commit {commit} ({cpus} CPUs; server "
           "pinned to core 0, load generator to core 1; shared machine).")
out.append("")
out.append("**W3, HTTP/1.1 keep-alive, fixed 13-byte response** (`wrk -t1 --latency`; "
           "ratio = requests/s over Boost.Asio epoll's in the same round, median over rounds)")
out.append("")
out.append("| connections | server | requests/s median (min-max) | ratio vs epoll | p99 latency, us median (min-max) | server peak RSS, KiB median |")
out.append("|---|---|---|---|---|---|")
def w3_rows():
    """(connections, variant, per-round results, epoll's) in table order."""
    for conns in sorted({c for c, _ in w3}):
        base = w3.get((conns, 'boost_epoll'), {})
        for v in ('asio_uring', 'asio_uring_multishot', 'boost_epoll', 'boost_uring',
                  'raw_liburing', 'raw_liburing_multishot', 'raw_liburing_plain'):
            if w3.get((conns, v)):
                yield conns, v, w3[(conns, v)], base

for conns, v, d, base in w3_rows():
    rps = [x[0] for x in d.values()]
    p99 = [x[1] for x in d.values()]
    rss = [x[2] for x in d.values()]
    out.append(f"| {conns} | {names[v]} | {spread(rps, '{:.0f}')} | {ratio(d, base):.2f} | "
               f"{spread(p99, '{:.0f}')} | {statistics.median(rss):.0f} |")
out.append("")
out.append("**W3, CPU** (over the measured run: the server process's user + system "
           "time per request, and how busy core 0 (server) and core 1 (wrk) were, "
           "from `/proc/stat`, softirq included; CPU ratio = the server's CPU per "
           "request over Boost.Asio epoll's in the same round, median over rounds: "
           "below 1 is less CPU per request)")
out.append("")
out.append("| connections | server | server CPU per request, us median (min-max) | CPU ratio vs epoll | core 0 busy %, median | core 1 busy %, median |")
out.append("|---|---|---|---|---|---|")
def cpu_ratio(a, b):
    rounds = sorted(r for r in set(a) & set(b) if b[r][3] > 0)
    return statistics.median(a[r][3] / b[r][3] for r in rounds) if rounds else float('nan')
for conns, v, d, base in w3_rows():
    out.append(f"| {conns} | {names[v]} | {spread([x[3] for x in d.values()], '{:.2f}')} | "
               f"{cpu_ratio(d, base):.2f} | {statistics.median(x[4] for x in d.values()):.0f} | "
               f"{statistics.median(x[5] for x in d.values()):.0f} |")
out.append("")
out.append("**W5, TCP stream checksum over loopback** (64 KiB reads, every byte summed and checked)")
out.append("")
out.append("| receiver | MiB/s median (min-max) | ratio vs epoll | context switches per run, median |")
out.append("|---|---|---|---|")
base = w5.get('boost_epoll', {})
for v in ('asio_uring', 'boost_epoll'):
    d = w5.get(v)
    if not d:
        continue
    out.append(f"| {names[v]} | {spread([x[0] for x in d.values()], '{:.0f}')} | "
               f"{ratio(d, base):.2f} | {statistics.median(x[1] for x in d.values()):.0f} |")
print("\n".join(out))
PY
)
echo
echo "$tables"

if [ "$write_doc" = 1 ]; then
  doc=$repo/doc/benchmarks.md
  python3 - "$doc" "$tables" <<'PY'
import sys, os
doc, tables = sys.argv[1], sys.argv[2]
begin, end = '<!-- net-results:begin -->', '<!-- net-results:end -->'
text = open(doc).read() if os.path.exists(doc) else '# Benchmarks\n'
if begin not in text:
    text = text.rstrip('\n') + '\n\n' + (
        '## Network: W3 HTTP keep-alive and W5 TCP stream checksum\n\n'
        'Method: `benchmark/net/run_net_benchmarks.sh` (see its header). W3 runs\n'
        '`example/net/http_server` built four ways (asio_uring; asio_uring\n'
        'reading with the multishot receive extension; Boost.Asio on\n'
        'epoll; Boost.Asio with its own io_uring backend for sockets, i.e.\n'
        '`BOOST_ASIO_HAS_IO_URING` and `BOOST_ASIO_DISABLE_EPOLL`), and the raw\n'
        'liburing floor `benchmark/net/raw_http_server.cpp` with two ring\n'
        'set-ups, one thread each, under `wrk -t1` at each connection count;\n'
        'W5 streams a large\n'
        'buffer from a forked blocking sender to a receiver that sums every byte\n'
        'with `async_read_some` into 64 KiB. Every variant runs once per round,\n'
        'the order rotated between rounds; medians with min-max, ratios within\n'
        'rounds. Absolute numbers move by tens of percent on this shared\n'
        'machine; the ratios are the result.\n\n'
        + begin + '\n' + end + '\n')
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(doc, 'w').write(head + begin + '\n' + tables + '\n' + end + tail)
PY
  echo "== wrote $doc"
fi
