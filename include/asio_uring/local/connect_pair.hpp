//
// local/connect_pair.hpp
// ~~~~~~~~~~~~~~~~~~~~~~
//
// Boost.Asio's local::connect_pair for asio_uring's sockets.
//
#pragma once

#include <asio_uring/basic_socket.hpp>
#include <asio_uring/detail/socket_ops.hpp>

#include <boost/asio/detail/throw_error.hpp>
#include <boost/asio/local/basic_endpoint.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/system/error_code.hpp>

namespace asio_uring::local {

/// Boost.Asio's overloads, for its own sockets (datagram_protocol, ...).
using boost::asio::local::connect_pair;

/// Creates a pair of connected UNIX domain sockets (socketpair(2)) and
/// assigns them to socket1 and socket2, which must be closed.
/**
 * As Boost.Asio's local::connect_pair, for asio_uring's sockets (any
 * executors, also two contexts). On failure neither socket is left open.
 */
template <typename Protocol, typename Executor1, typename Executor2>
void connect_pair(basic_socket<Protocol, Executor1>& socket1,
    basic_socket<Protocol, Executor2>& socket2, boost::system::error_code& ec)
{
  // Only UNIX domain protocols have local endpoints.
  [[maybe_unused]] boost::asio::local::basic_endpoint<Protocol>* unix_only
      = static_cast<typename Protocol::endpoint*>(nullptr);

  namespace ops = asio_uring::detail::socket_ops;
  Protocol protocol;
  int sv[2];
  if (!ops::socketpair(protocol.family(), protocol.type(),
          protocol.protocol(), sv, ec))
    return;

  boost::system::error_code ignored;
  socket1.assign(protocol, sv[0], ec);
  if (ec)
  {
    ops::close(sv[0], ignored);
    ops::close(sv[1], ignored);
    return;
  }

  socket2.assign(protocol, sv[1], ec);
  if (ec)
  {
    socket1.close(ignored);
    ops::close(sv[1], ignored);
  }
}

/// Creates a pair of connected UNIX domain sockets. Throws
/// boost::system::system_error on failure.
template <typename Protocol, typename Executor1, typename Executor2>
void connect_pair(basic_socket<Protocol, Executor1>& socket1,
    basic_socket<Protocol, Executor2>& socket2)
{
  boost::system::error_code ec;
  local::connect_pair(socket1, socket2, ec);
  boost::asio::detail::throw_error(ec, "connect_pair");
}

} // namespace asio_uring::local
