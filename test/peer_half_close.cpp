// Readiness waits on a socket whose peer has shut down its sending side.
// io_uring adds POLLRDHUP to every poll, so such a socket reports POLLRDHUP
// to a poll for POLLOUT or POLLPRI at once, and again after every re-arm.
// Boost.Asio's reactor does not count it: a wait_write or wait_error goes on
// waiting, and a non-blocking descriptor's retry waits for room. Before
// readiness_poll these waits completed at once (and a retry spun).
#include <asio_uring.hpp>

#include "tcp_test_util.hpp"
#include "test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;
using namespace asio_uring_test;
using tcp = asio_uring::ip::tcp;

namespace {

// Writes to s (non-blocking) until the kernel has no room for more; the
// bytes written.
std::size_t fill_send_buffer(tcp::socket& s)
{
  s.non_blocking(true);
  std::vector<char> block(65536, 'x');
  std::size_t total = 0;
  boost::system::error_code ec;
  while (!ec)
    total += s.write_some(boost::asio::buffer(block), ec);
  BOOST_TEST_REQUIRE((ec == boost::asio::error::would_block));
  s.non_blocking(false);
  return total;
}

// Reads n bytes from s (blocking).
void drain(tcp::socket& s, std::size_t n)
{
  std::vector<char> block(65536);
  while (n > 0)
    n -= s.read_some(boost::asio::buffer(block.data(),
        std::min(n, block.size())));
}

} // namespace

BOOST_AUTO_TEST_SUITE(peer_half_close)

BOOST_AUTO_TEST_CASE(wait_write_waits_for_room_not_for_the_peer_half_close)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  const std::size_t queued = fill_send_buffer(server);
  client.shutdown(tcp::socket::shutdown_send);
  handler_calls w;
  server.async_wait(tcp::socket::wait_write,
      [&](boost::system::error_code ec) { ++w.calls; w.ec = ec; });
  ctx.run_for(200ms);
  BOOST_TEST(w.calls == 0);  // not writable: POLLRDHUP alone does not count
  drain(client, queued);
  // Runs dry: the multishot poll's end leaves nothing behind.
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(w.calls == 1);
  BOOST_TEST(!w.ec);
}

BOOST_AUTO_TEST_CASE(wait_error_ignores_peer_half_close_and_sees_reset)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  client.shutdown(tcp::socket::shutdown_send);
  handler_calls w;
  server.async_wait(tcp::socket::wait_error,
      [&](boost::system::error_code ec) { ++w.calls; w.ec = ec; });
  ctx.run_for(200ms);
  BOOST_TEST(w.calls == 0);
  // A reset is an error (POLLERR, POLLHUP): that completes it.
  client.set_option(tcp::socket::linger(true, 0));
  client.close();
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(w.calls == 1);
  BOOST_TEST(!w.ec);
}

