// Helpers shared by the TCP test programs.
#pragma once

#include <asio_uring/ip/tcp.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <utility>

namespace asio_uring_test {

// A listening acceptor on 127.0.0.1 with a kernel-chosen port.
inline asio_uring::ip::tcp::acceptor make_listener(
    asio_uring::io_context& ctx)
{
  return asio_uring::ip::tcp::acceptor(ctx,
      asio_uring::ip::tcp::endpoint(
          boost::asio::ip::make_address("127.0.0.1"), 0));
}

// Two connected sockets on ctx (server side first), made synchronously.
inline std::pair<asio_uring::ip::tcp::socket, asio_uring::ip::tcp::socket>
connected_pair(asio_uring::io_context& ctx)
{
  auto acceptor = make_listener(ctx);
  asio_uring::ip::tcp::socket client(ctx);
  client.connect(acceptor.local_endpoint());
  asio_uring::ip::tcp::socket server = acceptor.accept();
  return {std::move(server), std::move(client)};
}

// What a handler was called with, and how often (a wait must complete
// exactly once).
struct handler_calls
{
  int calls = 0;
  boost::system::error_code ec;
  std::size_t n = static_cast<std::size_t>(-1);
};

// A transfer handler (error_code, size_t) that records its call into c.
inline auto record(handler_calls& c)
{
  return [&c](boost::system::error_code ec, std::size_t n)
  {
    ++c.calls;
    c.ec = ec;
    c.n = n;
  };
}

// Runs ctx until it has no work left; false if that took over 10 s (a wait
// that never completes, or work left behind).
inline bool runs_dry(asio_uring::io_context& ctx)
{
  ctx.restart();
  ctx.run_for(std::chrono::seconds(10));
  return ctx.stopped();
}

} // namespace asio_uring_test
