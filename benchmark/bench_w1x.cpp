//
// bench_w1x.cpp
// ~~~~~~~~~~~~~
//
// W1 (file checksum in 32 KiB blocks) variants beyond bench_w1's: O_DIRECT
// and read-ahead. One iteration is one pass over the file, checked against
// a read(2) reference sum.
// Page-cached, over bench_w1's file (--file, 1 GiB), re-read right before:
//   BM_W1_asio_uring_readahead4   asio_uring::random_access_file, 4 reads in
//                                 flight at increasing offsets, summed in
//                                 file order
//   BM_W1_raw_liburing_qd4        the same pattern on a plain ring
// O_DIRECT, over the first W2 file (256 MiB; see w2_workload.hpp):
//   BM_W1D_asio_uring             asio_uring::stream_file opened with
//                                 file_base::direct, one block in flight
//                                 into an asio_uring::aligned_buffer
//   BM_W1D_asio_uring_readahead4  as BM_W1_asio_uring_readahead4
//   BM_W1D_raw_liburing[_qd4]     a plain ring, 1 or 4 reads in flight
//   BM_W1D_thread_pool            blocking pread(2) on a thread_pool, result
//                                 posted to a boost::asio::io_context
//   BM_W1D_pread                  a plain pread(2) loop, the synchronous floor
// The raw rings use asio_uring's default setup flags (bench::raw_coop).
// Boost.Asio's io_uring backend with O_DIRECT is in bench_w2_boost_uring.
//
#include "raw_ring.hpp"
#include "w2_workload.hpp"

#include <asio_uring/aligned_buffer.hpp>
#include <asio_uring/io_context.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/stream_file.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace {

constexpr std::size_t read_ahead_depth = 4;

// stream_checksum (w1_readers.hpp) with the caller's buffer, so that the
// O_DIRECT variant reads into an asio_uring::aligned_buffer.
template <typename File, typename Buffer>
class buffer_stream_checksum
{
public:
  buffer_stream_checksum(File& file, Buffer& buffer)
    : file_(file), buffer_(buffer)
  {
  }

  void start() { read_next(); }

  const checksum_util::checksum_result& result() const noexcept
  {
    return result_;
  }

private:
  void read_next()
  {
    file_.async_read_some(asio_uring::buffer(buffer_),
        [this](const boost::system::error_code& ec, std::size_t n)
        {
          ++result_.reads;
          result_.bytes += n;
          result_.sum += checksum_util::byte_sum(
              static_cast<const unsigned char*>(buffer_.data()), n);
          if (!ec)
            read_next();
          else if (ec != boost::asio::error::eof)
            result_.error = ec;
        });
  }

  File& file_;
  Buffer& buffer_;
  checksum_util::checksum_result result_;
};

void BM_W1D_asio_uring(benchmark::State& state)
{
  const checksum_util::read_pass reference = w2::prepare_w1_direct_file();
  asio_uring::io_context ctx;
  asio_uring::stream_file file(ctx, w2::file_path(0),
      asio_uring::file_base::read_only | asio_uring::file_base::direct);
  asio_uring::aligned_buffer buffer(bench::opts().block);

  std::uint64_t reads = 0;
  std::uint64_t enters_before = ctx.enter_count();
  auto usage_before = checksum_util::usage::now();
  for (auto _ : state)
  {
    file.seek(0, asio_uring::stream_file::seek_set);
    buffer_stream_checksum<asio_uring::stream_file, asio_uring::aligned_buffer>
        reader(file, buffer);
    reader.start();
    ctx.restart();
    ctx.run();
    const checksum_util::checksum_result& r = reader.result();
    reads += r.reads;
    if (!bench::check_pass(state, reference, r.bytes, r.sum, bool(r.error)))
      return;
  }
  bench::report_usage(state, checksum_util::usage::now() - usage_before);
  bench::finish_w1(state, reference);
  state.counters["enters_per_op"] = static_cast<double>(
      ctx.enter_count() - enters_before) / static_cast<double>(reads);
}

template <bool Direct>
void BM_W1_asio_uring_readahead(benchmark::State& state)
{
  const checksum_util::read_pass reference
      = Direct ? w2::prepare_w1_direct_file() : bench::prepare_w1_file();
  asio_uring::io_context ctx;
  asio_uring::aligned_buffer memory(read_ahead_depth * bench::opts().block);
  asio_uring::file_base::flags flags = asio_uring::file_base::read_only;
  if (Direct)
    flags |= asio_uring::file_base::direct;
  w2::read_ahead_run<asio_uring::random_access_file>(state, ctx,
      Direct ? w2::file_path(0) : bench::opts().file, flags, reference,
      static_cast<unsigned char*>(memory.data()), read_ahead_depth,
      bench::context_enter_count());
}

