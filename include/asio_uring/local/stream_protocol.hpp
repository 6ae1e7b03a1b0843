//
// local/stream_protocol.hpp
// ~~~~~~~~~~~~~~~~~~~~~~~~~
//
// Stream-oriented UNIX domain sockets whose socket and acceptor run on the
// ring; the endpoint is Boost.Asio's.
//
#pragma once

#include <asio_uring/basic_socket_acceptor.hpp>
#include <asio_uring/basic_stream_socket.hpp>
#include <asio_uring/connect.hpp>
#include <asio_uring/local/connect_pair.hpp>

#include <boost/asio/local/stream_protocol.hpp>

namespace asio_uring::local {

/// Encapsulates the flags needed for stream-oriented UNIX sockets
/// (Boost.Asio's local::stream_protocol), with ring-backed socket and
/// acceptor types.
/**
 * `endpoint` and `iostream` are Boost.Asio's own types. `socket` and
 * `acceptor` are asio_uring's, parameterised on
 * boost::asio::local::stream_protocol as their protocol, as ip::tcp's are
 * on boost::asio::ip::tcp. Objects of this class convert to and from
 * boost::asio::local::stream_protocol implicitly.
 *
 * @par Thread Safety
 * @e Distinct @e objects: Safe.@n
 * @e Shared @e objects: Safe.
 */
class stream_protocol
{
public:
  /// Boost.Asio's protocol type (the sockets' protocol_type).
  using boost_type = boost::asio::local::stream_protocol;

  /// The type of a UNIX domain endpoint (Boost.Asio's).
  using endpoint = boost_type::endpoint;

  /// The UNIX domain stream socket type: ring-backed.
  using socket = basic_stream_socket<boost_type>;

  /// The UNIX domain acceptor type: ring-backed.
  using acceptor = basic_socket_acceptor<boost_type>;

  /// The iostream type (Boost.Asio's, on Boost.Asio's own context).
  using iostream = boost_type::iostream;

  stream_protocol() noexcept = default;

  /// Converts from Boost.Asio's protocol object (endpoint.protocol()).
  stream_protocol(const boost_type&) noexcept {}

  /// Converts to Boost.Asio's protocol object.
  operator boost_type() const noexcept { return boost_type(); }

  /// Obtain an identifier for the type of the protocol.
  int type() const noexcept { return boost_type().type(); }

  /// Obtain an identifier for the protocol.
  int protocol() const noexcept { return boost_type().protocol(); }

  /// Obtain an identifier for the protocol family.
  int family() const noexcept { return boost_type().family(); }

  /// All stream_protocol objects are equal.
  friend bool operator==(const stream_protocol&, const stream_protocol&) noexcept
  {
    return true;
  }
};

} // namespace asio_uring::local
