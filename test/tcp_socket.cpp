// ip::tcp::socket on the ring: Boost.Asio 1.81's member set, sync and
// async, buffers, cancellation, moves, options, and composed operations.
#include <asio_uring/ip/tcp.hpp>  // first: the header is self-contained

#include <asio_uring.hpp>

#include "tcp_test_util.hpp"
#include "test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

using asio_uring::ip::tcp;
using asio_uring_test::connected_pair;
using asio_uring_test::make_listener;
using namespace std::chrono_literals;

namespace {

// Completion recorder that also notes whether it ran inside the initiating
// function.
struct result
{
  bool called = false;
  boost::system::error_code ec;
  std::size_t n = 0;
};

} // namespace

BOOST_AUTO_TEST_SUITE(tcp_socket)

BOOST_AUTO_TEST_CASE(tcp_types_are_ring_backed_with_boost_endpoint)
{
  static_assert(std::is_same_v<tcp::socket,
      asio_uring::basic_stream_socket<boost::asio::ip::tcp>>);
  static_assert(std::is_same_v<tcp::acceptor,
      asio_uring::basic_socket_acceptor<boost::asio::ip::tcp>>);
  static_assert(std::is_same_v<tcp::endpoint, boost::asio::ip::tcp::endpoint>);
  static_assert(std::is_same_v<tcp::resolver, boost::asio::ip::tcp::resolver>);
  BOOST_TEST(tcp::v4().family() == AF_INET);
  BOOST_TEST(tcp::v6().family() == AF_INET6);
  BOOST_TEST(tcp::v4().type() == SOCK_STREAM);
  BOOST_TEST((tcp::v4() == boost::asio::ip::tcp::v4()));
  BOOST_TEST((boost::asio::ip::tcp::v6() == tcp::v6()));
  BOOST_TEST(!(tcp::v4() == tcp::v6()));
  tcp p = tcp::endpoint(boost::asio::ip::make_address("::1"), 1).protocol();
  BOOST_TEST(p.family() == AF_INET6);
}

BOOST_AUTO_TEST_CASE(async_write_then_read_roundtrip_on_ring)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  const std::string msg = "hello ring";
  std::array<char, 64> buf{};
  result w, r;
  bool inside = true;
  client.async_write_some(boost::asio::buffer(msg),
      [&](boost::system::error_code ec, std::size_t n) {
        BOOST_TEST(!inside);
        w = {true, ec, n};
      });
  server.async_read_some(boost::asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) {
        BOOST_TEST(!inside);
        r = {true, ec, n};
      });
  inside = false;
  std::uint64_t enters_before = ctx.enter_count();
  ctx.run_for(5s);
  BOOST_TEST(w.called);
  BOOST_TEST(!w.ec);
  BOOST_TEST(w.n == msg.size());
  BOOST_TEST(r.called);
  BOOST_TEST(!r.ec);
  BOOST_TEST(std::string(buf.data(), r.n) == msg);
  BOOST_TEST(ctx.enter_count() > enters_before);
}

BOOST_AUTO_TEST_CASE(async_connect_and_accept_exchange_data)
{
  asio_uring::io_context ctx;
  auto acceptor = make_listener(ctx);
  tcp::socket client(ctx);
  tcp::socket server(ctx);
  result c, a;
  client.async_connect(acceptor.local_endpoint(),
      [&](boost::system::error_code ec) { c = {true, ec, 0}; });
  acceptor.async_accept(server,
      [&](boost::system::error_code ec) { a = {true, ec, 0}; });
  ctx.run_for(5s);
  BOOST_TEST(c.called);
  BOOST_TEST(!c.ec);
  BOOST_TEST(a.called);
  BOOST_TEST(!a.ec);
  BOOST_TEST(client.is_open());
  BOOST_TEST(server.is_open());
  BOOST_TEST(client.remote_endpoint() == server.local_endpoint());
  BOOST_TEST(server.remote_endpoint() == client.local_endpoint());
  BOOST_TEST((::fcntl(server.native_handle(), F_GETFD) & FD_CLOEXEC) != 0);
  BOOST_TEST((::fcntl(client.native_handle(), F_GETFD) & FD_CLOEXEC) != 0);
}

