//
// file_checksum.cpp
// ~~~~~~~~~~~~~~~~~
//
// The flagship demo (workload W1 of the brief): sum every byte of a
// page-cached file read sequentially in fixed-size blocks, once through
// asio_uring and once with the Boost.Asio thread-pool pattern it replaces,
// and print both throughputs side by side with their context switches.
//
//   file_checksum [--size MiB] [--file path] [--block KiB]
//
// The file is generated if it does not exist (--size MiB of pseudo-random
// bytes; default 256 MiB in $TMPDIR or /tmp). Each run is preceded by a
// read(2) pass that pulls the file into the page cache. Exit status: 0 when
// every checksum matches, 1 on a mismatch or an I/O error, 2 on bad usage.
//
#include <asio_uring.hpp>

#include "common/checksum_util.hpp"
#include "common/w1_readers.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;
using checksum_util::checksum_result;

struct options
{
  std::uint64_t size_mib = 256;
  std::uint64_t block_kib = 32;
  std::string file;
};

struct run_report
{
  const char* name;
  checksum_result result;
  clock_type::duration elapsed{};
  checksum_util::usage usage;
  double enters_per_read = -1;  // asio_uring only
};

void usage_message(std::FILE* out)
{
  std::fprintf(out,
      "usage: file_checksum [--size MiB] [--file path] [--block KiB]\n"
      "  --size MiB   size of the generated file (default 256); used only\n"
      "               when the file does not exist yet\n"
      "  --file path  file to sum (default $TMPDIR/asio_uring_checksum_<MiB>M.bin)\n"
      "  --block KiB  read size (default 32)\n");
}

bool parse_number(std::string_view text, std::uint64_t& out)
{
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Returns 0 on success, or the exit status for bad usage.
int parse_options(int argc, char** argv, options& opts)
{
  for (int i = 1; i < argc; ++i)
  {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h")
    {
      usage_message(stdout);
      std::exit(0);
    }
    if (i + 1 >= argc)
    {
      std::fprintf(stderr, "file_checksum: %s needs a value\n", argv[i]);
      return 2;
    }
    std::string_view value = argv[++i];
    if (arg == "--file")
      opts.file = std::string(value);
    else if (arg == "--size")
    {
      if (!parse_number(value, opts.size_mib) || opts.size_mib == 0
          || opts.size_mib > (std::uint64_t(1) << 20))
      {
        std::fprintf(stderr, "file_checksum: bad --size '%s' (MiB, 1..1048576)\n",
            argv[i]);
        return 2;
      }
    }
    else if (arg == "--block")
    {
      if (!parse_number(value, opts.block_kib) || opts.block_kib == 0
          || opts.block_kib > 65536)
      {
        std::fprintf(stderr, "file_checksum: bad --block '%s' (KiB, 1..65536)\n",
            argv[i]);
        return 2;
      }
    }
    else
    {
      std::fprintf(stderr, "file_checksum: unknown option '%s'\n", argv[i - 1]);
      usage_message(stderr);
      return 2;
    }
  }
  if (opts.file.empty())
  {
    const char* dir = std::getenv("TMPDIR");
    opts.file = std::string(dir && *dir ? dir : "/tmp")
        + "/asio_uring_checksum_" + std::to_string(opts.size_mib) + "M.bin";
  }
  return 0;
}

// asio_uring: a stream_file read with async_read_some, one block in flight.
run_report run_asio_uring(const std::string& path, std::size_t block,
    const char* name)
{
  asio_uring::io_context ctx;
  asio_uring::stream_file file(ctx, path, asio_uring::stream_file::read_only);
  checksum_util::stream_checksum<asio_uring::stream_file> reader(file, block);

  run_report report{name, {}, {}, {}, -1};
  std::uint64_t enters_before = ctx.enter_count();
  auto usage_before = checksum_util::usage::now();
  auto start = clock_type::now();
  reader.start();
  ctx.run();
  report.elapsed = clock_type::now() - start;
  report.usage = checksum_util::usage::now() - usage_before;
  report.result = reader.result();
  if (report.result.reads > 0)
    report.enters_per_read
        = static_cast<double>(ctx.enter_count() - enters_before)
        / static_cast<double>(report.result.reads);
  return report;
}

// The pattern asio_uring replaces: blocking pread(2) on a thread pool,
// results posted back to a boost::asio::io_context.
run_report run_thread_pool(const std::string& path, std::size_t block)
{
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    checksum_util::throw_errno("open", path);
  boost::asio::io_context ioc;
  boost::asio::thread_pool pool;
  checksum_util::thread_pool_checksum reader(ioc, pool, fd, block);

  run_report report{"boost::asio thread pool", {}, {}, {}, -1};
  auto usage_before = checksum_util::usage::now();
  auto start = clock_type::now();
  reader.start();
  ioc.run();
  report.elapsed = clock_type::now() - start;
  report.usage = checksum_util::usage::now() - usage_before;
  report.result = reader.result();
  pool.join();
  ::close(fd);
  return report;
}

void print_report(const run_report& r)
{
  char enters[32] = "-";
  if (r.enters_per_read >= 0)
    std::snprintf(enters, sizeof(enters), "%.2f", r.enters_per_read);
  std::printf("  %-26s %9.1f %9ld %9ld %12s  0x%016llx\n", r.name,
      checksum_util::mb_per_s(r.result.bytes, r.elapsed), r.usage.voluntary,
      r.usage.involuntary, enters,
      static_cast<unsigned long long>(r.result.sum));
}

} // namespace

