//
// send_file.hpp
// ~~~~~~~~~~~~~
//
// File-to-socket transfer without a user-space copy: IORING_OP_SPLICE
// through pipes. An extension: Boost.Asio has no equivalent.
//
#pragma once

#include <asio_uring/basic_random_access_file.hpp>
#include <asio_uring/basic_stream_socket.hpp>
#include <asio_uring/detail/io_object.hpp>
#include <asio_uring/detail/send_file_op.hpp>
#include <asio_uring/detail/splice_ops.hpp>
#include <asio_uring/detail/uring_handler_op.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

namespace asio_uring {
namespace detail {

// Initiation of async_send_file: checks the objects, opens the first pipe,
// and starts the transfer, or posts the result at once (closed objects, no
// descriptor for the pipe, size 0).
template <typename Socket, typename File>
class initiate_async_send_file
{
public:
  using executor_type = typename Socket::executor_type;

  initiate_async_send_file(Socket& socket, File& file) noexcept
    : socket_(&socket), file_(&file)
  {
  }

  const executor_type& get_executor() const noexcept
  {
    return socket_->get_executor();
  }

  template <typename WriteHandler>
  void operator()(WriteHandler&& handler, std::uint64_t offset,
      std::size_t size) const
  {
    scheduler& sched = context_of(socket_->get_executor()).impl();
    int immediate = 0;
    splice_pipe pipe;
    if (!socket_->is_open() || !file_->is_open())
      immediate = -EBADF;
    else if (offset > static_cast<std::uint64_t>(
                 std::numeric_limits<std::int64_t>::max()))
      immediate = -EINVAL;
    else if (size != 0)
      immediate = pipe.open();
    if (immediate != 0 || size == 0)
    {
      // Completes through the scheduler, never inside the initiation.
      post_uring_op<splice_op_base>(sched, immediate,
          static_cast<WriteHandler&&>(handler), socket_->get_executor(), -1,
          -1, -1, 0);
      return;
    }
    start_send_file_op(static_cast<WriteHandler&&>(handler), sched,
        *socket_, *file_, offset, size, std::move(pipe));
  }

private:
  Socket* socket_;
  File* file_;
};

} // namespace detail

/// Sends size bytes of file, from offset on, to socket, without copying
/// them through user space (IORING_OP_SPLICE through a pipe).
/**
 * An extension: Boost.Asio has no equivalent. The completion signature is
 * void(boost::system::error_code, std::size_t bytes_sent), like
 * boost::asio::async_write's: the handler runs once every byte was handed
 * to the socket, or with the first error and the bytes sent before it.
 *
 * - error::eof: the file ended before size bytes (everything up to its end
 *   was sent).
 * - error::bad_descriptor: the socket or the file is not open.
 * - error::operation_aborted: per-operation cancellation (terminal or
 *   partial, as for boost::asio::async_write; total is not supported), or
 *   socket.cancel()/close() while the data goes to the socket.
 * - Errors of the socket (broken_pipe, connection_reset) and of the file
 *   (for example a descriptor opened write-only) as system error codes.
 * - size 0 completes with 0 without touching the kernel.
 *
 * The kernel runs splices from its own async workers, since a splice cannot
 * be issued non-blocking; there is no user-space thread. One pipe fills
 * from the file while another drains to the socket. Each transfer owns its
 * pipes (two descriptors each; the second pipe only when one fill did not
 * take everything) until it completes: EMFILE surfaces as
 * error::no_descriptors. The file and the socket must outlive the
 * operation, as for any Asio operation. Only one send (this or
 * async_write_some) should be outstanding on a stream socket at a time.
 */
template <typename Protocol, typename SocketExecutor, typename FileExecutor,
    typename WriteToken
    = boost::asio::default_completion_token_t<SocketExecutor>>
auto async_send_file(basic_stream_socket<Protocol, SocketExecutor>& socket,
    basic_random_access_file<FileExecutor>& file, std::uint64_t offset,
    std::size_t size,
    WriteToken&& token
    = boost::asio::default_completion_token_t<SocketExecutor>())
{
  return boost::asio::async_initiate<WriteToken,
      void(boost::system::error_code, std::size_t)>(
      detail::initiate_async_send_file<
          basic_stream_socket<Protocol, SocketExecutor>,
          basic_random_access_file<FileExecutor>>(socket, file),
      token, offset, size);
}

} // namespace asio_uring
