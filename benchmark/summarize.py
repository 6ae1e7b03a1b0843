#!/usr/bin/env python3
"""Turns the interleaved benchmark runs of run_benchmarks.sh into tables.

usage: summarize.py RESULTS_DIR

RESULTS_DIR holds r<round>_<benchmark>.json files (Google Benchmark JSON,
one benchmark each) and optionally demo.txt and machine.txt. Prints the
markdown section that run_benchmarks.sh puts into doc/benchmarks.md:
medians over the rounds, the min-max spread, and ratios computed round by
round (each round's runs are minutes apart at most, so a ratio within a
round is less exposed to the shared machine's load than the raw numbers).
"""

import json
import os
import re
import statistics
import sys

W1 = [
    ("BM_W1_asio_uring", "asio_uring (stream_file::async_read_some)"),
    ("BM_W1_asio_uring_single_issuer", "asio_uring, ring_options::single_issuer"),
    ("BM_W1_thread_pool", "Boost.Asio thread-pool pattern (pread + post)"),
    ("BM_W1_boost_uring", "Boost.Asio io_uring backend (epoll reactor)"),
    ("BM_W1_boost_uring_noepoll", "Boost.Asio io_uring backend, BOOST_ASIO_DISABLE_EPOLL"),
    ("BM_W1_raw_liburing", "raw liburing QD1, default setup flags"),
    ("BM_W1_raw_liburing_coop", "raw liburing QD1, asio_uring's flags (COOP_TASKRUN)"),
    ("BM_W1_raw_liburing_defer", "raw liburing QD1, SINGLE_ISSUER + DEFER_TASKRUN"),
    ("BM_W1_read", "plain read(2) loop"),
]

W4 = [
    ("BM_W4_post_asio_uring", "post round trip, asio_uring::io_context"),
    ("BM_W4_post_asio_uring_hint1", "post round trip, asio_uring::io_context(1)"),
    ("BM_W4_post_boost_asio", "post round trip, boost::asio::io_context"),
    ("BM_W4_post_boost_asio_reactor", "post round trip, boost::asio::io_context with a timer (reactor runs)"),
    ("BM_W4_read1_asio_uring", "1-byte read, asio_uring random_access_file"),
    ("BM_W4_read1_asio_uring_hint1", "1-byte read, asio_uring random_access_file, io_context(1)"),
    ("BM_W4_read1_boost_uring", "1-byte read, Boost.Asio io_uring (epoll reactor)"),
    ("BM_W4_read1_boost_uring_noepoll", "1-byte read, Boost.Asio io_uring, no epoll"),
    ("BM_W4_read1_raw_liburing", "1-byte read, raw liburing, default flags"),
    ("BM_W4_read1_raw_liburing_coop", "1-byte read, raw liburing, asio_uring's flags"),
    ("BM_W4_nop_raw_liburing", "NOP, raw liburing, default flags"),
    ("BM_W4_nop_raw_liburing_coop", "NOP, raw liburing, asio_uring's flags"),
    ("BM_W4_read1_pread", "1-byte pread(2), synchronous"),
    ("BM_W4_read1_asio_uring_qd32", "1-byte read, asio_uring random_access_file, 32 in flight"),
    ("BM_W4_read1_raw_liburing_coop_qd32", "1-byte read, raw liburing, 32 per enter, asio_uring's flags"),
]


def load(results_dir):
    """{benchmark name: {round: benchmark JSON object}}"""
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
            name = b["name"].split("/")[0]
            runs.setdefault(name, {})[int(m.group(1))] = b
    return runs


def values(runs, name, key):
    return {r: b[key] for r, b in runs.get(name, {}).items() if key in b}


def median(xs):
    return statistics.median(xs) if xs else None


def ratio_median(runs, name, ref, key):
    a = values(runs, name, key)
    b = values(runs, ref, key)
    rs = [a[r] / b[r] for r in a if r in b and b[r] > 0]
    return median(rs)


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def cpu_throughput(runs, name):
    """{round: MB per CPU-second of the whole process}, from the cpu_s
    counter (getrusage user + system of all threads, per pass)."""
    out = {}
    for r, b in runs.get(name, {}).items():
        bps, real = b.get("bytes_per_second"), b.get("real_time")
        cpu = b.get("cpu_s")
        if bps and real and cpu:
            unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
            bytes_per_pass = bps * real * unit
            out[r] = bytes_per_pass / cpu / 1e6
    return out


