// A large file (256 MiB) through both file kinds: written in 1 MiB blocks,
// read back sequentially in 32 KiB blocks and at random 1 MiB blocks with
// several reads in flight; checksums and every byte compared.
#include <asio_uring/random_access_file.hpp>  // first: self-contained

#include <asio_uring/io_context.hpp>
#include <asio_uring/stream_file.hpp>

#include "file_test_support.hpp"
#include "test_util.hpp"

#include <boost/asio/write.hpp>
#include <boost/asio/read_at.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

namespace asio = boost::asio;
using asio_uring::file_base;
using boost::system::error_code;

namespace {

constexpr auto hang_guard = std::chrono::seconds(100);
constexpr std::uint64_t file_size = std::uint64_t(256) << 20;
constexpr std::size_t write_block = 1 << 20;
constexpr std::size_t read_block = 32 << 10;
constexpr std::uint64_t seed = 77;

} // namespace

BOOST_AUTO_TEST_SUITE(file_large)

BOOST_AUTO_TEST_CASE(large_file_round_trip_keeps_every_byte)
{
  asio_uring_test::temp_file tf;
  asio_uring::io_context ctx;

  // 1. Write sequentially through a stream_file, 1 MiB per async_write.
  asio_uring_test::checksum written;
  {
    asio_uring::stream_file out(ctx, tf.path(), file_base::write_only | file_base::truncate);
    std::vector<unsigned char> block(write_block);
    std::uint64_t off = 0;
    error_code failure;
    std::function<void()> next = [&] {
      if (off == file_size)
        return;
      asio_uring_test::fill_pattern(block.data(), block.size(), off, seed);
      written.update(block.data(), block.size());
      asio::async_write(out, asio::buffer(block), [&](error_code ec, std::size_t n) {
        if (ec || n != block.size())
        {
          failure = ec ? ec : asio::error::fault;
          return;
        }
        off += n;
        next();
      });
    };
    next();
    ctx.run_for(hang_guard);
    BOOST_REQUIRE(!failure);
    BOOST_REQUIRE(off == file_size);
    BOOST_TEST(out.size() == file_size);
    BOOST_TEST(out.seek(0, file_base::seek_cur) == file_size);
  }

  // 2. Read it back sequentially through a stream_file, 32 KiB per read.
  {
    asio_uring::stream_file in(ctx, tf.path(), file_base::read_only);
    std::vector<unsigned char> block(read_block);
    asio_uring_test::checksum sum;
    std::uint64_t off = 0;
    std::uint64_t mismatches = 0;
    error_code last;
    std::function<void()> next = [&] {
      in.async_read_some(asio::buffer(block), [&](error_code ec, std::size_t n) {
        if (ec)
        {
          last = ec;
          return;
        }
        sum.update(block.data(), n);
        if (asio_uring_test::first_pattern_mismatch(block.data(), n, off, seed) != n)
          ++mismatches;
        off += n;
        next();
      });
    };
    next();
    ctx.restart();
    ctx.run_for(hang_guard);
    BOOST_TEST(last == asio::error::eof);
    BOOST_TEST(off == file_size);
    BOOST_TEST(mismatches == 0u);
    BOOST_TEST(sum.value() == written.value());
  }

  // 3. Read 1 MiB blocks in random order through a random_access_file, eight
  //    in flight, each verified byte by byte.
  {
    asio_uring::random_access_file f(ctx, tf.path(), file_base::read_only);
    std::vector<std::uint64_t> order(file_size / write_block);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(5));
    constexpr int in_flight = 8;
    std::vector<std::vector<unsigned char>> bufs(in_flight, std::vector<unsigned char>(write_block));
    std::size_t next_block = 0, verified = 0, bad = 0;
    std::function<void(int)> start = [&](int slot) {
      if (next_block == order.size())
        return;
      std::uint64_t off = order[next_block++] * write_block;
      asio::async_read_at(f, off, asio::buffer(bufs[slot]),
          [&, slot, off](error_code ec, std::size_t n) {
            if (ec || n != write_block
                || asio_uring_test::first_pattern_mismatch(bufs[slot].data(), n, off, seed) != n)
              ++bad;
            else
              ++verified;
            start(slot);
          });
    };
    for (int s = 0; s < in_flight; ++s)
      start(s);
    ctx.restart();
    ctx.run_for(hang_guard);
    BOOST_TEST(bad == 0u);
    BOOST_TEST(verified == order.size());
  }
}

BOOST_AUTO_TEST_SUITE_END()
