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
class tcp
{
public:
  /// Boost.Asio's TCP protocol type (the sockets' protocol_type).
  using boost_type = boost::asio::ip::tcp;

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

  /// Construct to represent the IPv4 TCP protocol.
  static tcp v4() noexcept { return tcp(boost_type::v4()); }

  /// Construct to represent the IPv6 TCP protocol.
  static tcp v6() noexcept { return tcp(boost_type::v6()); }

  /// Converts from Boost.Asio's protocol object (endpoint.protocol()).
  tcp(const boost_type& p) noexcept : family_(p.family()) {}

  /// Converts to Boost.Asio's protocol object.
  operator boost_type() const noexcept
  {
    return family_ == boost_type::v6().family() ? boost_type::v6()
                                                : boost_type::v4();
  }

  /// Obtain an identifier for the type of the protocol.
  int type() const noexcept { return boost_type::v4().type(); }

  /// Obtain an identifier for the protocol.
  int protocol() const noexcept { return boost_type::v4().protocol(); }

  /// Obtain an identifier for the protocol family.
  int family() const noexcept { return family_; }

  /// Compare two protocols for equality.
  friend bool operator==(const tcp& p1, const tcp& p2) noexcept
  {
    return p1.family_ == p2.family_;
  }

  /// Compare with Boost.Asio's protocol object (either order, by rewriting).
  friend bool operator==(const tcp& p1, const boost_type& p2) noexcept
  {
    return p1.family_ == p2.family();
  }

private:
  int family_;
};

} // namespace asio_uring::ip