int main(int argc, char** argv)
{
  options opts;
  if (int status = parse_options(argc, argv, opts))
    return status;
  const std::size_t block = static_cast<std::size_t>(opts.block_kib) * 1024;

  try
  {
    if (!asio_uring::is_supported())
    {
      // Constructing the context reports the cause and the fix.
      asio_uring::io_context probe;
    }

    long long existing = checksum_util::file_size_or_missing(opts.file);
    if (existing < 0)
    {
      std::printf("generating %s (%llu MiB)...\n", opts.file.c_str(),
          static_cast<unsigned long long>(opts.size_mib));
      std::fflush(stdout);
      checksum_util::generate_file(opts.file, opts.size_mib << 20);
    }

    // Each run starts from a freshly re-read, page-cached file.
    auto warm = [&] { return checksum_util::read_whole_file(opts.file, block); };
    checksum_util::read_pass reference = warm();

    std::vector<run_report> reports;
    reports.push_back(run_asio_uring(opts.file, block, "asio_uring"));
    warm();
    reports.push_back(run_thread_pool(opts.file, block));
    warm();
    reports.push_back(run_asio_uring(opts.file, block, "asio_uring (again)"));

    std::printf("file_checksum: %s, %llu bytes, %llu KiB blocks, page-cached\n",
        opts.file.c_str(), static_cast<unsigned long long>(reference.bytes),
        static_cast<unsigned long long>(opts.block_kib));
    std::printf("  %-26s %9s %9s %9s %12s  %s\n", "variant", "MB/s", "vol.cs",
        "invol.cs", "enters/read", "checksum");
    for (const run_report& r : reports)
      print_report(r);

    bool ok = true;
    for (const run_report& r : reports)
    {
      if (r.result.error)
      {
        std::fprintf(stderr, "file_checksum: %s: read failed: %s\n", r.name,
            r.result.error.message().c_str());
        ok = false;
      }
      else if (r.result.sum != reference.sum
          || r.result.bytes != reference.bytes)
      {
        std::fprintf(stderr,
            "file_checksum: %s: checksum 0x%016llx over %llu bytes, expected "
            "0x%016llx over %llu bytes\n",
            r.name, static_cast<unsigned long long>(r.result.sum),
            static_cast<unsigned long long>(r.result.bytes),
            static_cast<unsigned long long>(reference.sum),
            static_cast<unsigned long long>(reference.bytes));
        ok = false;
      }
    }
    if (!ok)
      return 1;

    double uring = (checksum_util::mb_per_s(reports[0].result.bytes,
                        reports[0].elapsed)
        + checksum_util::mb_per_s(reports[2].result.bytes, reports[2].elapsed))
        / 2;
    double pool = checksum_util::mb_per_s(reports[1].result.bytes,
        reports[1].elapsed);
    if (pool > 0)
      std::printf("asio_uring (mean of both runs) / thread pool: %.2fx\n",
          uring / pool);
    std::printf("checksums match (read(2) reference 0x%016llx)\n",
        static_cast<unsigned long long>(reference.sum));
    return 0;
  }
  catch (const std::exception& e)
  {
    std::fprintf(stderr, "file_checksum: %s\n", e.what());
    return 1;
  }
}
