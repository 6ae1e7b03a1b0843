#!/usr/bin/env python3
"""Turns the interleaved runs of run_w2_benchmarks.sh into tables.

usage: summarize_w2.py RESULTS_DIR

RESULTS_DIR holds r<round>_<benchmark>[_N<n>].json files (Google Benchmark
JSON, one benchmark each), optionally sys_<benchmark>_N<n>.csv/.json pairs
(perf stat system-call counts) and machine.txt. Prints the markdown that
run_w2_benchmarks.sh puts into doc/benchmarks.md: medians over the rounds,
the min-max spread, ratios computed round by round and then their median
(each round's runs are seconds apart, so a ratio within a round is less
exposed to the shared machine's load than the raw numbers), and the
issue's targets checked against those ratios.
"""

import json
import os
import re
import statistics
import sys

W1_CACHED = [
    ("BM_W1_asio_uring", "asio_uring stream_file, 1 read in flight"),
    ("BM_W1_asio_uring_readahead4", "asio_uring random_access_file, read-ahead 4"),
    ("BM_W1_thread_pool", "Boost.Asio thread-pool pattern (pread + post)"),
    ("BM_W1_raw_liburing_coop", "raw liburing QD1"),
    ("BM_W1_raw_liburing_qd4", "raw liburing QD4 (read-ahead 4)"),
]

W1_DIRECT = [
    ("BM_W1D_asio_uring", "asio_uring stream_file (file_base::direct, aligned_buffer), 1 in flight"),
    ("BM_W1D_asio_uring_readahead4", "asio_uring random_access_file, read-ahead 4"),
    ("BM_W1D_boost_uring", "Boost.Asio io_uring random_access_file, 1 in flight (epoll reactor)"),
    ("BM_W1D_boost_uring_noepoll", "Boost.Asio io_uring random_access_file, 1 in flight, no epoll"),
    ("BM_W1D_thread_pool", "Boost.Asio thread-pool pattern (pread + post)"),
    ("BM_W1D_raw_liburing", "raw liburing QD1"),
    ("BM_W1D_raw_liburing_qd4", "raw liburing QD4 (read-ahead 4)"),
    ("BM_W1D_pread", "plain pread(2) loop"),
]

W2_ASYNC = [
    ("asio_uring", "asio_uring, io_context()"),
    ("asio_uring_hint1", "asio_uring, io_context(1)"),
    ("asio_uring_typed", "asio_uring, io_context(), files with io_context::executor_type"),
    ("boost_uring", "Boost.Asio io_uring (epoll reactor)"),
    ("boost_uring_noepoll", "Boost.Asio io_uring, no epoll"),
    ("raw_liburing", "raw liburing"),
    ("asio_uring_registered",
     "asio_uring, io_context(), files and buffers registered (extensions)"),
    ("raw_liburing_registered", "raw liburing, files and buffers registered"),
]

W2_THREADS = [
    ("pread", "pread(2), 2 threads"),
    ("mmap", "mmap + memcpy, 2 threads"),
    ("mmap_populate", "mmap (MAP_POPULATE) + memcpy, 2 threads"),
]

CONCURRENCY = [8, 32, 512]


def load(results_dir):
    """{(benchmark base name, N or None): {round: benchmark JSON object}}"""
    runs = {}
    for entry in sorted(os.listdir(results_dir)):
        m = re.fullmatch(r"r(\d+)_(BM_\w+)\.json", entry)
        if not m:
            continue
        try:
            with open(os.path.join(results_dir, entry)) as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        for b in data.get("benchmarks", []):
            if b.get("error_occurred"):
                continue
            parts = b["name"].split("/")
            n = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            runs.setdefault((parts[0], n), {})[int(m.group(1))] = b
    return runs


def values(runs, key, field):
    return {r: b[field] for r, b in runs.get(key, {}).items() if field in b}


def median(xs):
    xs = list(xs)
    return statistics.median(xs) if xs else None


