//
// asio_benchmarks.hpp
// ~~~~~~~~~~~~~~~~~~~
//
// Benchmark bodies written once against the Boost.Asio interface and
// instantiated for asio_uring's types, for boost::asio::io_context, and (in
// the binaries built with BOOST_ASIO_HAS_IO_URING) for Boost.Asio's own
// io_uring file objects. Includes Boost.Asio only, never asio_uring.
//
#pragma once

#include "bench_common.hpp"
#include "common/w1_readers.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bench {

// Counts io_uring_enter calls where the context can tell (asio_uring), and
// reports nothing elsewhere.
struct no_enter_count
{
  template <typename Context>
  std::uint64_t operator()(Context&) const noexcept { return 0; }
  static constexpr bool enabled = false;
};

struct context_enter_count
{
  template <typename Context>
  std::uint64_t operator()(Context& ctx) const noexcept
  {
    return ctx.enter_count();
  }
  static constexpr bool enabled = true;
};

// W1: one iteration sums the whole file with File::async_read_some, one
// block in flight (stream_checksum, as in the file_checksum demo).
template <typename File, typename Context, typename EnterCount>
void w1_stream(benchmark::State& state, Context& ctx, EnterCount enter_count)
{
  const checksum_util::read_pass reference = prepare_w1_file();
  File file(ctx, opts().file, File::read_only);

  std::uint64_t reads = 0;
  std::uint64_t enters_before = enter_count(ctx);
  auto usage_before = checksum_util::usage::now();
  for (auto _ : state)
  {
    file.seek(0, File::seek_set);
    checksum_util::stream_checksum<File> reader(file, opts().block);
    reader.start();
    ctx.restart();
    ctx.run();
    const checksum_util::checksum_result& r = reader.result();
    reads += r.reads;
    if (!check_pass(state, reference, r.bytes, r.sum, bool(r.error)))
      return;
  }
  report_usage(state, checksum_util::usage::now() - usage_before);
  finish_w1(state, reference);
  if constexpr (EnterCount::enabled)
    state.counters["enters_per_op"] = static_cast<double>(
        enter_count(ctx) - enters_before) / static_cast<double>(reads);
}

// W4: one iteration is opts().ops round trips of a handler that posts the
// next one.
template <typename Context>
void w4_post(benchmark::State& state, Context& ctx)
{
  struct chain
  {
    Context& ctx;
    std::size_t left;

    void post_next()
    {
      boost::asio::post(ctx, [this] { if (--left > 0) post_next(); });
    }
  };

  const std::size_t ops = opts().ops;
  for (auto _ : state)
  {
    chain c{ctx, ops};
    c.post_next();
    ctx.restart();
    ctx.run();
    if (c.left != 0)
    {
      state.SkipWithError("post chain did not finish");
      return;
    }
  }
  finish_w4(state, ops);
}

// W4: one iteration is opts().ops round trips of a 1-byte async_read_some_at
// at offset 0 of a cached one-page file, each started by a previous one's
// handler; `depth` of them are in flight at a time (1: strictly one after
// the other).
template <typename File, typename Context, typename EnterCount>
void w4_read1(benchmark::State& state, Context& ctx, EnterCount enter_count,
    std::size_t depth = 1)
{
  prepare_w4_file();
  File file(ctx, opts().small_file, File::read_only);

  struct chains
  {
    File& file;
    std::size_t to_issue;
    std::vector<unsigned char> bytes;
    std::size_t left;
    bool failed = false;

    void start(std::size_t depth)
    {
      for (std::size_t i = 0; i < depth && to_issue > 0; ++i)
      {
        --to_issue;
        read_next(i);
      }
    }

    void read_next(std::size_t slot)
    {
      file.async_read_some_at(0, boost::asio::buffer(&bytes[slot], 1),
          [this, slot](const boost::system::error_code& ec, std::size_t n)
          {
            --left;
            if (ec || n != 1)
              failed = true;
            else if (to_issue > 0)
            {
              --to_issue;
              read_next(slot);
            }
          });
    }
  };

  const std::size_t ops = opts().ops;
  std::uint64_t enters_before = enter_count(ctx);
  for (auto _ : state)
  {
    chains c{file, ops, std::vector<unsigned char>(depth), ops};
    c.start(depth);
    ctx.restart();
    ctx.run();
    if (c.failed || c.left != 0)
    {
      state.SkipWithError("1-byte read failed");
      return;
    }
  }
  finish_w4(state, ops);
  if constexpr (EnterCount::enabled)
    state.counters["enters_per_op"] = static_cast<double>(
        enter_count(ctx) - enters_before)
        / static_cast<double>(ops * static_cast<std::size_t>(state.iterations()));
}

} // namespace bench
