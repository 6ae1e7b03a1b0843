//
// ip/tcp.hpp
// ~~~~~~~~~~
//
// TCP whose socket and acceptor run on the ring; endpoint, resolver and
// options are Boost.Asio's.
//
#pragma once

#include <asio_uring/basic_socket_acceptor.hpp>
#include <asio_uring/basic_stream_socket.hpp>
#include <asio_uring/connect.hpp>
#include <asio_uring/detail/protocol_facade.hpp>

#include <boost/asio/ip/tcp.hpp>

namespace asio_uring::ip {

/// Encapsulates the flags needed for TCP (Boost.Asio's ip::tcp), with
/// ring-backed socket and acceptor types.
/**
 * `endpoint`, `resolver`, `no_delay` and `iostream` are Boost.Asio's own
 * types, so endpoints and resolver results interoperate with any Boost.Asio
 * code. `socket` and `acceptor` are asio_uring's, parameterised on
 * boost::asio::ip::tcp as their protocol. v4() and v6() return objects
 * of this class, which convert to and from boost::asio::ip::tcp implicitly.
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Safe.
 */
class tcp : public detail::ip_protocol_facade<tcp, boost::asio::ip::tcp>
{
public:
  using ip_protocol_facade::ip_protocol_facade;

  /// The type of a TCP endpoint (Boost.Asio's).
  using endpoint = boost_type::endpoint;

  /// The TCP socket type: ring-backed.
  using socket = basic_stream_socket<boost_type>;

  /// The TCP acceptor type: ring-backed.
  using acceptor = basic_socket_acceptor<boost_type>;

  /// The TCP resolver type (Boost.Asio's; it runs on its own thread).
  using resolver = boost_type::resolver;

  /// The TCP iostream type (Boost.Asio's, on Boost.Asio's own context).
  using iostream = boost_type::iostream;

  /// Socket option for disabling the Nagle algorithm (TCP_NODELAY).
  using no_delay = boost_type::no_delay;
};

} // namespace asio_uring::ip
