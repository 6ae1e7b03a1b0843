//
// bench_w2.cpp
// ~~~~~~~~~~~~
//
// W2, random reads: aligned 4 KiB reads at uniformly random offsets over
// --w2_files files of --w2_file_mib MiB (default 4 x 256 MiB, generated
// once and reused), a fixed number of timed reads per run (--w2_reads
// page-cached, --w2_direct_reads O_DIRECT) after untimed warm-up reads.
// Page-cached runs re-read every file right before they start; O_DIRECT
// runs open them with O_DIRECT and so bypass the cache. The argument is
// N, the reads in flight in total. Variants in this binary (W2D_: the same
// with O_DIRECT):
//   BM_W2[D]_asio_uring/N        one asio_uring::random_access_file per
//                                file, default io_context, one thread
//   BM_W2[D]_asio_uring_hint1/N  the same with io_context(1)
//   BM_W2_asio_uring_typed/N     the same as BM_W2_asio_uring with files of
//                                basic_random_access_file<io_context::
//                                executor_type> (no type-erased executor
//                                in each operation); a diagnostic
//   BM_W2_asio_uring_ring1024/N  BM_W2_asio_uring with ring_options::entries
//                                1024 (default 256: at N = 512 the SQ fills
//                                up within one batch of handlers); a
//                                diagnostic, not in run_w2_benchmarks.sh
//   BM_W2[D]_asio_uring_registered/N  BM_W2[D]_asio_uring with each file's
//                                descriptor registered (register_descriptor)
//                                and the N buffers registered
//                                (register_buffers): READ_FIXED on fixed
//                                files, the opt-in extensions
//   BM_W2[D]_raw_liburing/N      one ring (N entries, asio_uring's default
//                                setup flags), N reads in flight, reap
//                                every CQE available and resubmit
//   BM_W2[D]_raw_liburing_registered/N  the same with the files and the
//                                buffers registered: READ_FIXED on fixed
//                                files
//   BM_W2[D]_pread               --w2_threads (2) threads each looping on
//                                blocking pread(2); N does not apply
//   BM_W2_mmap                   the same threads memcpy 4 KiB from a
//                                fresh MAP_SHARED mapping of each file
//                                (the first touch of a page takes a
//                                minor fault); page-cached only
//   BM_W2_mmap_populate          the same, mapped with MAP_POPULATE
// Boost.Asio's io_uring random_access_file is in bench_w2_boost_uring.
// Each read's latency runs from just before it is started (the previous
// completion's timestamp for asynchronous slots) to the moment its
// completion is seen; one clock read per read in every variant.
//
#include "raw_ring.hpp"
#include "w2_workload.hpp"

#include <asio_uring/aligned_buffer.hpp>
#include <asio_uring/buffer_registration.hpp>
#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>

#include <atomic>
#include <optional>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

