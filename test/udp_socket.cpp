// UDP on the ring (asio_uring::ip::udp::socket, basic_datagram_socket):
// send_to/receive_from with the sender's endpoint, connected send/receive,
// datagram boundaries and truncation, empty datagrams, buffer sequences,
// IPv6, null_buffers waits, the synchronous members, errors (ICMP
// connection_refused, closed socket, message_size), and cancellation and
// close with receives pending, without lost datagrams.
#include <asio_uring/ip/udp.hpp>

#include <asio_uring/facade.hpp>
#include <asio_uring/io_context.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/test/unit_test.hpp>

#include "tcp_test_util.hpp"
#include "test_util.hpp"

#include <array>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace net = asio_uring;
using asio_uring_test::handler_calls;
using asio_uring_test::record;
using asio_uring_test::random_bytes;
using asio_uring_test::runs_dry;
using udp = net::ip::udp;

static_assert(std::is_same_v<udp::socket,
    net::basic_datagram_socket<boost::asio::ip::udp>>);
static_assert(std::is_same_v<udp::endpoint, boost::asio::ip::udp::endpoint>);

namespace {

const auto loopback = boost::asio::ip::make_address("127.0.0.1");

// A UDP socket bound to 127.0.0.1 on a kernel-chosen port.
udp::socket bound_socket(net::io_context& ctx)
{
  return udp::socket(ctx, udp::endpoint(loopback, 0));
}

} // namespace

BOOST_AUTO_TEST_SUITE(udp_socket)

BOOST_AUTO_TEST_CASE(send_to_and_receive_from_keep_datagram_boundaries)
{
  net::io_context ctx;
  udp::socket a = bound_socket(ctx), b = bound_socket(ctx);
  const auto one = random_bytes(1000, 1), two = random_bytes(300, 2);

  handler_calls s1, s2, r1, r2;
  a.async_send_to(net::buffer(one), b.local_endpoint(), record(s1));
  a.async_send_to(net::buffer(two), b.local_endpoint(), record(s2));
  std::vector<unsigned char> got1(2000), got2(2000);
  udp::endpoint from1, from2;
  b.async_receive_from(net::buffer(got1), from1,
      [&](boost::system::error_code ec, std::size_t n)
      {
        record(r1)(ec, n);
        b.async_receive_from(net::buffer(got2), from2, record(r2));
      });

  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(s1.calls == 1);
  BOOST_TEST(s1.n == one.size());
  BOOST_TEST(s2.n == two.size());
  BOOST_TEST(r1.calls == 1);
  BOOST_TEST(!r1.ec);
  BOOST_TEST(r1.n == one.size());
  got1.resize(r1.n);
  BOOST_TEST((got1 == one));
  BOOST_TEST(r2.calls == 1);
  BOOST_TEST(r2.n == two.size());
  got2.resize(r2.n);
  BOOST_TEST((got2 == two));
  BOOST_TEST(from1 == a.local_endpoint());
  BOOST_TEST(from2 == a.local_endpoint());
}

BOOST_AUTO_TEST_CASE(truncation_empty_datagrams_and_buffer_sequences)
{
  net::io_context ctx;
  udp::socket a = bound_socket(ctx), b = bound_socket(ctx);
  const auto dest = b.local_endpoint();

  // Gathered from three buffers into one datagram, scattered into two.
  std::string p1 = "abc", p2 = "", p3 = "defgh";
  std::array<net::const_buffer, 3> out{
      net::buffer(p1), net::buffer(p2), net::buffer(p3)};
  handler_calls sent_seq, sent_empty, sent_long, got_seq, got_empty, got_long;
  a.async_send_to(out, dest, record(sent_seq));
  // An empty datagram is sent, and received as 0 bytes (not eof).
  a.async_send_to(net::buffer(p2), dest, record(sent_empty));
  const std::string long_one(100, 'z');
  a.async_send_to(net::buffer(long_one), dest, record(sent_long));

  char x[4], y[10], small[8];
  std::array<net::mutable_buffer, 2> in{net::buffer(x), net::buffer(y)};
  udp::endpoint from;
  b.async_receive_from(in, from,
      [&](boost::system::error_code ec, std::size_t n)
      {
        record(got_seq)(ec, n);
        char none[16];
        b.async_receive(net::buffer(none),
            [&](boost::system::error_code ec, std::size_t n)
            {
              record(got_empty)(ec, n);
              // Longer than the buffer: truncated, the rest discarded.
              b.async_receive(net::buffer(small), record(got_long));
            });
      });

  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(sent_seq.n == 8u);
  BOOST_TEST(got_seq.n == 8u);
  BOOST_TEST(std::string(x, 4) + std::string(y, 4) == "abcdefgh");
  BOOST_TEST(sent_empty.calls == 1);
  BOOST_TEST(!sent_empty.ec);
  BOOST_TEST(sent_empty.n == 0u);
  BOOST_TEST(got_empty.calls == 1);
  BOOST_TEST(!got_empty.ec);
  BOOST_TEST(got_empty.n == 0u);
  BOOST_TEST(got_long.calls == 1);
  BOOST_TEST(!got_long.ec);
  BOOST_TEST(got_long.n == sizeof(small));
  BOOST_TEST(std::string(small, sizeof(small)) == std::string(8, 'z'));
}

