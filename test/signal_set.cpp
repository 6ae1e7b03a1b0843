// Boost.Asio objects that asio_uring does not replace keep working on an
// asio_uring executor: a boost::asio::signal_set stops an asio_uring TCP
// server (Boost.Asio gives the foreign context its own scheduler thread).
#include <asio_uring.hpp>

#include "tcp_test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <unistd.h>

using asio_uring::ip::tcp;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(signal_set_suite)

BOOST_AUTO_TEST_CASE(signal_set_stops_ring_server)
{
  asio_uring::io_context ctx;
  // asio_uring::signal_set is Boost.Asio's own type, reached via the facade.
  static_assert(std::is_same_v<asio_uring::signal_set, boost::asio::signal_set>);
  asio_uring::signal_set signals(ctx, SIGUSR1);
  auto acceptor = asio_uring_test::make_listener(ctx);
  const auto ep = acceptor.local_endpoint();

  int served = 0;
  std::vector<std::shared_ptr<tcp::socket>> sessions;
  std::function<void()> accept_loop = [&] {
    acceptor.async_accept([&](boost::system::error_code ec, tcp::socket s) {
      if (ec)
        return;  // the acceptor was closed: the server stops
      ++served;
      auto sp = std::make_shared<tcp::socket>(std::move(s));
      sessions.push_back(sp);
      accept_loop();
    });
  };
  accept_loop();

  int got_signal = 0;
  bool on_ctx_thread = false;
  signals.async_wait([&](boost::system::error_code ec, int signo) {
    BOOST_TEST(!ec);
    got_signal = signo;
    on_ctx_thread = ctx.get_executor().running_in_this_thread();
    acceptor.close();
    for (auto& s : sessions)
      s->close();
  });

  // A client connects, then the "operator" sends the signal.
  std::thread client([&] {
    asio_uring::io_context cctx;
    tcp::socket c(cctx);
    c.connect(ep);
    std::this_thread::sleep_for(50ms);
    ::kill(::getpid(), SIGUSR1);
  });
  const auto n = ctx.run_for(20s);
  client.join();
  BOOST_TEST(n > 0u);
  BOOST_TEST(got_signal == SIGUSR1);
  BOOST_TEST(on_ctx_thread);
  BOOST_TEST(served == 1);
  BOOST_TEST(!acceptor.is_open());
  // run() returned because the server ran out of work, not the deadline.
  BOOST_TEST(ctx.stopped());
}

BOOST_AUTO_TEST_CASE(signal_set_cancel_completes_with_operation_aborted)
{
  asio_uring::io_context ctx;
  boost::asio::signal_set signals(ctx.get_executor(), SIGUSR2);
  boost::system::error_code result;
  signals.async_wait([&](boost::system::error_code ec, int) { result = ec; });
  boost::asio::post(ctx, [&] { signals.cancel(); });
  ctx.run_for(10s);
  BOOST_TEST((result == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(steady_timer_from_boost_and_ring_socket_interleave)
{
  // A Boost.Asio timer (its own scheduler thread) and a ring read on the
  // same asio_uring executor.
  asio_uring::io_context ctx;
  auto [server, client] = asio_uring_test::connected_pair(ctx);
  boost::asio::steady_timer timer(ctx.get_executor(), 20ms);
  bool timer_fired = false;
  std::size_t read = 0;
  char buf[4];
  timer.async_wait([&](boost::system::error_code ec) {
    BOOST_TEST(!ec);
    timer_fired = true;
    client.send(boost::asio::buffer("t", 1));
  });
  server.async_read_some(boost::asio::buffer(buf),
      [&](boost::system::error_code ec, std::size_t n) {
        BOOST_TEST(!ec);
        BOOST_TEST(timer_fired);
        read = n;
      });
  ctx.run_for(10s);
  BOOST_TEST(read == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
