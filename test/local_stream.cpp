// UNIX domain stream sockets on the ring (asio_uring::local): acceptor and
// socket over a path and in the abstract namespace, connect_pair (one or two
// contexts), end of stream, connection errors, connect_pair's error paths
// without leaked descriptors, and cancellation and close with operations
// pending.
#include <asio_uring/local/connect_pair.hpp>
#include <asio_uring/local/stream_protocol.hpp>

#include <asio_uring/facade.hpp>
#include <asio_uring/io_context.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include "tcp_test_util.hpp"
#include "test_util.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <unistd.h>

namespace net = asio_uring;
using asio_uring_test::handler_calls;
using asio_uring_test::record;
using asio_uring_test::random_bytes;
using asio_uring_test::runs_dry;
using asio_uring_test::temp_dir;
using unix_stream = net::local::stream_protocol;

static_assert(std::is_same_v<unix_stream::socket,
    net::basic_stream_socket<boost::asio::local::stream_protocol>>);
static_assert(std::is_same_v<unix_stream::acceptor,
    net::basic_socket_acceptor<boost::asio::local::stream_protocol>>);
static_assert(std::is_same_v<unix_stream::endpoint,
    boost::asio::local::stream_protocol::endpoint>);
// The rest of local is Boost.Asio's.
static_assert(std::is_same_v<net::local::basic_endpoint<int>,
    boost::asio::local::basic_endpoint<int>>);

