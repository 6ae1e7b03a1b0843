//
// w2_workload.hpp
// ~~~~~~~~~~~~~~~
//
// The asynchronous bodies of W2 (random 4 KiB reads, N in flight) and of
// W1's read-ahead checksum, written once against Boost.Asio's
// random_access_file interface and instantiated for asio_uring's and (in
// the binaries built with BOOST_ASIO_HAS_IO_URING) Boost.Asio's own file
// objects. Includes Boost.Asio only, never asio_uring.
//
#pragma once

#include "asio_benchmarks.hpp"
#include "w2_common.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace w2 {

// N reads in flight over one File per W2 file: slot s always reads
// files[s % files.size()]. Each completion handler takes the time, records
// the read's latency (from just before its async_read_some_at call) and
// starts the slot's next read at the next offset of the shared sequence,
// until the run's reads have all been started.
// Buffer: what slot s passes to async_read_some_at (one block_size buffer
// per slot: boost::asio::mutable_buffer, or a registered buffer).
template <typename File, typename Buffer = boost::asio::mutable_buffer>
class random_reads
{
public:
  // One slot per buffer (the concurrency), each of block_size bytes.
  random_reads(std::vector<File>& files, const std::vector<Buffer>& buffers)
  {
    slots_.resize(buffers.size());
    for (std::size_t s = 0; s < buffers.size(); ++s)
      slots_[s] = slot{this, &files[s % files.size()], buffers[s], {}};
  }

  random_reads(const random_reads&) = delete;
  random_reads& operator=(const random_reads&) = delete;

  // Reads offsets first .. first + count - 1 of the sequence; run_context
  // runs the context until it is out of work. Returns false if a read
  // failed or came back short (error() says why; no read is started after
  // that).
  template <typename RunContext>
  bool run(std::size_t first, std::size_t count, RunContext run_context)
  {
    next_ = first;
    end_ = first + count;
    completed_ = 0;
    const clock::time_point now = clock::now();
    for (std::size_t s = 0; s < std::min(slots_.size(), count); ++s)
      start(slots_[s], now);
    run_context();
    return !failed_ && completed_ == count;
  }

  latency_histogram& histogram() noexcept { return histogram_; }
  const boost::system::error_code& error() const noexcept { return error_; }

private:
  struct slot
  {
    random_reads* owner;
    File* file;
    Buffer buffer;
    clock::time_point started;
  };

  void start(slot& s, clock::time_point now)
  {
    s.started = now;
    s.file->async_read_some_at(offset_at(next_++), s.buffer,
        [&s](const boost::system::error_code& ec, std::size_t n)
        {
          s.owner->on_read(s, ec, n);
        });
  }

  void on_read(slot& s, const boost::system::error_code& ec, std::size_t n)
  {
    const clock::time_point now = clock::now();
    histogram_.record(elapsed_ns(s.started, now));
    ++completed_;
    if ((ec || n != block_size) && !failed_)
    {
      failed_ = true;
      error_ = ec ? ec : boost::asio::error::eof;
    }
    if (!failed_ && next_ < end_)
      start(s, now);
  }

  std::vector<slot> slots_;
  std::size_t next_ = 0;
  std::size_t end_ = 0;
  std::size_t completed_ = 0;
  bool failed_ = false;
  boost::system::error_code error_;
  latency_histogram histogram_;
};

// The N = state.range(0) slot buffers of a run, block_size bytes each, over
// memory (N * block_size bytes, aligned for O_DIRECT).
inline std::vector<boost::asio::mutable_buffer> slot_buffers(
    benchmark::State& state, unsigned char* memory)
{
  std::vector<boost::asio::mutable_buffer> buffers;
  for (std::int64_t s = 0; s < state.range(0); ++s)
    buffers.push_back(boost::asio::buffer(
        memory + static_cast<std::size_t>(s) * block_size, block_size));
  return buffers;
}

// One W2 run of an asynchronous variant: opens one File per W2 file with
// open_flags in ctx, calls setup(files), which returns the N slot buffers
// (the variants with registered descriptors and buffers register them
// there), keeps N reads in flight, one per buffer, runs the warm-up reads,
// then the timed ones (one benchmark iteration).
template <typename File, typename Context, typename Flags, typename EnterCount,
    typename Setup>
void random_read_run(benchmark::State& state, Context& ctx, Flags open_flags,
    bool direct, EnterCount enter_count, Setup setup)
{
  prepare_files(!direct);
  std::vector<File> files;
  files.reserve(opts().files);
  for (unsigned i = 0; i < opts().files; ++i)
    files.emplace_back(ctx, file_path(i), open_flags);
  const auto buffers = setup(files);
  random_reads<File, typename decltype(buffers)::value_type> reads(
      files, buffers);
  auto run_context = [&ctx]
  {
    ctx.restart();
    ctx.run();
  };

  const std::size_t warm = warmup_reads(direct, buffers.size());
  const std::size_t count = reads_for(direct);
  if (!reads.run(0, warm, run_context))
  {
    state.SkipWithError(("warm-up read failed: " + reads.error().message()).c_str());
    return;
  }
  reads.histogram().reset();
  bench::totals().ops += warm;

  run_meter meter;
  std::uint64_t enters_before = enter_count(ctx);
  bool ok = true;
  for (auto _ : state)
  {
    meter.start();
    ok = reads.run(warm, count, run_context);
    meter.stop();
  }
  if (!ok)
  {
    state.SkipWithError(("read failed: " + reads.error().message()).c_str());
    return;
  }
  meter.report(state, reads.histogram(), count);
  if constexpr (EnterCount::enabled)
    state.counters["enters_per_read"] = static_cast<double>(
        enter_count(ctx) - enters_before) / static_cast<double>(count);
}

