//
// ip/udp.hpp
// ~~~~~~~~~~
//
// UDP whose socket runs on the ring; endpoint, resolver and options are
// Boost.Asio's.
//
#pragma once

#include <asio_uring/basic_datagram_socket.hpp>

#include <boost/asio/ip/udp.hpp>

namespace asio_uring::ip {

/// Encapsulates the flags needed for UDP (Boost.Asio's ip::udp), with a
/// ring-backed socket type.
/**
 * `endpoint` and `resolver` are Boost.Asio's own types, so endpoints and
 * resolver results interoperate with any Boost.Asio code. `socket` is
 * asio_uring's basic_datagram_socket, parameterised on boost::asio::ip::udp
 * as its protocol. v4() and v6() return objects of this class, which
 * convert to and from boost::asio::ip::udp implicitly (as ip::tcp's do).
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Safe.
 */
class udp
{
public:
  /// Boost.Asio's UDP protocol type (the socket's protocol_type).
  using boost_type = boost::asio::ip::udp;

  /// The type of a UDP endpoint (Boost.Asio's).
  using endpoint = boost_type::endpoint;

  /// The UDP socket type: ring-backed.
  using socket = basic_datagram_socket<boost_type>;

  /// The UDP resolver type (Boost.Asio's; it runs on its own thread).
  using resolver = boost_type::resolver;

  /// Construct to represent the IPv4 UDP protocol.
  static udp v4() noexcept { return udp(boost_type::v4()); }

  /// Construct to represent the IPv6 UDP protocol.
  static udp v6() noexcept { return udp(boost_type::v6()); }

  /// Converts from Boost.Asio's protocol object (endpoint.protocol()).
  udp(const boost_type& p) noexcept : family_(p.family()) {}

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
  friend bool operator==(const udp& p1, const udp& p2) noexcept
  {
    return p1.family_ == p2.family_;
  }

  /// Compare with Boost.Asio's protocol object (either order, by rewriting).
  friend bool operator==(const udp& p1, const boost_type& p2) noexcept
  {
    return p1.family_ == p2.family();
  }

private:
  int family_;
};

} // namespace asio_uring::ip
