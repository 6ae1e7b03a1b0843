//
// bench_w4.cpp
// ~~~~~~~~~~~~
//
// W4, per-operation overhead. One iteration is --ops (default 10000) round
// trips, each started by the previous one's completion:
//   BM_W4_post_asio_uring        post a handler that posts the next
//   BM_W4_post_asio_uring_hint1  the same, concurrency_hint 1
//   BM_W4_post_boost_asio        the same on boost::asio::io_context
//   BM_W4_post_boost_asio_reactor  the same once a steady_timer exists (the
//                                epoll reactor then runs between handlers)
//   BM_W4_read1_asio_uring       1-byte random_access_file::async_read_some_at
//                                of a cached one-page file
//   BM_W4_read1_asio_uring_hint1 the same, concurrency_hint 1
//   BM_W4_read1_raw_liburing[_coop]  1-byte io_uring_prep_read, QD1 (kernel
//                                default setup flags / asio_uring's flags)
//   BM_W4_nop_raw_liburing[_coop]    io_uring_prep_nop, QD1
//   BM_W4_read1_pread            1-byte pread(2), the synchronous floor
//   BM_W4_read1_asio_uring_qd32  the 1-byte read with 32 in flight, each
//                                handler starting the next
//   BM_W4_read1_raw_liburing_coop_qd32  32 SQEs per io_uring_enter that
//                                waits for their 32 CQEs (asio_uring's flags)
// Boost.Asio's io_uring backend's 1-byte read is in bench_boost_uring.
//
#include "asio_benchmarks.hpp"
#include "raw_ring.hpp"

#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstring>

#include <unistd.h>

namespace {

void BM_W4_post_asio_uring(benchmark::State& state)
{
  asio_uring::io_context ctx;
  bench::w4_post(state, ctx);
}

void BM_W4_post_asio_uring_hint1(benchmark::State& state)
{
  asio_uring::io_context ctx(1);
  bench::w4_post(state, ctx);
}

void BM_W4_post_boost_asio(benchmark::State& state)
{
  boost::asio::io_context ctx;
  bench::w4_post(state, ctx);
}

// Boost.Asio runs its reactor between handlers only once a reactor-based
// object exists; a program with any socket or timer has one.
void BM_W4_post_boost_asio_reactor(benchmark::State& state)
{
  boost::asio::io_context ctx;
  boost::asio::steady_timer timer(ctx);
  bench::w4_post(state, ctx);
}

void BM_W4_read1_asio_uring(benchmark::State& state)
{
  asio_uring::io_context ctx;
  bench::w4_read1<asio_uring::random_access_file>(state, ctx,
      bench::context_enter_count());
}

void BM_W4_read1_asio_uring_hint1(benchmark::State& state)
{
  asio_uring::io_context ctx(1);
  bench::w4_read1<asio_uring::random_access_file>(state, ctx,
      bench::context_enter_count());
}

void BM_W4_read1_asio_uring_qd32(benchmark::State& state)
{
  asio_uring::io_context ctx;
  bench::w4_read1<asio_uring::random_access_file>(state, ctx,
      bench::context_enter_count(), 32);
}

// Round trips of one SQE at a time through a plain liburing ring with
// setup flags Flags; prep fills the SQE.
template <unsigned Flags, typename Prep>
void raw_round_trips(benchmark::State& state, Prep prep)
{
  bench::raw_ring ring(Flags);
  if (ring.error() < 0)
  {
    state.SkipWithError(std::strerror(-ring.error()));
    return;
  }
  const std::size_t ops = bench::opts().ops;
  for (auto _ : state)
  {
    for (std::size_t i = 0; i < ops; ++i)
    {
      if (ring.round_trip(prep) < 0)
      {
        state.SkipWithError("raw liburing round trip failed");
        return;
      }
    }
  }
  bench::finish_w4(state, ops);
  state.counters["enters_per_op"] = 1.0;
}

template <unsigned Flags>
void BM_W4_read1_raw_liburing(benchmark::State& state)
{
  bench::prepare_w4_file();
  int fd = bench::open_read_only(bench::opts().small_file);
  unsigned char byte = 0;
  raw_round_trips<Flags>(state, [&](io_uring_sqe* sqe)
      {
        io_uring_prep_read(sqe, fd, &byte, 1, 0);
      });
  ::close(fd);
}

template <unsigned Flags>
void BM_W4_nop_raw_liburing(benchmark::State& state)
{
  raw_round_trips<Flags>(state,
      [](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); });
}

template <unsigned Flags>
void BM_W4_read1_raw_liburing_qd32(benchmark::State& state)
{
  constexpr unsigned depth = 32;
  bench::prepare_w4_file();
  int fd = bench::open_read_only(bench::opts().small_file);
  unsigned char bytes[depth] = {};
  bench::raw_ring ring(Flags, depth);
  if (ring.error() < 0)
  {
    state.SkipWithError(std::strerror(-ring.error()));
    ::close(fd);
    return;
  }
  const std::size_t batches = (bench::opts().ops + depth - 1) / depth;
  for (auto _ : state)
  {
    for (std::size_t b = 0; b < batches; ++b)
    {
      unsigned slot = 0;
      if (ring.batch_round_trip([&](io_uring_sqe* sqe)
              { io_uring_prep_read(sqe, fd, &bytes[slot++], 1, 0); },
              depth) < 0)
      {
        state.SkipWithError("raw liburing batch failed");
        ::close(fd);
        return;
      }
    }
  }
  bench::finish_w4(state, batches * depth);
  state.counters["enters_per_op"] = 1.0 / depth;
  ::close(fd);
}

void BM_W4_read1_pread(benchmark::State& state)
{
  bench::prepare_w4_file();
  int fd = bench::open_read_only(bench::opts().small_file);
  unsigned char byte = 0;
  const std::size_t ops = bench::opts().ops;
  for (auto _ : state)
  {
    for (std::size_t i = 0; i < ops; ++i)
    {
      if (::pread(fd, &byte, 1, 0) != 1)
      {
        state.SkipWithError("pread failed");
        ::close(fd);
        return;
      }
    }
  }
  bench::finish_w4(state, ops);
  ::close(fd);
}

} // namespace

BENCHMARK(BM_W4_post_asio_uring)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_W4_post_asio_uring_hint1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_W4_post_boost_asio)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_W4_post_boost_asio_reactor)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_W4_read1_asio_uring)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_W4_read1_asio_uring_hint1)->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_W4_read1_raw_liburing<bench::raw_plain>)
    ->Name("BM_W4_read1_raw_liburing")
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_W4_read1_raw_liburing<bench::raw_coop>)
    ->Name("BM_W4_read1_raw_liburing_coop")
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_W4_nop_raw_liburing<bench::raw_plain>)
    ->Name("BM_W4_nop_raw_liburing")
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_W4_nop_raw_liburing<bench::raw_coop>)
    ->Name("BM_W4_nop_raw_liburing_coop")
    ->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_W4_read1_pread)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_W4_read1_asio_uring_qd32)->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_W4_read1_raw_liburing_qd32<bench::raw_coop>)
    ->Name("BM_W4_read1_raw_liburing_coop_qd32")
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

ASIO_URING_BENCHMARK_MAIN()