BOOST_AUTO_TEST_CASE(sync_send_receive_with_and_without_error_code)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  BOOST_TEST(client.send(boost::asio::buffer("abc", 3)) == 3u);
  char buf[8];
  BOOST_TEST(server.receive(boost::asio::buffer(buf)) == 3u);
  BOOST_TEST(std::string(buf, 3) == "abc");
  boost::system::error_code ec;
  BOOST_TEST(server.write_some(boost::asio::buffer("xy", 2), ec) == 2u);
  BOOST_TEST(!ec);
  BOOST_TEST(client.read_some(boost::asio::buffer(buf), ec) == 2u);
  BOOST_TEST(!ec);
  BOOST_TEST(client.send(boost::asio::buffer("q", 1), 0, ec) == 1u);
  BOOST_TEST(server.receive(boost::asio::buffer(buf), 0, ec) == 1u);
  BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_CASE(read_reports_eof_after_orderly_shutdown)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  client.shutdown(tcp::socket::shutdown_send);
  char buf[8];
  result r;
  server.async_read_some(boost::asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) { r = {true, ec, n}; });
  ctx.run_for(5s);
  BOOST_TEST(r.called);
  BOOST_TEST((r.ec == boost::asio::error::eof));
  BOOST_TEST(r.n == 0u);
  boost::system::error_code ec;
  BOOST_TEST(server.read_some(boost::asio::buffer(buf), ec) == 0u);
  BOOST_TEST((ec == boost::asio::error::eof));
  BOOST_CHECK_THROW(server.receive(boost::asio::buffer(buf)),
      boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(zero_size_buffers_complete_at_once_with_zero)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  result r, w;
  bool inside = true;
  server.async_read_some(boost::asio::mutable_buffer(),
      [&](boost::system::error_code ec, std::size_t n) {
        BOOST_TEST(!inside);
        r = {true, ec, n};
      });
  client.async_write_some(boost::asio::const_buffer(),
      [&](boost::system::error_code ec, std::size_t n) {
        BOOST_TEST(!inside);
        w = {true, ec, n};
      });
  inside = false;
  ctx.run_for(5s);
  BOOST_TEST(r.called);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == 0u);
  BOOST_TEST(w.called);
  BOOST_TEST(!w.ec);
  BOOST_TEST(w.n == 0u);
  boost::system::error_code ec;
  BOOST_TEST(server.read_some(boost::asio::mutable_buffer(), ec) == 0u);
  BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_CASE(operations_on_closed_socket_report_bad_descriptor)
{
  asio_uring::io_context ctx;
  tcp::socket s(ctx);
  char buf[4];
  result r, w, wt;
  s.async_read_some(boost::asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) { r = {true, ec, n}; });
  s.async_write_some(boost::asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) { w = {true, ec, n}; });
  s.async_wait(tcp::socket::wait_read,
      [&](boost::system::error_code ec) { wt = {true, ec, 0}; });
  ctx.run_for(5s);
  BOOST_TEST((r.ec == boost::asio::error::bad_descriptor));
  BOOST_TEST((w.ec == boost::asio::error::bad_descriptor));
  BOOST_TEST((wt.ec == boost::asio::error::bad_descriptor));
  boost::system::error_code ec;
  s.read_some(boost::asio::buffer(buf), ec);
  BOOST_TEST((ec == boost::asio::error::bad_descriptor));
  s.cancel(ec);
  BOOST_TEST((ec == boost::asio::error::bad_descriptor));
  s.close(ec);
  BOOST_TEST(!ec);  // closing a closed socket is not an error
  BOOST_CHECK_THROW(s.remote_endpoint(), boost::system::system_error);
  BOOST_CHECK_THROW(s.release(), boost::system::system_error);
  BOOST_CHECK_THROW(s.available(), boost::system::system_error);
  BOOST_CHECK_THROW(s.set_option(tcp::no_delay(true)),
      boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(large_transfer_with_buffer_sequences_keeps_every_byte)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  const auto data = asio_uring_test::random_bytes(4 << 20, 7);
  // Write as a sequence of uneven buffers (sendmsg), read into a sequence
  // (recvmsg) through async_read.
  std::vector<boost::asio::const_buffer> out;
  for (std::size_t off = 0, i = 0; off < data.size(); ++i)
  {
    std::size_t len = std::min<std::size_t>(data.size() - off, 1000 + i * 37 % 50000);
    out.emplace_back(data.data() + off, len);
    off += len;
  }
  std::vector<unsigned char> in(data.size());
  std::vector<boost::asio::mutable_buffer> in_bufs;
  for (std::size_t off = 0; off < in.size(); off += 65536)
    in_bufs.emplace_back(in.data() + off, std::min<std::size_t>(65536, in.size() - off));
  result w, r;
  boost::asio::async_write(client, out,
      [&](boost::system::error_code ec, std::size_t n) { w = {true, ec, n}; });
  boost::asio::async_read(server, in_bufs,
      [&](boost::system::error_code ec, std::size_t n) { r = {true, ec, n}; });
  ctx.run_for(30s);
  BOOST_TEST(w.called);
  BOOST_TEST(!w.ec);
  BOOST_TEST(w.n == data.size());
  BOOST_TEST(r.called);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == data.size());
  BOOST_TEST((in == data));
}

