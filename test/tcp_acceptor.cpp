// ip::tcp::acceptor on the ring: every accept overload of Boost.Asio 1.81
// (into a socket, with endpoint, move-accept on this, another executor or
// another context), waits, cancellation, options and bad input.
#include <asio_uring/basic_socket_acceptor.hpp>  // first: self-contained

#include <asio_uring.hpp>

#include "tcp_test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <type_traits>
#include <vector>

using asio_uring::ip::tcp;
using asio_uring_test::make_listener;
using namespace std::chrono_literals;

namespace {

// Connects a blocking client to acceptor (completes once accepted or in
// the backlog) and returns it.
tcp::socket connect_client(asio_uring::io_context& ctx, tcp::acceptor& a)
{
  tcp::socket c(ctx);
  c.connect(a.local_endpoint());
  return c;
}

template <typename Socket>
void check_pair(Socket& server, tcp::socket& client)
{
  BOOST_TEST(server.is_open());
  BOOST_TEST(server.remote_endpoint() == client.local_endpoint());
  client.send(boost::asio::buffer("x", 1));
  char c;
  BOOST_TEST(server.receive(boost::asio::buffer(&c, 1)) == 1u);
}

} // namespace

BOOST_AUTO_TEST_SUITE(tcp_acceptor)

BOOST_AUTO_TEST_CASE(endpoint_constructor_binds_and_listens)
{
  asio_uring::io_context ctx;
  tcp::acceptor a(ctx, tcp::endpoint(tcp::v4(), 0));
  BOOST_TEST(a.is_open());
  BOOST_TEST(a.local_endpoint().port() != 0);
  tcp::acceptor::reuse_address ra;
  a.get_option(ra);
  BOOST_TEST(ra.value());
  tcp::acceptor b(ctx.get_executor(), tcp::endpoint(tcp::v4(), 0), false);
  b.get_option(ra);
  BOOST_TEST(!ra.value());
}

