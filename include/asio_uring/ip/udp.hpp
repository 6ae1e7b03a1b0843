//
// ip/udp.hpp
// ~~~~~~~~~~
//
// UDP whose socket runs on the ring; endpoint, resolver and options are
// Boost.Asio's.
//
#pragma once

#include <asio_uring/basic_datagram_socket.hpp>
#include <asio_uring/detail/protocol_facade.hpp>

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
class udp : public detail::ip_protocol_facade<udp, boost::asio::ip::udp>
{
public:
  using ip_protocol_facade::ip_protocol_facade;

  /// The type of a UDP endpoint (Boost.Asio's).
  using endpoint = boost_type::endpoint;

  /// The UDP socket type: ring-backed.
  using socket = basic_datagram_socket<boost_type>;

  /// The UDP resolver type (Boost.Asio's; it runs on its own thread).
  using resolver = boost_type::resolver;
};

} // namespace asio_uring::ip
