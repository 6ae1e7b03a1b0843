//
// bench_boost_uring.cpp
// ~~~~~~~~~~~~~~~~~~~~~
//
// Boost.Asio's own io_uring backend, for comparison with asio_uring. Built
// twice, never linked with asio_uring (its Boost.Asio configuration differs,
// so the two must not meet in one program):
//   bench_boost_uring          BOOST_ASIO_HAS_IO_URING: files on io_uring,
//                              the reactor still epoll
//   bench_boost_uring_noepoll  + BOOST_ASIO_DISABLE_EPOLL: io_uring is the
//                              io_context's only backend
// The benchmark names carry BENCH_VARIANT (boost_uring or
// boost_uring_noepoll):
//   BM_W1_<variant>     the W1 checksum with boost::asio::stream_file
//   BM_W4_read1_<variant>  1-byte boost::asio::random_access_file reads
//
#include "asio_benchmarks.hpp"

#if !defined(BOOST_ASIO_HAS_IO_URING)
#error "bench_boost_uring must be built with BOOST_ASIO_HAS_IO_URING"
#endif

#include <boost/asio/io_context.hpp>
#include <boost/asio/random_access_file.hpp>
#include <boost/asio/stream_file.hpp>

#ifndef BENCH_VARIANT
#error "define BENCH_VARIANT"
#endif

#define BENCH_STR2(x) #x
#define BENCH_STR(x) BENCH_STR2(x)

namespace {

void BM_W1_boost(benchmark::State& state)
{
  boost::asio::io_context ctx;
  bench::w1_stream<boost::asio::stream_file>(state, ctx,
      bench::no_enter_count());
}

void BM_W4_read1_boost(benchmark::State& state)
{
  boost::asio::io_context ctx;
  bench::w4_read1<boost::asio::random_access_file>(state, ctx,
      bench::no_enter_count());
}

} // namespace

BENCHMARK(BM_W1_boost)->Name("BM_W1_" BENCH_STR(BENCH_VARIANT))
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W4_read1_boost)->Name("BM_W4_read1_" BENCH_STR(BENCH_VARIANT))
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

ASIO_URING_BENCHMARK_MAIN()
