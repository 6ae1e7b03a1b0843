//
// local/datagram_protocol.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
//
// Datagram-oriented UNIX domain sockets whose socket runs on the ring; the
// endpoint is Boost.Asio's.
//
#pragma once

#include <asio_uring/basic_datagram_socket.hpp>
#include <asio_uring/local/connect_pair.hpp>

#include <boost/asio/local/datagram_protocol.hpp>

namespace asio_uring::local {

/// Encapsulates the flags needed for datagram-oriented UNIX sockets
/// (Boost.Asio's local::datagram_protocol), with a ring-backed socket type.
/**
 * `endpoint` is Boost.Asio's own type. `socket` is asio_uring's
 * basic_datagram_socket, parameterised on
 * boost::asio::local::datagram_protocol. Objects of this class convert to
 * and from boost::asio::local::datagram_protocol implicitly.
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Safe.
 */
class datagram_protocol
{
public:
  /// Boost.Asio's protocol type (the socket's protocol_type).
  using boost_type = boost::asio::local::datagram_protocol;

  /// The type of a UNIX domain endpoint (Boost.Asio's).
  using endpoint = boost_type::endpoint;

  /// The UNIX domain datagram socket type: ring-backed.
  using socket = basic_datagram_socket<boost_type>;

  datagram_protocol() noexcept = default;

  /// Converts from Boost.Asio's protocol object (endpoint.protocol()).
  datagram_protocol(const boost_type&) noexcept {}

  /// Converts to Boost.Asio's protocol object.
  operator boost_type() const noexcept { return boost_type(); }

  /// Obtain an identifier for the type of the protocol.
  int type() const noexcept { return boost_type().type(); }

  /// Obtain an identifier for the protocol.
  int protocol() const noexcept { return boost_type().protocol(); }

  /// Obtain an identifier for the protocol family.
  int family() const noexcept { return boost_type().family(); }

  /// All datagram_protocol objects are equal.
  friend bool operator==(const datagram_protocol&,
      const datagram_protocol&) noexcept
  {
    return true;
  }
};

} // namespace asio_uring::local
