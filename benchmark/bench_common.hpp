//
// bench_common.hpp
// ~~~~~~~~~~~~~~~~
//
// Command-line options, test files and counters shared by the benchmark
// programs. Includes no asio_uring and no Boost.Asio header: the binaries
// built with Boost.Asio's io_uring backend use it too.
//
// Options (after Google Benchmark's own --benchmark_* flags):
//   --file=PATH        W1 input file (default $TMPDIR/asio_uring_bench_<MiB>M.bin)
//   --size_mib=N       its size when it has to be generated (default 1024)
//   --block_kib=N      W1 read size (default 32)
//   --ops=N            W4 round trips per iteration (default 10000)
//
#pragma once

#include "common/checksum_util.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace bench {

struct options
{
  std::string file;
  std::uint64_t size_mib = 1024;
  std::size_t block = 32 * 1024;
  std::size_t ops = 10000;
  std::string small_file;  // W4's one-page file
};

inline options& opts()
{
  static options o;
  return o;
}

// Totals over the whole process, every run of every benchmark in it
// (Google Benchmark's iteration-count estimation runs included), so that
// syscall counts taken from outside (perf stat, run_benchmarks.sh
// --syscalls) can be divided per operation. Reported as counters by
// report_process_totals.
struct process_totals
{
  std::uint64_t ops = 0;         // measured operations (reads, posts, NOPs)
  std::uint64_t warm_reads = 0;  // read(2) calls made warming files
};

inline process_totals& totals()
{
  static process_totals t;
  return t;
}

inline void report_process_totals(benchmark::State& state)
{
  state.counters["process_ops"] = static_cast<double>(totals().ops);
  state.counters["process_warm_reads"]
      = static_cast<double>(totals().warm_reads);
}

// Parses (and removes) our options after benchmark::Initialize has removed
// its own; exits with status 2 on anything unknown.
inline void parse_options(int& argc, char** argv)
{
  options& o = opts();
  int out = 1;
  for (int i = 1; i < argc; ++i)
  {
    const char* a = argv[i];
    auto value = [&](const char* name) -> const char*
    {
      std::size_t len = std::strlen(name);
      if (std::strncmp(a, name, len) == 0 && a[len] == '=')
        return a + len + 1;
      return nullptr;
    };
    auto number = [&](const char* v) -> std::uint64_t
    {
      char* end = nullptr;
      unsigned long long n = std::strtoull(v, &end, 10);
      if (!*v || *end || n == 0)
      {
        std::fprintf(stderr, "bad value in '%s'\n", a);
        std::exit(2);
      }
      return n;
    };
    if (const char* v = value("--file"))
      o.file = v;
    else if (const char* v = value("--size_mib"))
      o.size_mib = number(v);
    else if (const char* v = value("--block_kib"))
      o.block = static_cast<std::size_t>(number(v)) * 1024;
    else if (const char* v = value("--ops"))
      o.ops = static_cast<std::size_t>(number(v));
    else
      argv[out++] = argv[i];
  }
  argc = out;
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    std::exit(2);

  const char* dir = std::getenv("TMPDIR");
  std::string tmp = dir && *dir ? dir : "/tmp";
  if (o.file.empty())
    o.file = tmp + "/asio_uring_bench_" + std::to_string(o.size_mib) + "M.bin";
  o.small_file = tmp + "/asio_uring_bench_page.bin";
}

// Makes sure the W1 file exists (generating it if not) and returns the
// read(2) reference pass, which also pulls it into the page cache.
inline checksum_util::read_pass prepare_w1_file()
{
  const options& o = opts();
  if (checksum_util::file_size_or_missing(o.file) < 0)
    checksum_util::generate_file(o.file, o.size_mib << 20);
  checksum_util::read_pass pass = checksum_util::read_whole_file(o.file, o.block);
  totals().warm_reads += pass.calls;
  return pass;
}

// Makes sure W4's one-page file exists and is cached.
inline void prepare_w4_file()
{
  const options& o = opts();
  if (checksum_util::file_size_or_missing(o.small_file) != 4096)
    checksum_util::generate_file(o.small_file, 4096);
  totals().warm_reads += checksum_util::read_whole_file(o.small_file, 4096).calls;
}

// Opens path read-only or throws.
inline int open_read_only(const std::string& path)
{
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    checksum_util::throw_errno("open", path);
  return fd;
}

// Adds per-iteration context-switch and CPU counters for a usage delta.
inline void report_usage(benchmark::State& state,
    const checksum_util::usage& d)
{
  using benchmark::Counter;
  state.counters["vol_cs"] = Counter(static_cast<double>(d.voluntary),
      Counter::kAvgIterations);
  state.counters["invol_cs"] = Counter(static_cast<double>(d.involuntary),
      Counter::kAvgIterations);
  state.counters["cpu_s"] = Counter(d.user_s + d.system_s,
      Counter::kAvgIterations);
}

// Checks one W1 pass against the reference and counts its reads (one per
// block, plus the one that sees the end of the file).
// Returns false (and marks the run as failed) on a mismatch.
inline bool check_pass(benchmark::State& state,
    const checksum_util::read_pass& reference, std::uint64_t bytes,
    std::uint64_t sum, bool failed)
{
  totals().ops += (bytes + opts().block - 1) / opts().block + 1;
  if (failed || bytes != reference.bytes || sum != reference.sum)
  {
    state.SkipWithError(failed ? "read failed" : "checksum mismatch");
    return false;
  }
  return true;
}

// Records the W1 throughput of the passes run (one per iteration).
inline void finish_w1(benchmark::State& state,
    const checksum_util::read_pass& reference)
{
  state.SetBytesProcessed(static_cast<std::int64_t>(
      reference.bytes * static_cast<std::uint64_t>(state.iterations())));
  report_process_totals(state);
}

// Records W4 round trips: ops per iteration.
inline void finish_w4(benchmark::State& state, std::size_t ops)
{
  std::uint64_t n = ops * static_cast<std::uint64_t>(state.iterations());
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
  totals().ops += n;
  report_process_totals(state);
}

} // namespace bench

// main() for every benchmark program: our options, then the benchmarks.
#define ASIO_URING_BENCHMARK_MAIN()                                         \
  int main(int argc, char** argv)                                           \
  {                                                                         \
    benchmark::Initialize(&argc, argv);                                     \
    bench::parse_options(argc, argv);                                       \
    benchmark::RunSpecifiedBenchmarks();                                    \
    benchmark::Shutdown();                                                  \
    return 0;                                                               \
  }