BOOST_AUTO_TEST_CASE(async_read_until_and_dynamic_buffer_work_unchanged)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  std::string line;
  result r;
  boost::asio::async_write(client, boost::asio::buffer("first line\nsecond", 18),
      [](boost::system::error_code, std::size_t) {});
  boost::asio::async_read_until(server, boost::asio::dynamic_buffer(line), '\n',
      [&](boost::system::error_code ec, std::size_t n) { r = {true, ec, n}; });
  ctx.run_for(5s);
  BOOST_TEST(r.called);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == 11u);
  BOOST_TEST(line.substr(0, r.n) == "first line\n");
}

BOOST_AUTO_TEST_CASE(cancel_aborts_pending_read)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  char buf[16];
  result r;
  server.async_read_some(boost::asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) { r = {true, ec, n}; });
  boost::asio::post(ctx, [&] { server.cancel(); });
  ctx.run_for(5s);
  BOOST_TEST(r.called);
  BOOST_TEST((r.ec == boost::asio::error::operation_aborted));
  BOOST_TEST(server.is_open());
  // The socket still works afterwards.
  client.send(boost::asio::buffer("z", 1));
  BOOST_TEST(server.receive(boost::asio::buffer(buf)) == 1u);
}

BOOST_AUTO_TEST_CASE(cancellation_slot_aborts_read_for_each_type)
{
  using ct = boost::asio::cancellation_type;
  for (ct type : {ct::terminal, ct::partial, ct::total})
  {
    asio_uring::io_context ctx;
    auto [server, client] = connected_pair(ctx);
    boost::asio::cancellation_signal sig;
    char buf[16];
    result r;
    server.async_read_some(boost::asio::buffer(buf),
        boost::asio::bind_cancellation_slot(sig.slot(),
            [&](boost::system::error_code ec, std::size_t n) {
              r = {true, ec, n};
            }));
    boost::asio::post(ctx, [&] { sig.emit(type); });
    ctx.run_for(5s);
    BOOST_TEST(r.called);
    BOOST_TEST((r.ec == boost::asio::error::operation_aborted));
  }
}

BOOST_AUTO_TEST_CASE(close_aborts_pending_wait_and_read)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  char buf[16];
  result r, wt;
  server.async_read_some(boost::asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) { r = {true, ec, n}; });
  server.async_wait(tcp::socket::wait_error,
      [&](boost::system::error_code ec) { wt = {true, ec, 0}; });
  boost::asio::post(ctx, [&] { server.close(); });
  ctx.run_for(5s);
  BOOST_TEST((r.ec == boost::asio::error::operation_aborted));
  BOOST_TEST((wt.ec == boost::asio::error::operation_aborted));
  BOOST_TEST(!server.is_open());
}