BOOST_AUTO_TEST_CASE(half_close_wait_is_cancelled_per_operation_and_by_close)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  client.shutdown(tcp::socket::shutdown_send);
  boost::asio::cancellation_signal sig;
  handler_calls by_slot, by_close;
  server.async_wait(tcp::socket::wait_error,
      boost::asio::bind_cancellation_slot(sig.slot(),
          [&](boost::system::error_code ec) { ++by_slot.calls; by_slot.ec = ec; }));
  ctx.run_for(100ms);
  BOOST_TEST(by_slot.calls == 0);
  sig.emit(boost::asio::cancellation_type::terminal);
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(by_slot.calls == 1);
  BOOST_TEST((by_slot.ec == boost::asio::error::operation_aborted));

  server.async_wait(tcp::socket::wait_error,
      [&](boost::system::error_code ec) { ++by_close.calls; by_close.ec = ec; });
  ctx.restart();
  ctx.run_for(100ms);
  BOOST_TEST(by_close.calls == 0);
  boost::asio::post(ctx, [&] { server.close(); });
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(by_close.calls == 1);
  BOOST_TEST((by_close.ec == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(many_half_close_waits_each_complete_once)
{
  // Every wait goes multishot and is ended by a cancel of its own; with
  // more of them than a small ring has SQEs, some cancels wait for room.
  asio_uring::io_context ctx(asio_uring::ring_options{.entries = 4});
  constexpr int n = 16;
  std::vector<std::pair<tcp::socket, tcp::socket>> pairs;
  std::vector<std::size_t> queued;
  for (int i = 0; i < n; ++i)
  {
    pairs.push_back(connected_pair(ctx));
    queued.push_back(fill_send_buffer(pairs.back().first));
    pairs.back().second.shutdown(tcp::socket::shutdown_send);
  }
  std::vector<handler_calls> w(n);
  for (int i = 0; i < n; ++i)
    pairs[i].first.async_wait(tcp::socket::wait_write,
        [&w, i](boost::system::error_code ec) { ++w[i].calls; w[i].ec = ec; });
  ctx.run_for(200ms);
  for (int i = 0; i < n; ++i)
  {
    BOOST_TEST(w[i].calls == 0);
    drain(pairs[i].second, queued[i]);
  }
  BOOST_TEST(runs_dry(ctx));
  for (int i = 0; i < n; ++i)
  {
    BOOST_TEST(w[i].calls == 1);
    BOOST_TEST(!w[i].ec);
  }
}

BOOST_AUTO_TEST_CASE(context_destroyed_with_a_half_close_wait_armed)
{
  // Shutdown cancels the armed multishot poll and waits for its final CQE;
  // the handler is destroyed, never run (ASan sees a leak or a use after
  // free; a wait that is never cancelled hangs here).
  handler_calls w;
  {
    asio_uring::io_context ctx;
    auto [server, c] = connected_pair(ctx);
    c.shutdown(tcp::socket::shutdown_send);
    server.async_wait(tcp::socket::wait_error,
        [&](boost::system::error_code ec) { ++w.calls; w.ec = ec; });
    ctx.run_for(100ms);
    BOOST_TEST(w.calls == 0);
  }
  BOOST_TEST(w.calls == 0);
}

BOOST_AUTO_TEST_CASE(nonblocking_descriptor_write_waits_for_room_without_spinning)
{
  // A stream descriptor on a non-blocking AF_UNIX socket whose peer shut
  // down its sending side: the write gets -EAGAIN, polls for POLLOUT, and
  // the poll reports POLLRDHUP at once. Re-trying on that spun.
  int sv[2];
  BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  BOOST_REQUIRE(::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK) == 0);
  BOOST_REQUIRE(::shutdown(sv[1], SHUT_WR) == 0);
  std::vector<char> block(4096, 'x');
  std::size_t queued = 0;
  for (std::size_t size : {block.size(), std::size_t(1)})
    for (ssize_t k; (k = ::write(sv[0], block.data(), size)) > 0;)
      queued += static_cast<std::size_t>(k);
  BOOST_TEST_REQUIRE(errno == EAGAIN);

  asio_uring::io_context ctx;
  asio_uring::posix::stream_descriptor d(ctx, sv[0]);
  handler_calls w;
  d.async_write_some(boost::asio::buffer("y", 1),
      [&](boost::system::error_code ec, std::size_t n) { ++w.calls; w.ec = ec; w.n = n; });
  ctx.run_for(200ms);
  BOOST_TEST(w.calls == 0);
  // Spinning would have entered the kernel thousands of times by now.
  BOOST_TEST(ctx.enter_count() < 50u);
  while (queued > 0)
  {
    ssize_t k = ::read(sv[1], block.data(), block.size());
    BOOST_TEST_REQUIRE(k > 0);
    queued -= static_cast<std::size_t>(k);
  }
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(w.calls == 1);
  BOOST_TEST(!w.ec);
  BOOST_TEST(w.n == 1u);
  ::close(sv[1]);
}

BOOST_AUTO_TEST_CASE(wait_read_still_completes_on_end_of_stream)
{
  // POLLIN comes with POLLRDHUP at end of stream: that counts, as in Asio.
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  handler_calls w;
  server.async_wait(tcp::socket::wait_read,
      [&](boost::system::error_code ec) { ++w.calls; w.ec = ec; });
  client.shutdown(tcp::socket::shutdown_send);
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(w.calls == 1);
  BOOST_TEST(!w.ec);
}

BOOST_AUTO_TEST_SUITE_END()
