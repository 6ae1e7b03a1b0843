// Registered (fixed) buffers: register_buffers, READ_FIXED / WRITE_FIXED.
#include <asio_uring/buffer_registration.hpp>

#include <asio_uring.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/stream_file.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/test/unit_test.hpp>

#include "test_util.hpp"

#include <array>
#include <cstring>
#include <functional>
#include <vector>

namespace net = asio_uring;
using asio_uring_test::random_bytes;
using asio_uring_test::temp_file;

BOOST_AUTO_TEST_SUITE(registered_buffers)

BOOST_AUTO_TEST_CASE(register_buffers_gives_ids_per_buffer)
{
  net::io_context ctx;
  std::array<std::vector<char>, 3> storage{std::vector<char>(4096),
      std::vector<char>(8192), std::vector<char>(100)};
  std::vector<net::mutable_buffer> seq;
  for (auto& s : storage)
    seq.push_back(net::buffer(s));
  auto reg = net::register_buffers(ctx, seq);
  BOOST_TEST(reg.size() == 3u);
  for (std::size_t i = 0; i < reg.size(); ++i)
  {
    BOOST_TEST(reg[i].data() == storage[i].data());
    BOOST_TEST(reg[i].size() == storage[i].size());
    BOOST_TEST(reg[i].id().native_handle() >= 0);
  }
  BOOST_TEST((reg[0].id() != reg[1].id()));
  BOOST_TEST(std::distance(reg.begin(), reg.end()) == 3);
}

BOOST_AUTO_TEST_CASE(several_registrations_coexist_with_distinct_slots)
{
  net::io_context ctx;
  std::vector<char> a(4096), b(4096);
  auto reg1 = net::register_buffers(ctx, net::buffer(a));
  auto reg2 = net::register_buffers(ctx, net::buffer(b));
  BOOST_TEST(reg1[0].id().native_handle() != reg2[0].id().native_handle());
}

BOOST_AUTO_TEST_CASE(fixed_read_and_write_transfer_every_byte)
{
  auto data = random_bytes(64 * 1024, 7);
  temp_file tf(data);
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_write);
  std::vector<unsigned char> in(16 * 1024), out = random_bytes(16 * 1024, 9);
  std::vector<net::mutable_buffer> seq{net::buffer(in), net::buffer(out)};
  auto reg = net::register_buffers(ctx, seq);

  boost::system::error_code rec, wec;
  std::size_t rn = 0, wn = 0;
  f.async_read_some_at(4096, reg[0],
      [&](boost::system::error_code ec, std::size_t n) { rec = ec; rn = n; });
  f.async_write_some_at(32768, net::const_registered_buffer(reg[1]),
      [&](boost::system::error_code ec, std::size_t n) { wec = ec; wn = n; });
  ctx.run();
  BOOST_TEST(!rec);
  BOOST_TEST(!wec);
  BOOST_TEST(rn == in.size());
  BOOST_TEST(wn == out.size());
  BOOST_TEST(std::memcmp(in.data(), data.data() + 4096, in.size()) == 0);
  auto after = tf.contents();
  BOOST_TEST(std::memcmp(after.data() + 32768, out.data(), out.size()) == 0);
}

BOOST_AUTO_TEST_CASE(stream_file_fixed_reads_advance_position)
{
  auto data = random_bytes(10000, 3);
  temp_file tf(data);
  net::io_context ctx;
  net::stream_file f(ctx, tf.path(), net::file_base::read_only);
  std::vector<unsigned char> buf(4096);
  auto reg = net::register_buffers(ctx, net::buffer(buf));
  std::vector<unsigned char> got;
  boost::system::error_code last;
  std::function<void()> next = [&] {
    f.async_read_some(reg[0], [&](boost::system::error_code ec, std::size_t n) {
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<long>(n));
      last = ec;
      if (!ec)
        next();
    });
  };
  next();
  ctx.run();
  BOOST_TEST(last == net::error::eof);
  BOOST_TEST(got == data);
}

// A registered buffer whose registration is gone names an empty slot: the
// kernel refuses a fixed read of it (EFAULT). A plain read would succeed, so
// this shows the fixed opcode is really used.
BOOST_AUTO_TEST_CASE(fixed_read_after_unregistering_fails_cleanly)
{
  temp_file tf(random_bytes(8192));
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_only);
  std::vector<char> buf(4096);
  net::mutable_registered_buffer stale;
  {
    auto reg = net::register_buffers(ctx, net::buffer(buf));
    stale = reg[0];
  }
  boost::system::error_code ec;
  f.async_read_some_at(0, stale,
      [&](boost::system::error_code e, std::size_t) { ec = e; });
  ctx.run();
  BOOST_TEST(ec == boost::system::error_code(EFAULT, boost::system::system_category()));
}

// Registered buffers of another context are plain buffers here.
BOOST_AUTO_TEST_CASE(buffer_registered_elsewhere_is_read_normally)
{
  auto data = random_bytes(8192, 5);
  temp_file tf(data);
  net::io_context ctx, other;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_only);
  std::vector<unsigned char> buf(4096);
  auto reg = net::register_buffers(other, net::buffer(buf));
  std::size_t got = 0;
  boost::system::error_code ec;
  f.async_read_some_at(0, reg[0],
      [&](boost::system::error_code e, std::size_t n) { ec = e; got = n; });
  ctx.run();
  BOOST_TEST(!ec);
  BOOST_TEST(got == buf.size());
  BOOST_TEST(std::memcmp(buf.data(), data.data(), buf.size()) == 0);
}

BOOST_AUTO_TEST_CASE(moved_registration_keeps_slots_registered)
{
  auto data = random_bytes(8192, 11);
  temp_file tf(data);
  net::io_context ctx;
  net::random_access_file f(ctx, tf.path(), net::file_base::read_only);
  std::vector<unsigned char> buf(4096);
  auto reg = net::register_buffers(ctx, net::buffer(buf));
  auto moved = std::move(reg);
  BOOST_TEST(moved.size() == 1u);
  boost::system::error_code ec;
  f.async_read_some_at(0, moved[0],
      [&](boost::system::error_code e, std::size_t) { ec = e; });
  ctx.run();
  BOOST_TEST(!ec);
  BOOST_TEST(std::memcmp(buf.data(), data.data(), buf.size()) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
