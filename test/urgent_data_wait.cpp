// Waiting for TCP urgent data (POLLPRI): async_wait(wait_error) and a
// null_buffers receive with message_out_of_band, armed in the kernel before
// the urgent byte arrives. The kernel's io_uring poll ignores POLLPRI in a
// wake-up's key, so a poll for POLLPRI alone was never woken (the wait hung)
// although poll(2) and epoll see the byte; see detail/readiness_poll.hpp.
#include <asio_uring.hpp>

#include "tcp_test_util.hpp"
#include "test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using namespace asio_uring_test;
using tcp = asio_uring::ip::tcp;

namespace {

void wait_available(tcp::socket& s, std::size_t n)
{
  for (int i = 0; i < 5000 && s.available() < n; ++i)
    std::this_thread::sleep_for(1ms);
  BOOST_REQUIRE(s.available() >= n);
}

void send_urgent(tcp::socket& s)
{
  s.send(boost::asio::buffer("!", 1),
      boost::asio::socket_base::message_out_of_band);
}

} // namespace

BOOST_AUTO_TEST_SUITE(urgent_data_wait)

BOOST_AUTO_TEST_CASE(wait_error_armed_before_the_urgent_byte_completes)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  handler_calls w;
  server.async_wait(tcp::socket::wait_error,
      [&](boost::system::error_code ec) { ++w.calls; w.ec = ec; });
  ctx.run_for(100ms);  // the poll is in the kernel
  BOOST_TEST(w.calls == 0);
  send_urgent(client);
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(w.calls == 1);
  BOOST_TEST(!w.ec);
  char c = 0;
  BOOST_TEST(server.receive(boost::asio::buffer(&c, 1),
      boost::asio::socket_base::message_out_of_band) == 1u);
  BOOST_TEST(c == '!');
}

BOOST_AUTO_TEST_CASE(ordinary_data_neither_completes_nor_hides_urgent_data)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  client.send(boost::asio::buffer("before", 6));
  wait_available(server, 6);
  handler_calls w;
  server.async_wait(tcp::socket::wait_error,
      [&](boost::system::error_code ec) { ++w.calls; w.ec = ec; });
  ctx.run_for(100ms);
  BOOST_TEST(w.calls == 0);  // readable is not urgent
  client.send(boost::asio::buffer("after", 5));
  wait_available(server, 11);
  ctx.restart();
  ctx.run_for(100ms);
  BOOST_TEST(w.calls == 0);
  send_urgent(client);
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(w.calls == 1);
  BOOST_TEST(!w.ec);
  // The ordinary bytes are all there, the urgent byte out of band.
  char buf[16] = {};
  BOOST_TEST(server.read_some(boost::asio::buffer(buf)) == 11u);
  BOOST_TEST(std::string(buf, 11) == "beforeafter");
  BOOST_TEST(server.at_mark());
}

BOOST_AUTO_TEST_CASE(null_buffers_out_of_band_receive_armed_before_urgent_byte)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  client.send(boost::asio::buffer("ordinary", 8));
  wait_available(server, 8);
  handler_calls r;
  server.async_receive(boost::asio::null_buffers(),
      boost::asio::socket_base::message_out_of_band,
      [&](boost::system::error_code ec, std::size_t n) { ++r.calls; r.ec = ec; r.n = n; });
  ctx.run_for(100ms);
  BOOST_TEST(r.calls == 0);
  send_urgent(client);
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(r.calls == 1);
  BOOST_TEST(!r.ec);
  BOOST_TEST(r.n == 0u);
}

BOOST_AUTO_TEST_CASE(urgent_wait_still_cancels)
{
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  client.send(boost::asio::buffer("x", 1));
  wait_available(server, 1);
  handler_calls w;
  server.async_wait(tcp::socket::wait_error,
      [&](boost::system::error_code ec) { ++w.calls; w.ec = ec; });
  ctx.run_for(100ms);
  BOOST_TEST(w.calls == 0);
  server.cancel();
  BOOST_TEST(runs_dry(ctx));
  BOOST_TEST(w.calls == 1);
  BOOST_TEST((w.ec == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_SUITE_END()