// The same with N = state.range(0) plain buffers over memory (N *
// block_size bytes, aligned for O_DIRECT).
template <typename File, typename Context, typename Flags, typename EnterCount>
void random_read_run(benchmark::State& state, Context& ctx, Flags open_flags,
    bool direct, unsigned char* memory, EnterCount enter_count)
{
  random_read_run<File>(state, ctx, open_flags, direct, enter_count,
      [&](std::vector<File>&) { return slot_buffers(state, memory); });
}

// W1 with read-ahead: sums a file with File::async_read_some_at, `depth`
// reads of `block` bytes in flight at increasing offsets, each block
// summed in file order once it and every block before it are in. A short
// read is continued from where it stopped; no read goes past size.
template <typename File>
class read_ahead_checksum
{
public:
  // memory: depth * block bytes (aligned for O_DIRECT if the file is).
  read_ahead_checksum(File& file, unsigned char* memory, std::size_t block,
      std::size_t depth, std::uint64_t size)
    : file_(file), slots_(depth), size_(size), block_(block)
  {
    for (std::size_t i = 0; i < depth; ++i)
      slots_[i] = slot{this, memory + i * block, 0, 0, 0, false};
  }

  read_ahead_checksum(const read_ahead_checksum&) = delete;
  read_ahead_checksum& operator=(const read_ahead_checksum&) = delete;

  void start()
  {
    for (slot& s : slots_)
      if (!assign(s))
        break;
  }

  const checksum_util::checksum_result& result() const noexcept
  {
    return result_;
  }

private:
  struct slot
  {
    read_ahead_checksum* owner;
    unsigned char* data;
    std::uint64_t offset;
    std::size_t want;
    std::size_t got;
    bool done;
  };

  // Gives s the next block of the file and starts reading it; false at the
  // end of the file.
  bool assign(slot& s)
  {
    if (next_offset_ >= size_)
      return false;
    s.offset = next_offset_;
    s.want = static_cast<std::size_t>(
        std::min<std::uint64_t>(block_, size_ - next_offset_));
    s.got = 0;
    s.done = false;
    next_offset_ += s.want;
    read(s);
    return true;
  }

  void read(slot& s)
  {
    file_.async_read_some_at(s.offset + s.got,
        boost::asio::buffer(s.data + s.got, s.want - s.got),
        [&s](const boost::system::error_code& ec, std::size_t n)
        {
          s.owner->on_read(s, ec, n);
        });
  }

  void on_read(slot& s, const boost::system::error_code& ec, std::size_t n)
  {
    ++result_.reads;
    if (stopped_)
      return;
    if (ec)
    {
      // eof included: no read starts at or past the end.
      result_.error = ec;
      stopped_ = true;
      return;
    }
    s.got += n;
    if (s.got < s.want)
    {
      read(s);
      return;
    }
    s.done = true;
    while (slots_[head_].done)
    {
      slot& h = slots_[head_];
      h.done = false;
      result_.bytes += h.got;
      result_.sum += checksum_util::byte_sum(h.data, h.got);
      assign(h);
      head_ = (head_ + 1) % slots_.size();
    }
  }

  File& file_;
  std::vector<slot> slots_;
  std::uint64_t size_;
  std::size_t block_;
  std::uint64_t next_offset_ = 0;
  std::size_t head_ = 0;  // the slot holding the next block to sum
  bool stopped_ = false;
  checksum_util::checksum_result result_;
};

// W1 passes of read_ahead_checksum over path (opened with open_flags in
// ctx), one pass per iteration, checked against reference.
template <typename File, typename Context, typename Flags, typename EnterCount>
void read_ahead_run(benchmark::State& state, Context& ctx,
    const std::string& path, Flags open_flags,
    const checksum_util::read_pass& reference, unsigned char* memory,
    std::size_t depth, EnterCount enter_count)
{
  File file(ctx, path, open_flags);
  const std::size_t block = bench::opts().block;
  std::uint64_t reads = 0;
  std::uint64_t enters_before = enter_count(ctx);
  auto usage_before = checksum_util::usage::now();
  for (auto _ : state)
  {
    read_ahead_checksum<File> reader(file, memory, block, depth,
        reference.bytes);
    reader.start();
    ctx.restart();
    ctx.run();
    const checksum_util::checksum_result& r = reader.result();
    reads += r.reads;
    bench::totals().ops += r.reads;
    if (r.error || r.bytes != reference.bytes || r.sum != reference.sum)
    {
      state.SkipWithError(r.error ? "read failed" : "checksum mismatch");
      return;
    }
  }
  bench::report_usage(state, checksum_util::usage::now() - usage_before);
  bench::finish_w1(state, reference);
  if constexpr (EnterCount::enabled)
    state.counters["enters_per_op"] = static_cast<double>(
        enter_count(ctx) - enters_before) / static_cast<double>(reads);
}

// The O_DIRECT W1 file: the first W2 file (256 MiB by default; at the
// few hundred MB/s of this machine's disk a 1 GiB pass would take seconds
// per variant). Returns its read(2) reference pass (which also makes sure
// it exists).
inline checksum_util::read_pass prepare_w1_direct_file()
{
  prepare_files(false);
  checksum_util::read_pass pass
      = checksum_util::read_whole_file(file_path(0), 1 << 20);
  bench::totals().warm_reads += pass.calls;
  return pass;
}

} // namespace w2
