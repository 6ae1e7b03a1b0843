// O_DIRECT files: file_base::direct, aligned_buffer, and stream positions.
#include <asio_uring/aligned_buffer.hpp>

#include <asio_uring.hpp>

#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include <cstring>
#include <fcntl.h>
#include <functional>
#include <unistd.h>

namespace net = asio_uring;
using asio_uring_test::random_bytes;
using asio_uring_test::temp_file;

namespace {

// Whether the file system holding path accepts O_DIRECT (tmpfs may not).
bool direct_io_supported(const std::string& path)
{
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0)
    return false;
  ::close(fd);
  return true;
}

} // namespace

BOOST_AUTO_TEST_SUITE(direct_io)

BOOST_AUTO_TEST_CASE(aligned_buffer_is_aligned_zeroed_and_movable)
{
  net::aligned_buffer b(10000, 4096);
  BOOST_TEST(reinterpret_cast<std::uintptr_t>(b.data()) % 4096 == 0u);
  BOOST_TEST(b.size() == 10000u);
  BOOST_TEST(b[0] == 0);
  BOOST_TEST(b[9999] == 0);
  net::aligned_buffer m(std::move(b));
  BOOST_TEST(m.size() == 10000u);
  BOOST_TEST(b.size() == 0u);
  BOOST_TEST(b.data() == nullptr);
  BOOST_TEST(net::buffer(m).size() == 10000u);
  BOOST_TEST(net::buffer(m, 512).size() == 512u);
}

BOOST_AUTO_TEST_CASE(aligned_buffer_rejects_bad_alignment)
{
  BOOST_CHECK_THROW(net::aligned_buffer(4096, 3000), std::invalid_argument);
  BOOST_CHECK_THROW(net::aligned_buffer(4096, 0), std::invalid_argument);
}

// Boost.Asio's stream_file reads at the descriptor position (-1), which a
// ring read of an O_DIRECT file does not advance: it would return block 0
// forever. Ours passes explicit offsets.
BOOST_AUTO_TEST_CASE(stream_file_reads_direct_file_sequentially)
{
  auto data = random_bytes(64 * 4096 + 4096, 21);
  temp_file tf(data);
  if (!direct_io_supported(tf.path()))
  {
    BOOST_TEST_MESSAGE("skipped: O_DIRECT not supported where TMPDIR is");
    return;
  }
  net::io_context ctx;
  net::stream_file f(ctx, tf.path(),
      net::file_base::read_only | net::file_base::direct);
  net::aligned_buffer buf(4 * 4096);
  std::vector<unsigned char> got;
  boost::system::error_code last;
  std::function<void()> next = [&] {
    f.async_read_some(net::buffer(buf),
        [&](boost::system::error_code ec, std::size_t n) {
          got.insert(got.end(), &buf[0], &buf[0] + n);
          last = ec;
          if (!ec)
            next();
        });
  };
  next();
  ctx.run();
  BOOST_TEST(last == net::error::eof);
  BOOST_TEST(got.size() == data.size());
  BOOST_TEST((got == data));
}

BOOST_AUTO_TEST_CASE(direct_random_access_round_trip)
{
  temp_file tf(std::vector<unsigned char>(16 * 4096, 0));
  if (!direct_io_supported(tf.path()))
  {
    BOOST_TEST_MESSAGE("skipped: O_DIRECT not supported where TMPDIR is");
    return;
  }
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(),
      net::file_base::read_write | net::file_base::direct);
  net::aligned_buffer out(8192), in(8192);
  auto pattern = random_bytes(8192, 4);
  std::memcpy(out.data(), pattern.data(), pattern.size());
  boost::system::error_code ec;
  std::size_t n = 0;
  net::async_write_at(f, 4096, net::buffer(out),
      [&](boost::system::error_code e, std::size_t k) { ec = e; n = k; });
  ctx.run();
  BOOST_TEST(!ec);
  BOOST_TEST(n == 8192u);
  ctx.restart();
  net::async_read_at(f, 4096, net::buffer(in),
      [&](boost::system::error_code e, std::size_t k) { ec = e; n = k; });
  ctx.run();
  BOOST_TEST(!ec);
  BOOST_TEST(std::memcmp(in.data(), pattern.data(), 8192) == 0);
}

BOOST_AUTO_TEST_CASE(misaligned_direct_read_reports_invalid_argument)
{
  temp_file tf(random_bytes(8 * 4096));
  if (!direct_io_supported(tf.path()))
  {
    BOOST_TEST_MESSAGE("skipped: O_DIRECT not supported where TMPDIR is");
    return;
  }
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(),
      net::file_base::read_only | net::file_base::direct);
  net::aligned_buffer buf(8192);
  boost::system::error_code ec;
  // Offset 1 is not block aligned; the buffer is offset by one byte too.
  f.async_read_some_at(1, net::buffer(&buf[1], 4096),
      [&](boost::system::error_code e, std::size_t) { ec = e; });
  ctx.run();
  BOOST_TEST(ec == net::error::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