namespace {

// Registered: every file's descriptor and every slot's buffer registered
// with the ring (register_descriptor, register_buffers).
template <bool Direct,
    typename File = asio_uring::random_access_file, bool Registered = false>
void w2_asio_uring(benchmark::State& state, asio_uring::io_context& ctx)
{
  asio_uring::file_base::flags flags = asio_uring::file_base::read_only;
  if (Direct)
    flags |= asio_uring::file_base::direct;
  asio_uring::aligned_buffer memory(
      static_cast<std::size_t>(state.range(0)) * w2::block_size);
  unsigned char* const data = static_cast<unsigned char*>(memory.data());
  if constexpr (!Registered)
    w2::random_read_run<File>(state, ctx, flags, Direct, data,
        bench::context_enter_count());
  else
  {
    using registration = asio_uring::buffer_registration<
        std::vector<boost::asio::mutable_buffer>>;
    std::optional<registration> registered;
    w2::random_read_run<File>(state, ctx, flags, Direct,
        bench::context_enter_count(),
        [&](std::vector<File>& files)
        {
          for (File& f : files)
            f.register_descriptor();
          registered.emplace(asio_uring::register_buffers(ctx,
              w2::slot_buffers(state, data)));
          return std::vector<boost::asio::mutable_registered_buffer>(
              registered->begin(), registered->end());
        });
  }
}

template <bool Direct>
void BM_W2_asio_uring(benchmark::State& state)
{
  asio_uring::io_context ctx;
  w2_asio_uring<Direct>(state, ctx);
}

template <bool Direct>
void BM_W2_asio_uring_hint1(benchmark::State& state)
{
  asio_uring::io_context ctx(1);
  w2_asio_uring<Direct>(state, ctx);
}

void BM_W2_asio_uring_typed(benchmark::State& state)
{
  asio_uring::io_context ctx;
  w2_asio_uring<false, asio_uring::basic_random_access_file<
      asio_uring::io_context::executor_type>>(state, ctx);
}

template <bool Direct>
void BM_W2_asio_uring_registered(benchmark::State& state)
{
  asio_uring::io_context ctx;
  w2_asio_uring<Direct, asio_uring::random_access_file, true>(state, ctx);
}

void BM_W2_asio_uring_ring1024(benchmark::State& state)
{
  asio_uring::ring_options options;
  options.entries = 1024;
  asio_uring::io_context ctx(options);
  w2_asio_uring<false>(state, ctx);
}

// N reads in flight on one plain ring: slot s reads file s % files; each
// turn submits what the previous turn prepared and waits for at least one
// completion (one io_uring_enter), then handles every CQE there is.
// Registered: the files and the buffers are registered with the ring, and
// each read is a READ_FIXED on a fixed file.
template <bool Direct, bool Registered = false>
void BM_W2_raw_liburing(benchmark::State& state)
{
  const std::size_t concurrency = static_cast<std::size_t>(state.range(0));
  w2::prepare_files(!Direct);
  const std::vector<int> fds = w2::open_files(Direct ? O_DIRECT : 0);
  checksum_util::block_buffer memory(concurrency * w2::block_size);

  io_uring ring;
  io_uring_params params;
  std::memset(&params, 0, sizeof(params));
  params.flags = bench::raw_coop;
  int r = io_uring_queue_init_params(
      static_cast<unsigned>(std::max<std::size_t>(concurrency, 8)), &ring,
      &params);
  if (r < 0)
  {
    state.SkipWithError(std::strerror(-r));
    w2::close_files(fds);
    return;
  }

  struct slot
  {
    int fd;  // the fixed-file index when Registered
    unsigned char* data;
    w2::clock::time_point started;
  };
  std::vector<slot> slots(concurrency);
  for (std::size_t s = 0; s < concurrency; ++s)
    slots[s] = slot{Registered ? static_cast<int>(s % fds.size())
                               : fds[s % fds.size()],
        memory.data() + s * w2::block_size, {}};
  if constexpr (Registered)
  {
    std::vector<iovec> iov(concurrency);
    for (std::size_t s = 0; s < concurrency; ++s)
      iov[s] = iovec{slots[s].data, w2::block_size};
    r = io_uring_register_files(&ring, fds.data(),
        static_cast<unsigned>(fds.size()));
    if (r == 0)
      r = io_uring_register_buffers(&ring, iov.data(),
          static_cast<unsigned>(concurrency));
    if (r < 0)
    {
      state.SkipWithError(std::strerror(-r));
      io_uring_queue_exit(&ring);
      w2::close_files(fds);
      return;
    }
  }

  w2::latency_histogram histogram;
  std::uint64_t enters = 0;
  std::size_t next = 0;
  auto start = [&](std::size_t s, w2::clock::time_point now) -> bool
  {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    if (!sqe)
      return false;
    slots[s].started = now;
    if constexpr (Registered)
    {
      io_uring_prep_read_fixed(sqe, slots[s].fd, slots[s].data,
          static_cast<unsigned>(w2::block_size), w2::offset_at(next++),
          static_cast<int>(s));
      sqe->flags |= IOSQE_FIXED_FILE;
    }
    else
      io_uring_prep_read(sqe, slots[s].fd, slots[s].data,
          static_cast<unsigned>(w2::block_size), w2::offset_at(next++));
    io_uring_sqe_set_data64(sqe, s);
    return true;
  };
  auto run = [&](std::size_t first, std::size_t count) -> bool
  {
    next = first;
    const std::size_t end = first + count;
    std::size_t in_flight = 0;
    bool failed = false;
    const w2::clock::time_point now = w2::clock::now();
    for (std::size_t s = 0; s < std::min(concurrency, count); ++s, ++in_flight)
      if (!start(s, now))
        return false;
    while (in_flight > 0)
    {
      int ret = io_uring_submit_and_wait(&ring, 1);
      ++enters;
      if (ret < 0 && ret != -EINTR)
        return false;
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring, head, cqe)
      {
        const w2::clock::time_point t = w2::clock::now();
        const std::size_t s = static_cast<std::size_t>(io_uring_cqe_get_data64(cqe));
        histogram.record(w2::elapsed_ns(slots[s].started, t));
        --in_flight;
        ++seen;
        if (cqe->res != static_cast<int>(w2::block_size))
          failed = true;
        else if (!failed && next < end)
        {
          if (!start(s, t))
            failed = true;
          else
            ++in_flight;
        }
      }
      io_uring_cq_advance(&ring, seen);
    }
    return !failed;
  };