BOOST_AUTO_TEST_CASE(open_bind_listen_step_by_step)
{
  asio_uring::io_context ctx;
  tcp::acceptor a(ctx);
  BOOST_TEST(!a.is_open());
  boost::system::error_code ec;
  a.listen(5, ec);
  BOOST_TEST((ec == boost::asio::error::bad_descriptor));
  a.open(tcp::v4());
  a.set_option(tcp::acceptor::reuse_address(true));
  a.bind(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  a.listen();
  tcp::socket c = connect_client(ctx, a);
  tcp::socket s = a.accept();
  check_pair(s, c);
}

BOOST_AUTO_TEST_CASE(sync_accept_overloads_all_work)
{
  asio_uring::io_context ctx;
  asio_uring::io_context other;
  auto a = make_listener(ctx);
  boost::system::error_code ec;

  {  // accept(peer) and accept(peer, ec)
    tcp::socket c = connect_client(ctx, a);
    tcp::socket s(ctx);
    a.accept(s);
    check_pair(s, c);
    tcp::socket c2 = connect_client(ctx, a);
    tcp::socket s2(ctx);
    a.accept(s2, ec);
    BOOST_TEST(!ec);
    check_pair(s2, c2);
  }
  {  // accept(peer, endpoint) (+ec)
    tcp::socket c = connect_client(ctx, a);
    tcp::socket s(ctx);
    tcp::endpoint ep;
    a.accept(s, ep);
    BOOST_TEST(ep == c.local_endpoint());
    tcp::socket c2 = connect_client(ctx, a);
    tcp::socket s2(ctx);
    a.accept(s2, ep, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(ep == c2.local_endpoint());
  }
  {  // accept() (+ec)
    tcp::socket c = connect_client(ctx, a);
    tcp::socket s = a.accept();
    check_pair(s, c);
    tcp::socket c2 = connect_client(ctx, a);
    tcp::socket s2 = a.accept(ec);
    BOOST_TEST(!ec);
    check_pair(s2, c2);
  }
  {  // accept(ex), accept(ctx) (+ec)
    tcp::socket c = connect_client(ctx, a);
    auto s = a.accept(other.get_executor());
    static_assert(std::is_same_v<decltype(s), asio_uring::basic_stream_socket<
        boost::asio::ip::tcp, asio_uring::io_context::executor_type>>);
    check_pair(s, c);
    BOOST_TEST((s.get_executor() == other.get_executor()));
    tcp::socket c2 = connect_client(ctx, a);
    auto s2 = a.accept(other);
    check_pair(s2, c2);
    tcp::socket c3 = connect_client(ctx, a);
    auto s3 = a.accept(other.get_executor(), ec);
    BOOST_TEST(!ec);
    check_pair(s3, c3);
    tcp::socket c4 = connect_client(ctx, a);
    auto s4 = a.accept(other, ec);
    BOOST_TEST(!ec);
    check_pair(s4, c4);
  }
  {  // accept(endpoint), accept(ex, endpoint), accept(ctx, endpoint) (+ec)
    tcp::endpoint ep;
    tcp::socket c = connect_client(ctx, a);
    tcp::socket s = a.accept(ep);
    BOOST_TEST(ep == c.local_endpoint());
    tcp::socket c2 = connect_client(ctx, a);
    tcp::socket s2 = a.accept(ep, ec);
    BOOST_TEST(ep == c2.local_endpoint());
    tcp::socket c3 = connect_client(ctx, a);
    auto s3 = a.accept(other.get_executor(), ep);
    BOOST_TEST(ep == c3.local_endpoint());
    tcp::socket c4 = connect_client(ctx, a);
    auto s4 = a.accept(other, ep);
    BOOST_TEST(ep == c4.local_endpoint());
    tcp::socket c5 = connect_client(ctx, a);
    auto s5 = a.accept(other.get_executor(), ep, ec);
    BOOST_TEST(ep == c5.local_endpoint());
    tcp::socket c6 = connect_client(ctx, a);
    auto s6 = a.accept(other, ep, ec);
    BOOST_TEST(!ec);
    BOOST_TEST(ep == c6.local_endpoint());
  }
}

BOOST_AUTO_TEST_CASE(async_accept_overloads_all_work)
{
  asio_uring::io_context ctx;
  asio_uring::io_context other;
  auto a = make_listener(ctx);
  std::vector<tcp::socket> clients;
  for (int i = 0; i < 8; ++i)
    clients.push_back(connect_client(ctx, a));

  int done = 0;
  tcp::socket peer1(ctx), peer2(other);
  tcp::endpoint ep2, ep6, ep7, ep8;
  std::optional<tcp::socket> s3;
  using other_socket = asio_uring::basic_stream_socket<boost::asio::ip::tcp,
      asio_uring::io_context::executor_type>;
  std::optional<other_socket> s4, s5, s7, s8;
  std::optional<tcp::socket> s6;
  auto count = [&](boost::system::error_code ec) {
    BOOST_TEST(!ec);
    ++done;
  };
  a.async_accept(peer1, count);
  a.async_accept(peer2, ep2, count);
  a.async_accept([&](boost::system::error_code ec, tcp::socket s) {
    count(ec);
    s3.emplace(std::move(s));
  });
  a.async_accept(other.get_executor(),
      [&](boost::system::error_code ec, other_socket s) {
        count(ec);
        s4.emplace(std::move(s));
      });
  a.async_accept(other, [&](boost::system::error_code ec, other_socket s) {
    count(ec);
    s5.emplace(std::move(s));
  });
  a.async_accept(ep6, [&](boost::system::error_code ec, tcp::socket s) {
    count(ec);
    s6.emplace(std::move(s));
  });
  a.async_accept(other.get_executor(), ep7,
      [&](boost::system::error_code ec, other_socket s) {
        count(ec);
        s7.emplace(std::move(s));
      });
  a.async_accept(other, ep8, [&](boost::system::error_code ec, other_socket s) {
    count(ec);
    s8.emplace(std::move(s));
  });
  ctx.run_for(10s);
  BOOST_TEST(done == 8);
  BOOST_TEST(peer1.is_open());
  BOOST_TEST(peer2.is_open());
  BOOST_TEST((s4 && s4->get_executor() == other.get_executor()));
  BOOST_TEST((s8 && s8->get_executor() == other.get_executor()));
  // Every accepted socket's peer is one of the clients, each exactly once.
  std::vector<tcp::endpoint> remotes{peer1.remote_endpoint(),
      peer2.remote_endpoint(), s3->remote_endpoint(), s4->remote_endpoint(),
      s5->remote_endpoint(), s6->remote_endpoint(), s7->remote_endpoint(),
      s8->remote_endpoint()};
  for (auto& c : clients)
    BOOST_TEST(std::count(remotes.begin(), remotes.end(), c.local_endpoint()) == 1);
  BOOST_TEST(ep2 == peer2.remote_endpoint());
  BOOST_TEST(ep6 == s6->remote_endpoint());
  BOOST_TEST(ep7 == s7->remote_endpoint());
  BOOST_TEST(ep8 == s8->remote_endpoint());
  // A socket accepted onto the other context does its I/O there.
  char c = 0;
  std::size_t got = 0;
  s4->async_read_some(boost::asio::buffer(&c, 1),
      [&](boost::system::error_code, std::size_t n) { got = n; });
  for (auto& cl : clients)
    if (cl.local_endpoint() == s4->remote_endpoint())
      cl.send(boost::asio::buffer("o", 1));
  other.run_for(5s);
  BOOST_TEST(got == 1u);
  BOOST_TEST(c == 'o');
}

BOOST_AUTO_TEST_CASE(async_accept_into_open_peer_reports_already_open)
{
  asio_uring::io_context ctx;
  auto a = make_listener(ctx);
  tcp::socket peer(ctx, tcp::v4());
  boost::system::error_code result = boost::asio::error::fault;
  bool inside = true;
  a.async_accept(peer, [&](boost::system::error_code ec) {
    BOOST_TEST(!inside);
    result = ec;
  });
  inside = false;
  ctx.run_for(5s);
  BOOST_TEST((result == boost::asio::error::already_open));
  boost::system::error_code ec;
  a.accept(peer, ec);
  BOOST_TEST((ec == boost::asio::error::already_open));
}

BOOST_AUTO_TEST_CASE(accept_on_closed_acceptor_reports_bad_descriptor)
{
  asio_uring::io_context ctx;
  tcp::acceptor a(ctx);
  boost::system::error_code r1, r2;
  a.async_accept([&](boost::system::error_code ec, tcp::socket s) {
    BOOST_TEST(!s.is_open());
    r1 = ec;
  });
  tcp::socket peer(ctx);
  a.async_accept(peer, [&](boost::system::error_code ec) { r2 = ec; });
  ctx.run_for(5s);
  BOOST_TEST((r1 == boost::asio::error::bad_descriptor));
  BOOST_TEST((r2 == boost::asio::error::bad_descriptor));
  boost::system::error_code ec;
  tcp::socket s = a.accept(ec);
  BOOST_TEST((ec == boost::asio::error::bad_descriptor));
  BOOST_CHECK_THROW(a.accept(), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(cancel_and_close_abort_pending_accepts)
{
  asio_uring::io_context ctx;
  auto a = make_listener(ctx);
  boost::system::error_code r1, r2;
  a.async_accept([&](boost::system::error_code ec, tcp::socket) { r1 = ec; });
  boost::asio::post(ctx, [&] { a.cancel(); });
  ctx.run_for(5s);
  BOOST_TEST((r1 == boost::asio::error::operation_aborted));
  // Still listening after a cancel.
  tcp::socket c = connect_client(ctx, a);
  tcp::socket s = a.accept();
  BOOST_TEST(s.is_open());
  tcp::socket peer(ctx);
  a.async_accept(peer, [&](boost::system::error_code ec) { r2 = ec; });
  ctx.restart();
  boost::asio::post(ctx, [&] { a.close(); });
  ctx.run_for(5s);
  BOOST_TEST((r2 == boost::asio::error::operation_aborted));
  BOOST_TEST(!peer.is_open());
}

BOOST_AUTO_TEST_CASE(cancellation_slot_aborts_accept)
{
  asio_uring::io_context ctx;
  auto a = make_listener(ctx);
  boost::asio::cancellation_signal sig;
  boost::system::error_code r;
  a.async_accept(boost::asio::bind_cancellation_slot(sig.slot(),
      [&](boost::system::error_code ec, tcp::socket) { r = ec; }));
  boost::asio::post(ctx, [&] { sig.emit(boost::asio::cancellation_type::terminal); });
  ctx.run_for(5s);
  BOOST_TEST((r == boost::asio::error::operation_aborted));
}

BOOST_AUTO_TEST_CASE(bind_to_used_address_reports_address_in_use)
{
  asio_uring::io_context ctx;
  auto a = make_listener(ctx);
  tcp::acceptor b(ctx, tcp::v4());
  boost::system::error_code ec;
  b.bind(a.local_endpoint(), ec);
  BOOST_TEST((ec == boost::asio::error::address_in_use));
  BOOST_CHECK_THROW(tcp::acceptor(ctx, a.local_endpoint(), false),
      boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(non_blocking_accept_reports_would_block)
{
  asio_uring::io_context ctx;
  auto a = make_listener(ctx);
  a.non_blocking(true);
  BOOST_TEST(a.non_blocking());
  boost::system::error_code ec;
  tcp::socket s = a.accept(ec);
  BOOST_TEST((ec == boost::asio::error::would_block));
  BOOST_TEST(!s.is_open());
  // The async accept keeps working on the O_NONBLOCK descriptor.
  boost::system::error_code r = boost::asio::error::fault;
  a.async_accept([&](boost::system::error_code e, tcp::socket) { r = e; });
  tcp::socket c(ctx);
  c.async_connect(a.local_endpoint(), [](boost::system::error_code) {});
  ctx.run_for(5s);
  BOOST_TEST(!r);
}

BOOST_AUTO_TEST_CASE(async_wait_read_signals_pending_connection)
{
  asio_uring::io_context ctx;
  auto a = make_listener(ctx);
  boost::system::error_code r = boost::asio::error::fault;
  a.async_wait(tcp::acceptor::wait_read,
      [&](boost::system::error_code ec) { r = ec; });
  BOOST_TEST(ctx.poll() == 0u);
  tcp::socket c = connect_client(ctx, a);
  ctx.run_for(5s);
  BOOST_TEST(!r);
  a.wait(tcp::acceptor::wait_read);
  tcp::socket s = a.accept();
  BOOST_TEST(s.is_open());
}

BOOST_AUTO_TEST_CASE(move_and_release_follow_asio)
{
  asio_uring::io_context ctx;
  auto a = make_listener(ctx);
  const auto ep = a.local_endpoint();
  tcp::acceptor b(std::move(a));
  BOOST_TEST(!a.is_open());
  BOOST_TEST(b.local_endpoint() == ep);
  using typed = asio_uring::basic_socket_acceptor<boost::asio::ip::tcp,
      asio_uring::io_context::executor_type>;
  typed t(ctx.get_executor(), tcp::v4());
  tcp::acceptor erased(std::move(t));
  BOOST_TEST(erased.is_open());
  int fd = b.release();
  BOOST_TEST(!b.is_open());
  tcp::acceptor c(ctx, tcp::v4(), fd);
  BOOST_TEST(c.local_endpoint() == ep);
  tcp::socket cl = connect_client(ctx, c);
  tcp::socket s = c.accept();
  BOOST_TEST(s.is_open());
}

BOOST_AUTO_TEST_CASE(enable_connection_aborted_option_is_kept)
{
  asio_uring::io_context ctx;
  auto a = make_listener(ctx);
  tcp::acceptor::enable_connection_aborted opt;
  a.get_option(opt);
  BOOST_TEST(!opt.value());
  a.set_option(tcp::acceptor::enable_connection_aborted(true));
  a.get_option(opt);
  BOOST_TEST(opt.value());
  BOOST_TEST(!a.native_non_blocking());
  a.native_non_blocking(true);
  BOOST_TEST(a.native_non_blocking());
}

BOOST_AUTO_TEST_CASE(many_queued_async_accepts_each_get_one_connection)
{
  asio_uring::io_context ctx;
  auto a = make_listener(ctx);
  constexpr int n = 64;
  int ok = 0;
  std::vector<tcp::socket> accepted;
  for (int i = 0; i < n; ++i)
    a.async_accept([&](boost::system::error_code ec, tcp::socket s) {
      if (!ec)
        ++ok;
      accepted.push_back(std::move(s));
    });
  std::vector<tcp::socket> clients;
  for (int i = 0; i < n; ++i)
  {
    clients.emplace_back(ctx);
    clients.back().async_connect(a.local_endpoint(),
        [](boost::system::error_code ec) { BOOST_TEST(!ec); });
  }
  ctx.run_for(10s);
  BOOST_TEST(ok == n);
  BOOST_TEST(accepted.size() == std::size_t(n));
}

BOOST_AUTO_TEST_SUITE_END()
