// UNIX domain datagram sockets on the ring (asio_uring::local::
// datagram_protocol): connect_pair with datagram boundaries and empty
// datagrams, send_to/receive_from between bound paths (and from an
// unbound sender), errors (no such path, peer closed), and a pending
// receive cancelled.
#include <asio_uring/local/datagram_protocol.hpp>

#include <asio_uring/facade.hpp>
#include <asio_uring/io_context.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/test/unit_test.hpp>

#include "tcp_test_util.hpp"
#include "test_util.hpp"

#include <string>
#include <string_view>
#include <type_traits>

namespace net = asio_uring;
using asio_uring_test::handler_calls;
using asio_uring_test::record;
using asio_uring_test::runs_dry;
using asio_uring_test::temp_dir;
using unix_dgram = net::local::datagram_protocol;

static_assert(std::is_same_v<unix_dgram::socket,
    net::basic_datagram_socket<boost::asio::local::datagram_protocol>>);

BOOST_AUTO_TEST_SUITE(local_datagram)

BOOST_AUTO_TEST_CASE(connect_pair_keeps_boundaries_and_empty_datagrams)
{
  net::io_context ctx;
  unix_dgram::socket a(ctx), b(ctx);
  net::local::connect_pair(a, b);
  handler_calls sent, first, empty, last;
  a.async_send(net::buffer(std::string_view("one")), record(sent));
  a.async_send(net::const_buffer(), record(sent));
  a.async_send(net::buffer(std::string_view("three")), record(sent));
  char b1[64], b2[64], b3[64];
  b.async_receive(net::buffer(b1),
      [&](boost::system::error_code ec, std::size_t n)
      {
        record(first)(ec, n);
        b.async_receive(net::buffer(b2),
            [&](boost::system::error_code ec, std::size_t n)
            {
              record(empty)(ec, n);
              b.async_receive(net::buffer(b3), record(last));
            });
      });
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(sent.calls == 3);
  BOOST_TEST(!sent.ec);
  BOOST_TEST(std::string(b1, first.n) == "one");
  BOOST_TEST(empty.calls == 1);
  BOOST_TEST(!empty.ec); // an empty datagram, not end of stream
  BOOST_TEST(empty.n == 0u);
  BOOST_TEST(std::string(b3, last.n) == "three");
}

BOOST_AUTO_TEST_CASE(send_to_and_receive_from_between_paths)
{
  temp_dir dir;
  net::io_context ctx;
  const unix_dgram::endpoint pa(dir.file("a")), pb(dir.file("b"));
  unix_dgram::socket a(ctx, pa), b(ctx, pb), anonymous(ctx, unix_dgram());
  handler_calls from_a, from_anonymous;
  unix_dgram::endpoint sender_a, sender_anonymous;
  char buf1[16], buf2[16];
  a.async_send_to(net::buffer(std::string_view("hi from a")), pb,
      [](boost::system::error_code ec, std::size_t) { BOOST_TEST(!ec); });
  b.async_receive_from(net::buffer(buf1), sender_a,
      [&](boost::system::error_code ec, std::size_t n)
      {
        record(from_a)(ec, n);
        anonymous.send_to(net::buffer(std::string("anon")), pb);
        b.async_receive_from(net::buffer(buf2), sender_anonymous,
            record(from_anonymous));
      });
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(from_a.calls == 1);
  BOOST_TEST(std::string(buf1, from_a.n) == "hi from a");
  BOOST_TEST(sender_a.path() == pa.path());
  BOOST_TEST(from_anonymous.calls == 1);
  BOOST_TEST(std::string(buf2, from_anonymous.n) == "anon");
  BOOST_TEST(sender_anonymous.path() == ""); // an unbound sender has no name
}

BOOST_AUTO_TEST_CASE(errors)
{
  temp_dir dir;
  net::io_context ctx;
  unix_dgram::socket a(ctx, unix_dgram());
  handler_calls nobody, peer_gone;
  a.async_send_to(net::buffer(std::string_view("x")),
      unix_dgram::endpoint(dir.file("nobody")), record(nobody));

  unix_dgram::socket p(ctx), q(ctx);
  net::local::connect_pair(p, q);
  q.close();
  p.async_send(net::buffer(std::string_view("x")), record(peer_gone));

  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(nobody.calls == 1);
  BOOST_TEST(nobody.ec == boost::system::errc::no_such_file_or_directory);
  BOOST_TEST(peer_gone.calls == 1);
  BOOST_TEST(peer_gone.ec == boost::asio::error::connection_refused);
}

BOOST_AUTO_TEST_CASE(pending_receive_cancelled_then_next_datagram_whole)
{
  net::io_context ctx;
  unix_dgram::socket a(ctx), b(ctx);
  net::local::connect_pair(a, b);
  boost::asio::cancellation_signal signal;
  handler_calls cancelled;
  char buf[16];
  unix_dgram::endpoint from;
  b.async_receive_from(net::buffer(buf), from,
      boost::asio::bind_cancellation_slot(signal.slot(), record(cancelled)));
  ctx.poll();
  signal.emit(boost::asio::cancellation_type::terminal);
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(cancelled.calls == 1);
  BOOST_TEST(cancelled.ec == boost::asio::error::operation_aborted);

  a.send(net::buffer(std::string("whole")));
  BOOST_TEST(b.receive(net::buffer(buf)) == 5u);
  BOOST_TEST(std::string(buf, 5) == "whole");
}

BOOST_AUTO_TEST_SUITE_END()