  const std::size_t warm = w2::warmup_reads(Direct, concurrency);
  const std::size_t count = w2::reads_for(Direct);
  bool ok = run(0, warm);
  histogram.reset();
  bench::totals().ops += warm;
  w2::run_meter meter;
  std::uint64_t enters_before = enters;
  for (auto _ : state)
  {
    meter.start();
    ok = ok && run(warm, count);
    meter.stop();
  }
  io_uring_queue_exit(&ring);
  w2::close_files(fds);
  if (!ok)
  {
    state.SkipWithError("raw liburing read failed");
    return;
  }
  meter.report(state, histogram, count);
  state.counters["enters_per_read"]
      = static_cast<double>(enters - enters_before) / static_cast<double>(count);
}

// Runs read i (i in [first, first + count)) as read_one(thread, i) on
// opts().threads threads, thread t taking i = first + t, first + t + T, ...
// Each thread records the latency of each read into its own histogram;
// returns false if any read_one did.
template <typename ReadOne>
bool run_on_threads(std::size_t first, std::size_t count,
    std::vector<w2::latency_histogram>& histograms, ReadOne read_one)
{
  const unsigned threads = w2::opts().threads;
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t]
        {
          w2::latency_histogram& h = histograms[t];
          w2::clock::time_point before = w2::clock::now();
          for (std::size_t i = first + t; i < first + count; i += threads)
          {
            if (!read_one(t, i))
            {
              failed = true;
              return;
            }
            const w2::clock::time_point after = w2::clock::now();
            h.record(w2::elapsed_ns(before, after));
            before = after;
          }
        });
  for (std::thread& th : pool)
    th.join();
  return !failed;
}

// The threaded variants' frame: per-thread buffers and histograms,
// warm-up, then the timed reads.
template <typename ReadOne>
void threaded_run(benchmark::State& state, bool direct, ReadOne read_one)
{
  const unsigned threads = w2::opts().threads;
  std::vector<w2::latency_histogram> histograms(threads);
  const std::size_t warm = w2::warmup_reads(direct, threads);
  const std::size_t count = w2::reads_for(direct);
  bool ok = run_on_threads(0, warm, histograms, read_one);
  for (w2::latency_histogram& h : histograms)
    h.reset();
  bench::totals().ops += warm;
  w2::run_meter meter;
  for (auto _ : state)
  {
    meter.start();
    ok = ok && run_on_threads(warm, count, histograms, read_one);
    meter.stop();
  }
  if (!ok)
  {
    state.SkipWithError("read failed");
    return;
  }
  w2::latency_histogram all;
  for (const w2::latency_histogram& h : histograms)
    all.merge(h);
  meter.report(state, all, count);
}

template <bool Direct>
void BM_W2_pread(benchmark::State& state)
{
  w2::prepare_files(!Direct);
  const std::vector<int> fds = w2::open_files(Direct ? O_DIRECT : 0);
  checksum_util::block_buffer memory(w2::opts().threads * w2::block_size);
  threaded_run(state, Direct, [&](unsigned t, std::size_t i)
      {
        unsigned char* data = memory.data() + t * w2::block_size;
        ssize_t n;
        do
          n = ::pread(fds[i % fds.size()], data, w2::block_size,
              static_cast<off_t>(w2::offset_at(i)));
        while (n < 0 && errno == EINTR);
        return n == static_cast<ssize_t>(w2::block_size);
      });
  w2::close_files(fds);
}

