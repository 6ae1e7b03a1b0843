//
// bench_w1.cpp
// ~~~~~~~~~~~~
//
// W1, file checksum (page-cached): read a file sequentially in 32 KiB
// blocks, one block in flight, and sum every byte. One iteration is one
// pass over the whole file. Variants in this binary:
//   BM_W1_asio_uring           asio_uring::stream_file::async_read_some
//   BM_W1_asio_uring_single_issuer  the same, ring_options::single_issuer
//   BM_W1_thread_pool          blocking pread(2) on a boost::asio::thread_pool,
//                              result posted to a boost::asio::io_context
//   BM_W1_raw_liburing[_coop|_defer]  io_uring_prep_read +
//                              io_uring_submit_and_wait, QD1, with the
//                              kernel's default setup flags, asio_uring's
//                              default flags, or single-issuer flags
//   BM_W1_read                 plain read(2) in a loop
// Boost.Asio's own io_uring backend is in bench_boost_uring(_noepoll).
// Each benchmark re-reads the file right before it runs, so it is cached.
//
#include "asio_benchmarks.hpp"
#include "raw_ring.hpp"

#include <asio_uring/io_context.hpp>
#include <asio_uring/stream_file.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cerrno>
#include <cstring>

#include <unistd.h>

namespace {

void BM_W1_asio_uring(benchmark::State& state)
{
  asio_uring::io_context ctx;
  bench::w1_stream<asio_uring::stream_file>(state, ctx,
      bench::context_enter_count());
}

void BM_W1_asio_uring_single_issuer(benchmark::State& state)
{
  asio_uring::ring_options options;
  options.single_issuer = true;
  asio_uring::io_context ctx(options, 1);
  bench::w1_stream<asio_uring::stream_file>(state, ctx,
      bench::context_enter_count());
}

void BM_W1_thread_pool(benchmark::State& state)
{
  const checksum_util::read_pass reference = bench::prepare_w1_file();
  int fd = bench::open_read_only(bench::opts().file);
  boost::asio::io_context ioc;
  boost::asio::thread_pool pool;  // Boost's default size: 2 x cores

  auto usage_before = checksum_util::usage::now();
  for (auto _ : state)
  {
    checksum_util::thread_pool_checksum reader(ioc, pool, fd,
        bench::opts().block);
    reader.start();
    ioc.restart();
    ioc.run();
    const checksum_util::checksum_result& r = reader.result();
    if (!bench::check_pass(state, reference, r.bytes, r.sum, bool(r.error)))
      break;
  }
  bench::report_usage(state, checksum_util::usage::now() - usage_before);
  bench::finish_w1(state, reference);
  pool.join();
  ::close(fd);
}

template <unsigned Flags>
void BM_W1_raw_liburing(benchmark::State& state)
{
  const checksum_util::read_pass reference = bench::prepare_w1_file();
  bench::raw_ring ring(Flags);
  if (ring.error() < 0)
  {
    state.SkipWithError(std::strerror(-ring.error()));
    return;
  }
  int fd = bench::open_read_only(bench::opts().file);
  checksum_util::block_buffer buffer(bench::opts().block);

  auto usage_before = checksum_util::usage::now();
  for (auto _ : state)
  {
    std::uint64_t offset = 0;
    std::uint64_t sum = 0;
    bool failed = false;
    for (;;)
    {
      int res = ring.round_trip([&](io_uring_sqe* sqe)
          {
            io_uring_prep_read(sqe, fd, buffer.data(),
                static_cast<unsigned>(buffer.size()), offset);
          });
      if (res < 0)
      {
        failed = true;
        break;
      }
      if (res == 0)
        break;
      sum += checksum_util::byte_sum(buffer.data(),
          static_cast<std::size_t>(res));
      offset += static_cast<std::uint64_t>(res);
    }
    if (!bench::check_pass(state, reference, offset, sum, failed))
      break;
  }
  bench::report_usage(state, checksum_util::usage::now() - usage_before);
  bench::finish_w1(state, reference);
  state.counters["enters_per_op"] = 1.0;
  ::close(fd);
}

void BM_W1_read(benchmark::State& state)
{
  const checksum_util::read_pass reference = bench::prepare_w1_file();
  int fd = bench::open_read_only(bench::opts().file);
  checksum_util::block_buffer buffer(bench::opts().block);

  auto usage_before = checksum_util::usage::now();
  for (auto _ : state)
  {
    ::lseek(fd, 0, SEEK_SET);
    std::uint64_t bytes = 0;
    std::uint64_t sum = 0;
    bool failed = false;
    for (;;)
    {
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
      {
        failed = true;
        break;
      }
      if (n == 0)
        break;
      sum += checksum_util::byte_sum(buffer.data(), static_cast<std::size_t>(n));
      bytes += static_cast<std::uint64_t>(n);
    }
    if (!bench::check_pass(state, reference, bytes, sum, failed))
      break;
  }
  bench::report_usage(state, checksum_util::usage::now() - usage_before);
  bench::finish_w1(state, reference);
  ::close(fd);
}

} // namespace

BENCHMARK(BM_W1_asio_uring)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1_thread_pool)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1_asio_uring_single_issuer)
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1_raw_liburing<bench::raw_plain>)->Name("BM_W1_raw_liburing")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1_raw_liburing<bench::raw_coop>)->Name("BM_W1_raw_liburing_coop")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1_raw_liburing<bench::raw_defer>)->Name("BM_W1_raw_liburing_defer")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1_read)->Unit(benchmark::kMillisecond)->UseRealTime();

ASIO_URING_BENCHMARK_MAIN()