BOOST_AUTO_TEST_CASE(zero_size_receive_consumes_a_datagram)
{
  net::io_context ctx;
  udp::socket a = bound_socket(ctx), b = bound_socket(ctx);
  a.send_to(net::buffer(std::string("first")), b.local_endpoint());
  a.send_to(net::buffer(std::string("second")), b.local_endpoint());
  handler_calls zero, next;
  char buf[16];
  b.async_receive(net::mutable_buffer(),
      [&](boost::system::error_code ec, std::size_t n)
      {
        record(zero)(ec, n);
        b.async_receive(net::buffer(buf), record(next));
      });
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(zero.calls == 1);
  BOOST_TEST(!zero.ec);
  BOOST_TEST(zero.n == 0u);
  BOOST_TEST(next.n == 6u);
  BOOST_TEST(std::string(buf, next.n) == "second");
}

BOOST_AUTO_TEST_CASE(connected_send_and_receive)
{
  net::io_context ctx;
  udp::socket a = bound_socket(ctx), b = bound_socket(ctx);
  handler_calls connected_calls, sent, got;
  a.async_connect(b.local_endpoint(),
      [&](boost::system::error_code ec)
      { ++connected_calls.calls, connected_calls.ec = ec; });
  b.connect(a.local_endpoint());
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(connected_calls.calls == 1);
  BOOST_TEST(!connected_calls.ec);
  BOOST_TEST(a.remote_endpoint() == b.local_endpoint());

  char buf[16];
  b.async_receive(net::buffer(buf), record(got));
  a.async_send(net::buffer(std::string_view("hello")), record(sent));
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(sent.n == 5u);
  BOOST_TEST(got.calls == 1);
  BOOST_TEST(std::string(buf, got.n) == "hello");
}

BOOST_AUTO_TEST_CASE(ipv6)
{
  net::io_context ctx;
  udp::socket a(ctx), b(ctx);
  boost::system::error_code ec;
  a.open(udp::v6(), ec);
  if (ec)
  {
    BOOST_TEST_MESSAGE("no IPv6 here: " << ec.message());
    return;
  }
  const auto lo6 = boost::asio::ip::make_address("::1");
  a.bind(udp::endpoint(lo6, 0), ec);
  if (ec)
  {
    BOOST_TEST_MESSAGE("no ::1 here: " << ec.message());
    return;
  }
  b = udp::socket(ctx, udp::endpoint(lo6, 0));
  handler_calls got;
  char buf[8];
  udp::endpoint from;
  b.async_receive_from(net::buffer(buf), from, record(got));
  a.async_send_to(net::buffer(std::string_view("six")), b.local_endpoint(),
      [](boost::system::error_code ec, std::size_t) { BOOST_TEST(!ec); });
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(got.n == 3u);
  BOOST_TEST(from == a.local_endpoint());
  BOOST_TEST((from.protocol() == boost::asio::ip::udp::v6()));
}

BOOST_AUTO_TEST_CASE(synchronous_members)
{
  net::io_context ctx;
  udp::socket a = bound_socket(ctx), b = bound_socket(ctx);
  BOOST_TEST(a.send_to(net::buffer(std::string("sync")), b.local_endpoint())
      == 4u);
  char buf[8];
  udp::endpoint from;
  BOOST_TEST(b.receive_from(net::buffer(buf), from) == 4u);
  BOOST_TEST(from == a.local_endpoint());
  BOOST_TEST(std::string(buf, 4) == "sync");

  // An empty datagram, synchronously.
  BOOST_TEST(a.send_to(net::const_buffer(), b.local_endpoint()) == 0u);
  boost::system::error_code ec;
  BOOST_TEST(b.receive_from(net::buffer(buf), from, 0, ec) == 0u);
  BOOST_TEST(!ec);

  // Non-blocking with nothing queued: would_block, not a wait.
  b.non_blocking(true);
  b.receive(net::buffer(buf), 0, ec);
  BOOST_TEST(ec == boost::asio::error::would_block);
  b.non_blocking(false);

  a.connect(b.local_endpoint());
  BOOST_TEST(a.send(net::buffer(std::string("conn"))) == 4u);
  BOOST_TEST(b.receive(net::buffer(buf)) == 4u);
}

BOOST_AUTO_TEST_CASE(null_buffers_wait_for_a_datagram)
{
  net::io_context ctx;
  udp::socket a = bound_socket(ctx), b = bound_socket(ctx);
  handler_calls ready;
  udp::endpoint from(loopback, 9); // reset by the null_buffers receive
  b.async_receive_from(net::null_buffers(), from, record(ready));
  ctx.poll();
  BOOST_TEST(ready.calls == 0);
  a.send_to(net::buffer(std::string("x")), b.local_endpoint());
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(ready.calls == 1);
  BOOST_TEST(!ready.ec);
  BOOST_TEST(ready.n == 0u);
  BOOST_TEST(from == udp::endpoint());
  BOOST_TEST(b.available() == 1u); // the datagram is still queued
}

