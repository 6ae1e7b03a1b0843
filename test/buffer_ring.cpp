// Provided-buffer rings (asio_uring::buffer_ring) and
// basic_stream_socket::async_receive_provided: registration and group ids,
// every byte over many messages with buffers recycled, ENOBUFS when all
// buffers are held, handles and the ring destroyed in any order, the ring
// destroyed with a receive pending, cancellation, close, destruction, bad
// input, and no allocation per receive in steady state.
#include <asio_uring/buffer_ring.hpp>  // first: self-contained

#include <asio_uring.hpp>

#include "counting_new.hpp"
#include "tcp_test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

using asio_uring::ip::tcp;
using asio_uring_test::connected_pair;
using error_code = boost::system::error_code;

namespace {

bool supported()
{
  asio_uring::io_context ctx;
  error_code ec;
  asio_uring::buffer_ring ring(ctx, 1, 16, ec);
  return ec != asio_uring::error::operation_not_supported;
}

#define REQUIRE_BUFFER_RINGS()                                              \
  if (!supported())                                                         \
  {                                                                         \
    BOOST_TEST_MESSAGE("skipped: no provided-buffer rings (kernel < 5.19)"); \
    return;                                                                 \
  }

std::string pattern(std::size_t n, std::size_t seed)
{
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('!' + (seed * 131 + i * 7) % 90);
  return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(buffer_ring)

BOOST_AUTO_TEST_CASE(bad_sizes_are_invalid_argument)
{
  REQUIRE_BUFFER_RINGS();
  asio_uring::io_context ctx;
  for (auto [count, size] : {std::pair<std::size_t, std::size_t>{0, 16},
           {4, 0}, {40000, 16}})
  {
    error_code ec;
    asio_uring::buffer_ring ring(ctx, count, size, ec);
    BOOST_TEST(ec == asio_uring::error::invalid_argument);
    BOOST_TEST(!ring);
    BOOST_CHECK_THROW(asio_uring::buffer_ring(ctx, count, size),
        boost::system::system_error);
  }
}

BOOST_AUTO_TEST_CASE(group_ids_are_per_context_and_reused)
{
  REQUIRE_BUFFER_RINGS();
  asio_uring::io_context ctx, other;
  std::optional<asio_uring::buffer_ring> a(std::in_place, ctx, 4, 64);
  asio_uring::buffer_ring b(ctx.get_executor(), 3, 100);  // 3: not a power of 2
  asio_uring::buffer_ring c(other, 4, 64);
  BOOST_TEST(a->group_id() != b.group_id());
  BOOST_TEST(c.group_id() == a->group_id());  // another context's numbering
  BOOST_TEST(b.buffer_count() == 3u);
  BOOST_TEST(b.buffer_size() == 100u);
  const auto id = a->group_id();
  a.reset();
  asio_uring::buffer_ring d(ctx, 8, 8);
  BOOST_TEST(d.group_id() == id);

  asio_uring::buffer_ring moved(std::move(d));
  BOOST_TEST(!d);
  BOOST_TEST(moved.group_id() == id);
}

BOOST_AUTO_TEST_CASE(many_messages_every_byte_with_buffers_recycled)
{
  REQUIRE_BUFFER_RINGS();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  asio_uring::buffer_ring ring(ctx, 4, 61);  // odd size: messages straddle

  std::string sent;
  for (std::size_t i = 0; i < 500; ++i)
    sent += pattern(1 + i % 300, i);
  std::string received;
  std::size_t receives = 0;
  error_code last;
  std::function<void()> next = [&] {
    server.async_receive_provided(ring,
        [&](error_code ec, asio_uring::provided_buffer b) {
          ++receives;
          if (ec)
          {
            last = ec;
            BOOST_TEST(!b);
            return;
          }
          BOOST_REQUIRE(b);
          BOOST_TEST(b.size() <= ring.buffer_size());
          BOOST_TEST(b.id() < ring.buffer_count());
          received.append(reinterpret_cast<const char*>(b.data()), b.size());
          next();  // b goes back to the ring after this handler
        });
  };
  next();
  asio_uring::async_write(client, asio_uring::buffer(sent),
      [&](error_code ec, std::size_t n) {
        BOOST_TEST(!ec);
        BOOST_TEST(n == sent.size());
        client.shutdown(tcp::socket::shutdown_send);
      });
  ctx.run();
  BOOST_TEST(last == asio_uring::error::eof);
  BOOST_TEST(received.size() == sent.size());
  BOOST_TEST((received == sent));
  BOOST_TEST(receives > sent.size() / 61);
}

BOOST_AUTO_TEST_CASE(empty_ring_is_no_buffer_space_and_loses_nothing)
{
  REQUIRE_BUFFER_RINGS();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  asio_uring::buffer_ring ring(ctx, 2, 4);
  const std::string sent = pattern(40, 3);
  asio_uring::write(client, asio_uring::buffer(sent));

  std::vector<asio_uring::provided_buffer> held;
  std::vector<error_code> errors;
  auto receive = [&] {
    server.async_receive_provided(ring,
        [&](error_code ec, asio_uring::provided_buffer b) {
          errors.push_back(ec);
          if (!ec)
            held.push_back(std::move(b));
        });
    ctx.restart();
    ctx.run();
  };
  receive();
  receive();
  receive();  // both buffers held
  BOOST_REQUIRE(errors.size() == 3u);
  BOOST_TEST(!errors[0]);
  BOOST_TEST(!errors[1]);
  BOOST_TEST(errors[2] == asio_uring::error::no_buffer_space);
  BOOST_REQUIRE(held.size() == 2u);

  std::string received;
  for (auto& b : held)
    received.append(reinterpret_cast<const char*>(b.data()), b.size());
  held[0].release();
  BOOST_TEST(!held[0]);
  held.erase(held.begin());
  while (received.size() < sent.size())
  {
    errors.clear();
    receive();
    BOOST_REQUIRE(errors.size() == 1u);
    BOOST_REQUIRE(!errors[0]);
    received.append(reinterpret_cast<const char*>(held.back().data()),
        held.back().size());
    held.erase(held.begin());  // keep one held: the ring stays nearly empty
  }
  BOOST_TEST((received == sent));
}

BOOST_AUTO_TEST_CASE(ring_destroyed_with_receive_pending_is_safe)
{
  REQUIRE_BUFFER_RINGS();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  std::optional<asio_uring::buffer_ring> ring(std::in_place, ctx, 2, 32);
  asio_uring::provided_buffer got;
  error_code result;
  server.async_receive_provided(*ring,
      [&](error_code ec, asio_uring::provided_buffer b) {
        result = ec;
        got = std::move(b);
      });
  ctx.poll();
  ring.reset();  // the pending receive keeps the memory and the group
  const std::string sent = pattern(20, 9);
  asio_uring::write(client, asio_uring::buffer(sent));
  ctx.run();
  BOOST_TEST(!result);
  BOOST_REQUIRE(got);
  BOOST_TEST(std::string(reinterpret_cast<const char*>(got.data()),
                 got.size()) == sent);
  asio_uring::provided_buffer moved(std::move(got));
  BOOST_TEST(!got);
  BOOST_TEST(moved.size() == sent.size());
  moved = asio_uring::provided_buffer();  // last reference: unregisters
  BOOST_TEST(!moved);
  BOOST_TEST(moved.data() == nullptr);

  // The group id is free again.
  asio_uring::buffer_ring again(ctx, 2, 32);
  BOOST_TEST(again.group_id() == 0u);
}

BOOST_AUTO_TEST_CASE(cancel_close_and_destruction_abort_pending_receives)
{
  REQUIRE_BUFFER_RINGS();
  for (int how = 0; how < 3; ++how)
  {
    asio_uring::io_context ctx;
    asio_uring::buffer_ring ring(ctx, 2, 32);
    auto pair = connected_pair(ctx);
    std::optional<tcp::socket> server(std::move(pair.first));
    std::optional<error_code> result;
    server->async_receive_provided(ring,
        [&](error_code ec, asio_uring::provided_buffer b) {
          result = ec;
          BOOST_TEST(!b);
        });
    ctx.poll();
    if (how == 0)
      server->cancel();
    else if (how == 1)
      server->close();
    else
      server.reset();
    ctx.run();
    BOOST_REQUIRE(result);
    BOOST_TEST(*result == asio_uring::error::operation_aborted);
  }
}

BOOST_AUTO_TEST_CASE(cancellation_slot_aborts_receive)
{
  REQUIRE_BUFFER_RINGS();
  asio_uring::io_context ctx;
  asio_uring::buffer_ring ring(ctx, 2, 32);
  auto [server, client] = connected_pair(ctx);
  asio_uring::cancellation_signal signal;
  std::optional<error_code> result;
  server.async_receive_provided(ring,
      boost::asio::bind_cancellation_slot(signal.slot(),
          [&](error_code ec, asio_uring::provided_buffer) { result = ec; }));
  ctx.poll();
  signal.emit(asio_uring::cancellation_type::terminal);
  ctx.run();
  BOOST_REQUIRE(result);
  BOOST_TEST(*result == asio_uring::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(context_destroyed_with_receive_in_flight)
{
  REQUIRE_BUFFER_RINGS();
  // The socket and the ring go first (as the rules require), the context
  // after, without running: the handler is destroyed unrun, nothing leaks.
  std::optional<asio_uring::io_context> ctx(std::in_place);
  {
    asio_uring::buffer_ring ring(*ctx, 2, 32);
    auto [server, client] = connected_pair(*ctx);
    asio_uring::write(client, asio_uring::buffer("abc", 3));
    server.async_receive_provided(ring,
        [](error_code, asio_uring::provided_buffer) {});
    server.async_receive_provided(ring,
        [](error_code, asio_uring::provided_buffer) {});
  }
  ctx.reset();
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported)
{
  REQUIRE_BUFFER_RINGS();
  asio_uring::io_context ctx, other;
  asio_uring::buffer_ring ring(ctx, 2, 32);
  asio_uring::buffer_ring foreign(other, 2, 32);
  asio_uring::buffer_ring empty(std::move(asio_uring::buffer_ring(ctx, 1, 1)));
  asio_uring::buffer_ring moved_from(ctx, 1, 1);
  asio_uring::buffer_ring sink(std::move(moved_from));
  tcp::socket closed(ctx);
  auto [server, client] = connected_pair(ctx);
  std::vector<error_code> results(3);
  closed.async_receive_provided(ring,
      [&](error_code ec, asio_uring::provided_buffer) { results[0] = ec; });
  server.async_receive_provided(foreign,
      [&](error_code ec, asio_uring::provided_buffer) { results[1] = ec; });
  server.async_receive_provided(moved_from,
      [&](error_code ec, asio_uring::provided_buffer) { results[2] = ec; });
  ctx.run();
  BOOST_TEST(results[0] == asio_uring::error::bad_descriptor);
  BOOST_TEST(results[1] == asio_uring::error::invalid_argument);
  BOOST_TEST(results[2] == asio_uring::error::invalid_argument);
}

BOOST_AUTO_TEST_CASE(no_allocation_per_receive_after_warm_up)
{
  REQUIRE_BUFFER_RINGS();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  asio_uring::buffer_ring ring(ctx, 4, 16);
  struct handler
  {
    std::size_t* bytes;
    void operator()(error_code ec, asio_uring::provided_buffer b)
    {
      BOOST_TEST(!ec);
      *bytes += b.size();
    }
  };
  auto round = [&](int n) {
    std::size_t bytes = 0;
    for (int i = 0; i < n; ++i)
    {
      client.send(asio_uring::buffer("0123456789", 10));
      server.async_receive_provided(ring, handler{&bytes});
      ctx.restart();
      ctx.run();
    }
    return bytes;
  };
  BOOST_TEST(round(16) == 160u);
  const long before = asio_uring_test::allocations.load();
  BOOST_TEST(round(200) == 2000u);
  BOOST_TEST(asio_uring_test::allocations.load() - before == 0);
}

BOOST_AUTO_TEST_SUITE_END()
