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
#include <asio_uring/detail/protocol_facade.hpp>
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
class stream_protocol : public detail::local_protocol_facade<stream_protocol,
                            boost::asio::local::stream_protocol>
{
public:
  using local_protocol_facade::local_protocol_facade;

  /// The type of a UNIX domain endpoint (Boost.Asio's).
  using endpoint = boost_type::endpoint;

  /// The UNIX domain stream socket type: ring-backed.
  using socket = basic_stream_socket<boost_type>;

  /// The UNIX domain acceptor type: ring-backed.
  using acceptor = basic_socket_acceptor<boost_type>;

  /// The iostream type (Boost.Asio's, on Boost.Asio's own context).
  using iostream = boost_type::iostream;
};

} // namespace asio_uring::local
