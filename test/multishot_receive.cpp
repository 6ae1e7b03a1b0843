// Multishot receive (basic_stream_socket::async_receive_multishot with a
// buffer_ring): one handler per call, arrivals queued while no call is
// pending and handed over without an SQE, every byte in order over many
// messages, ENOBUFS and re-arming, EOF, resets, cancellation, close and
// destruction with calls pending or buffers queued, moves, bad input, and
// no allocation per receive in steady state.
#include <asio_uring/basic_stream_socket.hpp>  // first: self-contained

#include <asio_uring.hpp>

#include "counting_new.hpp"
#include "tcp_test_util.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <vector>

using asio_uring::ip::tcp;
using asio_uring::provided_buffer;
using asio_uring_test::connected_pair;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

namespace {

bool supported()
{
  asio_uring::io_context ctx;
  error_code ec;
  asio_uring::buffer_ring ring(ctx, 1, 16, ec);
  if (ec)
    return false;
  auto [server, client] = connected_pair(ctx);
  std::optional<error_code> result;
  server.async_receive_multishot(ring,
      [&](error_code e, provided_buffer) { result = e; });
  server.cancel();
  ctx.run();
  return result && *result != asio_uring::error::operation_not_supported;
}

#define REQUIRE_MULTISHOT_RECEIVE()                                         \
  if (!supported())                                                         \
  {                                                                         \
    BOOST_TEST_MESSAGE("skipped: no multishot receive (kernel < 6.0)");     \
    return;                                                                 \
  }

std::string pattern(std::size_t n, std::size_t seed)
{
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('!' + (seed * 131 + i * 7) % 90);
  return s;
}

std::string text(const provided_buffer& b)
{
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Runs ctx until pred holds; each round waits on a short timer so that the
// loop reaps completions (no timing is asserted).
template <typename Pred>
void run_until(asio_uring::io_context& ctx, Pred pred)
{
  for (int i = 0; i < 5000 && !pred(); ++i)
  {
    asio_uring::steady_timer t(ctx, 1ms);
    t.async_wait([](error_code) {});
    ctx.restart();
    ctx.run();
  }
  BOOST_REQUIRE(pred());
}

} // namespace

BOOST_AUTO_TEST_SUITE(multishot_receive)

BOOST_AUTO_TEST_CASE(many_messages_every_byte_in_order)
{
  REQUIRE_MULTISHOT_RECEIVE();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  asio_uring::buffer_ring ring(ctx, 8, 61);

  std::string sent;
  for (std::size_t i = 0; i < 1000; ++i)
    sent += pattern(1 + i * 13 % 400, i);
  std::string received;
  error_code last;
  std::function<void()> next = [&] {
    server.async_receive_multishot(ring, [&](error_code ec, provided_buffer b) {
      if (ec)
      {
        last = ec;
        return;
      }
      BOOST_REQUIRE(b);
      BOOST_TEST(b.size() <= 61u);
      received += text(b);
      next();
    });
  };
  next();
  asio_uring::async_write(client, asio_uring::buffer(sent),
      [&](error_code ec, std::size_t) {
        BOOST_TEST(!ec);
        client.shutdown(tcp::socket::shutdown_send);
      });
  ctx.run();
  BOOST_TEST(last == asio_uring::error::eof);
  BOOST_TEST(received.size() == sent.size());
  BOOST_TEST((received == sent));

  // End of stream is reported again to later calls.
  std::optional<error_code> again;
  server.async_receive_multishot(ring,
      [&](error_code ec, provided_buffer) { again = ec; });
  ctx.restart();
  ctx.run();
  BOOST_REQUIRE(again);
  BOOST_TEST(*again == asio_uring::error::eof);
}

BOOST_AUTO_TEST_CASE(arrivals_queue_and_later_calls_need_no_sqe)
{
  REQUIRE_MULTISHOT_RECEIVE();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  asio_uring::buffer_ring ring(ctx, 16, 8);
  std::string received;
  auto collect = [&](error_code ec, provided_buffer b) {
    BOOST_TEST(!ec);
    received += text(b);
  };
  client.send(asio_uring::buffer("first", 5));
  server.async_receive_multishot(ring, collect);
  ctx.run();  // returns though the receive stays armed
  BOOST_TEST(received == "first");

  const std::string more = pattern(40, 1);  // 5 buffers' worth
  client.send(asio_uring::buffer(more));
  run_until(ctx, [&] {
    return server.multishot_queued() > 0
        && received.size() + 8 * server.multishot_queued() >= 45;
  });
  while (server.multishot_queued() > 0)
  {
    const std::size_t queued = server.multishot_queued();
    server.async_receive_multishot(ring, collect);
    // Claimed from the queue at initiation: no SQE, the handler is posted.
    BOOST_TEST(server.multishot_queued() == queued - 1);
    ctx.restart();
    ctx.run();
  }
  BOOST_TEST(received == "first" + more);
}

BOOST_AUTO_TEST_CASE(running_dry_rearms_and_loses_nothing)
{
  REQUIRE_MULTISHOT_RECEIVE();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  asio_uring::buffer_ring ring(ctx, 2, 4);
  const std::string sent = pattern(64, 5);
  asio_uring::write(client, asio_uring::buffer(sent));

  std::string received;
  std::vector<provided_buffer> held;
  std::vector<error_code> errors;
  auto call = [&] {
    server.async_receive_multishot(ring, [&](error_code ec, provided_buffer b) {
      errors.push_back(ec);
      if (!ec)
      {
        received += text(b);
        held.push_back(std::move(b));
      }
    });
    ctx.restart();
    ctx.run();
  };
  // Hold every buffer: the kernel runs dry (ENOBUFS ends the multishot,
  // consuming nothing; it is not reported).
  call();
  call();
  BOOST_REQUIRE(errors.size() == 2u);
  BOOST_TEST(!errors[0]);
  BOOST_TEST(!errors[1]);

  // A call made while the program holds every buffer waits: the request is
  // parked on the ring until a buffer comes back.
  server.async_receive_multishot(ring, [&](error_code ec, provided_buffer b) {
    errors.push_back(ec);
    if (!ec)
    {
      received += text(b);
      held.push_back(std::move(b));
    }
  });
  ctx.restart();
  ctx.run_for(20ms);  // nothing can complete it
  BOOST_TEST(errors.size() == 2u);
  held.clear();  // the buffers come back: the request re-arms
  ctx.restart();
  ctx.run();
  BOOST_REQUIRE(errors.size() == 3u);
  BOOST_TEST(!errors[2]);

  // Nothing was lost or reordered.
  while (received.size() < sent.size())
  {
    if (held.size() == 2)
      held.erase(held.begin());
    errors.clear();
    call();
    BOOST_REQUIRE(errors.size() == 1u);
    BOOST_REQUIRE(!errors[0]);
  }
  BOOST_TEST((received == sent));
}

BOOST_AUTO_TEST_CASE(close_while_waiting_for_buffers_aborts_and_frees)
{
  REQUIRE_MULTISHOT_RECEIVE();
  for (int how = 0; how < 3; ++how)
  {
    asio_uring::io_context ctx;
    auto pair = connected_pair(ctx);
    std::optional<tcp::socket> server(std::move(pair.first));
    std::optional<asio_uring::buffer_ring> ring(std::in_place, ctx, 1, 4);
    asio_uring::write(pair.second, asio_uring::buffer("abcdefgh", 8));
    provided_buffer held;
    server->async_receive_multishot(*ring,
        [&](error_code ec, provided_buffer b) {
          BOOST_TEST(!ec);
          held = std::move(b);
        });
    ctx.run();
    BOOST_REQUIRE(held);
    std::optional<error_code> waiting;
    server->async_receive_multishot(*ring,
        [&](error_code ec, provided_buffer) { waiting = ec; });
    ctx.restart();
    ctx.run_for(20ms);  // parks: the only buffer is held
    BOOST_TEST(!waiting);
    ring.reset();  // the parked request keeps the ring's memory
    if (how == 0)
      server->cancel();
    else if (how == 1)
      server->close();
    else
      server.reset();
    ctx.restart();
    ctx.run();
    BOOST_REQUIRE(waiting);
    BOOST_TEST(*waiting == asio_uring::error::operation_aborted);
    BOOST_TEST(text(held) == "abcd");
    held.release();  // last reference: the ring goes
  }
}

BOOST_AUTO_TEST_CASE(peer_reset_is_reported)
{
  REQUIRE_MULTISHOT_RECEIVE();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  asio_uring::buffer_ring ring(ctx, 4, 16);
  std::optional<error_code> result;
  server.async_receive_multishot(ring,
      [&](error_code ec, provided_buffer b) {
        result = ec;
        BOOST_TEST(!b);
      });
  ctx.poll();
  client.set_option(tcp::socket::linger(true, 0));
  client.close();
  ctx.run();
  BOOST_REQUIRE(result);
  BOOST_TEST(*result == asio_uring::error::connection_reset);
}

BOOST_AUTO_TEST_CASE(cancel_close_destroy_abort_calls_and_return_buffers)
{
  REQUIRE_MULTISHOT_RECEIVE();
  for (int how = 0; how < 4; ++how)
  {
    asio_uring::io_context ctx;
    asio_uring::buffer_ring ring(ctx, 2, 4);
    auto pair = connected_pair(ctx);
    std::optional<tcp::socket> server(std::move(pair.first));
    tcp::socket& client = pair.second;

    // A pending call is aborted.
    std::optional<error_code> pending;
    server->async_receive_multishot(ring,
        [&](error_code ec, provided_buffer) { pending = ec; });
    ctx.poll();
    if (how == 3)
    {
      // Queued buffers too: both buffers end up waiting in the socket.
      client.send(asio_uring::buffer("abcdefgh", 8));
      run_until(ctx, [&] { return pending && server->multishot_queued() == 1; });
      BOOST_TEST(!*pending);
      pending.reset();
      server->cancel();
    }
    else if (how == 0)
      server->cancel();
    else if (how == 1)
      server->close();
    else
      server.reset();
    ctx.restart();
    ctx.run();
    if (how != 3)
    {
      BOOST_REQUIRE(pending);
      BOOST_TEST(*pending == asio_uring::error::operation_aborted);
    }

    // Every buffer is back in the ring: two receives on a fresh pair both
    // get one.
    auto [s2, c2] = connected_pair(ctx);
    c2.send(asio_uring::buffer("12345678", 8));
    std::vector<provided_buffer> got;
    for (int i = 0; i < 2; ++i)
    {
      s2.async_receive_provided(ring, [&](error_code ec, provided_buffer b) {
        BOOST_TEST(!ec);
        got.push_back(std::move(b));
      });
      ctx.restart();
      ctx.run();
    }
    BOOST_REQUIRE(got.size() == 2u);
    BOOST_TEST(text(got[0]) + text(got[1]) == "12345678");
  }
}

BOOST_AUTO_TEST_CASE(cancellation_slot_aborts_one_call_only)
{
  REQUIRE_MULTISHOT_RECEIVE();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  asio_uring::buffer_ring ring(ctx, 4, 16);
  asio_uring::cancellation_signal signal;
  std::optional<error_code> first;
  server.async_receive_multishot(ring,
      boost::asio::bind_cancellation_slot(signal.slot(),
          [&](error_code ec, provided_buffer) { first = ec; }));
  ctx.poll();
  signal.emit(asio_uring::cancellation_type::total);
  ctx.run();
  BOOST_REQUIRE(first);
  BOOST_TEST(*first == asio_uring::error::operation_aborted);

  client.send(asio_uring::buffer("after", 5));
  std::string got;
  server.async_receive_multishot(ring, [&](error_code ec, provided_buffer b) {
    BOOST_TEST(!ec);
    got = text(b);
  });
  ctx.restart();
  ctx.run();
  BOOST_TEST(got == "after");
}

BOOST_AUTO_TEST_CASE(moving_the_socket_keeps_the_multishot_state)
{
  REQUIRE_MULTISHOT_RECEIVE();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  asio_uring::buffer_ring ring(ctx, 8, 4);
  std::string received;
  auto collect = [&](error_code ec, provided_buffer b) {
    BOOST_TEST(!ec);
    received += text(b);
  };
  client.send(asio_uring::buffer("abcd", 4));
  server.async_receive_multishot(ring, collect);
  ctx.run();
  client.send(asio_uring::buffer("efghijkl", 8));
  run_until(ctx, [&] { return server.multishot_queued() == 2; });
  tcp::socket moved(std::move(server));
  BOOST_TEST(server.multishot_queued() == 0u);
  BOOST_TEST(moved.multishot_queued() == 2u);
  moved.async_receive_multishot(ring, collect);
  moved.async_receive_multishot(ring, collect);
  ctx.restart();
  ctx.run();
  BOOST_TEST(received == "abcdefghijkl");
}

BOOST_AUTO_TEST_CASE(ring_destroyed_while_armed_is_safe)
{
  REQUIRE_MULTISHOT_RECEIVE();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  std::optional<asio_uring::buffer_ring> ring(std::in_place, ctx, 4, 16);
  provided_buffer got;
  server.async_receive_multishot(*ring, [&](error_code ec, provided_buffer b) {
    BOOST_TEST(!ec);
    got = std::move(b);
  });
  ctx.poll();
  ring.reset();
  client.send(asio_uring::buffer("still here", 10));
  ctx.run();
  BOOST_TEST(text(got) == "still here");
  got.release();
  server.close();
  ctx.restart();
  ctx.run();
}

BOOST_AUTO_TEST_CASE(context_destroyed_with_buffers_queued_and_calls_pending)
{
  REQUIRE_MULTISHOT_RECEIVE();
  std::optional<asio_uring::io_context> ctx(std::in_place);
  {
    asio_uring::buffer_ring ring(*ctx, 4, 4);
    auto [server, client] = connected_pair(*ctx);
    client.send(asio_uring::buffer("0123456789", 10));
    server.async_receive_multishot(ring, [](error_code, provided_buffer) {});
    run_until(*ctx, [&] { return server.multishot_queued() >= 1; });
    auto [s2, c2] = connected_pair(*ctx);
    s2.async_receive_multishot(ring, [](error_code, provided_buffer) {
      BOOST_FAIL("must not run");
    });
    ctx->poll();
  }
  ctx.reset();
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported)
{
  REQUIRE_MULTISHOT_RECEIVE();
  asio_uring::io_context ctx, other;
  asio_uring::buffer_ring ring(ctx, 2, 32), second(ctx, 2, 32);
  asio_uring::buffer_ring foreign(other, 2, 32);
  asio_uring::buffer_ring moved_from(ctx, 1, 1);
  asio_uring::buffer_ring sink(std::move(moved_from));
  tcp::socket closed(ctx);
  auto [server, client] = connected_pair(ctx);
  std::vector<error_code> results(5);
  auto into = [&](std::size_t i) {
    return [&, i](error_code ec, provided_buffer) { results[i] = ec; };
  };
  closed.async_receive_multishot(ring, into(0));
  server.async_receive_multishot(foreign, into(1));
  server.async_receive_multishot(moved_from, into(2));
  server.async_receive_multishot(ring, into(3));    // arms with ring
  server.async_receive_multishot(second, into(4));  // another ring
  ctx.poll();
  BOOST_TEST(results[0] == asio_uring::error::bad_descriptor);
  BOOST_TEST(results[1] == asio_uring::error::invalid_argument);
  BOOST_TEST(results[2] == asio_uring::error::invalid_argument);
  BOOST_TEST(results[4] == asio_uring::error::invalid_argument);
  server.close();
  ctx.run();
  BOOST_TEST(results[3] == asio_uring::error::operation_aborted);
}

BOOST_AUTO_TEST_CASE(several_threads_run_the_context_every_byte_checked)
{
  REQUIRE_MULTISHOT_RECEIVE();
  asio_uring::io_context ctx;
  asio_uring::buffer_ring ring(ctx, 64, 37);
  constexpr std::size_t connections = 4;
  struct conn
  {
    tcp::socket server, client;
    std::string sent, received;
    std::function<void()> next;
    error_code final_ec;  // checked after the join: handlers run on both
                          // threads, and Boost.Test's macros are not
                          // thread-safe
  };
  std::vector<std::unique_ptr<conn>> conns;
  for (std::size_t c = 0; c < connections; ++c)
  {
    auto [s, cl] = connected_pair(ctx);
    conns.push_back(std::make_unique<conn>(
        conn{std::move(s), std::move(cl), {}, {}, {}, {}}));
    for (std::size_t i = 0; i < 200; ++i)
      conns.back()->sent += pattern(1 + (i * 17 + c) % 150, i + c * 1000);
  }
  for (auto& cp : conns)
  {
    conn* x = cp.get();
    // Each chain is sequential: the next call starts in the handler.
    x->next = [x, &ring] {
      x->server.async_receive_multishot(ring,
          [x](error_code ec, provided_buffer b) {
            if (ec)
            {
              x->final_ec = ec;
              return;
            }
            x->received += text(b);
            x->next();
          });
    };
    x->next();
  }
  // Clients write with blocking calls from their own thread.
  std::thread writer([&] {
    for (auto& cp : conns)
    {
      asio_uring::write(cp->client, asio_uring::buffer(cp->sent));
      cp->client.shutdown(tcp::socket::shutdown_send);
    }
  });
  std::thread runner([&] { ctx.run(); });
  ctx.run();
  runner.join();
  writer.join();
  for (auto& cp : conns)
  {
    BOOST_TEST((cp->final_ec == asio_uring::error::eof),
        cp->final_ec.message());
    BOOST_TEST(cp->received.size() == cp->sent.size());
    BOOST_TEST((cp->received == cp->sent));
    cp->next = nullptr;
  }
}

BOOST_AUTO_TEST_CASE(no_allocation_per_receive_after_warm_up)
{
  REQUIRE_MULTISHOT_RECEIVE();
  asio_uring::io_context ctx;
  auto [server, client] = connected_pair(ctx);
  asio_uring::buffer_ring ring(ctx, 8, 16);
  struct handler
  {
    std::size_t* bytes;
    void operator()(error_code ec, provided_buffer b)
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
      server.async_receive_multishot(ring, handler{&bytes});
      ctx.restart();
      ctx.run();
    }
    return bytes;
  };
  BOOST_TEST(round(32) == 320u);
  const long before = asio_uring_test::allocations.load();
  BOOST_TEST(round(300) == 3000u);
  BOOST_TEST(asio_uring_test::allocations.load() - before == 0);
}

BOOST_AUTO_TEST_SUITE_END()
