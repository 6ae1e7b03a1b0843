//
// local/datagram_protocol.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
//
// Datagram-oriented UNIX domain sockets whose socket runs on the ring; the
// endpoint is Boost.Asio's.
//
#pragma once

#include <asio_uring/basic_datagram_socket.hpp>
#include <asio_uring/detail/protocol_facade.hpp>
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
  : public detail::local_protocol_facade<datagram_protocol,
        boost::asio::local::datagram_protocol>
{
public:
  using local_protocol_facade::local_protocol_facade;

  /// The type of a UNIX domain endpoint (Boost.Asio's).
  using endpoint = boost_type::endpoint;

  /// The UNIX domain datagram socket type: ring-backed.
  using socket = basic_datagram_socket<boost_type>;
};

} // namespace asio_uring::local