def w1_table(runs):
    key = "bytes_per_second"
    out = [
        "| variant | MB/s median | min-max | vs raw liburing | vs raw (same flags) "
        "| vs thread pool | MB per CPU-s | CPU vs raw | vol. cs / pass "
        "| invol. cs / pass | enters / read | rounds |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    same_flags = {
        "BM_W1_asio_uring": "BM_W1_raw_liburing_coop",
        "BM_W1_asio_uring_single_issuer": "BM_W1_raw_liburing_defer",
    }
    for name, label in W1:
        v = values(runs, name, key)
        if not v:
            out.append(f"| {label} | not run | | | | | | | | | | 0 |")
            continue
        mbs = [x / 1e6 for x in v.values()]
        cpu_mbs = cpu_throughput(runs, name)
        ref_cpu = cpu_throughput(runs, "BM_W1_raw_liburing")
        cpu_ratio = median([cpu_mbs[r] / ref_cpu[r] for r in cpu_mbs
                            if r in ref_cpu and ref_cpu[r] > 0])
        vol = median(list(values(runs, name, "vol_cs").values()))
        invol = median(list(values(runs, name, "invol_cs").values()))
        enters = median(list(values(runs, name, "enters_per_op").values()))
        same = same_flags.get(name)
        out.append(
            f"| {label} | {median(mbs):,.0f} | {min(mbs):,.0f}-{max(mbs):,.0f} "
            f"| {fmt(ratio_median(runs, name, 'BM_W1_raw_liburing', key), '.2f')} "
            f"| {fmt(ratio_median(runs, name, same, key) if same else None, '.2f')} "
            f"| {fmt(ratio_median(runs, name, 'BM_W1_thread_pool', key), '.2f')} "
            f"| {fmt(median(list(cpu_mbs.values())), ',.0f')} | {fmt(cpu_ratio, '.2f')} "
            f"| {fmt(vol, ',.0f')} | {fmt(invol, ',.0f')} | {fmt(enters, '.2f')} "
            f"| {len(mbs)} |")
    return "\n".join(out)


def cpu_ns_per_op(runs, name):
    """{round: CPU ns per round trip}: Google Benchmark's cpu_time (the
    benchmark thread; every W4 variant runs on that one thread)."""
    out = {}
    for r, b in runs.get(name, {}).items():
        ips, real, cpu = b.get("items_per_second"), b.get("real_time"), b.get("cpu_time")
        if ips and real and cpu:
            # ops per iteration = items_per_second * real time per iteration
            unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
            ops = ips * real * unit
            out[r] = cpu * unit * 1e9 / ops
    return out


def w4_table(runs):
    key = "items_per_second"
    refs = {
        "post": "BM_W4_post_boost_asio",
        "read1": "BM_W4_read1_raw_liburing",
        "nop": "BM_W4_nop_raw_liburing",
    }
    out = [
        "| variant | ops/s median | min-max | ns / op | ratio | vs | CPU ns / op "
        "| CPU ratio | enters / op | rounds |",
        "|---|--:|--:|--:|--:|---|--:|--:|--:|--:|",
    ]
    for name, label in W4:
        v = values(runs, name, key)
        if not v:
            out.append(f"| {label} | not run | | | | | | | | 0 |")
            continue
        ops = list(v.values())
        kind = name.split("_")[2]
        ref = refs.get(kind, refs["read1"])
        if name == "BM_W4_read1_pread":
            ref = refs["read1"]
        if name.endswith("_qd32"):
            ref = "BM_W4_read1_raw_liburing_coop_qd32"
        enters = median(list(values(runs, name, "enters_per_op").values()))
        cpu = cpu_ns_per_op(runs, name)
        ref_cpu = cpu_ns_per_op(runs, ref)
        cpu_ratio = median([ref_cpu[r] / cpu[r] for r in cpu if r in ref_cpu and cpu[r] > 0])
        out.append(
            f"| {label} | {median(ops):,.0f} | {min(ops):,.0f}-{max(ops):,.0f} "
            f"| {1e9 / median(ops):,.0f} "
            f"| {fmt(ratio_median(runs, name, ref, key), '.2f')} | {ref[6:]} "
            f"| {fmt(median(list(cpu.values())), ',.0f')} | {fmt(cpu_ratio, '.2f')} "
            f"| {fmt(enters, '.2f')} | {len(ops)} |")
    return "\n".join(out)


SYSCALLS = ["io_uring_enter", "epoll_wait", "read", "write", "futex", "pread64"]


def syscall_table(results_dir):
    """Syscalls per operation from the perf stat runs (sys_<name>.csv/.json)."""
    rows = []
    for name, label in W1 + W4:
        csv_path = os.path.join(results_dir, f"sys_{name}.csv")
        json_path = os.path.join(results_dir, f"sys_{name}.json")
        if not (os.path.exists(csv_path) and os.path.exists(json_path)):
            continue
        counts = {}
        with open(csv_path) as f:
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
        cells = " | ".join(f"{max(counts.get(c, 0), 0) / ops:.2f}" for c in SYSCALLS)
        rows.append(f"| {label} | {cells} | {ops:,.0f} |")
    if not rows:
        return ""
    head = ("| variant | " + " | ".join(SYSCALLS) + " | operations |\n"
            + "|---|" + "--:|" * (len(SYSCALLS) + 1))
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
    parts.append("### W1: file checksum, page-cached, one block in flight\n")
    parts.append(w1_table(runs))
    parts.append("\n### W4: per-operation round trips\n")
    parts.append(w4_table(runs))
    sys_table = syscall_table(d)
    if sys_table:
        parts.append("\n### System calls per operation (perf stat tracepoints, one extra run each)\n")
        parts.append("Per read for W1 (a pass is one read per 32 KiB block plus the one "
                     "that sees the end of the file), per round trip for W4; read(2) calls "
                     "made to warm the file are subtracted.\n")
        parts.append(sys_table)
    demo = os.path.join(d, "demo.txt")
    if os.path.exists(demo):
        with open(demo) as f:
            parts.append("\n### Flagship demo output (same file)\n")
            parts.append("```\n" + f.read().strip() + "\n```")
    print("\n".join(parts))


if __name__ == "__main__":
    main()