namespace {

// Open descriptors of this process.
std::size_t open_descriptors()
{
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e :
      std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

// Accepts one connection on acceptor and echoes `size` bytes back on it.
void echo_once(unix_stream::acceptor& acceptor, std::size_t size,
    handler_calls& done)
{
  acceptor.async_accept(
      [&acceptor, size, &done](boost::system::error_code ec,
          unix_stream::socket peer)
      {
        BOOST_TEST(!ec);
        auto s = std::make_shared<unix_stream::socket>(std::move(peer));
        auto buf = std::make_shared<std::vector<unsigned char>>(size);
        net::async_read(*s, net::buffer(*buf),
            [s, buf, &done](boost::system::error_code ec, std::size_t)
            {
              BOOST_TEST(!ec);
              net::async_write(*s, net::buffer(*buf),
                  [s, buf, &done](boost::system::error_code ec, std::size_t n)
                  {
                    ++done.calls;
                    done.ec = ec;
                    done.n = n;
                  });
            });
      });
}

// Connects to ep, sends data and reads it back; returns what came back.
std::vector<unsigned char> round_trip(net::io_context& ctx,
    const unix_stream::endpoint& ep, const std::vector<unsigned char>& data,
    unix_stream::socket& client)
{
  std::vector<unsigned char> back(data.size());
  client.async_connect(ep,
      [&](boost::system::error_code ec)
      {
        BOOST_TEST(!ec);
        net::async_write(client, net::buffer(data),
            [](boost::system::error_code ec, std::size_t)
            { BOOST_TEST(!ec); });
        net::async_read(client, net::buffer(back),
            [](boost::system::error_code ec, std::size_t)
            { BOOST_TEST(!ec); });
      });
  BOOST_TEST(runs_dry(ctx));
  return back;
}

} // namespace

BOOST_AUTO_TEST_SUITE(local_stream)

BOOST_AUTO_TEST_CASE(echo_over_a_filesystem_path)
{
  temp_dir dir;
  const std::string path = dir.file("echo.sock");
  const auto data = random_bytes(1 << 20);
  net::io_context ctx;
  unix_stream::acceptor acceptor(ctx, unix_stream::endpoint(path));
  handler_calls done;
  echo_once(acceptor, data.size(), done);

  unix_stream::socket client(ctx);
  auto back = round_trip(ctx, unix_stream::endpoint(path), data, client);

  BOOST_TEST(done.calls == 1);
  BOOST_TEST(!done.ec);
  BOOST_TEST(done.n == data.size());
  BOOST_TEST((back == data));
  BOOST_TEST(client.remote_endpoint().path() == path);
  BOOST_TEST(acceptor.local_endpoint().path() == path);
}

BOOST_AUTO_TEST_CASE(echo_in_the_abstract_namespace)
{
  // A leading NUL: no file is created; the name dies with the socket.
  const std::string name = std::string(1, '\0') + "asio_uring_test_"
      + std::to_string(::getpid());
  const auto data = random_bytes(4096, 3);
  net::io_context ctx;
  unix_stream::acceptor acceptor(ctx, unix_stream::endpoint(name));
  handler_calls done;
  echo_once(acceptor, data.size(), done);

  unix_stream::socket client(ctx);
  auto back = round_trip(ctx, unix_stream::endpoint(name), data, client);

  BOOST_TEST(done.calls == 1);
  BOOST_TEST((back == data));
  BOOST_TEST(client.remote_endpoint().path() == name);
}

BOOST_AUTO_TEST_CASE(connect_pair_both_ways_then_end_of_stream)
{
  net::io_context ctx;
  unix_stream::socket a(ctx), b(ctx);
  net::local::connect_pair(a, b);
  BOOST_TEST(a.is_open());
  BOOST_TEST(b.is_open());

  std::string at_b(4, '\0'), at_a(4, '\0');
  handler_calls to_b, to_a, end;
  net::async_write(a, net::buffer(std::string_view("ping")),
      [](boost::system::error_code ec, std::size_t) { BOOST_TEST(!ec); });
  net::async_read(b, net::buffer(at_b),
      [&](boost::system::error_code ec, std::size_t n)
      {
        ++to_b.calls, to_b.ec = ec, to_b.n = n;
        net::async_write(b, net::buffer(std::string_view("pong")),
            [](boost::system::error_code ec, std::size_t)
            { BOOST_TEST(!ec); });
      });
  net::async_read(a, net::buffer(at_a),
      [&](boost::system::error_code ec, std::size_t n)
      {
        ++to_a.calls, to_a.ec = ec, to_a.n = n;
        a.shutdown(unix_stream::socket::shutdown_send);
        char byte;
        b.async_read_some(net::buffer(&byte, 1),
            record(end));
      });

  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(to_b.calls == 1);
  BOOST_TEST(!to_b.ec);
  BOOST_TEST(at_b == "ping");
  BOOST_TEST(to_a.calls == 1);
  BOOST_TEST(at_a == "pong");
  BOOST_TEST(end.calls == 1);
  BOOST_TEST(end.ec == boost::asio::error::eof);
  BOOST_TEST(end.n == 0u);
}

BOOST_AUTO_TEST_CASE(connect_pair_across_two_contexts)
{
  net::io_context ctx1, ctx2;
  unix_stream::socket a(ctx1), b(ctx2);
  net::local::connect_pair(a, b);
  const auto data = random_bytes(256 * 1024, 5);
  std::vector<unsigned char> got(data.size());
  handler_calls wrote, read;
  net::async_write(a, net::buffer(data),
      record(wrote));
  net::async_read(b, net::buffer(got),
      record(read));

  // The socket buffer is smaller than the data: both contexts take turns.
  for (int i = 0; i < 100000 && (wrote.calls == 0 || read.calls == 0); ++i)
  {
    ctx1.poll();
    ctx2.poll();
    ctx1.restart();
    ctx2.restart();
  }
  BOOST_TEST(wrote.calls == 1);
  BOOST_TEST(wrote.n == data.size());
  BOOST_TEST(read.calls == 1);
  BOOST_TEST(!read.ec);
  BOOST_TEST((got == data));
}

BOOST_AUTO_TEST_CASE(connect_pair_errors_leave_nothing_open)
{
  net::io_context ctx;
  const std::size_t before = open_descriptors();

  unix_stream::socket open_one(ctx, unix_stream());
  unix_stream::socket closed_one(ctx);
  boost::system::error_code ec;
  net::local::connect_pair(open_one, closed_one, ec);
  BOOST_TEST(ec == boost::asio::error::already_open);
  BOOST_TEST(!closed_one.is_open());

  // The second socket already open: the first is closed again.
  unix_stream::socket fresh(ctx);
  net::local::connect_pair(fresh, open_one, ec);
  BOOST_TEST(ec == boost::asio::error::already_open);
  BOOST_TEST(!fresh.is_open());
  BOOST_TEST(open_one.is_open());

  BOOST_CHECK_THROW(net::local::connect_pair(open_one, closed_one),
      boost::system::system_error);
  BOOST_TEST(open_descriptors() == before + 1); // open_one only
}

BOOST_AUTO_TEST_CASE(connection_errors)
{
  temp_dir dir;
  net::io_context ctx;
  handler_calls missing, refused;

  unix_stream::socket s1(ctx);
  s1.async_connect(unix_stream::endpoint(dir.file("nobody.sock")),
      [&](boost::system::error_code ec) { ++missing.calls, missing.ec = ec; });

  // The socket file outlives its acceptor: nobody accepts there.
  const std::string stale = dir.file("stale.sock");
  {
    unix_stream::acceptor gone(ctx, unix_stream::endpoint(stale));
  }
  unix_stream::socket s2(ctx);
  s2.async_connect(unix_stream::endpoint(stale),
      [&](boost::system::error_code ec) { ++refused.calls, refused.ec = ec; });

  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(missing.calls == 1);
  BOOST_TEST(missing.ec == boost::system::errc::no_such_file_or_directory);
  BOOST_TEST(refused.calls == 1);
  BOOST_TEST(refused.ec == boost::asio::error::connection_refused);

  // Binding where a socket file exists fails, as with Boost.Asio.
  boost::system::error_code ec;
  unix_stream::acceptor again(ctx);
  again.open(unix_stream());
  again.bind(unix_stream::endpoint(stale), ec);
  BOOST_TEST(ec == boost::asio::error::address_in_use);
  BOOST_CHECK_THROW(unix_stream::acceptor(ctx, unix_stream::endpoint(stale)),
      boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(cancel_and_close_with_operations_pending)
{
  net::io_context ctx;
  unix_stream::socket a(ctx), b(ctx);
  net::local::connect_pair(a, b);
  boost::asio::cancellation_signal signal;
  char buf[8];
  handler_calls cancelled, closed;

  b.async_read_some(net::buffer(buf),
      boost::asio::bind_cancellation_slot(signal.slot(),
          record(cancelled)));
  ctx.poll(); // the receive reaches the ring
  signal.emit(boost::asio::cancellation_type::terminal);
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(cancelled.calls == 1);
  BOOST_TEST(cancelled.ec == boost::asio::error::operation_aborted);

  // The cancelled receive took nothing.
  net::write(a, net::buffer(std::string_view("abc")));
  std::string got(3, '\0');
  net::read(b, net::buffer(got));
  BOOST_TEST(got == "abc");

  b.async_read_some(net::buffer(buf),
      record(closed));
  ctx.restart();
  ctx.poll();
  b.close();
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(closed.calls == 1);
  BOOST_TEST(closed.ec == boost::asio::error::operation_aborted);
}

BOOST_AUTO_TEST_SUITE_END()