def ratio(runs, key, ref, field):
    """Median over rounds of key's field / ref's field in the same round."""
    a = values(runs, key, field)
    b = values(runs, ref, field)
    return median(a[r] / b[r] for r in a if r in b and b[r] > 0)


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def mb_per_cpu_s(runs, key):
    """{round: MB per CPU-second of the whole process}."""
    out = {}
    for r, b in runs.get(key, {}).items():
        bps, real, cpu = b.get("bytes_per_second"), b.get("real_time"), b.get("cpu_s")
        if bps and real and cpu:
            unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
            out[r] = bps * real * unit / cpu / 1e6
    return out


def w1_table(runs, rows, qd1, qd4, pool):
    field = "bytes_per_second"
    out = [
        "| variant | MB/s median | min-max | vs raw QD1 | vs raw QD4 | vs thread pool "
        "| MB per CPU-s | vol. cs / pass | enters / read | rounds |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, label in rows:
        key = (name, None)
        v = values(runs, key, field)
        if not v:
            out.append(f"| {label} | not run | | | | | | | | 0 |")
            continue
        mbs = [x / 1e6 for x in v.values()]
        out.append(
            f"| {label} | {median(mbs):,.0f} | {min(mbs):,.0f}-{max(mbs):,.0f} "
            f"| {fmt(ratio(runs, key, (qd1, None), field), '.2f')} "
            f"| {fmt(ratio(runs, key, (qd4, None), field), '.2f')} "
            f"| {fmt(ratio(runs, key, (pool, None), field), '.2f')} "
            f"| {fmt(median(mb_per_cpu_s(runs, key).values()), ',.0f')} "
            f"| {fmt(median(values(runs, key, 'vol_cs').values()), ',.0f')} "
            f"| {fmt(median(values(runs, key, 'enters_per_op').values()), '.2f')} "
            f"| {len(mbs)} |")
    return "\n".join(out)


def w2_table(runs, prefix, asynchronous, threads):
    field = "items_per_second"
    out = [
        "| N | variant | reads/s median | min-max | vs raw | vs Boost.Asio (epoll) "
        "| vs Boost.Asio (no epoll) | p50 us | p99 us | p99.9 us | CPU us / read "
        "| enters / read | allocs / read | rounds |",
        "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]

    def row(n_label, key, label, raw, boost, boost_noepoll):
        v = values(runs, key, field)
        if not v:
            return f"| {n_label} | {label} | not run | | | | | | | | | | | 0 |"
        ops = list(v.values())

        def med(counter, spec):
            return fmt(median(values(runs, key, counter).values()), spec)

        return (
            f"| {n_label} | {label} | {median(ops):,.0f} | {min(ops):,.0f}-{max(ops):,.0f} "
            f"| {fmt(ratio(runs, key, raw, field), '.2f')} "
            f"| {fmt(ratio(runs, key, boost, field) if boost else None, '.2f')} "
            f"| {fmt(ratio(runs, key, boost_noepoll, field) if boost_noepoll else None, '.2f')} "
            f"| {med('p50_us', ',.1f')} | {med('p99_us', ',.1f')} | {med('p999_us', ',.1f')} "
            f"| {med('cpu_us_per_read', '.2f')} | {med('enters_per_read', '.3f')} "
            f"| {med('allocs_per_read', '.4f')} | {len(ops)} |")

    for n in CONCURRENCY:
        raw = (f"{prefix}_raw_liburing", n)
        for name, label in asynchronous:
            out.append(row(n, (f"{prefix}_{name}", n), label, raw,
                           (f"{prefix}_boost_uring", n),
                           (f"{prefix}_boost_uring_noepoll", n)))
    for name, label in threads:
        # Ratios of the threaded variants: against raw liburing at N = 32.
        out.append(row("2 thr.", (f"{prefix}_{name}", None), label,
                       (f"{prefix}_raw_liburing", 32), None, None))
    return "\n".join(out)


def targets(runs):
    """The issue's targets against the per-round ratios."""
    rows = []

    def check(what, key, ref, field, goal):
        r = ratio(runs, key, ref, field)
        met = "-" if r is None else ("met" if r >= goal else "not met")
        shown = fmt(r, ".3f")
        if r is not None and (float(shown) >= goal) != (r >= goal):
            shown = f"{r:.4f}"  # a value just under the goal stays visibly under it
        rows.append(f"| {what} | {goal:.2f}x | {shown} | {met} |")

    bps, ips = "bytes_per_second", "items_per_second"
    for name, label in [("BM_W1_asio_uring", "QD1"),
                        ("BM_W1_asio_uring_readahead4", "read-ahead 4")]:
        check(f"W1 cached, asio_uring {label} vs raw liburing QD1",
              (name, None), ("BM_W1_raw_liburing_coop", None), bps, 0.95)
        check(f"W1 cached, asio_uring {label} vs thread pool",
              (name, None), ("BM_W1_thread_pool", None), bps, 4.0)
    check("W1 cached, asio_uring read-ahead 4 vs raw liburing QD4",
          ("BM_W1_asio_uring_readahead4", None), ("BM_W1_raw_liburing_qd4", None), bps, 0.95)
    for name, label in [("BM_W1D_asio_uring", "QD1"),
                        ("BM_W1D_asio_uring_readahead4", "read-ahead 4")]:
        check(f"W1 O_DIRECT, asio_uring {label} vs raw liburing QD1",
              (name, None), ("BM_W1D_raw_liburing", None), bps, 0.95)
        check(f"W1 O_DIRECT, asio_uring {label} vs thread pool",
              (name, None), ("BM_W1D_thread_pool", None), bps, 4.0)
    check("W1 O_DIRECT, asio_uring read-ahead 4 vs raw liburing QD4",
          ("BM_W1D_asio_uring_readahead4", None), ("BM_W1D_raw_liburing_qd4", None), bps, 0.95)
    for n in CONCURRENCY:
        for v in ["asio_uring", "asio_uring_hint1"]:
            check(f"W2 cached N={n}, {v} vs raw liburing", (f"BM_W2_{v}", n),
                  ("BM_W2_raw_liburing", n), ips, 0.9)
            check(f"W2 cached N={n}, {v} vs Boost.Asio io_uring without epoll",
                  (f"BM_W2_{v}", n), ("BM_W2_boost_uring_noepoll", n), ips, 1.25)
    for d, mode in [("W2", "cached"), ("W2D", "O_DIRECT")]:
        # The opt-in registration against the floor with the same one.
        for n in CONCURRENCY:
            check(f"W2 {mode} N={n}, asio_uring_registered vs raw liburing "
                  "registered", (f"BM_{d}_asio_uring_registered", n),
                  (f"BM_{d}_raw_liburing_registered", n), ips, 0.9)
    for n in CONCURRENCY:
        check(f"W2 cached N={n}, asio_uring_registered vs Boost.Asio io_uring "
              "without epoll", ("BM_W2_asio_uring_registered", n),
              ("BM_W2_boost_uring_noepoll", n), ips, 1.25)
    for n in CONCURRENCY:
        for v in ["asio_uring", "asio_uring_hint1"]:
            check(f"W2 O_DIRECT N={n}, {v} vs raw liburing", (f"BM_W2D_{v}", n),
                  ("BM_W2D_raw_liburing", n), ips, 0.9)
            check(f"W2 O_DIRECT N={n}, {v} vs Boost.Asio io_uring (epoll)",
                  (f"BM_W2D_{v}", n), ("BM_W2D_boost_uring", n), ips, 1.8)
            check(f"W2 O_DIRECT N={n}, {v} vs Boost.Asio io_uring without epoll",
                  (f"BM_W2D_{v}", n), ("BM_W2D_boost_uring_noepoll", n), ips, 1.8)
        check(f"W2 O_DIRECT N={n}, asio_uring_registered vs Boost.Asio io_uring "
              "without epoll", ("BM_W2D_asio_uring_registered", n),
              ("BM_W2D_boost_uring_noepoll", n), ips, 1.8)
    head = ("| target | goal | measured (median of per-round ratios) | |\n"
            "|---|--:|--:|---|")
    return head + "\n" + "\n".join(rows)


SYSCALLS = ["io_uring_enter", "epoll_wait", "read", "write", "futex", "pread64"]


def syscall_table(results_dir):
    rows = []
    for entry in sorted(os.listdir(results_dir)):
        m = re.fullmatch(r"sys_(BM_\w+)_N(\d+)\.csv", entry)
        if not m:
            continue
        json_path = os.path.join(results_dir, entry[:-4] + ".json")
        counts = {}
        with open(os.path.join(results_dir, entry)) as f:
            for line in f:
                fields = line.strip().split(",")
                if len(fields) < 3 or line.startswith("#"):
                    continue
                event = fields[2].split(":")[-1].replace("sys_enter_", "")
                if event == "epoll_pwait":
                    event = "epoll_wait"
                try:
                    counts[event] = counts.get(event, 0) + int(fields[0])
                except ValueError:
                    pass
        try:
            with open(json_path) as f:
                bench = [b for b in json.load(f)["benchmarks"]
                         if not b.get("error_occurred")][-1]
        except (OSError, ValueError, IndexError, KeyError):
            continue
        ops = bench.get("process_ops", 0)
        if not ops:
            continue
        counts["read"] = counts.get("read", 0) - bench.get("process_warm_reads", 0)
        cells = " | ".join(f"{max(counts.get(c, 0), 0) / ops:.3f}" for c in SYSCALLS)
        rows.append(f"| {m.group(1)[3:]} | {m.group(2)} | {cells} | {ops:,.0f} |")
    if not rows:
        return ""
    head = ("| variant | N | " + " | ".join(SYSCALLS) + " | reads |\n"
            + "|---|--:|" + "--:|" * (len(SYSCALLS) + 1))
    return head + "\n" + "\n".join(rows)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    runs = load(d)
    parts = []
    machine = os.path.join(d, "machine.txt")
    if os.path.exists(machine):
        with open(machine) as f:
            parts.append(f.read().strip() + "\n")
    if any(k[0].startswith("BM_W1") for k in runs):
        parts.append("#### W1, page-cached (1 GiB file, 32 KiB blocks)\n")
        parts.append(w1_table(runs, W1_CACHED, "BM_W1_raw_liburing_coop",
                              "BM_W1_raw_liburing_qd4", "BM_W1_thread_pool"))
        parts.append("\n#### W1, O_DIRECT (256 MiB file, 32 KiB blocks)\n")
        parts.append(w1_table(runs, W1_DIRECT, "BM_W1D_raw_liburing",
                              "BM_W1D_raw_liburing_qd4", "BM_W1D_thread_pool"))
    if any(k[0].startswith("BM_W2") for k in runs):
        parts.append("\n#### W2, page-cached (4 x 256 MiB, random 4 KiB reads)\n")
        parts.append(w2_table(runs, "BM_W2", W2_ASYNC, W2_THREADS))
        parts.append("\nThe threaded rows (2 threads, so 2 reads in flight whatever N) "
                     "are compared with raw liburing at N = 32.")
        parts.append("\n#### W2, O_DIRECT\n")
        parts.append(w2_table(runs, "BM_W2D",
                              [v for v in W2_ASYNC if v[0] != "asio_uring_typed"],
                              W2_THREADS[:1]))
    parts.append("\n#### Targets\n")
    parts.append(targets(runs))
    sys_table = syscall_table(d)
    if sys_table:
        parts.append("\n#### System calls per read (perf stat tracepoints, one extra run each)\n")
        parts.append("Over the whole process, warm-up reads included in the count of "
                     "reads; read(2) calls made to warm the files are subtracted.\n")
        parts.append(sys_table)
    print("\n".join(parts))


if __name__ == "__main__":
    main()
