//
// bench_w2_boost_uring.cpp
// ~~~~~~~~~~~~~~~~~~~~~~~~
//
// W2 (and W1 with O_DIRECT) on Boost.Asio's own io_uring backend, for
// comparison with asio_uring. Built twice, never linked with asio_uring:
//   bench_w2_boost_uring          BOOST_ASIO_HAS_IO_URING (files on
//                                 io_uring, the reactor still epoll)
//   bench_w2_boost_uring_noepoll  + BOOST_ASIO_DISABLE_EPOLL
// Benchmarks (<variant> is BENCH_VARIANT: boost_uring or
// boost_uring_noepoll):
//   BM_W2_<variant>/N    W2 with one boost::asio::random_access_file per
//                        file and N reads started in total. Boost.Asio's
//                        io_uring service keeps one read per object in the
//                        ring and queues the others behind it, so at most
//                        one read per file (4) is in the kernel whatever N
//                        is: that is what a Boost.Asio program gets.
//   BM_W2D_<variant>/N   the same with O_DIRECT
//   BM_W1D_<variant>     W1 with O_DIRECT: random_access_file reads at
//                        explicit increasing offsets, one 32 KiB block in
//                        flight. Not stream_file: its ring reads use offset
//                        -1 (the descriptor's position), which an O_DIRECT
//                        read through the ring does not advance on this
//                        kernel, so it would re-read block 0 forever.
//
#include "w2_workload.hpp"

#if !defined(BOOST_ASIO_HAS_IO_URING)
#error "bench_w2_boost_uring must be built with BOOST_ASIO_HAS_IO_URING"
#endif

#include <boost/asio/io_context.hpp>
#include <boost/asio/random_access_file.hpp>

#include <fcntl.h>

#ifndef BENCH_VARIANT
#error "define BENCH_VARIANT"
#endif

#define BENCH_STR2(x) #x
#define BENCH_STR(x) BENCH_STR2(x)

namespace {

using boost::asio::random_access_file;

random_access_file::flags open_flags(bool direct)
{
  return static_cast<random_access_file::flags>(
      random_access_file::read_only | (direct ? O_DIRECT : 0));
}

template <bool Direct>
void BM_W2_boost(benchmark::State& state)
{
  boost::asio::io_context ctx;
  checksum_util::block_buffer memory(
      static_cast<std::size_t>(state.range(0)) * w2::block_size);
  w2::random_read_run<random_access_file>(state, ctx, open_flags(Direct),
      Direct, memory.data(), bench::no_enter_count());
}

void BM_W1D_boost(benchmark::State& state)
{
  const checksum_util::read_pass reference = w2::prepare_w1_direct_file();
  boost::asio::io_context ctx;
  checksum_util::block_buffer memory(bench::opts().block);
  w2::read_ahead_run<random_access_file>(state, ctx, w2::file_path(0),
      open_flags(true), reference, memory.data(), 1, bench::no_enter_count());
}

void concurrency_args(benchmark::internal::Benchmark* b)
{
  b->Arg(8)->Arg(32)->Arg(512)->Iterations(1)->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

} // namespace

BENCHMARK(BM_W2_boost<false>)->Name("BM_W2_" BENCH_STR(BENCH_VARIANT))
    ->Apply(concurrency_args);
BENCHMARK(BM_W2_boost<true>)->Name("BM_W2D_" BENCH_STR(BENCH_VARIANT))
    ->Apply(concurrency_args);
BENCHMARK(BM_W1D_boost)->Name("BM_W1D_" BENCH_STR(BENCH_VARIANT))
    ->Unit(benchmark::kMillisecond)->UseRealTime();

ASIO_URING_W2_BENCHMARK_MAIN()