BOOST_AUTO_TEST_CASE(destroying_socket_aborts_pending_read)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  auto s = std::make_unique<tcp::socket>(std::move(server));
  char buf[16];
  result r;
  s->async_read_some(boost::asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) { r = {true, ec, n}; });
  boost::asio::post(ctx, [&] { s.reset(); });
  ctx.run_for(5s);
  BOOST_TEST(r.called);
  BOOST_TEST((r.ec == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(async_wait_read_completes_when_data_arrives)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  result wt;
  server.async_wait(tcp::socket::wait_read,
      [&](boost::system::error_code ec) {
        wt = {true, ec, 0};
      });
  BOOST_TEST(ctx.poll() == 0u);
  client.send(boost::asio::buffer("d", 1));
  ctx.run_for(5s);
  BOOST_TEST(wt.called);
  BOOST_TEST(!wt.ec);
  BOOST_TEST(server.available() == 1u);
  server.wait(tcp::socket::wait_read);
  server.wait(tcp::socket::wait_write);
  boost::asio::socket_base::bytes_readable cmd;
  server.io_control(cmd);
  BOOST_TEST(cmd.get() == 1u);
  BOOST_TEST(!server.at_mark());
}

BOOST_AUTO_TEST_CASE(null_buffers_wait_for_readiness_as_boost_asio)
{
  // Boost.Asio's reactor-style operations: a read or write of null_buffers
  // waits until the socket is ready and completes with 0 bytes, consuming
  // nothing. (Without the wait it completed at once, before any data.)
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  result rd;
  server.async_read_some(boost::asio::null_buffers(),
      [&](boost::system::error_code ec, std::size_t n) {
        rd = {true, ec, n};
      });
  BOOST_TEST(ctx.poll() == 0u);
  BOOST_TEST(!rd.called);
  client.send(boost::asio::buffer("abc", 3));
  ctx.run_for(5s);
  BOOST_TEST(rd.called);
  BOOST_TEST(!rd.ec);
  BOOST_TEST(rd.n == 0u);
  BOOST_TEST(server.available() == 3u);  // nothing was read

  result wr;
  ctx.restart();
  server.async_write_some(boost::asio::null_buffers(),
      [&](boost::system::error_code ec, std::size_t n) {
        wr = {true, ec, n};
      });
  BOOST_TEST(!wr.called);  // never inside the initiating function
  ctx.run_for(5s);
  BOOST_TEST(wr.called);
  BOOST_TEST(!wr.ec);
  BOOST_TEST(wr.n == 0u);

  // Synchronous forms: readable now, so no blocking; still nothing read.
  BOOST_TEST(server.read_some(boost::asio::null_buffers()) == 0u);
  BOOST_TEST(server.available() == 3u);
  BOOST_TEST(server.write_some(boost::asio::null_buffers()) == 0u);

  // A non-blocking socket with nothing to read reports would_block.
  client.non_blocking(true);
  boost::system::error_code ec;
  BOOST_TEST(client.read_some(boost::asio::null_buffers(), ec) == 0u);
  BOOST_TEST(ec == boost::asio::error::would_block);

  // Closed: bad_descriptor, posted.
  result closed;
  ctx.restart();
  tcp::socket none(ctx);
  none.async_read_some(boost::asio::null_buffers(),
      [&](boost::system::error_code e, std::size_t n) {
        closed = {true, e, n};
      });
  BOOST_TEST(!closed.called);
  ctx.run_for(5s);
  BOOST_TEST(closed.called);
  BOOST_TEST(closed.ec == boost::asio::error::bad_descriptor);
}

BOOST_AUTO_TEST_CASE(null_buffers_receive_out_of_band_waits_for_urgent_data)
{
  // message_out_of_band with null_buffers waits for urgent data (POLLPRI),
  // not for ordinary data, as Boost.Asio's reactor.
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  client.send(boost::asio::buffer("ordinary", 8));
  for (int i = 0; i < 5000 && server.available() < 8u; ++i)
    std::this_thread::sleep_for(1ms);
  BOOST_REQUIRE(server.available() == 8u);
  result ordinary;
  server.async_receive(boost::asio::null_buffers(),
      boost::asio::socket_base::message_out_of_band,
      [&](boost::system::error_code ec, std::size_t n) {
        ordinary = {true, ec, n};
      });
  BOOST_TEST(ctx.poll() == 0u);  // readable, but no urgent data
  BOOST_TEST(!ordinary.called);
  server.cancel();
  ctx.run_for(5s);
  BOOST_TEST(ordinary.called);
  BOOST_TEST(ordinary.ec == boost::asio::error::operation_aborted);

  // Urgent data there: the wait completes.
  auto [server2, client2] = connected_pair(ctx);
  client2.send(boost::asio::buffer("!", 1),
      boost::asio::socket_base::message_out_of_band);
  result urgent;
  server2.async_receive(boost::asio::null_buffers(),
      boost::asio::socket_base::message_out_of_band,
      [&](boost::system::error_code ec, std::size_t n) {
        urgent = {true, ec, n};
      });
  ctx.restart();
  ctx.run_for(5s);
  BOOST_TEST(urgent.called);
  BOOST_TEST(!urgent.ec);
  BOOST_TEST(urgent.n == 0u);
}

BOOST_AUTO_TEST_CASE(move_leaves_source_closed_and_crosses_executor_types)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  const int fd = server.native_handle();
  tcp::socket moved(std::move(server));
  BOOST_TEST(!server.is_open());
  BOOST_TEST(moved.native_handle() == fd);

  using typed_socket = asio_uring::basic_stream_socket<boost::asio::ip::tcp,
      asio_uring::io_context::executor_type>;
  typed_socket typed(ctx.get_executor());
  typed = typed_socket(ctx.get_executor());
  typed_socket typed2(ctx.get_executor(), tcp::v4());
  tcp::socket erased(std::move(typed2));
  BOOST_TEST(erased.is_open());
  BOOST_TEST(!typed2.is_open());
  moved = std::move(erased);  // closes the old descriptor first
  BOOST_TEST(moved.is_open());
  BOOST_TEST(::fcntl(fd, F_GETFD) == -1);

  // The moved socket keeps working.
  tcp::socket s2(std::move(client));
  result r;
  char buf[4];
  s2.async_read_some(boost::asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) { r = {true, ec, n}; });
  ctx.run_for(5s);
  BOOST_TEST((r.ec == boost::asio::error::eof));  // the server closed
}