template <bool Populate>
void BM_W2_mmap(benchmark::State& state)
{
  w2::prepare_files(true);
  const std::vector<int> fds = w2::open_files(0);
  const std::size_t size = static_cast<std::size_t>(w2::opts().file_mib << 20);
  std::vector<const unsigned char*> maps;
  for (int fd : fds)
  {
    void* p = ::mmap(nullptr, size, PROT_READ,
        MAP_SHARED | (Populate ? MAP_POPULATE : 0), fd, 0);
    if (p == MAP_FAILED)
    {
      state.SkipWithError(std::strerror(errno));
      for (const unsigned char* m : maps)
        ::munmap(const_cast<unsigned char*>(m), size);
      w2::close_files(fds);
      return;
    }
    maps.push_back(static_cast<const unsigned char*>(p));
  }
  checksum_util::block_buffer memory(w2::opts().threads * w2::block_size);
  threaded_run(state, false, [&](unsigned t, std::size_t i)
      {
        unsigned char* data = memory.data() + t * w2::block_size;
        std::memcpy(data, maps[i % maps.size()] + w2::offset_at(i),
            w2::block_size);
        benchmark::DoNotOptimize(data);
        benchmark::ClobberMemory();
        return true;
      });
  for (const unsigned char* m : maps)
    ::munmap(const_cast<unsigned char*>(m), size);
  w2::close_files(fds);
}

void concurrency_args(benchmark::internal::Benchmark* b)
{
  b->Arg(8)->Arg(32)->Arg(512)->Iterations(1)->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

} // namespace

BENCHMARK(BM_W2_asio_uring<false>)->Name("BM_W2_asio_uring")
    ->Apply(concurrency_args);
BENCHMARK(BM_W2_asio_uring_hint1<false>)->Name("BM_W2_asio_uring_hint1")
    ->Apply(concurrency_args);
BENCHMARK(BM_W2_asio_uring_typed)->Apply(concurrency_args);
BENCHMARK(BM_W2_asio_uring_ring1024)->Apply(concurrency_args);
BENCHMARK(BM_W2_raw_liburing<false>)->Name("BM_W2_raw_liburing")
    ->Apply(concurrency_args);
BENCHMARK(BM_W2_asio_uring_registered<false>)
    ->Name("BM_W2_asio_uring_registered")->Apply(concurrency_args);
BENCHMARK(BM_W2_raw_liburing<false, true>)
    ->Name("BM_W2_raw_liburing_registered")->Apply(concurrency_args);
BENCHMARK(BM_W2_pread<false>)->Name("BM_W2_pread")->Iterations(1)
    ->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_W2_mmap<false>)->Name("BM_W2_mmap")->Iterations(1)
    ->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_W2_mmap<true>)->Name("BM_W2_mmap_populate")->Iterations(1)
    ->UseManualTime()->Unit(benchmark::kMillisecond);

BENCHMARK(BM_W2_asio_uring<true>)->Name("BM_W2D_asio_uring")
    ->Apply(concurrency_args);
BENCHMARK(BM_W2_asio_uring_hint1<true>)->Name("BM_W2D_asio_uring_hint1")
    ->Apply(concurrency_args);
BENCHMARK(BM_W2_raw_liburing<true>)->Name("BM_W2D_raw_liburing")
    ->Apply(concurrency_args);
BENCHMARK(BM_W2_asio_uring_registered<true>)
    ->Name("BM_W2D_asio_uring_registered")->Apply(concurrency_args);
BENCHMARK(BM_W2_raw_liburing<true, true>)
    ->Name("BM_W2D_raw_liburing_registered")->Apply(concurrency_args);
BENCHMARK(BM_W2_pread<true>)->Name("BM_W2D_pread")->Iterations(1)
    ->UseManualTime()->Unit(benchmark::kMillisecond);

ASIO_URING_W2_BENCHMARK_MAIN()
