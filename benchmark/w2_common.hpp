//
// w2_common.hpp
// ~~~~~~~~~~~~~
//
// What the W2 random-read benchmarks (and the extra W1 variants) share:
// their options, the set of test files, the sequence of random offsets, a
// latency histogram and the per-run report. Includes no asio_uring and no
// Boost.Asio header, so the binaries built with Boost.Asio's io_uring
// backend use it too.
//
// Options (before bench_common.hpp's own, after Google Benchmark's):
//   --w2_dir=DIR        where the W2 files live (default $TMPDIR or /tmp)
//   --w2_files=N        how many files (default 4)
//   --w2_file_mib=N     size of each, generated once (default 256)
//   --w2_reads=N        timed 4 KiB reads per page-cached run (default 200000)
//   --w2_direct_reads=N timed 4 KiB reads per O_DIRECT run (default 40000)
//   --w2_threads=N      threads of the pread and mmap variants (default 2)
//
#pragma once

#include "alloc_counter.hpp"
#include "bench_common.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace w2 {

// Every W2 read is one aligned block of this size.
inline constexpr std::size_t block_size = 4096;

struct options
{
  std::string dir;
  unsigned files = 4;
  std::uint64_t file_mib = 256;
  std::size_t reads = 200000;
  std::size_t direct_reads = 40000;
  unsigned threads = 2;
};

inline options& opts()
{
  static options o;
  return o;
}

// Parses (and removes) the --w2_* options; exits with status 2 on a bad
// value. Everything else is left for bench::parse_options.
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
      if (!*v || *end || n == 0 || n > (1ull << 32))
      {
        std::fprintf(stderr, "bad value in '%s'\n", a);
        std::exit(2);
      }
      return n;
    };
    if (const char* v = value("--w2_dir"))
      o.dir = v;
    else if (const char* v = value("--w2_files"))
      o.files = static_cast<unsigned>(number(v));
    else if (const char* v = value("--w2_file_mib"))
      o.file_mib = number(v);
    else if (const char* v = value("--w2_reads"))
      o.reads = static_cast<std::size_t>(number(v));
    else if (const char* v = value("--w2_direct_reads"))
      o.direct_reads = static_cast<std::size_t>(number(v));
    else if (const char* v = value("--w2_threads"))
      o.threads = static_cast<unsigned>(number(v));
    else
      argv[out++] = argv[i];
  }
  argc = out;
  if (o.dir.empty())
  {
    const char* dir = std::getenv("TMPDIR");
    o.dir = dir && *dir ? dir : "/tmp";
  }
}

inline std::string file_path(unsigned i)
{
  return opts().dir + "/asio_uring_w2_" + std::to_string(i) + "_"
      + std::to_string(opts().file_mib) + "M.bin";
}

inline std::uint64_t blocks_per_file()
{
  return (opts().file_mib << 20) / block_size;
}

// The byte offsets every variant reads, in order: read i goes to file
// i % files (the asynchronous variants bind each of their N slots to a
// file instead, see random_reads in w2_workload.hpp) at offsets()[i].
// Uniformly random block-aligned offsets from a fixed seed, so every
// variant and every run reads the same sequence.
inline const std::vector<std::uint64_t>& offsets()
{
  static const std::vector<std::uint64_t> table = []
  {
    std::vector<std::uint64_t> t(1u << 20);
    std::uint64_t state = 0x2545F4914F6CDD1Dull;
    const std::uint64_t blocks = blocks_per_file();
    for (std::uint64_t& o : t)
    {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      o = (state % blocks) * block_size;
    }
    return t;
  }();
  return table;
}

// Always inlined, so every variant pays the same for it: GCC left it out of
// line in the asio_uring variants' bigger initiation (12 instructions per
// read more there, callgrind) and inlined it into the raw loop.
[[gnu::always_inline]] inline std::uint64_t offset_at(std::size_t i)
{
  const std::vector<std::uint64_t>& t = offsets();
  return t[i & (t.size() - 1)];
}

// Makes sure every W2 file exists with the right size (generating the
// missing ones), and when warm is set reads each of them whole with
// read(2) so that they are page-cached right before a measured run.
inline void prepare_files(bool warm)
{
  (void)offsets();  // built here, not inside the first (warm-up) run
  for (unsigned i = 0; i < opts().files; ++i)
  {
    const std::string path = file_path(i);
    if (checksum_util::file_size_or_missing(path)
        != static_cast<long long>(opts().file_mib << 20))
      checksum_util::generate_file(path, opts().file_mib << 20);
    if (warm)
      bench::totals().warm_reads
          += checksum_util::read_whole_file(path, 1 << 20).calls;
  }
}

// Opens every W2 file read-only (plus extra_flags, e.g. O_DIRECT) or throws.
inline std::vector<int> open_files(int extra_flags)
{
  std::vector<int> fds;
  for (unsigned i = 0; i < opts().files; ++i)
  {
    int fd = ::open(file_path(i).c_str(), O_RDONLY | O_CLOEXEC | extra_flags);
    if (fd < 0)
      checksum_util::throw_errno("open", file_path(i));
    fds.push_back(fd);
  }
  return fds;
}

inline void close_files(const std::vector<int>& fds)
{
  for (int fd : fds)
    ::close(fd);
}

using clock = std::chrono::steady_clock;