BOOST_AUTO_TEST_CASE(options_round_trip_including_asio_custom_ones)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  client.set_option(tcp::no_delay(true));
  tcp::no_delay nd;
  client.get_option(nd);
  BOOST_TEST(nd.value());
  client.set_option(tcp::socket::receive_buffer_size(65536));
  tcp::socket::receive_buffer_size rbs;
  client.get_option(rbs);
  BOOST_TEST(rbs.value() == 65536);  // halved, as Boost.Asio reports it
  client.set_option(tcp::socket::linger(true, 0));
  tcp::socket::linger lg;
  client.get_option(lg);
  BOOST_TEST(lg.enabled());
  client.set_option(tcp::socket::enable_connection_aborted(true));
  tcp::socket::enable_connection_aborted eca;
  client.get_option(eca);
  BOOST_TEST(eca.value());
  client.set_option(tcp::socket::keep_alive(true));
  tcp::socket::keep_alive ka;
  client.get_option(ka);
  BOOST_TEST(ka.value());
}

BOOST_AUTO_TEST_CASE(non_blocking_sync_read_reports_would_block)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  BOOST_TEST(!server.non_blocking());
  server.non_blocking(true);
  BOOST_TEST(server.non_blocking());
  char buf[4];
  boost::system::error_code ec;
  server.read_some(boost::asio::buffer(buf), ec);
  BOOST_TEST((ec == boost::asio::error::would_block));
  server.wait(tcp::socket::wait_read, ec);
  BOOST_TEST((ec == boost::asio::error::would_block));
  boost::system::error_code nb_ec;
  server.native_non_blocking(false, nb_ec);
  BOOST_TEST((nb_ec == boost::asio::error::invalid_argument));
  server.non_blocking(false);
  BOOST_TEST(!server.non_blocking());
  BOOST_TEST((::fcntl(server.native_handle(), F_GETFL) & O_NONBLOCK) == 0);
}

BOOST_AUTO_TEST_CASE(async_ops_work_on_native_non_blocking_socket)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  server.native_non_blocking(true);
  BOOST_TEST(server.native_non_blocking());
  BOOST_TEST((::fcntl(server.native_handle(), F_GETFL) & O_NONBLOCK) != 0);
  char buf[8];
  result r;
  server.async_read_some(boost::asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) { r = {true, ec, n}; });
  boost::asio::post(ctx, [&] { client.send(boost::asio::buffer("nb", 2)); });
  ctx.run_for(5s);
  BOOST_TEST(r.called);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == 2u);
  // A sync read on it (not user non-blocking) waits instead of failing.
  client.send(boost::asio::buffer("k", 1));
  BOOST_TEST(server.read_some(boost::asio::buffer(buf)) == 1u);
}

// Rewrites the result of the first CQE of a chosen operation to -EAGAIN,
// as a kernel would for an O_NONBLOCK descriptor.
class eagain_once : public asio_uring::detail::core::fault_hooks
{
public:
  void on_completion(asio_uring::detail::core::completion& c) noexcept override
  {
    if (armed_ && c.user_data > 4096 && c.res > 0)
    {
      armed_ = false;
      c.res = -EAGAIN;
      ++injected_;
    }
  }
  bool armed_ = true;
  int injected_ = 0;
};