BOOST_AUTO_TEST_CASE(errors)
{
  net::io_context ctx;
  // A connected socket learns of an unreachable port (ICMP) on its next
  // receive: connection_refused, as with Boost.Asio.
  udp::endpoint closed_port;
  {
    udp::socket gone = bound_socket(ctx);
    closed_port = gone.local_endpoint();
  }
  udp::socket a = bound_socket(ctx);
  a.connect(closed_port);
  handler_calls sent, refused;
  char buf[8];
  a.async_send(net::buffer(std::string_view("anyone?")),
      [&](boost::system::error_code ec, std::size_t n)
      {
        record(sent)(ec, n);
        a.async_receive(net::buffer(buf), record(refused));
      });
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(sent.calls == 1);
  BOOST_TEST(!sent.ec);
  BOOST_TEST(refused.calls == 1);
  BOOST_TEST(refused.ec == boost::asio::error::connection_refused);

  // Closed socket: bad_descriptor, asynchronously and synchronously.
  udp::socket closed(ctx);
  handler_calls bad_send, bad_recv;
  udp::endpoint from;
  closed.async_send_to(net::buffer(buf), closed_port, record(bad_send));
  closed.async_receive_from(net::buffer(buf), from, record(bad_recv));
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(bad_send.ec == boost::asio::error::bad_descriptor);
  BOOST_TEST(bad_recv.ec == boost::asio::error::bad_descriptor);
  BOOST_CHECK_THROW(closed.send_to(net::buffer(buf), closed_port),
      boost::system::system_error);

  // Larger than any UDP datagram: message_size.
  std::vector<unsigned char> huge(70000);
  udp::socket b = bound_socket(ctx);
  handler_calls too_big;
  b.async_send_to(net::buffer(huge), b.local_endpoint(), record(too_big));
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(too_big.calls == 1);
  BOOST_TEST(too_big.ec == boost::asio::error::message_size);
}

BOOST_AUTO_TEST_CASE(cancel_and_close_with_receives_pending)
{
  net::io_context ctx;
  udp::socket a = bound_socket(ctx), b = bound_socket(ctx);
  boost::asio::cancellation_signal signal;
  char buf[16];
  udp::endpoint from;
  handler_calls cancelled, by_cancel, by_close;

  b.async_receive_from(net::buffer(buf), from,
      boost::asio::bind_cancellation_slot(signal.slot(), record(cancelled)));
  ctx.poll();
  signal.emit(boost::asio::cancellation_type::terminal);
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(cancelled.calls == 1);
  BOOST_TEST(cancelled.ec == boost::asio::error::operation_aborted);

  // Nothing was consumed: the next datagram arrives whole.
  a.send_to(net::buffer(std::string("after")), b.local_endpoint());
  BOOST_TEST(b.receive_from(net::buffer(buf), from) == 5u);

  b.async_receive(net::buffer(buf), record(by_cancel));
  ctx.restart();
  ctx.poll();
  b.cancel();
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(by_cancel.ec == boost::asio::error::operation_aborted);

  b.async_receive_from(net::buffer(buf), from, record(by_close));
  ctx.restart();
  ctx.poll();
  b.close();
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(by_close.calls == 1);
  BOOST_TEST(by_close.ec == boost::asio::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(many_datagrams_in_flight)
{
  constexpr int count = 200;
  net::io_context ctx;
  udp::socket a = bound_socket(ctx), b = bound_socket(ctx);
  b.set_option(net::socket_base::receive_buffer_size(1 << 20));
  std::vector<std::array<unsigned char, 64>> in(count);
  std::vector<udp::endpoint> from(count);
  int received = 0, sent = 0;
  std::vector<int> seen(count, 0);
  for (int i = 0; i < count; ++i)
    b.async_receive_from(net::buffer(in[i]), from[i],
        [&, i](boost::system::error_code ec, std::size_t n)
        {
          BOOST_TEST(!ec);
          BOOST_TEST(n == 4u);
          int tag = in[i][0] | (in[i][1] << 8);
          if (tag >= 0 && tag < count)
            ++seen[tag];
          ++received;
        });
  std::vector<std::array<unsigned char, 4>> out(count);
  for (int i = 0; i < count; ++i)
  {
    out[i] = {static_cast<unsigned char>(i & 0xff),
        static_cast<unsigned char>(i >> 8), 0xab, 0xcd};
    a.async_send_to(net::buffer(out[i]), b.local_endpoint(),
        [&](boost::system::error_code ec, std::size_t)
        {
          BOOST_TEST(!ec);
          ++sent;
        });
  }
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(sent == count);
  BOOST_TEST(received == count);
  for (int i = 0; i < count; ++i)
    BOOST_TEST(seen[i] == 1);
}

BOOST_AUTO_TEST_SUITE_END()