// Depth reads in flight on a plain ring at increasing offsets, summed in
// file order: the raw floor of read_ahead_checksum (depth 1: QD1).
template <bool Direct, std::size_t Depth>
void BM_W1_raw_liburing(benchmark::State& state)
{
  const checksum_util::read_pass reference
      = Direct ? w2::prepare_w1_direct_file() : bench::prepare_w1_file();
  const std::string path = Direct ? w2::file_path(0) : bench::opts().file;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (Direct ? O_DIRECT : 0));
  if (fd < 0)
    checksum_util::throw_errno("open", path);
  io_uring ring;
  io_uring_params params;
  std::memset(&params, 0, sizeof(params));
  params.flags = bench::raw_coop;
  int r = io_uring_queue_init_params(8, &ring, &params);
  if (r < 0)
  {
    state.SkipWithError(std::strerror(-r));
    ::close(fd);
    return;
  }
  const std::size_t block = bench::opts().block;
  checksum_util::block_buffer memory(Depth * block);
  const std::uint64_t size = reference.bytes;

  struct slot
  {
    std::uint64_t offset;
    std::size_t want;
    std::size_t got;
    bool done;
  };
  std::uint64_t enters = 0;
  std::uint64_t reads = 0;
  auto usage_before = checksum_util::usage::now();
  for (auto _ : state)
  {
    slot slots[Depth] = {};
    std::uint64_t next_offset = 0;
    std::size_t head = 0;
    std::size_t in_flight = 0;
    std::uint64_t sum = 0;
    std::uint64_t bytes = 0;
    bool failed = false;
    auto read = [&](std::size_t i)
    {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      io_uring_prep_read(sqe, fd, memory.data() + i * block + slots[i].got,
          static_cast<unsigned>(slots[i].want - slots[i].got),
          slots[i].offset + slots[i].got);
      io_uring_sqe_set_data64(sqe, i);
      ++in_flight;
    };
    auto assign = [&](std::size_t i)
    {
      if (next_offset >= size)
        return;
      slots[i] = slot{next_offset,
          static_cast<std::size_t>(std::min<std::uint64_t>(block, size - next_offset)),
          0, false};
      next_offset += slots[i].want;
      read(i);
    };
    for (std::size_t i = 0; i < Depth; ++i)
      assign(i);
    while (in_flight > 0 && !failed)
    {
      int ret = io_uring_submit_and_wait(&ring, 1);
      ++enters;
      if (ret < 0 && ret != -EINTR)
      {
        failed = true;
        break;
      }
      io_uring_cqe* cqe;
      while (!failed && io_uring_peek_cqe(&ring, &cqe) == 0)
      {
        const std::size_t i = static_cast<std::size_t>(io_uring_cqe_get_data64(cqe));
        const int res = cqe->res;
        io_uring_cqe_seen(&ring, cqe);
        --in_flight;
        ++reads;
        if (res <= 0)
        {
          failed = true;
          break;
        }
        slots[i].got += static_cast<std::size_t>(res);
        if (slots[i].got < slots[i].want)
        {
          read(i);
          continue;
        }
        slots[i].done = true;
        while (slots[head].done)
        {
          slot& h = slots[head];
          h.done = false;
          bytes += h.got;
          sum += checksum_util::byte_sum(memory.data() + head * block, h.got);
          assign(head);
          head = (head + 1) % Depth;
        }
      }
    }
    bench::totals().ops += reads;
    if (failed || bytes != reference.bytes || sum != reference.sum)
    {
      state.SkipWithError(failed ? "read failed" : "checksum mismatch");
      break;
    }
  }
  io_uring_queue_exit(&ring);
  ::close(fd);
  bench::report_usage(state, checksum_util::usage::now() - usage_before);
  bench::finish_w1(state, reference);
  state.counters["enters_per_op"]
      = static_cast<double>(enters) / static_cast<double>(reads ? reads : 1);
}

void BM_W1D_thread_pool(benchmark::State& state)
{
  const checksum_util::read_pass reference = w2::prepare_w1_direct_file();
  int fd = ::open(w2::file_path(0).c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (fd < 0)
    checksum_util::throw_errno("open", w2::file_path(0));
  boost::asio::io_context ioc;
  boost::asio::thread_pool pool;  // Boost's default size: 2 x cores

  auto usage_before = checksum_util::usage::now();
  for (auto _ : state)
  {
    // block_buffer is page-aligned, as O_DIRECT needs.
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

void BM_W1D_pread(benchmark::State& state)
{
  const checksum_util::read_pass reference = w2::prepare_w1_direct_file();
  int fd = ::open(w2::file_path(0).c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (fd < 0)
    checksum_util::throw_errno("open", w2::file_path(0));
  checksum_util::block_buffer buffer(bench::opts().block);

  auto usage_before = checksum_util::usage::now();
  for (auto _ : state)
  {
    std::uint64_t bytes = 0;
    std::uint64_t sum = 0;
    bool failed = false;
    for (;;)
    {
      ssize_t n = ::pread(fd, buffer.data(), buffer.size(),
          static_cast<off_t>(bytes));
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

BENCHMARK(BM_W1_asio_uring_readahead<false>)
    ->Name("BM_W1_asio_uring_readahead4")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1_raw_liburing<false, read_ahead_depth>)
    ->Name("BM_W1_raw_liburing_qd4")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1D_asio_uring)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1_asio_uring_readahead<true>)
    ->Name("BM_W1D_asio_uring_readahead4")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1_raw_liburing<true, 1>)->Name("BM_W1D_raw_liburing")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1_raw_liburing<true, read_ahead_depth>)
    ->Name("BM_W1D_raw_liburing_qd4")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1D_thread_pool)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_W1D_pread)->Unit(benchmark::kMillisecond)->UseRealTime();

ASIO_URING_W2_BENCHMARK_MAIN()