BOOST_AUTO_TEST_CASE(eagain_from_the_ring_polls_then_retries_without_losing_data)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  eagain_once hooks;
  ctx.impl().ring().set_fault_hooks(&hooks);
  char buf[8];
  result r;
  // MSG_PEEK leaves the bytes queued, so the -EAGAIN the hook substitutes
  // for the first result loses nothing; the op must poll and peek again.
  client.send(boost::asio::buffer("ab", 2));
  server.async_receive(boost::asio::buffer(buf), tcp::socket::message_peek,
      [&](boost::system::error_code ec, std::size_t n) { r = {true, ec, n}; });
  ctx.run_for(5s);
  ctx.impl().ring().set_fault_hooks(nullptr);
  BOOST_TEST(hooks.injected_ == 1);
  BOOST_TEST(r.called);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == 2u);
  BOOST_TEST(server.receive(boost::asio::buffer(buf)) == 2u);
  BOOST_TEST(std::string(buf, 2) == "ab");
}

BOOST_AUTO_TEST_CASE(release_gives_up_descriptor_and_aborts_operations)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  char buf[4];
  result r;
  server.async_read_some(boost::asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) { r = {true, ec, n}; });
  int fd = -1;
  boost::asio::post(ctx, [&] { fd = server.release(); });
  ctx.run_for(5s);
  BOOST_TEST((r.ec == boost::asio::error::operation_aborted));
  BOOST_TEST(!server.is_open());
  BOOST_TEST(fd >= 0);
  BOOST_TEST(::fcntl(fd, F_GETFD) != -1);
  // assign() takes it back.
  tcp::socket again(ctx);
  again.assign(tcp::v4(), fd);
  BOOST_TEST(again.is_open());
  boost::system::error_code ec;
  again.assign(tcp::v4(), fd, ec);
  BOOST_TEST((ec == boost::asio::error::already_open));
  client.send(boost::asio::buffer("r", 1));
  BOOST_TEST(again.receive(boost::asio::buffer(buf)) == 1u);
}