inline std::uint64_t elapsed_ns(clock::time_point from, clock::time_point to)
{
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

// Latencies in nanoseconds, HdrHistogram-style: exact below 128 ns, then
// 64 linear buckets per power of two (a bucket is at most 1/64 of its
// values wide; percentiles are reported at a bucket's middle).
// record() never allocates.
class latency_histogram
{
public:
  void record(std::uint64_t ns) noexcept
  {
    ++counts_[index(ns)];
    ++total_;
  }

  void merge(const latency_histogram& other) noexcept
  {
    for (std::size_t i = 0; i < counts_.size(); ++i)
      counts_[i] += other.counts_[i];
    total_ += other.total_;
  }

  void reset() noexcept
  {
    counts_.fill(0);
    total_ = 0;
  }

  std::uint64_t total() const noexcept { return total_; }

  // The smallest recorded value v such that a fraction q of the recorded
  // values is <= v, reported as the middle of v's bucket; 0 when empty.
  double percentile(double q) const noexcept
  {
    if (total_ == 0)
      return 0;
    std::uint64_t rank = static_cast<std::uint64_t>(
        q * static_cast<double>(total_) + 0.999999);
    rank = std::clamp<std::uint64_t>(rank, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i)
    {
      seen += counts_[i];
      if (seen >= rank)
        return middle(i);
    }
    return middle(counts_.size() - 1);
  }

private:
  static constexpr unsigned sub_bits = 6;  // 64 buckets per octave
  static constexpr std::size_t linear = 2u << sub_bits;  // exact below 128
  static constexpr std::size_t buckets = linear + (64 - sub_bits - 1) * (1u << sub_bits);

  static std::size_t index(std::uint64_t v) noexcept
  {
    if (v < linear)
      return static_cast<std::size_t>(v);
    unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(v));
    unsigned shift = msb - sub_bits;  // >= 1
    return linear + (shift - 1) * (1u << sub_bits)
        + static_cast<std::size_t>((v >> shift) - (1u << sub_bits));
  }

  static double middle(std::size_t i) noexcept
  {
    if (i < linear)
      return static_cast<double>(i);
    std::size_t k = i - linear;
    unsigned shift = static_cast<unsigned>(k >> sub_bits) + 1;
    std::uint64_t low = ((k & ((1u << sub_bits) - 1)) + (1u << sub_bits)) << shift;
    return static_cast<double>(low) + static_cast<double>(1ull << shift) / 2;
  }

  std::array<std::uint64_t, buckets> counts_{};
  std::uint64_t total_ = 0;
};

// What every W2 run measures besides its own extras. Taken around the
// timed part only (after warm-up).
class run_meter
{
public:
  void start()
  {
    usage_ = checksum_util::usage::now();
    allocations_ = bench::allocation_count();
    start_ = clock::now();
  }

  void stop()
  {
    stop_ = clock::now();
    allocations_ = bench::allocation_count() - allocations_;
    usage_ = checksum_util::usage::now() - usage_;
  }

  double seconds() const
  {
    return std::chrono::duration<double>(stop_ - start_).count();
  }

  // Reports the run: manual time, reads/s (items), p50/p99/p99.9 in
  // microseconds, allocations, CPU and context switches per read.
  void report(benchmark::State& state, const latency_histogram& h,
      std::uint64_t reads) const
  {
    state.SetIterationTime(seconds());
    state.SetItemsProcessed(static_cast<std::int64_t>(reads));
    bench::totals().ops += reads;
    const double n = static_cast<double>(reads);
    state.counters["p50_us"] = h.percentile(0.50) / 1e3;
    state.counters["p99_us"] = h.percentile(0.99) / 1e3;
    state.counters["p999_us"] = h.percentile(0.999) / 1e3;
    state.counters["allocs_per_read"] = static_cast<double>(allocations_) / n;
    state.counters["cpu_us_per_read"]
        = (usage_.user_s + usage_.system_s) * 1e6 / n;
    state.counters["vol_cs_per_read"] = static_cast<double>(usage_.voluntary) / n;
    state.counters["reads"] = n;
    bench::report_process_totals(state);
  }

private:
  clock::time_point start_;
  clock::time_point stop_;
  checksum_util::usage usage_;
  std::uint64_t allocations_ = 0;
};

// Timed reads of one run: page-cached or O_DIRECT.
inline std::size_t reads_for(bool direct)
{
  return direct ? opts().direct_reads : opts().reads;
}

// Untimed reads before the timed ones, which fill the operation caches and
// let the first burst of N submissions settle.
inline std::size_t warmup_reads(bool direct, std::size_t concurrency)
{
  return std::max<std::size_t>(concurrency * 4, reads_for(direct) / 20);
}

} // namespace w2

// main() for the W2 programs: Google Benchmark's flags, then ours, then
// bench_common.hpp's (which rejects anything left over).
#define ASIO_URING_W2_BENCHMARK_MAIN()                                      \
  int main(int argc, char** argv)                                           \
  {                                                                         \
    benchmark::Initialize(&argc, argv);                                     \
    w2::parse_options(argc, argv);                                          \
    bench::parse_options(argc, argv);                                       \
    benchmark::RunSpecifiedBenchmarks();                                    \
    benchmark::Shutdown();                                                  \
    return 0;                                                               \
  }
