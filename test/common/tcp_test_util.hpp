// Helpers shared by the TCP test programs.
#pragma once

#include <asio_uring/ip/tcp.hpp>

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

} // namespace asio_uring_test