BOOST_AUTO_TEST_CASE(open_bind_and_constructors_follow_asio)
{
  asio_uring::io_context ctx;
  tcp::socket a(ctx, tcp::v4());
  BOOST_TEST(a.is_open());
  boost::system::error_code ec;
  a.open(tcp::v4(), ec);
  BOOST_TEST((ec == boost::asio::error::already_open));
  tcp::socket b(ctx.get_executor(),
      tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  BOOST_TEST(b.local_endpoint().port() != 0);
  tcp::socket c(ctx);
  c.open(tcp::v6(), ec);
  if (!ec)
    BOOST_TEST(c.local_endpoint().protocol().family() == AF_INET6);
  BOOST_TEST((&a.lowest_layer() == &a));
}

BOOST_AUTO_TEST_CASE(async_connect_opens_a_closed_socket)
{
  asio_uring::io_context ctx;
  auto acceptor = make_listener(ctx);
  tcp::socket client(ctx);
  BOOST_TEST(!client.is_open());
  result c;
  client.async_connect(acceptor.local_endpoint(),
      [&](boost::system::error_code ec) { c = {true, ec, 0}; });
  BOOST_TEST(client.is_open());
  ctx.run_for(5s);
  BOOST_TEST(c.called);
  BOOST_TEST(!c.ec);
}

BOOST_AUTO_TEST_CASE(range_connect_tries_endpoints_in_order)
{
  asio_uring::io_context ctx;
  auto acceptor = make_listener(ctx);
  // A port with nothing listening: bind a socket and close it.
  tcp::endpoint dead;
  {
    tcp::socket t(ctx, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    dead = t.local_endpoint();
  }
  std::vector<tcp::endpoint> eps{dead, acceptor.local_endpoint()};

  tcp::socket s1(ctx);
  tcp::endpoint got = asio_uring::connect(s1, eps);
  BOOST_TEST(got == acceptor.local_endpoint());

  tcp::socket s2(ctx);
  result c;
  tcp::endpoint async_got;
  asio_uring::async_connect(s2, eps,
      [&](boost::system::error_code ec, tcp::endpoint ep) {
        c = {true, ec, 0};
        async_got = ep;
      });
  tcp::socket s3(ctx);
  result c3;
  asio_uring::async_connect(s3, eps.begin(), eps.end(),
      [&](boost::system::error_code ec, std::vector<tcp::endpoint>::iterator it) {
        c3 = {true, ec, static_cast<std::size_t>(it - eps.begin())};
      });
  tcp::socket s4(ctx);
  result c4;
  std::vector<tcp::endpoint> none;
  async_connect(s4, none,  // found by argument-dependent lookup
      [&](boost::system::error_code ec, tcp::endpoint) { c4 = {true, ec, 0}; });
  ctx.run_for(5s);
  BOOST_TEST(c.called);
  BOOST_TEST(!c.ec);
  BOOST_TEST(async_got == acceptor.local_endpoint());
  BOOST_TEST(!c3.ec);
  BOOST_TEST(c3.n == 1u);
  BOOST_TEST((c4.ec == boost::asio::error::not_found));

  // Only the dead endpoint: its error is reported.
  tcp::socket s5(ctx);
  boost::system::error_code ec;
  asio_uring::connect(s5, std::vector<tcp::endpoint>{dead}, ec);
  BOOST_TEST((ec == boost::asio::error::connection_refused));
}

BOOST_AUTO_TEST_CASE(resolver_results_connect_through_boost_resolver)
{
  asio_uring::io_context ctx;
  auto acceptor = make_listener(ctx);
  tcp::resolver resolver(ctx);
  result c;
  tcp::socket s(ctx);
  resolver.async_resolve("127.0.0.1",
      std::to_string(acceptor.local_endpoint().port()),
      [&](boost::system::error_code ec, tcp::resolver::results_type results) {
        BOOST_TEST(!ec);
        asio_uring::async_connect(s, results,
            [&](boost::system::error_code ec2, const tcp::endpoint&) {
              c = {true, ec2, 0};
            });
      });
  ctx.run_for(10s);
  BOOST_TEST(c.called);
  BOOST_TEST(!c.ec);
}

BOOST_AUTO_TEST_CASE(coroutines_and_move_only_handlers_work)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  std::string got;
  asio_uring::co_spawn(ctx,
      [&]() -> asio_uring::awaitable<void> {
        co_await asio_uring::async_write(client,
            asio_uring::buffer(std::string("coro")), asio_uring::use_awaitable);
        char buf[4];
        std::size_t n = co_await asio_uring::async_read(server,
            asio_uring::buffer(buf), asio_uring::use_awaitable);
        got.assign(buf, n);
      },
      asio_uring::detached);
  ctx.run_for(5s);
  BOOST_TEST(got == "coro");

  auto owned = std::make_unique<int>(5);
  result r;
  char buf[1];
  client.send(boost::asio::buffer("m", 1));
  server.async_read_some(boost::asio::buffer(buf),
      [&r, p = std::move(owned)](boost::system::error_code ec, std::size_t n) {
        BOOST_TEST(*p == 5);
        r = {true, ec, n};
      });
  ctx.restart();
  ctx.run_for(5s);
  BOOST_TEST(r.n == 1u);
}

BOOST_AUTO_TEST_CASE(handler_runs_on_its_associated_strand)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  auto strand = boost::asio::make_strand(ctx);
  bool in_strand = false;
  char buf[1];
  client.send(boost::asio::buffer("s", 1));
  server.async_read_some(boost::asio::buffer(buf),
      boost::asio::bind_executor(strand,
          [&](boost::system::error_code, std::size_t) {
            in_strand = strand.running_in_this_thread();
          }));
  ctx.run_for(5s);
  BOOST_TEST(in_strand);
}

BOOST_AUTO_TEST_CASE(socket_rejects_executor_of_another_context_type)
{
  boost::asio::io_context boost_ctx;
  BOOST_CHECK_THROW(tcp::socket s(boost_ctx.get_executor()),
      std::invalid_argument);
}

namespace {

// Counts allocations through a handler's associated allocator.
struct alloc_counts
{
  int allocations = 0;
  int deallocations = 0;
};

template <typename T>
struct counting_allocator
{
  using value_type = T;
  alloc_counts* counts;
  explicit counting_allocator(alloc_counts* c) noexcept : counts(c) {}
  template <typename U>
  counting_allocator(const counting_allocator<U>& o) noexcept : counts(o.counts) {}
  T* allocate(std::size_t n)
  {
    ++counts->allocations;
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n)
  {
    ++counts->deallocations;
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const counting_allocator<U>& o) const noexcept { return counts == o.counts; }
  template <typename U>
  bool operator!=(const counting_allocator<U>& o) const noexcept { return counts != o.counts; }
};

} // namespace

