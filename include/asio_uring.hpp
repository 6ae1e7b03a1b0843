//
// asio_uring.hpp
// ~~~~~~~~~~~~~~
//
// Umbrella header: include this instead of <boost/asio.hpp>.
//
#pragma once

#include <asio_uring/facade.hpp>

#include <asio_uring/aligned_buffer.hpp>
#include <asio_uring/basic_datagram_socket.hpp>
#include <asio_uring/basic_file.hpp>
#include <asio_uring/basic_random_access_file.hpp>
#include <asio_uring/basic_socket.hpp>
#include <asio_uring/basic_socket_acceptor.hpp>
#include <asio_uring/basic_stream_socket.hpp>
#include <asio_uring/basic_stream_file.hpp>
#include <asio_uring/basic_waitable_timer.hpp>
#include <asio_uring/buffer_registration.hpp>
#include <asio_uring/buffer_ring.hpp>
#include <asio_uring/connect.hpp>
#include <asio_uring/file_base.hpp>
#include <asio_uring/high_resolution_timer.hpp>
#include <asio_uring/io_context.hpp>
#include <asio_uring/ip/tcp.hpp>
#include <asio_uring/ip/udp.hpp>
#include <asio_uring/local/connect_pair.hpp>
#include <asio_uring/local/datagram_protocol.hpp>
#include <asio_uring/local/stream_protocol.hpp>
#include <asio_uring/posix/basic_descriptor.hpp>
#include <asio_uring/posix/basic_stream_descriptor.hpp>
#include <asio_uring/posix/descriptor.hpp>
#include <asio_uring/posix/stream_descriptor.hpp>
#include <asio_uring/random_access_file.hpp>
#include <asio_uring/ring_options.hpp>
#include <asio_uring/send_file.hpp>
#include <asio_uring/steady_timer.hpp>
#include <asio_uring/stream_file.hpp>
#include <asio_uring/system_timer.hpp>
#include <asio_uring/with_timeout.hpp>