BOOST_AUTO_TEST_CASE(operations_allocate_through_associated_allocator)
{
  asio_uring::io_context ctx;
  auto acceptor = make_listener(ctx);
  auto [server, client] = connected_pair(ctx);
  alloc_counts counts;
  counting_allocator<int> alloc(&counts);
  char buf[4];
  int done = 0;
  client.send(boost::asio::buffer("a", 1));
  server.async_read_some(boost::asio::buffer(buf),
      boost::asio::bind_allocator(alloc,
          [&](boost::system::error_code, std::size_t) { ++done; }));
  server.async_write_some(boost::asio::buffer("b", 1),
      boost::asio::bind_allocator(alloc,
          [&](boost::system::error_code, std::size_t) { ++done; }));
  server.async_wait(tcp::socket::wait_write,
      boost::asio::bind_allocator(alloc, [&](boost::system::error_code) { ++done; }));
  tcp::socket c2(ctx);
  c2.async_connect(acceptor.local_endpoint(),
      boost::asio::bind_allocator(alloc, [&](boost::system::error_code) { ++done; }));
  acceptor.async_accept(boost::asio::bind_allocator(alloc,
      [&](boost::system::error_code, tcp::socket) { ++done; }));
  ctx.run_for(5s);
  BOOST_TEST(done == 5);
  BOOST_TEST(counts.allocations >= 5);
  BOOST_TEST(counts.allocations == counts.deallocations);
}

BOOST_AUTO_TEST_CASE(echo_with_two_threads_running_the_context)
{
  asio_uring::io_context ctx(2);
  auto acceptor = make_listener(ctx);
  constexpr int n = 50;
  struct conn
  {
    explicit conn(asio_uring::io_context& c) : s(c) {}
    tcp::socket s;
    std::array<char, 64> buf{};
  };
  std::vector<std::unique_ptr<conn>> servers;
  std::mutex m;
  std::function<void()> accept_one = [&] {
    acceptor.async_accept([&](boost::system::error_code ec, tcp::socket s) {
      if (ec)
        return;
      auto c = std::make_unique<conn>(ctx);
      c->s = std::move(s);
      conn* p = c.get();
      {
        std::lock_guard<std::mutex> lock(m);
        servers.push_back(std::move(c));
      }
      p->s.async_read_some(boost::asio::buffer(p->buf),
          [p](boost::system::error_code ec2, std::size_t k) {
            if (!ec2)
              boost::asio::async_write(p->s, boost::asio::buffer(p->buf, k),
                  [](boost::system::error_code, std::size_t) {});
          });
      accept_one();
    });
  };
  accept_one();
  std::vector<std::unique_ptr<conn>> clients;
  std::atomic<int> echoed{0};
  // Handlers run on both threads: Boost.Test's macros are not thread-safe,
  // so connect failures are counted and checked after the join.
  std::atomic<int> connect_errors{0};
  for (int i = 0; i < n; ++i)
  {
    clients.push_back(std::make_unique<conn>(ctx));
    conn* c = clients.back().get();
    std::snprintf(c->buf.data(), c->buf.size(), "msg %d", i);
    c->s.async_connect(acceptor.local_endpoint(), [&, c, i](boost::system::error_code ec) {
      if (ec)
      {
        ++connect_errors;
        return;
      }
      boost::asio::async_write(c->s, boost::asio::buffer(c->buf.data(), 8),
          [](boost::system::error_code, std::size_t) {});
      boost::asio::async_read(c->s, boost::asio::buffer(c->buf.data() + 32, 8),
          [&, c, i](boost::system::error_code ec2, std::size_t) {
            char want[16] = {};
            std::snprintf(want, sizeof(want), "msg %d", i);
            if (!ec2 && std::memcmp(c->buf.data() + 32, want, 8) == 0)
              if (++echoed == n)
                acceptor.close();
          });
    });
  }
  std::thread t([&] { ctx.run_for(20s); });
  ctx.run_for(20s);
  t.join();
  BOOST_TEST(connect_errors.load() == 0);
  BOOST_TEST(echoed.load() == n);
}

BOOST_AUTO_TEST_SUITE_END()
